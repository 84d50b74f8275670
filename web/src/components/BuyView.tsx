"use client";

import Link from "next/link";
import { useMemo, useReducer, useState } from "react";
import type { Address } from "viem";
import { useAccount } from "wagmi";
import { WalletButton } from "./WalletButton.tsx";
import { useRuntimeConfig } from "@/app/providers.tsx";
import { marketplaceAbi, paymentTokenAbi } from "@/lib/chain/abis.ts";
import { useChainQuery, useTransaction } from "@/lib/chain/hooks.ts";
import {
  certificateIdIn,
  idString,
  readCreditFacts,
  readFeeBps,
  readListing,
  readPaymentToken,
} from "@/lib/chain/reads.ts";
import { describeError } from "@/lib/errors.ts";
import { parseUintId } from "@/lib/ids.ts";
import {
  amountProblem,
  balanceCovers,
  isNativePayment,
  paymentValue,
  purchasePanel,
  purchaseStep,
  quote,
} from "@/lib/quote.ts";
import { initialIrreversibleForm, irreversibleFormReducer } from "@/lib/irreversibleForm.ts";
import { retirementDetails, type FieldErrors } from "@/lib/retirement.ts";
import {
  formatTokenAmount,
  formatTonnes,
  parseTonnes,
  pricePerTonne,
  shortAddress,
  tonnesInputValue,
} from "@/lib/units.ts";
import { allPass, attestedReadings, creditChecks } from "@/lib/verification.ts";
import { VerifiedBadge } from "./Checks.tsx";
import { IrreversibleConfirm } from "./IrreversibleConfirm.tsx";
import { RetirementFields, emptyRetirementForm } from "./RetirementFields.tsx";
import { MintedCertificate } from "./MintedCertificate.tsx";
import { TxStatus } from "./TxStatus.tsx";

const SLIPPAGE_CHOICES = [0, 50, 100, 300] as const;

export function BuyView({ id }: { id: string }) {
  const runtime = useRuntimeConfig();
  const listingId = parseUintId(id);
  const { address } = useAccount();
  const q = useChainQuery(
    ["listing", id],
    async (client, addresses) => {
      const listing = await readListing(client, addresses, listingId!);
      if (listing.seller === "0x0000000000000000000000000000000000000000") return { listing: undefined };
      const [credit, token, feeBps, block] = await Promise.all([
        readCreditFacts(client, addresses, listing.tokenId),
        readPaymentToken(client, listing.paymentToken),
        readFeeBps(client, addresses),
        client.getBlock(),
      ]);
      return { listing, credit, token, feeBps, nowS: Number(block.timestamp) };
    },
    { enabled: listingId !== undefined },
  );
  const wallet = useChainQuery(
    ["buyer", id, address],
    async (client, addresses) => {
      const token = q.data?.listing?.paymentToken as Address;
      // a native-currency listing: the wallet's ETH, and no allowance to give
      if (isNativePayment(token))
        return { balance: await client.getBalance({ address: address! }), allowance: undefined };
      const [balance, allowance] = await Promise.all([
        client.readContract({
          address: token,
          abi: paymentTokenAbi,
          functionName: "balanceOf",
          args: [address],
        }) as Promise<bigint>,
        client.readContract({
          address: token,
          abi: paymentTokenAbi,
          functionName: "allowance",
          args: [address, addresses.Marketplace],
        }) as Promise<bigint>,
      ]);
      return { balance, allowance };
    },
    { enabled: Boolean(address && q.data?.listing) },
  );

  if (listingId === undefined)
    return (
      <p role="alert" className="status status--bad">
        “{id}” is not a listing id.
      </p>
    );
  if (q.isPending) return <p role="status">Reading listing {id} from the chain…</p>;
  if (q.isError)
    return (
      <p role="alert" className="status status--bad">
        Could not read listing {id}: {describeError(q.error).message}
      </p>
    );
  const data = q.data;
  if (!data.listing || !data.credit || !data.token)
    return (
      <>
        <h1>Listing {id}</h1>
        <p role="alert">
          This listing does not exist. <Link href="/">Back to the market</Link>
        </p>
      </>
    );
  const { listing, credit, token, feeBps, nowS } = data;
  const facility = idString(credit.facilityId);
  const closed = listing.remaining === 0n || listing.expiresAt <= nowS!;
  return (
    <>
      <h1>Buy {credit.projectName}</h1>
      <section className="panel" aria-labelledby="listing-heading">
        <h2 id="listing-heading">
          Listing {id} <VerifiedBadge verified={allPass(creditChecks(credit))} />
        </h2>
        <dl className="facts">
          <dt>Credit</dt>
          <dd>
            <Link href={`/credit/${listing.tokenId}`}>
              {credit.projectName}, vintage {credit.vintage}
            </Link>
          </dd>
          <dt>Facility</dt>
          <dd>
            {runtime.facilities[facility]?.name ?? facility}
            {runtime.facilities[facility]?.country ? `, ${runtime.facilities[facility]?.country}` : ""}
          </dd>
          <dt>Signed readings behind the credit</dt>
          <dd>{attestedReadings(credit).toLocaleString("en")}</dd>
          <dt>Seller</dt>
          <dd className="mono" title={listing.seller}>
            {shortAddress(listing.seller)}
          </dd>
          <dt>Price</dt>
          <dd data-testid="price">
            {formatTokenAmount(pricePerTonne(listing.unitPrice), token.decimals)} {token.symbol} per tonne CO2e
          </dd>
          <dt>Available</dt>
          <dd data-testid="available">{formatTonnes(listing.remaining)}</dd>
          <dt>Smallest purchase</dt>
          <dd>{formatTonnes(listing.minFill)} (or everything that is left)</dd>
          <dt>Open until</dt>
          <dd>{new Date(listing.expiresAt * 1000).toISOString().slice(0, 10)}</dd>
        </dl>
      </section>
      {!address ? (
        closed ? (
          <ListingClosed />
        ) : (
          <div className="panel">
            <p>Connect your wallet to buy. Browsing needs no wallet.</p>
            <WalletButton />
          </div>
        )
      ) : (
        // also once closed: a purchase that emptied the listing keeps its outcome in view
        <PurchaseForm
          // keyed by account: a wallet account switch starts a fresh form (beneficiary = the new account)
          key={address}
          listingId={listingId}
          listing={listing}
          closed={closed}
          tokenDecimals={token.decimals}
          tokenSymbol={token.symbol}
          feeBps={feeBps!}
          account={address}
          balance={wallet.data?.balance}
          allowance={wallet.data?.allowance}
          walletError={wallet.isError ? describeError(wallet.error).message : undefined}
        />
      )}
    </>
  );
}

