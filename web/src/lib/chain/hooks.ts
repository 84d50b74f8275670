"use client";

import { useQuery, useQueryClient, type UseQueryResult } from "@tanstack/react-query";
import { useCallback, useEffect, useRef, useState } from "react";
import type { Abi, Address, Hex, PublicClient, TransactionReceipt } from "viem";
import { useAccount, usePublicClient, useWriteContract } from "wagmi";
import { useRuntimeConfig } from "@/app/providers.tsx";
import { describeError } from "../errors.ts";
import { withBubblingErrors } from "./abis.ts";
import { dropPending, findPending, savePending, type KeyValueStore } from "./pendingTx.ts";
import { SLOW_MESSAGE, replacedMessage, settleTransaction, type SentCall, type SentTransaction } from "./track.ts";
import { runtimeEventReads } from "./events.ts";
import type { Deployment } from "./reads.ts";

/** A public client on the app's chain: reads work with no wallet connected. */
export function useReader(): PublicClient {
  const runtime = useRuntimeConfig();
  const client = usePublicClient({ chainId: runtime.chainId });
  if (!client) throw new Error(`no public client for chain ${runtime.chainId}`);
  return client as PublicClient;
}

/**
 * A react-query over chain reads, keyed by the chain and `key`. `read` gets the deployment: its
 * addresses, and its events read from its first block in the configured ranges, those of one run
 * a few at a time.
 */
export function useChainQuery<T>(
  key: readonly unknown[],
  read: (client: PublicClient, deployment: Deployment) => Promise<T>,
  options: { enabled?: boolean; refetchIntervalMs?: number } = {},
): UseQueryResult<T, Error> {
  const runtime = useRuntimeConfig();
  const client = useReader();
  return useQuery({
    queryKey: ["chain", runtime.chainId, ...key],
    queryFn: () =>
      read(client, {
        ...runtime.addresses,
        events: runtimeEventReads(runtime),
      }),
    enabled: options.enabled ?? true,
    refetchInterval: options.refetchIntervalMs,
  });
}

export type TxState =
  | { status: "idle" }
  | { status: "wallet"; label: string }
  | { status: "pending"; label: string; hash: Hex; note?: string }
  | { status: "confirmed"; label: string; hash: Hex }
  | { status: "failed"; label: string; message: string; hash?: Hex };

export type WriteRequest = {
  label: string;
  address: Address;
  abi: Abi;
  functionName: string;
  args: readonly unknown[];
  /** Native currency sent along (a listing paid in ETH); none by default. */
  value?: bigint;
  /** What did not happen when the wallet replaces the transaction: "nothing was bought". */
  undone?: string;
};

export type SendResult = { ok: true; hash: Hex; receipt: TransactionReceipt } | { ok: false };

const DEFAULT_UNDONE = "it did not run";

function sessionStore(): KeyValueStore | undefined {
  return typeof window === "undefined" ? undefined : window.sessionStorage;
}

/**
 * Sends one transaction at a time and tracks it: waiting for the wallet, pending on chain
 * (with no timeout: a slow transaction can still be mined), confirmed or failed (with the
 * reason in words, a revert's read by replaying it at its block). A replacement made in the
 * wallet is a failure unless it only repriced the same transaction. Refreshes every chain
 * query once a transaction is settled, failed ones too (a revert usually means the page is
 * stale).
 *
 * With `key`, a sent transaction is remembered in sessionStorage for this page and form
 * (pendingTx.ts): after a reload or a wallet reconnect, the form picks it up again and keeps
 * waiting. `onConfirmed` runs for such a resumed transaction too.
 */
