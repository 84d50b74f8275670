"use client";

import Link from "next/link";
import { useSearchParams } from "next/navigation";
import { useState } from "react";
import { useRuntimeConfig } from "@/app/providers.tsx";
import { carbonCreditsAbi, marketplaceAbi } from "@/lib/chain/abis.ts";
import { useChainQuery, useTransaction } from "@/lib/chain/hooks.ts";
import { readPaymentToken, readPortfolio, type Listing } from "@/lib/chain/reads.ts";
import { describeError } from "@/lib/errors.ts";
import { formatDateTime } from "@/lib/explorer/format.ts";
import { listingExpiry, parseListingDays } from "@/lib/listingDays.ts";
import { ownListingStatus } from "@/lib/listings.ts";
import {
  formatTokenAmount,
  formatTonnes,
  parseTonnes,
  parseUnitPrice,
  pricePerTonne,
  tokenOfListing,
  tonnesInputValue,
  type TokenLabel,
} from "@/lib/units.ts";
import { HoldingSelect } from "./HoldingSelect.tsx";
import { RequireWallet } from "./RequireWallet.tsx";
import { TxStatus } from "./TxStatus.tsx";

export function SellView() {
  // keyed by account: a wallet account switch starts fresh forms
  return (
    <RequireWallet what="list credits you hold">{(address) => <Sell key={address} account={address} />}</RequireWallet>
  );
}

function Sell({ account }: { account: `0x${string}` }) {
  const runtime = useRuntimeConfig();
  const q = useChainQuery(["sell", account], async (client, addresses) => {
    const [portfolio, approved, token] = await Promise.all([
      readPortfolio(client, addresses, account),
      client.readContract({
        address: addresses.CarbonCredits!,
        abi: carbonCreditsAbi,
        functionName: "isApprovedForAll",
        args: [account, addresses.Marketplace],
      }) as Promise<boolean>,
      readPaymentToken(client, addresses.TestUSD!),
    ]);
    // each open listing's own payment token (a listing may be in ETH or another allowed token)
    const listed = [...new Set(portfolio.listings.map((l) => l.paymentToken.toLowerCase()))].filter(
      (t) => t !== token.address.toLowerCase(),
    );
    const others = await Promise.all(listed.map((t) => readPaymentToken(client, t as `0x${string}`)));
    return { portfolio, approved, token, listingTokens: [token, ...others] };
  });
  if (q.isPending) return <p role="status">Reading your credits and listings…</p>;
  if (q.isError)
    return (
      <p role="alert" className="status status--bad">
        {describeError(q.error).message}
      </p>
    );
  const { portfolio, approved, token, listingTokens } = q.data;
  const status = (l: Listing) => ownListingStatus(l, portfolio.nowS);
  const open = portfolio.listings.filter((l) => status(l) === "open");
  const expired = portfolio.listings.filter((l) => status(l) === "expired");
  return (
    <>
      <NewListing
        holdings={portfolio.holdings}
        approved={approved}
        tokenDecimals={token.decimals}
        tokenSymbol={token.symbol}
        paymentToken={token.address}
        chainNowS={portfolio.nowS}
        chainReadAtMs={q.dataUpdatedAt}
      />
      <section aria-labelledby="own-listings">
        <h2 id="own-listings">Your open listings</h2>
        {open.length === 0 ? (
          <p>You have no open listing.</p>
        ) : (
          <ul className="checks" data-testid="own-listings">
            {open.map((l) => (
              <OwnListing
                key={l.listingId.toString()}
                listing={l}
                expired={false}
                token={tokenOfListing(l, listingTokens)}
              />
            ))}
          </ul>
        )}
      </section>
      {expired.length ? (
        <section aria-labelledby="expired-listings">
          <h2 id="expired-listings">Your expired listings</h2>
          <p>
            Buyers can no longer buy from these; their credits stay in escrow until you cancel the listing, which
            returns them to your wallet.
          </p>
          <ul className="checks" data-testid="expired-listings">
            {expired.map((l) => (
              <OwnListing key={l.listingId.toString()} listing={l} expired token={tokenOfListing(l, listingTokens)} />
            ))}
          </ul>
        </section>
      ) : null}
      <p className="muted">
        Listed credits are held in escrow by the marketplace until sold or cancelled; a protocol fee is taken from each
        sale. Chain: {runtime.chainName}.
      </p>
    </>
  );
}

