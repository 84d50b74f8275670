import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

/** A temp dir removed when the returned disposer runs (tests call it in `after`). */
export function tempDir(prefix = "cp-oracle-"): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export async function waitFor<T>(
  fn: () => T | Promise<T>,
  opts: { timeoutMs?: number; intervalMs?: number; what?: string } = {},
): Promise<NonNullable<T>> {
  const deadline = Date.now() + (opts.timeoutMs ?? 10_000);
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v) return v as NonNullable<T>;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 25));
  }
  throw new Error(`timed out waiting for ${opts.what ?? "condition"}${last ? `: ${String(last)}` : ""}`);
}

/** The stats `carbonproof-sim` prints as its last stdout line (JSON). */
export type SimStats = {
  published: number;
  acked: number;
  failed: number;
  buffered: number;
  injected: number;
  faults: { badSignature: number; replay: number; implausible: number };
  retries: number;
  rateLimited: number;
};

/** How a `carbonproof-sim` run ended: `stats` null when it printed none. */
export type SimRun = { code: number | null; stats: SimStats | null; stderr: string };

/**
 * Runs `carbonproof-sim` (src/sim/main.ts) as its own process, what a user runs, with `args`
 * and `env` over this process's environment. `killAfterMs`: a hung run is killed then, so that
 * it cannot hang the suite.
 */
export function runSimProcess(
  args: string[],
  env: NodeJS.ProcessEnv = {},
  opts: { killAfterMs?: number; onSpawn?: (pid: number) => void } = {},
): Promise<SimRun> {
  const sim = fileURLToPath(new URL("../src/sim/main.ts", import.meta.url));
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, ["--disable-warning=ExperimentalWarning", sim, ...args], {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, ...env },
    });
    if (c.pid !== undefined) opts.onSpawn?.(c.pid);
    let out = "";
    let err = "";
    c.stdout.on("data", (d: Buffer) => (out += d.toString()));
    c.stderr.on("data", (d: Buffer) => (err += d.toString()));
    const kill = opts.killAfterMs === undefined ? undefined : setTimeout(() => c.kill("SIGKILL"), opts.killAfterMs);
    c.once("error", reject);
    c.once("exit", (code) => {
      clearTimeout(kill);
      const last = out.trim().split("\n").at(-1);
      resolve({ code, stats: last ? (JSON.parse(last) as SimStats) : null, stderr: err });
    });
  });
}

/**
 * Runs `carbonproof-oracle` to its end as an operator runs it (no --disable-warning) with the
 * caller's environment but for its CARBONPROOF_* variables, plus `env`.
 */
export function runOracleCli(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const base: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("CARBONPROOF_")) base[k] = v;
  const cli = fileURLToPath(new URL("../src/cli/main.ts", import.meta.url));
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, [cli, ...args], { env: { ...base, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    c.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    c.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    c.on("error", reject);
    c.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}