export function useTransaction(options: { key?: string; onConfirmed?: (receipt: TransactionReceipt) => void } = {}) {
  const runtime = useRuntimeConfig();
  const reader = useReader();
  const { chainId, address: account } = useAccount();
  const { writeContractAsync } = useWriteContract();
  const queryClient = useQueryClient();
  const [state, setState] = useState<TxState>({ status: "idle" });
  const { key } = options;
  const onConfirmed = useRef(options.onConfirmed);
  onConfirmed.current = options.onConfirmed;
  const abort = useRef<AbortController | undefined>(undefined);

  /** Waits for `hash` and puts its outcome in the state; true once it is confirmed. */
  const follow = useCallback(
    async (
      label: string,
      hash: Hex,
      undone: string,
      call: SentCall | undefined,
      resumed?: SentTransaction,
    ): Promise<{ ok: true; hash: Hex; receipt: TransactionReceipt } | { ok: false }> => {
      const controller = new AbortController();
      abort.current?.abort();
      abort.current = controller;
      const store = sessionStore();
      const page = typeof window === "undefined" ? "" : window.location.pathname;
      let sent = resumed;
      if (store && key) savePending(store, { hash, label, page, key, undone, sent });
      setState({ status: "pending", label, hash });
      let current = hash;
      try {
        const outcome = await settleTransaction(reader, hash, call, {
          signal: controller.signal,
          sent: resumed,
          // kept so that a reload can still tell a replacement mined while the page was away
          onSent: (seen) => {
            sent = seen;
            if (store && key) savePending(store, { hash, label, page, key, undone, sent });
          },
          onSlow: () => setState({ status: "pending", label, hash: current, note: SLOW_MESSAGE }),
          onRepriced: (next) => {
            current = next;
            if (store && key) {
              dropPending(store, hash);
              savePending(store, { hash: next, label, page, key, undone, sent });
            }
            setState({ status: "pending", label, hash: next });
          },
        });
        if (store) dropPending(store, current);
        void queryClient.invalidateQueries({ queryKey: ["chain"] });
        if (outcome.kind === "replaced") {
          setState({ status: "failed", label, message: replacedMessage(outcome.reason, undone), hash: outcome.hash });
          return { ok: false };
        }
        if (outcome.kind === "reverted") {
          setState({ status: "failed", label, message: outcome.message, hash: outcome.hash });
          return { ok: false };
        }
        setState({ status: "confirmed", label, hash: outcome.hash });
        onConfirmed.current?.(outcome.receipt);
        return { ok: true, hash: outcome.hash, receipt: outcome.receipt };
      } catch (cause) {
        // unmounted: the entry stays stored, and the form picks it up when it mounts again
        if (controller.signal.aborted) return { ok: false };
        setState({
          status: "pending",
          label,
          hash: current,
          note: `The node could not be read (${describeError(cause).message}) Reload the page to look again; do not send it twice.`,
        });
        return { ok: false };
      }
    },
    [reader, queryClient, key],
  );

  const followRef = useRef(follow);
  followRef.current = follow;
  // Once per mount: a transaction this form sent before a reload or a disconnect is waited for
  // again; unmounting stops the wait (its entry stays stored for the next mount).
  useEffect(() => {
    const store = sessionStore();
    const pending = store && key ? findPending(store, window.location.pathname, key) : undefined;
    if (pending) void followRef.current(pending.label, pending.hash, pending.undone, undefined, pending.sent);
    return () => abort.current?.abort();
  }, [key]);

  const send = useCallback(
    async (req: WriteRequest): Promise<SendResult> => {
      if (chainId !== runtime.chainId) {
        setState({ status: "failed", label: req.label, message: `Switch your wallet to ${runtime.chainName} first.` });
        return { ok: false };
      }
      setState({ status: "wallet", label: req.label });
      let hash: Hex;
      // errors raised by a contract the call reaches (the payment token, the certificates) are named too
      const abi = withBubblingErrors(req.abi);
      try {
        hash = await writeContractAsync({
          address: req.address,
          abi,
          functionName: req.functionName,
          args: req.args,
          value: req.value,
          chainId: runtime.chainId,
        });
      } catch (cause) {
        setState({ status: "failed", label: req.label, message: describeError(cause).message });
        // a refusal at estimation time often means the page shows stale chain data
        void queryClient.invalidateQueries({ queryKey: ["chain"] });
        return { ok: false };
      }
      const call = account ? { ...req, abi, account } : undefined;
      return follow(req.label, hash, req.undone ?? DEFAULT_UNDONE, call);
    },
    [chainId, account, runtime.chainId, runtime.chainName, writeContractAsync, queryClient, follow],
  );
  const reset = useCallback(() => setState({ status: "idle" }), []);
  return { state, send, reset, busy: state.status === "wallet" || state.status === "pending" };
}
