/**
 * Robust anomaly score per device: |x − median| / (1.4826 · MAD) over a rolling window of the
 * device's recent emission rates (mg CO2 per second of interval). It flags, never rejects:
 * a flagged reading is stored and attested like any other, and auditors see the flag.
 */
export class AnomalyScorer {
  readonly #windows = new Map<string, number[]>();
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
    this.#windows.set(deviceId, values.slice(-this.window));
  }
  /** Scores `value` against the window, then adds it. Null score while the window is short. */
  score(deviceId: string, value: number): { score: number | null; flagged: boolean } {
    let w = this.#windows.get(deviceId);
    if (!w) this.#windows.set(deviceId, (w = []));
    let score: number | null = null;
    if (w.length >= this.minSamples) {
      const med = median(w);
      const mad = median(w.map((x) => Math.abs(x - med)));
      // a flat series (MAD 0) scores by relative distance, so a constant sensor that jumps is flagged
      const scale = 1.4826 * mad || Math.max(Math.abs(med) * 0.01, 1e-9);
      score = Math.abs(value - med) / scale;
    }
    w.push(value);
    if (w.length > this.window) w.shift();
    return { score, flagged: score !== null && score > this.threshold };
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}
