#!/usr/bin/env node
/**
 * `npm start`: the whole local stack on embedded defaults, in one command.
 *
 *   1. a Hardhat node on 127.0.0.1 (in memory),
 *   2. every contract deployed with Ignition, addresses printed,
 *   3. the parts that exist in this checkout (oracle node, device simulator,
 *      web app) started on top, each only once its dependencies answer.
 *
 * The local chain lives in memory, so every start is a clean start: local data
 * of a previous run (oracle database, IPFS blocks) is moved aside to
 * `.carbonproof/previous/`, replacing what an earlier run left there, and the run
 * says so. Ctrl-C (or SIGTERM) stops every part in reverse order, a step still
 * running (deploy, seed, web build) included.
 *
 * Flags: --port N (RPC port, default 8545), --no-services (chain + contracts only).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { ignitionDeploy } from "./ignition.ts";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
/**
 * Local data of the run (oracle database, IPFS blocks, the web app's indexer). CARBONPROOF_STATE_DIR
 * and CARBONPROOF_DEPLOYMENT_ID (the Ignition deployment id, default chain-31337) let a second
 * stack, such as scripts/start.test.ts, run beside a developer's without touching theirs.
 */
const stateDir = process.env.CARBONPROOF_STATE_DIR
  ? resolve(process.env.CARBONPROOF_STATE_DIR)
  : join(root, ".carbonproof");
const deploymentId = process.env.CARBONPROOF_DEPLOYMENT_ID || "chain-31337";
const deploymentDir = join(root, "ignition/deployments", deploymentId);
const started = Date.now();

type Options = {
  port: number;
  webPort: number;
  oraclePort: number;
  cosignerPort: number;
  mqttPort: number;
  services: boolean;
};

function parseArgs(argv: string[]): Options {
  const options: Options = {
    port: Number(process.env.CARBONPROOF_RPC_PORT ?? 8545),
    webPort: Number(process.env.PORT ?? 3000),
    oraclePort: 8787,
    cosignerPort: 8788,
    mqttPort: 1883,
    services: true,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--port") options.port = Number(argv[++i]);
    else if (a === "--web-port") options.webPort = Number(argv[++i]);
    else if (a === "--oracle-port") options.oraclePort = Number(argv[++i]);
    else if (a === "--cosigner-port") options.cosignerPort = Number(argv[++i]);
    else if (a === "--mqtt-port") options.mqttPort = Number(argv[++i]);
    else if (a === "--no-services") options.services = false;
    else if (a === "--help" || a === "-h") {
      process.stdout.write(
        "usage: npm start [-- --port 8545] [-- --web-port 3000] [-- --oracle-port 8787] [-- --cosigner-port 8788] [-- --mqtt-port 1883] [-- --no-services]\n",
      );
      process.exit(0);
    } else {
      process.stderr.write(`npm start: unknown option ${a}; try --help\n`);
      process.exit(2);
    }
  }
  for (const [flag, value] of [
    ["--port", options.port],
    ["--web-port", options.webPort],
    ["--oracle-port", options.oraclePort],
    ["--cosigner-port", options.cosignerPort],
    ["--mqtt-port", options.mqttPort],
  ] as const) {
    if (!Number.isInteger(value) || value < 1 || value > 65535) {
      process.stderr.write(`npm start: ${flag} must be an integer 1-65535, got ${value}\n`);
      process.exit(2);
    }
  }
  return options;
}

function say(line: string): void {
  process.stdout.write(`[start ${((Date.now() - started) / 1000).toFixed(1).padStart(5)}s] ${line}\n`);
}

/** Every process started, servers and run-to-end steps alike, each the leader of its own group. */
const children: { name: string; child: ChildProcess }[] = [];

/**
 * The watchdog of a killed `npm start`. `stop()` stops every part on Ctrl-C, SIGTERM or a failed
 * part, but a SIGKILL (or a crash of this process) never runs it, and the parts, each in a
 * process group of its own, would go on running and holding their ports. The reaper is a
 * separate process that reads the process groups to stop from a pipe of this one: when the pipe
 * closes before `stop()` said it is done, this process is gone, and the reaper stops each group
 * (SIGTERM, then SIGKILL after 10 s) and exits.
 */
