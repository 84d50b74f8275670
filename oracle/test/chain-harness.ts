import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync, realpathSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { hardhatRpcReady } from "../../sdk/src/test/ports.ts";
import {
  createPublicClient,
  createWalletClient,
  http,
  keccak256,
  toHex,
  type Abi,
  type PublicClient,
  type WalletClient,
} from "viem";
import { privateKeyToAccount, type PrivateKeyAccount } from "viem/accounts";
import { idToBytes32, publicKeyToXY } from "../../sdk/src/index.ts";
import { createApiKey } from "../src/api/keys.ts";
import { chainFor } from "../src/chain/viem.ts";
import type { ConfigInput } from "../src/config/schema.ts";
import type { NodeParts } from "../src/node.ts";
import { testNode, type TestDevice } from "./fixtures.ts";
import { waitFor } from "./helpers.ts";

const root = join(dirname(fileURLToPath(import.meta.url)), "../..");

/** Hardhat's first default account (public test key; never holds value). */
export const ADMIN_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80" as const;
/** Second default account: the oracle node in tests. */
export const ORACLE_KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d" as const;
/** Hardhat's account #3: a second oracle node, the co-signer of quorum tests. */
export const PEER_KEY = "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a" as const;

/**
 * A real Hardhat node as a child process on a loopback port (`npx hardhat node`), on port 0: the
 * kernel picks the port as Hardhat binds it (`hardhatListeningPort` in sdk/src/test/ports.ts says why).
 */
export class HardhatNode {
  #port = 0;
  #proc: ChildProcess | null = null;
  get port(): number {
    if (!this.#port) throw new Error("the Hardhat node has not started");
    return this.#port;
  }
  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }
  static async start(): Promise<HardhatNode> {
    const n = new HardhatNode();
    await n.start();
    return n;
  }
  async start(): Promise<void> {
    // run hardhat's CLI on this process's Node 22 (the `.bin` shebang may find the system Node 20)
    const cli = realpathSync(join(root, "node_modules/.bin/hardhat"));
    const proc = spawn(process.execPath, [cli, "node", "--hostname", "127.0.0.1", "--port", "0"], {
      cwd: root,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, HARDHAT_DISABLE_TELEMETRY_PROMPT: "true", DO_NOT_TRACK: "1" },
      detached: false,
    });
    this.#proc = proc;
    try {
      this.#port = Number(new URL(await hardhatRpcReady(proc, { timeoutMs: 60_000 })).port);
    } catch (err) {
      proc.kill("SIGKILL");
      throw err;
    }
  }
  /** One JSON-RPC call to the node (`evm_mine`, `evm_setAutomine`, …); an error answer throws. */
  async rpc<T = unknown>(method: string, params: unknown[] = []): Promise<T> {
    const r = (await (
      await fetch(this.url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
      })
    ).json()) as { result?: T; error?: { message: string } };
    if (r.error) throw new Error(`${method}: ${r.error.message}`);
    return r.result as T;
  }
  async stop(): Promise<void> {
    const p = this.#proc;
    if (!p || p.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      p.once("exit", () => resolve());
      p.kill("SIGTERM");
      setTimeout(() => p.kill("SIGKILL"), 3000).unref();
    });
    this.#proc = null;
  }
}

export function artifact(path: string): { abi: Abi; bytecode: `0x${string}` } {
  const a = JSON.parse(readFileSync(join(root, "artifacts/contracts", path), "utf8")) as {
    abi: Abi;
    bytecode: `0x${string}`;
  };
  return a;
}

export type Deployment = {
  admin: PrivateKeyAccount;
  oracle: PrivateKeyAccount;
  publicClient: PublicClient;
  wallet: WalletClient;
  deviceRegistry: `0x${string}`;
  oracleSet: `0x${string}`;
  attestationRegistry: `0x${string}`;
  registerDevice(deviceId: string, facilityId: string, publicKey: Uint8Array, kind?: number): Promise<void>;
  suspendDevice(deviceId: string): Promise<void>;
  reactivateDevice(deviceId: string): Promise<void>;
  retireDevice(deviceId: string): Promise<void>;
  rotateKey(deviceId: string, publicKey: Uint8Array): Promise<void>;
  /** Adds `nodes` to the OracleSet and sets its threshold k (a quorum of oracle nodes). */
  setQuorum(nodes: `0x${string}`[], threshold: number): Promise<void>;
  abis: { deviceRegistry: Abi; attestationRegistry: Abi };
};

