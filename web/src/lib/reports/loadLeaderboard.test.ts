import { test } from "node:test";
import assert from "node:assert/strict";
import type {
  AttestationSummary,
  FacilityDailyTotals,
  FacilitySummary,
  Hex,
  IssuanceSummary,
  ListPage,
  Page,
} from "@carbonproof/subgraph/client";
import { attestationsInRange, sumAttestations } from "./aggregate.ts";
import type { LeaderboardInput } from "./leaderboard.ts";
import { loadLeaderboard, type LeaderboardIndexer } from "./loadLeaderboard.ts";
import { previousRange, type DayRange } from "./period.ts";

const DAY = 86_400n;
const HALF_DAY = 43_200n;
/** 2026-11-01 to 2026-11-30 */
const RANGE: DayRange = { fromDay: 20_758, toDay: 20_787 };
const hex32 = (n: number): Hex => `0x${n.toString(16).padStart(64, "0")}`;

type History = { facility: FacilitySummary; attestations: AttestationSummary[]; issuances: IssuanceSummary[] };

/**
 * `facilities` facilities, each with `periods` back-to-back 12-hour attestations ending with the
 * range's last day; every 7th revoked, every 5th issued for 0 kg (nothing minted), the others
 * issued an hour after their period ends.
 */
function history(facilities: number, periods: number): History[] {
  const end = BigInt(RANGE.toDay + 1) * DAY;
  return Array.from({ length: facilities }, (_, f) => {
    const ref = { id: hex32(1_000_000 + f), code: `plant-${f}` };
    const attestations: AttestationSummary[] = [];
    const issuances: IssuanceSummary[] = [];
    for (let p = 0; p < periods; p++) {
      const periodStart = end - BigInt(periods - p) * HALF_DAY;
      const id = hex32(f * 1_000_000 + p);
      const revoked = p % 7 === 3;
      const amountKg = p % 5 === 0 ? 0n : BigInt(10 + ((p * (f + 3)) % 17));
      attestations.push({
        id,
        facility: ref,
        periodStart,
        periodEnd: periodStart + HALF_DAY,
        readingCount: 12n,
        fossilCo2eGrams: BigInt(1_000 + ((p * 37 + f * 101) % 900)),
        biogenicCo2Grams: 7n,
        isCorrection: false,
        revoked,
        challengeState: "None",
        submittedAt: periodStart + HALF_DAY + 60n,
        issuedCreditId: revoked || amountKg === 0n ? null : 65_536n + BigInt(f),
      });
      if (!revoked)
        issuances.push({
          creditId: 65_536n + BigInt(f),
          attestationId: id,
          facility: ref,
          projectId: BigInt(f + 1),
          amountKg,
          boundKg: amountKg,
          timestamp: periodStart + HALF_DAY + 3_600n,
          transactionHash: hex32(5_000_000 + f * 1_000 + p),
        });
    }
    const facility: FacilitySummary = {
      ...ref,
      deviceCount: 1,
      activeDeviceCount: 1,
      attestationCount: attestations.length,
      revokedAttestationCount: attestations.filter((a) => a.revoked).length,
      readingCount: 0n,
      fossilCo2eGrams: 0n,
      biogenicCo2Grams: 0n,
      attestedUntil: end,
      creditsIssuedKg: issuances.reduce((s, i) => s + i.amountKg, 0n),
      creditsRetiredKg: 0n,
    };
    return { facility, attestations, issuances };
  });
}

/**
 * Stands for the indexer (the embedded one, web/src/server/indexer/embedded.ts, or the subgraph
 * backend) over `data`: the methods the leaderboard calls, with their documented order and
 * semantics (every facility's per-day totals by the day a period starts, revoked attestations
 * counted apart, with the credits issued against the standing ones; by day then facility; the
 * explorer spec checks both backends give them), counting the calls and the rows each answer
 * carries. A real indexer would need a chain with N × M quorum-signed
 * attestations, which takes far longer to seed than these counts need.
 */
