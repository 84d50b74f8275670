import { test } from "node:test";
import assert from "node:assert/strict";
import {
  attestationsInRange,
  dailyBySource,
  dailyEmissions,
  deviceActivity,
  reconcileAttestation,
  scopeTotals,
  sourceBreakdown,
  sumAttestations,
} from "./aggregate.ts";
import { attestation, DEVICES, NOV1, NOV1_DAY, reading } from "./fixtures.test-data.ts";

const nov = { fromDay: NOV1_DAY, toDay: NOV1_DAY + 29 };

test("counts attestations whose period starts in the range; revoked ones apart", () => {
  const before = attestation(-1); // starts 2026-10-31 12:00
  const a = attestation(0);
  const b = attestation(1, { revoked: true });
  const c = attestation(2, { isCorrection: true, fossilCo2eGrams: 7n });
  const { counted, revoked } = attestationsInRange([c, b, a, before], nov);
  assert.deepEqual(
    counted.map((x) => x.id),
    [a.id, c.id],
  );
  assert.deepEqual(
    revoked.map((x) => x.id),
    [b.id],
  );
  const t = sumAttestations(counted);
  assert.equal(t.fossilCo2eGrams, 1_007n);
  assert.equal(t.biogenicCo2Grams, 10_000n);
  assert.equal(t.readingCount, 4n);
  assert.equal(t.correctionCount, 1);
});

test("daily emissions have one point per day, fossil and biogenic apart", () => {
  const points = dailyEmissions([attestation(0), attestation(1), attestation(2)], nov);
  assert.equal(points.length, 30);
  assert.equal(points[0]!.date, "2026-11-01");
  assert.equal(points[0]!.fossilCo2eGrams, 2_000n);
  assert.equal(points[0]!.biogenicCo2Grams, 10_000n);
  assert.equal(points[1]!.attestationCount, 1);
  assert.equal(points[2]!.fossilCo2eGrams, 0n);
});

test("sources are grouped by scope: direct before indirect, on-site renewable apart", () => {
  const rows = sourceBreakdown([
    { source: "electricity-grid", readingCount: 2, fossilCo2eMg: 30n, biogenicCo2Mg: 0n },
    { source: "flue-gas", readingCount: 3, fossilCo2eMg: 0n, biogenicCo2Mg: 900n },
    { source: "electricity-onsite-renewable", readingCount: 1, fossilCo2eMg: 0n, biogenicCo2Mg: 0n },
    { source: "electricity-grid", readingCount: 1, fossilCo2eMg: 12n, biogenicCo2Mg: 0n },
    { source: "fuel", readingCount: 1, fossilCo2eMg: 100n, biogenicCo2Mg: 5n },
  ]);
  assert.deepEqual(
    rows.map((r) => [r.source, r.scope, r.readingCount, r.fossilCo2eMg]),
    [
      ["flue-gas", "direct", 3, 0n],
      ["fuel", "direct", 1, 100n],
      ["electricity-grid", "indirect", 3, 42n],
      ["electricity-onsite-renewable", "none", 1, 0n],
    ],
  );
  const s = scopeTotals(rows);
  assert.equal(s.direct.fossilCo2eMg, 100n);
  assert.equal(s.direct.biogenicCo2Mg, 905n);
  assert.equal(s.indirect.fossilCo2eMg, 42n);
});

test("daily by source fills every day with every source", () => {
  const { sources, days } = dailyBySource(
    [
      { day: NOV1_DAY, source: "flue-gas", readingCount: 1, fossilCo2eMg: 5n, biogenicCo2Mg: 0n },
      { day: NOV1_DAY + 2, source: "electricity-grid", readingCount: 1, fossilCo2eMg: 9n, biogenicCo2Mg: 0n },
    ],
    { fromDay: NOV1_DAY, toDay: NOV1_DAY + 2 },
  );
  assert.deepEqual(sources, ["flue-gas", "electricity-grid"]);
  assert.deepEqual(
    days.map((d) => [d.date, d.values["flue-gas"], d.values["electricity-grid"]]),
    [
      ["2026-11-01", 5n, 0n],
      ["2026-11-02", 0n, 0n],
      ["2026-11-03", 0n, 9n],
    ],
  );
});

test("reconciles bundle readings with the header: Σ mg floored once to grams, and the count", () => {
  const a = attestation(0, { readingCount: 2n, fossilCo2eGrams: 1n, biogenicCo2Grams: 0n });
  const good = [reading(a, { fossilCo2eMg: 999n }), reading(a, { fossilCo2eMg: 500n })];
  assert.equal(reconcileAttestation(a, good).ok, true);
  const bad = reconcileAttestation(a, [reading(a, { fossilCo2eMg: 2_000n })]);
  assert.equal(bad.ok, false);
  assert.deepEqual(bad.problems, [
    "1 readings indexed from the bundle, the header says 2",
    "readings sum to 2 g fossil CO2e, the header says 1 g",
  ]);
});

test("device activity: last seen, longest gap and gaps above 3× the usual interval; silent devices listed", () => {
  const ts = [0, 5, 10, 15, 60, 65].map((t) => Number(NOV1) + t);
  const out = deviceActivity(
    ts.map((t) => ({ deviceId: "kangaita-chimney-1", ts: t })),
    DEVICES,
  );
  assert.equal(out.length, 2);
  const c = out[0]!;
  assert.equal(c.readingCount, 6);
  assert.equal(c.lastTs, Number(NOV1) + 65);
  assert.equal(c.maxGapS, 45);
  assert.equal(c.medianIntervalS, 5);
  assert.deepEqual(c.gaps, [{ fromTs: Number(NOV1) + 15, toTs: Number(NOV1) + 60 }]);
  assert.equal(out[1]!.deviceId, "kangaita-meter-1");
  assert.equal(out[1]!.readingCount, 0);
  assert.equal(out[1]!.lastTs, null);
});
