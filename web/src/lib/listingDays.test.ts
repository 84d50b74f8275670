import { test } from "node:test";
import assert from "node:assert/strict";
import { BROWSER_CLOCK_LEAD_S, listingExpiry, parseListingDays } from "./listingDays.ts";

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

test("a listing's expiry counts from the chain's clock: the browser's only when a little ahead of it", () => {
  const day = 86_400;
  const chain = 1_900_000_000;
  // the demo chain moved 3 days ahead of the browser: from the chain's clock, or "1 day" is already past
  assert.equal(listingExpiry(1, chain - 3 * day, chain), chain + day);
  // an idle local chain whose head lags a few minutes: the browser's clock, its next block's time
  assert.equal(listingExpiry(1, chain + 300, chain), chain + 300 + day);
  // a browser clock a year ahead is wrong: at most BROWSER_CLOCK_LEAD_S past the chain's, not a year
  assert.equal(listingExpiry(1, chain + 365 * day, chain), chain + BROWSER_CLOCK_LEAD_S + day);
  assert.equal(listingExpiry(30, chain, chain), chain + 30 * day);
});
