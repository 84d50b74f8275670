"use client";

import type { TxState } from "@/lib/chain/hooks.ts";

/** Announces a transaction's progress to everyone, screen readers included (role=status / alert). */
export function TxStatus({ state, explorerUrl }: { state: TxState; explorerUrl?: string }) {
  if (state.status === "idle") return null;
  const tx = "hash" in state && state.hash ? <span className="mono"> Transaction {state.hash}</span> : null;
  const link =
    explorerUrl && "hash" in state && state.hash ? (
      <a href={`${explorerUrl}/tx/${state.hash}`} rel="noreferrer" target="_blank">
        {" "}
        View on the explorer
      </a>
    ) : null;
  switch (state.status) {
    case "wallet":
      return (
        <p role="status" className="status status--pending" data-tx="wallet">
          {state.label}: confirm in your wallet…
        </p>
      );
    case "pending":
      return (
        <p role="status" className="status status--pending" data-tx="pending">
          {state.label}: pending on chain…{tx}
          {link}
          {state.note ? <span data-testid="tx-note"> {state.note}</span> : null}
        </p>
      );
    case "confirmed":
      return (
        <p role="status" className="status status--ok" data-tx="confirmed">
          {state.label}: confirmed.{tx}
          {link}
        </p>
      );
    case "failed":
      return (
        <p role="alert" className="status status--bad" data-tx="failed">
          {state.label} failed: {state.message}
        </p>
      );
  }
}
