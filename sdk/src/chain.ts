import type { Chain } from "viem";

/**
 * A minimal viem chain for a JSON-RPC endpoint: what wallet clients need to sign and send
 * transactions (the chain id, checked against the node's, and the endpoint). Ether as the native
 * currency, as on Ethereum, its rollups and Hardhat.
 */
export function chainFor(chainId: number, rpcUrl: string): Chain {
  return {
    id: chainId,
    name: `chain-${chainId}`,
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: [rpcUrl] } },
  };
}