function NewListing(props: {
  holdings: Awaited<ReturnType<typeof readPortfolio>>["holdings"];
  approved: boolean;
  tokenDecimals: number;
  tokenSymbol: string;
  paymentToken: `0x${string}`;
  /** The chain head's time when the listings were read, and when (Date.now()) that was. */
  chainNowS: number;
  chainReadAtMs: number;
}) {
  const runtime = useRuntimeConfig();
  const params = useSearchParams();
  const tx = useTransaction({ key: "list" });
  const [tokenText, setTokenText] = useState(params.get("token") ?? "");
  const [amountText, setAmountText] = useState("");
  const [priceText, setPriceText] = useState("");
  const [minFillText, setMinFillText] = useState("0.001");
  // kept as typed: read (and checked) by parseListingDays, not clamped on each keystroke
  const [daysText, setDaysText] = useState("30");
  const holding = props.holdings.find((h) => h.tokenId.toString() === tokenText) ?? props.holdings[0];
  if (!holding)
    return (
      <p>
        You hold no credits to list. <Link href="/portfolio">Your portfolio</Link> shows your listings and certificates.
      </p>
    );
  const amount = parseTonnes(amountText);
  const amountError = !amount.ok
    ? amount.error
    : amount.value > holding.balanceKg
      ? `You hold ${formatTonnes(holding.balanceKg)} of this credit.`
      : undefined;
  const perKg = parseUnitPrice(priceText, props.tokenDecimals);
  const minFill = parseTonnes(minFillText);
  const minFillError = !minFill.ok
    ? minFill.error
    : amount.ok && minFill.value > amount.value
      ? "The smallest purchase cannot exceed the amount listed."
      : undefined;
  const days = parseListingDays(daysText);
  const invalid = Boolean(amountError || !perKg.ok || minFillError || !days.ok);

  async function submit() {
    if (!props.approved) {
      await tx.send({
        label: "Allow the marketplace to hold your listed credits",
        address: runtime.addresses.CarbonCredits!,
        abi: carbonCreditsAbi,
        functionName: "setApprovalForAll",
        args: [runtime.addresses.Marketplace, true],
        undone: "the marketplace was not allowed",
      });
      return;
    }
    if (invalid || !amount.ok || !perKg.ok || !minFill.ok || !days.ok) return;
    // The contract measures the expiry against the chain's clock (and so does "Your expired listings"),
    // which is not the browser's when that is wrong or the chain was moved forward (seed-demo and
    // evm_increaseTime on a local chain): counted from the chain's (listingExpiry)
    const wallS = Math.floor(Date.now() / 1000);
    const chainS = props.chainNowS + Math.floor((Date.now() - props.chainReadAtMs) / 1000);
    const expiresAt = BigInt(listingExpiry(days.value, wallS, chainS));
    await tx.send({
      label: `List ${formatTonnes(amount.value)}`,
      address: runtime.addresses.Marketplace!,
      abi: marketplaceAbi,
      functionName: "list",
      args: [holding.tokenId, amount.value, props.paymentToken, perKg.value, minFill.value, expiresAt],
      undone: "nothing was listed",
    });
  }

  return (
    <form
      className="panel"
      aria-labelledby="new-listing"
      onSubmit={(e) => {
        e.preventDefault();
        void submit();
      }}
    >
      <h2 id="new-listing">New listing</h2>
      <div className="grid-2">
        <HoldingSelect id="sell-token" holdings={props.holdings} value={holding.tokenId} onChange={setTokenText} />
        <div className="field">
          <label htmlFor="sell-amount">Amount (tonnes CO2e)</label>
          <input
            id="sell-amount"
            inputMode="decimal"
            value={amountText}
            placeholder={tonnesInputValue(holding.balanceKg)}
            aria-invalid={amountText && amountError ? true : undefined}
            aria-describedby="sell-amount-error"
            onChange={(e) => setAmountText(e.target.value)}
          />
          <p id="sell-amount-error" className="error" aria-live="polite">
            {amountText ? (amountError ?? "") : ""}
          </p>
        </div>
        <div className="field">
          <label htmlFor="sell-price">Price per tonne ({props.tokenSymbol})</label>
          <input
            id="sell-price"
            inputMode="decimal"
            value={priceText}
            aria-invalid={priceText && !perKg.ok ? true : undefined}
            aria-describedby="sell-price-error"
            onChange={(e) => setPriceText(e.target.value)}
          />
          <p id="sell-price-error" className="error" aria-live="polite">
            {priceText && !perKg.ok ? perKg.error : ""}
          </p>
        </div>
        <div className="field">
          <label htmlFor="sell-minfill">Smallest purchase (tonnes)</label>
          <input
            id="sell-minfill"
            inputMode="decimal"
            value={minFillText}
            aria-invalid={minFillError ? true : undefined}
            aria-describedby="sell-minfill-error"
            onChange={(e) => setMinFillText(e.target.value)}
          />
          <p id="sell-minfill-error" className="error">
            {minFillError ?? ""}
          </p>
        </div>
        <div className="field">
          <label htmlFor="sell-days">Open for (days)</label>
          <input
            id="sell-days"
            inputMode="numeric"
            value={daysText}
            aria-invalid={days.ok ? undefined : true}
            aria-describedby="sell-days-error"
            onChange={(e) => setDaysText(e.target.value)}
          />
          <p id="sell-days-error" className="error" aria-live="polite">
            {days.ok ? "" : days.error}
          </p>
        </div>
      </div>
      <ol className="steps">
        <li aria-current={!props.approved ? "step" : undefined}>
          Allow the marketplace to hold listed credits in escrow {props.approved ? "(done)" : ""}
        </li>
        <li aria-current={props.approved ? "step" : undefined}>List</li>
      </ol>
      <div className="actions">
        <button type="submit" disabled={tx.busy || (props.approved && invalid)} data-testid="list">
          {props.approved ? "List for sale" : "Allow the marketplace"}
        </button>
      </div>
      <TxStatus state={tx.state} explorerUrl={runtime.explorerUrl} />
    </form>
  );
}