/**
 * The admin pauses the registry at fees far above an oracle node's (it must hold PAUSER_ROLE), so
 * that the next block mines the pause ahead of the node's pending submission.
 */
export function pauseRegistryAhead(dep: Deployment): Promise<`0x${string}`> {
  return dep.wallet.writeContract({
    address: dep.attestationRegistry,
    abi: dep.abis.attestationRegistry,
    functionName: "pause",
    account: dep.admin,
    chain: dep.wallet.chain,
    gas: 100_000n,
    maxFeePerGas: 2_000_000_000_000n,
    maxPriorityFeePerGas: 1_000_000_000_000n,
  });
}

/**
 * Deploys DeviceRegistry, OracleSet (the oracle key alone, threshold 1) and AttestationRegistry
 * from the compiled artifacts (`npx hardhat build`), as the Ignition module will once it exists.
 */
export async function deploy(rpcUrl: string, chainId = 31337): Promise<Deployment> {
  const chain = chainFor(chainId, rpcUrl);
  const admin = privateKeyToAccount(ADMIN_KEY);
  const oracle = privateKeyToAccount(ORACLE_KEY);
  const publicClient = createPublicClient({ chain, transport: http(rpcUrl) }) as PublicClient;
  const wallet = createWalletClient({ chain, transport: http(rpcUrl), account: admin });
  const dr = artifact("devices/DeviceRegistry.sol/DeviceRegistry.json");
  const os = artifact("oracles/OracleSet.sol/OracleSet.json");
  const ar = artifact("attestation/AttestationRegistry.sol/AttestationRegistry.json");
  const deployOne = async (a: { abi: Abi; bytecode: `0x${string}` }, args: unknown[]) => {
    const hash = await wallet.deployContract({ abi: a.abi, bytecode: a.bytecode, args, account: admin, chain });
    const r = await publicClient.waitForTransactionReceipt({ hash });
    return r.contractAddress!;
  };
  const deviceRegistry = await deployOne(dr, [admin.address]);
  const oracleSet = await deployOne(os, [admin.address, [oracle.address], 1]);
  const attestationRegistry = await deployOne(ar, [admin.address, oracleSet]);
  const send = async (address: `0x${string}`, abi: Abi, functionName: string, args: unknown[]) => {
    const hash = await wallet.writeContract({ address, abi, functionName, args, account: admin, chain });
    const r = await publicClient.waitForTransactionReceipt({ hash });
    if (r.status !== "success") throw new Error(`${functionName} reverted`);
  };
  await send(deviceRegistry, dr.abi, "grantRole", [keccak256(toHex("DEVICE_MANAGER_ROLE")), admin.address]);
  // fund the oracle account is not needed: hardhat's default accounts hold test ether
  return {
    admin,
    oracle,
    publicClient,
    wallet,
    deviceRegistry,
    oracleSet,
    attestationRegistry,
    abis: { deviceRegistry: dr.abi, attestationRegistry: ar.abi },
    async registerDevice(deviceId, facilityId, publicKey, kind = 0) {
      const { x, y } = publicKeyToXY(publicKey);
      await send(deviceRegistry, dr.abi, "registerDevice", [
        idToBytes32(deviceId),
        idToBytes32(facilityId),
        kind,
        x,
        y,
        "",
      ]);
    },
    async suspendDevice(deviceId) {
      await send(deviceRegistry, dr.abi, "suspendDevice", [idToBytes32(deviceId), "test"]);
    },
    async reactivateDevice(deviceId) {
      await send(deviceRegistry, dr.abi, "reactivateDevice", [idToBytes32(deviceId)]);
    },
    async retireDevice(deviceId) {
      await send(deviceRegistry, dr.abi, "retireDevice", [idToBytes32(deviceId), "test"]);
    },
    async rotateKey(deviceId, publicKey) {
      const { x, y } = publicKeyToXY(publicKey);
      await send(deviceRegistry, dr.abi, "rotateKey", [idToBytes32(deviceId), x, y]);
    },
    async setQuorum(nodes, threshold) {
      for (const node of nodes) await send(oracleSet, os.abi, "addNode", [node]);
      await send(oracleSet, os.abi, "setThreshold", [threshold]);
    },
  };
}

