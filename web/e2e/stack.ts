/**
 * The local stack the browser tests (and the Lighthouse bench) run against, on free
 * ports, torn down afterwards:
 *
 *   1. a Hardhat node (in memory),
 *   2. the contracts deployed with Ignition (ignition/modules/Credits.ts, which includes
 *      the attestation side), under a deployment id of its own so `npm start`'s journal
 *      of chain 31337 is never touched,
 *   3. scripts/seed-demo.ts (facilities, devices, attestations, credits, listings),
 *   4. `next start` on the built web app (built first when web/.next is missing).
 *
 * Options: `seed` runs after step 3 on the same chain (the explorer benchmark's large
 * scenario, bench/explorer-seed.ts), `webEnv` adds environment to step 4. With
 * CARBONPROOF_E2E_BUILD=never an existing build is used even when sources are newer (several
 * people editing one tree; the build is then made by hand with NEXT_DIST_DIR).
 *
 * Attach mode: with CARBONPROOF_E2E_RPC and CARBONPROOF_E2E_ADDRESSES set, steps 1–2 are
 * skipped and the tests use that chain and deployment (seeded again by step 3).
 * CARBONPROOF_E2E_HARDHAT_ROOT runs steps 1–2 in another checkout (e.g. a branch's worktree).
 *
 * Ignition runs with `--build-profile default`, the profile the tests build with, so the e2e
 * reuses their compilation (Hardhat's production profile, Ignition's default, once failed
 * with "stack too deep" here; the root config now gives both the same settings).
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort, hardhatRpcReady } from "../../sdk/src/test/ports.ts";
import { ignitionDeploy } from "../../scripts/ignition.ts";

const web = join(dirname(fileURLToPath(import.meta.url)), "..");
const root = join(web, "..");
const hardhatRoot = process.env.CARBONPROOF_E2E_HARDHAT_ROOT ?? root;

/** Debian's chromium and the flags the browser tests and benchmarks launch it with (headless, offline). */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

export type Stack = {
  rpcUrl: string;
  webUrl: string;
  addressesFile: string;
  stateDir: string;
  /** seed-demo's --out: facilities.json and bundles/ (what the web app serves at /bundles/<cid>) */
  webDir: string;
  timings: Record<string, number>;
  stop: () => Promise<void>;
};

async function waitFor(what: string, probe: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      if (await probe()) return;
    } catch (cause) {
      last = cause;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(
    `${what} did not come up within ${timeoutMs / 1000} s${last ? ` (last error: ${String(last)})` : ""}`,
  );
}