const REAPER_SOURCE = `
const groups = new Set();
let buffered = "", done = false;
const alive = (g) => { try { process.kill(-g, 0); return true; } catch { return false; } };
const signal = (g, s) => { try { process.kill(-g, s); } catch {} };
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => {
  buffered += chunk;
  const lines = buffered.split("\\n");
  buffered = lines.pop();
  for (const line of lines) {
    if (line === "done") done = true;
    else if (/^[0-9]+$/.test(line)) groups.add(Number(line));
  }
});
process.stdin.on("close", async () => {
  if (done) process.exit(0);
  for (const g of groups) signal(g, "SIGTERM");
  const deadline = Date.now() + 10000;
  while ([...groups].some(alive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  for (const g of groups) if (alive(g)) signal(g, "SIGKILL");
  process.exit(0);
});`;
let reaper: ChildProcess | null = null;
function reap(line: string): void {
  reaper ??= spawn(process.execPath, ["-e", REAPER_SOURCE], { stdio: ["pipe", "ignore", "ignore"], detached: true });
  reaper.stdin!.write(`${line}\n`);
}

/** Lines of a part's output kept for its exit report: the chain's output is not shown otherwise. */
const TAIL_LINES = 20;

function launch(
  name: string,
  command: string,
  args: string[],
  env: Record<string, string> = {},
  cwd: string = root,
): void {
  // stopping: the parts started so far are being stopped, and this one would outlive them
  if (stopping) return;
  const child = spawn(command, args, {
    cwd,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
    // its own process group, stopped as a whole: `npx hardhat node` and `npx next start` run the
    // server in a grandchild that a signal to npx alone left running, holding its port
    detached: true,
  });
  const prefix = `[${name}] `;
  // the Hardhat node logs every request: shown only with CARBONPROOF_VERBOSE, or when it dies
  const shown = Boolean(process.env.CARBONPROOF_VERBOSE) || name !== "chain";
  const tail: string[] = [];
  const keep = (line: string) => {
    tail.push(line);
    if (tail.length > TAIL_LINES) tail.shift();
  };
  const pipe = (stream: NodeJS.ReadableStream, to: NodeJS.WriteStream) => {
    let buffered = "";
    stream.on("data", (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split("\n");
      buffered = lines.pop() ?? "";
      for (const line of lines) {
        keep(line);
        if (shown) to.write(prefix + line + "\n");
      }
    });
    stream.on("end", () => {
      if (buffered === "") return;
      keep(buffered);
      if (shown) to.write(prefix + buffered + "\n");
      buffered = "";
    });
  };
  pipe(child.stdout!, process.stdout);
  pipe(child.stderr!, process.stderr);
  // not started at all (the command not found, not executable): no `exit` follows
  child.on("error", (err) => {
    if (stopping) return;
    say(`${name} could not be started (\`${command}\`: ${err.message}); stopping the stack.`);
    void stop(1);
  });
  child.on("exit", (code, signal) => {
    if (stopping) return;
    say(`${name} exited unexpectedly (${signal ?? `code ${code}`}); stopping the stack.`);
    // Its hidden output says why. Its last words may still be in the pipes: they are read until
    // they close (a grandchild may hold them open: 1 s at most).
    const lastWords = new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 1000);
      child.once("close", () => {
        clearTimeout(timer);
        resolve();
      });
    }).then(() => {
      if (shown || tail.length === 0) return;
      process.stderr.write(`${prefix}its last ${tail.length} lines of output:\n`);
      for (const line of tail) process.stderr.write(`${prefix}${line}\n`);
    });
    // at once, so a step that fails for want of this part (the deploy, of the chain) is no news
    void stop(1, lastWords);
  });
  children.push({ name, child });
  if (child.pid !== undefined) reap(String(child.pid));
}

