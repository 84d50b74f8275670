import { test } from "node:test";
import assert from "node:assert/strict";
import type { Hex, ReadingSummary } from "@carbonproof/subgraph/client";
import { buildReport, readingsPlan, REPORT_SCHEMA, reportJson, type ReportInput } from "./report.ts";
import { attestation, DEVICES, FACILITY, NOV1, NOV1_DAY, reading } from "./fixtures.test-data.ts";

const FACTOR_SET = `0x${(9).toString(16).padStart(64, "0")}`;

function input(over: Partial<ReportInput> = {}): ReportInput {
  const a0 = attestation(0, {
    readingCount: 2n,
    fossilCo2eGrams: 25n,
    biogenicCo2Grams: 400n,
    issuance: { creditId: 7n, amountKg: 120n, boundKg: 130n, transactionHash: `0x${"33".repeat(32)}` },
  });
  const a1 = attestation(1, { readingCount: 1n, fossilCo2eGrams: 0n, biogenicCo2Grams: 100n });
  const revoked = attestation(2, {
    revoked: true,
    revocation: { verifier: `0x${"44".repeat(20)}`, reason: "sensor drift", timestamp: NOV1, byChallenge: true },
  });
  const outside = attestation(200); // starts 2026-12-11, after the period
  const readings = new Map<Hex, ReadingSummary[]>([
    [
      a0.id,
      [
        reading(a0, { source: "flue-gas", biogenicCo2Mg: 400_300n }),
        reading(a0, {
          source: "electricity-grid",
          kind: "electricity",
          deviceId: "kangaita-meter-1",
          fossilCo2eMg: 25_900n,
        }),
      ],
    ],
    [a1.id, [reading(a1, { source: "flue-gas", biogenicCo2Mg: 100_000n })]],
  ]);
  return {
    facility: {
      id: FACILITY,
      code: "ktda-kangaita",
      name: "KTDA Kangaita",
      country: "KEN",
      devices: DEVICES,
      projects: [],
    },
    range: { fromDay: NOV1_DAY, toDay: NOV1_DAY + 29 },
    generatedAtS: Number(NOV1) + 40 * 86_400,
    chain: { chainId: 31337, chainName: "Local Hardhat", attestationRegistry: null },
    attestations: [outside, revoked, a1, a0],
    readingsOf: (id) => readings.get(id) ?? [],
    knownFactorSets: {
      [FACTOR_SET]: {
        label: "default",
        source: "IPCC 2006; Ember",
        gridCitation: "Ember via @tgwf/co2",
        gridMgCo2ePerKwh: { KEN: 88_000 },
      },
    },
    ...over,
  };
}

test("report totals are the sum of the on-chain totals of the period's attestations, revoked ones apart", () => {
  const r = buildReport(input());
  assert.equal(r.schema, REPORT_SCHEMA);
  assert.equal(r.reportingPeriod.from, "2026-11-01");
  assert.equal(r.reportingPeriod.to, "2026-11-30");
  assert.equal(r.emissions.attested.fossilCo2eGrams, 25n);
  assert.equal(r.emissions.attested.biogenicCo2Grams, 500n);
  assert.equal(r.emissions.biogenicCo2Grams, 500n);
  assert.equal(r.emissions.attested.attestationCount, 2);
  assert.equal(r.evidence.length, 2);
  assert.equal(r.revoked.length, 1);
  assert.equal(r.revoked[0]!.revocationReason, "sensor drift");
  assert.equal(r.credits.issuedKg, 120n);
  assert.equal(r.evidence[0]!.auditPath, `/audit/attestation/${r.evidence[0]!.attestationId}`);
  assert.equal(r.evidence[0]!.readingsReconciled, true);
});

test("direct and indirect emissions come from the bundle readings, with the grid factor and its source", () => {
  const r = buildReport(input());
  assert.equal(r.emissions.directFossilCo2eMg, 0n);
  assert.equal(r.emissions.indirectFossilCo2eMg, 25_900n);
  assert.deepEqual(r.emissions.electricityEmissionFactors, [
    {
      factorSetId: FACTOR_SET,
      country: "KEN",
      mgCo2ePerKwh: 88_000,
      method: "location-based",
      source: "Ember via @tgwf/co2",
    },
  ]);
  assert.equal(r.dataQuality.attestationsReconciled, 2);
  assert.deepEqual(
    r.processes.map((p) => p.monitoringApproach.split(":")[0]),
    ["Measurement-based", "Calculation-based"],
  );
  assert.equal(r.production.outputQuantity, null);
  assert.match(r.production.reason, /no production output/);
});