function run(name: string, command: string, args: string[], env: Record<string, string>, cwd = root): string {
  const r = spawnSync(command, args, { cwd, env: { ...process.env, ...env }, encoding: "utf8", maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`${name} failed (exit ${r.status}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** Newest modification time under `dir` (files only), 0 when it does not exist. */
function newestMtime(dir: string): number {
  if (!existsSync(dir)) return 0;
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(full) : statSync(full).mtimeMs);
  }
  return newest;
}

/** Why web/.next must be (re)built, or undefined when it is newer than every input. */
function buildIsStale(): string | undefined {
  const dist = process.env.NEXT_DIST_DIR || ".next";
  const buildId = join(web, dist, "BUILD_ID");
  if (!existsSync(buildId)) return `web/${dist} is missing`;
  const built = statSync(buildId).mtimeMs;
  const inputs = [join(web, "src"), join(root, "sdk", "src")];
  const files = [join(web, "next.config.ts"), join(web, "package.json")];
  const newest = Math.max(...inputs.map(newestMtime), ...files.map((f) => (existsSync(f) ? statSync(f).mtimeMs : 0)));
  return newest > built ? "sources changed since the last build" : undefined;
}

export type StackOptions = {
  /** extra seeding after seed-demo, before the web app starts */
  seed?: (ctx: { rpcUrl: string; addressesFile: string; webDir: string }) => Promise<void>;
  /** extra environment of the web app */
  webEnv?: Record<string, string>;
};

export async function startStack(log: (line: string) => void = () => {}, options: StackOptions = {}): Promise<Stack> {
  const children: ChildProcess[] = [];
  const cleanups: (() => void)[] = [];
  const timings: Record<string, number> = {};
  const stateDir = mkdtempSync(join(tmpdir(), "carbonproof-e2e-"));
  const stop = async () => {
    for (const child of children.reverse()) {
      if (child.exitCode !== null || child.signalCode !== null) continue;
      // Each child leads its own process group (detached), so npx's grandchildren go too.
      try {
        process.kill(-child.pid!, "SIGTERM");
      } catch {
        child.kill("SIGTERM");
      }
      await Promise.race([new Promise((r) => child.once("exit", r)), new Promise((r) => setTimeout(r, 5000))]);
    }
    for (const c of cleanups) c();
    rmSync(stateDir, { recursive: true, force: true });
  };
  const spawnChild = (command: string, args: string[], env: Record<string, string>, cwd: string) => {
    const child = spawn(command, args, {
      cwd,
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    let output = "";
    child.stdout!.on("data", (c: Buffer) => (output = (output + c.toString()).slice(-20_000)));
    child.stderr!.on("data", (c: Buffer) => (output = (output + c.toString()).slice(-20_000)));
    children.push(child);
    return { child, output: () => output };
  };

  try {
    let t = Date.now();
    let rpcUrl = process.env.CARBONPROOF_E2E_RPC;
    let addressesFile = process.env.CARBONPROOF_E2E_ADDRESSES;
    if (!rpcUrl || !addressesFile) {
      // port 0: the kernel picks the port as Hardhat binds it (sdk/src/test/ports.ts says why)
      log("starting a Hardhat node on a loopback port");
      const node = spawnChild("npx", ["hardhat", "node", "--hostname", "127.0.0.1", "--port", "0"], {}, hardhatRoot);
      rpcUrl = await hardhatRpcReady(node.child, { timeoutMs: 90_000 });
      log(`the Hardhat node answers on ${rpcUrl}`);
      timings.chainMs = Date.now() - t;
      t = Date.now();
      const module = "ignition/modules/Credits.ts";
      if (!existsSync(join(hardhatRoot, module)))
        throw new Error(
          `${module} is not in this checkout: the credits contracts are needed for the browser tests. ` +
            "Attach to a running deployment with CARBONPROOF_E2E_RPC and CARBONPROOF_E2E_ADDRESSES.",
        );
      const deploymentId = `e2e-${new URL(rpcUrl).port}`;
      log(`deploying ${module} (deployment id ${deploymentId})`);
      const deploy = ignitionDeploy(module, deploymentId, rpcUrl);
      run("ignition deploy", deploy.command, deploy.args, deploy.env, hardhatRoot);
      const deploymentDir = join(hardhatRoot, "ignition/deployments", deploymentId);
      cleanups.push(() => rmSync(deploymentDir, { recursive: true, force: true }));
      addressesFile = join(deploymentDir, "deployed_addresses.json");
      timings.deployMs = Date.now() - t;
    } else log(`attaching to ${rpcUrl} with ${addressesFile}`);

    t = Date.now();
    log("seeding the demo");
    run(
      "seed-demo",
      process.execPath,
      ["scripts/seed-demo.ts", "--rpc", rpcUrl, "--addresses", addressesFile, "--out", join(stateDir, "web")],
      process.env.CARBONPROOF_ARTIFACTS ? {} : { CARBONPROOF_ARTIFACTS: join(hardhatRoot, "artifacts") },
    );
    timings.seedMs = Date.now() - t;
    const webDir = join(stateDir, "web");
    if (options.seed) {
      t = Date.now();
      await options.seed({ rpcUrl, addressesFile, webDir });
      timings.extraSeedMs = Date.now() - t;
    }

    const stale = buildIsStale();
    if (
      stale &&
      process.env.CARBONPROOF_E2E_BUILD === "never" &&
      existsSync(join(web, process.env.NEXT_DIST_DIR || ".next", "BUILD_ID"))
    )
      log(`using the existing build although ${stale} (CARBONPROOF_E2E_BUILD=never)`);
    else if (stale) {
      t = Date.now();
      log(`building the web app (${stale})`);
      run("next build", "npx", ["next", "build"], { NEXT_TELEMETRY_DISABLED: "1" }, web);
      timings.buildMs = Date.now() - t;
    }
    t = Date.now();
    const webPort = await freePort();
    const webUrl = `http://127.0.0.1:${webPort}`;
    log(`starting the web app on ${webUrl}`);
    const server = spawnChild(
      "npx",
      ["next", "start", "-H", "127.0.0.1", "-p", String(webPort)],
      {
        NEXT_TELEMETRY_DISABLED: "1",
        CARBONPROOF_RPC_URL: rpcUrl,
        CARBONPROOF_CHAIN_ID: "31337",
        CARBONPROOF_ADDRESSES: addressesFile,
        CARBONPROOF_FACILITIES: join(webDir, "facilities.json"),
        // The embedded indexer's store and the oracle's Helia repository default to the user's
        // .carbonproof/ (npm start's chain): the stack keeps its own, gone with it.
        CARBONPROOF_INDEXER_DB: join(stateDir, "indexer.sqlite"),
        CARBONPROOF_ORACLE_IPFS: join(stateDir, "no-oracle-ipfs"),
        ...options.webEnv,
      },
      web,
    );
    await waitFor(
      "the web app",
      async () => {
        if (server.child.exitCode !== null) throw new Error(server.output());
        return (await fetch(webUrl)).ok;
      },
      60_000,
    );
    timings.webMs = Date.now() - t;
    return { rpcUrl, webUrl, addressesFile, stateDir, webDir, timings, stop };
  } catch (cause) {
    await stop();
    throw cause;
  }
}
