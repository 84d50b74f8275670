/**
 * What the browser needs to know about the deployment, decided on the server at
 * request time (so one `next build` serves any chain: the e2e stack on a random
 * port, a testnet, production) and handed to the client as props.
 */
import { defineChain, type Address, type Chain } from "viem";
import { hardhat } from "viem/chains";

/** Contract names as Ignition and the sdk's generated file name them. */
export const CONTRACT_NAMES = [
  "AttestationRegistry",
  "OracleSet",
  "DeviceRegistry",
  "CarbonCredits",
  "RetirementCertificates",
  "Marketplace",
  "TestUSD",
] as const;
export type ContractName = (typeof CONTRACT_NAMES)[number];

export type RuntimeConfig = {
  chainId: number;
  chainName: string;
  rpcUrl: string;
  /** Block explorer of the production chain, if any (links to transactions). */
  explorerUrl: string | undefined;
  addresses: Partial<Record<ContractName, Address>>;
  /** Where the addresses came from, shown on the About/diagnostics line. */
  addressSource: string;
  /**
   * Facility id → display name and country. The chain holds facility ids only; this
   * directory is off-chain deployment metadata (scripts/seed-demo.ts writes the demo's).
   */
  facilities: Record<string, { name?: string; country?: string }>;
  /** IPFS gateway for evidence bundles (`<gateway>/ipfs/<cid>`); without it, the app's own /bundles/<cid>. */
  ipfsGateway: string | undefined;
};

/** Where the evidence bundle with `cid` can be downloaded. */
export function bundleUrl(config: RuntimeConfig, cid: string): string {
  return config.ipfsGateway ? `${config.ipfsGateway.replace(/\/$/, "")}/ipfs/${cid}` : `/bundles/${cid}`;
}

/** The chain the app reads from and asks wallets to switch to. */
export function appChain(config: RuntimeConfig): Chain {
  if (config.chainId === hardhat.id) return { ...hardhat, rpcUrls: { default: { http: [config.rpcUrl] } } } as Chain;
  return defineChain({
    id: config.chainId,
    name: config.chainName,
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: [config.rpcUrl] } },
    blockExplorers: config.explorerUrl ? { default: { name: "Explorer", url: config.explorerUrl } } : undefined,
  });
}

/** Wallets may be on the local chain or the configured one; anything else is the wrong network. */
export function supportedChains(config: RuntimeConfig): [Chain, ...Chain[]] {
  const main = appChain(config);
  return main.id === hardhat.id ? [main] : [main, hardhat];
}
