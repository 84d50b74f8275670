/**
 * Pure figures of the dashboard, leaderboard and report, from what the indexer answers. Emissions
 * stay bigint (grams on-chain, milligrams per reading) until they reach the screen.
 */
import type { AttestationSummary, DeviceSummary, ReadingSummary, SourceTotals } from "@carbonproof/subgraph/client";
import { type DayRange, dayOf, dayToIso, inRange } from "./period.ts";

export type AttestationSplit<A extends AttestationSummary> = {
  /** attestations whose period starts in the range and that are not revoked: they count */
  counted: A[];
  /** revoked attestations of the range: listed apart, never counted */
  revoked: A[];
};

/** Splits a facility's attestations into those the period counts and its revoked ones, oldest first. */
export function attestationsInRange<A extends AttestationSummary>(
  all: readonly A[],
  range: DayRange,
): AttestationSplit<A> {
  const inside = all
    .filter((a) => inRange(a.periodStart, range))
    .sort((a, b) =>
      a.periodStart === b.periodStart ? Number(a.submittedAt - b.submittedAt) : a.periodStart < b.periodStart ? -1 : 1,
    );
  return { counted: inside.filter((a) => !a.revoked), revoked: inside.filter((a) => a.revoked) };
}

export type AttestedTotals = {
  attestationCount: number;
  correctionCount: number;
  readingCount: bigint;
  fossilCo2eGrams: bigint;
  biogenicCo2Grams: bigint;
};

/** The chain's totals of a set of attestations: the sum of their on-chain header totals. */
export function sumAttestations(list: readonly AttestationSummary[]): AttestedTotals {
  const t: AttestedTotals = {
    attestationCount: 0,
    correctionCount: 0,
    readingCount: 0n,
    fossilCo2eGrams: 0n,
    biogenicCo2Grams: 0n,
  };
  for (const a of list) {
    t.attestationCount++;
    if (a.isCorrection) t.correctionCount++;
    t.readingCount += a.readingCount;
    t.fossilCo2eGrams += a.fossilCo2eGrams;
    t.biogenicCo2Grams += a.biogenicCo2Grams;
  }
  return t;
}

export type DailyPoint = {
  day: number;
  date: string;
  attestationCount: number;
  fossilCo2eGrams: bigint;
  biogenicCo2Grams: bigint;
};

/** One point per day of the range (days without attestations are zero), by the day each attestation's period starts. */
export function dailyEmissions(counted: readonly AttestationSummary[], range: DayRange): DailyPoint[] {
  const points: DailyPoint[] = [];
  for (let d = range.fromDay; d <= range.toDay; d++)
    points.push({ day: d, date: dayToIso(d), attestationCount: 0, fossilCo2eGrams: 0n, biogenicCo2Grams: 0n });
  for (const a of counted) {
    const p = points[dayOf(a.periodStart) - range.fromDay];
    if (!p) continue;
    p.attestationCount++;
    p.fossilCo2eGrams += a.fossilCo2eGrams;
    p.biogenicCo2Grams += a.biogenicCo2Grams;
  }
  return points;
}

// ---------------------------------------------------------------- sources

/**
 * How CBAM and the GHG Protocol file a source: direct (scope 1), indirect (electricity, scope 2),
 * manual (fuel or electricity entered by hand: the indexer does not split them), or none.
 */
export type SourceScope = "direct" | "indirect" | "manual" | "none";

const SOURCES: Record<string, { label: string; scope: SourceScope; approach: string }> = {
  "flue-gas": {
    label: "Flue gas (stack CO2 measured)",
    scope: "direct",
    approach: "measurement-based: stack CO2 concentration × flow × density per reading",
  },
  fuel: {
    label: "Fuels burnt",
    scope: "direct",
    approach: "calculation-based: fuel quantity × net calorific value × emission factor (IPCC 2006 Tier 1)",
  },
  "electricity-grid": {
    label: "Electricity from the grid",
    scope: "indirect",
    approach: "calculation-based: metered kWh × grid emission factor (location-based)",
  },
  manual: {
    label: "Entered by hand (fuel or electricity, with an evidence file)",
    scope: "manual",
    approach:
      "calculation-based, as for the fuel or electricity entered; the evidence file's SHA-256 is in the signed reading",
  },
  "electricity-onsite-renewable": {
    label: "Electricity, on-site renewable",
    scope: "none",
    approach: "metered kWh; no grid emissions (reported apart)",
  },
};

