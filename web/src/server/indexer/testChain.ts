/**
 * A real local chain for the indexer's tests: a Hardhat node on a free port, the contracts
 * deployed with Ignition (ignition/modules/Credits.ts, as web/e2e/stack.ts does, under a
 * deployment id of its own) and scripts/seed-demo.ts (facilities, devices, attestations with
 * their evidence bundles, credits, listings). Torn down by `stop()`.
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { getAddress, type Address, type PublicClient } from "viem";
import { ignitionDeploy } from "../../../../scripts/ignition.ts";
import { hardhatRpcReady } from "../../../../sdk/src/test/ports.ts";
import { folderSource } from "../../../../sdk/src/verify/fileSource.ts";
import { INDEXED_CONTRACTS, type IndexedContract } from "./events.ts";
import type { EmbeddedIndexerConfig, EmbeddedRuntime } from "./index.ts";
import { settlePresence } from "../settlePresence.ts";
import type { PresenceLookup } from "../../lib/explorer/detail.ts";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..", "..");

export type TestChain = {
  rpcUrl: string;
  addresses: Record<IndexedContract | "TestUSD", Address>;
  /** seed-demo's output: facilities.json and bundles/<cid>.json */
  stateDir: string;
  timings: Record<string, number>;
  stop: () => Promise<void>;
};

function run(name: string, command: string, args: string[], env: Record<string, string>): string {
  const r = spawnSync(command, args, {
    cwd: root,
    env: { ...process.env, ...env },
    encoding: "utf8",
    maxBuffer: 64 << 20,
  });
  if (r.status !== 0) throw new Error(`${name} failed (exit ${r.status}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

export async function startTestChain(log: (line: string) => void = () => {}): Promise<TestChain> {
  const timings: Record<string, number> = {};
  const stateDir = mkdtempSync(join(tmpdir(), "carbonproof-indexer-chain-"));
  let t = Date.now();
  log("starting a Hardhat node on a loopback port");
  // port 0: the kernel picks the port as Hardhat binds it (sdk/src/test/ports.ts says why)
  const node = spawn("npx", ["hardhat", "node", "--hostname", "127.0.0.1", "--port", "0"], {
    cwd: root,
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  // drained for as long as it runs (it logs every call); hardhatRpcReady reads its port
  node.stdout!.resume();
  node.stderr!.resume();
  let deploymentDir: string | null = null;
  const stop = async () => {
    if (node.exitCode === null && node.signalCode === null) {
      try {
        process.kill(-node.pid!, "SIGTERM"); // its own process group: npx and hardhat both
      } catch {
        node.kill("SIGTERM");
      }
      await Promise.race([new Promise((r) => node.once("exit", r)), new Promise((r) => setTimeout(r, 5000))]);
    }
    if (deploymentDir) rmSync(deploymentDir, { recursive: true, force: true });
    rmSync(stateDir, { recursive: true, force: true });
  };
  try {
    const rpcUrl = await hardhatRpcReady(node, { timeoutMs: 90_000 });
    log(`the Hardhat node answers on ${rpcUrl}`);
    const deploymentId = `indexer-test-${new URL(rpcUrl).port}`;
    deploymentDir = join(root, "ignition", "deployments", deploymentId);
    timings.chainMs = Date.now() - t;
    t = Date.now();
    log(`deploying ignition/modules/Credits.ts (deployment id ${deploymentId})`);
    const deploy = ignitionDeploy("ignition/modules/Credits.ts", deploymentId, rpcUrl);
    run("ignition deploy", deploy.command, deploy.args, deploy.env);
    timings.deployMs = Date.now() - t;
    const addressesFile = join(deploymentDir, "deployed_addresses.json");
    const raw = JSON.parse(readFileSync(addressesFile, "utf8")) as Record<string, string>;
    const addresses = {} as TestChain["addresses"];
    for (const [key, value] of Object.entries(raw)) {
      const name = key.split("#").pop() as IndexedContract | "TestUSD";
      if ([...INDEXED_CONTRACTS, "TestUSD"].includes(name)) addresses[name] = getAddress(value);
    }
    const missing = [...INDEXED_CONTRACTS, "TestUSD" as const].filter((n) => !addresses[n]);
    if (missing.length) throw new Error(`the deployment lacks ${missing.join(", ")}`);
    t = Date.now();
    log("seeding the demo");
    run(
      "seed-demo",
      process.execPath,
      ["scripts/seed-demo.ts", "--rpc", rpcUrl, "--addresses", addressesFile, "--out", join(stateDir, "web")],
      {},
    );
    timings.seedMs = Date.now() - t;
    return { rpcUrl, addresses, stateDir: join(stateDir, "web"), timings, stop };
  } catch (cause) {
    await stop();
    throw cause;
  }
}

/** An embedded indexer's config for `chain` (every indexed contract, from block 0, its bundles folder), `rest` laid over it. */
export function indexerConfigFor(
  chain: TestChain,
  rest: Pick<EmbeddedIndexerConfig, "dbPath" | "pollMs" | "freshMs" | "log"> & Partial<EmbeddedIndexerConfig>,
): EmbeddedIndexerConfig {
  return {
    rpcUrl: chain.rpcUrl,
    chainId: 31337,
    addresses: Object.fromEntries(INDEXED_CONTRACTS.map((n) => [n, chain.addresses[n]])) as Record<
      IndexedContract,
      Address
    >,
    startBlock: 0,
    bundleSources: [folderSource(join(chain.stateDir, "bundles"))],
    ...rest,
  };
}

/**
 * indexedPresence's decision (settlePresence on the indexer's block and the chain's head) on a
 * test's own indexer `r` and chain `client`: indexedPresence itself reads the process-wide indexer
 * and RPC client through Next's "@/" paths, which node's test runner cannot load. `settleMs`
 * generous by default: the machine is shared.
 */
export function presenceOn(r: EmbeddedRuntime, client: PublicClient, settleMs = 60_000): PresenceLookup {
  return (_what, lookup, seen) =>
    settlePresence({
      found: () => lookup(r.indexer),
      indexedBlock: async () => (seen.indexedBlock = (await r.indexer.overview()).indexedBlock),
      head: async () => (seen.head = await client.getBlockNumber({ cacheTime: 0 })),
      settleMs,
    });
}
