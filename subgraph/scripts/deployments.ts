/**
 * Where the contracts are, per network: the local Hardhat chain (from an Ignition deployment or the
 * sdk's generated addresses) and the production network (from networks.config.json). Every input
 * is a file another tool or a person wrote, so each is validated here, once.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { z } from "zod";
import { ignitionStartBlocks } from "../../sdk/src/chain/ignitionStartBlocks.ts";
import { startBlocksFromJournal } from "../../sdk/src/chain/startBlocksFromJournal.ts";

const address = z
  .string()
  .regex(/^0x[0-9a-fA-F]{40}$/, "an address is 0x and 40 hex digits")
  .refine((a) => !/^0x0{40}$/.test(a), "the zero address is not a deployment");

export type ContractDeployment = { address: string; startBlock: number };

/** One network the manifest can be generated for. */
export type NetworkDeployment = {
  /** graph-node network name (must match the graph-node's `ethereum` setting or The Graph's name) */
  network: string;
  chainId: number;
  contracts: Record<string, ContractDeployment>;
  /** where the addresses came from, for the report */
  source: string;
};

const deploymentEntry = z.object({ address, startBlock: z.number().int().nonnegative() }).strict();

export const networksConfigSchema = z
  .object({
    $comment: z.string().optional(),
    local: z.object({ network: z.string().min(1), chainId: z.number().int().positive() }).strict(),
    production: z
      .object({
        network: z.string().min(1),
        chainId: z.number().int().positive(),
        contracts: z.record(z.string(), deploymentEntry),
      })
      .strict(),
  })
  .strict();

export type NetworksConfig = z.infer<typeof networksConfigSchema>;

export function readNetworksConfig(file: string): NetworksConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, "utf8"));
  } catch (cause) {
    throw new Error(`cannot read the networks config ${file}: ${String(cause)}`, { cause });
  }
  const parsed = networksConfigSchema.safeParse(raw);
  if (!parsed.success) {
    throw new Error(
      `${file} is not a valid networks config: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`,
    );
  }
  return parsed.data;
}

/** The production network, or undefined (with the reason) when no address is configured. */
export function productionDeployment(
  config: NetworksConfig,
  file: string,
): { deployment?: NetworkDeployment; reason?: string } {
  const p = config.production;
  if (Object.keys(p.contracts).length === 0) {
    return { reason: `no contract address configured for ${p.network} in ${file}` };
  }
  return { deployment: { network: p.network, chainId: p.chainId, contracts: p.contracts, source: file } };
}

const ignitionAddresses = z.record(z.string(), address);

// Start blocks from an Ignition journal: the sdk's reader (the dApp's default start block too).
export { startBlocksFromJournal };

/** Contracts of an Ignition deployment folder (`deployed_addresses.json`, `journal.jsonl`). */
export function readIgnitionDeployment(dir: string): Record<string, ContractDeployment> {
  const file = join(dir, "deployed_addresses.json");
  const parsed = ignitionAddresses.safeParse(JSON.parse(readFileSync(file, "utf8")));
  if (!parsed.success) throw new Error(`${file} is not an Ignition address file: ${parsed.error.message}`);
  const blocks = ignitionStartBlocks(dir);
  const out: Record<string, ContractDeployment> = {};
  for (const [futureId, addr] of Object.entries(parsed.data)) {
    const name = futureId.includes("#") ? futureId.slice(futureId.indexOf("#") + 1) : futureId;
    // A contract deployed twice under one module (never today) keeps the first future's address.
    if (!out[name]) out[name] = { address: addr, startBlock: blocks.get(futureId) ?? 0 };
  }
  return out;
}

/**
 * Contracts of chain `chainId` in a generated TypeScript module (sdk/src/contracts/generated.ts):
 * any exported object that maps the chain id to `{ <Name>: { address, deployedOnBlock? } }`.
 */
export async function readGeneratedModule(file: string, chainId: number): Promise<Record<string, ContractDeployment>> {
  const mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  const out: Record<string, ContractDeployment> = {};
  const seen = new Set<unknown>();
  const visit = (node: unknown, depth: number): void => {
    if (!node || typeof node !== "object" || seen.has(node) || depth > 4) return;
    seen.add(node);
    const chain = (node as Record<string, unknown>)[String(chainId)];
    if (chain && typeof chain === "object") {
      for (const [name, c] of Object.entries(chain as Record<string, unknown>)) {
        const entry = c as {
          address?: unknown;
          deployedOnBlock?: unknown;
          blockNumber?: unknown;
          startBlock?: unknown;
        };
        const a = address.safeParse(entry?.address);
        if (!a.success || out[name]) continue;
        const block = [entry.deployedOnBlock, entry.startBlock, entry.blockNumber].find(
          (b) => typeof b === "number" || typeof b === "bigint",
        );
        out[name] = { address: a.data, startBlock: block === undefined ? 0 : Number(block) };
      }
    }
    for (const v of Object.values(node as Record<string, unknown>)) visit(v, depth + 1);
  };
  for (const v of Object.values(mod)) visit(v, 0);
  return out;
}

/**
 * The local chain's deployment: `explicit` (CARBONPROOF_DEPLOYMENT: an Ignition folder, its
 * deployed_addresses.json, or a generated .ts module) or else the Ignition deployment of chain
 * `chainId` (what `npm start` deploys), or else the sdk's generated module.
 */
export async function localDeployment(
  repoRoot: string,
  network: string,
  chainId: number,
  explicit?: string,
): Promise<{ deployment?: NetworkDeployment; reason?: string }> {
  const candidates = explicit
    ? [explicit]
    : [join(repoRoot, `ignition/deployments/chain-${chainId}`), join(repoRoot, "sdk/src/contracts/generated.ts")];
  for (const path of candidates) {
    if (!existsSync(path)) {
      if (explicit) throw new Error(`CARBONPROOF_DEPLOYMENT=${explicit} does not exist`);
      continue;
    }
    let contracts: Record<string, ContractDeployment>;
    if (statSync(path).isDirectory()) contracts = readIgnitionDeployment(path);
    else if (path.endsWith(".json")) contracts = readIgnitionDeployment(join(path, ".."));
    else contracts = await readGeneratedModule(path, chainId);
    if (Object.keys(contracts).length === 0) {
      if (explicit) throw new Error(`${explicit} names no contract of chain ${chainId}`);
      continue;
    }
    return { deployment: { network, chainId, contracts, source: path } };
  }
  return {
    reason: `no deployment of chain ${chainId} found (looked at ${candidates.join(", ")}); deploy with \`npm start\` or set CARBONPROOF_DEPLOYMENT`,
  };
}
