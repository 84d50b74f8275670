#!/usr/bin/env node
/**
 * Seeds a deployed CarbonProof stack with a realistic demo, through the real
 * contracts and the sdk's real encodings (docs/protocol.md):
 *
 *   - three facilities: two KTDA tea factories in Kenya (seed 002: chimney flue-gas
 *     sensors burning firewood, grid meters) and a machining plant with metered
 *     machines (seed 004), each with its P-256 devices registered in DeviceRegistry;
 *   - for each facility, a project with a baseline in CarbonCredits;
 *   - signed readings (P-256, low-s) for two 12-hour periods per facility (ended on the
 *     chain's clock, inside one calendar year: scripts/demo-periods.ts), batched
 *     into SHA-256 Merkle trees, emissions computed with the sdk's methodology and
 *     default factor set, headers co-signed (EIP-712) by the local oracle-node
 *     accounts and submitted to the AttestationRegistry;
 *   - the challenge window advanced on the local chain (evm_increaseTime), credits
 *     issued up to the on-chain bound by a verifier who did not co-sign;
 *   - open listings on the Marketplace in TestUSD, and TestUSD for the dev wallets.
 *
 * Usage:
 *   node scripts/seed-demo.ts --rpc http://127.0.0.1:8545 \
 *     [--addresses ignition/deployments/chain-31337/deployed_addresses.json] \
 *     [--out .carbonproof/web]            (facility directory + evidence bundles)
 *
 * Accounts: the Hardhat dev mnemonic (or CARBONPROOF_MNEMONIC). #0 is the admin
 * (deployer), the oracle nodes are whichever local accounts the OracleSet lists, #5
 * issues as verifier, #6–#8 are the facilities' project proponents (sellers), #1–#4
 * and #0, #9 get TestUSD to buy with. Prints a summary (with each facility's credit id,
 * `project id << 16 | vintage`, for `carbonproof verify --credit`) and, last line, JSON.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import {
  createPublicClient,
  createWalletClient,
  http,
  isAddressEqual,
  keccak256,
  toHex,
  type Address,
  type Hex,
  type PublicClient,
} from "viem";
import { mnemonicToAccount, type HDAccount } from "viem/accounts";
import {
  batchTotals,
  buildBundle,
  bundleCid,
  bundleHeader,
  chainFor,
  computeReading,
  defaultFactorSet,
  generateDeviceKey,
  hashBatchHeader,
  idToBytes32,
  METHODOLOGY_ID,
  packQuorumSignatures,
  publicKeyToXY,
  encodeBundle,
  signBatchHeader,
  signReading,
  type BatchHeader,
  type FacilityContext,
  type Reading,
} from "../sdk/src/index.ts";
import { abiOf, loadAddresses, type ContractName } from "./demo-deployment.ts";
import { demoPeriods } from "./demo-periods.ts";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const DEV_MNEMONIC = "test test test test test test test test test test test junk";

type Options = { rpc: string; addresses: string; out: string };

function parseArgs(argv: string[]): Options {
  const o: Options = {
    rpc: process.env.CARBONPROOF_RPC_URL ?? "http://127.0.0.1:8545",
    addresses: join(root, "ignition/deployments/chain-31337/deployed_addresses.json"),
    out: join(root, ".carbonproof/web"),
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = argv[i + 1];
    if (a === "--rpc" && v) ((o.rpc = v), i++);
    else if (a === "--addresses" && v) ((o.addresses = resolve(v)), i++);
    else if (a === "--out" && v) ((o.out = resolve(v)), i++);
    else throw new Error(`seed-demo: unknown or incomplete option ${a}; see the header of scripts/seed-demo.ts`);
  }
  return o;
}

// ---------------------------------------------------------------- the demo's world

type DeviceSpec = {
  id: string;
  kind: 0 | 1 | 2 | 3; // DeviceRegistry.DeviceKind: FlueGas, ElectricityMeter, FuelMeter, ManualEntry
  reading: (i: number) => Reading["m"];
  readingKind: Reading["kind"];
};

type FacilitySpec = {
  id: string;
  name: string;
  country: string;
  context: FacilityContext;
  project: string;
  standard: string;
  /** Reduction the project claims over its measured emissions, kg CO2e per day (sets the baseline). */
  reductionKgPerDay: number;
  proponent: number;
  devices: DeviceSpec[];
  /** Listings: [fraction of the issued amount, price in TestUSD per tonne]. */
  listings: [number, number][];
};