let stopping = false;
/** Stops every part and step, newest first, and exits with `code`; `first` is awaited before. */
async function stop(code: number, first?: Promise<void>): Promise<void> {
  if (stopping) return;
  stopping = true;
  await first;
  say("stopping…");
  for (const { name, child } of children.reverse()) {
    if (!groupAlive(child)) continue;
    signalGroup(child, "SIGTERM");
    if (!(await groupGone(child, 10_000))) {
      say(`${name} did not stop within 10 s; killing it`);
      signalGroup(child, "SIGKILL");
      await groupGone(child, 5_000);
    }
  }
  say("stopped.");
  reaper?.stdin!.end("done\n");
  process.exit(code);
}

/** Signals every process of the child's group (the child and what it started). */
function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    process.kill(-child.pid!, signal);
  } catch {
    // the group is already gone
  }
}

function groupAlive(child: ChildProcess): boolean {
  if (child.pid === undefined) return false;
  try {
    process.kill(-child.pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Waits until no process of the child's group is left (its ports are free then), up to `ms`. */
async function groupGone(child: ChildProcess, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (groupAlive(child)) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
  return true;
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

async function waitForRpc(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = "";
  while (Date.now() < deadline) {
    try {
      const res = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] }),
      });
      if (res.ok) return;
      last = `HTTP ${res.status}`;
    } catch (cause) {
      last = String(cause);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`the Hardhat node did not answer on ${url} within ${timeoutMs / 1000} s (last error: ${last})`);
}

/** What a step run by `runToEnd` rejects with once `stop()` has begun: not a failure to report. */
class Stopping extends Error {
  constructor(name: string) {
    super(`${name}: npm start is stopping`);
  }
}

/**
 * Runs a step to its end (deploy, seed, API key, web build) and resolves with its output. Like the
 * parts, it runs in a process group of its own, known to `stop()` and to the watchdog: a SIGTERM
 * to `npm start`, or another part's crash, stops a `next build` half-way too, instead of leaving
 * it writing web/.next after `npm start` is gone.
 */
function runToEnd(
  name: string,
  command: string,
  args: string[],
  env: Record<string, string> = {},
  cwd: string = root,
): Promise<string> {
  if (stopping) return Promise.reject(new Stopping(name));
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd,
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    children.push({ name, child });
    reap(String(child.pid));
    let output = "";
    child.stdout.on("data", (c: Buffer) => (output += c.toString()));
    child.stderr.on("data", (c: Buffer) => (output += c.toString()));
    child.on("error", reject);
    child.on("exit", (code, signal) => {
      if (code === 0) resolve(output);
      else if (stopping) reject(new Stopping(name));
      else reject(new Error(`${name} failed (${signal ?? `exit ${code}`}):\n${output}`));
    });
  });
}

