import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { getAddress, isAddress, type Address } from "viem";
import { CONTRACT_NAMES, eventReadSettings, type ContractName, type RuntimeConfig } from "./config.ts";
import { generatedAddresses, generatedStartBlock } from "./chain/abis.ts";
import { ignitionStartBlocks } from "../../../sdk/src/chain/ignitionStartBlocks.ts";
import { scrubUrls, urlForMessages, urlScrubber } from "../../../sdk/src/urls.ts";

/**
 * Reads the deployment from the environment, once per request (cheap: a small file):
 *   CARBONPROOF_RPC_URL       JSON-RPC URL the browser reads from (default http://127.0.0.1:8545).
 *                             It is public: every page hands it to the browser. A provider URL
 *                             with an API key in it belongs in CARBONPROOF_SERVER_RPC_URL.
 *   CARBONPROOF_SERVER_RPC_URL  JSON-RPC URL the server reads from (the embedded indexer, receipts,
 *                             token reads); default CARBONPROOF_RPC_URL. Never sent to a browser,
 *                             and named in messages by scheme, host and port only (`serverRpc()`).
 *   CARBONPROOF_CHAIN_ID      chain id (default 31337, the local Hardhat node)
 *   CARBONPROOF_CHAIN_NAME    display name of a production chain
 *   CARBONPROOF_EXPLORER_URL  block explorer of that chain
 *   CARBONPROOF_ADDRESSES     path of an Ignition `deployed_addresses.json`; by default
 *                             ../ignition/deployments/chain-<id>/deployed_addresses.json, then
 *                             the addresses in the sdk's generated file.
 *   CARBONPROOF_FACILITIES    facility directory JSON ({ id: { name, country } }); by default
 *                             ../.carbonproof/web/facilities.json (written by scripts/seed-demo.ts).
 *   CARBONPROOF_IPFS_GATEWAY  IPFS gateway the credit page links evidence bundles to; without it
 *                             they are served from the local bundle folder (app/bundles/[cid]).
 *   CARBONPROOF_START_BLOCK   the deployment's first block, where the dApp's event reads start;
 *                             default the deployment's: from the Ignition journal beside
 *                             deployed_addresses.json when the addresses come from there, the
 *                             sdk's generated start block when they are its; else 0.
 *   CARBONPROOF_LOG_RANGE_BLOCKS  blocks per eth_getLogs query of those reads (default 5,000).
 */
export function runtimeConfig(): RuntimeConfig {
  const chainId = Number(process.env.CARBONPROOF_CHAIN_ID ?? 31337);
  if (!Number.isSafeInteger(chainId) || chainId <= 0)
    throw new Error(`CARBONPROOF_CHAIN_ID must be a positive integer, got ${process.env.CARBONPROOF_CHAIN_ID}`);
  const rpcUrl = process.env.CARBONPROOF_RPC_URL ?? "http://127.0.0.1:8545";
  const { addresses, source, deploymentBlock } = loadAddresses(chainId);
  return {
    chainId,
    chainName: process.env.CARBONPROOF_CHAIN_NAME ?? (chainId === 31337 ? "Local Hardhat" : `Chain ${chainId}`),
    rpcUrl,
    explorerUrl: process.env.CARBONPROOF_EXPLORER_URL || undefined,
    addresses,
    addressSource: source,
    facilities: loadFacilities(),
    ipfsGateway: process.env.CARBONPROOF_IPFS_GATEWAY || undefined,
    ...eventReadSettings(process.env, deploymentBlock),
  };
}

/**
 * The JSON-RPC URL the server's own reads use, and how messages name it. CARBONPROOF_SERVER_RPC_URL
 * may carry a provider's key (in its path, query or user info): it never leaves the server, and
 * `shown` is its scheme, host and port then `/…` (the sdk's one rule), for messages that reach a
 * page or a log. `scrub` takes it out of an error's text (viem quotes the URL it called).
 */
