/**
 * The contract surface the verifier reads: the typed ABIs that
 * scripts/export-contracts.ts generates from the compiled contracts (one-way flow:
 * contracts → sdk/src/contracts/generated.ts → sdk, oracle, web). The verifier's tests
 * run against the compiled contracts on a hardhat node, so a drift fails there.
 */
export {
  attestationRegistryAbi,
  carbonCreditsAbi,
  deviceRegistryAbi,
  marketplaceAbi,
  oracleSetAbi,
  retirementCertificatesAbi,
  deployedContracts,
} from "../contracts/generated.ts";
