import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { demoPeriods } from "./demo-periods.ts";

/**
 * The periods scripts/seed-demo.ts attests, at any time of the year. Before, from 01:00 UTC on
 * 1 January to 00:00 on 2 January the periods were pushed into the future and the first
 * AttestationRegistry.submit reverted (AttestationRegistryPeriodInFuture): `npm start` aborted.
 */
const PERIOD_S = 12n * 3600n;
const PERIODS = 2;
const at = (iso: string) => BigInt(Date.parse(iso) / 1000);
const iso = (s: bigint) => new Date(Number(s) * 1000).toISOString();

/** Everything seed-demo and the contracts rely on. */
function assertUsable(nowS: bigint): ReturnType<typeof demoPeriods> {
  const d = demoPeriods(nowS, PERIOD_S, PERIODS);
  const where = `at ${iso(nowS)}: ${d.periods.map((p) => `[${iso(p.start)}, ${iso(p.end)})`).join(" ")}`;
  assert.equal(d.periods.length, PERIODS, where);
  d.periods.forEach((p, i) => {
    // AttestationRegistry: no period ending after the block's time
    assert.ok(p.end <= nowS, `period ${i} ends in the future ${where}`);
    assert.equal(p.end - p.start, PERIOD_S, `period ${i} is ${PERIOD_S} s long ${where}`);
    assert.equal(p.start % 3600n, 0n, `period ${i} starts on a whole hour ${where}`);
    if (i > 0) assert.equal(p.start, d.periods[i - 1]!.end, `period ${i} follows the one before ${where}`);
    // CarbonCredits: one vintage, the UTC year of the start; the period may end at the next year's start
    const startYear = new Date(Number(p.start) * 1000).getUTCFullYear();
    assert.equal(startYear, d.vintage, `period ${i} is of vintage ${d.vintage} ${where}`);
    assert.ok(p.end <= BigInt(Date.UTC(d.vintage + 1, 0, 1) / 1000), `period ${i} stays in ${d.vintage} ${where}`);
  });
  // recent: the explorer's dashboards show the last 30 days, and the demo should look live
  assert.ok(nowS - d.periods.at(-1)!.end <= 26n * 3600n, `the last period ended within 26 h ${where}`);
  return d;
}

test("the demo periods end at or before now and lie in one year, around the new year and mid-year", () => {
  for (const now of [
    "2026-12-31T23:30:00Z",
    "2027-01-01T00:00:00Z",
    "2027-01-01T00:30:00Z",
    "2027-01-01T00:59:59Z",
    "2027-01-01T01:00:00Z",
    "2027-01-01T01:00:01Z",
    "2027-01-01T10:00:00Z",
    "2027-01-01T23:59:59Z",
    "2027-01-02T00:00:00Z",
    "2027-01-02T00:30:00Z",
    "2027-01-02T01:00:00Z",
    "2027-06-15T12:34:56Z",
    "2028-02-29T06:00:00Z",
    "2028-12-31T23:59:59Z",
  ])
    assertUsable(at(now));
});

test("in the first hours of a year the demo periods are the last day of the year before", () => {
  const d = assertUsable(at("2027-01-01T10:00:00Z"));
  assert.equal(d.vintage, 2026);
  assert.deepEqual(
    d.periods.map((p) => [iso(p.start), iso(p.end)]),
    [
      ["2026-12-31T00:00:00.000Z", "2026-12-31T12:00:00.000Z"],
      ["2026-12-31T12:00:00.000Z", "2027-01-01T00:00:00.000Z"],
    ],
  );
});

test("otherwise the demo periods end on the full hour before the last one", () => {
  const d = assertUsable(at("2027-06-15T12:34:56Z"));
  assert.equal(d.vintage, 2027);
  assert.equal(iso(d.periods.at(-1)!.end), "2027-06-15T11:00:00.000Z");
  assert.equal(iso(d.periods[0]!.start), "2027-06-14T11:00:00.000Z");
  // from 01:00 on 2 January both periods fit in the new year again
  assert.equal(assertUsable(at("2027-01-02T00:59:59Z")).vintage, 2026);
  assert.equal(assertUsable(at("2027-01-02T01:00:00Z")).vintage, 2027);
});

test("the demo periods are usable at every second of the years 1971-2200", () => {
  fc.assert(
    fc.property(fc.bigInt({ min: at("1971-01-01T00:00:00Z"), max: at("2200-12-31T23:59:59Z") }), (now) => {
      assertUsable(now);
    }),
    { numRuns: 2000 },
  );
  // every minute of the days around one new year
  for (let now = at("2026-12-30T00:00:00Z"); now < at("2027-01-03T00:00:00Z"); now += 60n) assertUsable(now);
});
