"use client";

import "@rainbow-me/rainbowkit/styles.css";
import { connectorsForWallets, RainbowKitProvider, lightTheme } from "@rainbow-me/rainbowkit";
import { injectedWallet } from "@rainbow-me/rainbowkit/wallets";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { createContext, useContext, useState, type ReactNode } from "react";
import { createConfig, http, WagmiProvider } from "wagmi";
import { appChain, supportedChains, type RuntimeConfig } from "@/lib/config.ts";

const RuntimeConfigContext = createContext<RuntimeConfig | null>(null);

/** The deployment the server described (chain, RPC, contract addresses). */
export function useRuntimeConfig(): RuntimeConfig {
  const config = useContext(RuntimeConfigContext);
  if (!config) throw new Error("useRuntimeConfig outside <Providers>");
  return config;
}

function makeWagmiConfig(runtime: RuntimeConfig) {
  // Injected wallets only: WalletConnect would dial its relay, which this product must not need.
  const connectors = connectorsForWallets([{ groupName: "Wallets", wallets: [injectedWallet] }], {
    appName: "CarbonProof",
    projectId: "unused-no-walletconnect",
  });
  const chains = supportedChains(runtime);
  return createConfig({
    chains,
    connectors,
    ssr: true,
    transports: Object.fromEntries(
      chains.map((c) => [c.id, http(c.rpcUrls.default.http[0], { batch: { batchSize: 200, wait: 8 } })]),
    ),
  });
}

export function Providers({ runtime, children }: { runtime: RuntimeConfig; children: ReactNode }) {
  const [wagmiConfig] = useState(() => makeWagmiConfig(runtime));
  const [queryClient] = useState(
    () => new QueryClient({ defaultOptions: { queries: { staleTime: 4_000, refetchOnWindowFocus: false } } }),
  );
  return (
    <RuntimeConfigContext.Provider value={runtime}>
      <WagmiProvider config={wagmiConfig}>
        <QueryClientProvider client={queryClient}>
          <RainbowKitProvider
            initialChain={appChain(runtime)}
            theme={lightTheme({ accentColor: "#14532d", borderRadius: "small" })}
          >
            {children}
          </RainbowKitProvider>
        </QueryClientProvider>
      </WagmiProvider>
    </RuntimeConfigContext.Provider>
  );
}