/** Deterministic wobble so the demo's numbers look measured, not constant. */
const wobble = (i: number, spread: number) =>
  Math.round(spread * Math.sin(i * 0.7) + (spread / 2) * Math.sin(i * 0.13));

const chimney =
  (ppm: number, velocity: number, diameter: number) =>
  (i: number): Reading["m"] => ({
    co2Ppm: ppm + wobble(i, 2500),
    tempCentiC: 18_550 + wobble(i, 900),
    velocityMmS: velocity + wobble(i, 300),
    pressurePa: 101_325 - 12_000 + wobble(i, 150),
    ductDiameterMm: diameter,
  });

const meter =
  (whPerInterval: number) =>
  (i: number): Reading["m"] => ({ energyWh: whPerInterval + wobble(i, whPerInterval / 10) });

const FACILITIES: FacilitySpec[] = [
  {
    id: "ktda-kangaita",
    name: "KTDA Kangaita tea factory",
    country: "KEN",
    context: { country: "KEN", flueGasBiogenicShareBp: 10_000 },
    project: "Kangaita tea factory: efficient firewood dryers",
    standard: "CarbonProof metered reductions v1",
    reductionKgPerDay: 4_000,
    proponent: 6,
    devices: [
      { id: "kangaita-chimney-1", kind: 0, readingKind: "flue-gas", reading: chimney(41_000, 6_200, 600) },
      { id: "kangaita-meter-1", kind: 1, readingKind: "electricity", reading: meter(25_000) },
    ],
    listings: [
      [0.5, 18.5],
      [0.3, 21],
    ],
  },
  {
    id: "ktda-gitugi",
    name: "KTDA Gitugi tea factory",
    country: "KEN",
    context: { country: "KEN", flueGasBiogenicShareBp: 10_000 },
    project: "Gitugi tea factory: withering fan retrofit",
    standard: "CarbonProof metered reductions v1",
    reductionKgPerDay: 3_000,
    proponent: 7,
    devices: [
      { id: "gitugi-chimney-1", kind: 0, readingKind: "flue-gas", reading: chimney(38_000, 5_800, 550) },
      { id: "gitugi-meter-1", kind: 1, readingKind: "electricity", reading: meter(21_000) },
    ],
    listings: [[0.6, 16.75]],
  },
  {
    id: "ei-works-sheffield",
    name: "Energy-Intelligence machining works",
    country: "GBR",
    context: { country: "GBR" },
    project: "Sheffield machining works: metered motor upgrades",
    standard: "CarbonProof metered reductions v1",
    reductionKgPerDay: 2_000,
    proponent: 8,
    devices: [
      { id: "ei-press-1", kind: 1, readingKind: "electricity", reading: meter(9_000) },
      { id: "ei-cnc-1", kind: 1, readingKind: "electricity", reading: meter(6_500) },
      { id: "ei-compressor-1", kind: 1, readingKind: "electricity", reading: meter(4_200) },
    ],
    listings: [
      [0.4, 24],
      [0.4, 27.5],
    ],
  },
];

const PERIOD_S = 12 * 3600;
const INTERVAL_S = 600;
const PERIODS = 2;

// ---------------------------------------------------------------- chain helpers

