/**
 * The totals view's query (`/explorer/totals?facility=&period=&from=&to=`), read once for the page
 * and its CSV export, and the export's columns.
 */
import type { DailyTotals, ExplorerIndexer } from "@carbonproof/subgraph/client";
import type { CsvColumn } from "./csv.ts";
import { isFacilityRef } from "../ids.ts";
import { FIRST_BLOCK_DAY } from "../reports/period.ts";
import { dayToIso, dayWindows, isoToDay, parsePeriod, type Period, type PeriodTotals } from "./periods.ts";

export type TotalsQuery = {
  facility: string | undefined;
  period: Period;
  fromDay: number;
  toDay: number;
  /** valid parameters, for links and the export */
  active: Record<string, string>;
  errors: string[];
};

/** Without `to`, totals run a year past today: a local chain's clock may be ahead of the wall clock. */
const DAYS_AHEAD = 366;
// Without `from`, totals start at FIRST_BLOCK_DAY (2015-07-30, the first EVM block ever).

export function parseTotalsQuery(params: URLSearchParams, today: number): TotalsQuery {
  const active: Record<string, string> = {};
  const errors: string[] = [];
  const facilityText = params.get("facility")?.trim() || undefined;
  let facility: string | undefined;
  if (facilityText) {
    if (isFacilityRef(facilityText)) {
      facility = facilityText;
      active.facility = facilityText;
    } else errors.push(`“${facilityText}” is not a facility id; totals are shown for all facilities.`);
  }
  const period = parsePeriod(params.get("period") ?? undefined);
  active.period = period;
  const day = (name: "from" | "to", fallback: number) => {
    const text = params.get(name)?.trim();
    if (!text) return fallback;
    const d = isoToDay(text);
    if (d === undefined) {
      errors.push(`“${text}” is not a date (YYYY-MM-DD); the ${name === "from" ? "start" : "end"} is not limited.`);
      return fallback;
    }
    active[name] = text;
    return d;
  };
  let fromDay = day("from", FIRST_BLOCK_DAY);
  let toDay = day("to", today + DAYS_AHEAD);
  if (fromDay > toDay) {
    errors.push(`The start ${dayToIso(fromDay)} is after the end ${dayToIso(toDay)}; they are swapped.`);
    [fromDay, toDay] = [toDay, fromDay];
  }
  // nothing can be attested outside these days, and each ~1,000 days of range is one indexer
  // query (year 100 to 9999 would be ~3,600 at once)
  const lastDay = today + DAYS_AHEAD;
  if (fromDay < FIRST_BLOCK_DAY)
    errors.push(`No block is older than ${dayToIso(FIRST_BLOCK_DAY)}; totals start there.`);
  if (toDay > lastDay) errors.push(`Totals end at ${dayToIso(lastDay)}, a year past today.`);
  const within = (d: number) => Math.min(Math.max(d, FIRST_BLOCK_DAY), lastDay);
  fromDay = within(fromDay);
  toDay = within(toDay);
  return { facility, period, fromDay, toDay, active, errors };
}

export const TOTALS_CSV: readonly CsvColumn<PeriodTotals>[] = [
  { header: "period", value: (r) => r.period },
  { header: "first_day_utc", value: (r) => dayToIso(r.firstDay) },
  { header: "last_day_utc", value: (r) => dayToIso(r.lastDay) },
  { header: "attestations", value: (r) => r.attestationCount },
  { header: "revoked_attestations", value: (r) => r.revokedAttestationCount },
  { header: "readings", value: (r) => r.readingCount },
  { header: "fossil_co2e_g", value: (r) => r.fossilCo2eGrams },
  { header: "biogenic_co2_g", value: (r) => r.biogenicCo2Grams },
  { header: "credits_issued_kg", value: (r) => r.issuedKg },
  { header: "credits_retired_kg", value: (r) => r.retiredKg },
  { header: "credits_issued_minus_retired_kg", value: (r) => r.netIssuedKg },
  { header: "credits_outstanding_at_end_kg", value: (r) => r.outstandingKg },
  { header: "sales", value: (r) => r.saleCount },
  { header: "credits_sold_kg", value: (r) => r.soldKg },
];

/** The daily totals of the query's range, read in windows the indexer accepts. */
export async function readDaily(ix: ExplorerIndexer, q: TotalsQuery): Promise<DailyTotals[]> {
  const parts = await Promise.all(dayWindows(q.fromDay, q.toDay).map((w) => ix.daily({ ...w, facility: q.facility })));
  return parts.flat();
}
