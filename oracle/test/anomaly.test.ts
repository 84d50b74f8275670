import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { AnomalyScorer, windowStats } from "../src/validate/anomaly.ts";

/** The plain definitions: sort and take the middle. */
function medianOf(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}
function madOf(xs: number[]): number {
  const med = medianOf(xs);
  return medianOf(xs.map((x) => Math.abs(x - med)));
}

test("median and MAD of the sorted window equal the plain definitions (sort, take the middle)", () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: -1000, max: 1000 }), { minLength: 1, maxLength: 80 }), (xs) => {
      const { median, mad } = windowStats(xs);
      assert.equal(median, medianOf(xs));
      assert.equal(mad, madOf(xs));
    }),
    { numRuns: 2000 },
  );
});

test("known answer: median 3, MAD 1 for [1, 2, 3, 4, 100]; 100 scores (100−3)/1.4826", () => {
  assert.deepEqual(windowStats([1, 2, 3, 4, 100]), { median: 3, mad: 1 });
  const s = new AnomalyScorer({ window: 5, minSamples: 5, threshold: 6 });
  s.seed("d", [1, 2, 3, 4, 100]);
  const out = s.score("d", 100);
  assert.ok(Math.abs(out.score! - 97 / 1.4826) < 1e-9);
  assert.equal(out.flagged, true);
});

test("the rolling window scores as the naive definition over the last `window` values", () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: 500 }), { minLength: 1, maxLength: 200 }), (xs) => {
      const s = new AnomalyScorer({ window: 16, minSamples: 4, threshold: 6 });
      const seen: number[] = [];
      for (const x of xs) {
        const out = s.score("d", x);
        if (seen.length >= 4) {
          const med = medianOf(seen);
          const scale = 1.4826 * madOf(seen) || Math.max(Math.abs(med) * 0.01, 1e-9);
          assert.equal(out.score, Math.abs(x - med) / scale);
        } else assert.equal(out.score, null);
        seen.push(x);
        if (seen.length > 16) seen.shift();
      }
    }),
    { numRuns: 300 },
  );
});
