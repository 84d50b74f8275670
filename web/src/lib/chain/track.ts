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
 * - a mined but reverted transaction is replayed at its block to read the reason;
 * - a transaction resumed after a reload, whose replacement was mined while the page was away, is
 *   told apart too: viem only recognises a replacement of a transaction it read pending, or one
 *   mined after it starts waiting, so with the sender and nonce the page kept (`sent`), the block
 *   that took the nonce is looked up first.
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

/** What identifies a sent transaction's nonce slot, and tells a sped-up copy from another call. */
export type SentTransaction = { from: Address; nonce: number; to: Address | null; value: bigint; input: Hex };

export type ReceiptClient = Pick<PublicClient, "waitForTransactionReceipt" | "simulateContract">;

/** The reads that find a replacement mined before the wait started. */
export type SlotClient = ReceiptClient &
  Pick<
    PublicClient,
    "getTransaction" | "getTransactionCount" | "getTransactionReceipt" | "getBlock" | "getBlockNumber"
  >;

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
  options: {
    signal?: AbortSignal;
    slowAfterMs?: number;
    onSlow?: () => void;
    onRepriced?: (hash: Hex) => void;
    /** the transaction as the node first showed it (kept with a pending entry); needs a SlotClient */
    sent?: SentTransaction;
    /** the transaction as the node shows it when the wait starts (to keep for a resume); needs a SlotClient */
    onSent?: (sent: SentTransaction) => void;
  } = {},
): Promise<TxOutcome> {
  let replacement: { reason: ReplacementReason; hash: Hex } | undefined;
  const slow = options.onSlow ? setTimeout(options.onSlow, options.slowAfterMs ?? SLOW_AFTER_MS) : undefined;
  let receipt: TransactionReceipt;
  try {
    let sent = options.sent;
    let earlier: Awaited<ReturnType<typeof minedInSlot>>;
    if (options.sent || options.onSent) {
      const slots = client as SlotClient;
      const tx = await transactionIfKnown(slots, hash);
      if (tx) {
        sent = { from: tx.from, nonce: tx.nonce, to: tx.to, value: tx.value, input: tx.input };
        options.onSent?.(sent);
      } else if (sent) earlier = await minedInSlot(slots, sent);
    }
    if (earlier) {
      replacement = { reason: earlier.reason, hash: earlier.receipt.transactionHash };
      if (earlier.reason === "repriced") options.onRepriced?.(replacement.hash);
      receipt = earlier.receipt;
    } else
      receipt = await client.waitForTransactionReceipt({
        hash,
        timeout: 0,
        signal: options.signal,
        // viem then also looks for a replacement in each block mined from now on, seen pending or not
        replacement: sent,
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

/** Transaction `hash` as the node knows it (pending or mined), or undefined when it does not. */
async function transactionIfKnown(client: SlotClient, hash: Hex) {
  try {
    return await client.getTransaction({ hash });
  } catch (cause) {
    if ((cause as { name?: string }).name === "TransactionNotFoundError") return undefined;
    throw cause;
  }
}

/**
 * The transaction mined in `sent`'s nonce slot, for a transaction the node no longer knows: once
 * the sender's nonce has passed it, the block that took the nonce is found by bisecting the
 * sender's transaction count over block numbers (log2 of the chain's height in reads), then the
 * transaction in it. Undefined while the slot is free; also when the node cannot answer for old
 * blocks (no archive state) or lacks the block's transactions, and the wait is left to viem as
 * before (it then finds a replacement mined from now on only).
 */
export async function minedInSlot(
  client: SlotClient,
  sent: SentTransaction,
): Promise<{ reason: ReplacementReason; receipt: TransactionReceipt } | undefined> {
  const taken = async (blockNumber: bigint) =>
    (await client.getTransactionCount({ address: sent.from, blockNumber })) > sent.nonce;
  let high = await client.getBlockNumber({ cacheTime: 0 });
  if (!(await taken(high))) return undefined;
  let low = 0n;
  try {
    while (low < high) {
      const mid = (low + high) / 2n;
      if (await taken(mid)) high = mid;
      else low = mid + 1n;
    }
  } catch (cause) {
    if ((cause as { name?: string }).name === "HttpRequestError") throw cause; // the node is down: said as such
    return undefined; // state of an old block refused (a pruned node): left to viem's wait
  }
  const block = await client.getBlock({ blockNumber: high, includeTransactions: true });
  const found = block.transactions.find(
    (t) => t.from.toLowerCase() === sent.from.toLowerCase() && t.nonce === sent.nonce,
  );
  if (!found) return undefined;
  const receipt = await client.getTransactionReceipt({ hash: found.hash });
  return { reason: replacementReason(sent, found), receipt };
}

/** viem's rule (waitForTransactionReceipt): the same call at another price is repriced; a 0-value self-send cancels. */
function replacementReason(
  sent: SentTransaction,
  by: { from: Address; to: Address | null; value: bigint; input: Hex },
): ReplacementReason {
  const sameTo = (by.to?.toLowerCase() ?? null) === (sent.to?.toLowerCase() ?? null);
  if (sameTo && by.value === sent.value && by.input.toLowerCase() === sent.input.toLowerCase()) return "repriced";
  if (by.to?.toLowerCase() === by.from.toLowerCase() && by.value === 0n) return "cancelled";
  return "replaced";
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