function countingIndexer(data: History[], o: { answerAfterMs?: number } = {}) {
  const reads = { calls: 0, rows: 0 };
  /** calls out at once: each answer waits `answerAfterMs` (as a network round trip would) */
  const flight = { now: 0, max: 0 };
  const answered = async <T>(answer: () => T): Promise<T> => {
    flight.max = Math.max(flight.max, ++flight.now);
    try {
      if (o.answerAfterMs !== undefined) await new Promise((r) => setTimeout(r, o.answerAfterMs));
      return answer();
    } finally {
      flight.now--;
    }
  };
  const byId = new Map(data.map((h) => [h.facility.code!, h]));
  // by cursor as `list` and `detailList` answer (keyset on the real backends, tested in
  // web/src/server/indexer/keyset.test.ts and subgraph/test/paging.test.ts): here a row's position
  const slice = <T>(rows: T[], page: Page): ListPage<T> => {
    assert.equal(page.skip, undefined, "the leaderboard reads by cursor, never by skip");
    assert.ok((page.first ?? 100) <= 999, "list and detailList answer at most 999 rows");
    const from = page.after === undefined ? 0 : Number(page.after);
    const out = rows.slice(from, from + (page.first ?? 100));
    reads.calls++;
    reads.rows += out.length;
    const end = from + out.length;
    return { rows: out, next: end < rows.length ? String(end) : null, previous: from > 0 ? String(from) : null };
  };
  const ix = {
    list: async (name: string, filter: { facility?: string }, page: Page) =>
      answered(() => {
        assert.equal(name, "facilities");
        return slice(
          data.map((h) => h.facility),
          page,
        );
      }),
    facilitiesDaily: async ({ fromDay, toDay }: Parameters<LeaderboardIndexer["facilitiesDaily"]>[0], page: Page) =>
      answered(() => {
        assert.ok(toDay - fromDay < 1000, "the indexer answers at most 1000 days per call");
        const issued = new Map(data.flatMap((h) => h.issuances).map((i) => [i.attestationId, i.amountKg]));
        const days = new Map<string, FacilityDailyTotals>();
        for (const a of data.flatMap((h) => h.attestations)) {
          const day = Number(a.periodStart / DAY);
          if (day < fromDay || day > toDay) continue;
          const key = `${day} ${a.facility.id}`;
          let d = days.get(key);
          if (!d)
            days.set(
              key,
              (d = {
                facility: a.facility,
                day,
                date: BigInt(day) * DAY,
                attestationCount: 0,
                revokedAttestationCount: 0,
                readingCount: 0n,
                fossilCo2eGrams: 0n,
                biogenicCo2Grams: 0n,
                issuedKg: 0n,
                retiredKg: 0n,
                saleCount: 0,
                soldKg: 0n,
                issuedAgainstKg: 0n,
              }),
            );
          d.attestationCount++;
          if (a.revoked) d.revokedAttestationCount++;
          else {
            d.readingCount += a.readingCount;
            d.fossilCo2eGrams += a.fossilCo2eGrams;
            d.biogenicCo2Grams += a.biogenicCo2Grams;
            d.issuedAgainstKg += issued.get(a.id) ?? 0n;
          }
        }
        // by day, then facility id, as both backends answer
        return slice(
          [...days.values()].sort((a, b) => a.day - b.day || (a.facility.id < b.facility.id ? -1 : 1)),
          page,
        );
      }),
  } as unknown as LeaderboardIndexer;
  return { ix, reads, flight };
}

/** The rows as the leaderboard computed them from each facility's whole history. */
function fromWholeHistory(data: History[]): LeaderboardInput[] {
  return data.map((h) => {
    const current = attestationsInRange(h.attestations, RANGE).counted;
    const ids = new Set(current.map((a) => a.id));
    return {
      facility: h.facility.code!,
      name: null,
      country: null,
      current: sumAttestations(current),
      previous: sumAttestations(attestationsInRange(h.attestations, previousRange(RANGE)).counted),
      creditsIssuedKg: h.issuances.filter((i) => ids.has(i.attestationId)).reduce((s, i) => s + i.amountKg, 0n),
    };
  });
}

