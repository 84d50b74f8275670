#!/usr/bin/env node
/**
 * The large scenario of `npm run bench:explorer` (issue 8): on a chain where the contracts
 * are deployed and scripts/seed-demo.ts has run (it wires the roles, the payment token and
 * the TestUSD balances this builds on), adds
 *
 *   - 5 facilities with 4 P-256 devices each, keys registered in the DeviceRegistry;
 *   - 100 attestations of 1,000 signed readings each (20 consecutive periods per facility,
 *     250 readings per device per period): the sdk builds every bundle (canonical readings,
 *     digests, SHA-256 Merkle tree, emissions with the default factor set), the bundles are
 *     written to `<out>/bundles/<cid>.json` (the folder the web app serves), the headers are
 *     co-signed (EIP-712) by the OracleSet quorum's local accounts and submitted;
 *   - after the challenge window, one credit issued against the first 10 attestations of the
 *     first facility (10,000 readings), listed whole, bought whole and retired: the
 *     certificate's lineage reaches 10,000 readings.
 *
 * Readings are signed with node:crypto (OpenSSL; the sdk normalises to low-s), which is
 * ~50× faster than the pure-JS signer for 100,000 signatures; the bytes are the same
 * format the sdk's `signReading` produces.
 *
 * Usage (also imported by bench/explorer.ts):
 *   node bench/explorer-seed.ts --rpc <url> --addresses <deployed_addresses.json> --out <folder>
 *     [--attestations 100] [--readings 1000] [--credit-attestations 10]
 * Last line: JSON summary (ids the benchmark and tests navigate to).
 */
import { createPrivateKey, sign as cryptoSign, type KeyObject } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import {
  createPublicClient,
  createWalletClient,
  http,
  isAddressEqual,
  parseEventLogs,
  type Address,
  type Hex,
  type PublicClient,
  type TransactionReceipt,
} from "viem";
import { mnemonicToAccount, type HDAccount } from "viem/accounts";
import {
  buildBundle,
  bundleCid,
  bundleHeader,
  canonicalBytes,
  chainFor,
  defaultFactorSet,
  encodeBundle,
  generateDeviceKey,
  hashBatchHeader,
  idToBytes32,
  METHODOLOGY_ID,
  normalizeLowS,
  packQuorumSignatures,
  publicKeyToXY,
  secretKeyToPem,
  signBatchHeader,
  type BatchHeader,
  type Envelope,
  type FacilityContext,
  type Reading,
} from "../sdk/src/index.ts";
import { abiOf, loadAddresses, type ContractName } from "../scripts/demo-deployment.ts";

const DEV_MNEMONIC = "test test test test test test test test test test test junk";
/** seed-demo's verifier account (not an oracle node, so it may issue). */
const VERIFIER = 5;
/** Proponent of the scenario's projects and the account that buys and retires (Hardhat funds #0–#19). */
const PROPONENT = 10;
const BUYER = 3; // has TestUSD from seed-demo

export type ExplorerScenarioOptions = {
  rpc: string;
  /** Ignition deployed_addresses.json */
  addresses: string;
  /** folder with facilities.json and bundles/ (seed-demo's --out) */
  out: string;
  attestations?: number;
  readingsPerAttestation?: number;
  /** attestations of the first facility the credit is issued against */
  creditAttestations?: number;
  log?: (line: string) => void;
};

export type ExplorerScenario = {
  facilities: string[];
  devices: number;
  attestations: number;
  readings: number;
  bundleBytes: number;
  /** the retired credit (project × vintage) and what backs it */
  creditTokenId: string;
  creditAttestationIds: Hex[];
  creditReadings: number;
  creditKg: string;
  certificateId: string;
  retirementTx: Hex;
  listingId: string;
  /** a reading digest inside the credit's first attestation, and the last reading attested */
  sampleDigest: Hex;
  lastDigest: Hex;
  lastAttestationId: Hex;
  seedMs: number;
};

type DeviceSpec = { id: string; kind: 0 | 1; readingKind: "flue-gas" | "electricity"; base: number };
type FacilitySpec = { id: string; name: string; country: string; context: FacilityContext; devices: DeviceSpec[] };

const wobble = (i: number, spread: number) =>
  Math.round(spread * Math.sin(i * 0.7) + (spread / 2) * Math.sin(i * 0.13));

function measurement(d: DeviceSpec, seq: number): Reading["m"] {
  if (d.readingKind === "flue-gas")
    return {
      co2Ppm: d.base + wobble(seq, 2500),
      tempCentiC: 18_550 + wobble(seq, 900),
      velocityMmS: 6_000 + wobble(seq, 300),
      pressurePa: 101_325 - 12_000 + wobble(seq, 150),
      ductDiameterMm: 600,
    } as Reading["m"];
  return { energyWh: d.base + wobble(seq, Math.round(d.base / 10)) } as Reading["m"];
}

