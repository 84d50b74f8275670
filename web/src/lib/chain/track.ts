/**
 * What became of a transaction once the wallet sent it, kept apart from React so it is tested
 * without a browser (track.test.ts):
 *
 * - no receipt timeout: a transaction that is slow to be mined can still be mined, so the page
 *   keeps it pending (and says so after a while) instead of "Something went wrong: Timed out",
 *   which invited a second purchase;
 * - a replacement is told apart: viem resolves with the replacement's receipt, so a wallet
 *   "Cancel" (a 0-value self-send in the same nonce) would read as confirmed. Only a repriced
 *   replacement (speed up: same call, higher fee) is the same transaction;
 * - a mined but reverted transaction is replayed at its block to read the reason.
 */
import type { Abi, Address, Hex, PublicClient, TransactionReceipt } from "viem";
import { describeError } from "../errors.ts";
import { withBubblingErrors } from "./abis.ts";

/** The call a transaction made, to replay it when it reverted. */
export type SentCall = {
  address: Address;
  abi: Abi;
  functionName: string;
  args: readonly unknown[];
  value?: bigint;
  account: Address;
};

export type ReplacementReason = "cancelled" | "replaced" | "repriced";

export type TxOutcome =
  | { kind: "confirmed"; hash: Hex; receipt: TransactionReceipt }
  | { kind: "replaced"; hash: Hex; reason: Exclude<ReplacementReason, "repriced"> }
  | { kind: "reverted"; hash: Hex; receipt: TransactionReceipt; message: string };

export type ReceiptClient = Pick<PublicClient, "waitForTransactionReceipt" | "simulateContract">;

/** After this long without a receipt, the page says the transaction is slow but can still be mined. */
export const SLOW_AFTER_MS = 180_000;

export const SLOW_MESSAGE =
  "Not mined yet: it can still be, so do not send it again. Check it in your wallet; this page keeps waiting.";

/**
 * Waits, without a timeout, for transaction `hash` to be mined and says what became of it.
 * `onRepriced` gets the new hash of a sped-up replacement; `onSlow` is called once after
 * `slowAfterMs`. Throws only when the node cannot be read or `signal` aborts the wait.
 */
export async function settleTransaction(
  client: ReceiptClient,
  hash: Hex,
  call: SentCall | undefined,
  options: { signal?: AbortSignal; slowAfterMs?: number; onSlow?: () => void; onRepriced?: (hash: Hex) => void } = {},
): Promise<TxOutcome> {
  let replacement: { reason: ReplacementReason; hash: Hex } | undefined;
  const slow = options.onSlow ? setTimeout(options.onSlow, options.slowAfterMs ?? SLOW_AFTER_MS) : undefined;
  let receipt: TransactionReceipt;
  try {
    receipt = await client.waitForTransactionReceipt({
      hash,
      timeout: 0,
      signal: options.signal,
      onReplaced: (r) => {
        replacement = { reason: r.reason, hash: r.transaction.hash };
        if (r.reason === "repriced") options.onRepriced?.(r.transaction.hash);
      },
    });
  } finally {
    clearTimeout(slow);
  }
  if (replacement && replacement.reason !== "repriced")
    return { kind: "replaced", hash: replacement.hash, reason: replacement.reason };
  const finalHash = replacement?.hash ?? hash;
  if (receipt.status === "success") return { kind: "confirmed", hash: finalHash, receipt };
  return {
    kind: "reverted",
    hash: finalHash,
    receipt,
    message: call
      ? await revertReason(client, call, receipt.blockNumber)
      : "The transaction was mined but reverted (the contract refused it). Review the page and try again.",
  };
}

/**
 * Replays `call` at `blockNumber` (the state after that block, where the revert's cause, such as
 * a listing bought out a moment earlier, still holds) and turns the revert into words.
 */
export async function revertReason(client: ReceiptClient, call: SentCall, blockNumber: bigint): Promise<string> {
  try {
    await client.simulateContract({
      address: call.address,
      abi: withBubblingErrors(call.abi),
      functionName: call.functionName,
      args: call.args,
      value: call.value,
      account: call.account,
      blockNumber,
    } as Parameters<ReceiptClient["simulateContract"]>[0]);
  } catch (cause) {
    return describeError(cause).message;
  }
  return `The transaction was mined but reverted; replayed at block ${blockNumber} it passes, so the chain changed within that block. Review the page and try again.`;
}

/** The failure message of a transaction the wallet replaced by another (a cancel, or another call). */
export function replacedMessage(reason: Exclude<ReplacementReason, "repriced">, undone: string): string {
  return `Your wallet replaced this transaction (${reason}); ${undone}.`;
}