/** What the rankings read of a row. */
const ranked = (rows: LeaderboardInput[]) =>
  rows.map((r) => ({
    facility: r.facility,
    creditsIssuedKg: r.creditsIssuedKg,
    current: [
      r.current.attestationCount,
      r.current.readingCount,
      r.current.fossilCo2eGrams,
      r.current.biogenicCo2Grams,
    ],
    previous: [
      r.previous.attestationCount,
      r.previous.readingCount,
      r.previous.fossilCo2eGrams,
      r.previous.biogenicCo2Grams,
    ],
  }));

test("the leaderboard's rows are those of each facility's whole history: totals of both periods, credits of this one", async () => {
  for (const periods of [1, 59, 60, 61, 130, 2_500]) {
    const data = history(3, periods);
    const { ix } = countingIndexer(data);
    assert.deepEqual(
      ranked(await loadLeaderboard(ix, RANGE, {})),
      ranked(fromWholeHistory(data)),
      `${periods} periods`,
    );
  }
  // 40 facilities' previous 30 days are 1,200 per-day rows, read in two pages
  const data = history(40, 120);
  assert.deepEqual(ranked(await loadLeaderboard(countingIndexer(data).ix, RANGE, {})), ranked(fromWholeHistory(data)));
});

test("the leaderboard makes the same few calls for N facilities whatever the history before the period (M periods)", async () => {
  const figures: string[] = [];
  const readsFor = async (facilities: number, periods: number) => {
    const { ix, reads } = countingIndexer(history(facilities, periods));
    await loadLeaderboard(ix, RANGE, {});
    figures.push(`N=${facilities} M=${periods}: ${reads.calls} calls, ${reads.rows} rows`);
    return reads;
  };
  // 60 days of half-day periods fill both periods; more is history before them
  for (const n of [1, 10]) {
    const filled = await readsFor(n, 120);
    // one call for the facilities, one for every facility's per-day totals of each period (30 rows
    // a facility each): none per facility
    assert.deepEqual(filled, { calls: 1 + 1 + 1, rows: n + n * (30 + 30) });
    for (const m of [2_000, 6_000, 20_000]) assert.deepEqual(await readsFor(n, m), filled, `N=${n} M=${m}`);
  }
  // 40 facilities' 30 days are 1,200 rows: two pages of per-day totals for each period
  assert.deepEqual(await readsFor(40, 120), { calls: 1 + 2 + 2, rows: 40 + 40 * (30 + 30) });
  console.log(figures.join("\n"));
});

test("every facility is ranked past the first page of facilities (read by cursor, never by skip)", async () => {
  const data = history(2_100, 2);
  const { ix, reads } = countingIndexer(data);
  const rows = await loadLeaderboard(ix, RANGE, {});
  assert.equal(rows.length, 2_100);
  assert.deepEqual(
    rows.map((r) => r.facility),
    data.map((h) => h.facility.code),
  );
  assert.deepEqual(ranked(rows), ranked(fromWholeHistory(data)));
  // the facilities in pages of 999 (3 calls), the period's per-day totals (2,100 rows: 3 calls)
  // and the previous period's (none: 1 call)
  assert.equal(reads.calls, 3 + 3 + 1);
});

test("the leaderboard's reads run side by side: at most three calls out at the indexer at once, however many facilities", async () => {
  const data = history(50, 120);
  const { ix, flight, reads } = countingIndexer(data, { answerAfterMs: 1 });
  const rows = await loadLeaderboard(ix, RANGE, {});
  assert.deepEqual(ranked(rows), ranked(fromWholeHistory(data)));
  assert.deepEqual([flight.max, reads.calls], [3, 1 + 2 + 2]);
});
