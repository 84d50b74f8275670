/** The `carbonproof` CLI as the tests run it: the real binary, node on cli/main.ts. */
import { spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const MAIN = fileURLToPath(new URL("../cli/main.ts", import.meta.url));

/** Runs the real binary: node on main.ts, as `npx carbonproof` does. */
export function cli(args: string[], input?: string) {
  const r = spawnSync(process.execPath, [MAIN, ...args], { input, encoding: "utf8" });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The binary, run without blocking this process (a server of the test must answer it). */
export async function cliAsync(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [MAIN, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d) => (stdout += d));
  child.stderr.on("data", (d) => (stderr += d));
  const [code] = (await once(child, "close")) as [number | null];
  return { code, stdout, stderr };
}

/** A fresh temp dir for one test's files. */
export const tmp = () => mkdtempSync(join(tmpdir(), "carbonproof-cli-"));
