/**
 * The leaderboard's reads: per facility, only what its two rankings need for `range` and the
 * period before it, never the facility's whole history.
 *
 * - The previous period's totals come from the indexer's per-day totals of every facility, read
 *   once for the whole board (`facilitiesDaily`, by cursor: at most one row per facility and day),
 *   which count the attestations whose period starts that day as `attestationsInRange(…).counted`
 *   does (revoked ones stay in attestationCount and leave the grams).
 * - The period's own attestations are read newest first down to its first day (the credits need
 *   their ids); their totals are summed as the dashboard and the report sum them.
 * - Credits issued against them: only when one of them was issued (`issuedCreditId`), and then the
 *   facility's issuances newest first down to the period's first second. An attestation's issuance comes
 *   after its period ends, so an issuance older than the period cannot be against one of its
 *   attestations.
 *
 * What is still read beyond the period: the attestations and issuances between its last day and
 * now (none for the default period, which ends today). Reading exactly the period needs the
 * indexer to filter a facility's attestations by period start, or to keep the credits per
 * attested-period day (docs/web.md, "Leaderboard reads").
 */
import type { DailyTotals, ExplorerIndexer, ListPage, Page } from "@carbonproof/subgraph/client";
import { attestationsInRange, sumAttestations } from "./aggregate.ts";
import type { LeaderboardInput, LeaderboardTotals } from "./leaderboard.ts";
import { previousRange, rangeSeconds, type DayRange } from "./period.ts";
import { limiter } from "../../../../sdk/src/verify/cache.ts";

/** The most rows a cursor read answers (`list`, `detailList` and `facilitiesDaily` read one more to see if there is a next page). */
const PAGE = 999;
/** The first page of attestations or issuances: a month of 12-hour periods fits. */
const FIRST_PAGE = 100;

/**
 * Facilities whose reads are in flight at once: each has one read out at a time (its attestations,
 * then its issuances), so this bounds the calls a page load has open at the indexer, a subgraph's
 * GraphQL endpoint among them, however many facilities there are.
 */
export const LEADERBOARD_READ_CONCURRENCY = 8;

/** The indexer methods the leaderboard reads. */
export type LeaderboardIndexer = Pick<ExplorerIndexer, "list" | "detailList" | "facilitiesDaily">;

/** Names and countries of facilities by protocol id (the runtime's off-chain directory). */
export type FacilityDirectory = Record<string, { name?: string; country?: string } | undefined>;

/** One row per facility the indexer knows, for `rankByReduction` and `rankByChange`. */
export async function loadLeaderboard(
  ix: LeaderboardIndexer,
  range: DayRange,
  directory: FacilityDirectory,
): Promise<LeaderboardInput[]> {
  // by cursor: a subgraph refuses `skip` past 5,000, and a cursor costs the same at any depth
  const facilities = await newestDownTo(
    (page) => ix.list("facilities", {}, page),
    () => false,
    PAGE,
  );
  // the previous period's per-day totals of every facility at once (days × facilities rows, by cursor)
  const previousDays = new Map<string, DailyTotals[]>();
  for (const d of await newestDownTo(
    (page) => ix.facilitiesDaily(previousRange(range), page),
    () => false,
    PAGE,
  )) {
    const key = d.facility.id.toLowerCase();
    const days = previousDays.get(key);
    if (days) days.push(d);
    else previousDays.set(key, [d]);
  }
  const { fromTs } = rangeSeconds(range);
  const slot = limiter(LEADERBOARD_READ_CONCURRENCY);
  return Promise.all(
    facilities.map((f) =>
      slot(async (): Promise<LeaderboardInput> => {
        const id = f.code ?? f.id;
        const attestations = await newestDownTo(
          (page) => ix.detailList("facilityAttestations", { facility: id }, page),
          (a) => a.periodStart < fromTs,
        );
        const current = attestationsInRange(attestations, range).counted;
        const issued = new Map<string, bigint>();
        if (current.some((a) => a.issuedCreditId !== null))
          for (const i of await newestDownTo(
            (page) => ix.list("issuances", { facility: id }, page),
            (i) => i.timestamp < fromTs,
          )) {
            const key = i.attestationId.toLowerCase();
            issued.set(key, (issued.get(key) ?? 0n) + i.amountKg);
          }
        return {
          facility: id,
          name: (f.code && directory[f.code]?.name) || null,
          country: (f.code && directory[f.code]?.country) || null,
          current: sumAttestations(current),
          previous: sumDays(previousDays.get(f.id.toLowerCase()) ?? []),
          creditsIssuedKg: current.reduce((s, a) => s + (issued.get(a.id.toLowerCase()) ?? 0n), 0n),
        };
      }),
    ),
  );
}

/**
 * Rows of a list read by cursor in its order (newest first for attestations and issuances), page
 * after page, until one is `older` than what is wanted (it and those after it are read, and left to
 * the caller's filter) or the list ends. Pages start at `firstPage` rows and double up to PAGE, so
 * a short period costs few rows and a long one few calls.
 */
async function newestDownTo<T>(
  read: (page: Page) => Promise<ListPage<T> | null>,
  older: (row: T) => boolean,
  firstPage = FIRST_PAGE,
): Promise<T[]> {
  const out: T[] = [];
  let after: string | null = null;
  for (let first = firstPage; ; first = Math.min(first * 2, PAGE)) {
    const page = await read(after === null ? { first } : { first, after });
    if (!page) return out;
    out.push(...page.rows);
    if (page.next === null || (page.rows.length > 0 && older(page.rows.at(-1)!))) return out;
    after = page.next;
  }
}

/** A facility's per-day totals summed: the attestations that still stand (the indexer counts revoked ones apart). */
function sumDays(days: readonly DailyTotals[]): LeaderboardTotals {
  const t: LeaderboardTotals = {
    attestationCount: 0,
    readingCount: 0n,
    fossilCo2eGrams: 0n,
    biogenicCo2Grams: 0n,
  };
  for (const d of days) {
    t.attestationCount += d.attestationCount - d.revokedAttestationCount;
    t.readingCount += d.readingCount;
    t.fossilCo2eGrams += d.fossilCo2eGrams;
    t.biogenicCo2Grams += d.biogenicCo2Grams;
  }
  return t;
}
