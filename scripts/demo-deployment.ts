/**
 * The deployment the demo seeders talk to (scripts/seed-demo.ts, bench/explorer-seed.ts): the
 * contracts' names, their addresses from an Ignition `deployed_addresses.json`, and their ABIs.
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { getAddress, type Abi, type Address } from "viem";
import { contractAbis } from "../sdk/src/contracts/generated.ts";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

export type ContractName =
  | "AttestationRegistry"
  | "OracleSet"
  | "DeviceRegistry"
  | "CarbonCredits"
  | "RetirementCertificates"
  | "Marketplace"
  | "TestUSD";

const ARTIFACT_PATHS: Record<ContractName, string> = {
  AttestationRegistry: "attestation/AttestationRegistry.sol/AttestationRegistry.json",
  OracleSet: "oracles/OracleSet.sol/OracleSet.json",
  DeviceRegistry: "devices/DeviceRegistry.sol/DeviceRegistry.json",
  CarbonCredits: "credits/CarbonCredits.sol/CarbonCredits.json",
  RetirementCertificates: "retirement/RetirementCertificates.sol/RetirementCertificates.json",
  Marketplace: "market/Marketplace.sol/Marketplace.json",
  TestUSD: "test/TestUSD.sol/TestUSD.json",
};

const abiCache = new Map<ContractName, Abi>();

/**
 * ABIs from the sdk's generated file; TestUSD, a test contract the generator leaves out
 * by design, from its Hardhat build artifact (its `mint` is not in the standard ERC-20 ABI).
 */
export function abiOf(name: ContractName): Abi {
  const generated = (contractAbis as Record<string, Abi | undefined>)[name];
  if (generated) return generated;
  const cached = abiCache.get(name);
  if (cached) return cached;
  const dir = process.env.CARBONPROOF_ARTIFACTS ?? join(root, "artifacts");
  const file = join(dir, "contracts", ARTIFACT_PATHS[name]);
  if (!existsSync(file)) throw new Error(`no artifact for ${name} at ${file}: run \`npx hardhat build\` first`);
  const abi = (JSON.parse(readFileSync(file, "utf8")) as { abi: Abi }).abi;
  abiCache.set(name, abi);
  return abi;
}

/** Every contract's address from an Ignition `deployed_addresses.json`; `who` names the caller in errors. */
export function loadAddresses(file: string, who: string): Record<ContractName, Address> {
  if (!existsSync(file)) throw new Error(`${who}: no deployment at ${file}; deploy with Ignition first`);
  const raw = JSON.parse(readFileSync(file, "utf8")) as Record<string, string>;
  const out: Partial<Record<ContractName, Address>> = {};
  for (const [key, value] of Object.entries(raw)) {
    const name = key.split("#").pop() as ContractName;
    if (name in ARTIFACT_PATHS) out[name] = getAddress(value);
  }
  const missing = (Object.keys(ARTIFACT_PATHS) as ContractName[]).filter((n) => !out[n]);
  if (missing.length) throw new Error(`${who}: ${file} lacks ${missing.join(", ")}`);
  return out as Record<ContractName, Address>;
}
