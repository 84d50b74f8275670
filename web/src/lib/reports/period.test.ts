import { test } from "node:test";
import assert from "node:assert/strict";
import { dayToIso, inRange, isoToDay, parseRange, presetRanges, previousRange, rangeSeconds } from "./period.ts";

const today = isoToDay("2026-11-23")!;

test("parseRange defaults to the last 30 days up to today", () => {
  const { range, error } = parseRange(undefined, undefined, today);
  assert.equal(error, undefined);
  assert.equal(dayToIso(range.fromDay), "2026-10-25");
  assert.equal(dayToIso(range.toDay), "2026-11-23");
});

test("parseRange takes from and to inclusive, and falls back with a message on a bad or reversed date", () => {
  assert.deepEqual(parseRange("2026-11-01", "2026-11-30", today).range, {
    fromDay: isoToDay("2026-11-01"),
    toDay: isoToDay("2026-11-30"),
  });
  assert.match(parseRange("2026-02-30", undefined, today).error!, /not a date.*showing the last 30 days/);
  assert.equal(parseRange("2026-02-30", undefined, today).problem, '"2026-02-30" is not a date (YYYY-MM-DD)');
  assert.match(parseRange("2026-11-10", "2026-11-01", today).error!, /starts .* after it ends/);
  const long = parseRange("2020-01-01", "2026-11-23", today);
  assert.equal(long.range.toDay - long.range.fromDay + 1, 731);
  assert.match(long.error!, /at most 731 days/);
});

test("a period is [from 00:00, to+1 00:00) in unix seconds; the previous one has the same length", () => {
  const r = { fromDay: isoToDay("2026-11-01")!, toDay: isoToDay("2026-11-02")! };
  const { fromTs, toTsExclusive } = rangeSeconds(r);
  assert.equal(toTsExclusive - fromTs, 2n * 86_400n);
  assert.ok(inRange(fromTs, r));
  assert.ok(!inRange(toTsExclusive, r));
  assert.deepEqual(previousRange(r), { fromDay: r.fromDay - 2, toDay: r.fromDay - 1 });
});

test("presets include the previous calendar quarter (CBAM reports are quarterly)", () => {
  const q = presetRanges(today).find((p) => p.label === "Previous quarter")!;
  assert.equal(dayToIso(q.range.fromDay), "2026-07-01");
  assert.equal(dayToIso(q.range.toDay), "2026-09-30");
  const jan = presetRanges(isoToDay("2027-01-15")!).find((p) => p.label === "Previous quarter")!;
  assert.equal(dayToIso(jan.range.fromDay), "2026-10-01");
  assert.equal(dayToIso(jan.range.toDay), "2026-12-31");
});

test("parseRange refuses a period before the first EVM block or more than a year ahead (every attestation would be read)", () => {
  const old = parseRange("0100-01-01", "0101-12-31", today);
  assert.deepEqual(old.range, { fromDay: today - 29, toDay: today });
  assert.match(old.error!, /ends \(0101-12-31\) before the first EVM block \(2015-07-30\): showing the last 30 days/);
  const ahead = parseRange("2999-01-01", "2999-02-01", today);
  assert.deepEqual(ahead.range, { fromDay: today - 29, toDay: today });
  assert.match(ahead.error!, /starts \(2999-01-01\) more than a year after today/);
  assert.equal(parseRange("2015-07-30", "2015-08-30", today).error, undefined, "from the first block on: taken");
});
