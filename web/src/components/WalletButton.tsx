"use client";

import { ConnectButton } from "@rainbow-me/rainbowkit";

/**
 * RainbowKit's modals behind our own buttons: the stock "Wrong network" button is white
 * on light red (below WCAG contrast), and our buttons share the site's focus and size.
 */
export function WalletButton({ label = "Connect wallet" }: { label?: string }) {
  return (
    <ConnectButton.Custom>
      {({ account, chain, openAccountModal, openChainModal, openConnectModal, mounted }) => {
        if (!mounted) return <span aria-hidden="true" className="wallet-placeholder" />;
        if (!account || !chain)
          return (
            <button type="button" onClick={openConnectModal} data-testid="connect-wallet">
              {label}
            </button>
          );
        if (chain.unsupported)
          return (
            <button type="button" className="danger" onClick={openChainModal} data-testid="wrong-network">
              Wrong network
            </button>
          );
        return (
          <button
            type="button"
            className="secondary"
            onClick={openAccountModal}
            data-testid="account-button"
            title={`Connected: ${account.address} on ${chain.name ?? `chain ${chain.id}`}`}
          >
            {account.displayName}
          </button>
        );
      }}
    </ConnectButton.Custom>
  );
}