/**
 * An oracle node on `dep`: chain enabled, devices read from the DeviceRegistry, 2 s batches,
 * signing with ORACLE_KEY (set in the environment until `close`).
 */
export async function chainTestNode(
  hh: HardhatNode,
  dep: Deployment,
  /**
   * `chain` settings over these (confirmations, gas bumps), `batching` settings over these (window,
   * grace), and a data dir kept across restarts
   */
  opts: {
    chain?: NonNullable<ConfigInput["chain"]>;
    batching?: NonNullable<ConfigInput["batching"]>;
    /** the node's storage (SQLite in the data dir when absent; PostgreSQL with a URL) */
    storage?: NonNullable<ConfigInput["storage"]>;
    /** recording periods above their baseline (with `chain.carbonCredits`) */
    shortfalls?: NonNullable<ConfigInput["shortfalls"]>;
    /** the node's IPFS store (the embedded one in the data dir when absent) */
    ipfs?: NonNullable<ConfigInput["ipfs"]>;
    dir?: string;
    parts?: Partial<NodeParts>;
  } = {},
): Promise<Awaited<ReturnType<typeof testNode>>> {
  process.env.CARBONPROOF_ORACLE_PRIVATE_KEY = ORACLE_KEY;
  const node = await testNode({
    config: {
      batching: { windowS: 2, graceS: 1, tickMs: 100, ...opts.batching },
      devices: { source: "chain", cacheTtlMs: 60_000 },
      chain: {
        enabled: true,
        rpcUrl: hh.url,
        attestationRegistry: dep.attestationRegistry,
        deviceRegistry: dep.deviceRegistry,
        pollMs: 100,
        ...opts.chain,
      },
      ...(opts.storage ? { storage: opts.storage } : {}),
      ...(opts.shortfalls ? { shortfalls: opts.shortfalls } : {}),
      ...(opts.ipfs ? { ipfs: opts.ipfs } : {}),
    },
    parts: { devices: undefined, ...opts.parts },
    dir: opts.dir,
  });
  return {
    ...node,
    close: async () => {
      delete process.env.CARBONPROOF_ORACLE_PRIVATE_KEY;
      await node.close();
    },
  };
}

/** A reading's proof view (`GET /v1/readings/:digest`) once its attestation is confirmed. */
export type ConfirmedReading = {
  confirmed: true;
  attestationId: `0x${string}`;
  leaf: `0x${string}`;
  proof: `0x${string}`[];
  bundleCid: string;
  batch: {
    id: number;
    correctionOfBatch: number | null;
    txHash: string;
    fossilCo2eGrams: string;
    biogenicCo2Grams: string;
  };
};

/** Polls the node's proof view of `digest` until its attestation is confirmed. */
export function waitForConfirmed(httpUrl: string, digest: string, timeoutMs: number): Promise<ConfirmedReading> {
  return waitFor(
    async () => {
      const r = (await (await fetch(`${httpUrl}/v1/readings/${digest}`)).json()) as
        ConfirmedReading | { confirmed: false };
      return r.confirmed ? r : null;
    },
    { timeoutMs, what: `the confirmed attestation of ${digest}` },
  );
}

/** What `POST /v1/readings` answers: one outcome (201/422), or for an array the outcomes (200). */
export type IngestAnswer = {
  status?: "stored" | "rejected";
  digest?: string;
  batchId?: number;
  reason?: string;
  detail?: string;
  accepted?: number;
  rejected?: number;
  results?: IngestAnswer[];
};

/**
 * Gives `dev` (or its facility) an API key on `node`; the answer posts a body (an envelope or an
 * array of them) to `POST /v1/readings` with it. The device must be registered already.
 */
export function readingPoster(
  node: Pick<Awaited<ReturnType<typeof testNode>>, "storage" | "httpUrl">,
  dev: TestDevice,
  scope: "device" | "facility" = "device",
): (body: unknown) => Promise<{ status: number; body: IngestAnswer }> {
  const key = createApiKey(node.storage, { scope, subject: scope === "device" ? dev.deviceId : dev.facilityId }).key;
  return async (body) => {
    const res = await fetch(`${node.httpUrl}/v1/readings`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-api-key": key },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as IngestAnswer };
  };
}
