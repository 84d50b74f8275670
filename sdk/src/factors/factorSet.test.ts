import assert from "node:assert/strict";
import { test } from "node:test";
import { DECIMAL_MAX_LENGTH } from "../methodology/rational.ts";
import { defaultFactorSet, parseFactorSet } from "./factorSet.ts";

test("a factor set's decimals are at most DECIMAL_MAX_LENGTH characters (a set comes with a bundle, untrusted)", () => {
  const base = defaultFactorSet().content;
  const withCo2 = (co2KgPerTj: string) => {
    const content = structuredClone(base);
    content.fuels.diesel!.co2KgPerTj = co2KgPerTj;
    return content;
  };
  const longest = `7${"0".repeat(DECIMAL_MAX_LENGTH - 3)}.0`;
  assert.equal(longest.length, DECIMAL_MAX_LENGTH);
  assert.equal(parseFactorSet(withCo2(longest)).content.fuels.diesel!.co2KgPerTj, longest);
  for (const tooLong of [`${longest}0`, `1${"0".repeat(1_000_000)}`]) {
    assert.throws(() => parseFactorSet(withCo2(tooLong)), {
      code: "INVALID_FACTOR_SET",
      message: new RegExp(`fuels.diesel.co2KgPerTj: expected at most ${DECIMAL_MAX_LENGTH} characters`),
    });
  }
  const gwp = structuredClone(base);
  gwp.gwp.n2o = `2${"7".repeat(DECIMAL_MAX_LENGTH)}`;
  assert.throws(() => parseFactorSet(gwp), { code: "INVALID_FACTOR_SET", message: /gwp.n2o/ });
});

test("every decimal of the built-in factor sets is within the limit (the longest is 6 characters)", () => {
  let longest = 0;
  const walk = (v: unknown): void => {
    if (typeof v === "string" && /^[0-9.]+$/.test(v)) longest = Math.max(longest, v.length);
    else if (v !== null && typeof v === "object") Object.values(v).forEach(walk);
  };
  for (const gwp of ["AR5", "AR6"] as const)
    for (const sector of ["energy", "manufacturing"] as const) {
      const set = defaultFactorSet({ gwp, sector });
      walk({ gwp: set.content.gwp, fuels: set.content.fuels });
      assert.equal(parseFactorSet(set).id, set.id);
    }
  assert.equal(longest, 6);
});
