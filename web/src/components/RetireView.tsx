"use client";

import Link from "next/link";
import { useSearchParams } from "next/navigation";
import { useReducer, useState } from "react";
import { useRuntimeConfig } from "@/app/providers.tsx";
import { retirementCertificatesAbi } from "@/lib/chain/abis.ts";
import { useChainQuery, useTransaction } from "@/lib/chain/hooks.ts";
import { certificateIdIn, readPortfolio } from "@/lib/chain/reads.ts";
import { describeError } from "@/lib/errors.ts";
import { chooseHolding, initialIrreversibleForm, irreversibleFormReducer } from "@/lib/irreversibleForm.ts";
import { retirementDetails, type FieldErrors } from "@/lib/retirement.ts";
import { formatTonnes, parseTonnes, tonnesInputValue } from "@/lib/units.ts";
import { IrreversibleConfirm } from "./IrreversibleConfirm.tsx";
import { HoldingSelect } from "./HoldingSelect.tsx";
import { RequireWallet } from "./RequireWallet.tsx";
import { RetirementFields, emptyRetirementForm } from "./RetirementFields.tsx";
import { MintedCertificate } from "./MintedCertificate.tsx";
import { TxStatus } from "./TxStatus.tsx";

export function RetireView() {
  return (
    <RequireWallet what="retire credits you hold">
      {/* keyed by account: a wallet account switch starts a fresh form (beneficiary = the new account) */}
      {(address) => <RetireForm key={address} account={address} />}
    </RequireWallet>
  );
}

function RetireForm({ account }: { account: `0x${string}` }) {
  const runtime = useRuntimeConfig();
  const params = useSearchParams();
  const portfolio = useChainQuery(["portfolio", account], (c, a) => readPortfolio(c, a, account));
  const [state, dispatch] = useReducer(irreversibleFormReducer, params.get("token") ?? "", initialIrreversibleForm);
  const { tokenText, amountText, confirmed } = state;
  const [form, setForm] = useState(emptyRetirementForm(account));
  const [errors, setErrors] = useState<FieldErrors>({});
  const [certificateId, setCertificateId] = useState<bigint | undefined>();
  const tx = useTransaction({
    key: "retire",
    // also for a retirement sent before a reload (resumed from sessionStorage)
    onConfirmed: (receipt) => {
      const minted = certificateIdIn(receipt.logs, "Retired");
      if (minted !== undefined) setCertificateId(minted);
    },
  });

  if (portfolio.isPending) return <p role="status">Reading your credits…</p>;
  if (portfolio.isError)
    return (
      <p role="alert" className="status status--bad">
        {describeError(portfolio.error).message}
      </p>
    );
  const holdings = portfolio.data.holdings;
  const choice = chooseHolding(holdings, tokenText);
  const holding = choice.kind === "held" ? choice.holding : undefined;
  if (choice.kind === "none" && certificateId === undefined)
    return (
      <p>
        You hold no credits to retire. <Link href="/">Buy some on the market</Link> (or buy and retire in one step).
      </p>
    );
  const parsed = parseTonnes(amountText);
  const amountError = !parsed.ok
    ? parsed.error
    : holding && parsed.value > holding.balanceKg
      ? `You hold ${formatTonnes(holding.balanceKg)} of this credit.`
      : undefined;

  async function retire() {
    if (!holding || !parsed.ok || amountError) return;
    const details = retirementDetails(form);
    if (!details.ok) {
      setErrors(details.errors);
      return;
    }
    setErrors({});
    const r = await tx.send({
      label: `Retire ${formatTonnes(parsed.value)}`,
      address: runtime.addresses.RetirementCertificates!,
      abi: retirementCertificatesAbi,
      functionName: "retire",
      args: [holding.tokenId, parsed.value, details.value],
      undone: "nothing was retired",
    });
    // disarm: a second retirement needs a new amount and a new acknowledgement
    if (r.ok) dispatch({ type: "succeeded" });
  }

  return (
    <form
      className="panel"
      onSubmit={(e) => {
        e.preventDefault();
        void retire();
      }}
      aria-label="Retire credits"
    >
      {choice.kind === "not-held" ? (
        <p role="alert" className="status status--bad" data-testid="not-held">
          You no longer hold credit {choice.tokenText}
          {certificateId === undefined ? "" : " (all of it is retired)"}.{" "}
          {holdings.length ? "Choose another credit below to retire." : ""}
        </p>
      ) : null}
      {holdings.length ? (
        <div className="grid-2">
          <HoldingSelect
            id="token"
            holdings={holdings}
            value={holding?.tokenId}
            onChange={(t) => dispatch({ type: "token", tokenText: t })}
          />
          {holding ? (
            <div className="field">
              <label htmlFor="retire-amount">Amount (tonnes CO2e)</label>
              <input
                id="retire-amount"
                inputMode="decimal"
                value={amountText}
                placeholder={`up to ${tonnesInputValue(holding.balanceKg)}`}
                aria-invalid={amountText && amountError ? true : undefined}
                aria-describedby="retire-amount-hint retire-amount-error"
                onChange={(e) => dispatch({ type: "amount", amountText: e.target.value })}
              />
              <p id="retire-amount-hint" className="hint">
                You hold {formatTonnes(holding.balanceKg)}; 0.001 t = 1 kg.{" "}
                <button
                  type="button"
                  className="secondary"
                  onClick={() => dispatch({ type: "amount", amountText: tonnesInputValue(holding.balanceKg) })}
                >
                  Retire all
                </button>
              </p>
              <p id="retire-amount-error" className="error" aria-live="polite">
                {amountText ? (amountError ?? "") : ""}
              </p>
            </div>
          ) : null}
        </div>
      ) : null}
      <RetirementFields form={form} onChange={setForm} errors={errors} ownAddress={account} />
      <IrreversibleConfirm
        checked={confirmed}
        onChange={(c) => dispatch({ type: "confirm", confirmed: c })}
        amountText={parsed.ok ? formatTonnes(parsed.value) : "The credits"}
      />
      <div className="actions">
        <button
          type="submit"
          className="danger"
          disabled={!confirmed || Boolean(amountError) || tx.busy || !holding}
          data-testid="retire"
        >
          Retire permanently
        </button>
      </div>
      <TxStatus state={tx.state} explorerUrl={runtime.explorerUrl} />
      <MintedCertificate id={certificateId} />
    </form>
  );
}
