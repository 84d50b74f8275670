import { test } from "node:test";
import assert from "node:assert/strict";
import { formatCount, formatDateTime, formatGramsAsTonnes, formatMgAsGrams, shortHash } from "./format.ts";

test("grams CO2e read as tonnes with kilogram precision", () => {
  assert.equal(formatGramsAsTonnes(0n), "0.000");
  assert.equal(formatGramsAsTonnes(1_234_567_890n), "1,234.568");
  assert.equal(formatGramsAsTonnes(499n), "0.000");
  assert.equal(formatGramsAsTonnes(500n), "0.001");
  assert.equal(formatGramsAsTonnes(-2_500_000n), "-2.500");
});

test("counts, times and hashes", () => {
  assert.equal(formatCount(1_008n), "1,008");
  assert.equal(formatDateTime(1_763_892_000n), "2025-11-23 10:00 UTC");
  // past what a Date holds (a uint64 anyone may write: a retirement's consumption period): the
  // number, not a RangeError from toISOString (review: the certificate page answered 500)
  assert.equal(formatDateTime(2n ** 64n - 1n), "18446744073709551615 (unix seconds)");
  assert.equal(shortHash(`0x${"ab".repeat(32)}`), "0xabababab…ababab");
});

test("a reading's milligrams read as grams with milligram precision", () => {
  assert.equal(formatMgAsGrams(1_425_123n), "1,425.123");
  assert.equal(formatMgAsGrams(7n), "0.007");
  assert.equal(formatMgAsGrams(-1_500n), "-1.500");
});
