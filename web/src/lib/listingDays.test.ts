import { test } from "node:test";
import assert from "node:assert/strict";
import { parseListingDays } from "./listingDays.ts";

test("the days field is read as typed: a cleared field or an out-of-range number is an error, not clamped", () => {
  assert.deepEqual(parseListingDays("90"), { ok: true, value: 90 });
  assert.deepEqual(parseListingDays(" 1 "), { ok: true, value: 1 });
  assert.deepEqual(parseListingDays("365"), { ok: true, value: 365 });
  // clearing "30" to type another number: an error until a number is there, not 1
  assert.match((parseListingDays("") as { error: string }).error, /how many days.*1 to 365/);
  assert.match((parseListingDays("0") as { error: string }).error, /1 to 365 days; 0 is outside/);
  assert.match((parseListingDays("400") as { error: string }).error, /1 to 365 days; 400 is outside/);
  assert.match((parseListingDays("2.5") as { error: string }).error, /whole number of days/);
  assert.match((parseListingDays("-3") as { error: string }).error, /whole number of days/);
});
