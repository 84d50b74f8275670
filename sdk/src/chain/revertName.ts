import { BaseError, ContractFunctionRevertedError, decodeErrorResult, type Abi, type Hex } from "viem";

/**
 * The name of the custom error a contract call reverted with (`EnforcedPause`,
 * `OracleSetSignerNotActive`, …), or null when the error shows no revert it can name: an RPC
 * failure, a timeout, revert data of another contract.
 *
 * A revert reaches a caller in one of two shapes, and both are read:
 * - a call made with the contract's ABI (`readContract`, `simulateContract`) fails with viem's
 *   `ContractFunctionRevertedError`, decoded already: its error's name, else its `require`
 *   message, else (with `abi`) its raw data decoded, else "unknown revert" (it did revert);
 * - a call made without it (`eth_estimateGas`, `eth_call`, a send) leaves raw revert data on the
 *   error or one of its causes, as `data` or `data.data` (providers differ): decoded with `abi`.
 */
export function revertName(err: unknown, abi?: Abi): string | null {
  const decode = (data: unknown): string | null => {
    if (!abi || typeof data !== "string" || !/^0x[0-9a-fA-F]{8}/.test(data)) return null;
    try {
      return decodeErrorResult({ abi, data: data as Hex }).errorName;
    } catch {
      return null; // not one of `abi`'s errors: the next place may hold one
    }
  };
  if (err instanceof BaseError) {
    const reverted = err.walk((e) => e instanceof ContractFunctionRevertedError);
    if (reverted instanceof ContractFunctionRevertedError) {
      return reverted.data?.errorName ?? reverted.reason ?? decode(reverted.raw) ?? "unknown revert";
    }
  }
  const seen = new Set<unknown>();
  for (let e = err as { data?: unknown; cause?: unknown } | undefined; e && !seen.has(e); e = e.cause as typeof e) {
    seen.add(e);
    const name = decode(e.data) ?? decode((e.data as { data?: unknown } | undefined)?.data);
    if (name !== null) return name;
  }
  return null;
}
