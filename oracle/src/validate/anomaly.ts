/**
 * Robust anomaly score per device: |x − median| / (1.4826 · MAD) over a rolling window of the
 * device's recent emission rates (mg CO2 per second of interval), or, when MAD is 0, over
 * another estimate of the same standard deviation (`spread`). It flags, never rejects: a
 * flagged reading is stored and attested like any other, and auditors see the flag.
 *
 * Each device's window is kept twice: in arrival order (to drop the oldest) and sorted (binary
 * insertion), so the median is read off the sorted copy and the MAD found by merging the
 * deviations on either side of the median, which are already ordered: O(window) per reading
 * instead of two sorts (oracle/test/anomaly.test.ts holds it to the plain definitions).
 */
type Window = { order: number[]; sorted: number[] };

export class AnomalyScorer {
  readonly #windows = new Map<string, Window>();
  readonly window: number;
  readonly minSamples: number;
  readonly threshold: number;
  constructor(opts: { window: number; minSamples: number; threshold: number }) {
    this.window = opts.window;
    this.minSamples = opts.minSamples;
    this.threshold = opts.threshold;
  }
  has(deviceId: string): boolean {
    return this.#windows.has(deviceId);
  }
  /** Seeds a device's window (e.g. from storage after a restart). */
  seed(deviceId: string, values: number[]): void {
    const order = values.slice(-this.window);
    this.#windows.set(deviceId, { order, sorted: [...order].sort((a, b) => a - b) });
  }
  /** Scores `value` against the window, then adds it. Null score while the window is short. */
  score(deviceId: string, value: number): { score: number | null; flagged: boolean } {
    let w = this.#windows.get(deviceId);
    if (!w) this.#windows.set(deviceId, (w = { order: [], sorted: [] }));
    let score: number | null = null;
    if (w.order.length >= this.minSamples) {
      const med = sortedMedian(w.sorted);
      score = Math.abs(value - med) / spread(w.sorted, med);
    }
    w.order.push(value);
    w.sorted.splice(lowerBound(w.sorted, value), 0, value);
    if (w.order.length > this.window) w.sorted.splice(lowerBound(w.sorted, w.order.shift()!), 1);
    return { score, flagged: score !== null && score > this.threshold };
  }
}

/** First index of `s` (ascending) whose value is ≥ x. */
function lowerBound(s: number[], x: number): number {
  let lo = 0;
  let hi = s.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (s[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function sortedMedian(s: number[]): number {
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/**
 * Median of |s[i] − med| for ascending `s`: the deviations of the values below the median,
 * read downwards, and of those above it, read upwards, are each ascending, so merging them
 * gives every deviation in order without sorting.
 */
function sortedMad(s: number[], med: number): number {
  const n = s.length;
  let j = lowerBound(s, med); // s[j..] ≥ med
  let i = j - 1; // s[..i] < med
  const dev = (k: number) => {
    // k-th smallest deviation (0-based)
    let d = 0;
    for (let c = 0; c <= k; c++) {
      if (i >= 0 && (j >= n || med - s[i]! <= s[j]! - med)) d = med - s[i--]!;
      else d = s[j++]! - med;
    }
    return d;
  };
  const mid = n >> 1;
  if (n % 2) return dev(mid);
  const lo = dev(mid - 1);
  const hi = dev(0); // the next one in order
  return (lo + hi) / 2;
}

/**
 * The window's standard deviation, the score's unit, estimated robustly: 1.4826 · MAD (σ for
 * normally distributed values). MAD is 0 whenever more than half the window holds one value, a
 * meter idle most of the window (rate 0) the common case; it then says nothing of the other
 * values, and a unit of 0 (or 1 % of a median of 0) flagged every reading of the meter's working
 * hours. Then, as in IBM's modified z-score (Cognos Analytics 11.1, "Modified z score",
 * https://www.ibm.com/docs/en/cognos-analytics/11.1.0?topic=terms-modified-z-score: "If MAD does
 * equal 0 … divide by 1.253314*MeanAD"), 1.253314 · the mean absolute deviation around the
 * median: √(π/2) · MeanAD is σ for normally distributed values too, so the threshold keeps its
 * meaning (standard deviations). A value far above the working readings is still flagged; working
 * readings themselves are flagged only while they make up less than about 1 / (1.25 · threshold)
 * of the window (13 % at 6): the first ones after a long idle stretch, a change the flag is for.
 *
 * Never below 1 % of |median| while MAD is 0: a flat series (MeanAD 0 too) scores by relative
 * distance, so a constant sensor that jumps is flagged, and one with a rare small blip is held no
 * tighter than that. 1e-9 for a window of zeros only: any non-zero rate is flagged.
 */
function spread(s: number[], med: number): number {
  const mad = sortedMad(s, med);
  if (mad > 0) return 1.4826 * mad;
  return Math.max(1.253314 * meanAbsDeviation(s, med), Math.abs(med) * 0.01, 1e-9);
}

/** Mean of |x − med| over the window: O(window), asked for only when MAD is 0. */
function meanAbsDeviation(s: number[], med: number): number {
  let sum = 0;
  for (const x of s) sum += Math.abs(x - med);
  return sum / s.length;
}

/** The median, MAD, mean absolute deviation around the median and score unit of a window as the scorer computes them. */
export function windowStats(xs: number[]): { median: number; mad: number; meanAd: number; spread: number } {
  const s = [...xs].sort((a, b) => a - b);
  const median = sortedMedian(s);
  return { median, mad: sortedMad(s, median), meanAd: meanAbsDeviation(s, median), spread: spread(s, median) };
}