test("a reading missing from an indexed bundle shows as a data-quality problem, not as a changed total", () => {
  const base = input();
  const r = buildReport({ ...base, readingsOf: (id) => base.readingsOf!(id).slice(0, 1) });
  assert.equal(r.emissions.attested.fossilCo2eGrams, 25n);
  assert.equal(r.dataQuality.attestationsReconciled, 1);
  assert.equal(r.dataQuality.attestationsNotReconciled.length, 1);
  assert.match(r.dataQuality.attestationsNotReconciled[0]!.problems.join(" "), /header says 2/);
});

test("an attestation whose bundle is not indexed yet is named, not reported as a mismatch", () => {
  const base = input();
  const first = base.attestations.find((a) => a.fossilCo2eGrams === 25n)!;
  const r = buildReport({ ...base, readingsOf: (id) => (id === first.id ? [] : base.readingsOf!(id)) });
  assert.deepEqual(r.dataQuality.bundlesNotIndexed, [first.id]);
  assert.equal(r.dataQuality.attestationsNotReconciled.length, 0);
  assert.equal(r.evidence.find((e) => e.attestationId === first.id)!.readingsReconciled, null);
  assert.equal(r.emissions.attested.fossilCo2eGrams, 25n, "the chain's totals do not depend on the bundles");
});

test("without indexed readings (subgraph backend) the split is absent and says why", () => {
  const r = buildReport(input({ readingsOf: null }));
  assert.equal(r.emissions.bySource, null);
  assert.equal(r.emissions.directFossilCo2eMg, null);
  assert.equal(r.emissions.attested.fossilCo2eGrams, 25n);
  assert.equal(r.evidence[0]!.readingsReconciled, null);
  assert.match(r.dataQuality.statements.join(" "), /need the embedded indexer/);
});

test("past the readings a report reads, none is read and the report says why, with the chain's totals", () => {
  const base = input();
  const within = readingsPlan(base.attestations, 1_000);
  assert.deepEqual(
    within.read.map((a) => a.id),
    base.attestations.filter((a) => !a.revoked).map((a) => a.id),
  );
  assert.equal(within.omitted, undefined);
  const total = base.attestations.filter((a) => !a.revoked).reduce((n, a) => n + Number(a.readingCount), 0);
  const over = readingsPlan(base.attestations, total - 1);
  assert.deepEqual(over.read, []);
  assert.match(over.omitted!, new RegExp(`hold ${total} readings, more than the ${total - 1} a report reads`));
  const r = buildReport({ ...base, readingsOf: null, readingsOmitted: over.omitted });
  assert.equal(r.emissions.bySource, null);
  assert.equal(r.emissions.attested.fossilCo2eGrams, 25n, "the chain's totals need no reading");
  assert.ok(r.dataQuality.statements.includes(over.omitted!));
  assert.doesNotMatch(r.dataQuality.statements.join(" "), /need the embedded indexer/);
  assert.equal(readingsPlan(base.attestations).omitted, undefined, "the default cap is 500,000");
});

test("the JSON has bigint as decimal strings and parses back to the same totals", () => {
  const json = JSON.parse(reportJson(buildReport(input()))) as {
    schema: string;
    emissions: { attested: { fossilCo2eGrams: string; readingCount: string } };
    evidence: { fossilCo2eGrams: string; merkleRoot: string; bundleCid: string; transactionHash: string }[];
  };
  assert.equal(json.schema, "carbonproof.cbam-report/1");
  assert.equal(json.emissions.attested.fossilCo2eGrams, "25");
  assert.equal(json.emissions.attested.readingCount, "3");
  const sum = json.evidence.reduce((s, e) => s + BigInt(e.fossilCo2eGrams), 0n);
  assert.equal(sum.toString(), json.emissions.attested.fossilCo2eGrams);
  assert.ok(json.evidence.every((e) => e.merkleRoot && e.bundleCid && e.transactionHash));
});