async function main(): Promise<void> {
  const started = Date.now();
  const o = parseArgs(process.argv.slice(2));
  const addr = loadAddresses(o.addresses, "seed-demo");
  const mnemonic = process.env.CARBONPROOF_MNEMONIC ?? DEV_MNEMONIC;
  const accounts: HDAccount[] = Array.from({ length: 20 }, (_, i) => mnemonicToAccount(mnemonic, { addressIndex: i }));
  const transport = http(o.rpc);
  const client = createPublicClient({ transport }) as PublicClient;
  const chainId = await client.getChainId();
  const chain = chainFor(chainId, o.rpc);
  const wallet = (i: number) => createWalletClient({ account: accounts[i]!, chain, transport });
  const log = (line: string) => process.stdout.write(`[seed ${((Date.now() - started) / 1000).toFixed(1)}s] ${line}\n`);

  async function send(from: number, name: ContractName, functionName: string, args: unknown[]): Promise<Hex> {
    const { request } = await client.simulateContract({
      account: accounts[from]!,
      address: addr[name],
      abi: abiOf(name),
      functionName,
      args,
    });
    const hash = await wallet(from).writeContract(request);
    const receipt = await client.waitForTransactionReceipt({ hash });
    if (receipt.status !== "success") throw new Error(`${name}.${functionName} reverted (tx ${hash})`);
    return hash;
  }
  const read = <T>(name: ContractName, functionName: string, args: unknown[] = []): Promise<T> =>
    client.readContract({ address: addr[name], abi: abiOf(name), functionName, args }) as Promise<T>;
  const role = (n: string) => keccak256(toHex(n));
  async function ensureRole(name: ContractName, roleName: string, who: number): Promise<void> {
    const r = role(roleName);
    if (!(await read<boolean>(name, "hasRole", [r, accounts[who]!.address])))
      await send(0, name, "grantRole", [r, accounts[who]!.address]);
  }

  // Oracle nodes: the local accounts the OracleSet lists.
  const nodes = await read<Address[]>("OracleSet", "activeNodes");
  const threshold = Number(await read<number>("OracleSet", "threshold"));
  const nodeAccounts = nodes
    .map((n) => accounts.findIndex((a) => isAddressEqual(a.address, n)))
    .filter((i) => i >= 0)
    .slice(0, threshold);
  if (nodeAccounts.length < threshold)
    throw new Error(
      `seed-demo: the OracleSet needs ${threshold} signatures but only ${nodeAccounts.length} of its nodes are local dev accounts`,
    );
  const VERIFIER = 5;
  if (nodes.some((n) => isAddressEqual(n, accounts[VERIFIER]!.address)))
    throw new Error("seed-demo: account #5 (the verifier) is also an oracle node; it could not issue");
  log(
    `chain ${chainId}; oracle quorum ${threshold} of ${nodes.length}, signing with accounts #${nodeAccounts.join(", #")}`,
  );

  // Wiring the deployment may have left to the operator.
  await ensureRole("DeviceRegistry", "DEVICE_MANAGER_ROLE", 0);
  await ensureRole("CarbonCredits", "VERIFIER_ROLE", VERIFIER);
  const escrow = role("ESCROW_ROLE");
  if (!(await read<boolean>("RetirementCertificates", "hasRole", [escrow, addr.Marketplace])))
    await send(0, "RetirementCertificates", "grantRole", [escrow, addr.Marketplace]);
  if (
    isAddressEqual(await read<Address>("CarbonCredits", "certificates"), "0x0000000000000000000000000000000000000000")
  )
    await send(0, "CarbonCredits", "setCertificates", [addr.RetirementCertificates]);
  if (!(await read<boolean>("Marketplace", "isPaymentToken", [addr.TestUSD])))
    await send(0, "Marketplace", "setPaymentToken", [addr.TestUSD, true]);
  const usdDecimals = Number(await read<number>("TestUSD", "decimals"));
  for (const i of [0, 1, 2, 3, 4, 9])
    await send(0, "TestUSD", "mint", [accounts[i]!.address, 250_000n * 10n ** BigInt(usdDecimals)]);
  log("roles, certificates, payment token and TestUSD balances in place");

  const factorSet = defaultFactorSet();
  const domain = { chainId, verifyingContract: addr.AttestationRegistry };
  const challengeWindow = BigInt(await read<bigint>("CarbonCredits", "challengeWindow"));
  const block = await client.getBlock();
  // All in the past on the chain's clock and inside one calendar year (one vintage): demo-periods.ts.
  const { periods: demo, vintage } = demoPeriods(block.timestamp, BigInt(PERIOD_S), PERIODS);
  const firstStart = demo[0]!.start;

  mkdirSync(join(o.out, "bundles"), { recursive: true });
  type Pending = { facility: FacilitySpec; projectId: number; header: BatchHeader; id: Hex };
  const pending: Pending[] = [];
  const directory: Record<string, { name: string; country: string }> = {};
  let readingsTotal = 0;

  for (const f of FACILITIES) {
    directory[f.id] = { name: f.name, country: f.country };
    const facilityId = idToBytes32(f.id);
    const keys = new Map<string, Uint8Array>();
    for (const d of f.devices) {
      const key = generateDeviceKey();
      keys.set(d.id, key.secretKey);
      const { x, y } = publicKeyToXY(key.publicKey);
      await send(0, "DeviceRegistry", "registerDevice", [
        idToBytes32(d.id),
        facilityId,
        d.kind,
        x,
        y,
        `carbonproof:demo:${d.id}`,
      ]);
    }
    // Measured emissions per period decide the baseline: measured + the claimed reduction.
    const periods: { start: bigint; readings: Reading[]; fossilGrams: bigint; biogenicGrams: bigint }[] = [];
    for (let p = 0; p < PERIODS; p++) {
      const start = demo[p]!.start;
      const readings: Reading[] = [];
      f.devices.forEach((d) => {
        for (let k = 0; k < PERIOD_S / INTERVAL_S; k++) {
          const seq = p * (PERIOD_S / INTERVAL_S) + k;
          readings.push({
            v: 1,
            deviceId: d.id,
            facilityId: f.id,
            seq,
            ts: Number(start) + (k + 1) * INTERVAL_S - 1,
            intervalS: INTERVAL_S,
            kind: d.readingKind,
            m: d.reading(seq),
          } as Reading);
        }
      });
      const totals = batchTotals(readings.map((r) => computeReading(r, factorSet, f.context)));
      periods.push({ start, readings, fossilGrams: totals.fossilCo2eGrams, biogenicGrams: totals.biogenicCo2Grams });
    }
    const measuredPerDay = (periods[0]!.fossilGrams * 86_400n) / BigInt(PERIOD_S);
    const baselineGramsPerDay = measuredPerDay + BigInt(f.reductionKgPerDay) * 1000n;
    await send(VERIFIER, "CarbonCredits", "registerProject", [
      {
        proponent: accounts[f.proponent]!.address,
        facilityId,
        methodologyId: METHODOLOGY_ID,
        name: f.project,
        standard: f.standard,
        baselineEffectiveFrom: firstStart,
        baselineGramsPerDay,
        baselineCid: "",
      },
    ]);
    const projectId = Number(await read<number>("CarbonCredits", "projectCount"));

    for (const period of periods) {
      const envelopes = period.readings.map((r) => signReading(r, keys.get(r.deviceId)!));
      // The same evidence bundle an oracle node pins (docs/bundle.md), so `carbonproof verify`
      // and the audit trail check demo attestations exactly as real ones.
      const bundle = buildBundle({
        facilityId: f.id,
        periodStart: Number(period.start),
        periodEnd: Number(period.start + BigInt(PERIOD_S)),
        envelopes,
        factorSet,
        facilityContext: f.context,
        methodologyId: METHODOLOGY_ID,
      });
      const bundleBytes = encodeBundle(bundle);
      const cid = bundleCid(bundleBytes);
      const header: BatchHeader = bundleHeader(bundle, cid);
      if (header.fossilCo2eGrams !== period.fossilGrams || header.biogenicCo2Grams !== period.biogenicGrams)
        throw new Error(`${f.id}: bundle totals differ from the computed period totals`);
      const signed = await Promise.all(
        nodeAccounts.map(async (i) => ({
          signer: accounts[i]!.address,
          signature: await signBatchHeader(accounts[i]!, header, domain),
        })),
      );
      await send(nodeAccounts[0]!, "AttestationRegistry", "submit", [header, packQuorumSignatures(signed)]);
      const id = hashBatchHeader(header, domain);
      writeFileSync(join(o.out, "bundles", `${cid}.json`), bundleBytes);
      pending.push({ facility: f, projectId, header, id });
      readingsTotal += period.readings.length;
    }
    log(`${f.id}: ${f.devices.length} devices, project ${projectId}, ${PERIODS} attestations submitted`);
  }

  // The challenge window runs on chain time: move the local chain past it.
  await client.request({ method: "evm_increaseTime" as never, params: [Number(challengeWindow) + 60] as never });
  await client.request({ method: "evm_mine" as never, params: [] as never });
  log(`advanced the chain ${challengeWindow + 60n} s past the challenge window`);

  const issued = new Map<string, { tokenId: bigint; kg: bigint }>();
  for (const p of pending) {
    const bound = BigInt(await read<bigint>("CarbonCredits", "issuanceBound", [p.projectId, p.header]));
    await send(VERIFIER, "CarbonCredits", "issue", [p.projectId, p.header, bound]);
    const tokenId = BigInt(await read<bigint>("CarbonCredits", "tokenIdOf", [p.projectId, vintage]));
    const prev = issued.get(p.facility.id);
    issued.set(p.facility.id, { tokenId, kg: (prev?.kg ?? 0n) + bound });
  }
  log(`credits issued: ${[...issued].map(([f, v]) => `${f} ${v.kg} kg`).join(", ")}`);
  // token id = project id << 16 | vintage (CarbonCredits.tokenIdOf): `carbonproof verify --credit ID`
  log(`credit ids (vintage ${vintage}): ${[...issued].map(([f, v]) => `${f} ${v.tokenId}`).join(", ")}`);

  const now = (await client.getBlock()).timestamp;
  let listings = 0;
  for (const f of FACILITIES) {
    const { tokenId, kg } = issued.get(f.id)!;
    await send(f.proponent, "CarbonCredits", "setApprovalForAll", [addr.Marketplace, true]);
    for (const [share, perTonne] of f.listings) {
      const amount = BigInt(Math.floor(Number(kg) * share));
      const unitPrice = BigInt(Math.round(perTonne * 10 ** usdDecimals)) / 1000n;
      const minFill = amount < 100n ? 1n : 100n;
      await send(f.proponent, "Marketplace", "list", [
        tokenId,
        amount,
        addr.TestUSD,
        unitPrice,
        minFill,
        now + 180n * 86_400n,
      ]);
      listings++;
    }
  }
  writeFileSync(join(o.out, "facilities.json"), JSON.stringify(directory, null, 2) + "\n");
  log(`${listings} listings open; facility directory written to ${join(o.out, "facilities.json")}`);
  const summary = {
    facilities: FACILITIES.length,
    devices: FACILITIES.reduce((s, f) => s + f.devices.length, 0),
    attestations: pending.length,
    readings: readingsTotal,
    issuedKg: Object.fromEntries([...issued].map(([f, v]) => [f, Number(v.kg)])),
    vintage,
    creditIds: Object.fromEntries([...issued].map(([f, v]) => [f, v.tokenId.toString()])),
    listings,
    seconds: Number(((Date.now() - started) / 1000).toFixed(1)),
  };
  process.stdout.write(`${JSON.stringify(summary)}\n`);
}

main().catch((cause: unknown) => {
  process.stderr.write(`seed-demo: ${cause instanceof Error ? (cause.stack ?? cause.message) : String(cause)}\n`);
  process.exit(1);
});
