/**
 * Contract events as the dApp reads them: from the deployment's block (no CarbonProof event is
 * older), never from block 0, and in bounded block ranges, one eth_getLogs per range, by the sdk's
 * ranged reader (sdk/src/chain/readContractEvents.ts, the audit walk's and `carbonproof`'s too).
 * The ranges of a page's reads go out through one limiter, a few at a time, and each read's
 * results are joined in chain order. Here: the dApp's settings (CARBONPROOF_START_BLOCK,
 * CARBONPROOF_LOG_RANGE_BLOCKS) and the names a refused range's error gives them.
 *
 * The embedded indexer (web/src/server/indexer/sync.ts) has its own ranges, tied to its store.
 */
import type { Abi, Address, PublicClient } from "viem";
import { DEFAULT_LOG_RANGE_BLOCKS as SDK_LOG_RANGE_BLOCKS } from "../../../../sdk/src/chain/blockRanges.ts";
import type { EventReadSettingNames } from "../../../../sdk/src/chain/eventRangeError.ts";
import { readContractEvents as readRanges } from "../../../../sdk/src/chain/readContractEvents.ts";
import { DEFAULT_FETCH_CONCURRENCY, limiter } from "../../../../sdk/src/verify/cache.ts";
import type { EventReadOptions } from "../../../../sdk/src/verify/walkEvents.ts";
import type { RuntimeConfig } from "../config.ts";

export { EventRangeError } from "../../../../sdk/src/chain/eventRangeError.ts";

/** Blocks per eth_getLogs query unless configured (CARBONPROOF_LOG_RANGE_BLOCKS): the sdk's default. */
export const DEFAULT_LOG_RANGE_BLOCKS = Number(SDK_LOG_RANGE_BLOCKS);

/** What a refused range's error tells the operator to change: the dApp's environment variables. */
export const WEB_EVENT_READ_SETTINGS: EventReadSettingNames = {
  range: "CARBONPROOF_LOG_RANGE_BLOCKS",
  start: "CARBONPROOF_START_BLOCK",
};

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

/** The runtime's reads: from CARBONPROOF_START_BLOCK in ranges of CARBONPROOF_LOG_RANGE_BLOCKS (config.ts). */
export function runtimeEventReads(runtime: Pick<RuntimeConfig, "startBlock" | "logRangeBlocks">): EventReads {
  return eventReads({ startBlock: runtime.startBlock, rangeBlocks: runtime.logRangeBlocks });
}

/**
 * The same settings as the sdk's walks take them (verifyLineage, projectShortfalls): their event
 * reads start at the deployment's block and go in the same ranges, and a refused range names the
 * dApp's settings.
 */
export function walkEventOptions(reads: EventReads): Omit<EventReadOptions, "client" | "cache"> {
  return { fromBlock: reads.fromBlock, logRangeBlocks: reads.rangeBlocks, eventSettings: WEB_EVENT_READ_SETTINGS };
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
 * {@link EventRangeError} naming CARBONPROOF_LOG_RANGE_BLOCKS and CARBONPROOF_START_BLOCK.
 * Without `reads`: from block 0 in default ranges.
 */
export async function readContractEvents<T>(
  client: PublicClient,
  reads: EventReads | undefined,
  query: EventQuery,
): Promise<T[]> {
  const r = reads ?? eventReads();
  const events = await readRanges(client, {
    ...query,
    fromBlock: r.fromBlock,
    rangeBlocks: r.rangeBlocks,
    slot: r.slot,
    settings: WEB_EVENT_READ_SETTINGS,
  });
  return events as unknown as T[];
}
