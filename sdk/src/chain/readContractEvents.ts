import type { Abi, Address, ContractEventName, GetContractEventsReturnType, PublicClient } from "viem";
import { DEFAULT_FETCH_CONCURRENCY, limiter } from "../verify/cache.ts";
import { DEFAULT_LOG_RANGE_BLOCKS, blockRanges } from "./blockRanges.ts";
import { EventRangeError, type EventReadSettingNames } from "./eventRangeError.ts";

/** Runs one query when fewer than a limit are in flight ({@link limiter}); shared by the reads it bounds. */
export type QuerySlot = <T>(run: () => Promise<T>) => Promise<T>;

export type ReadContractEventsParameters<abi extends Abi, eventName extends ContractEventName<abi>> = {
  address: Address;
  abi: abi;
  eventName: eventName;
  /** Indexed arguments to filter on (a list for any of several values), as viem's getContractEvents takes them. */
  args?: Record<string, unknown>;
  /** First block to read: the deployment's (default 0, the whole chain). */
  fromBlock?: bigint;
  /** Last block to read (default: the chain's head now, not viem's cached block number). */
  toBlock?: bigint;
  /** Blocks per eth_getLogs, both ends included (default {@link DEFAULT_LOG_RANGE_BLOCKS}). */
  rangeBlocks?: bigint;
  /** Where the range queries wait their turn (default: at most 8 of this read at once). */
  slot?: QuerySlot;
  /** How the caller's users name the settings, for the error (default: the sdk's options). */
  settings?: EventReadSettingNames;
};

/**
 * The `eventName` events of `address` from `fromBlock` to `toBlock`, one `eth_getLogs` per
 * `rangeBlocks` blocks ({@link blockRanges}) through `slot`, joined in chain order: hosted RPC
 * providers refuse a log query over more than a few thousand blocks, and a chain's whole history
 * in one query is slow where they do not. After a range fails, the ranges not yet started are not
 * sent and the read rejects with an {@link EventRangeError} naming the range and the settings.
 */
export async function readContractEvents<const abi extends Abi, eventName extends ContractEventName<abi>>(
  client: PublicClient,
  p: ReadContractEventsParameters<abi, eventName>,
): Promise<GetContractEventsReturnType<abi, eventName, undefined, bigint, bigint>> {
  const fromBlock = p.fromBlock ?? 0n;
  const rangeBlocks = p.rangeBlocks ?? DEFAULT_LOG_RANGE_BLOCKS;
  if (fromBlock < 0n) throw new RangeError(`the first block must be ≥ 0, got ${fromBlock}`);
  if (rangeBlocks < 1n) throw new RangeError(`the log range must be ≥ 1 block, got ${rangeBlocks}`);
  const slot = p.slot ?? limiter(DEFAULT_FETCH_CONCURRENCY);
  // a page refreshed after a transaction must see its events: viem's cached head can be 4 s old
  const toBlock = p.toBlock ?? (await client.getBlockNumber({ cacheTime: 0 }));
  let failed = false;
  const parts = await Promise.all(
    [...blockRanges(fromBlock, toBlock, rangeBlocks)].map((range) =>
      slot(async () => {
        if (failed) return [];
        try {
          return await client.getContractEvents({
            address: p.address,
            abi: p.abi as Abi,
            eventName: p.eventName as string,
            args: p.args,
            ...range,
          } as never);
        } catch (cause) {
          failed = true;
          throw new EventRangeError({
            what: `${p.eventName} (${p.address})`,
            ...range,
            rangeBlocks,
            startBlock: fromBlock,
            ...(p.settings ? { settings: p.settings } : {}),
            cause,
          });
        }
      }),
    ),
  );
  return parts.flat() as GetContractEventsReturnType<abi, eventName, undefined, bigint, bigint>;
}
