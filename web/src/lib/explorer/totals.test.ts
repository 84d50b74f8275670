import { test } from "node:test";
import assert from "node:assert/strict";
import { parseTotalsQuery } from "./totals.ts";
import { FIRST_BLOCK_DAY } from "../reports/period.ts";
import { isoToDay } from "./periods.ts";

const today = isoToDay("2026-11-23")!;

test("defaults: all facilities, by month, from the first EVM block to a year ahead", () => {
  const q = parseTotalsQuery(new URLSearchParams(), today);
  assert.equal(q.facility, undefined);
  assert.equal(q.period, "month");
  assert.equal(q.fromDay, FIRST_BLOCK_DAY);
  assert.equal(FIRST_BLOCK_DAY, isoToDay("2015-07-30"));
  assert.equal(q.toDay, today + 366);
  assert.deepEqual(q.active, { period: "month" });
  assert.deepEqual(q.errors, []);
});

test("reads facility, period and date range, and keeps them for the export link", () => {
  const q = parseTotalsQuery(
    new URLSearchParams({ facility: "ktda-gitugi", period: "day", from: "2026-11-01", to: "2026-11-30" }),
    today,
  );
  assert.equal(q.facility, "ktda-gitugi");
  assert.equal(q.period, "day");
  assert.equal(q.fromDay, isoToDay("2026-11-01"));
  assert.equal(q.toDay, isoToDay("2026-11-30"));
  assert.deepEqual(q.active, { facility: "ktda-gitugi", period: "day", from: "2026-11-01", to: "2026-11-30" });
});

test("says which values it did not understand, and swaps a reversed range", () => {
  const q = parseTotalsQuery(
    new URLSearchParams({ facility: "Bad Name", from: "2026-12-01", to: "2026-11-01", period: "week" }),
    today,
  );
  assert.equal(q.facility, undefined);
  assert.equal(q.period, "month");
  assert.equal(q.fromDay, isoToDay("2026-11-01"));
  assert.equal(q.toDay, isoToDay("2026-12-01"));
  assert.equal(q.errors.length, 2);
  assert.match(q.errors[0], /“Bad Name” is not a facility id/);
  assert.match(q.errors[1], /swapped/);
});

test("a range is kept within the days anything can be attested: from the first EVM block to a year ahead", () => {
  // year 100 to 9999 was ~3,600 indexer queries at once (one per 1,000 days)
  const wide = parseTotalsQuery(new URLSearchParams({ from: "0100-01-01", to: "9999-12-31" }), today);
  assert.deepEqual([wide.fromDay, wide.toDay], [FIRST_BLOCK_DAY, today + 366]);
  assert.match(wide.errors.join(" "), /No block is older than 2015-07-30; totals start there\./);
  assert.match(wide.errors.join(" "), /Totals end at 2027-11-24, a year past today\./);
  const before = parseTotalsQuery(new URLSearchParams({ from: "1990-01-01", to: "1999-12-31" }), today);
  assert.deepEqual([before.fromDay, before.toDay], [FIRST_BLOCK_DAY, FIRST_BLOCK_DAY]);
  const after = parseTotalsQuery(new URLSearchParams({ from: "3000-01-01", to: "3001-01-01" }), today);
  assert.deepEqual([after.fromDay, after.toDay], [today + 366, today + 366]);
});
