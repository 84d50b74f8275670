import type { Address, PublicClient } from "viem";
import type { EventReadSettingNames } from "../chain/eventRangeError.ts";
import { firstStampedFrom } from "../chain/firstStampedFrom.ts";
import { readContractEvents, type QuerySlot } from "../chain/readContractEvents.ts";
import { deviceRegistryAbi } from "../contracts/generated.ts";
import { idToBytes32 } from "../ids.ts";
import type { Suspension } from "./inactiveAt.ts";

export type ReadDeviceSuspensionsParameters = {
  /** The DeviceRegistry. */
  address: Address;
  deviceId: string;
  /** The device's `registeredAt` and `statusChangedAt` (unix s), as `getDevice` gives them. */
  registeredAt: number;
  statusChangedAt: number;
  /** No block before this one is searched or read (the deployment's; default 0). */
  fromBlock?: bigint;
  /** The chain's head to search up to (default: asked for now). */
  head?: bigint;
  /** Blocks per eth_getLogs (default the sdk's DEFAULT_LOG_RANGE_BLOCKS, 5,000). */
  rangeBlocks?: bigint;
  /** Where the range queries wait their turn (as readContractEvents). */
  slot?: QuerySlot;
  settings?: EventReadSettingNames;
};

/**
 * A device's suspensions lifted since (by a reactivation or its retirement), oldest first: the
 * DeviceRegistry keeps only its current status, so they come from its `DeviceSuspended`,
 * `DeviceReactivated` and `DeviceRetired` events, filtered by its indexed id and read (one
 * `eth_getLogs` a range for the three) over the blocks stamped from `registeredAt` to
 * `statusChangedAt` only: every status change stamps `statusChangedAt`, so none lies outside them,
 * and a suspension under way now is its status, not one of these. Each bound is its block's
 * timestamp. None, without a call, for a device whose status never changed.
 */
export async function readDeviceSuspensions(
  client: PublicClient,
  p: ReadDeviceSuspensionsParameters,
): Promise<Suspension[]> {
  if (p.statusChangedAt <= p.registeredAt) return []; // its status never changed (or not past its first second)
  const head = p.head ?? (await client.getBlockNumber({ cacheTime: 0 }));
  const from = await firstStampedFrom(client, BigInt(p.registeredAt), p.fromBlock ?? 0n, head);
  const to = (await firstStampedFrom(client, BigInt(p.statusChangedAt) + 1n, from, head)) - 1n;
  if (to < from) return [];
  const logs = await readContractEvents(client, {
    address: p.address,
    abi: deviceRegistryAbi,
    eventName: ["DeviceSuspended", "DeviceReactivated", "DeviceRetired"],
    args: { id: idToBytes32(p.deviceId) },
    fromBlock: from,
    toBlock: to,
    ...(p.rangeBlocks === undefined ? {} : { rangeBlocks: p.rangeBlocks }),
    ...(p.slot ? { slot: p.slot } : {}),
    ...(p.settings ? { settings: p.settings } : {}),
  });
  const events = logs
    .filter((log) => !log.removed && log.blockNumber !== null && log.logIndex !== null)
    .sort((a, b) =>
      a.blockNumber === b.blockNumber ? a.logIndex - b.logIndex : a.blockNumber < b.blockNumber ? -1 : 1,
    );
  const stamps = new Map<bigint, number>();
  const stampOf = async (block: bigint) => {
    let t = stamps.get(block);
    if (t === undefined) {
      t = Number((await client.getBlock({ blockNumber: block })).timestamp);
      stamps.set(block, t);
    }
    return t;
  };
  const suspensions: Suspension[] = [];
  let since: number | null = null;
  for (const e of events) {
    if (e.eventName === "DeviceSuspended") since = await stampOf(e.blockNumber);
    else if (since !== null) {
      suspensions.push({ from: since, until: await stampOf(e.blockNumber) });
      since = null;
    }
  }
  return suspensions;
}
