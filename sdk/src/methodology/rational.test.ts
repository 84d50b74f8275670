import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { DECIMAL_MAX_LENGTH, add, decimal, div, floor, int, mul, toFixedPoint } from "./rational.ts";

test("fixed-point conversion round-trips: n / 10^p → n for every safe n and p ≤ 6", () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 2 ** 40 }), fc.integer({ min: 0, max: 6 }), (n, p) => {
      assert.equal(toFixedPoint(n / 10 ** p, p), BigInt(n));
    }),
  );
});

test("fixed-point rejects more decimals than allowed and non-finite numbers", () => {
  assert.equal(toFixedPoint(1.2345, 3), null);
  assert.equal(toFixedPoint(Number.NaN, 3), null);
  assert.equal(toFixedPoint(Number.POSITIVE_INFINITY, 3), null);
  assert.equal(toFixedPoint(12.5, 3), 12500n);
});

test("decimal parsing is exact and rational arithmetic agrees with bigint", () => {
  assert.deepEqual(decimal("43.0"), { n: 430n, d: 10n });
  assert.equal(floor(mul(int(1_000_000), decimal("43.0"), decimal("74100"), { n: 1n, d: 1000n })), 3_186_300_000n);
  fc.assert(
    fc.property(fc.bigInt({ min: 0n, max: 10n ** 15n }), fc.bigInt({ min: 1n, max: 10n ** 9n }), (a, b) => {
      assert.equal(floor(div(int(a), int(b))), a / b);
      assert.equal(floor(add(int(a), int(b))), a + b);
    }),
  );
  for (const bad of ["", "1.", ".5", "-1", "1e3", "01"])
    assert.throws(() => decimal(bad), { code: "INVALID_FACTOR_SET" });
});

test("decimal refuses more than DECIMAL_MAX_LENGTH characters, and parses each text once", () => {
  const longest = `1${"0".repeat(DECIMAL_MAX_LENGTH - 1)}`;
  assert.equal(decimal(longest).n, 10n ** BigInt(DECIMAL_MAX_LENGTH - 1));
  assert.throws(() => decimal(`${longest}0`), {
    code: "INVALID_FACTOR_SET",
    message: new RegExp(`longer than the ${DECIMAL_MAX_LENGTH}`),
  });
  assert.throws(() => decimal("9".repeat(1_000_000)), { code: "INVALID_FACTOR_SET" });
  // the same text gives the same (frozen) fraction: a factor is parsed once, not once per reading
  const once = decimal("74100");
  assert.equal(decimal("74100"), once);
  assert.ok(Object.isFrozen(once));
});
