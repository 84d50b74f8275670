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
/** Mean absolute deviation around the median. */
function meanAdOf(xs: number[]): number {
  const med = medianOf(xs);
  return xs.reduce((sum, x) => sum + Math.abs(x - med), 0) / xs.length;
}
/** The score's unit: 1.4826 · MAD, or when MAD is 0, 1.253314 · MeanAD, never under 1 % of |median| (nor 1e-9). */
function spreadOf(xs: number[]): number {
  const med = medianOf(xs);
  return 1.4826 * madOf(xs) || Math.max(1.253314 * meanAdOf(xs), Math.abs(med) * 0.01, 1e-9);
}

test("median and MAD of the sorted window equal the plain definitions (sort, take the middle)", () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: -1000, max: 1000 }), { minLength: 1, maxLength: 80 }), (xs) => {
      const { median, mad, meanAd, spread } = windowStats(xs);
      assert.equal(median, medianOf(xs));
      assert.equal(mad, madOf(xs));
      assert.ok(Math.abs(meanAd - meanAdOf(xs)) <= 1e-9 * Math.max(1, meanAd));
      assert.ok(Math.abs(spread - spreadOf(xs)) <= 1e-9 * Math.max(1, spread));
    }),
    { numRuns: 2000 },
  );
});

test("known answer: median 3, MAD 1 for [1, 2, 3, 4, 100]; 100 scores (100−3)/1.4826", () => {
  const stats = windowStats([1, 2, 3, 4, 100]);
  assert.deepEqual([stats.median, stats.mad, stats.spread], [3, 1, 1.4826]);
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
          const expected = Math.abs(x - medianOf(seen)) / spreadOf(seen);
          assert.ok(Math.abs(out.score! - expected) <= 1e-9 * Math.max(1, expected), `${out.score} vs ${expected}`);
        } else assert.equal(out.score, null);
        seen.push(x);
        if (seen.length > 16) seen.shift();
      }
    }),
    { numRuns: 300 },
  );
});

test("a meter idle most of the window (median and MAD 0): its regular working readings are not flagged, a reading far above them is", () => {
  // a day of 48 half-hourly readings: idle (rate 0) for 36, working for 12 at 95…105 mg/s; a
  // window of 64 readings then holds 12 to 24 working ones, more than half of it zeros
  const s = new AnomalyScorer({ window: 64, minSamples: 12, threshold: 6 });
  const seen: number[] = [];
  const flaggedWorking: string[] = [];
  for (let day = 0; day < 5; day++) {
    for (let slot = 0; slot < 48; slot++) {
      const rate = slot < 36 ? 0 : 95 + ((slot * 7 + day * 3) % 11);
      const out = s.score("meter", rate);
      // day 0 begins with an empty window: its first working readings follow nothing but zeros
      if (day > 0 && rate > 0 && out.flagged) flaggedWorking.push(`day ${day} slot ${slot}: score ${out.score}`);
      seen.push(rate);
    }
  }
  assert.deepEqual(flaggedWorking, [], "no regular working reading is flagged");
  const { median, mad } = windowStats(seen.slice(-64));
  assert.deepEqual([median, mad], [0, 0], "the case: median and MAD of the window are 0");
  const spike = s.score("meter", 1_000);
  assert.equal(spike.flagged, true, `a reading 10 times the working rate is flagged (score ${spike.score})`);
  assert.equal(s.score("meter", 100).flagged, false, "and the next regular one is not");
});

test("with MAD 0 the unit is never under 1 % of the median: a flat series that jumps is flagged, one with a rare small blip is held no tighter", () => {
  const flat = new AnomalyScorer({ window: 16, minSamples: 4, threshold: 6 });
  flat.seed(
    "d",
    Array.from({ length: 16 }, () => 500),
  );
  assert.equal(flat.score("d", 520).flagged, false, "4 % off: score 4");
  assert.equal(flat.score("d", 560).flagged, true, "12 % off: score 12");
  const blip = new AnomalyScorer({ window: 16, minSamples: 4, threshold: 6 });
  blip.seed("d", [...Array.from({ length: 15 }, () => 500), 500.5]);
  assert.ok(Math.abs(blip.score("d", 520).score! - 4) < 1e-9, "the 1 % floor, not 1.253314 · MeanAD (0.039)");
  const zeros = new AnomalyScorer({ window: 16, minSamples: 4, threshold: 6 });
  zeros.seed(
    "d",
    Array.from({ length: 16 }, () => 0),
  );
  assert.equal(zeros.score("d", 1).flagged, true, "after zeros only, any non-zero rate is a change");
});
