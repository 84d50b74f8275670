/**
 * The one place the web app gets contract ABIs from.
 *
 * Interim: until scripts/export-contracts.ts writes the credits contracts into
 * sdk/src/contracts/generated.ts, the ABIs are read from Hardhat's build artifacts
 * (aliased in next.config.ts), never copied by hand. When the generated file has
 * them, this file re-exports from it and nothing else in web/ changes.
 */
import type { Abi, Address } from "viem";
import attestationRegistry from "@cp-artifacts/AttestationRegistry";
import oracleSet from "@cp-artifacts/OracleSet";
import carbonCredits from "@cp-artifacts/CarbonCredits";
import retirementCertificates from "@cp-artifacts/RetirementCertificates";
import marketplace from "@cp-artifacts/Marketplace";
import testUsd from "@cp-artifacts/TestUSD";
import type { ContractName } from "../config.ts";

export const attestationRegistryAbi: Abi = attestationRegistry.abi;
export const oracleSetAbi: Abi = oracleSet.abi;
export const carbonCreditsAbi: Abi = carbonCredits.abi;
export const retirementCertificatesAbi: Abi = retirementCertificates.abi;
export const marketplaceAbi: Abi = marketplace.abi;
/** The payment token (an ERC-20; TestUSD locally). */
export const paymentTokenAbi: Abi = testUsd.abi;

/** Addresses of the sdk's generated file for `chainId` (none until it lists them). */
export function generatedAddresses(_chainId: number): Partial<Record<ContractName, Address>> {
  return {};
}
