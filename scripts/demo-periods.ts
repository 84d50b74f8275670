/**
 * The periods scripts/seed-demo.ts attests for each demo facility, chosen from the chain's time
 * `nowS` alone (UTC seconds):
 *
 *   - `count` back-to-back periods of `periodS` seconds, starting on whole hours;
 *   - every one ended at `nowS` (AttestationRegistry reverts `AttestationRegistryPeriodInFuture`
 *     on a period that ends after the block's time, and the local chain runs on wall-clock time);
 *   - all inside one UTC calendar year, which is the credits' vintage (CarbonCredits reverts
 *     `CarbonCreditsPeriodSpansVintages`, and the demo lists one token id per facility);
 *   - as recent as that allows: normally ending on the full hour before the last one, and in
 *     the first hours of a year, when they no longer fit in it, ending at the year's start, on
 *     the last day of the year before (its vintage).
 *
 * A vintage is the UTC year of a period's start (CarbonCredits._vintageOf: UtcDate.yearOf
 * (periodStart)), and a period may end at 00:00 on 1 January of the next year but not after. So
 * the previous year's vintage on 1 January (until 01:00 on 2 January with two 12-hour periods) is
 * right, not a clock bug: those periods were measured in that year, and a period of the new year
 * cannot have ended yet.
 *
 * The project's baseline takes effect at the first period's start (seed-demo registers it so).
 */
export type DemoPeriods = {
  periods: { start: bigint; end: bigint }[];
  /** The UTC year every period lies in: the vintage of the credits they back. */
  vintage: number;
};

const HOUR_S = 3600n;

export function demoPeriods(nowS: bigint, periodS: bigint, count: number): DemoPeriods {
  const spanS = periodS * BigInt(count);
  if (periodS <= 0n || count < 1 || spanS > 365n * 86_400n)
    throw new Error(`demoPeriods: ${count} periods of ${periodS} s do not fit in one year`);
  let end = (nowS / HOUR_S) * HOUR_S - HOUR_S;
  // the year of the last period's last second: a period may end exactly at the next year's start
  const yearStart = startOfUtcYear(end - 1n);
  if (end - spanS < yearStart) end = yearStart;
  const first = end - spanS;
  return {
    periods: Array.from({ length: count }, (_, p) => ({
      start: first + BigInt(p) * periodS,
      end: first + BigInt(p + 1) * periodS,
    })),
    vintage: new Date(Number(first) * 1000).getUTCFullYear(),
  };
}

/** 00:00 UTC on 1 January of the year `s` (UTC seconds) falls in. */
function startOfUtcYear(s: bigint): bigint {
  return BigInt(Date.UTC(new Date(Number(s) * 1000).getUTCFullYear(), 0, 1) / 1000);
}
