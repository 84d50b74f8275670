"use client";

import Link from "next/link";
import { useSearchParams } from "next/navigation";
import { useEffect, useMemo, useState } from "react";
import { useRuntimeConfig } from "@/app/providers.tsx";
import { useChainQuery } from "@/lib/chain/hooks.ts";
import { readMarket } from "@/lib/chain/reads.ts";
import { describeError } from "@/lib/errors.ts";
import {
  facets,
  filterListings,
  filtersFromParams,
  filtersToParams,
  maxPriceFieldText,
  paymentTokensOf,
  priceToken,
  sortListings,
  type MarketFilters,
  type SortDirection,
  type SortKey,
} from "@/lib/market.ts";
import { formatTokenAmount, formatTonnes, parseTokenAmount, pricePerTonne, shortAddress } from "@/lib/units.ts";
import { ChallengeBadge, VerifiedBadge } from "./Checks.tsx";
import { NumTh } from "@/components/NumTh.tsx";

const PAGE = 50;

export function MarketView() {
  const runtime = useRuntimeConfig();
  const params = useSearchParams();
  const initial = useMemo(() => filtersFromParams(new URLSearchParams(params.toString())), [params]);
  const [filters, setFilters] = useState<MarketFilters>(initial.filters);
  const [sort, setSort] = useState<SortKey>(initial.sort);
  const [dir, setDir] = useState<SortDirection>(initial.dir);
  // undefined until the buyer types: the field then shows the URL's max price (maxPriceFieldText)
  const [typedMaxPrice, setMaxPriceText] = useState<string | undefined>();
  const [shown, setShown] = useState(PAGE);
  const market = useChainQuery(["market"], (client, addresses) => readMarket(client, addresses, runtime.facilities), {
    refetchIntervalMs: 15_000,
  });

  // Keep the view shareable: filters and sort live in the URL.
  useEffect(() => {
    const q = filtersToParams(filters, sort, dir).toString();
    window.history.replaceState(null, "", q ? `?${q}` : window.location.pathname);
  }, [filters, sort, dir]);

  const data = market.data;
  const tokenInfo = (address: string | undefined) =>
    address
      ? Object.values(data?.tokens ?? {}).find((t) => t.address.toLowerCase() === address.toLowerCase())
      : undefined;
  const listedTokens = data ? paymentTokensOf(data.listings) : [];
  // the max-price filter is in one token: the one chosen, or the only one listed
  const priceIn = data ? priceToken(data.listings, filters) : undefined;
  const token = tokenInfo(priceIn);
  const decimals = token?.decimals ?? 6;
  const symbol = token?.symbol ?? "";
  const f = useMemo(() => (data ? facets(data.listings) : { vintages: [], countries: [], methodologies: [] }), [data]);
  const rows = useMemo(
    () => (data ? sortListings(filterListings(data.listings, filters), sort, dir) : []),
    [data, filters, sort, dir],
  );

  if (market.isPending) return <p role="status">Loading listings from the chain…</p>;
  if (market.isError)
    return (
      <p role="alert" className="status status--bad">
        Could not read the market: {describeError(market.error).message}
      </p>
    );

  const set = (patch: Partial<MarketFilters>) => {
    setFilters((old) => ({ ...old, ...patch }));
    setShown(PAGE);
  };
  const maxPriceText = maxPriceFieldText(typedMaxPrice, filters.maxPricePerTonne, token ? decimals : undefined);
  const maxPriceError = maxPriceText
    ? parseTokenAmount(maxPriceText, decimals).ok
      ? undefined
      : (parseTokenAmount(maxPriceText, decimals) as { error: string }).error
    : undefined;

  return (
    <section aria-labelledby="listings-heading">
      <h2 id="listings-heading">Open listings</h2>
      <form className="filters panel" role="search" aria-label="Filter listings" onSubmit={(e) => e.preventDefault()}>
        <div>
          <label htmlFor="f-text">Search</label>
          <input
            id="f-text"
            type="search"
            value={filters.text ?? ""}
            placeholder="Project, facility, country"
            onChange={(e) => set({ text: e.target.value || undefined })}
          />
        </div>
        <div>
          <label htmlFor="f-vintage">Vintage</label>
          <select
            id="f-vintage"
            value={filters.vintage ?? ""}
            onChange={(e) => set({ vintage: e.target.value ? Number(e.target.value) : undefined })}
          >
            <option value="">All years</option>
            {f.vintages.map((v) => (
              <option key={v} value={v}>
                {v}
              </option>
            ))}
          </select>
        </div>
        <div>
          <label htmlFor="f-country">Country</label>
          <select
            id="f-country"
            value={filters.country ?? ""}
            onChange={(e) => set({ country: e.target.value || undefined })}
          >
            <option value="">All countries</option>
            {f.countries.map((c) => (
              <option key={c} value={c}>
                {c}
              </option>
            ))}
          </select>
        </div>
        <div>
          <label htmlFor="f-method">Methodology</label>
          <select
            id="f-method"
            value={filters.methodology ?? ""}
            onChange={(e) => set({ methodology: e.target.value || undefined })}
          >
            <option value="">All methodologies</option>
            {f.methodologies.map((m) => (
              <option key={m} value={m}>
                {m}
              </option>
            ))}
          </select>
        </div>
        {listedTokens.length > 1 ? (
          <div>
            <label htmlFor="f-pay">Paid in</label>
            <select
              id="f-pay"
              value={filters.paymentToken ?? ""}
              onChange={(e) => {
                // a max price typed in one token means nothing in another
                setMaxPriceText("");
                set({
                  paymentToken: (e.target.value || undefined) as `0x${string}` | undefined,
                  maxPricePerTonne: undefined,
                });
              }}
            >
              <option value="">Any token</option>
              {listedTokens.map((t) => (
                <option key={t} value={t}>
                  {tokenInfo(t)?.symbol ?? t}
                </option>
              ))}
            </select>
          </div>
        ) : null}
        <div>
          <label htmlFor="f-price">Max price per tonne {symbol && `(${symbol})`}</label>
          <input
            id="f-price"
            inputMode="decimal"
            value={maxPriceText}
            disabled={!priceIn}
            aria-invalid={maxPriceError ? true : undefined}
            aria-describedby={maxPriceError ? "f-price-error" : !priceIn ? "f-price-hint" : undefined}
            onChange={(e) => {
              setMaxPriceText(e.target.value);
              const r = parseTokenAmount(e.target.value, decimals);
              set({ maxPricePerTonne: r.ok ? r.value : undefined });
            }}
          />
          {!priceIn ? (
            <p id="f-price-hint" className="hint">
              Listings are paid in several tokens: choose one under “Paid in” first.
            </p>
          ) : null}
          {maxPriceError ? (
            <p id="f-price-error" className="error">
              {maxPriceError}
            </p>
          ) : null}
        </div>
        <div className="check">
          <input
            id="f-verified"
            type="checkbox"
            checked={filters.verifiedOnly ?? false}
            onChange={(e) => set({ verifiedOnly: e.target.checked || undefined })}
          />
          <label htmlFor="f-verified">Verified only</label>
        </div>
        <div>
          <label htmlFor="f-sort">Sort by</label>
          <select
            id="f-sort"
            value={`${sort}:${dir}`}
            onChange={(e) => {
              const [k, d] = e.target.value.split(":") as [SortKey, SortDirection];
              setSort(k);
              setDir(d);
            }}
          >
            <option value="price:asc">Price, lowest first</option>
            <option value="price:desc">Price, highest first</option>
            <option value="available:desc">Available, most first</option>
            <option value="vintage:desc">Vintage, newest first</option>
            <option value="vintage:asc">Vintage, oldest first</option>
            <option value="readings:desc">Attested readings, most first</option>
            <option value="project:asc">Project, A–Z</option>
          </select>
        </div>
      </form>
      <p role="status" aria-live="polite" data-testid="listing-count">
        {rows.length} of {data?.listings.length ?? 0} open listings
      </p>
      {rows.length === 0 ? (
        <p>No listing matches these filters.</p>
      ) : (
        <div className="table-wrap">
          <table className="cards-mobile" data-testid="market-table">
            <caption>
              Prices per tonne CO2e, each in its listing&apos;s payment token; a protocol fee of{" "}
              {((data?.feeBps ?? 0) / 100).toFixed(2)} % is taken from the seller&apos;s proceeds. Challenge status
              “Cleared”: every challenge window behind the credit closed without a challenge.
            </caption>
            <thead>
              <tr>
                <th scope="col">Project</th>
                <th scope="col">Facility</th>
                <th scope="col">Country</th>
                <th scope="col">Methodology</th>
                <NumTh>Vintage</NumTh>
                <NumTh>Price / t</NumTh>
                <NumTh>Available</NumTh>
                <NumTh>Attested readings</NumTh>
                <th scope="col">Challenge status</th>
                <th scope="col">Checks</th>
                <th scope="col">
                  <span className="visually-hidden">Action</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {rows.slice(0, shown).map((l) => (
                <tr key={l.listingId.toString()} data-listing={l.listingId.toString()}>
                  <td data-label="Project">
                    <Link href={`/credit/${l.tokenId}`}>{l.projectName}</Link>
                  </td>
                  <td data-label="Facility">{l.facilityName ?? l.facilityId}</td>
                  <td data-label="Country">{l.country ?? "—"}</td>
                  <td data-label="Methodology">{l.methodology}</td>
                  <td data-label="Vintage" className="num">
                    {l.vintage}
                  </td>
                  <td data-label="Price / t" className="num">
                    {formatTokenAmount(pricePerTonne(l.pricePerKg), tokenInfo(l.paymentToken)?.decimals ?? 18)}{" "}
                    {tokenInfo(l.paymentToken)?.symbol ?? "?"}
                  </td>
                  <td data-label="Available" className="num">
                    {formatTonnes(l.availableKg)}
                  </td>
                  <td data-label="Attested readings" className="num">
                    {l.attestedReadings.toLocaleString("en")}
                  </td>
                  <td data-label="Challenge status">
                    <ChallengeBadge status={l.challengeStatus} />
                  </td>
                  <td data-label="Checks">
                    <VerifiedBadge verified={l.verified} />
                  </td>
                  <td data-label="Action">
                    <Link
                      className="button"
                      href={`/listing/${l.listingId}`}
                      aria-label={`Buy from listing ${l.listingId}: ${l.projectName}, seller ${shortAddress(l.seller)}`}
                    >
                      Buy
                    </Link>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {rows.length > shown ? (
        <button type="button" className="secondary" onClick={() => setShown((s) => s + PAGE)}>
          Show {Math.min(PAGE, rows.length - shown)} more
        </button>
      ) : null}
    </section>
  );
}
