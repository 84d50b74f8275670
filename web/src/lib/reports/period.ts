/**
 * Reporting periods: whole UTC days, `from` and `to` inclusive, as `YYYY-MM-DD` in URLs. An
 * attestation belongs to the period its `periodStart` falls in (one rule for dashboard, leaderboard
 * and report, so their figures agree with each other and with the chain).
 */

export const SECONDS_PER_DAY = 86_400;
/** 2015-07-30, the day of the first EVM block ever (Ethereum's genesis). */
export const FIRST_BLOCK_DAY = 16_646;
/** Longest period a page accepts (two years of daily points). */
export const MAX_DAYS = 731;

/** Days since 1970-01-01 (UTC), both ends inclusive. */
export type DayRange = { fromDay: number; toDay: number };

/** Day number → `2026-11-23`. */
export function dayToIso(day: number): string {
  return new Date(day * SECONDS_PER_DAY * 1000).toISOString().slice(0, 10);
}

/** `2026-11-23` → its day number; undefined for anything that is not a real calendar date. */
export function isoToDay(text: string): number | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (!m) return undefined;
  const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  if (Number.isNaN(ms) || new Date(ms).toISOString().slice(0, 10) !== text) return undefined;
  return ms / 86_400_000;
}

/** Unix seconds → day number (UTC). */
export function dayOf(unixSeconds: number | bigint): number {
  return Math.floor(Number(unixSeconds) / SECONDS_PER_DAY);
}

export function rangeLength(r: DayRange): number {
  return r.toDay - r.fromDay + 1;
}

/** `[fromTs, toTsExclusive)` in unix seconds. */
export function rangeSeconds(r: DayRange): { fromTs: bigint; toTsExclusive: bigint } {
  return { fromTs: BigInt(r.fromDay * SECONDS_PER_DAY), toTsExclusive: BigInt((r.toDay + 1) * SECONDS_PER_DAY) };
}

/** True when unix time `ts` lies in the period. */
export function inRange(ts: bigint | number, r: DayRange): boolean {
  const { fromTs, toTsExclusive } = rangeSeconds(r);
  const t = BigInt(ts);
  return t >= fromTs && t < toTsExclusive;
}

/** The period of the same length that ends the day before `r` starts (period-over-period change). */
export function previousRange(r: DayRange): DayRange {
  const n = rangeLength(r);
  return { fromDay: r.fromDay - n, toDay: r.fromDay - 1 };
}

/** `error`: what was wrong and what is shown instead (for a page); `problem`: what was wrong (for an API). */
export type ParsedRange = { range: DayRange; error?: string; problem?: string };

/**
 * The period a page shows from its `from`/`to` query parameters. Missing: the last 30 days up to
 * `today`. Invalid or reversed: the default, with a message saying what was wrong.
 */
export function parseRange(from: string | undefined, to: string | undefined, today: number): ParsedRange {
  const fallback: DayRange = { fromDay: today - 29, toDay: today };
  const bad = (problem: string): ParsedRange => ({
    range: fallback,
    problem,
    error: `${problem}: showing the last 30 days.`,
  });
  if (!from && !to) return { range: fallback };
  const f = from ? isoToDay(from) : undefined;
  const t = to ? isoToDay(to) : today;
  if (from && f === undefined) return bad(`"${from}" is not a date (YYYY-MM-DD)`);
  if (to && t === undefined) return bad(`"${to}" is not a date (YYYY-MM-DD)`);
  const fromDay = f ?? t! - 29;
  const toDay = t!;
  if (fromDay > toDay) return bad(`The period starts (${from}) after it ends (${dayToIso(toDay)})`);
  // nothing is attested before the first EVM block, nor (the chain's clock being near the wall
  // clock) a year from now; such a period would only make the pages read every attestation
  if (toDay < FIRST_BLOCK_DAY)
    return bad(`The period ends (${dayToIso(toDay)}) before the first EVM block (${dayToIso(FIRST_BLOCK_DAY)})`);
  if (fromDay > today + 366) return bad(`The period starts (${dayToIso(fromDay)}) more than a year after today`);
  if (toDay - fromDay + 1 > MAX_DAYS)
    return {
      range: { fromDay: toDay - MAX_DAYS + 1, toDay },
      problem: `Periods are at most ${MAX_DAYS} days`,
      error: `Periods are at most ${MAX_DAYS} days: showing the ${MAX_DAYS} days up to ${dayToIso(toDay)}.`,
    };
  return { range: { fromDay, toDay } };
}

/** Quick choices of the period selector, relative to `today`. */
export function presetRanges(today: number): { label: string; range: DayRange }[] {
  const iso = dayToIso(today);
  const year = Number(iso.slice(0, 4));
  const month = Number(iso.slice(5, 7));
  const quarterStartMonth = Math.floor((month - 1) / 3) * 3;
  const day = (y: number, m0: number, d: number) => Date.UTC(y, m0, d) / 86_400_000;
  const prevQStart = quarterStartMonth === 0 ? day(year - 1, 9, 1) : day(year, quarterStartMonth - 3, 1);
  return [
    { label: "Last 7 days", range: { fromDay: today - 6, toDay: today } },
    { label: "Last 30 days", range: { fromDay: today - 29, toDay: today } },
    { label: "This quarter", range: { fromDay: day(year, quarterStartMonth, 1), toDay: today } },
    // CBAM reports are quarterly (Implementing Regulation (EU) 2023/1773, Art. 3)
    { label: "Previous quarter", range: { fromDay: prevQStart, toDay: day(year, quarterStartMonth, 1) - 1 } },
    { label: "This year", range: { fromDay: day(year, 0, 1), toDay: today } },
  ];
}

/** `?from=…&to=…` of a range. */
export function rangeQuery(r: DayRange): string {
  return `from=${dayToIso(r.fromDay)}&to=${dayToIso(r.toDay)}`;
}
