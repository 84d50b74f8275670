import { test } from "node:test";
import assert from "node:assert/strict";
import {
  facets,
  filterListings,
  priceToken,
  filtersFromParams,
  filtersToParams,
  maxPriceFieldText,
  sortListings,
  type MarketListing,
} from "./market.ts";

function listing(over: Partial<MarketListing>): MarketListing {
  return {
    listingId: 1n,
    tokenId: 65536n + 2026n,
    seller: "0x0000000000000000000000000000000000000001",
    pricePerKg: 25_000n,
    availableKg: 1000n,
    projectId: 1,
    projectName: "Kangaita firewood efficiency",
    facilityId: "ktda-kangaita",
    facilityName: undefined,
    country: "KEN",
    methodology: "flue-gas-v1",
    vintage: 2026,
    attestedReadings: 100,
    challengeStatus: "cleared",
    verified: true,
    paymentToken: "0x0000000000000000000000000000000000000002",
    minFillKg: 1n,
    expiresAt: 2_000_000_000,
    ...over,
  };
}

const rows = [
  listing({ listingId: 1n, pricePerKg: 30_000n, vintage: 2025, country: "KEN" }),
  listing({ listingId: 2n, pricePerKg: 20_000n, vintage: 2026, country: "LKA", projectName: "Ceylon tea dryers" }),
  listing({ listingId: 3n, pricePerKg: 20_000n, vintage: 2026, verified: false, methodology: "electricity-v1" }),
  listing({ listingId: 4n, availableKg: 0n }),
];

test("hides sold-out listings and applies every filter", () => {
  assert.deepEqual(
    filterListings(rows, {}).map((l) => l.listingId),
    [1n, 2n, 3n],
  );
  assert.deepEqual(
    filterListings(rows, { vintage: 2026 }).map((l) => l.listingId),
    [2n, 3n],
  );
  assert.deepEqual(
    filterListings(rows, { country: "LKA" }).map((l) => l.listingId),
    [2n],
  );
  assert.deepEqual(
    filterListings(rows, { methodology: "electricity-v1" }).map((l) => l.listingId),
    [3n],
  );
  assert.deepEqual(
    filterListings(rows, { maxPricePerTonne: 25_000_000n }).map((l) => l.listingId),
    [2n, 3n],
  );
  assert.deepEqual(
    filterListings(rows, { verifiedOnly: true }).map((l) => l.listingId),
    [1n, 2n],
  );
  assert.deepEqual(
    filterListings(rows, { text: "ceylon" }).map((l) => l.listingId),
    [2n],
  );
});

test("sorts by price with listing id breaking ties, both directions", () => {
  assert.deepEqual(
    sortListings(rows, "price", "asc").map((l) => l.listingId),
    [2n, 3n, 4n, 1n],
  );
  assert.deepEqual(
    sortListings(rows, "price", "desc").map((l) => l.listingId),
    [1n, 4n, 2n, 3n],
  );
  assert.deepEqual(
    sortListings(rows, "vintage", "asc").map((l) => l.listingId),
    [1n, 2n, 3n, 4n],
  );
});

test("offers the distinct filter values, newest vintage first", () => {
  assert.deepEqual(facets(rows), {
    vintages: [2026, 2025],
    countries: ["KEN", "LKA"],
    methodologies: ["electricity-v1", "flue-gas-v1"],
  });
});

test("filters survive a round trip through the URL and junk is dropped", () => {
  const f = { vintage: 2026, country: "KEN", maxPricePerTonne: 5n, verifiedOnly: true, text: "tea" };
  const back = filtersFromParams(filtersToParams(f, "readings", "desc"));
  assert.deepEqual(back, { filters: f, sort: "readings", dir: "desc" });
  const junk = filtersFromParams(new URLSearchParams("vintage=abc&country=ke&maxPrice=-1&sort=evil"));
  assert.deepEqual(junk, { filters: {}, sort: "price", dir: "asc" });
});

const TUSD = "0x0000000000000000000000000000000000000002";
const ETH = "0x0000000000000000000000000000000000000000";
const mixed = [
  listing({ listingId: 1n, pricePerKg: 30_000n, paymentToken: TUSD }), // 30 tUSD/t (6 decimals)
  listing({ listingId: 2n, pricePerKg: 10_000_000_000_000n, paymentToken: ETH }), // 0.01 ETH/t (18 decimals)
  listing({ listingId: 3n, pricePerKg: 20_000n, paymentToken: TUSD }),
];

test("prices sort within one payment token: a listing in ETH is not 'dearer' than one in tUSD by base units", () => {
  assert.deepEqual(
    sortListings(mixed, "price", "asc").map((l) => l.listingId),
    [2n, 3n, 1n],
  );
});

test("a max price applies in one token only: the chosen one, or the only one listed", () => {
  assert.equal(priceToken(mixed, {}), undefined, "two tokens and none chosen: no max price applies");
  assert.deepEqual(
    filterListings(mixed, { maxPricePerTonne: 25_000_000n }).map((l) => l.listingId),
    [1n, 2n, 3n],
  );
  assert.deepEqual(
    filterListings(mixed, { paymentToken: TUSD, maxPricePerTonne: 25_000_000n }).map((l) => l.listingId),
    [3n],
  );
  // 0.02 ETH per tonne, chosen token ETH: the tUSD listings are not compared with it
  assert.deepEqual(
    filterListings(mixed, { paymentToken: ETH, maxPricePerTonne: 20_000_000_000_000_000n }).map((l) => l.listingId),
    [2n],
  );
  assert.equal(priceToken([mixed[0]!, mixed[2]!], {}), TUSD);
  const back = filtersFromParams(filtersToParams({ paymentToken: ETH }, "price", "asc"));
  assert.deepEqual(back.filters, { paymentToken: ETH });
});

test("search matches the facility's name as the table shows it, not only its id", () => {
  const named = [
    listing({ listingId: 1n, facilityId: "ktda-kangaita", facilityName: "Kangaita Tea Factory" }),
    listing({ listingId: 2n, facilityId: "lk-dryer-7", facilityName: undefined, projectName: "Ceylon tea dryers" }),
  ];
  assert.deepEqual(
    filterListings(named, { text: "kangaita tea factory" }).map((l) => l.listingId),
    [1n],
  );
  assert.deepEqual(
    filterListings(named, { text: "lk-dryer" }).map((l) => l.listingId),
    [2n],
  );
});

test("the max-price field shows the URL's max price in the token's units until the buyer types", () => {
  // /?maxPrice=25500000 in a 6-decimal token: 25.5 per tonne
  assert.equal(maxPriceFieldText(undefined, 25_500_000n, 6), "25.5");
  assert.equal(maxPriceFieldText(undefined, 20_000_000_000_000_000n, 18), "0.02");
  assert.equal(maxPriceFieldText(undefined, 7n, 0), "7");
  // what the buyer typed wins, an empty field included
  assert.equal(maxPriceFieldText("", 25_500_000n, 6), "");
  assert.equal(maxPriceFieldText("1,000", 25_500_000n, 6), "1,000");
  // no filter, or no token to read it in (several listed, none chosen)
  assert.equal(maxPriceFieldText(undefined, undefined, 6), "");
  assert.equal(maxPriceFieldText(undefined, 25_500_000n, undefined), "");
});