async function waitForHttp(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = "";
  while (Date.now() < deadline) {
    try {
      const res = await fetch(url);
      if (res.status < 500) return;
      last = `HTTP ${res.status}`;
    } catch (cause) {
      last = String(cause);
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`${url} did not answer within ${timeoutMs / 1000} s (last error: ${last})`);
}

/** Newest modification time of the file `path` or of the files under it, 0 when absent. */
function newestMtime(path: string): number {
  if (!existsSync(path)) return 0;
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = 0;
  for (const entry of readdirSync(path, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    const t = statSync(join(entry.parentPath, entry.name)).mtimeMs;
    if (t > newest) newest = t;
  }
  return newest;
}

/**
 * What `next build` compiles, relative to the repository: the web app's sources and settings, and
 * the workspaces it imports (the sdk, the subgraph's client).
 */
export const WEB_BUILD_INPUTS = [
  "web/src",
  "web/next.config.ts",
  "web/package.json",
  "web/tsconfig.json",
  "sdk/src",
  "subgraph/client",
];

/** The web build is stale when it is missing or older than any of its inputs (WEB_BUILD_INPUTS). */
export function webBuildIsStale(repoRoot: string, distDir: string = process.env.NEXT_DIST_DIR || ".next"): boolean {
  const buildId = join(repoRoot, "web", distDir, "BUILD_ID");
  if (!existsSync(buildId)) return true;
  const built = statSync(buildId).mtimeMs;
  return WEB_BUILD_INPUTS.some((input) => newestMtime(join(repoRoot, input)) > built);
}

/** Hardhat's public dev mnemonic: keys of the local chain only, known to everyone. */
const DEV_MNEMONIC = "test test test test test test test test test test test junk";
const LIVE_FACILITY = "ktda-chinga";

/**
 * Two oracle nodes of the OracleSet (accounts #1–#3, threshold 2, as Ignition deploys it), so
 * every live batch is attested k of n as in production (docs/oracle.md, "Quorum"): node A
 * (account #3) ingests on embedded defaults (its MQTT endpoint, Helia, SQLite), seals, pins and
 * submits; node B (account #2, no MQTT endpoint) re-checks each of A's bundles and co-signs its
 * header with the `oracle` API key it issued to A. The device simulator publishes to A.
 */
async function startOracle(options: Options, rpcUrl: string, addressesFile: string): Promise<void> {
  if (!existsSync(join(root, "oracle/src/cli/main.ts"))) return;
  const { createWalletClient, createPublicClient, http, toHex } = await import("viem");
  const { mnemonicToAccount } = await import("viem/accounts");
  const { hardhat } = await import("viem/chains");
  const { contractAbis } = await import("../sdk/src/contracts/generated.ts");
  const addresses = JSON.parse(readFileSync(addressesFile, "utf8")) as Record<string, `0x${string}`>;
  const find = (name: string) => {
    const key = Object.keys(addresses).find((k) => k.endsWith(`#${name}`));
    if (!key) throw new Error(`${name} is not in ${addressesFile}`);
    return addresses[key]!;
  };
  const account = (i: number) => mnemonicToAccount(DEV_MNEMONIC, { addressIndex: i });
  const keyOf = (i: number) => toHex(account(i).getHdKey().privateKey!);
  const transport = http(rpcUrl);
  const publicClient = createPublicClient({ chain: hardhat, transport });
  const admin = createWalletClient({ account: account(0), chain: hardhat, transport });
  const oracleSet = find("OracleSet");
  const nodes = { submitter: 3, cosigner: 2 };
  for (const [role, i] of Object.entries(nodes)) {
    const active = await publicClient.readContract({
      address: oracleSet,
      abi: contractAbis.OracleSet,
      functionName: "isActiveNode",
      args: [account(i).address],
    });
    if (!active) throw new Error(`account #${i} (the ${role} oracle node) is not an active node of the OracleSet`);
  }
  const threshold = Number(
    await publicClient.readContract({ address: oracleSet, abi: contractAbis.OracleSet, functionName: "threshold" }),
  );
  if (threshold !== 2) {
    const hash = await admin.writeContract({
      address: oracleSet,
      abi: contractAbis.OracleSet,
      functionName: "setThreshold",
      args: [2],
    });
    await publicClient.waitForTransactionReceipt({ hash });
    say(`local OracleSet threshold ${threshold} → 2 (two oracle nodes run locally)`);
  }
  const config = (dataDir: string, mqtt: object, port: number, quorum: object) => {
    mkdirSync(dataDir, { recursive: true });
    const file = join(dataDir, "config.json");
    writeFileSync(
      file,
      JSON.stringify(
        {
          dataDir,
          mqtt,
          http: { host: "127.0.0.1", port },
          batching: { windowS: 60, graceS: 5 },
          devices: { source: "chain" },
          chain: {
            enabled: true,
            rpcUrl,
            chainId: 31337,
            attestationRegistry: find("AttestationRegistry"),
            deviceRegistry: find("DeviceRegistry"),
            // the node records its own periods above their project's baseline (docs/credits.md)
            carbonCredits: find("CarbonCredits"),
          },
          facilities: { [LIVE_FACILITY]: { country: "KEN" } },
          quorum,
        },
        null,
        2,
      ),
    );
    return file;
  };
  // node B first: the key it issues to node A goes into A's configuration
  const cosignerConfig = config(join(stateDir, "oracle-cosigner"), { mode: "off" }, options.cosignerPort, {});
  const issued = await runToEnd("oracle keys api-create", process.execPath, [
    "oracle/src/cli/main.ts",
    "keys",
    "api-create",
    "--scope",
    "oracle",
    "--subject",
    account(nodes.submitter).address,
    "--label",
    "npm start: the submitting node",
    "--config",
    cosignerConfig,
  ]);
  const apiKey = /"key":"([^"]+)"/.exec(issued)?.[1];
  if (!apiKey) throw new Error(`the co-signing node did not issue an API key:\n${issued}`);
  launch("oracle-b", process.execPath, ["oracle/src/cli/main.ts", "start", "--config", cosignerConfig], {
    CARBONPROOF_ORACLE_PRIVATE_KEY: keyOf(nodes.cosigner),
  });
  const configFile = config(
    join(stateDir, "oracle"),
    { mode: "embedded", host: "127.0.0.1", port: options.mqttPort },
    options.oraclePort,
    { peers: [{ url: `http://127.0.0.1:${options.cosignerPort}`, apiKey }] },
  );
  launch("oracle", process.execPath, ["oracle/src/cli/main.ts", "start", "--config", configFile], {
    CARBONPROOF_ORACLE_PRIVATE_KEY: keyOf(nodes.submitter),
  });
  await waitForHttp(`http://127.0.0.1:${options.cosignerPort}/ready`, 120_000);
  await waitForHttp(`http://127.0.0.1:${options.oraclePort}/ready`, 120_000);
  say(
    `oracle nodes: http://127.0.0.1:${options.oraclePort}/docs (API), /metrics; MQTT mqtt://127.0.0.1:${options.mqttPort}; 60 s batches, co-signed 2 of 3 with the node on http://127.0.0.1:${options.cosignerPort}`,
  );
  launch(
    "sim",
    process.execPath,
    [
      "oracle/src/sim/main.ts",
      "--facility",
      LIVE_FACILITY,
      "--mqtt",
      `mqtt://127.0.0.1:${options.mqttPort}`,
      "--rpc",
      rpcUrl,
      "--device-registry",
      find("DeviceRegistry"),
      "--state",
      join(stateDir, "oracle", "sim.json"),
    ],
    { CARBONPROOF_SIM_ADMIN_KEY: keyOf(0) },
  );
  say(`device simulator: ${LIVE_FACILITY} chimneys, meter and firewood entries publishing signed readings over MQTT`);
}

