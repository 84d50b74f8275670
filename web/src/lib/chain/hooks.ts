"use client";

import { useQuery, useQueryClient, type UseQueryResult } from "@tanstack/react-query";
import { useCallback, useState } from "react";
import type { Abi, Address, Hex, PublicClient, TransactionReceipt } from "viem";
import { useAccount, usePublicClient, useWriteContract } from "wagmi";
import { useRuntimeConfig } from "@/app/providers.tsx";
import { describeError } from "../errors.ts";
import { withBubblingErrors } from "./abis.ts";
import type { Addresses } from "./reads.ts";

/** A public client on the app's chain: reads work with no wallet connected. */
export function useReader(): PublicClient {
  const runtime = useRuntimeConfig();
  const client = usePublicClient({ chainId: runtime.chainId });
  if (!client) throw new Error(`no public client for chain ${runtime.chainId}`);
  return client as PublicClient;
}

/** A react-query over chain reads, keyed by the chain and `key`. */
export function useChainQuery<T>(
  key: readonly unknown[],
  read: (client: PublicClient, addresses: Addresses) => Promise<T>,
  options: { enabled?: boolean; refetchIntervalMs?: number } = {},
): UseQueryResult<T, Error> {
  const runtime = useRuntimeConfig();
  const client = useReader();
  return useQuery({
    queryKey: ["chain", runtime.chainId, ...key],
    queryFn: () => read(client, runtime.addresses),
    enabled: options.enabled ?? true,
    refetchInterval: options.refetchIntervalMs,
  });
}

export type TxState =
  | { status: "idle" }
  | { status: "wallet"; label: string }
  | { status: "pending"; label: string; hash: Hex }
  | { status: "confirmed"; label: string; hash: Hex }
  | { status: "failed"; label: string; message: string; hash?: Hex };

export type WriteRequest = {
  label: string;
  address: Address;
  abi: Abi;
  functionName: string;
  args: readonly unknown[];
};

/**
 * Sends one transaction at a time and tracks it: waiting for the wallet, pending on
 * chain, confirmed or failed (with the reason in words). Refreshes every chain query
 * once a transaction is mined, so balances and listings follow.
 */
export function useTransaction() {
  const runtime = useRuntimeConfig();
  const reader = useReader();
  const { chainId } = useAccount();
  const { writeContractAsync } = useWriteContract();
  const queryClient = useQueryClient();
  const [state, setState] = useState<TxState>({ status: "idle" });

  const send = useCallback(
    async (req: WriteRequest): Promise<{ ok: true; hash: Hex; receipt: TransactionReceipt } | { ok: false }> => {
      if (chainId !== runtime.chainId) {
        setState({ status: "failed", label: req.label, message: `Switch your wallet to ${runtime.chainName} first.` });
        return { ok: false };
      }
      setState({ status: "wallet", label: req.label });
      let hash: Hex | undefined;
      try {
        hash = await writeContractAsync({
          address: req.address,
          // errors raised by a contract the call reaches (the payment token, the certificates) are named too
          abi: withBubblingErrors(req.abi),
          functionName: req.functionName,
          args: req.args,
          chainId: runtime.chainId,
        });
        setState({ status: "pending", label: req.label, hash });
        const receipt = await reader.waitForTransactionReceipt({ hash });
        if (receipt.status !== "success") throw new Error(`the transaction ${hash} reverted`);
        setState({ status: "confirmed", label: req.label, hash });
        await queryClient.invalidateQueries({ queryKey: ["chain"] });
        return { ok: true, hash, receipt };
      } catch (cause) {
        setState({ status: "failed", label: req.label, message: describeError(cause).message, hash });
        return { ok: false };
      }
    },
    [chainId, runtime.chainId, runtime.chainName, writeContractAsync, reader, queryClient],
  );
  const reset = useCallback(() => setState({ status: "idle" }), []);
  return { state, send, reset, busy: state.status === "wallet" || state.status === "pending" };
}
