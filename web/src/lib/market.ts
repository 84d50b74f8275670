/**
 * The market table's logic, kept pure so it is tested without a browser: the
 * shape of a listing as the page shows it, the filters (vintage, country,
 * methodology, price) and the sort orders.
 */
import { tokenAmountInputValue } from "./units.ts";

/** Where a credit stands with respect to the challenge windows of the attestations behind it. */
export type ChallengeStatus = "cleared" | "challenged" | "revoked";

/** One open listing, with everything a buyer needs to judge the credit behind it. */
export type MarketListing = {
  listingId: bigint;
  tokenId: bigint;
  seller: `0x${string}`;
  /** Payment-token base units per kilogram. */
  pricePerKg: bigint;
  availableKg: bigint;
  projectId: number;
  projectName: string;
  facilityId: string;
  /** The facility's name in the runtime's facility directory (what the table shows), if it has one. */
  facilityName: string | undefined;
  /** ISO 3166-1 alpha-3, or undefined when the chain does not say. */
  country: string | undefined;
  methodology: string;
  vintage: number;
  /** Readings (Merkle leaves) in the attestations that backed this token id's issuances. */
  attestedReadings: number;
  challengeStatus: ChallengeStatus;
  /** Outcome of the on-chain checks behind the badge (see verification.ts). */
  verified: boolean;
  /** ERC-20 the seller is paid in (zero address = native currency). */
  paymentToken: `0x${string}`;
  /** Smallest amount one purchase may take, unless it takes all that remains. */
  minFillKg: bigint;
  /** Unix seconds after which the listing cannot be bought. */
  expiresAt: number;
};

export type SortKey = "price" | "available" | "vintage" | "readings" | "project";
export type SortDirection = "asc" | "desc";

export type MarketFilters = {
  vintage?: number;
  country?: string;
  methodology?: string;
  /** Only listings paid in this token (lowercase address; the zero address = native currency). */
  paymentToken?: `0x${string}`;
  /**
   * Highest price per tonne the buyer accepts, in base units of the price token (`priceToken`):
   * listings in any other token are left out, since a price in one token says nothing of another.
   */
  maxPricePerTonne?: bigint;
  verifiedOnly?: boolean;
  /** Free text over project, facility (id and name) and country. */
  text?: string;
};

const sameToken = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

/** The distinct payment tokens of `listings` (lowercase), in address order. */
export function paymentTokensOf(listings: readonly MarketListing[]): `0x${string}`[] {
  return [...new Set(listings.map((l) => l.paymentToken.toLowerCase() as `0x${string}`))].sort();
}

/**
 * The token a max price is in: the one chosen, or the only one listed. Undefined when listings are
 * in several tokens and none is chosen: then no max price applies (prices in two tokens do not compare).
 */
export function priceToken(listings: readonly MarketListing[], f: MarketFilters): `0x${string}` | undefined {
  if (f.paymentToken) return f.paymentToken;
  const tokens = paymentTokensOf(listings);
  return tokens.length === 1 ? tokens[0] : undefined;
}

/**
 * The max-price field's text: what the buyer typed, else the price filter in force (from the
 * URL's `maxPrice`, base units of the price token) in that token's units, so a shared
 * `/?maxPrice=…` shows the price it filters by. Empty while no token is known (`decimals`
 * undefined: several tokens listed and none chosen, when no max price applies).
 */
export function maxPriceFieldText(
  typed: string | undefined,
  maxPricePerTonne: bigint | undefined,
  decimals: number | undefined,
): string {
  if (typed !== undefined) return typed;
  if (maxPricePerTonne === undefined || decimals === undefined) return "";
  return tokenAmountInputValue(maxPricePerTonne, decimals);
}

export function filterListings(listings: readonly MarketListing[], f: MarketFilters): MarketListing[] {
  const text = f.text?.trim().toLowerCase();
  const maxPriceToken = f.maxPricePerTonne === undefined ? undefined : priceToken(listings, f);
  return listings.filter(
    (l) =>
      l.availableKg > 0n &&
      (f.vintage === undefined || l.vintage === f.vintage) &&
      (f.country === undefined || l.country === f.country) &&
      (f.methodology === undefined || l.methodology === f.methodology) &&
      (f.paymentToken === undefined || sameToken(l.paymentToken, f.paymentToken)) &&
      // with listings in several tokens and none chosen, no max price applies (priceToken);
      // with one chosen, the paymentToken condition above keeps that token's listings only
      (maxPriceToken === undefined || l.pricePerKg * 1000n <= f.maxPricePerTonne!) &&
      (!f.verifiedOnly || l.verified) &&
      (!text ||
        `${l.projectName} ${l.facilityId} ${l.facilityName ?? ""} ${l.country ?? ""}`.toLowerCase().includes(text)),
  );
}

