"use client";

import Link from "next/link";
import { useChainQuery } from "@/lib/chain/hooks.ts";
import { readPortfolio } from "@/lib/chain/reads.ts";
import { describeError } from "@/lib/errors.ts";
import { formatDateTime } from "@/lib/explorer/format.ts";
import { ownListingStatus } from "@/lib/listings.ts";
import { formatTonnes } from "@/lib/units.ts";
import { RequireWallet } from "./RequireWallet.tsx";
import { NumTh } from "@/components/NumTh.tsx";

export function PortfolioView() {
  return (
    <RequireWallet what="see your credits, listings and certificates">{(a) => <Portfolio account={a} />}</RequireWallet>
  );
}

function Portfolio({ account }: { account: `0x${string}` }) {
  const q = useChainQuery(["portfolio", account], (c, a) => readPortfolio(c, a, account));
  if (q.isPending) return <p role="status">Reading your portfolio…</p>;
  if (q.isError)
    return (
      <p role="alert" className="status status--bad">
        {describeError(q.error).message}
      </p>
    );
  const { holdings, listings, certificates, nowS } = q.data;
  const open = listings.filter((l) => ownListingStatus(l, nowS) === "open");
  const total = holdings.reduce((s, h) => s + h.balanceKg, 0n);
  return (
    <>
      <section aria-labelledby="holdings">
        <h2 id="holdings">Credits held: {formatTonnes(total)}</h2>
        {holdings.length === 0 ? (
          <p>
            None yet. <Link href="/">Browse the market.</Link>
          </p>
        ) : (
          <div className="table-wrap">
            <table className="cards-mobile" data-testid="holdings">
              <thead>
                <tr>
                  <th scope="col">Credit</th>
                  <th scope="col">Facility</th>
                  <NumTh>Vintage</NumTh>
                  <NumTh>Balance</NumTh>
                  <th scope="col">Actions</th>
                </tr>
              </thead>
              <tbody>
                {holdings.map((h) => (
                  <tr key={h.tokenId.toString()}>
                    <td data-label="Credit">
                      <Link href={`/credit/${h.tokenId}`}>{h.projectName}</Link>
                    </td>
                    <td data-label="Facility">{h.facilityId}</td>
                    <td data-label="Vintage" className="num">
                      {h.vintage}
                    </td>
                    <td data-label="Balance" className="num">
                      {formatTonnes(h.balanceKg)}
                    </td>
                    <td data-label="Actions">
                      <Link href={`/retire?token=${h.tokenId}`}>Retire</Link> ·{" "}
                      <Link href={`/sell?token=${h.tokenId}`}>Sell</Link>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
      <section aria-labelledby="listings">
        <h2 id="listings">Open listings: {open.length}</h2>
        {listings.length ? (
          <ul>
            {listings.map((l) => (
              <li key={l.listingId.toString()}>
                <Link href={`/listing/${l.listingId}`}>Listing {l.listingId.toString()}</Link>:{" "}
                {formatTonnes(l.remaining)} in escrow,{" "}
                {ownListingStatus(l, nowS) === "expired"
                  ? `expired ${formatDateTime(l.expiresAt)}: cancel it under Manage listings to get them back`
                  : `open until ${formatDateTime(l.expiresAt)}`}
              </li>
            ))}
          </ul>
        ) : null}
        <p>
          <Link href="/sell">Manage listings</Link>
        </p>
      </section>
      <section aria-labelledby="certificates">
        <h2 id="certificates">Retirement certificates: {certificates.length}</h2>
        {certificates.length ? (
          <ul data-testid="certificates">
            {certificates.map((c) => (
              <li key={c.certificateId.toString()}>
                <Link href={`/certificate/${c.certificateId}`}>
                  {formatTonnes(c.amountKg)} for {c.beneficiaryName || "an unnamed beneficiary"}
                </Link>{" "}
                — {c.reason}
              </li>
            ))}
          </ul>
        ) : (
          <p>No certificate names you as beneficiary yet.</p>
        )}
      </section>
    </>
  );
}