export function sourceInfo(source: string): { label: string; scope: SourceScope; approach: string } {
  return (
    SOURCES[source] ?? {
      label: source,
      scope: source.startsWith("electricity") ? "indirect" : "direct",
      approach: "as the methodology computes this reading kind",
    }
  );
}

/** Order sources are listed in: direct, then indirect, then the rest; by name within. */
const SCOPE_ORDER: Record<SourceScope, number> = { direct: 0, indirect: 1, manual: 2, none: 3 };

export type SourceRow = {
  source: string;
  label: string;
  scope: SourceScope;
  readingCount: number;
  fossilCo2eMg: bigint;
  biogenicCo2Mg: bigint;
};

/** Emissions per source over all days of `rows`. */
export function sourceBreakdown(
  rows: readonly Pick<SourceTotals, "source" | "readingCount" | "fossilCo2eMg" | "biogenicCo2Mg">[],
): SourceRow[] {
  const by = new Map<string, SourceRow>();
  for (const r of rows) {
    let s = by.get(r.source);
    if (!s) {
      const info = sourceInfo(r.source);
      by.set(
        r.source,
        (s = {
          source: r.source,
          label: info.label,
          scope: info.scope,
          readingCount: 0,
          fossilCo2eMg: 0n,
          biogenicCo2Mg: 0n,
        }),
      );
    }
    s.readingCount += r.readingCount;
    s.fossilCo2eMg += r.fossilCo2eMg;
    s.biogenicCo2Mg += r.biogenicCo2Mg;
  }
  return [...by.values()].sort(
    (a, b) => SCOPE_ORDER[a.scope] - SCOPE_ORDER[b.scope] || a.source.localeCompare(b.source),
  );
}

/** Sums of a breakdown by scope (milligrams). */
export function scopeTotals(
  rows: readonly SourceRow[],
): Record<SourceScope, { fossilCo2eMg: bigint; biogenicCo2Mg: bigint; readingCount: number }> {
  const out = {
    direct: { fossilCo2eMg: 0n, biogenicCo2Mg: 0n, readingCount: 0 },
    indirect: { fossilCo2eMg: 0n, biogenicCo2Mg: 0n, readingCount: 0 },
    manual: { fossilCo2eMg: 0n, biogenicCo2Mg: 0n, readingCount: 0 },
    none: { fossilCo2eMg: 0n, biogenicCo2Mg: 0n, readingCount: 0 },
  };
  for (const r of rows) {
    out[r.scope].fossilCo2eMg += r.fossilCo2eMg;
    out[r.scope].biogenicCo2Mg += r.biogenicCo2Mg;
    out[r.scope].readingCount += r.readingCount;
  }
  return out;
}

/** Per day and source (fossil CO2e, mg), every day of the range, for a stacked chart. */
export function dailyBySource(
  rows: readonly SourceTotals[],
  range: DayRange,
): { sources: string[]; days: { date: string; values: Record<string, bigint> }[] } {
  const sources = sourceBreakdown(rows).map((r) => r.source);
  const days: { date: string; values: Record<string, bigint> }[] = [];
  for (let d = range.fromDay; d <= range.toDay; d++)
    days.push({ date: dayToIso(d), values: Object.fromEntries(sources.map((s) => [s, 0n])) });
  for (const r of rows) {
    const p = days[r.day - range.fromDay];
    if (p) p.values[r.source] = (p.values[r.source] ?? 0n) + r.fossilCo2eMg;
  }
  return { sources, days };
}

