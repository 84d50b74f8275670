/**
 * What the browser needs to know about the deployment, decided on the server at
 * request time (so one `next build` serves any chain: the e2e stack on a random
 * port, a testnet, production) and handed to the client as props.
 */
import { defineChain, type Address, type Chain } from "viem";
import { hardhat } from "viem/chains";
import { z } from "zod";

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
  /** The deployment's first block: the dApp reads contract events from it (CARBONPROOF_START_BLOCK). */
  startBlock?: number;
  /** Blocks per eth_getLogs query of the dApp's event reads (CARBONPROOF_LOG_RANGE_BLOCKS). */
  logRangeBlocks?: number;
};

const blockSetting = (name: string, min: number) =>
  z
    .string()
    .regex(/^[0-9]{1,15}$/, `${name} must be a whole number of blocks`)
    .transform(Number)
    .refine((n) => n >= min, `${name} must be at least ${min}`)
    .optional();

const eventReadEnv = z.object({
  CARBONPROOF_START_BLOCK: blockSetting("CARBONPROOF_START_BLOCK", 0),
  CARBONPROOF_LOG_RANGE_BLOCKS: blockSetting("CARBONPROOF_LOG_RANGE_BLOCKS", 1),
});

/**
 * Where the dApp's event reads start and how many blocks each eth_getLogs spans, from the
 * environment: CARBONPROOF_START_BLOCK (the deployment's first block; default `deploymentBlock`,
 * else 0) and CARBONPROOF_LOG_RANGE_BLOCKS (default 5,000, lib/chain/events.ts). Throws a message
 * naming the setting when one is not a whole number.
 */
export function eventReadSettings(
  env: Record<string, string | undefined>,
  deploymentBlock?: number,
): Pick<RuntimeConfig, "startBlock" | "logRangeBlocks"> {
  const parsed = eventReadEnv.safeParse({
    CARBONPROOF_START_BLOCK: env.CARBONPROOF_START_BLOCK || undefined,
    CARBONPROOF_LOG_RANGE_BLOCKS: env.CARBONPROOF_LOG_RANGE_BLOCKS || undefined,
  });
  if (!parsed.success) throw new Error(parsed.error.issues.map((i) => i.message).join("; "));
  return {
    startBlock: parsed.data.CARBONPROOF_START_BLOCK ?? deploymentBlock ?? 0,
    logRangeBlocks: parsed.data.CARBONPROOF_LOG_RANGE_BLOCKS,
  };
}

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
