/**
 * Contract events as the dApp reads them: from the deployment's block (no CarbonProof event is
 * older), never from block 0, and in bounded block ranges, one eth_getLogs per range. Hosted RPC
 * providers refuse a log query over more than a few thousand blocks, and a chain's whole history
 * in one query is slow where they do not. The ranges of a read go out through the sdk's limiter,
 * a few at a time, and their results are joined in chain order.
 *
 * The sdk has no ranged log reader to reuse (its verifier and `shortfalls` query
 * `fromBlock`…latest in one go); the embedded indexer (web/src/server/indexer/sync.ts) has its own
 * ranges, tied to its store.
 */
import type { Abi, Address, PublicClient } from "viem";
import { DEFAULT_FETCH_CONCURRENCY, limiter } from "../../../../sdk/src/verify/cache.ts";

/** Blocks per eth_getLogs query unless configured (CARBONPROOF_LOG_RANGE_BLOCKS): within most providers' limits. */
export const DEFAULT_LOG_RANGE_BLOCKS = 5_000;

/** Where and how a page reads events: one of these per page load, shared by its reads. */
export type EventReads = {
  /** The deployment's first block (CARBONPROOF_START_BLOCK). */
  fromBlock: bigint;
  /** Blocks per eth_getLogs query, both ends included (CARBONPROOF_LOG_RANGE_BLOCKS). */
  rangeBlocks: bigint;
  /** Runs one range's query when fewer than the limit are in flight (shared by the page's reads). */
  slot: <T>(run: () => Promise<T>) => Promise<T>;
};

/**
 * @param o.startBlock the deployment's first block (default 0: the whole chain)
 * @param o.rangeBlocks blocks per query (default {@link DEFAULT_LOG_RANGE_BLOCKS})
 * @param o.concurrency range queries in flight at once (default the sdk's fetch concurrency, 8)
 */
export function eventReads(
  o: { startBlock?: number | bigint; rangeBlocks?: number | bigint; concurrency?: number } = {},
): EventReads {
  const fromBlock = BigInt(o.startBlock ?? 0);
  const rangeBlocks = BigInt(o.rangeBlocks ?? DEFAULT_LOG_RANGE_BLOCKS);
  if (fromBlock < 0n) throw new RangeError(`the start block must be ≥ 0, got ${fromBlock}`);
  if (rangeBlocks < 1n) throw new RangeError(`the log range must be ≥ 1 block, got ${rangeBlocks}`);
  return { fromBlock, rangeBlocks, slot: limiter(o.concurrency ?? DEFAULT_FETCH_CONCURRENCY) };
}

/** A range's eth_getLogs failed: which range, and which settings bound it. */
export class EventRangeError extends Error {
  override name = "EventRangeError";
  readonly code = "EVENT_RANGE_FAILED";
  readonly fromBlock: bigint;
  readonly toBlock: bigint;

  constructor(what: string, fromBlock: bigint, toBlock: bigint, reads: EventReads, cause: unknown) {
    // viem's short message ("Request exceeds defined limit.") and the node's own words
    const e = cause as { shortMessage?: string; details?: string; message?: string };
    const short = (e.shortMessage ?? e.message ?? String(cause)).replace(/\.$/, "");
    const reason = e.details && e.details !== short ? `${short} (${e.details})` : short;
    super(
      `The node refused or failed the ${what} event query over blocks ${fromBlock}–${toBlock} (${toBlock - fromBlock + 1n} blocks): ${reason}. ` +
        `If its eth_getLogs allows fewer blocks per query, set CARBONPROOF_LOG_RANGE_BLOCKS below ${reads.rangeBlocks}; ` +
        `reads start at block ${reads.fromBlock}, the deployment's (CARBONPROOF_START_BLOCK).`,
      { cause },
    );
    this.fromBlock = fromBlock;
    this.toBlock = toBlock;
  }
}

export type EventQuery = {
  address: Address;
  abi: Abi;
  eventName: string;
  /** Indexed arguments to filter on (a list for any of several values), as viem's getContractEvents takes them. */
  args?: Record<string, unknown>;
  /** Last block to read (default: the chain's head now). */
  toBlock?: bigint;
};

/**
 * The `eventName` events of `address` from `reads.fromBlock` to `query.toBlock` (default the head),
 * one query per `reads.rangeBlocks` blocks through `reads.slot`, in chain order. After a range
 * fails, the ranges not yet started are not sent and the read rejects with an
 * {@link EventRangeError}. Without `reads`: from block 0 in default ranges.
 */
export async function readContractEvents<T>(
  client: PublicClient,
  reads: EventReads | undefined,
  query: EventQuery,
): Promise<T[]> {
  const r = reads ?? eventReads();
  // not viem's cached block number (up to 4 s old): a page refreshed after a transaction must see its events
  const toBlock = query.toBlock ?? (await client.getBlockNumber({ cacheTime: 0 }));
  const ranges: [bigint, bigint][] = [];
  for (let from = r.fromBlock; from <= toBlock; from += r.rangeBlocks) {
    const to = from + r.rangeBlocks - 1n;
    ranges.push([from, to < toBlock ? to : toBlock]);
  }
  let failed = false;
  const parts = await Promise.all(
    ranges.map(([fromBlock, to]) =>
      r.slot(async () => {
        if (failed) return [];
        try {
          return (await client.getContractEvents({
            address: query.address,
            abi: query.abi,
            eventName: query.eventName,
            args: query.args,
            fromBlock,
            toBlock: to,
          } as never)) as unknown as T[];
        } catch (cause) {
          failed = true;
          throw new EventRangeError(`${query.eventName} (${query.address})`, fromBlock, to, r, cause);
        }
      }),
    ),
  );
  return parts.flat();
}
