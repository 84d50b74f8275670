"use client";

import { WalletButton } from "./WalletButton.tsx";
import type { ReactNode } from "react";
import { useAccount } from "wagmi";

/** Pages about "my" credits need an account; say so instead of rendering an empty page. */
export function RequireWallet({ children, what }: { children: (address: `0x${string}`) => ReactNode; what: string }) {
  const { address } = useAccount();
  if (!address)
    return (
      <div className="panel">
        <p>Connect your wallet to {what}.</p>
        <WalletButton />
      </div>
    );
  return <>{children(address)}</>;
}
