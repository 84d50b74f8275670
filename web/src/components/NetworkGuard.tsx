"use client";

import { useAccount, useSwitchChain } from "wagmi";
import { useRuntimeConfig } from "@/app/providers.tsx";
import { describeError } from "@/lib/errors.ts";

/** Wrong-network prompt: shown while a connected wallet is on another chain than the app's. */
export function NetworkGuard() {
  const runtime = useRuntimeConfig();
  const { isConnected, chainId } = useAccount();
  const { switchChain, isPending, error } = useSwitchChain();
  if (!isConnected || chainId === runtime.chainId) return null;
  return (
    <div role="alert" className="banner banner--warn">
      <p>
        Your wallet is on another network (chain {chainId ?? "unknown"}). CarbonProof runs on{" "}
        <strong>{runtime.chainName}</strong> (chain {runtime.chainId}).
      </p>
      <button type="button" onClick={() => switchChain({ chainId: runtime.chainId })} disabled={isPending}>
        {isPending ? "Switching…" : `Switch to ${runtime.chainName}`}
      </button>
      {error ? <p className="error">{describeError(error).message}</p> : null}
    </div>
  );
}
