import {
  BaseError,
  ContractFunctionRevertedError,
  decodeErrorResult,
  ExecutionRevertedError,
  type Abi,
  type Hex,
} from "viem";

/**
 * The name of the custom error a contract call reverted with (`EnforcedPause`,
 * `OracleSetSignerNotActive`, …), or null when the error shows no revert it can name: an RPC
 * failure, a timeout, revert data of another contract.
 *
 * A revert reaches a caller in one of two shapes, and both are read:
 * - a call made with the contract's ABI (`readContract`, `simulateContract`) fails with viem's
 *   `ContractFunctionRevertedError`, decoded already: its error's name (for `Error(string)`, the
 *   `require` message), else (with `abi`) its raw data decoded, else "unknown revert" when it
 *   carries revert data no ABI here knows; null when it carries none (viem reports an RPC node's
 *   internal error, JSON-RPC -32603, as such a revert);
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
      const name = reverted.data?.errorName;
      if (name === "Error") return reverted.reason ?? name; // Error(string): the require message
      if (name) return name;
      // no revert data: an RPC node's own failure, which viem reports as a revert (JSON-RPC -32603
      // "Internal error", its message as the reason), or a bare `revert()`, which no contract of
      // ours makes: no answer of the contract
      if (!reverted.raw || reverted.raw === "0x") return null;
      return decode(reverted.raw) ?? "unknown revert";
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

/**
 * Whether a failed call ran and reverted (its revert data on the error or a cause, or the node's
 * "execution reverted"), as opposed to a call that could not be made: a network failure, a
 * timeout, a node's internal error. Only then is the node's message a reason for the revert.
 */
export function isRevertError(err: unknown): boolean {
  if (!(err instanceof BaseError)) return false;
  const hasData = (d: unknown) => typeof d === "string" && /^0x[0-9a-fA-F]{8}/.test(d);
  return (
    err.walk((e) => {
      if (e instanceof ExecutionRevertedError) return true;
      if (e instanceof ContractFunctionRevertedError) return !!e.raw && e.raw !== "0x";
      const data = (e as { data?: unknown }).data;
      return hasData(data) || hasData((data as { data?: unknown } | undefined)?.data);
    }) !== null
  );
}

/**
 * The error of viem's RPC transport among `error` and its causes (unreachable, timed out, an HTTP
 * error status), if any: no answer of the RPC node at all, neither a revert nor a refusal of the
 * call. The CLI ends such a run incomplete (exit 3); gateways and files are read with fetch and fs,
 * so this names the RPC only.
 */
export function rpcTransportError(error: unknown): Error | undefined {
  for (let e = error, depth = 0; e instanceof Error && depth < 10; e = e.cause, depth++)
    if (["HttpRequestError", "TimeoutError", "WebSocketRequestError"].includes(e.name)) return e;
  return undefined;
}
