import { test } from "node:test";
import assert from "node:assert/strict";
import type { AttestedTotals } from "./aggregate.ts";
import { formatBasisPoints, rankByChange, rankByReduction, type LeaderboardInput } from "./leaderboard.ts";

const totals = (fossil: bigint, count = 1): AttestedTotals => ({
  attestationCount: count,
  correctionCount: 0,
  readingCount: 10n,
  fossilCo2eGrams: fossil,
  biogenicCo2Grams: 0n,
});
const row = (
  facility: string,
  current: AttestedTotals,
  previous: AttestedTotals,
  creditsIssuedKg = 0n,
): LeaderboardInput => ({
  facility,
  name: null,
  country: null,
  current,
  previous,
  creditsIssuedKg,
});

test("ranks by credits issued, ties share a rank (competition ranking)", () => {
  const ranked = rankByReduction([
    row("c", totals(1n), totals(1n), 50n),
    row("a", totals(1n), totals(1n), 100n),
    row("b", totals(1n), totals(1n), 50n),
    row("d", totals(1n), totals(1n), 0n),
  ]);
  assert.deepEqual(
    ranked.map((r) => [r.facility, r.rank]),
    [
      ["a", 1],
      ["b", 2],
      ["c", 2],
      ["d", 4],
    ],
  );
});

test("ranks by relative change of attested fossil emissions, largest fall first; facilities without a previous period apart", () => {
  const { ranked, unranked } = rankByChange([
    row("small-drop", totals(900n), totals(1_000n)), // −10 %
    row("big-drop", totals(5_000n), totals(10_000n)), // −50 %
    row("rise", totals(1_200n), totals(1_000n)), // +20 %
    row("new", totals(1_000n), totals(0n, 0)),
    row("stopped", totals(0n, 0), totals(1_000n)),
  ]);
  assert.deepEqual(
    ranked.map((r) => [r.facility, r.rank, r.changeBp, r.changeGrams]),
    [
      ["big-drop", 1, -5000n, -5_000n],
      ["small-drop", 2, -1000n, -100n],
      ["rise", 3, 2000n, 200n],
    ],
  );
  assert.deepEqual(
    unranked.map((u) => [u.row.facility, u.reason]),
    [
      ["new", "no attested fossil emissions in the previous period"],
      ["stopped", "no attestations in this period"],
    ],
  );
});

test("formats basis points as a signed percentage", () => {
  assert.equal(formatBasisPoints(-2534n), "−25.34 %");
  assert.equal(formatBasisPoints(5n), "+0.05 %");
  assert.equal(formatBasisPoints(0n), "0.00 %");
});