function facilitySpecs(): FacilitySpec[] {
  const tea = (id: string, name: string): FacilitySpec => ({
    id,
    name,
    country: "KEN",
    context: { country: "KEN", flueGasBiogenicShareBp: 10_000 },
    devices: [
      { id: `${id}-chimney-1`, kind: 0, readingKind: "flue-gas", base: 40_000 },
      { id: `${id}-chimney-2`, kind: 0, readingKind: "flue-gas", base: 36_000 },
      { id: `${id}-meter-1`, kind: 1, readingKind: "electricity", base: 4_000 },
      { id: `${id}-meter-2`, kind: 1, readingKind: "electricity", base: 2_500 },
    ],
  });
  const works = (id: string, name: string, country: string): FacilitySpec => ({
    id,
    name,
    country,
    context: { country },
    devices: ["press", "cnc", "compressor", "hvac"].map((m, i) => ({
      id: `${id}-${m}-1`,
      kind: 1 as const,
      readingKind: "electricity" as const,
      base: 1_500 + 700 * i,
    })),
  });
  return [
    tea("bench-tea-1", "Bench tea factory 1"),
    tea("bench-tea-2", "Bench tea factory 2"),
    tea("bench-tea-3", "Bench tea factory 3"),
    works("bench-works-1", "Bench machining works 1", "GBR"),
    works("bench-works-2", "Bench machining works 2", "DEU"),
  ];
}

