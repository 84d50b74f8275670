import {
  encodeEventTopics,
  formatLog,
  numberToHex,
  parseEventLogs,
  type Abi,
  type Address,
  type ContractEventName,
  type GetContractEventsReturnType,
  type Hex,
  type PublicClient,
} from "viem";
import { DEFAULT_FETCH_CONCURRENCY, limiter } from "../verify/cache.ts";
import { DEFAULT_LOG_RANGE_BLOCKS, blockRanges } from "./blockRanges.ts";
import { EventRangeError, type EventReadSettingNames } from "./eventRangeError.ts";

/** Runs one query when fewer than a limit are in flight ({@link limiter}); shared by the reads it bounds. */
export type QuerySlot = <T>(run: () => Promise<T>) => Promise<T>;

export type ReadContractEventsParameters<abi extends Abi, eventName extends ContractEventName<abi>> = {
  address: Address;
  abi: abi;
  /**
   * The event, or several events read together in one `eth_getLogs` a range (topic 0 any of
   * theirs): these must have the same indexed parameters, which `args` filters on.
   */
  eventName: eventName | readonly eventName[];
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
  const names = typeof p.eventName === "string" ? null : (p.eventName as readonly string[]);
  const topics = names === null ? null : sharedTopics(p.abi, names, p.args);
  // a page refreshed after a transaction must see its events: viem's cached head can be 4 s old
  const toBlock = p.toBlock ?? (await client.getBlockNumber({ cacheTime: 0 }));
  let failed = false;
  const parts = await Promise.all(
    [...blockRanges(fromBlock, toBlock, rangeBlocks)].map((range) =>
      slot(async () => {
        if (failed) return [];
        try {
          if (names !== null)
            return parseEventLogs({
              abi: p.abi as Abi,
              eventName: names as string[],
              logs: (
                await client.request({
                  method: "eth_getLogs",
                  params: [
                    {
                      address: p.address,
                      topics: topics!,
                      fromBlock: numberToHex(range.fromBlock),
                      toBlock: numberToHex(range.toBlock),
                    },
                  ],
                })
              ).map((log) => formatLog(log)),
              strict: false,
            });
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
            what: `${names === null ? String(p.eventName) : names.join("/")} (${p.address})`,
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

/**
 * The topics of a read of several events at once: topic 0 any of their selectors, the others the
 * indexed `args` (viem's getLogs drops `args` when given several events, so they are encoded here).
 *
 * @throws RangeError when the events do not have the same indexed parameters
 */
function sharedTopics(abi: Abi, names: readonly string[], args: Record<string, unknown> | undefined) {
  if (names.length === 0) throw new RangeError("no event names to read");
  const encoded = names.map((eventName) => {
    const t = encodeEventTopics({ abi, eventName, args } as never) as (Hex | Hex[] | null)[];
    // a trailing null is any value: an event with more indexed parameters than `args` names still matches
    while (t.length > 1 && t[t.length - 1] === null) t.pop();
    return t;
  });
  const rest = JSON.stringify(encoded[0]!.slice(1));
  if (encoded.some((t) => JSON.stringify(t.slice(1)) !== rest))
    throw new RangeError(
      `${names.join(", ")} cannot be read together: their indexed arguments differ for ${JSON.stringify(args ?? {})}`,
    );
  return [encoded.map((t) => t[0] as Hex), ...encoded[0]!.slice(1)];
}
