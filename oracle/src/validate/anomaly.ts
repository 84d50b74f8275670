/**
 * Robust anomaly score per device: |x − median| / (1.4826 · MAD) over a rolling window of the
 * device's recent emission rates (mg CO2 per second of interval). It flags, never rejects:
 * a flagged reading is stored and attested like any other, and auditors see the flag.
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
      const mad = sortedMad(w.sorted, med);
      // a flat series (MAD 0) scores by relative distance, so a constant sensor that jumps is flagged
      const scale = 1.4826 * mad || Math.max(Math.abs(med) * 0.01, 1e-9);
      score = Math.abs(value - med) / scale;
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

/** The median and MAD of a window as the scorer computes them. */
export function windowStats(xs: number[]): { median: number; mad: number } {
  const s = [...xs].sort((a, b) => a - b);
  const median = sortedMedian(s);
  return { median, mad: sortedMad(s, median) };
}