export async function seedExplorerScenario(o: ExplorerScenarioOptions): Promise<ExplorerScenario> {
  const started = Date.now();
  const log = o.log ?? (() => {});
  const attestationCount = o.attestations ?? 100;
  const perAttestation = o.readingsPerAttestation ?? 1000;
  const creditAttestations = o.creditAttestations ?? 10;
  const facilities = facilitySpecs();
  if (attestationCount % facilities.length !== 0)
    throw new Error(`explorer-seed: --attestations must be a multiple of ${facilities.length}`);
  const periodsPerFacility = attestationCount / facilities.length;
  const devicesPerFacility = facilities[0]!.devices.length;
  if (perAttestation % devicesPerFacility !== 0)
    throw new Error(`explorer-seed: --readings must be a multiple of ${devicesPerFacility}`);
  if (creditAttestations > periodsPerFacility)
    throw new Error(`explorer-seed: the credit needs ${creditAttestations} attestations of one facility`);
  const perDevice = perAttestation / devicesPerFacility;
  const INTERVAL_S = 10;
  const PERIOD_S = perDevice * INTERVAL_S;

  const addr = loadAddresses(o.addresses, "explorer-seed");
  const accounts: HDAccount[] = Array.from({ length: 20 }, (_, i) =>
    mnemonicToAccount(process.env.CARBONPROOF_MNEMONIC ?? DEV_MNEMONIC, { addressIndex: i }),
  );
  const transport = http(o.rpc);
  const client = createPublicClient({ transport }) as PublicClient;
  const chainId = await client.getChainId();
  const chain = chainFor(chainId, o.rpc);
  const wallets = accounts.map((account) => createWalletClient({ account, chain, transport }));
  const send = async (
    from: number,
    name: ContractName,
    functionName: string,
    args: unknown[],
  ): Promise<TransactionReceipt> => {
    const { request } = await client.simulateContract({
      account: accounts[from]!,
      address: addr[name],
      abi: abiOf(name),
      functionName,
      args,
    });
    const hash = await wallets[from]!.writeContract(request);
    const receipt = await client.waitForTransactionReceipt({ hash });
    if (receipt.status !== "success") throw new Error(`${name}.${functionName} reverted (tx ${hash})`);
    return receipt;
  };
  const read = <T>(name: ContractName, functionName: string, args: unknown[] = []): Promise<T> =>
    client.readContract({ address: addr[name], abi: abiOf(name), functionName, args }) as Promise<T>;

  const nodes = await read<Address[]>("OracleSet", "activeNodes");
  const threshold = Number(await read<number>("OracleSet", "threshold"));
  const signers = nodes
    .map((n) => accounts.findIndex((a) => isAddressEqual(a.address, n)))
    .filter((i) => i >= 0)
    .slice(0, threshold);
  if (signers.length < threshold)
    throw new Error(`explorer-seed: the OracleSet needs ${threshold} signatures; ${signers.length} nodes are local`);
  const domain = { chainId, verifyingContract: addr.AttestationRegistry };
  const factorSet = defaultFactorSet();

  // Periods end on the last full hour before the chain's now, all in one calendar year.
  const now = (await client.getBlock()).timestamp;
  let end = (now / 3600n) * 3600n - 3600n;
  const span = BigInt(PERIOD_S * periodsPerFacility);
  const yearStart = BigInt(Date.UTC(new Date(Number(end) * 1000).getUTCFullYear(), 0, 1) / 1000);
  if (end - span < yearStart) end = yearStart + span;
  const firstStart = end - span;

  mkdirSync(join(o.out, "bundles"), { recursive: true });
  const directoryFile = join(o.out, "facilities.json");
  const directory = existsSync(directoryFile)
    ? (JSON.parse(readFileSync(directoryFile, "utf8")) as Record<string, { name: string; country: string }>)
    : {};

  let readings = 0;
  let bundleBytes = 0;
  let deviceCount = 0;
  let sampleDigest: Hex | undefined;
  let lastDigest: Hex = "0x";
  let lastAttestationId: Hex = "0x";
  const creditHeaders: { header: BatchHeader; id: Hex }[] = [];
  let creditProject = 0;

  for (const [fi, f] of facilities.entries()) {
    directory[f.id] = { name: f.name, country: f.country };
    const facilityId = idToBytes32(f.id);
    const keys = new Map<string, KeyObject>();
    for (const d of f.devices) {
      const key = generateDeviceKey();
      keys.set(d.id, createPrivateKey(secretKeyToPem(key.secretKey)));
      const { x, y } = publicKeyToXY(key.publicKey);
      await send(0, "DeviceRegistry", "registerDevice", [
        idToBytes32(d.id),
        facilityId,
        d.kind,
        x,
        y,
        `carbonproof:bench:${d.id}`,
      ]);
      deviceCount++;
    }
    let projectId = 0;
    for (let p = 0; p < periodsPerFacility; p++) {
      const start = Number(firstStart) + p * PERIOD_S;
      const envelopes: Envelope[] = [];
      for (const d of f.devices)
        for (let k = 0; k < perDevice; k++) {
          const seq = p * perDevice + k;
          const reading = {
            v: 1,
            deviceId: d.id,
            facilityId: f.id,
            seq,
            ts: start + (k + 1) * INTERVAL_S - 1,
            intervalS: INTERVAL_S,
            kind: d.readingKind,
            m: measurement(d, seq),
          } as Reading;
          const der = cryptoSign("sha256", canonicalBytes(reading), {
            key: keys.get(d.id)!,
            dsaEncoding: "ieee-p1363",
          });
          envelopes.push({ reading, sig: normalizeLowS(der) });
        }
      const bundle = buildBundle({
        facilityId: f.id,
        periodStart: start,
        periodEnd: start + PERIOD_S,
        envelopes,
        factorSet,
        facilityContext: f.context,
        methodologyId: METHODOLOGY_ID,
      });
      const bytes = encodeBundle(bundle);
      const cid = bundleCid(bytes);
      const header = bundleHeader(bundle, cid);
      writeFileSync(join(o.out, "bundles", `${cid}.json`), bytes);
      if (p === 0) {
        // The project's baseline: measured emissions of the first period plus a claimed
        // reduction of half of them, so every period has a positive issuance bound.
        const measuredPerDay = (header.fossilCo2eGrams * 86_400n) / BigInt(PERIOD_S);
        await send(VERIFIER, "CarbonCredits", "registerProject", [
          {
            proponent: accounts[PROPONENT]!.address,
            facilityId,
            methodologyId: METHODOLOGY_ID,
            name: `${f.name}: metered reductions`,
            standard: "CarbonProof metered reductions v1",
            baselineEffectiveFrom: firstStart,
            baselineGramsPerDay: measuredPerDay + measuredPerDay / 2n + 1_000_000n,
            baselineCid: "",
          },
        ]);
        projectId = Number(await read<number>("CarbonCredits", "projectCount"));
      }
      const signed = await Promise.all(
        signers.map(async (i) => ({
          signer: accounts[i]!.address,
          signature: await signBatchHeader(accounts[i]!, header, domain),
        })),
      );
      await send(signers[0]!, "AttestationRegistry", "submit", [header, packQuorumSignatures(signed)]);
      const id = hashBatchHeader(header, domain);
      if (fi === 0 && p < creditAttestations) {
        creditHeaders.push({ header, id });
        creditProject = projectId;
        sampleDigest ??= bundle.readings[Math.floor(bundle.readings.length / 2)]!.digest as Hex;
      }
      lastDigest = bundle.readings[bundle.readings.length - 1]!.digest as Hex;
      lastAttestationId = id;
      readings += bundle.readings.length;
      bundleBytes += bytes.length;
    }
    log(`${f.id}: ${f.devices.length} devices, project ${projectId}, ${periodsPerFacility} attestations`);
  }
  writeFileSync(directoryFile, JSON.stringify(directory, null, 2) + "\n");

  const challengeWindow = BigInt(await read<bigint>("CarbonCredits", "challengeWindow"));
  await client.request({ method: "evm_increaseTime" as never, params: [Number(challengeWindow) + 60] as never });
  await client.request({ method: "evm_mine" as never, params: [] as never });

  let creditKg = 0n;
  let tokenId = 0n;
  for (const { header } of creditHeaders) {
    const bound = BigInt(await read<bigint>("CarbonCredits", "issuanceBound", [creditProject, header]));
    await send(VERIFIER, "CarbonCredits", "issue", [creditProject, header, bound]);
    creditKg += bound;
    const year = new Date(Number(header.periodStart) * 1000).getUTCFullYear();
    tokenId = BigInt(await read<bigint>("CarbonCredits", "tokenIdOf", [creditProject, year]));
  }
  log(`credit ${tokenId}: ${creditKg} kg issued against ${creditHeaders.length} attestations`);

  // List it whole, buy it whole, retire it whole.
  const usdDecimals = BigInt(await read<number>("TestUSD", "decimals"));
  const unitPrice = 10n ** usdDecimals / 100n; // 0.01 TestUSD per kg = 10 per tonne
  await send(PROPONENT, "CarbonCredits", "setApprovalForAll", [addr.Marketplace, true]);
  const blockNow = (await client.getBlock()).timestamp;
  const listed = await send(PROPONENT, "Marketplace", "list", [
    tokenId,
    creditKg,
    addr.TestUSD,
    unitPrice,
    1n,
    blockNow + 180n * 86_400n,
  ]);
  const listingId = parseEventLogs({ abi: abiOf("Marketplace"), logs: listed.logs, eventName: "Listed" })[0]!.args as {
    listingId: bigint;
  };
  const maxTotal = (creditKg * unitPrice * 11n) / 10n + 1n;
  await send(BUYER, "TestUSD", "approve", [addr.Marketplace, maxTotal]);
  await send(BUYER, "Marketplace", "buy", [listingId.listingId, creditKg, maxTotal]);
  const retired = await send(BUYER, "RetirementCertificates", "retire", [
    tokenId,
    creditKg,
    {
      beneficiary: accounts[BUYER]!.address,
      beneficiaryName: "Bench Importers GmbH",
      reason: "Explorer benchmark: a retirement backed by 10,000 readings",
      consumptionCountry: "0x444555",
      consumptionStart: 0n,
      consumptionEnd: 0n,
    },
  ]);
  const certificate = parseEventLogs({
    abi: abiOf("RetirementCertificates"),
    logs: retired.logs,
    eventName: "Retired",
  })[0]!.args as { certificateId: bigint };
  log(`listing ${listingId.listingId} bought and retired: certificate ${certificate.certificateId}`);

  return {
    facilities: facilities.map((f) => f.id),
    devices: deviceCount,
    attestations: attestationCount,
    readings,
    bundleBytes,
    creditTokenId: tokenId.toString(),
    creditAttestationIds: creditHeaders.map((c) => c.id),
    creditReadings: creditHeaders.reduce((s, c) => s + c.header.readingCount, 0),
    creditKg: creditKg.toString(),
    certificateId: certificate.certificateId.toString(),
    retirementTx: retired.transactionHash,
    listingId: listingId.listingId.toString(),
    sampleDigest: sampleDigest!,
    lastDigest,
    lastAttestationId,
    seedMs: Date.now() - started,
  };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const opt = (name: string) => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const rpc = opt("rpc");
  const addresses = opt("addresses");
  const out = opt("out");
  if (!rpc || !addresses || !out) {
    process.stderr.write("usage: node bench/explorer-seed.ts --rpc <url> --addresses <file> --out <folder>\n");
    process.exit(2);
  }
  const t0 = Date.now();
  seedExplorerScenario({
    rpc,
    addresses: resolve(addresses),
    out: resolve(out),
    attestations: opt("attestations") ? Number(opt("attestations")) : undefined,
    readingsPerAttestation: opt("readings") ? Number(opt("readings")) : undefined,
    creditAttestations: opt("credit-attestations") ? Number(opt("credit-attestations")) : undefined,
    log: (line) => process.stdout.write(`[explorer-seed ${((Date.now() - t0) / 1000).toFixed(1)}s] ${line}\n`),
  }).then(
    (s) => process.stdout.write(`${JSON.stringify(s)}\n`),
    (cause: unknown) => {
      process.stderr.write(`explorer-seed: ${cause instanceof Error ? (cause.stack ?? cause.message) : cause}\n`);
      process.exit(1);
    },
  );
}
