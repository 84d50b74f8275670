import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import {
  createPublicClient,
  createWalletClient,
  custom,
  encodeAbiParameters,
  http,
  keccak256,
  type Address,
  type Hex,
  type PublicClient,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { hardhat as hardhatChain } from "viem/chains";
import { buildBundle } from "../bundle/bundle.ts";
import type { BatchHeader } from "../eip712/batchHeader.ts";
import { defaultFactorSet } from "../factors/factorSet.ts";
import { idToBytes32 } from "../ids.ts";
import { METHODOLOGY_ID } from "../methodology/methodologyId.ts";
import { generateDeviceKey } from "../reading/sign.ts";
import {
  attestBundle,
  flueGasEnvelopes,
  issueAtBound,
  registerTestDevice,
  registerTestProject,
} from "../test/attest.ts";
import { TEST_ONLY_HARDHAT_KEYS, startTestChain, type TestChain } from "../test/hardhatNode.ts";
import { carbonCreditsAbi, retirementCertificatesAbi } from "./abi.ts";
import { nobleSignatureVerifier, webCryptoSignatureVerifier } from "./signatures.ts";
import { mapSource } from "./sources.ts";
import { verifyLineage, type LineageReport } from "./verifyLineage.ts";

const FACILITY = "ktda-kangaita";
const DEVICE = "kangaita-chimney-1";
const deviceKey = generateDeviceKey();
const pinned = new Map<string, Uint8Array>();
let chain: TestChain;
let credits: Address;
let certificates: Address;
let marketplace: Address;
let tokenId: bigint;
let certificateId: bigint;
/** The block after the contracts' deployment and set-up, before any attestation: a deployment block. */
let deployedAt: bigint;
const attestationIds: Hex[] = [];
const headers: BatchHeader[] = [];
const cids: string[] = [];

/** Two attested hours of readings behind one credit, issued to account 3, 1 kg retired by it. */
before(async () => {
  chain = await startTestChain();
  const admin = TEST_ONLY_HARDHAT_KEYS[0]!;
  const proponent = TEST_ONLY_HARDHAT_KEYS[3]!;
  await registerTestDevice(chain, DEVICE, FACILITY, deviceKey.publicKey);
  ({ credits, certificates } = await chain.deployCredits());
  // The Marketplace from its build artifact (no sale here: the purchase link finds none).
  const art = JSON.parse(
    readFileSync(
      fileURLToPath(new URL("../../../artifacts/contracts/market/Marketplace.sol/Marketplace.json", import.meta.url)),
      "utf8",
    ),
  );
  const account = privateKeyToAccount(admin);
  const wallet = createWalletClient({
    account,
    chain: { ...hardhatChain, rpcUrls: { default: { http: [chain.rpcUrl] } } },
    transport: http(chain.rpcUrl),
  });
  const hash = await wallet.deployContract({
    abi: art.abi,
    bytecode: art.bytecode,
    args: [credits, certificates, account.address, account.address, 100],
  });
  marketplace = (await chain.client.waitForTransactionReceipt({ hash })).contractAddress!;
  await registerTestProject(chain, credits, FACILITY);
  deployedAt = await chain.client.getBlockNumber();
  for (let hour = 0; hour < 2; hour++) {
    const start = 1763900000 + 3600 * hour;
    const envelopes = flueGasEnvelopes({
      deviceId: DEVICE,
      facilityId: FACILITY,
      secretKey: deviceKey.secretKey,
      start,
      count: 5,
      seq0: hour * 100,
      stepS: 60,
    });
    const bundle = buildBundle({
      facilityId: FACILITY,
      periodStart: start,
      periodEnd: start + 3600,
      envelopes,
      factorSet: defaultFactorSet(),
      methodologyId: METHODOLOGY_ID,
    });
    const { id, cid, header } = await attestBundle(chain, bundle, pinned);
    cids.push(cid);
    attestationIds.push(id);
    headers.push(header);
    await issueAtBound(chain, credits, 1, header);
  }
  const issued = await chain.client.getContractEvents({
    address: credits,
    abi: carbonCreditsAbi,
    eventName: "CreditsIssued",
    fromBlock: 0n,
  });
  tokenId = (issued[0]!.args as { tokenId: bigint }).tokenId;
  await chain.write(proponent, certificates, retirementCertificatesAbi, "retire", [
    tokenId,
    1n,
    {
      beneficiary: privateKeyToAccount(admin).address,
      beneficiaryName: "Test Co",
      reason: "FY2025 scope 1",
      consumptionCountry: "0x4b454e",
      consumptionStart: 0n,
      consumptionEnd: 0n,
    },
  ]);
  const retired = await chain.client.getContractEvents({
    address: certificates,
    abi: retirementCertificatesAbi,
    eventName: "Retired",
    fromBlock: 0n,
  });
  certificateId = (retired[0]!.args as { certificateId: bigint }).certificateId;
});

after(async () => {
  await chain?.stop();
});

const verdict = (c: { ok: boolean; skipped?: boolean }) => (c.skipped ? "SKIP" : c.ok ? "PASS" : "FAIL");
const lines = (r: LineageReport) => r.sections.flatMap((s) => s.checks.map((c) => `${s.key} ${verdict(c)} ${c.link}`));

test("verifyLineage walks a certificate back to its readings, every link PASS, streaming its progress", async () => {
  const snapshots: LineageReport[] = [];
  const report = await verifyLineage({
    client: chain.client,
    registry: chain.registry,
    deviceRegistry: chain.deviceRegistry,
    certificates,
    marketplace,
    source: mapSource(pinned, "test gateway"),
    target: { certificateId },
    signatures: webCryptoSignatureVerifier()!,
    onProgress: (r) => snapshots.push(r),
  });
  assert.equal(report.ok, true, lines(report).join("\n"));
  assert.equal(report.done, true);
  assert.deepEqual(
    report.sections.map((s) => s.key),
    ["retirement", "purchase", "credit", ...attestationIds.map((id) => `attestation:${id}`)],
  );
  const all = lines(report);
  for (const expected of [
    "retirement PASS retirement certificate",
    "purchase PASS retirement event",
    "purchase SKIP purchase",
    `credit PASS credit ${tokenId} issued from attestation ${attestationIds[1]}`,
    "credit PASS issuer did not co-sign the attestation",
    `attestation:${attestationIds[0]} PASS bundle CID = on-chain CID`,
    `attestation:${attestationIds[0]} PASS device signatures`,
    `attestation:${attestationIds[0]} PASS readings included in the attested root`,
    `attestation:${attestationIds[1]} PASS per-reading emissions recomputed`,
    `attestation:${attestationIds[1]} PASS quorum signatures`,
    `attestation:${attestationIds[1]} PASS no reading attested twice for the facility`,
    `attestation:${attestationIds[1]} PASS devices registered to the facility`,
  ])
    assert.ok(all.includes(expected), `${expected} missing:\n${all.join("\n")}`);
  const purchase = report.sections.find((s) => s.key === "purchase")!.checks.at(-1)!;
  assert.match(purchase.detail, /^retired by the issuer's recipient 0x[0-9a-fA-F]{40}: no purchase$/);
  // Rows fill in as links finish: the first snapshots are partial, the last is the report.
  assert.ok(snapshots.length > 10);
  assert.equal(snapshots[0]!.done, false);
  assert.ok(snapshots[0]!.sections.flatMap((s) => s.checks).length < all.length);
  assert.deepEqual(lines(snapshots.at(-1)!), all);
});

/** A client on the test chain whose transport records every eth_getLogs (address, topics, range). */
function countingClient() {
  const getLogs: { key: string; fromBlock: bigint; toBlock: bigint }[] = [];
  const node = http(chain.rpcUrl)({ retryCount: 0 });
  const client = createPublicClient({
    transport: custom(
      {
        async request({ method, params }: { method: string; params?: unknown }) {
          if (method === "eth_getLogs") {
            const f = (params as [{ address: string; topics: unknown; fromBlock: Hex; toBlock: Hex }])[0];
            getLogs.push({
              key: `${f.address.toLowerCase()} ${JSON.stringify(f.topics)}`,
              fromBlock: BigInt(f.fromBlock),
              toBlock: BigInt(f.toBlock),
            });
          }
          return node.request({ method, params } as never);
        },
      },
      { retryCount: 0 },
    ),
  }) as PublicClient;
  return { client, getLogs };
}

test("verifyLineage from the deployment's block in ranges of 3 blocks: the whole-chain read's report, no eth_getLogs before that block or over 3 blocks", async () => {
  const options = {
    registry: chain.registry,
    deviceRegistry: chain.deviceRegistry,
    certificates,
    marketplace,
    source: mapSource(pinned, "test gateway"),
    target: { certificateId },
    signatures: nobleSignatureVerifier,
  };
  const { client, getLogs } = countingClient();
  const ranged = await verifyLineage({ ...options, client, fromBlock: deployedAt, logRangeBlocks: 3n });
  const whole = await verifyLineage({ ...options, client: chain.client });
  assert.equal(ranged.ok, true, lines(ranged).join("\n"));
  assert.deepEqual(ranged, whole);

  const head = await chain.client.getBlockNumber();
  assert.ok(deployedAt > 3n && head - deployedAt + 1n > 3n, `the events span several ranges (${deployedAt}–${head})`);
  for (const q of getLogs) {
    assert.ok(
      q.fromBlock >= deployedAt,
      `eth_getLogs from ${q.fromBlock}, before the deployment's block ${deployedAt}`,
    );
    assert.ok(q.toBlock - q.fromBlock + 1n <= 3n, `eth_getLogs over ${q.fromBlock}–${q.toBlock}`);
  }
  // every event read (submissions, issuances, the retirement, sales, recorded shortfalls and
  // corrections) starts at the deployment's block, its ranges 3 blocks apart from there
  const starts = new Map<string, bigint>();
  for (const q of getLogs) {
    assert.equal((q.fromBlock - deployedAt) % 3n, 0n, `a range from ${q.fromBlock}: not on the 3-block grid`);
    const s = starts.get(q.key);
    starts.set(q.key, s === undefined || q.fromBlock < s ? q.fromBlock : s);
  }
  assert.ok(starts.size >= 5, `${starts.size} distinct event queries`);
  for (const [query, start] of starts) assert.equal(start, deployedAt, query);
});

test("verifyLineage: a tampered bundle FAILs at 'bundle CID = on-chain CID' of its attestation, the rest still PASS", async () => {
  const tampered = new Map(pinned);
  const bytes = pinned.get(cids[0]!)!;
  const text = new TextDecoder().decode(bytes).replace('"co2Ppm":41000', '"co2Ppm":41999');
  assert.notEqual(text, new TextDecoder().decode(bytes));
  tampered.set(cids[0]!, new TextEncoder().encode(text));
  const report = await verifyLineage({
    client: chain.client,
    registry: chain.registry,
    deviceRegistry: chain.deviceRegistry,
    credits,
    source: mapSource(tampered, "tampering gateway"),
    target: { tokenId },
  });
  assert.equal(report.ok, false);
  const failed = report.sections.flatMap((s) => s.checks.filter((c) => !c.ok).map((c) => `${s.key} ${c.link}`));
  assert.deepEqual(failed, [
    `attestation:${attestationIds[0]} bundle CID = on-chain CID`,
    `attestation:${attestationIds[1]} no reading attested twice for the facility`,
  ]);
  const broken = report.sections.find((s) => s.key === `attestation:${attestationIds[0]}`)!.checks.at(-1)!;
  assert.match(
    broken.detail,
    new RegExp(`^bytes from tampering gateway hash to bafkrei[a-z2-7]+, header says ${cids[0]}$`),
  );
  // The other attestation's history check sees the tampered bundle too and says so.
  const history = report.sections
    .find((s) => s.key === `attestation:${attestationIds[1]}`)!
    .checks.find((c) => c.link === "no reading attested twice for the facility")!;
  assert.equal(history.ok, false);
  assert.match(history.detail, /does not hash to its CID/);
});

test("verifyLineage: WebCrypto and noble signature verifiers give the same verdicts", async () => {
  const common = {
    client: chain.client,
    registry: chain.registry,
    deviceRegistry: chain.deviceRegistry,
    credits,
    source: mapSource(pinned),
    target: { tokenId },
  };
  const a = await verifyLineage({ ...common, signatures: webCryptoSignatureVerifier()! });
  const b = await verifyLineage({ ...common, signatures: nobleSignatureVerifier });
  assert.deepEqual(lines(a), lines(b));
  assert.equal(a.ok, true);
});

test("verifyLineage refuses a concurrency below 1 (or not whole) before any read: no worker would check an attestation, and the report would read as a clean one", async () => {
  for (const concurrency of [0, -1, Number.NaN, 1.5]) {
    let asked = 0;
    const client = new Proxy(chain.client, {
      get(target, key) {
        asked++;
        return Reflect.get(target, key, target) as unknown;
      },
    });
    await assert.rejects(
      verifyLineage({
        client,
        registry: chain.registry,
        certificates,
        source: mapSource(pinned),
        target: { certificateId },
        concurrency,
      }),
      (e: unknown) =>
        e instanceof RangeError && e.message === `concurrency must be a whole number ≥ 1, got ${concurrency}`,
    );
    assert.equal(asked, 0, `nothing read with concurrency ${concurrency}`);
  }
  const report = await verifyLineage({
    client: chain.client,
    registry: chain.registry,
    deviceRegistry: chain.deviceRegistry,
    certificates,
    marketplace,
    source: mapSource(pinned),
    target: { certificateId },
    concurrency: 1,
  });
  assert.equal(report.ok, true, lines(report).join("\n"));
});

test("verifyLineage: an unknown certificate is a FAIL, not a crash", async () => {
  const report = await verifyLineage({
    client: chain.client,
    registry: chain.registry,
    certificates,
    source: mapSource(pinned),
    target: { certificateId: 999n },
  });
  assert.equal(report.ok, false);
  assert.equal(report.done, true);
  assert.match(report.sections[0]!.checks[0]!.detail, /^certificate 999: /);
});

test("verifyLineage from a reading digest finds its attestation and verifies it", async () => {
  const bytes = pinned.get(cids[1]!)!;
  const digest = (JSON.parse(new TextDecoder().decode(bytes)) as { readings: { digest: Hex }[] }).readings[3]!.digest;
  const report = await verifyLineage({
    client: chain.client,
    registry: chain.registry,
    deviceRegistry: chain.deviceRegistry,
    source: mapSource(pinned),
    target: { readingDigest: digest },
  });
  assert.equal(report.ok, true, lines(report).join("\n"));
  assert.equal(report.sections[0]!.attestationId, attestationIds[1]);
  assert.ok(lines(report).includes("reading PASS envelope = bundle entry"));
  const missing = await verifyLineage({
    client: chain.client,
    registry: chain.registry,
    source: mapSource(pinned),
    target: { readingDigest: `0x${"ab".repeat(32)}` },
  });
  assert.equal(missing.ok, false);
  assert.match(
    missing.sections[0]!.checks[0]!.detail,
    /^no bundle of the \d+ attestation\(s\) .* holds reading 0xabab/,
  );
});

test("verifyLineage of a dropped bundle file: honest PASS, tampered FAIL at 'bundle CID = on-chain CID'", async () => {
  const honest = await verifyLineage({
    client: chain.client,
    registry: chain.registry,
    deviceRegistry: chain.deviceRegistry,
    source: mapSource(pinned),
    target: { bundleBytes: pinned.get(cids[0]!)!, name: "bundle.json" },
  });
  assert.equal(honest.ok, true, lines(honest).join("\n"));
  assert.equal(honest.sections[0]!.attestationId, attestationIds[0]);
  const text = new TextDecoder().decode(pinned.get(cids[0]!)!).replace('"co2Ppm":41001', '"co2Ppm":41002');
  const tampered = await verifyLineage({
    client: chain.client,
    registry: chain.registry,
    deviceRegistry: chain.deviceRegistry,
    source: mapSource(pinned),
    target: { bundleBytes: new TextEncoder().encode(text), name: "bundle.json" },
  });
  assert.equal(tampered.ok, false);
  const failed = tampered.sections.flatMap((s) => s.checks.filter((c) => !c.ok));
  assert.equal(failed[0]!.link, "bundle CID = on-chain CID");
  assert.match(failed[0]!.detail, /^bytes from file bundle\.json hash to bafkrei/);

  // a file naming the facility with no period of whole seconds: a FAIL saying so (review: BigInt
  // threw a RangeError at the page that dropped it)
  const { facilityId } = JSON.parse(new TextDecoder().decode(pinned.get(cids[0]!)!)) as { facilityId: string };
  for (const period of [{ start: 1.5, end: 2 }, { start: 1 }]) {
    const odd = await verifyLineage({
      client: chain.client,
      registry: chain.registry,
      deviceRegistry: chain.deviceRegistry,
      source: mapSource(pinned),
      target: { bundleBytes: new TextEncoder().encode(JSON.stringify({ facilityId, period })), name: "x.json" },
    });
    assert.equal(odd.ok, false);
    const fails = odd.sections.flatMap((s) => s.checks.filter((c) => !c.ok));
    assert.match(
      fails[0]!.detail,
      /x\.json is not an evidence bundle \(no facilityId, or no period of whole seconds\)/,
    );
  }
});

/** Storage slot of `mapping(key => …)` at slot `base`, entry `key` (Solidity's layout). */
const entrySlot = (key: bigint, base: bigint): bigint =>
  BigInt(keccak256(encodeAbiParameters([{ type: "uint256" }, { type: "uint256" }], [key, base])));

/**
 * The slot of CarbonCredits' storage holding `expected`, among `slotOf(base)` for the first 40
 * declared slots: found by value, so the test does not hard-code the contract's storage layout.
 */
async function slotHolding(slotOf: (base: bigint) => bigint, expected: bigint): Promise<Hex> {
  for (let base = 0n; base < 40n; base++) {
    const slot = `0x${slotOf(base).toString(16).padStart(64, "0")}` as Hex;
    const value = await chain.client.getStorageAt({ address: credits, slot });
    if (value !== undefined && BigInt(value) === expected) return slot;
  }
  throw new Error(`no CarbonCredits slot holds ${expected}`);
}

const word = (value: bigint) => `0x${value.toString(16).padStart(64, "0")}` as Hex;
const rpc = (method: string, params: unknown[]) =>
  (chain.client.request as (a: { method: string; params: unknown[] }) => Promise<unknown>)({ method, params });

/**
 * A CarbonCredits whose state no longer backs what it issued: the chain's state is changed under a
 * snapshot (hardhat_setStorageAt, reverted after), standing for a contract that issued more than it
 * should have (a bug, or not the real contract), since the real one refuses to issue it.
 */
async function withTamperedCredits<T>(tamper: () => Promise<void>, run: () => Promise<T>): Promise<T> {
  const snapshot = await rpc("evm_snapshot", []);
  try {
    await tamper();
    return await run();
  } finally {
    await rpc("evm_revert", [snapshot]);
  }
}

test("verifyLineage: an issuance above floor((baseline − attested grams) / 1000) kg FAILs, one at it PASSes", async () => {
  const issued = await chain.client.getContractEvents({
    address: credits,
    abi: carbonCreditsAbi,
    eventName: "CreditsIssued",
    fromBlock: 0n,
  });
  const first = issued.find((l) => (l.args as { attestationId: Hex }).attestationId === attestationIds[0])!;
  const amount = (first.args as { amount: bigint }).amount;
  assert.ok(amount > 0n);
  const fossil = headers[0]!.fossilCo2eGrams;
  // _baselines[1][0] = {effectiveFrom: 1763800000, gramsPerDay: 240000}, packed in one slot
  const segment = await slotHolding((base) => entrySlot(0n, entrySlot(1n, base)), (240_000n << 64n) | 1763800000n);
  // over the one-hour period the baseline is gramsPerDay / 24 g
  const withBaselineGrams = (grams: bigint) =>
    withTamperedCredits(
      () => rpc("hardhat_setStorageAt", [credits, segment, word(((grams * 24n) << 64n) | 1763800000n)]).then(() => {}),
      () =>
        verifyLineage({
          client: chain.client,
          registry: chain.registry,
          deviceRegistry: chain.deviceRegistry,
          credits,
          source: mapSource(pinned),
          target: { tokenId },
        }),
    );
  const link = `credit ${tokenId} issued from attestation ${attestationIds[0]}`;
  const check = (r: LineageReport) => r.sections.find((s) => s.key === "credit")!.checks.find((c) => c.link === link)!;
  // one gram short of the issued kilograms: floor((1000 × amount − 1) / 1000) = amount − 1
  const short = await withBaselineGrams(fossil + 1000n * amount - 1n);
  assert.equal(short.ok, false);
  assert.equal(check(short).ok, false, check(short).detail);
  assert.match(
    check(short).detail,
    new RegExp(
      `^${amount} kg issued, more than the ${amount - 1n} kg = floor\\(\\(baseline ${fossil + 1000n * amount - 1n} g − attested ${fossil} g\\) / 1000\\)`,
    ),
  );
  const exact = await withBaselineGrams(fossil + 1000n * amount);
  assert.equal(check(exact).ok, true, check(exact).detail);
  assert.match(check(exact).detail, new RegExp(`^${amount} kg ≤ ${amount} kg = floor`));
});

test("verifyLineage: a credit whose project is of another facility than its attestation FAILs", async () => {
  // _meta[1].facilityId: the first word of project 1's descriptive data
  const facility = await slotHolding((base) => entrySlot(1n, base), BigInt(idToBytes32(FACILITY)));
  const report = await withTamperedCredits(
    () => rpc("hardhat_setStorageAt", [credits, facility, idToBytes32("ktda-other")]).then(() => {}),
    () =>
      verifyLineage({
        client: chain.client,
        registry: chain.registry,
        deviceRegistry: chain.deviceRegistry,
        credits,
        source: mapSource(pinned),
        target: { tokenId },
      }),
  );
  assert.equal(report.ok, false);
  const scope = report.sections
    .find((s) => s.key === "credit")!
    .checks.find((c) => c.link === `project 1 and vintage of credit ${tokenId} = attestation ${attestationIds[0]}`);
  assert.ok(scope, lines(report).join("\n"));
  assert.equal(scope.ok, false);
  assert.equal(scope.detail, `project facility ktda-other, attestation ${FACILITY}`);
  // untampered, the same link PASSes
  const honest = await verifyLineage({
    client: chain.client,
    registry: chain.registry,
    deviceRegistry: chain.deviceRegistry,
    credits,
    source: mapSource(pinned),
    target: { tokenId },
  });
  assert.ok(
    lines(honest).includes(`credit PASS project 1 and vintage of credit ${tokenId} = attestation ${attestationIds[0]}`),
    lines(honest).join("\n"),
  );
  assert.ok(lines(honest).includes("credit PASS CarbonCredits issues against this AttestationRegistry"));
});
