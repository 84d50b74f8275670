/**
 * The contract ABIs the node uses, generated from the Hardhat artifacts by
 * scripts/export-contracts.ts into the sdk (one definition; nothing hand-copied).
 */
export {
  attestationRegistryAbi,
  carbonCreditsAbi,
  deviceRegistryAbi,
  oracleSetAbi,
} from "../../../sdk/src/contracts/generated.ts";
