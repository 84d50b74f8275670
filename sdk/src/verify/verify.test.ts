import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { keccak256, toHex, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { buildBundle, bundleCid, bundleHeader, encodeBundle } from "../bundle/bundle.ts";
import type { Bundle } from "../bundle/schema.ts";
import { hashBatchHeader, packQuorumSignatures, signBatchHeader, type BatchHeader } from "../eip712/batchHeader.ts";
import { defaultFactorSet, factorSetId } from "../factors/factorSet.ts";
import { idToBytes32 } from "../ids.ts";
import { METHODOLOGY_ID } from "../methodology/methodologyId.ts";
import { generateDeviceKey, signReading } from "../reading/sign.ts";
import {
  attestBundle,
  flueGasEnvelopes,
  issueAtBound,
  registerTestDevice,
  registerTestProject,
  startTestGateway,
} from "../test/attest.ts";
import { verifyCommand } from "../cli/commands/verify.ts";
import type { Io } from "../cli/io.ts";
import { cliAsync } from "../test/cli.ts";
import { TEST_ONLY_HARDHAT_KEYS, startTestChain, type TestChain } from "../test/hardhatNode.ts";
import { attestationRegistryAbi, carbonCreditsAbi, deviceRegistryAbi, retirementCertificatesAbi } from "./abi.ts";
import { bytesSource } from "./sources.ts";
import { verifyAttestation } from "./verifyAttestation.ts";

const FACILITY = "ktda-kangaita";
const DEVICE = "kangaita-chimney-1";
const deviceKey = generateDeviceKey();
const rogueKey = generateDeviceKey();
const set = defaultFactorSet();
const dir = mkdtempSync(join(tmpdir(), "carbonproof-verify-"));
let chain: TestChain;
let gateway: { url: string; close(): void } | undefined;
let gatewayUrl = "";
const pinned = new Map<string, Uint8Array>();

let periodCursor = 1763900000;
function readings(
  count: number,
  key: Uint8Array,
): { envelopes: ReturnType<typeof signReading>[]; start: number; end: number } {
  const start = periodCursor;
  const end = start + 3600;
  periodCursor = end;
  const envelopes = flueGasEnvelopes({
    deviceId: DEVICE,
    facilityId: FACILITY,
    secretKey: key,
    start,
    count,
    seq0: (start - 1763900000) / 5,
    stepS: 5,
  });
  return { envelopes, start, end };
}

/** Pins (file + stand-in gateway), signs by two oracle nodes, submits from one; returns the id and file. */
async function attest(bundle: Bundle): Promise<{ id: Hex; file: string; cid: string; header: BatchHeader }> {
  const { id, cid, bytes, header } = await attestBundle(chain, bundle, pinned);
  const file = join(dir, `${cid}.json`);
  writeFileSync(file, bytes);
  return { id, file, cid, header };
}

function honestBundle(count = 6, key = deviceKey.secretKey): Bundle {
  const { envelopes, start, end } = readings(count, key);
  return buildBundle({
    facilityId: FACILITY,
    periodStart: start,
    periodEnd: end,
    envelopes,
    factorSet: set,
    methodologyId: METHODOLOGY_ID,
  });
}

before(async () => {
  chain = await startTestChain();
  await registerTestDevice(chain, DEVICE, FACILITY, deviceKey.publicKey);
  gateway = await startTestGateway(pinned);
  gatewayUrl = gateway!.url;
});

after(async () => {
  await chain?.stop();
  gateway?.close();
});

const base = () => [
  "verify",
  "--rpc",
  chain.rpcUrl,
  "--registry",
  chain.registry,
  "--device-registry",
  chain.deviceRegistry,
];

test("verify (real binary): an honest attestation passes every link, from a file and from a gateway", async (t) => {
  const { id, file } = await attest(honestBundle());
  const r = await cliAsync([...base(), "--attestation", id, "--bundle", file]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  t.diagnostic(r.stdout);
  const lines = r.stdout.trim().split("\n");
  assert.ok(
    lines.every((l) => /^(PASS|NOTE|VERIFIED|SKIP no reading attested twice)/.test(l)),
    r.stdout,
  );
  for (const link of [
    "bundle CID = on-chain CID",
    "device signatures",
    "readings included",
    "per-reading emissions recomputed",
    "quorum signatures",
    "device status",
  ]) {
    assert.ok(
      lines.some((l) => l.startsWith(`PASS ${link}`)),
      `${link} missing:\n${r.stdout}`,
    );
  }
  const viaGateway = await cliAsync([...base(), "--attestation", id, "--bundle", gatewayUrl, "--json"]);
  assert.equal(viaGateway.code, 0, viaGateway.stdout);
  const report = JSON.parse(viaGateway.stdout);
  assert.equal(report.ok, true);
  assert.ok(
    report.checks.every((c: { ok: boolean; skipped?: boolean }) => c.ok && !c.skipped),
    viaGateway.stdout,
  );
});

test("verify prints the facility context and whether the factor set is the sdk's built-in one (NOTE lines, --json)", async () => {
  const builtIn = await attest(honestBundle(2));
  const r = await cliAsync([...base(), "--attestation", builtIn.id, "--bundle", builtIn.file]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(
    r.stdout,
    /^NOTE facility context \(compare with the facility's registration\): none \(no grid country, contractual factor or biogenic share given\)$/m,
  );
  assert.match(r.stdout, new RegExp(`^NOTE factor set: ${set.id} is the sdk's built-in "${set.content.name}"$`, "m"));
  // a set of the oracle's own and a facility context: both shown, the set's differing entries named
  const grid = { ...set.content.grid!, mgCo2ePerKwh: { ...set.content.grid!.mgCo2ePerKwh, KEN: 1 } };
  const content = { ...set.content, name: "kangaita-site", grid };
  const custom = { id: factorSetId(content), content };
  const { envelopes, start, end } = readings(2, deviceKey.secretKey);
  const bundle = buildBundle({
    facilityId: FACILITY,
    periodStart: start,
    periodEnd: end,
    envelopes,
    factorSet: custom,
    facilityContext: { country: "KEN", flueGasBiogenicShareBp: 2500 },
    methodologyId: METHODOLOGY_ID,
  });
  const { id, file } = await attest(bundle);
  const c = await cliAsync([...base(), "--attestation", id, "--bundle", file]);
  assert.equal(c.code, 0, c.stdout + c.stderr);
  assert.match(
    c.stdout,
    /^NOTE facility context \(compare with the facility's registration\): country "KEN", flueGasBiogenicShareBp 2500$/m,
  );
  assert.match(
    c.stdout,
    new RegExp(
      `^NOTE factor set: ${custom.id} "kangaita-site" is not the sdk's built-in: 2 entries differ from "${set.content.name}": grid\\.mgCo2ePerKwh\\.KEN 1 \\(built-in \\d+\\); name "kangaita-site"`,
      "m",
    ),
  );
  const json = await cliAsync([...base(), "--attestation", id, "--bundle", file, "--json"]);
  const report = JSON.parse(json.stdout) as {
    facilityContext: unknown;
    factorSet: { id: string; builtIn: boolean; builtInName: string; differences: { path: string }[] };
    evidence: Record<string, unknown>;
  };
  assert.deepEqual(report.facilityContext, { country: "KEN", flueGasBiogenicShareBp: 2500 });
  assert.deepEqual(
    [report.factorSet.id, report.factorSet.builtIn, report.factorSet.builtInName],
    [custom.id, false, set.content.name],
  );
  assert.deepEqual(
    report.factorSet.differences.map((d) => d.path),
    ["grid.mgCo2ePerKwh.KEN", "name"],
  );
  assert.equal("factorSet" in report.evidence, false, "the whole factor set is not printed");
});

test("verify --envelope finds the attestation holding the reading", async () => {
  const bundle = honestBundle(4);
  await attest(bundle);
  const envFile = join(dir, "envelope.json");
  writeFileSync(envFile, JSON.stringify(bundle.readings[2]!.envelope));
  const r = await cliAsync([...base(), "--envelope", envFile, "--bundle", gatewayUrl]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /PASS envelope = bundle entry/);
  assert.match(r.stdout, /PASS envelope signature/);
});

test("verify --addresses reads an Ignition deployed_addresses.json", async () => {
  const { id, file } = await attest(honestBundle(2));
  const addresses = join(dir, "deployed_addresses.json");
  writeFileSync(
    addresses,
    JSON.stringify({
      "CarbonProof#AttestationRegistry": chain.registry,
      "CarbonProof#DeviceRegistry": chain.deviceRegistry,
      "CarbonProof#OracleSet": chain.oracleSet,
    }),
  );
  const r = await cliAsync([
    "verify",
    "--rpc",
    chain.rpcUrl,
    "--addresses",
    addresses,
    "--attestation",
    id,
    "--bundle",
    file,
  ]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /^PASS device signatures/m);
});

test("verify --envelope: a reading in no attested bundle FAILs, naming unreachable bundles", async () => {
  const bundle = honestBundle(3);
  const { cid } = await attest(bundle);
  pinned.delete(cid); // the gateway no longer has it
  const stray = signReading({ ...bundle.readings[0]!.envelope.reading, seq: 999_999 }, deviceKey.secretKey);
  const envFile = join(dir, "stray.json");
  writeFileSync(envFile, JSON.stringify(stray));
  const r = await cliAsync([...base(), "--envelope", envFile, "--bundle", gatewayUrl]);
  assert.equal(r.code, 1, r.stdout + r.stderr);
  pinned.set(cid, encodeBundle(bundle)); // later tests fetch the facility's whole history
  assert.match(
    r.stdout,
    /^FAIL reading attested: no attestation of ktda-kangaita covering ts \d+ .*unreadable: 0x[0-9a-f]{64}: Gateway answered 404/m,
  );
});

test("verify: a gateway that answers 503, or is not there, makes the run incomplete (exit 3), not a FAIL of the evidence", async () => {
  const { id } = await attest(honestBundle(2));
  const busy = createServer((_req, res) => res.writeHead(503, "Service Unavailable").end());
  busy.listen(0, "127.0.0.1");
  await once(busy, "listening");
  const port = (busy.address() as AddressInfo).port;
  try {
    const r = await cliAsync([...base(), "--attestation", id, "--bundle", `http://127.0.0.1:${port}`]);
    assert.equal(r.code, 3, r.stdout + r.stderr);
    const message = `the gateway at http://127.0.0.1:${port} did not answer for every bundle (HTTP 503 Service Unavailable): nothing was decided; run it again, or give another --bundle`;
    assert.match(r.stdout, /^FAIL bundle CID = on-chain CID: cannot get the bundle from gateway .*503/m);
    assert.ok(r.stdout.endsWith(`\nINCOMPLETE: ${message}\n`), r.stdout);
    assert.doesNotMatch(r.stdout, /NOT VERIFIED/);
    assert.equal(r.stderr, `carbonproof: ${message}\n`);
    const json = await cliAsync([...base(), "--attestation", id, "--bundle", `http://127.0.0.1:${port}`, "--json"]);
    assert.equal(json.code, 3);
    const report = JSON.parse(json.stdout) as { ok: boolean; error: { code: string; message: string } };
    assert.deepEqual([report.ok, report.error], [false, { code: "GATEWAY_UNAVAILABLE", message }]);
  } finally {
    busy.close();
    await once(busy, "close");
  }
  // nothing listening there any more
  const gone = await cliAsync([...base(), "--attestation", id, "--bundle", `http://127.0.0.1:${port}`]);
  assert.equal(gone.code, 3, gone.stdout + gone.stderr);
  assert.match(
    gone.stderr,
    new RegExp(`the gateway at http://127\\.0\\.0\\.1:${port} did not answer for every bundle \\(fetch failed\\)`),
  );
});

test("verify --envelope: a gateway serving other bytes under the bundle's CID is named in the FAIL", async () => {
  const bundle = honestBundle(3);
  const { id, cid } = await attest(bundle);
  const honest = pinned.get(cid)!;
  // the reading's own bundle, one reading changed: the gateway answers, but not with the pinned bytes
  const text = new TextDecoder().decode(honest).replace('"co2Ppm":41001', '"co2Ppm":41002');
  assert.notEqual(text, new TextDecoder().decode(honest));
  pinned.set(cid, new TextEncoder().encode(text));
  const envFile = join(dir, "served-wrong.json");
  writeFileSync(envFile, JSON.stringify(bundle.readings[0]!.envelope));
  const r = await cliAsync([...base(), "--envelope", envFile, "--bundle", gatewayUrl]);
  pinned.set(cid, honest); // later tests fetch the facility's whole history
  assert.equal(r.code, 1, r.stdout + r.stderr);
  assert.match(
    r.stdout,
    new RegExp(
      `^FAIL reading attested: .*unreadable: ${id}: bytes from gateway ${gatewayUrl} hash to bafkrei[a-z2-7]+, not ${cid}`,
      "m",
    ),
  );
});

test("verify fails the CID link when the bundle file is not the pinned one", async () => {
  const { id } = await attest(honestBundle());
  const other = join(dir, "other.json");
  writeFileSync(other, encodeBundle(honestBundle(2)));
  const r = await cliAsync([...base(), "--attestation", id, "--bundle", other]);
  assert.equal(r.code, 1);
  assert.match(r.stdout, /^FAIL bundle CID = on-chain CID/m);
});

test("verify catches a quorum that attested inflated totals (recomputation fails)", async () => {
  const bundle = honestBundle();
  const inflated = structuredClone(bundle);
  inflated.totals.fossilCo2eMg = (BigInt(bundle.totals.fossilCo2eMg) + 5_000_000n).toString();
  inflated.totals.fossilCo2eGrams = (BigInt(inflated.totals.fossilCo2eMg) / 1000n).toString();
  const { id, file } = await attest(inflated);
  const r = await cliAsync([...base(), "--attestation", id, "--bundle", file]);
  assert.equal(r.code, 1);
  assert.match(r.stdout, /^FAIL bundle totals recomputed/m);
  assert.match(r.stdout, /^PASS bundle CID = on-chain CID/m);
  assert.match(r.stdout, /^PASS quorum signatures/m);
});

test("verify catches readings signed by a key the DeviceRegistry does not hold", async () => {
  const { id, file } = await attest(honestBundle(3, rogueKey.secretKey));
  const r = await cliAsync([...base(), "--attestation", id, "--bundle", file]);
  assert.equal(r.code, 1);
  assert.match(r.stdout, /^FAIL device signatures: 3 invalid/m);
});

test("cross-check on-chain: attestationIdOf = hashBatchHeader, DeviceRegistry verifies sdk P-256 signatures (low-s only)", async () => {
  const bundle = honestBundle(2);
  const { id, header } = await attest(bundle);
  const onchainId = await chain.client.readContract({
    address: chain.registry,
    abi: attestationRegistryAbi,
    functionName: "attestationIdOf",
    args: [header],
  });
  assert.equal(onchainId, id);
  const entry = bundle.readings[0]!;
  const r = entry.envelope.sig.slice(0, 66) as Hex;
  const s = `0x${entry.envelope.sig.slice(66)}` as Hex;
  const call = (digest: Hex, sValue: Hex) =>
    chain.client.readContract({
      address: chain.deviceRegistry,
      abi: deviceRegistryAbi,
      functionName: "verifyDeviceSignature",
      args: [idToBytes32(DEVICE), digest, r, sValue],
    });
  assert.equal(await call(entry.digest as Hex, s), true);
  const n = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
  const highS = `0x${(n - BigInt(s)).toString(16).padStart(64, "0")}` as Hex;
  assert.equal(await call(entry.digest as Hex, highS), false);
  assert.equal(await call(bundle.readings[1]!.digest as Hex, s), false);
});

test("verify catches a correction that re-attests a reading of its original", async () => {
  const original = honestBundle(4);
  const first = await attest(original);
  const again = original.readings[1]!.envelope;
  const correction = buildBundle({
    facilityId: FACILITY,
    periodStart: original.period.start,
    periodEnd: original.period.end,
    envelopes: [again],
    factorSet: set,
    methodologyId: METHODOLOGY_ID,
    correctionOf: first.id,
  });
  const { id } = await attestBundle(chain, correction, pinned, first.header);
  const r = await cliAsync([...base(), "--attestation", id, "--bundle", gatewayUrl]);
  assert.equal(r.code, 1, r.stdout);
  assert.match(r.stdout, /^PASS corrected attestation exists/m);
  assert.match(
    r.stdout,
    new RegExp(
      `^FAIL no reading attested twice for the facility: 1 reading\\(s\\) attested twice; first ${DEVICE}#\\d+ also in ${first.id}`,
      "m",
    ),
  );
  // The original now fails the same link too: the overlap is seen from both sides.
  const o = await cliAsync([...base(), "--attestation", first.id, "--bundle", gatewayUrl]);
  assert.equal(o.code, 1);
  const skipped = await cliAsync([...base(), "--attestation", id, "--bundle", gatewayUrl, "--skip-history"]);
  assert.equal(skipped.code, 0, skipped.stdout);
  // not checked, and said so: the report is not one of a clean attestation
  assert.match(skipped.stdout, /^SKIP no reading attested twice for the facility: not checked: asked not to/m);
});

test("verify: readings of a device the DeviceRegistry does not know fail the device links", async () => {
  const { envelopes, start, end } = readings(2, deviceKey.secretKey);
  const unknown = envelopes.map((e) =>
    signReading({ ...e.reading, deviceId: "kangaita-chimney-9" }, deviceKey.secretKey),
  );
  const bundle = buildBundle({
    facilityId: FACILITY,
    periodStart: start,
    periodEnd: end,
    envelopes: unknown,
    factorSet: set,
    methodologyId: METHODOLOGY_ID,
  });
  const { id, file } = await attest(bundle);
  const r = await cliAsync([...base(), "--attestation", id, "--bundle", file]);
  assert.equal(r.code, 1);
  assert.match(r.stdout, /^FAIL device signatures: 0 invalid, 2 without key/m);
  assert.match(r.stdout, /^FAIL devices registered to the facility: kangaita-chimney-9 not in DeviceRegistry/m);
});

test("verify --credit and --retirement walk a credit back to its attestation", async () => {
  const { credits, certificates } = await chain.deployCredits();
  const admin = privateKeyToAccount(TEST_ONLY_HARDHAT_KEYS[0]!).address;
  const bundle = honestBundle(6);
  const { id, header } = await attest(bundle);
  // Baseline 10 kg/h over the batch's hour; attested ~2.5 kg → bound ≈ 7 kg.
  await registerTestProject(chain, credits, FACILITY);
  const bound = await issueAtBound(chain, credits, 1, header);
  assert.ok(bound > 0n);
  const issued = await chain.client.getContractEvents({
    address: credits,
    abi: carbonCreditsAbi,
    eventName: "CreditsIssued",
    fromBlock: 0n,
  });
  const tokenId = (issued[0]!.args as { tokenId: bigint }).tokenId;
  const shortfalls = (...extra: string[]) =>
    cliAsync(["shortfalls", "--rpc", chain.rpcUrl, "--registry", chain.registry, "--credits", credits, ...extra]);
  // The correction batch of the facility an earlier test attested is not recorded on CarbonCredits:
  // its grams count against nothing, so the credit's walk fails until someone records it.
  const unrecordedCorrection = await cliAsync([
    ...base(),
    "--credits",
    credits,
    "--credit",
    String(tokenId),
    "--bundle",
    gatewayUrl,
  ]);
  assert.equal(unrecordedCorrection.code, 1, unrecordedCorrection.stdout);
  assert.match(
    unrecordedCorrection.stdout,
    /^FAIL corrections recorded \(project 1\): 1 correction batch\(es\) not recorded, \d+ g that count against nothing yet: call recordCorrection\(header\) for 0x[0-9a-f]{64}$/m,
  );
  const listedCorrections = await shortfalls("--project", "1", "--json");
  assert.equal(listedCorrections.code, 1);
  // the registry is CarbonCredits' own: read when left out, the same answer; refused when another
  const creditsOnly = await cliAsync([
    "shortfalls",
    "--rpc",
    chain.rpcUrl,
    "--credits",
    credits,
    "--project",
    "1",
    "--json",
  ]);
  assert.equal(creditsOnly.code, 1, creditsOnly.stderr);
  assert.deepEqual(JSON.parse(creditsOnly.stdout), JSON.parse(listedCorrections.stdout));
  const otherRegistry = await cliAsync([
    "shortfalls",
    "--rpc",
    chain.rpcUrl,
    "--registry",
    credits,
    "--credits",
    credits,
    "--project",
    "1",
  ]);
  assert.equal(otherRegistry.code, 2, otherRegistry.stderr);
  assert.match(
    otherRegistry.stderr,
    /issues against AttestationRegistry 0x[0-9a-fA-F]{40}, not 0x[0-9a-fA-F]{40}: give the registry of the same deployment/,
  );
  const registryOnly = await cliAsync([
    "shortfalls",
    "--rpc",
    chain.rpcUrl,
    "--registry",
    chain.registry,
    "--project",
    "1",
  ]);
  assert.equal(registryOnly.code, 2, registryOnly.stderr);
  assert.match(registryOnly.stderr, /needs --credits ADDR with --registry/);
  const { unrecordedCorrections } = JSON.parse(listedCorrections.stdout) as {
    unrecordedCorrections: { header: Record<string, string | number> }[];
  };
  assert.equal(unrecordedCorrections.length, 1);
  for (const { header: h } of unrecordedCorrections)
    await chain.write(TEST_ONLY_HARDHAT_KEYS[2]!, credits, carbonCreditsAbi, "recordCorrection", [
      {
        ...h,
        periodStart: BigInt(h.periodStart!),
        periodEnd: BigInt(h.periodEnd!),
        fossilCo2eGrams: BigInt(h.fossilCo2eGrams!),
        biogenicCo2Grams: BigInt(h.biogenicCo2Grams!),
      },
    ]);
  const r = await cliAsync([...base(), "--credits", credits, "--credit", String(tokenId), "--bundle", gatewayUrl]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(
    r.stdout,
    new RegExp(
      `^PASS credit ${tokenId} issued from attestation ${id}: ${bound} kg ≤ ${bound} kg = floor\\(\\(baseline \\d+ g − attested \\d+ g\\) / 1000\\)`,
      "m",
    ),
  );
  assert.match(r.stdout, /^PASS issuer did not co-sign the attestation/m);
  assert.match(r.stdout, new RegExp(`^VERIFIED attestation ${id}`, "m"));
  assert.match(r.stdout, new RegExp(`^VERIFIED credit ${tokenId}$`, "m"));

  await chain.write(TEST_ONLY_HARDHAT_KEYS[3]!, certificates, retirementCertificatesAbi, "retire", [
    tokenId,
    1n,
    {
      beneficiary: admin,
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
  const certificateId = (retired[0]!.args as { certificateId: bigint }).certificateId;
  const rr = await cliAsync([
    ...base(),
    "--certificates",
    certificates,
    "--credits",
    credits,
    // no Marketplace in this deployment: any address without Bought events stands for one with no sale
    "--marketplace",
    credits,
    "--retirement",
    String(certificateId),
    "--bundle",
    gatewayUrl,
  ]);
  assert.equal(rr.code, 0, rr.stdout + rr.stderr);
  assert.match(rr.stdout, /^SKIP purchase[^:]*: retired by the issuer's recipient 0x[0-9a-fA-F]{40}: no purchase$/m);
  assert.match(
    rr.stdout,
    /^PASS retirement certificate: \d+: 1 kg of credit \d+ retired for Test Co \(FY2025 scope 1\)/m,
  );
  assert.match(rr.stdout, new RegExp(`^VERIFIED retirement ${certificateId}$`, "m"));
  // given --registry, a missing address is read from the contracts given (RetirementCertificates
  // from CarbonCredits.certificates(), CarbonCredits from RetirementCertificates.credits()),
  // never taken from generated.ts; what cannot be read is asked for by its flag
  const derived = await cliAsync([
    ...base(),
    "--credits",
    credits,
    "--retirement",
    String(certificateId),
    "--bundle",
    gatewayUrl,
  ]);
  assert.equal(derived.code, 0, derived.stdout + derived.stderr);
  assert.match(derived.stdout, new RegExp(`^VERIFIED retirement ${certificateId}$`, "m"));
  const viaCertificates = await cliAsync([
    ...base(),
    "--certificates",
    certificates,
    "--credit",
    String(tokenId),
    "--bundle",
    gatewayUrl,
  ]);
  assert.equal(viaCertificates.code, 0, viaCertificates.stdout + viaCertificates.stderr);
  assert.match(viaCertificates.stdout, new RegExp(`^VERIFIED credit ${tokenId}$`, "m"));
  const noCredits = await cliAsync([...base(), "--credit", String(tokenId), "--bundle", gatewayUrl]);
  assert.equal(noCredits.code, 2, noCredits.stdout + noCredits.stderr);
  assert.match(
    noCredits.stderr,
    /--credit needs --credits ADDR, or --certificates\/--marketplace ADDR of the same deployment .*\(--registry was given, so the addresses of sdk\/src\/contracts\/generated\.ts are not used/,
  );

  const missing = await cliAsync([...base(), "--credits", credits, "--credit", "12345", "--bundle", gatewayUrl]);
  assert.equal(missing.code, 1);
  assert.match(missing.stdout, /^FAIL credit issued: no CreditsIssued for token 12345/m);

  // A later hour of the facility above the project's baseline (40 readings ≈ 17 kg against 10 kg),
  // not recorded: the credit's walk fails until recordShortfall charges its excess to the project.
  const above = await attest(honestBundle(40));
  const before = await cliAsync([...base(), "--credits", credits, "--credit", String(tokenId), "--bundle", gatewayUrl]);
  assert.equal(before.code, 1, before.stdout + before.stderr);
  const unrecorded = new RegExp(
    `^FAIL periods above the baseline recorded \\(project 1\\): 1 period\\(s\\) above the baseline not recorded, (\\d+) g the project does not owe yet: call recordShortfall\\(1, header\\) for ${above.id}$`,
    "m",
  );
  const excess = BigInt(unrecorded.exec(before.stdout)?.[1] ?? "0");
  assert.ok(excess > 0n, before.stdout);
  // `carbonproof shortfalls` lists the same period, with the header recordShortfall takes
  const listed = await shortfalls("--project", "1");
  assert.equal(listed.code, 1, listed.stdout + listed.stderr);
  assert.match(listed.stdout, new RegExp(`^UNRECORDED ${above.id} \\S+ to \\S+: ${excess} g above the baseline`, "m"));
  assert.match(listed.stdout, /^1 period\(s\) above the baseline not recorded/m);
  const listedJson = JSON.parse((await shortfalls("--project", "1", "--json")).stdout) as {
    ok: boolean;
    unrecorded: { attestationId: string; excessGrams: string; header: { merkleRoot: string } }[];
  };
  assert.equal(listedJson.ok, false);
  assert.deepEqual(
    listedJson.unrecorded.map((u) => [u.attestationId, u.excessGrams, u.header.merkleRoot]),
    [[above.id, String(excess), above.header.merkleRoot]],
  );
  // paused, CarbonCredits reverts every call: that is "could not be asked", never "nothing to record"
  await chain.write(TEST_ONLY_HARDHAT_KEYS[0]!, credits, carbonCreditsAbi, "grantRole", [
    keccak256(toHex("PAUSER_ROLE")),
    privateKeyToAccount(TEST_ONLY_HARDHAT_KEYS[0]!).address,
  ]);
  await chain.write(TEST_ONLY_HARDHAT_KEYS[0]!, credits, carbonCreditsAbi, "pause", []);
  const paused = await shortfalls("--project", "1");
  assert.equal(paused.code, 1, paused.stdout + paused.stderr);
  assert.match(paused.stdout, new RegExp(`^UNASKED ${above.id}: EnforcedPause$`, "m"));
  assert.doesNotMatch(paused.stdout, /nothing to record/);
  await chain.write(TEST_ONLY_HARDHAT_KEYS[0]!, credits, carbonCreditsAbi, "unpause", []);
  const usage = await shortfalls("--project", "0");
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /--project must be a project id from 1/);
  const unknown = await shortfalls("--project", "7");
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /project 7 is not registered: CarbonCredits at 0x[0-9a-fA-F]{40} has 1\./);
  await chain.write(TEST_ONLY_HARDHAT_KEYS[2]!, credits, carbonCreditsAbi, "recordShortfall", [1, above.header]);
  const after = await cliAsync([...base(), "--credits", credits, "--credit", String(tokenId), "--bundle", gatewayUrl]);
  assert.equal(after.code, 0, after.stdout + after.stderr);
  // the same walk in process, on a clock 6 s ahead at each look: a progress line on stderr after
  // each decided link (at most one per 5 s), and stdout the report alone, as the binary's
  let clock = 0;
  const out: string[] = [];
  const err: string[] = [];
  const slow: Io = {
    stdout: (t) => void out.push(t),
    stderr: (t) => void err.push(t),
    readStdin: () => "",
    stdinStream: () => (async function* () {})(),
    stderrIsTty: false,
    now: () => (clock += 6_000),
  };
  const args = [...base(), "--credits", credits, "--credit", String(tokenId), "--bundle", gatewayUrl];
  assert.equal(await verifyCommand(slow, args.slice(1)), 0, err.join(""));
  assert.equal(out.join(""), after.stdout, "stdout unchanged");
  const lines = err.join("").split("\n").filter(Boolean);
  assert.ok(lines.length > 2, err.join(""));
  for (const l of lines)
    assert.match(l, /^verify: \d+ of \d+ attestation\(s\) checked so far, \d+ links decided, \d+ s$/);
  assert.match(lines.at(-1)!, /^verify: (\d+) of \1 attestation\(s\) checked so far/, "the last: all checked");
  assert.equal(after.stderr.includes("verify: "), false, "a real walk this short prints none");
  assert.match(
    after.stdout,
    new RegExp(
      `^PASS periods above the baseline recorded \\(project 1\\): none of the \\d+ regular attestations of the facility \\(2 issued or recorded\\) is above its baseline and unrecorded; the project owes ${excess} g$`,
      "m",
    ),
  );
  const none = await shortfalls("--project", "1");
  assert.equal(none.code, 0, none.stdout + none.stderr);
  assert.match(none.stdout, new RegExp(`the project owes ${excess} g$`, "m"));
  assert.match(
    none.stdout,
    /^nothing to record: no period of project 1 is above its baseline and unrecorded, and no correction is unrecorded$/m,
  );
  // A correction of a revoked period re-attests it: listed until recorded, and recording it settles
  // the revoked period (ShortfallRecorded, its excess over the baseline charged; docs/credits.md).
  const revokedBundle = honestBundle(3);
  const revoked = await attest(revokedBundle);
  const admin0 = privateKeyToAccount(TEST_ONLY_HARDHAT_KEYS[0]!).address;
  await chain.write(TEST_ONLY_HARDHAT_KEYS[0]!, chain.registry, attestationRegistryAbi, "grantRole", [
    keccak256(toHex("VERIFIER_ROLE")),
    admin0,
  ]);
  await chain.write(TEST_ONLY_HARDHAT_KEYS[0]!, chain.registry, attestationRegistryAbi, "revoke", [revoked.id, "test"]);
  const ofRevoked = buildBundle({
    facilityId: FACILITY,
    periodStart: revokedBundle.period.start,
    periodEnd: revokedBundle.period.end,
    envelopes: [revokedBundle.readings[0]!.envelope],
    factorSet: set,
    methodologyId: METHODOLOGY_ID,
    correctionOf: revoked.id,
  });
  const ofRevokedHeader = bundleHeader(ofRevoked, bundleCid(encodeBundle(ofRevoked)));
  const registryDomain = { chainId: 31337, verifyingContract: chain.registry };
  const cosigners = TEST_ONLY_HARDHAT_KEYS.slice(1, 3).map((k) => privateKeyToAccount(k));
  await chain.write(TEST_ONLY_HARDHAT_KEYS[1]!, chain.registry, attestationRegistryAbi, "submitCorrection", [
    ofRevokedHeader,
    revoked.header,
    packQuorumSignatures(
      await Promise.all(
        cosigners.map(async (a) => ({
          signer: a.address,
          signature: await signBatchHeader(a, ofRevokedHeader, registryDomain),
        })),
      ),
    ),
  ]);
  // a reading of the revoked period, verified from its envelope: found in the live correction
  // that re-attests it, not in the revoked original (review: the older, revoked one was found
  // first, and an honest reading was NOT VERIFIED)
  pinned.set(bundleCid(encodeBundle(ofRevoked)), encodeBundle(ofRevoked));
  const envelopeFile = join(dir, "re-attested-envelope.json");
  writeFileSync(envelopeFile, JSON.stringify(revokedBundle.readings[0]!.envelope));
  const reAttested = await cliAsync([...base(), "--envelope", envelopeFile, "--bundle", gatewayUrl]);
  assert.equal(reAttested.code, 0, reAttested.stdout + reAttested.stderr);
  assert.match(
    reAttested.stdout,
    new RegExp(`^VERIFIED attestation ${hashBatchHeader(ofRevokedHeader, registryDomain)}$`, "m"),
  );
  const withRevoked = await shortfalls("--project", "1", "--json");
  assert.equal(withRevoked.code, 1, withRevoked.stdout + withRevoked.stderr);
  const listedRevoked = JSON.parse(withRevoked.stdout) as {
    corrections: number;
    unrecordedCorrections: { attestationId: string; header: Record<string, unknown> }[];
  };
  assert.deepEqual(
    [listedRevoked.corrections, listedRevoked.unrecordedCorrections.map((c) => c.header.correctionOf)],
    [2, [revoked.id]],
  );
  await chain.write(TEST_ONLY_HARDHAT_KEYS[2]!, credits, carbonCreditsAbi, "recordCorrection", [ofRevokedHeader]);
  const settledRevoked = await chain.client.getContractEvents({
    address: credits,
    abi: carbonCreditsAbi,
    eventName: "ShortfallRecorded",
    args: { attestationId: revoked.id },
    fromBlock: 0n,
  });
  assert.equal(settledRevoked.length, 1, "recording the correction settled the revoked period");
  const recordedRevoked = await shortfalls("--project", "1", "--json");
  assert.equal(recordedRevoked.code, 0, recordedRevoked.stdout + recordedRevoked.stderr);
  assert.equal(
    (JSON.parse(recordedRevoked.stdout) as { unrecordedCorrections: unknown[] }).unrecordedCorrections.length,
    0,
  );
});

test("library: unknown attestation id is a FAIL, not a crash", async () => {
  const report = await verifyAttestation({
    client: chain.client,
    registry: chain.registry,
    deviceRegistry: chain.deviceRegistry,
    target: { attestationId: `0x${"12".repeat(32)}` },
    source: bytesSource(new Uint8Array()),
  });
  assert.equal(report.ok, false);
  assert.match(report.checks[0]!.detail, /no AttestationSubmitted event/);
});

test("device status: a reading stamped inside a suspension lifted since FAILs naming it; readings made before a suspension pass", async () => {
  // a facility of its own: its periods are now's, after the other tests' (a facility's periods only go forward)
  const facility = "ktda-status";
  const key = generateDeviceKey();
  const paused = "status-chimney-1";
  const later = "status-chimney-2";
  for (const d of [paused, later]) await registerTestDevice(chain, d, facility, key.publicKey);
  const manage = (fn: string, deviceId: string) =>
    chain.write(
      TEST_ONLY_HARDHAT_KEYS[0]!,
      chain.deviceRegistry,
      deviceRegistryAbi,
      fn,
      fn === "reactivateDevice" ? [idToBytes32(deviceId)] : [idToBytes32(deviceId), "test"],
    );
  const latest = async () => Number((await chain.client.getBlock()).timestamp);
  await manage("suspendDevice", paused);
  const from = await latest();
  await manage("reactivateDevice", paused);
  const until = await latest();
  assert.ok(until > from);
  const verify = async (deviceId: string, start: number, periodEnd: number, count: number, stepS: number) => {
    const envelopes = flueGasEnvelopes({
      deviceId,
      facilityId: facility,
      secretKey: key.secretKey,
      start,
      count,
      seq0: 1,
      stepS,
    });
    const bundle = buildBundle({
      facilityId: facility,
      periodStart: start,
      periodEnd,
      envelopes,
      factorSet: set,
      methodologyId: METHODOLOGY_ID,
    });
    const { id, bytes } = await attestBundle(chain, bundle);
    return verifyAttestation({
      client: chain.client,
      registry: chain.registry,
      deviceRegistry: chain.deviceRegistry,
      target: { attestationId: id },
      source: bytesSource(bytes),
      checkHistory: false,
    });
  };
  // the device's buffer flushed after the reactivation, attested bypassing the oracle's refusal:
  // seq 1 made before the suspension, seq 2 at its first second
  const during = await verify(paused, from - 5, until, 2, 5);
  assert.deepEqual(
    during.checks.filter((c) => !c.ok),
    [
      {
        link: "device status",
        ok: false,
        detail: `${paused}#2 stamped ${from} while its device was suspended from ${from} until ${until} (DeviceRegistry ${chain.deviceRegistry})`,
      },
    ],
  );
  // readings made before the device was suspended (and then retired) stay valid
  await manage("suspendDevice", later);
  const suspendedAt = await latest();
  await manage("retireDevice", later);
  const after = await verify(later, until, suspendedAt, 2, suspendedAt - until - 1);
  assert.equal(after.ok, true, JSON.stringify(after.checks.filter((c) => !c.ok)));
  assert.match(
    after.checks.find((c) => c.link === "device status")!.detail,
    /^1 device\(s\) checked against DeviceRegistry 0x[0-9a-fA-F]{40}: no reading stamped while its device was suspended or retired \(1 of them/,
  );
});