export function serverRpc(env: Record<string, string | undefined> = process.env): {
  url: string;
  shown: string;
  setting: string;
  scrub: (text: string) => string;
} {
  const setting = env.CARBONPROOF_SERVER_RPC_URL ? "CARBONPROOF_SERVER_RPC_URL" : "CARBONPROOF_RPC_URL";
  const url = env.CARBONPROOF_SERVER_RPC_URL || env.CARBONPROOF_RPC_URL || "http://127.0.0.1:8545";
  if (!URL.canParse(url) || !/^https?:$/.test(new URL(url).protocol))
    throw new Error(`${setting} must be an http(s) URL of a JSON-RPC endpoint, got ${urlForMessages(url, setting)}`);
  const scrubGiven = urlScrubber([url]);
  // the configured URL whole first, then any other URL an error quotes (a redirect's, a library's)
  return { url, shown: urlForMessages(url, setting), setting, scrub: (text) => scrubUrls(scrubGiven(text)) };
}

function loadFacilities(): RuntimeConfig["facilities"] {
  const file = process.env.CARBONPROOF_FACILITIES
    ? resolve(process.env.CARBONPROOF_FACILITIES)
    : join(process.cwd(), "..", ".carbonproof", "web", "facilities.json");
  if (!existsSync(file)) return {};
  const raw = JSON.parse(readFileSync(file, "utf8")) as unknown;
  const out: RuntimeConfig["facilities"] = {};
  if (raw && typeof raw === "object")
    for (const [id, v] of Object.entries(raw as Record<string, unknown>)) {
      if (!v || typeof v !== "object") continue;
      const { name, country } = v as { name?: unknown; country?: unknown };
      out[id] = {
        name: typeof name === "string" ? name.slice(0, 100) : undefined,
        country: typeof country === "string" && /^[A-Z]{3}$/.test(country) ? country : undefined,
      };
    }
  return out;
}

/**
 * The start block of an Ignition deployment's addresses (`deployed_addresses.json`): the lowest
 * of its contracts' deployment blocks in the journal beside it (the sdk's reader), when it has
 * them all; else undefined (reads start at 0). Not read when CARBONPROOF_START_BLOCK is set: a
 * damaged journal then stops nothing.
 */
function journalStartBlock(addressesFile: string, futureIds: string[]): number | undefined {
  if (process.env.CARBONPROOF_START_BLOCK) return undefined;
  let blocks: Map<string, number>;
  try {
    blocks = ignitionStartBlocks(dirname(addressesFile));
  } catch (cause) {
    throw new Error(
      `${(cause as Error).message.split("\n")[0]} Set CARBONPROOF_START_BLOCK to the deployment's first block to start without it.`,
      { cause },
    );
  }
  const own = futureIds.map((id) => blocks.get(id));
  if (own.length === 0 || own.some((b) => b === undefined)) return undefined;
  return Math.min(...(own as number[]));
}

function loadAddresses(chainId: number): {
  addresses: Partial<Record<ContractName, Address>>;
  source: string;
  deploymentBlock?: number;
} {
  const file = process.env.CARBONPROOF_ADDRESSES
    ? resolve(process.env.CARBONPROOF_ADDRESSES)
    : join(process.cwd(), "..", "ignition", "deployments", `chain-${chainId}`, "deployed_addresses.json");
  if (existsSync(file)) {
    const raw = JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>;
    const addresses: Partial<Record<ContractName, Address>> = {};
    // Ignition keys are "<Module>#<Contract>"; the contract part is the name we need.
    for (const [key, value] of Object.entries(raw)) {
      const name = key.split("#").pop() as ContractName;
      if (CONTRACT_NAMES.includes(name) && typeof value === "string" && isAddress(value))
        addresses[name] = getAddress(value);
    }
    return { addresses, source: file, deploymentBlock: journalStartBlock(file, Object.keys(raw)) };
  }
  return {
    addresses: generatedAddresses(chainId),
    source: "sdk generated addresses",
    deploymentBlock: generatedStartBlock(chainId),
  };
}
