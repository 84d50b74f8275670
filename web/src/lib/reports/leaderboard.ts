/**
 * The leaderboard (seed 002, "ranks factories by emissions performance"): facilities ranked by the
 * verified reductions credited to them and by the change of their attested fossil emissions against
 * the previous period of the same length. Intensity per unit of output needs production data that no
 * reading carries (sdk/src/reading/schema.ts), so it is not ranked; the page says so.
 */
import type { AttestedTotals } from "./aggregate.ts";

/** What the rankings compare of a period: the attestations that stand and their totals. */
export type LeaderboardTotals = Omit<AttestedTotals, "correctionCount">;

export type LeaderboardInput = {
  /** protocol id text (ktda-kangaita), or the bytes32 when the facility has no text id */
  facility: string;
  name: string | null;
  country: string | null;
  current: LeaderboardTotals;
  previous: LeaderboardTotals;
  /** credits issued (kg CO2e = verified reductions) against the attestations the period counts */
  creditsIssuedKg: bigint;
};

export type Ranked<T> = T & { rank: number };

/** Competition ranking ("1, 1, 3"): equal keys share a rank. `cmp` orders best first. */
export function rank<T>(rows: readonly T[], cmp: (a: T, b: T) => number, tie: (a: T, b: T) => number): Ranked<T>[] {
  const sorted = [...rows].sort((a, b) => cmp(a, b) || tie(a, b));
  let rankNo = 0;
  return sorted.map((r, i) => {
    if (i === 0 || cmp(sorted[i - 1]!, r) !== 0) rankNo = i + 1;
    return { ...r, rank: rankNo };
  });
}

const byName = (a: LeaderboardInput, b: LeaderboardInput) => a.facility.localeCompare(b.facility);
const desc = (x: bigint, y: bigint) => (x === y ? 0 : x > y ? -1 : 1);
const asc = (x: bigint, y: bigint) => -desc(x, y);

/** Most verified reductions (credits issued) first; facilities without any are ranked last, together. */
export function rankByReduction(rows: readonly LeaderboardInput[]): Ranked<LeaderboardInput>[] {
  return rank(rows, (a, b) => desc(a.creditsIssuedKg, b.creditsIssuedKg), byName);
}

export type ChangeRow = LeaderboardInput & {
  /** current − previous attested fossil CO2e (g); negative = less emitted */
  changeGrams: bigint;
  /** change in basis points of the previous period (−2500 = −25 %) */
  changeBp: bigint;
};

/**
 * Largest relative fall of attested fossil emissions first. Only facilities with attested emissions
 * in both periods can be compared; the others come back in `unranked` with the reason.
 */
export function rankByChange(rows: readonly LeaderboardInput[]): {
  ranked: Ranked<ChangeRow>[];
  unranked: { row: LeaderboardInput; reason: string }[];
} {
  const comparable: ChangeRow[] = [];
  const unranked: { row: LeaderboardInput; reason: string }[] = [];
  for (const r of rows) {
    if (r.previous.attestationCount === 0 || r.previous.fossilCo2eGrams === 0n)
      unranked.push({ row: r, reason: "no attested fossil emissions in the previous period" });
    else if (r.current.attestationCount === 0) unranked.push({ row: r, reason: "no attestations in this period" });
    else {
      const changeGrams = r.current.fossilCo2eGrams - r.previous.fossilCo2eGrams;
      comparable.push({ ...r, changeGrams, changeBp: (changeGrams * 10_000n) / r.previous.fossilCo2eGrams });
    }
  }
  return {
    ranked: rank(
      comparable,
      (a, b) => asc(a.changeBp, b.changeBp),
      (a, b) => asc(a.changeGrams, b.changeGrams) || byName(a, b),
    ),
    unranked: unranked.sort((a, b) => byName(a.row, b.row)),
  };
}

/** `-2534n` bp → `"−25.34 %"`, `0n` → `"0.00 %"`. */
export function formatBasisPoints(bp: bigint): string {
  const neg = bp < 0n;
  const abs = neg ? -bp : bp;
  return `${neg ? "−" : bp > 0n ? "+" : ""}${abs / 100n}.${(abs % 100n).toString().padStart(2, "0")} %`;
}
