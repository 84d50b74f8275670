import type { Abi } from "viem";
import { revertName } from "../../../sdk/src/index.ts";
import { attestationRegistryAbi, oracleSetAbi } from "./abi.ts";

/** The custom errors a `submit` or `submitCorrection` can revert with: the registry's and the OracleSet's it calls. */
const SUBMIT_ERRORS = [...attestationRegistryAbi, ...oracleSetAbi].filter((x) => x.type === "error") as Abi;

/**
 * The name of the registry's or the OracleSet's custom error a failed `submit` reverted with (an
 * `eth_estimateGas` or `eth_call` error: the raw data decoded with both ABIs); null when it is no
 * revert of theirs (an RPC failure, a revert of another contract).
 */
export function submitRevertName(err: unknown): string | null {
  return revertName(err, SUBMIT_ERRORS);
}

/**
 * The OracleSet's refusals of a header's signatures: a signer removed or replaced since it signed
 * (a key rotation), a threshold raised since, or signatures the contract cannot take. Signatures
 * collected again (and co-signers asked again) can pass where the stored ones never will.
 */
export const QUORUM_REFUSALS: ReadonlySet<string> = new Set([
  "OracleSetSignerNotActive",
  "OracleSetQuorumNotReached",
  "OracleSetInvalidSignature",
  "OracleSetSignersNotSorted",
  "OracleSetMalformedSignatures",
]);
