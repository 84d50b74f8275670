/**
 * The one place the web app gets contract ABIs and generated addresses from: the sdk's
 * generated file (scripts/export-contracts.ts, from the Hardhat artifacts), never a
 * hand-copied ABI. The payment token is any ERC-20: viem's standard `erc20Abi`.
 *
 * The ABIs are widened to `Abi` here because the reads cast their results to the small
 * shapes they use (reads.ts); the generated `as const` ABIs stay available to callers
 * that want viem's full inference.
 */
import { erc20Abi, type Abi, type Address } from "viem";
import { formatAbiItem } from "viem/utils";
import {
  attestationRegistryAbi as attestationRegistry,
  carbonCreditsAbi as carbonCredits,
  deployedContracts,
  erc20ErrorsAbi as erc20Errors,
  marketplaceAbi as marketplace,
  oracleSetAbi as oracleSet,
  retirementCertificatesAbi as retirementCertificates,
} from "../../../../sdk/src/contracts/generated.ts";
import { CONTRACT_NAMES, type ContractName } from "../config.ts";

type AbiError = Extract<Abi[number], { type: "error" }>;

export const attestationRegistryAbi: Abi = attestationRegistry;
export const oracleSetAbi: Abi = oracleSet;
export const carbonCreditsAbi: Abi = carbonCredits;
export const retirementCertificatesAbi: Abi = retirementCertificates;
export const marketplaceAbi: Abi = marketplace;
/** The payment token (an ERC-20; TestUSD locally). */
export const paymentTokenAbi: Abi = erc20Abi;

/**
 * OpenZeppelin's ERC-20 custom errors (IERC20Errors, ERC-6093), which TestUSD and any OpenZeppelin
 * token revert with; viem's `erc20Abi` has no errors and the payment token is not one of the
 * generated contracts, so the generator exports this interface's ABI from the compiler's output.
 */
export const erc20ErrorsAbi: Abi = erc20Errors;

/**
 * The ABIs whose errors can bubble up through a dApp write: a revert inside a called contract
 * (the payment token in `Marketplace.buy`, RetirementCertificates and CarbonCredits in
 * `buyAndRetire`) comes back with that contract's error, which viem decodes only against the ABI
 * it is given.
 */
export const bubblingErrorSources: readonly Abi[] = [
  marketplaceAbi,
  retirementCertificatesAbi,
  carbonCreditsAbi,
  attestationRegistryAbi,
  erc20ErrorsAbi,
];

/**
 * `abi` plus every custom error of the contracts a call can reach (bubblingErrorSources), one
 * entry per signature, so viem names an error raised anywhere in the call by its name instead of
 * printing a raw signature.
 */
export function withBubblingErrors(abi: Abi): Abi {
  const seen = new Set<string>();
  const selector = (e: AbiError) => formatAbiItem(e);
  for (const item of abi) if (item.type === "error") seen.add(selector(item));
  const extra: AbiError[] = [];
  for (const source of bubblingErrorSources)
    for (const item of source)
      if (item.type === "error" && !seen.has(selector(item))) {
        seen.add(selector(item));
        extra.push(item);
      }
  return [...abi, ...extra];
}

/** Addresses the sdk's generated file lists for `chainId`. */
export function generatedAddresses(chainId: number): Partial<Record<ContractName, Address>> {
  const deployed = deployedContracts[chainId] ?? {};
  const out: Partial<Record<ContractName, Address>> = {};
  for (const name of CONTRACT_NAMES) {
    const entry = (deployed as Record<string, { address: Address } | undefined>)[name];
    if (entry) out[name] = entry.address;
  }
  return out;
}

/**
 * The first block of the deployment the sdk's generated file lists for `chainId`: the earliest
 * of its contracts' start blocks (scripts/export-contracts.ts takes them from Ignition's journal),
 * undefined unless it names one for every contract (an earlier one might be missing).
 */
export function generatedStartBlock(chainId: number): number | undefined {
  const blocks = Object.values((deployedContracts[chainId] ?? {}) as Record<string, { startBlock?: number }>).map(
    (c) => c.startBlock,
  );
  if (blocks.length === 0 || blocks.some((b) => b === undefined)) return undefined;
  return Math.min(...(blocks as number[]));
}
