import { test } from "node:test";
import assert from "node:assert/strict";
import { duration, gramsAsKg, gramsAsTonnes, mgAsKg, mgToKgNumber } from "./format.ts";

test("grams show as exact kilograms and as tonnes to the kilogram", () => {
  assert.equal(gramsAsKg(1_234_567n), "1,234.567");
  assert.equal(gramsAsKg(5n), "0.005");
  assert.equal(gramsAsKg(-1_500n), "-1.500");
  assert.equal(gramsAsTonnes(1_234_567n), "1.235");
  assert.equal(gramsAsTonnes(499n), "0.000");
});

test("milligrams show as kilograms rounded down to the gram, like the chain's totals", () => {
  assert.equal(mgAsKg(1_999_999n), "1.999");
  assert.equal(mgToKgNumber(2_500_000n), 2.5);
});

test("durations read in the largest sensible unit", () => {
  assert.equal(duration(45), "45 s");
  assert.equal(duration(600), "10 min");
  assert.equal(duration(5400), "90 min");
  assert.equal(duration(3 * 3600), "3.0 h");
  assert.equal(duration(3 * 86_400), "3.0 d");
});
