import { test } from "node:test";
import assert from "node:assert/strict";
import type { DailyTotals } from "@carbonproof/subgraph/client";
import { aggregateDaily, dayToIso, dayWindows, grandTotal, isoToDay, parsePeriod, periodKey } from "./periods.ts";

function day(iso: string, patch: Partial<DailyTotals> = {}): DailyTotals {
  const d = isoToDay(iso)!;
  return {
    day: d,
    date: BigInt(d * 86_400),
    attestationCount: 0,
    revokedAttestationCount: 0,
    readingCount: 0n,
    fossilCo2eGrams: 0n,
    biogenicCo2Grams: 0n,
    issuedKg: 0n,
    retiredKg: 0n,
    saleCount: 0,
    soldKg: 0n,
    ...patch,
  };
}

test("day numbers and ISO dates convert both ways, and only real dates parse", () => {
  assert.equal(isoToDay("1970-01-01"), 0);
  assert.equal(isoToDay("2026-11-23"), 20_780);
  assert.equal(dayToIso(20_780), "2026-11-23");
  assert.equal(isoToDay("2026-02-30"), undefined);
  assert.equal(isoToDay("2026-1-5"), undefined);
  assert.equal(isoToDay("yesterday"), undefined);
});

test("a day falls in its day, month and year", () => {
  const d = isoToDay("2024-02-29")!;
  assert.equal(periodKey(d, "day"), "2024-02-29");
  assert.equal(periodKey(d, "month"), "2024-02");
  assert.equal(periodKey(d, "year"), "2024");
});

test("an unknown period falls back to month", () => {
  assert.equal(parsePeriod("year"), "year");
  assert.equal(parsePeriod("week"), "month");
  assert.equal(parsePeriod(undefined), "month");
});

test("sums days into months, oldest first, with biogenic CO2 kept apart from fossil CO2e", () => {
  const rows = [
    day("2026-12-01", { fossilCo2eGrams: 5n, biogenicCo2Grams: 50n, retiredKg: 3n }),
    day("2026-11-02", { fossilCo2eGrams: 1_000n, biogenicCo2Grams: 7n, issuedKg: 10n, attestationCount: 1 }),
    day("2026-11-30", { fossilCo2eGrams: 2_000n, issuedKg: 5n, retiredKg: 4n, readingCount: 9n, saleCount: 2 }),
  ];
  const months = aggregateDaily(rows, "month");
  assert.deepEqual(
    months.map((m) => [m.period, m.fossilCo2eGrams, m.biogenicCo2Grams, m.issuedKg, m.retiredKg]),
    [
      ["2026-11", 3_000n, 7n, 15n, 4n],
      ["2026-12", 5n, 50n, 0n, 3n],
    ],
  );
  assert.equal(months[0].firstDay, isoToDay("2026-11-02"));
  assert.equal(months[0].lastDay, isoToDay("2026-11-30"));
  assert.equal(months[0].readingCount, 9n);
  assert.equal(months[0].saleCount, 2);
});

test("outstanding is issued − retired, per period and carried forward", () => {
  const rows = [
    day("2025-06-01", { issuedKg: 100n }),
    day("2026-01-01", { issuedKg: 40n, retiredKg: 30n }),
    day("2026-03-01", { retiredKg: 50n }),
  ];
  const years = aggregateDaily(rows, "year");
  assert.deepEqual(
    years.map((y) => [y.period, y.netIssuedKg, y.outstandingKg]),
    [
      ["2025", 100n, 100n],
      ["2026", -40n, 60n],
    ],
  );
  const total = grandTotal(years)!;
  assert.equal(total.issuedKg, 140n);
  assert.equal(total.retiredKg, 80n);
  assert.equal(total.outstandingKg, 60n);
  assert.equal(total.netIssuedKg, 60n);
});

test("several rows of one day (one per facility) are each added once", () => {
  const rows = [day("2026-11-23", { fossilCo2eGrams: 1n }), day("2026-11-23", { fossilCo2eGrams: 2n })];
  const days = aggregateDaily(rows, "day");
  assert.equal(days.length, 1);
  assert.equal(days[0].fossilCo2eGrams, 3n);
});

test("no rows, no periods", () => {
  assert.deepEqual(aggregateDaily([], "day"), []);
  assert.equal(grandTotal([]), undefined);
});

test("a long range is read in windows of at most 1,000 days, none overlapping, none missing", () => {
  assert.deepEqual(dayWindows(0, 2_499), [
    { fromDay: 0, toDay: 999 },
    { fromDay: 1_000, toDay: 1_999 },
    { fromDay: 2_000, toDay: 2_499 },
  ]);
  assert.deepEqual(dayWindows(5, 5), [{ fromDay: 5, toDay: 5 }]);
  assert.deepEqual(dayWindows(10, 9), []);
});