function compareBigint(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

const comparators: Record<SortKey, (a: MarketListing, b: MarketListing) => number> = {
  // prices compare within one token only: listings are grouped by token, then by price
  price: (a, b) =>
    a.paymentToken.toLowerCase().localeCompare(b.paymentToken.toLowerCase()) ||
    compareBigint(a.pricePerKg, b.pricePerKg),
  available: (a, b) => compareBigint(a.availableKg, b.availableKg),
  vintage: (a, b) => a.vintage - b.vintage,
  readings: (a, b) => a.attestedReadings - b.attestedReadings,
  project: (a, b) => a.projectName.localeCompare(b.projectName),
};

/** Stable sort by `key`; ties keep listing-id order so the table does not jump between renders. */
export function sortListings(listings: readonly MarketListing[], key: SortKey, dir: SortDirection): MarketListing[] {
  const sign = dir === "asc" ? 1 : -1;
  const cmp = comparators[key];
  return [...listings].sort((a, b) => sign * cmp(a, b) || compareBigint(a.listingId, b.listingId));
}

/** The distinct values each filter offers, sorted. */
export function facets(listings: readonly MarketListing[]): {
  vintages: number[];
  countries: string[];
  methodologies: string[];
} {
  const vintages = new Set<number>();
  const countries = new Set<string>();
  const methodologies = new Set<string>();
  for (const l of listings) {
    vintages.add(l.vintage);
    if (l.country) countries.add(l.country);
    methodologies.add(l.methodology);
  }
  return {
    vintages: [...vintages].sort((a, b) => b - a),
    countries: [...countries].sort(),
    methodologies: [...methodologies].sort(),
  };
}

/** Filters as URL search params (shareable market views) and back. Unknown values are dropped. */
export function filtersToParams(f: MarketFilters, sort: SortKey, dir: SortDirection): URLSearchParams {
  const p = new URLSearchParams();
  if (f.vintage !== undefined) p.set("vintage", String(f.vintage));
  if (f.country) p.set("country", f.country);
  if (f.methodology) p.set("methodology", f.methodology);
  if (f.paymentToken) p.set("pay", f.paymentToken);
  if (f.maxPricePerTonne !== undefined) p.set("maxPrice", f.maxPricePerTonne.toString());
  if (f.verifiedOnly) p.set("verified", "1");
  if (f.text) p.set("q", f.text);
  if (sort !== "price") p.set("sort", sort);
  if (dir !== "asc") p.set("dir", dir);
  return p;
}

const SORT_KEYS: readonly SortKey[] = ["price", "available", "vintage", "readings", "project"];

export function filtersFromParams(p: URLSearchParams): { filters: MarketFilters; sort: SortKey; dir: SortDirection } {
  const filters: MarketFilters = {};
  const vintage = Number(p.get("vintage"));
  if (Number.isInteger(vintage) && vintage > 1900 && vintage < 3000) filters.vintage = vintage;
  const country = p.get("country");
  if (country && /^[A-Z]{3}$/.test(country)) filters.country = country;
  const methodology = p.get("methodology");
  if (methodology) filters.methodology = methodology;
  const pay = p.get("pay")?.toLowerCase();
  if (pay && /^0x[0-9a-f]{40}$/.test(pay)) filters.paymentToken = pay as `0x${string}`;
  const maxPrice = p.get("maxPrice");
  if (maxPrice && /^\d{1,30}$/.test(maxPrice)) filters.maxPricePerTonne = BigInt(maxPrice);
  if (p.get("verified") === "1") filters.verifiedOnly = true;
  const q = p.get("q");
  if (q) filters.text = q.slice(0, 100);
  const sortParam = p.get("sort") as SortKey | null;
  const sort = sortParam && SORT_KEYS.includes(sortParam) ? sortParam : "price";
  const dir = p.get("dir") === "desc" ? "desc" : "asc";
  return { filters, sort, dir };
}