/**
 * Readings summed per source, checked against the attestation they are in: the methodology floors
 * each batch's milligrams to grams once (docs/methodology.md), so floor(Σ mg / 1000) must equal the
 * on-chain gram totals, and the count the header's reading count.
 */
export function reconcileAttestation(
  a: Pick<AttestationSummary, "readingCount" | "fossilCo2eGrams" | "biogenicCo2Grams">,
  readings: readonly Pick<ReadingSummary, "fossilCo2eMg" | "biogenicCo2Mg">[],
): { ok: boolean; readingCount: number; fossilCo2eMg: bigint; biogenicCo2Mg: bigint; problems: string[] } {
  let fossil = 0n;
  let biogenic = 0n;
  for (const r of readings) {
    fossil += r.fossilCo2eMg;
    biogenic += r.biogenicCo2Mg;
  }
  const problems: string[] = [];
  if (BigInt(readings.length) !== a.readingCount)
    problems.push(`${readings.length} readings indexed from the bundle, the header says ${a.readingCount}`);
  if (fossil / 1000n !== a.fossilCo2eGrams)
    problems.push(`readings sum to ${fossil / 1000n} g fossil CO2e, the header says ${a.fossilCo2eGrams} g`);
  if (biogenic / 1000n !== a.biogenicCo2Grams)
    problems.push(`readings sum to ${biogenic / 1000n} g biogenic CO2, the header says ${a.biogenicCo2Grams} g`);
  return {
    ok: problems.length === 0,
    readingCount: readings.length,
    fossilCo2eMg: fossil,
    biogenicCo2Mg: biogenic,
    problems,
  };
}

// ---------------------------------------------------------------- devices

export type DeviceActivity = {
  deviceId: string;
  kind: DeviceSummary["kind"] | null;
  status: DeviceSummary["status"] | null;
  readingCount: number;
  firstTs: number | null;
  lastTs: number | null;
  /** longest time between two consecutive readings of the device (s) */
  maxGapS: number | null;
  /** typical time between readings (median, s) */
  medianIntervalS: number | null;
  /** gaps longer than 3 × the median interval */
  gaps: { fromTs: number; toTs: number }[];
};

/** Last seen and gaps of each device from its indexed readings (registered devices without readings included). */
export function deviceActivity(
  readings: readonly Pick<ReadingSummary, "deviceId" | "ts">[],
  devices: readonly Pick<DeviceSummary, "code" | "id" | "kind" | "status">[],
): DeviceActivity[] {
  const ts = new Map<string, number[]>();
  for (const r of readings) {
    let list = ts.get(r.deviceId);
    if (!list) ts.set(r.deviceId, (list = []));
    list.push(r.ts);
  }
  const known = new Map(devices.map((d) => [d.code ?? d.id, d]));
  const ids = new Set([...known.keys(), ...ts.keys()]);
  return [...ids].sort().map((deviceId) => {
    const d = known.get(deviceId);
    const list = (ts.get(deviceId) ?? []).sort((a, b) => a - b);
    const diffs: number[] = [];
    for (let i = 1; i < list.length; i++) diffs.push(list[i]! - list[i - 1]!);
    const sorted = [...diffs].sort((a, b) => a - b);
    const median = sorted.length ? sorted[Math.floor(sorted.length / 2)]! : null;
    const gaps: DeviceActivity["gaps"] = [];
    if (median !== null)
      for (let i = 1; i < list.length; i++)
        if (list[i]! - list[i - 1]! > 3 * Math.max(median, 1)) gaps.push({ fromTs: list[i - 1]!, toTs: list[i]! });
    return {
      deviceId,
      kind: d?.kind ?? null,
      status: d?.status ?? null,
      readingCount: list.length,
      firstTs: list[0] ?? null,
      lastTs: list.at(-1) ?? null,
      maxGapS: sorted.at(-1) ?? null,
      medianIntervalS: median,
      gaps,
    };
  });
}
