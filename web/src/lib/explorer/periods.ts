/**
 * Totals per period. The indexer keeps one row of totals per UTC day (`daily`); the explorer sums
 * them into days, months or years. Credits are kilograms, emissions grams, both bigint: nothing is
 * rounded until it reaches the screen.
 */
import type { DailyTotals } from "@carbonproof/subgraph/client";
import { dayOf, dayToIso, isoToDay } from "../reports/period.ts";

// one definition of UTC day numbers for the explorer, the dashboards and the reports
export { dayOf, dayToIso, isoToDay };

export type Period = "day" | "month" | "year";
export const PERIODS: readonly Period[] = ["day", "month", "year"];

export type PeriodTotals = {
  /** `2026-11-23`, `2026-11` or `2026` */
  period: string;
  firstDay: number;
  lastDay: number;
  attestationCount: number;
  revokedAttestationCount: number;
  readingCount: bigint;
  fossilCo2eGrams: bigint;
  biogenicCo2Grams: bigint;
  issuedKg: bigint;
  retiredKg: bigint;
  /** issued − retired within the period */
  netIssuedKg: bigint;
  /** issued − retired from the first day summed up to the end of the period */
  outstandingKg: bigint;
  saleCount: number;
  soldKg: bigint;
};

export function parsePeriod(text: string | undefined): Period {
  return PERIODS.includes(text as Period) ? (text as Period) : "month";
}

/**
 * Splits days [fromDay, toDay] into windows of at most `maxDays` (indexers answer at most 1,000
 * days per `daily` call), oldest first.
 */
export function dayWindows(fromDay: number, toDay: number, maxDays = 1000): { fromDay: number; toDay: number }[] {
  const out: { fromDay: number; toDay: number }[] = [];
  for (let start = fromDay; start <= toDay; start += maxDays)
    out.push({ fromDay: start, toDay: Math.min(toDay, start + maxDays - 1) });
  return out;
}

/** The period a day falls in: `2026-11-23`, `2026-11` or `2026`. */
export function periodKey(day: number, period: Period): string {
  const iso = dayToIso(day);
  return period === "day" ? iso : period === "month" ? iso.slice(0, 7) : iso.slice(0, 4);
}

function empty(period: string, day: number): PeriodTotals {
  return {
    period,
    firstDay: day,
    lastDay: day,
    attestationCount: 0,
    revokedAttestationCount: 0,
    readingCount: 0n,
    fossilCo2eGrams: 0n,
    biogenicCo2Grams: 0n,
    issuedKg: 0n,
    retiredKg: 0n,
    netIssuedKg: 0n,
    outstandingKg: 0n,
    saleCount: 0,
    soldKg: 0n,
  };
}

function add(into: PeriodTotals, d: DailyTotals): void {
  into.firstDay = Math.min(into.firstDay, d.day);
  into.lastDay = Math.max(into.lastDay, d.day);
  into.attestationCount += d.attestationCount;
  into.revokedAttestationCount += d.revokedAttestationCount;
  into.readingCount += d.readingCount;
  into.fossilCo2eGrams += d.fossilCo2eGrams;
  into.biogenicCo2Grams += d.biogenicCo2Grams;
  into.issuedKg += d.issuedKg;
  into.retiredKg += d.retiredKg;
  into.netIssuedKg = into.issuedKg - into.retiredKg;
  into.saleCount += d.saleCount;
  into.soldKg += d.soldKg;
}

/**
 * Sums daily rows into periods, oldest first. Rows may come in any order and several per day
 * (one per facility): each is added once. `outstandingKg` runs on from the first row, so it is the
 * protocol's (or facility's) outstanding credit only when the rows start at the beginning.
 */
export function aggregateDaily(daily: readonly DailyTotals[], period: Period): PeriodTotals[] {
  const byKey = new Map<string, PeriodTotals>();
  for (const d of [...daily].sort((a, b) => a.day - b.day)) {
    const key = periodKey(d.day, period);
    let p = byKey.get(key);
    if (!p) byKey.set(key, (p = empty(key, d.day)));
    add(p, d);
  }
  const out = [...byKey.values()];
  let outstanding = 0n;
  for (const p of out) {
    outstanding += p.netIssuedKg;
    p.outstandingKg = outstanding;
  }
  return out;
}

/** The sum of all periods (one row, for a table footer); undefined for no periods. */
export function grandTotal(periods: readonly PeriodTotals[]): PeriodTotals | undefined {
  if (!periods.length) return undefined;
  const t = empty("all", periods[0].firstDay);
  for (const p of periods) {
    t.firstDay = Math.min(t.firstDay, p.firstDay);
    t.lastDay = Math.max(t.lastDay, p.lastDay);
    t.attestationCount += p.attestationCount;
    t.revokedAttestationCount += p.revokedAttestationCount;
    t.readingCount += p.readingCount;
    t.fossilCo2eGrams += p.fossilCo2eGrams;
    t.biogenicCo2Grams += p.biogenicCo2Grams;
    t.issuedKg += p.issuedKg;
    t.retiredKg += p.retiredKg;
    t.saleCount += p.saleCount;
    t.soldKg += p.soldKg;
  }
  t.netIssuedKg = t.issuedKg - t.retiredKg;
  t.outstandingKg = periods[periods.length - 1].outstandingKg;
  return t;
}
