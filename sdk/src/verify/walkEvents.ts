import type { Abi, Address, ContractEventName, PublicClient } from "viem";
import type { EventReadSettingNames } from "../chain/eventRangeError.ts";
import { readContractEvents } from "../chain/readContractEvents.ts";
import type { VerifyCache } from "./cache.ts";

/** Where a verification reads events from and how: the deployment's block, in ranges. */
export type EventReadOptions = {
  client: PublicClient;
  /** The deployment's first block (default 0: the whole chain). */
  fromBlock?: bigint;
  /** Blocks per eth_getLogs (default 5,000, the sdk's DEFAULT_LOG_RANGE_BLOCKS). */
  logRangeBlocks?: bigint;
  /** How the caller names those two settings in a refused range's error (the CLI: --log-range, --from-block). */
  eventSettings?: EventReadSettingNames;
  /** A walk's cache: its range queries share its limit of queries in flight. */
  cache?: VerifyCache;
};

/** A verification's events: {@link readContractEvents} with its options' first block, range and limit. */
export function walkEvents<const abi extends Abi, eventName extends ContractEventName<abi>>(
  o: EventReadOptions,
  q: { address: Address; abi: abi; eventName: eventName; args?: Record<string, unknown>; toBlock?: bigint },
) {
  return readContractEvents(o.client, {
    ...q,
    fromBlock: o.fromBlock,
    rangeBlocks: o.logRangeBlocks,
    slot: o.cache?.eventSlot,
    settings: o.eventSettings,
  });
}
