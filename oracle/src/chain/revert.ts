import { decodeErrorResult, type Abi } from "viem";
import { attestationRegistryAbi, oracleSetAbi } from "./abi.ts";

/** The custom errors a `submit` or `submitCorrection` can revert with: the registry's and the OracleSet's it calls. */
const SUBMIT_ERRORS = [...attestationRegistryAbi, ...oracleSetAbi].filter((x) => x.type === "error") as Abi;

/**
 * The name of the custom error in a failed call's revert data (an `eth_estimateGas` or `eth_call`
 * error, as viem wraps it: the data sits on the error or one of its causes), decoded with the
 * registry's and the OracleSet's ABIs; null when no data there is one of theirs (an RPC failure,
 * a revert of another contract).
 */
export function submitRevertName(err: unknown): string | null {
  const seen = new Set<unknown>();
  for (let e = err as { data?: unknown; cause?: unknown } | undefined; e && !seen.has(e); e = e.cause as typeof e) {
    seen.add(e);
    const data = e.data;
    for (const d of [data, (data as { data?: unknown } | undefined)?.data]) {
      if (typeof d !== "string" || !/^0x[0-9a-fA-F]{8}/.test(d)) continue;
      try {
        return decodeErrorResult({ abi: SUBMIT_ERRORS, data: d as `0x${string}` }).errorName;
      } catch {
        // not one of these contracts' errors
      }
    }
  }
  return null;
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