/**
 * One of the seller's listings with credits in escrow. An expired one can no longer be bought:
 * only a cancel is offered (it returns the credits), not a new price.
 */
function OwnListing({
  listing,
  expired,
  token,
}: {
  listing: Listing;
  expired: boolean;
  token: TokenLabel | undefined;
}) {
  const runtime = useRuntimeConfig();
  const tx = useTransaction({ key: `listing-${listing.listingId}` });
  const [priceText, setPriceText] = useState("");
  const symbol = token?.symbol ?? "";
  const perKg = token
    ? parseUnitPrice(priceText, token.decimals)
    : ({ ok: false, error: `The payment token ${listing.paymentToken} could not be read.` } as const);
  const id = listing.listingId.toString();
  return (
    <li data-own-listing={id} data-expired={expired ? "true" : undefined}>
      <p>
        <strong>
          <Link href={`/listing/${id}`}>Listing {id}</Link>
        </strong>
        : {formatTonnes(listing.remaining)} of credit{" "}
        <Link href={`/credit/${listing.tokenId}`}>{listing.tokenId.toString()}</Link> at{" "}
        {token
          ? `${formatTokenAmount(pricePerTonne(listing.unitPrice), token.decimals)} ${symbol} per tonne`
          : `a price in token ${listing.paymentToken}, which could not be read`}
        {expired ? (
          <>
            . <strong>Expired</strong> {formatDateTime(listing.expiresAt)}: cancel it to get the credits back.
          </>
        ) : (
          <>, open until {formatDateTime(listing.expiresAt)}</>
        )}
      </p>
      <form
        className="actions"
        aria-label={expired ? `Cancel listing ${id}` : `Change the price of listing ${id}`}
        onSubmit={(e) => {
          e.preventDefault();
          if (expired || !perKg.ok) return;
          void tx.send({
            label: `New price for listing ${id}`,
            address: runtime.addresses.Marketplace!,
            abi: marketplaceAbi,
            functionName: "updatePrice",
            args: [listing.listingId, perKg.value],
            undone: "the price did not change",
          });
        }}
      >
        {expired ? null : (
          <>
            <label htmlFor={`price-${id}`} className="visually-hidden">
              New price per tonne for listing {id} ({symbol})
            </label>
            <input
              id={`price-${id}`}
              inputMode="decimal"
              placeholder={`New price / t (${symbol})`}
              value={priceText}
              style={{ maxWidth: "12rem" }}
              onChange={(e) => setPriceText(e.target.value)}
            />
            <button type="submit" className="secondary" disabled={!perKg.ok || tx.busy}>
              Update price
            </button>
          </>
        )}
        <button
          type="button"
          className={expired ? undefined : "secondary"}
          disabled={tx.busy}
          data-testid={`cancel-${id}`}
          onClick={() =>
            void tx.send({
              label: `Cancel listing ${id}`,
              address: runtime.addresses.Marketplace!,
              abi: marketplaceAbi,
              functionName: "cancel",
              args: [listing.listingId],
              undone: "the listing is still open",
            })
          }
        >
          {expired ? "Cancel and take the credits back" : "Cancel listing"}
        </button>
      </form>
      {!expired && priceText && !perKg.ok ? <p className="error">{perKg.error}</p> : null}
      <TxStatus state={tx.state} explorerUrl={runtime.explorerUrl} />
    </li>
  );
}
