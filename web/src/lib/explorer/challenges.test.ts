import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { CHALLENGE_LAPSE_DAYS } from "./challenges.ts";

test("CHALLENGE_LAPSE_DAYS is CarbonCredits' CHALLENGE_RESOLUTION_PERIOD", () => {
  const source = readFileSync(new URL("../../../../contracts/credits/CarbonCredits.sol", import.meta.url), "utf8");
  const m = /CHALLENGE_RESOLUTION_PERIOD = (\d+) days;/.exec(source);
  assert.ok(m, "the constant is declared in days in CarbonCredits.sol");
  assert.equal(Number(m[1]), CHALLENGE_LAPSE_DAYS);
});
