/**
 * The leaderboard's reads: three lists by cursor, whatever the number of facilities or the history
 * before the period.
 *
 * - The facilities (names and codes).
 * - Every facility's per-day totals of the period and of the period before it (`facilitiesDaily`,
 *   at most one row per facility and day), which count the attestations whose period starts that
 *   day as `attestationsInRange(…).counted` does (revoked ones stay in attestationCount and leave
 *   the grams), and the credits issued against them (`issuedAgainstKg`, less those of attestations
 *   revoked since).
 *
 * Before 2026-12-07 each facility cost two more reads (its attestations of the period, then its
 * issuances), at most LEADERBOARD_READ_CONCURRENCY at once: a thousand facilities were two
 * thousand calls to a subgraph per page load.
 */
import type { DailyTotals, ExplorerIndexer, FacilityDailyTotals, ListPage, Page } from "@carbonproof/subgraph/client";
import type { LeaderboardInput, LeaderboardTotals } from "./leaderboard.ts";
import { previousRange, type DayRange } from "./period.ts";

/** The most rows a cursor read answers (`list` and `facilitiesDaily` read one more to see if there is a next page). */
const PAGE = 999;

/** The indexer methods the leaderboard reads. */
export type LeaderboardIndexer = Pick<ExplorerIndexer, "list" | "facilitiesDaily">;

/** Names and countries of facilities by protocol id (the runtime's off-chain directory). */
export type FacilityDirectory = Record<string, { name?: string; country?: string } | undefined>;

/** One row per facility the indexer knows, for `rankByReduction` and `rankByChange`. */
export async function loadLeaderboard(
  ix: LeaderboardIndexer,
  range: DayRange,
  directory: FacilityDirectory,
): Promise<LeaderboardInput[]> {
  // by cursor: a subgraph refuses `skip` past 5,000, and a cursor costs the same at any depth
  const [facilities, currentDays, previousDays] = await Promise.all([
    everyRow((page) => ix.list("facilities", {}, page)),
    byFacility(everyRow((page) => ix.facilitiesDaily(range, page))),
    byFacility(everyRow((page) => ix.facilitiesDaily(previousRange(range), page))),
  ]);
  return facilities.map((f): LeaderboardInput => {
    const id = f.code ?? f.id;
    const key = f.id.toLowerCase();
    const current = currentDays.get(key) ?? [];
    return {
      facility: id,
      name: (f.code && directory[f.code]?.name) || null,
      country: (f.code && directory[f.code]?.country) || null,
      current: sumDays(current),
      previous: sumDays(previousDays.get(key) ?? []),
      creditsIssuedKg: current.reduce((s, d) => s + d.issuedAgainstKg, 0n),
    };
  });
}

/** Every row of a list read by cursor, page after page of PAGE rows. */
async function everyRow<T>(read: (page: Page) => Promise<ListPage<T> | null>): Promise<T[]> {
  const out: T[] = [];
  let after: string | null = null;
  for (;;) {
    const page: ListPage<T> | null = await read(after === null ? { first: PAGE } : { first: PAGE, after });
    if (!page) return out;
    out.push(...page.rows);
    if (page.next === null) return out;
    after = page.next;
  }
}

/** Per-day rows by facility id (lower case). */
async function byFacility(rows: Promise<FacilityDailyTotals[]>): Promise<Map<string, FacilityDailyTotals[]>> {
  const out = new Map<string, FacilityDailyTotals[]>();
  for (const d of await rows) {
    const key = d.facility.id.toLowerCase();
    const days = out.get(key);
    if (days) days.push(d);
    else out.set(key, [d]);
  }
  return out;
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