/** The parts on top of the chain: the web app (and the oracle node with its simulator). */
async function startServices(options: Options, rpcUrl: string, addressesFile: string): Promise<void> {
  if (!existsSync(join(root, "web/package.json"))) return;
  if (webBuildIsStale(root)) {
    say("building the web app (first start, or its sources changed)…");
    await runToEnd("next build", "npx", ["next", "build"], { NEXT_TELEMETRY_DISABLED: "1" }, join(root, "web"));
  }
  launch(
    "web",
    "npx",
    ["next", "start", "-H", "127.0.0.1", "-p", String(options.webPort)],
    {
      NEXT_TELEMETRY_DISABLED: "1",
      CARBONPROOF_RPC_URL: rpcUrl,
      CARBONPROOF_CHAIN_ID: "31337",
      CARBONPROOF_ADDRESSES: addressesFile,
      CARBONPROOF_FACILITIES: join(stateDir, "web", "facilities.json"),
      // the explorer: its embedded indexer's store, the live bundles and the node's device health
      CARBONPROOF_INDEXER_DB: join(stateDir, "web", "indexer.sqlite"),
      CARBONPROOF_ORACLE_IPFS: join(stateDir, "oracle", "ipfs"),
      CARBONPROOF_ORACLE_URL: `http://127.0.0.1:${options.oraclePort}`,
    },
    join(root, "web"),
  );
  await waitForHttp(`http://127.0.0.1:${options.webPort}/`, 120_000);
  const web = `http://127.0.0.1:${options.webPort}`;
  say(`web app: ${web}/ (market) · ${web}/explorer (explorer, no wallet) · ${web}/verify (verify a file or id)`);
}

/**
 * Moves the local data of the previous run in `dir` to `dir/previous/`, deleting what the run
 * before it had left there (one run is kept, not all), and returns the line that says so.
 */
