import { test } from "node:test";
import assert from "node:assert/strict";
import type { Hex } from "viem";
import {
  allPass,
  attestedReadings,
  certificateChecks,
  challengeSummary,
  creditChecks,
  decodeDataJson,
  type CertificateFacts,
  type CreditFacts,
  type IssuanceFacts,
} from "./verification.ts";

const FACILITY = "0x6b7464612d6b616e676169746100000000000000000000000000000000000000" as Hex;
const METHOD = `0x${"11".repeat(32)}` as Hex;
const A1 = `0x${"a1".repeat(32)}` as Hex;
const A2 = `0x${"a2".repeat(32)}` as Hex;
const ALICE = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8" as const;
const BOB = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC" as const;

function issuance(id: Hex, over: Partial<IssuanceFacts> = {}): IssuanceFacts {
  return {
    attestationId: id,
    amountKg: 500n,
    boundKg: 600n,
    issuedAt: 10_000n,
    txHash: `0x${"00".repeat(32)}`,
    attestation: {
      id,
      header: {
        facilityId: FACILITY,
        periodStart: 0n,
        periodEnd: 3600n,
        merkleRoot: `0x${"00".repeat(32)}`,
        readingCount: 720,
        fossilCo2eGrams: 1n,
        biogenicCo2Grams: 0n,
        methodologyId: METHOD,
        factorSetId: `0x${"00".repeat(32)}`,
        bundleCid: "bafy",
        correctionOf: `0x${"00".repeat(32)}`,
      },
      recomputedId: id,
      exists: true,
      revoked: false,
      submittedAt: 1_000n,
      signers: [ALICE, BOB],
      useState: 4,
      everChallenged: false,
    },
    ...over,
  };
}

function credit(over: Partial<CreditFacts> = {}): CreditFacts {
  return {
    tokenId: (1n << 16n) | 2026n,
    projectId: 1,
    vintage: 2026,
    facilityId: FACILITY,
    methodologyId: METHOD,
    projectName: "Kangaita",
    issuedKg: 1000n,
    retiredKg: 100n,
    retirements: 1n,
    totalSupplyKg: 900n,
    issuances: [issuance(A1), issuance(A2)],
    challengeWindowS: 3600n,
    quorumThreshold: 2,
    ...over,
  };
}

test("a credit whose every link holds passes every check", () => {
  const checks = creditChecks(credit());
  assert.ok(allPass(checks), JSON.stringify(checks.filter((c) => !c.ok)));
  assert.equal(attestedReadings(credit()), 1440);
  assert.equal(challengeSummary(credit()), "cleared");
});

test("a revoked attestation, a header that does not hash to its id and a missed quorum each fail their own check", () => {
  const bad = issuance(A2);
  bad.attestation = { ...bad.attestation, revoked: true, recomputedId: A1, signers: [ALICE] };
  const checks = creditChecks(credit({ issuances: [issuance(A1), bad] }));
  const failed = checks.filter((c) => !c.ok).map((c) => c.id);
  assert.deepEqual(failed.sort(), ["header", "not-revoked", "quorum"]);
  assert.equal(challengeSummary(credit({ issuances: [bad] })), "revoked");
});

test("reusing an attestation, exceeding the bound and issuing inside the window are caught", () => {
  const checks = creditChecks(
    credit({
      issuances: [issuance(A1), issuance(A1, { amountKg: 700n, boundKg: 600n, issuedAt: 1_500n })],
      issuedKg: 1200n,
      totalSupplyKg: 1100n,
    }),
  );
  const failed = checks.filter((c) => !c.ok).map((c) => c.id);
  assert.deepEqual(failed.sort(), ["bound", "challenge-window", "once"]);
});

test("supply that does not add up fails, and a credit with no issuance is not verified", () => {
  assert.equal(creditChecks(credit({ issuedKg: 999n })).find((c) => c.id === "supply")?.ok, false);
  assert.equal(allPass(creditChecks(credit({ issuances: [], issuedKg: 0n, retiredKg: 0n, totalSupplyKg: 0n }))), false);
});

function certificate(over: Partial<CertificateFacts> = {}): CertificateFacts {
  const creditId = (1n << 16n) | 2026n;
  const certificateId = (creditId << 64n) | 0n;
  return {
    record: {
      certificateId,
      creditId,
      beneficiary: ALICE,
      retiree: BOB,
      amountKg: 100n,
      retiredAt: 20_000n,
      beneficiaryName: "Acme Tea Ltd",
      reason: "FY2026 scope 1",
      consumptionCountry: undefined,
      consumptionStart: 0n,
      consumptionEnd: 0n,
    },
    owner: ALICE,
    locked: true,
    metadata: {
      name: "x",
      image: "data:image/svg+xml;base64,",
      certificate: {
        id: certificateId.toString(),
        creditId: creditId.toString(),
        amountKg: 100,
        beneficiary: ALICE,
        beneficiaryName: "Acme Tea Ltd",
        retiree: BOB,
        reason: "FY2026 scope 1",
        retiredAt: 20_000,
      },
    },
    metadataError: undefined,
    retirement: {
      certificateId,
      tokenId: creditId,
      amountKg: 100n,
      beneficiary: ALICE,
      retiree: BOB,
      txHash: "0x",
      burn: { tokenId: creditId, amountKg: 100n },
    },
    credit: credit(),
    ...over,
  };
}

test("a genuine certificate verifies", () => {
  const checks = certificateChecks(certificate());
  assert.ok(allPass(checks), JSON.stringify(checks.filter((c) => !c.ok)));
});

test("a certificate whose burn differs, or whose rendering lies, fails with the reason", () => {
  const c = certificate();
  const forged = certificateChecks({
    ...c,
    retirement: { ...c.retirement!, burn: { tokenId: c.record.creditId, amountKg: 1n } },
    metadata: { ...c.metadata!, certificate: { ...c.metadata!.certificate, beneficiaryName: "Someone else" } },
  });
  const failed = forged.filter((x) => !x.ok);
  assert.deepEqual(failed.map((x) => x.id).sort(), ["burn", "metadata"]);
  assert.match(failed.find((x) => x.id === "burn")!.detail, /burned 1 kg/);
  assert.equal(certificateChecks({ ...c, retirement: undefined }).find((x) => x.id === "burn")?.ok, false);
  const unburned = certificateChecks({ ...c, retirement: { ...c.retirement!, burn: undefined } });
  assert.match(unburned.find((x) => x.id === "burn")!.detail, /no credits were burned/);
});

test("decodes the on-chain data URI and refuses anything else", () => {
  const uri = `data:application/json;base64,${btoa(JSON.stringify({ a: "é" === "é" ? 1 : 0 }))}`;
  assert.deepEqual(decodeDataJson(uri), { ok: true, value: { a: 1 } });
  assert.equal(decodeDataJson("https://example.com/x.json").ok, false);
  assert.equal(decodeDataJson("data:application/json;base64,!!!").ok, false);
});
