/**
 * Gas benchmark of the attestation contracts (`npm run bench:gas`).
 *
 * Deploys DeviceRegistry, OracleSet and AttestationRegistry on an in-process Hardhat network
 * (EDR, osaka) and measures:
 * - `submit` with k = 1, 3, 5 signatures: the transaction's `gasUsed` from its receipt (so it
 *   includes the 21,000 base cost and calldata), steady state (the facility already has a
 *   regular attestation); the facility's first batch is reported apart.
 * - `verifyReading` at proof depth 10 and 20, and `verifyDeviceSignature`: the execution gas a
 *   calling contract pays (measured with contracts/test/GasProbe.sol around a STATICCALL, cold
 *   target and cold storage), which is what "anyone — another contract — can use them" costs.
 *   The `eth_estimateGas` figure of a direct transaction (base + calldata + execution) is shown too.
 * - `registerDevice`: the transaction's `gasUsed`.
 *
 * Prints a table with targets and PASS/MISS, writes bench/gas-snapshot.json, and prints as its
 * very last stdout line one JSON object with the figures.
 *
 * Extension: if bench/gas-credits.ts exists it is imported and its exported
 * `measure(ctx: GasBenchContext): Promise<Record<string, unknown>>` is called; the object it
 * returns is merged into the JSON line and the snapshot (its numeric leaves also go in the table
 * when it returns `rows`, see {@link GasBenchResult}).
 */
import { existsSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { createHash } from "node:crypto";
import { fileURLToPath } from "node:url";
import path from "node:path";
import hre from "hardhat";
import type { BaseContract, ContractTransactionResponse, Wallet as EthersWallet } from "ethers";
import { publicKeyOf, publicKeyToXY, signDigest } from "../sdk/src/reading/sign.ts";

const here = path.dirname(fileURLToPath(import.meta.url));

/** One row of the printed table. `target` undefined = informational. */
export type GasRow = { name: string; gas: number; target?: number; note?: string };

/** What bench/gas-credits.ts' `measure` may return: figures for the JSON line, rows for the table. */
export type GasBenchResult = { json: Record<string, unknown>; rows?: GasRow[] };

/** The header fields of docs/protocol.md, as ethers encodes the BatchHeader tuple. */
export type BatchHeader = {
  facilityId: string;
  periodStart: bigint;
  periodEnd: bigint;
  merkleRoot: string;
  readingCount: number;
  fossilCo2eGrams: bigint;
  biogenicCo2Grams: bigint;
  methodologyId: string;
  factorSetId: string;
  bundleCid: string;
  correctionOf: string;
};

/**
 * What an extra benchmark file receives. Contracts are deployed and wired: `deployer` holds every
 * admin role and `verifier`/`deviceManager`/`pauser` roles; the oracle set has 5 active nodes
 * (`oracleWallets`, sorted by address, funded) and threshold 1 when `measure` is called.
 */
export type GasBenchContext = {
  hre: typeof hre;
  ethers: Awaited<ReturnType<typeof hre.network.create>>["ethers"];
  deployer: Awaited<ReturnType<Awaited<ReturnType<typeof hre.network.create>>["ethers"]["getSigners"]>>[number];
  contracts: { deviceRegistry: BaseContract; oracleSet: BaseContract; attestationRegistry: BaseContract };
  oracleWallets: EthersWallet[];
  /** Submits a fresh regular batch for `facilityId` (next free period) signed by the first `k` nodes. */
  submitBatch: (
    facilityId: string,
    k: number,
    overrides?: Partial<BatchHeader>,
  ) => Promise<{ id: string; header: BatchHeader; gasUsed: number }>;
  /** Sends a transaction and returns the receipt's gasUsed. */
  gasOf: (tx: Promise<ContractTransactionResponse>) => Promise<number>;
};

const SUBMIT_TARGET_3 = 110_000;
const VERIFY_READING_TARGET_20 = 30_000;

function sha256(data: Uint8Array): Buffer {
  return createHash("sha256").update(data).digest();
}

/**
 * Root of a proof walk (inner node = SHA-256(0x01 ‖ min ‖ max)) — only to fabricate a root of a
 * given depth for the benchmark; the tree itself is the sdk's (sdk/src/merkle).
 */
function rootOfProof(leaf: Buffer, proof: Buffer[]): Buffer {
  let node = leaf;
  for (const sibling of proof) {
    const [a, b] = Buffer.compare(node, sibling) <= 0 ? [node, sibling] : [sibling, node];
    node = sha256(Buffer.concat([Buffer.from([1]), a, b]));
  }
  return node;
}

function bytes32(text: string): string {
  const b = Buffer.alloc(32);
  b.write(text, "ascii");
  return "0x" + b.toString("hex");
}

async function main(): Promise<void> {
  await hre.tasks.getTask("build").run({ quiet: true, noTests: true });
  const { ethers } = await hre.network.create();
  const [deployer] = await ethers.getSigners();

  const wallets: EthersWallet[] = [];
  for (let i = 0; i < 5; i++) {
    const w = new ethers.Wallet(ethers.keccak256(ethers.toUtf8Bytes(`carbonproof-bench-oracle-${i}`)), ethers.provider);
    wallets.push(w);
  }
  wallets.sort((a, b) => (BigInt(a.address) < BigInt(b.address) ? -1 : 1));
  for (const w of wallets)
    await (await deployer.sendTransaction({ to: w.address, value: ethers.parseEther("10") })).wait();

  const deviceRegistry = await ethers.deployContract("DeviceRegistry", [deployer.address]);
  const oracleSet = await ethers.deployContract("OracleSet", [deployer.address, wallets.map((w) => w.address), 1]);
  const attestationRegistry = await ethers.deployContract("AttestationRegistry", [
    deployer.address,
    await oracleSet.getAddress(),
  ]);
  const probe = await ethers.deployContract("GasProbe");
  await (await deviceRegistry.grantRole(await deviceRegistry.DEVICE_MANAGER_ROLE(), deployer.address)).wait();
  await (await attestationRegistry.grantRole(await attestationRegistry.VERIFIER_ROLE(), deployer.address)).wait();
  await (await attestationRegistry.grantRole(await attestationRegistry.PAUSER_ROLE(), deployer.address)).wait();

  const gasOf = async (tx: Promise<ContractTransactionResponse>): Promise<number> => {
    const receipt = await (await tx).wait();
    if (!receipt) throw new Error("no receipt");
    return Number(receipt.gasUsed);
  };

  const nextStart = new Map<string, bigint>();
  let rootCounter = 0;
  const submitBatch = async (facilityText: string, k: number, overrides: Partial<BatchHeader> = {}) => {
    const facilityId = bytes32(facilityText);
    // fixed times (Nov 2025, before any chain time here) keep calldata, hence gas, reproducible
    const start = nextStart.get(facilityId) ?? 1_763_900_000n;
    const end = start + 60n;
    nextStart.set(facilityId, end);
    rootCounter++;
    const header: BatchHeader = {
      facilityId,
      periodStart: start,
      periodEnd: end,
      merkleRoot: "0x" + sha256(Buffer.from(`root-${rootCounter}`)).toString("hex"),
      readingCount: 1024,
      fossilCo2eGrams: 123_456_789n,
      biogenicCo2Grams: 98_765_432n,
      methodologyId: "0x" + sha256(Buffer.from("methodology:flue-gas-v1")).toString("hex"),
      factorSetId: "0x" + sha256(Buffer.from("factor-set:ipcc-2006")).toString("hex"),
      bundleCid: "bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi",
      correctionOf: ethers.ZeroHash,
      ...overrides,
    };
    const id: string = await attestationRegistry.attestationIdOf(header);
    const signatures = ethers.concat(wallets.slice(0, k).map((w) => w.signingKey.sign(id).serialized));
    const registry = attestationRegistry.connect(wallets[0]) as typeof attestationRegistry;
    const gasUsed = await gasOf(registry.submit(header, signatures));
    return { id, header, gasUsed };
  };

  const rows: GasRow[] = [];
  const json: Record<string, unknown> = {};

  // submit: k = 1, 3, 5 (steady state: each facility already has one regular attestation)
  const submitGas: Record<string, number> = {};
  const submitFirstGas: Record<string, number> = {};
  for (const k of [1, 3, 5]) {
    await (await oracleSet.setThreshold(k)).wait();
    const facility = `bench-facility-k${k}`;
    submitFirstGas[String(k)] = (await submitBatch(facility, k)).gasUsed;
    submitGas[String(k)] = (await submitBatch(facility, k)).gasUsed;
    rows.push({
      name: `submit, ${k} signature(s), steady state`,
      gas: submitGas[String(k)],
      target: k === 3 ? SUBMIT_TARGET_3 : undefined,
      note: "tx gasUsed",
    });
    rows.push({
      name: `submit, ${k} signature(s), facility's first batch`,
      gas: submitFirstGas[String(k)],
      note: "tx gasUsed",
    });
  }
  await (await oracleSet.setThreshold(1)).wait();
  json.submitGas = submitGas;

  // verifyReading at depth 10 and 20
  const verifyReadingGas: Record<string, number> = {};
  const verifyReadingTxGas: Record<string, number> = {};
  for (const depth of [10, 20]) {
    const leaf = sha256(Buffer.concat([Buffer.from([0]), sha256(Buffer.from(`reading-${depth}`))]));
    const proof = Array.from({ length: depth }, (_, i) => sha256(Buffer.from(`sibling-${depth}-${i}`)));
    const root = rootOfProof(leaf, proof);
    const { id } = await submitBatch("bench-facility-proofs", 1, { merkleRoot: "0x" + root.toString("hex") });
    const args = [id, "0x" + leaf.toString("hex"), proof.map((p) => "0x" + p.toString("hex"))] as const;
    if (!(await attestationRegistry.verifyReading(...args)))
      throw new Error(`verifyReading depth ${depth} returned false`);
    const data = attestationRegistry.interface.encodeFunctionData("verifyReading", [...args]);
    const [gasUsed, ok] = await probe.measure(await attestationRegistry.getAddress(), data);
    if (!ok) throw new Error("verifyReading reverted under the probe");
    verifyReadingGas[String(depth)] = Number(gasUsed);
    verifyReadingTxGas[String(depth)] = Number(await attestationRegistry.verifyReading.estimateGas(...args));
    rows.push({
      name: `verifyReading, depth ${depth}`,
      gas: verifyReadingGas[String(depth)],
      target: depth === 20 ? VERIFY_READING_TARGET_20 : undefined,
      note: "call from a contract",
    });
    rows.push({
      name: `verifyReading, depth ${depth}, as a transaction`,
      gas: verifyReadingTxGas[String(depth)],
      note: "estimateGas: 21k base + calldata + execution",
    });
  }
  json.verifyReadingGas = verifyReadingGas;

  // registerDevice and verifyDeviceSignature: a fixed P-256 key and RFC 6979 signature (sdk), so
  // calldata and gas are the same on every run
  const deviceSecret = ethers.keccak256(ethers.toUtf8Bytes("carbonproof-bench-device")) as `0x${string}`;
  const { x, y } = publicKeyToXY(publicKeyOf(deviceSecret));
  const deviceId = bytes32("bench-chimney-1");
  const registerDeviceGas = await gasOf(
    deviceRegistry.registerDevice(
      deviceId,
      bytes32("bench-facility"),
      0,
      x,
      y,
      "ipfs://bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi",
    ),
  );
  rows.push({ name: "registerDevice", gas: registerDeviceGas, note: "tx gasUsed" });
  json.registerDeviceGas = registerDeviceGas;

  const digest = sha256(Buffer.from('{"bench":true}'));
  const signature = signDigest(digest, deviceSecret);
  const r = "0x" + signature.slice(2, 66);
  const s = "0x" + signature.slice(66, 130);
  const sigArgs = [deviceId, "0x" + digest.toString("hex"), r, s] as const;
  if (!(await deviceRegistry.verifyDeviceSignature(...sigArgs)))
    throw new Error("verifyDeviceSignature returned false");
  const [sigGas, sigOk] = await probe.measure(
    await deviceRegistry.getAddress(),
    deviceRegistry.interface.encodeFunctionData("verifyDeviceSignature", [...sigArgs]),
  );
  if (!sigOk) throw new Error("verifyDeviceSignature reverted under the probe");
  const verifyDeviceSignatureGas = Number(sigGas);
  rows.push({ name: "verifyDeviceSignature", gas: verifyDeviceSignatureGas, note: "call from a contract" });
  rows.push({
    name: "verifyDeviceSignature, as a transaction",
    gas: Number(await deviceRegistry.verifyDeviceSignature.estimateGas(...sigArgs)),
    note: "estimateGas",
  });
  json.verifyDeviceSignatureGas = verifyDeviceSignatureGas;

  // extension point: issue 5's credit measurements
  const creditsBench = path.join(here, "gas-credits.ts");
  if (existsSync(creditsBench)) {
    const mod = (await import(creditsBench)) as { measure: (ctx: GasBenchContext) => Promise<GasBenchResult> };
    const extra = await mod.measure({
      hre,
      ethers,
      deployer,
      contracts: { deviceRegistry, oracleSet, attestationRegistry },
      oracleWallets: wallets,
      submitBatch,
      gasOf,
    });
    Object.assign(json, extra.json);
    rows.push(...(extra.rows ?? []));
  }

  const width = Math.max(...rows.map((row) => row.name.length));
  const lines = [
    `${"measurement".padEnd(width)}  ${"gas".padStart(9)}  ${"target".padStart(9)}  result  how`,
    ...rows.map((row) => {
      const result = row.target === undefined ? "" : row.gas <= row.target ? "PASS" : "MISS";
      return `${row.name.padEnd(width)}  ${row.gas.toLocaleString("en-US").padStart(9)}  ${(row.target?.toLocaleString("en-US") ?? "").padStart(9)}  ${result.padEnd(6)}  ${row.note ?? ""}`;
    }),
  ];
  console.log(lines.join("\n"));

  // the figures issue 3 asks for first, in its order, then any extension's
  const { submitGas: sg, verifyReadingGas: vr, verifyDeviceSignatureGas: vd, registerDeviceGas: rd, ...extra } = json;
  const ordered = {
    submitGas: sg,
    verifyReadingGas: vr,
    verifyDeviceSignatureGas: vd,
    registerDeviceGas: rd,
    ...extra,
  };
  const snapshot = { ...ordered, submitFirstBatchGas: submitFirstGas, verifyReadingTxGas, rows };
  await writeFile(path.join(here, "gas-snapshot.json"), JSON.stringify(snapshot, null, 2) + "\n");
  console.log(JSON.stringify(ordered));
}

await main();