export function moveAsidePreviousRun(dir: string): string {
  const entries = existsSync(dir)
    ? ["oracle", "oracle-cosigner", "ipfs", "web"].filter((d) => existsSync(join(dir, d)))
    : [];
  mkdirSync(dir, { recursive: true });
  if (entries.length === 0) return "starting clean (no local data from a previous run).";
  const previous = join(dir, "previous");
  const replaced = existsSync(previous) && readdirSync(previous).length > 0;
  rmSync(previous, { recursive: true, force: true });
  mkdirSync(previous, { recursive: true });
  for (const d of entries) renameSync(join(dir, d), join(previous, d));
  return (
    `starting clean: the local chain lives in memory, so the local data of the previous run (${entries.join(", ")}) was moved to ${previous}` +
    (replaced ? ", replacing (deleting) the older run's data kept there." : ".")
  );
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  process.on("SIGINT", () => void stop(0));
  process.on("SIGTERM", () => void stop(0));

  for (const [flag, port] of [
    ["--port", options.port],
    ["--web-port", options.webPort],
    ["--oracle-port", options.oraclePort],
    ["--cosigner-port", options.cosignerPort],
    ["--mqtt-port", options.mqttPort],
  ] as const) {
    if (options.services || flag === "--port")
      if (!(await portFree(port)))
        throw new Error(
          `port ${port} on 127.0.0.1 is in use (another \`npm start\`?). Stop it, or run \`npm start -- ${flag} <free port>\`.`,
        );
  }
  say(moveAsidePreviousRun(stateDir));

  const rpcUrl = `http://127.0.0.1:${options.port}`;
  say(`starting the Hardhat node on ${rpcUrl}…`);
  launch("chain", "npx", ["hardhat", "node", "--hostname", "127.0.0.1", "--port", String(options.port)]);
  await waitForRpc(rpcUrl, 60_000);
  say("chain is up (chain id 31337).");

  const module = existsSync(join(root, "ignition/modules/Credits.ts"))
    ? "ignition/modules/Credits.ts"
    : "ignition/modules/CarbonProof.ts";
  if (!existsSync(join(root, module)))
    throw new Error(`no Ignition module found (${module}); the contracts are missing`);
  // The default build profile is the one the tests build with, so a tested build is reused
  // (both profiles have the same compiler settings: hardhat.config.ts).
  say(`deploying ${module} with Ignition (compiles the contracts first if they are not built)…`);
  // The chain is new, so the previous journal of chain 31337 no longer describes it.
  rmSync(deploymentDir, { recursive: true, force: true });
  const deploy = ignitionDeploy(module, deploymentId, rpcUrl);
  await runToEnd("deploy", deploy.command, deploy.args, deploy.env);
  const addresses = JSON.parse(readFileSync(join(deploymentDir, "deployed_addresses.json"), "utf8")) as Record<
    string,
    string
  >;
  say("contracts deployed:");
  for (const [future, address] of Object.entries(addresses))
    process.stdout.write(`    ${future.padEnd(48)} ${address}\n`);

  if (options.services) {
    const addressesFile = join(deploymentDir, "deployed_addresses.json");
    say("seeding the demo (facilities, devices, attestations, credits, listings)…");
    const seedOutput = await runToEnd("seed-demo", process.execPath, [
      "scripts/seed-demo.ts",
      "--rpc",
      rpcUrl,
      "--addresses",
      addressesFile,
      "--out",
      join(stateDir, "web"),
    ]);
    for (const line of seedOutput.trimEnd().split("\n").slice(-14, -1)) process.stdout.write(`    ${line}\n`);
    await startOracle(options, rpcUrl, addressesFile);
    await startServices(options, rpcUrl, addressesFile);
  }
  if (stopping) return;
  say(
    `ready in ${((Date.now() - started) / 1000).toFixed(1)} s. RPC ${rpcUrl} (chain id 31337). Ctrl-C stops everything.`,
  );
  say(
    "dev wallet: Hardhat's well-known test account #0 (address 0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266). Its key is public: never use it outside this local chain.",
  );
}

// run as `node scripts/start.ts`; imported (by its tests), it starts nothing
if (import.meta.main)
  main().catch((cause: unknown) => {
    // stop() has begun (Ctrl-C, SIGTERM, a part that died, which it reported): a step it cut short
    // did not fail
    if (stopping) return;
    process.stderr.write(`npm start: ${cause instanceof Error ? cause.message : String(cause)}\n`);
    void stop(1);
  });