/** Why nothing can be bought here, for a listing closed before this buyer sent anything. */
function ListingClosed() {
  return (
    <p role="alert" className="status status--bad" data-testid="listing-closed">
      This listing is sold out, cancelled or expired. <Link href="/">Find another one on the market.</Link>
    </p>
  );
}

function PurchaseForm(props: {
  listingId: bigint;
  listing: Awaited<ReturnType<typeof readListing>>;
  /** Sold out, cancelled or expired, as last read (maybe by this buyer's own purchase). */
  closed: boolean;
  tokenDecimals: number;
  tokenSymbol: string;
  feeBps: number;
  account: Address;
  balance: bigint | undefined;
  allowance: bigint | undefined;
  /** Why the balance (or allowance) could not be read. */
  walletError: string | undefined;
}) {
  const { listing, tokenDecimals: dec, tokenSymbol: sym } = props;
  const runtime = useRuntimeConfig();
  const [certificateId, setCertificateId] = useState<bigint | undefined>();
  const tx = useTransaction({
    key: "purchase",
    // also for a purchase sent before a reload (resumed from sessionStorage)
    onConfirmed: (receipt) => {
      const minted = certificateIdIn(receipt.logs, "Bought");
      if (minted) setCertificateId(minted);
    },
  });
  // the amount and the "retirement is permanent" box: the box is cleared when the amount or the mode changes
  const [{ amountText, confirmed }, dispatch] = useReducer(
    irreversibleFormReducer,
    initialIrreversibleForm("", tonnesInputValue(listing.remaining < 1000n ? listing.remaining : 1000n)),
  );
  const setAmountText = (text: string) => dispatch({ type: "amount", amountText: text });
  // exactly the quoted price by default: a listing's price changes only when its seller changes it,
  // and a tolerance by default would let a seller raise it in front of every purchase by that much
  const [slippageBps, setSlippageBps] = useState<number>(0);
  const [mode, setMode] = useState<"buy" | "retire">("buy");
  const [form, setForm] = useState(emptyRetirementForm(props.account));
  const [formErrors, setFormErrors] = useState<FieldErrors>({});

  const parsed = parseTonnes(amountText);
  const problem = parsed.ok ? amountProblem(parsed.value, listing.remaining, listing.minFill) : parsed.error;
  const qt = useMemo(
    () => (parsed.ok ? quote(listing.unitPrice, parsed.value, props.feeBps, slippageBps) : undefined),
    [parsed.ok, parsed.ok ? parsed.value : 0n, listing.unitPrice, props.feeBps, slippageBps],
  );
  const native = isNativePayment(listing.paymentToken);
  const step = qt ? purchaseStep(native, props.allowance, qt) : undefined;
  const affordable = qt && props.balance !== undefined ? balanceCovers(native, props.balance, qt) : true;
  const panel = purchasePanel(props.closed, tx.state.status);
  const boughtToWallet =
    tx.state.status === "confirmed" && mode === "buy" ? (
      <p>
        The credits are in your wallet. <Link href="/portfolio">Open your portfolio</Link> to retire or resell them.
      </p>
    ) : null;
  if (panel === "closed") return <ListingClosed />;
  if (panel === "outcome")
    return (
      <section className="panel" aria-labelledby="buy-heading" data-testid="purchase-outcome">
        <h2 id="buy-heading">Your purchase</h2>
        <TxStatus state={tx.state} explorerUrl={runtime.explorerUrl} />
        <MintedCertificate id={certificateId} />
        {boughtToWallet}
        <p className="muted" data-testid="listing-now-closed">
          Nothing is left to buy here now: the listing is sold out, cancelled or expired.{" "}
          <Link href="/">Find another one on the market.</Link>
        </p>
      </section>
    );

  async function approve() {
    if (!qt) return;
    await tx.send({
      label: `Approve ${formatTokenAmount(qt.maxTotalPrice, dec)} ${sym}`,
      address: listing.paymentToken,
      abi: paymentTokenAbi,
      functionName: "approve",
      args: [runtime.addresses.Marketplace, qt.maxTotalPrice],
      undone: "nothing was approved",
    });
  }

  async function buy() {
    if (!qt) return;
    if (mode === "buy") {
      const r = await tx.send({
        label: `Buy ${formatTonnes(qt.amountKg)}`,
        address: runtime.addresses.Marketplace!,
        abi: marketplaceAbi,
        functionName: "buy",
        args: [props.listingId, qt.amountKg, qt.maxTotalPrice],
        value: paymentValue(native, qt),
        undone: "nothing was bought",
      });
      if (r.ok) dispatch({ type: "succeeded" });
      return;
    }
    const details = retirementDetails(form);
    if (!details.ok) {
      setFormErrors(details.errors);
      return;
    }
    setFormErrors({});
    const r = await tx.send({
      label: `Buy and retire ${formatTonnes(qt.amountKg)}`,
      address: runtime.addresses.Marketplace!,
      abi: marketplaceAbi,
      functionName: "buyAndRetire",
      args: [props.listingId, qt.amountKg, qt.maxTotalPrice, details.value],
      value: paymentValue(native, qt),
      undone: "nothing was bought or retired",
    });
    // disarm: another purchase needs a new amount and, to retire, a new acknowledgement
    if (r.ok) dispatch({ type: "succeeded" });
  }

  return (
    <form
      className="panel"
      aria-labelledby="buy-heading"
      onSubmit={(e) => {
        e.preventDefault();
        if (step === "approve") void approve();
        else void buy();
      }}
    >
      <h2 id="buy-heading">Your purchase</h2>
      <fieldset>
        <legend>What to do with the credits</legend>
        <div className="check" style={{ display: "flex", gap: "0.5rem", alignItems: "center" }}>
          <input
            type="radio"
            id="mode-buy"
            name="mode"
            checked={mode === "buy"}
            onChange={() => {
              setMode("buy");
              dispatch({ type: "changed" });
            }}
          />
          <label htmlFor="mode-buy" style={{ margin: 0 }}>
            Buy and keep them in my wallet
          </label>
        </div>
        <div className="check" style={{ display: "flex", gap: "0.5rem", alignItems: "center" }}>
          <input
            type="radio"
            id="mode-retire"
            name="mode"
            checked={mode === "retire"}
            onChange={() => {
              setMode("retire");
              dispatch({ type: "changed" });
            }}
          />
          <label htmlFor="mode-retire" style={{ margin: 0 }}>
            Buy and retire them now, in one transaction
          </label>
        </div>
      </fieldset>
      <div className="grid-2">
        <div className="field">
          <label htmlFor="amount">Amount (tonnes CO2e)</label>
          <input
            id="amount"
            inputMode="decimal"
            value={amountText}
            aria-invalid={amountText && problem ? true : undefined}
            aria-describedby="amount-hint amount-error"
            onChange={(e) => setAmountText(e.target.value)}
          />
          <p id="amount-hint" className="hint">
            Up to {formatTonnes(listing.remaining)}; 0.001 t = 1 kg.{" "}
            <button
              type="button"
              className="secondary"
              onClick={() => setAmountText(tonnesInputValue(listing.remaining))}
            >
              Buy all
            </button>
          </p>
          <p id="amount-error" className="error" aria-live="polite">
            {amountText ? (problem ?? "") : ""}
          </p>
        </div>
        {native ? (
          <div className="field">
            <p className="hint" data-testid="native-price">
              Paid in {sym}: exactly this price is sent with the transaction. If the seller changes the price before it
              is mined, the purchase fails and nothing is charged.
            </p>
          </div>
        ) : (
          <div className="field">
            <label htmlFor="slippage">Price protection</label>
            <select id="slippage" value={slippageBps} onChange={(e) => setSlippageBps(Number(e.target.value))}>
              {SLIPPAGE_CHOICES.map((b) => (
                <option key={b} value={b}>
                  {b === 0 ? "Exactly this price" : `Up to ${(b / 100).toFixed(1)} % more`}
                </option>
              ))}
            </select>
            <p className="hint">
              If the seller raises the price before your transaction, it fails instead of charging more.
            </p>
          </div>
        )}
      </div>
      {qt && !problem ? (
        <dl className="facts" aria-label="Price before signing" data-testid="quote">
          <dt>You pay</dt>
          <dd data-testid="total">
            {formatTokenAmount(qt.totalPrice, dec)} {sym}
          </dd>
          <dt>Protocol fee</dt>
          <dd>
            {formatTokenAmount(qt.fee, dec)} {sym} ({(props.feeBps / 100).toFixed(2)} %, deducted from the seller&apos;s
            proceeds)
          </dd>
          <dt>Most you can be charged</dt>
          <dd>
            {formatTokenAmount(native ? qt.totalPrice : qt.maxTotalPrice, dec)} {sym}
            {native ? " (plus the network fee)" : ""}
          </dd>
          <dt>Your balance</dt>
          <dd>
            {props.balance !== undefined
              ? `${formatTokenAmount(props.balance, dec)} ${sym}`
              : props.walletError
                ? "could not be read"
                : "…"}
          </dd>
        </dl>
      ) : null}
      {!affordable ? (
        <p role="alert" className="error">
          Your balance does not cover this purchase.
        </p>
      ) : null}
      {props.walletError ? (
        <p role="alert" className="error" data-testid="wallet-read-error">
          Could not read your {sym} balance{native ? "" : " and approval"}: {props.walletError} Buying stays disabled
          until it is read; reload the page to try again.
        </p>
      ) : null}
      {mode === "retire" ? (
        <>
          <RetirementFields form={form} onChange={setForm} errors={formErrors} ownAddress={props.account} />
          <IrreversibleConfirm
            checked={confirmed}
            onChange={(c) => dispatch({ type: "confirm", confirmed: c })}
            amountText={qt ? formatTonnes(qt.amountKg) : "The credits"}
          />
        </>
      ) : null}
      <ol className="steps">
        {native ? null : (
          <li aria-current={step === "approve" ? "step" : undefined}>
            Approve the marketplace to take up to{" "}
            {qt ? `${formatTokenAmount(qt.maxTotalPrice, dec)} ${sym}` : "the price"} {step === "buy" ? "(done)" : ""}
          </li>
        )}
        <li aria-current={step === "buy" ? "step" : undefined}>{mode === "buy" ? "Buy" : "Buy and retire"}</li>
      </ol>
      <div className="actions">
        {step === "approve" ? (
          <button type="submit" disabled={Boolean(problem) || !affordable || tx.busy} data-testid="approve">
            Approve {qt ? `${formatTokenAmount(qt.maxTotalPrice, dec)} ${sym}` : ""}
          </button>
        ) : (
          <button
            type="submit"
            disabled={
              Boolean(problem) ||
              !affordable ||
              tx.busy ||
              step === undefined ||
              Boolean(props.walletError) ||
              (mode === "retire" && !confirmed)
            }
            data-testid="buy"
            className={mode === "retire" ? "danger" : undefined}
          >
            {mode === "buy" ? "Buy" : "Buy and retire permanently"}
          </button>
        )}
      </div>
      <TxStatus state={tx.state} explorerUrl={runtime.explorerUrl} />
      <MintedCertificate id={certificateId} />
      {boughtToWallet}
    </form>
  );
}
