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
import {
  attestationRegistryAbi as attestationRegistry,
  carbonCreditsAbi as carbonCredits,
  deployedContracts,
  marketplaceAbi as marketplace,
  oracleSetAbi as oracleSet,
  retirementCertificatesAbi as retirementCertificates,
} from "../../../../sdk/src/contracts/generated.ts";
import { CONTRACT_NAMES, type ContractName } from "../config.ts";

export const attestationRegistryAbi: Abi = attestationRegistry;
export const oracleSetAbi: Abi = oracleSet;
export const carbonCreditsAbi: Abi = carbonCredits;
export const retirementCertificatesAbi: Abi = retirementCertificates;
export const marketplaceAbi: Abi = marketplace;
/** The payment token (an ERC-20; TestUSD locally). */
export const paymentTokenAbi: Abi = erc20Abi;

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
