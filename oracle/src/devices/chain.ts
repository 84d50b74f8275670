import type { Logger } from "pino";
import type { PublicClient } from "viem";
import {
  bytes32ToId,
  deviceStatusFromRegistry,
  idToBytes32,
  isValidId,
  publicKeyFromXY,
  readDeviceSuspensions,
  revertName,
} from "../../../sdk/src/index.ts";
import { blockRanges, DEFAULT_LOG_RANGE_BLOCKS } from "../../../sdk/src/chain/blockRanges.ts";
import { limiter } from "../../../sdk/src/verify/cache.ts";
import { deviceRegistryAbi } from "../chain/abi.ts";
import type { DeviceDirectory, DeviceInfo, Suspension } from "./directory.ts";

/**
 * Devices read from the DeviceRegistry contract, cached, and dropped from the cache when the
 * registry emits an event about them (registration, suspension, reactivation, key rotation,
 * retirement) or after `ttlMs` whichever comes first. Unknown devices are cached too, so a
 * flood of readings from an unregistered id costs one RPC call per TTL.
 *
 * A device's past suspensions (the registry keeps only its current status) come from its
 * DeviceSuspended, DeviceReactivated and DeviceRetired events, asked for by its indexed id over
 * the blocks from its registration to its last status change only (none for a device whose
 * status never changed), 5,000 blocks a query, by the sdk's `readDeviceSuspensions`; they are
 * kept apart from the cache with the `statusChangedAt` they were read at, and read again only
 * when that changes.
 *
 * The event poll starts after the block number taken before the first record is read (`#origin`;
 * the first poll's head when no record is read before it), and reads every block from there on,
 * 5,000 a query. Every record is read at that block or later, so every change made after a record
 * was read is in a block the poll reads. (It once started at the first poll's head: a device looked
 * up as the node started and changed in a block before that head was never dropped by an event,
 * and served stale until `ttlMs`.)
 */
export class ChainDeviceDirectory implements DeviceDirectory {
  readonly #client: PublicClient;
  readonly #address: `0x${string}`;
  readonly #ttlMs: number;
  readonly #log: Logger;
  /** `known`: the looked-up answer, once `value` has resolved (for `peek`). */
  readonly #cache = new Map<
    string,
    { at: number; value: Promise<DeviceInfo | null>; known: DeviceInfo | null | undefined }
  >();
  /** Past suspensions as last read per device, valid while its `statusChangedAt` is `changedAt`. */
  readonly #past = new Map<string, { changedAt: number; suspensions: readonly Suspension[] }>();
  #unwatch: (() => void) | null = null;
  readonly #maxEntries: number;
  /** blocks per eth_getLogs of the event poll (`blockRanges`) */
  readonly #logRange: bigint;
  /** the next block the event poll reads; null until a poll has read the head */
  #from: bigint | null = null;
  /**
   * The block the event poll starts after: the block number taken before the first record was read,
   * or the first poll's head when that came first. Null: not taken yet, or the taking failed.
   */
  #origin: Promise<bigint> | null = null;
  /** wall-clock ms at which the last poll that read every event up to the head began (0: none yet) */
  #syncedAt = 0;
  /**
   * callers of `syncedAfter` waiting for a poll begun at or after their time; `ask`: a poll is run
   * for them when their time has come, rather than at the regular interval
   */
  readonly #syncWaiters: { afterMs: number; ask: boolean; done: (ok: boolean) => void }[] = [];
  /** devices being read again (`refresh`) */
  readonly #refreshing = new Map<string, Promise<DeviceInfo | null>>();
  /** runs a poll now unless one is running (set by `#poll`) */
  #pollNow: () => void = () => {};

  constructor(opts: {
    client: PublicClient;
    address: `0x${string}`;
    ttlMs: number;
    logger: Logger;
    pollMs?: number;
    /** devices (and unknown ids) kept at most; default 100,000 */
    maxEntries?: number;
    /** blocks per eth_getLogs when following the registry's events; default 5,000 (the sdk's) */
    logRangeBlocks?: bigint;
  }) {
    this.#logRange = opts.logRangeBlocks ?? DEFAULT_LOG_RANGE_BLOCKS;
    this.#maxEntries = opts.maxEntries ?? 100_000;
    this.#client = opts.client;
    this.#address = opts.address;
    this.#ttlMs = opts.ttlMs;
    this.#log = opts.logger.child({ part: "devices" });
    this.#poll(opts.pollMs ?? 1000);
  }

  /**
   * Follows DeviceRegistry events with eth_getLogs from the last seen block (at first, from the
   * block after `#origin`). Our own loop
   * rather than viem's watchContractEvent: its cleanup awaits an RPC call before it stops
   * polling, so a watcher closed while the RPC node goes away polled forever.
   */
  #poll(intervalMs: number): void {
    let timer: NodeJS.Timeout | null = null;
    let stopped = false;
    let running = false;
    const step = async () => {
      running = true;
      timer = null;
      // every event mined before this moment is in a block up to the head read next
      const startedAt = Date.now();
      try {
        const head = await this.#client.getBlockNumber({ cacheTime: 0 });
        if (this.#from === null) {
          // not from this head: a record read before it may have been read at an earlier block
          this.#origin ??= Promise.resolve(head);
          this.#from = (await this.#origin) + 1n;
        }
        // in ranges the RPC node takes (review: one query from the last block read to the head
        // was refused by a provider capping eth_getLogs ranges once an outage had outlasted the
        // cap, 5,000 blocks being 21 minutes on a 4-blocks-a-second L2, and then every poll asked
        // the same growing range again: no device change was ever read, nothing pinned). Each
        // range read moves `from` on, so an outage mid-way loses none of them
        for (const range of blockRanges(this.#from, head, this.#logRange)) {
          const logs = await this.#client.getContractEvents({
            address: this.#address,
            abi: deviceRegistryAbi,
            ...range,
          });
          this.#from = range.toBlock + 1n;
          for (const log of logs) {
            const id = (log.args as { id?: `0x${string}` }).id;
            if (!id) continue;
            try {
              const deviceId = bytes32ToId(id);
              this.invalidate(deviceId);
              this.#log.info({ device: deviceId, event: log.eventName }, "device changed on-chain; cache dropped");
            } catch (err) {
              this.#log.warn({ err, id }, "DeviceRegistry event with an id that is not a protocol id");
            }
          }
        }
        this.#synced(startedAt);
      } catch (err) {
        // an outage: the TTL still bounds staleness; drop everything once we are back
        this.#log.warn({ err: (err as Error).message }, "reading DeviceRegistry events failed; cache cleared");
        this.invalidate();
      }
      running = false;
      if (!stopped) timer = setTimeout(step, intervalMs);
    };
    timer = setTimeout(step, 0);
    this.#pollNow = () => {
      if (stopped || running) return; // a poll running now may have begun too early: the next one is soon
      if (timer) clearTimeout(timer);
      timer = setTimeout(step, 0);
    };
    this.#unwatch = () => {
      stopped = true;
      if (timer) clearTimeout(timer);
      for (const w of this.#syncWaiters.splice(0)) w.done(false);
    };
  }

  #synced(startedAt: number): void {
    this.#syncedAt = startedAt;
    for (let i = this.#syncWaiters.length - 1; i >= 0; i--) {
      const w = this.#syncWaiters[i]!;
      if (w.afterMs > startedAt) continue;
      this.#syncWaiters.splice(i, 1);
      w.done(true);
    }
    // a waiter for a later moment than this poll began: the next poll, as soon as its time has come
    // (a waiter that does not ask takes the regular one)
    const next = Math.min(...this.#syncWaiters.filter((w) => w.ask).map((w) => w.afterMs));
    if (Number.isFinite(next)) setTimeout(() => this.#pollNow(), Math.max(0, next - Date.now())).unref();
  }

  /**
   * True once a poll of the registry's events begun at or after `afterMs` has read every event
   * up to the head it saw, so that every change made before `afterMs` has dropped its device from
   * the cache. A poll is run at once when none is running (`ask`, the default; otherwise the
   * caller waits for the regular poll, at no cost to the RPC node); false after `timeoutMs`
   * without one (the RPC node out of reach), or once the directory is closed.
   */
  syncedAfter(afterMs: number, timeoutMs: number, ask = true): Promise<boolean> {
    if (this.#syncedAt >= afterMs) return Promise.resolve(true);
    if (this.#unwatch === null) return Promise.resolve(false);
    return new Promise<boolean>((resolve) => {
      const waiter = {
        afterMs,
        ask,
        done: (ok: boolean) => {
          clearTimeout(timeout);
          resolve(ok);
        },
      };
      const timeout = setTimeout(() => {
        const at = this.#syncWaiters.indexOf(waiter);
        if (at >= 0) this.#syncWaiters.splice(at, 1);
        resolve(false);
      }, timeoutMs);
      this.#syncWaiters.push(waiter);
      if (!ask) return;
      if (Date.now() >= afterMs) this.#pollNow();
      else setTimeout(() => this.#pollNow(), afterMs - Date.now()).unref();
    });
  }

  /** Null for an unknown device, and for an id that breaks the id rules: none can be registered (its `bytes32` would throw). */
  get(deviceId: string): Promise<DeviceInfo | null> {
    if (!isValidId(deviceId)) return Promise.resolve(null);
    const hit = this.#cache.get(deviceId);
    const now = Date.now();
    if (hit && now - hit.at < this.#ttlMs) return hit.value;
    const value = this.#load(deviceId);
    const entry = { at: now, value, known: undefined as DeviceInfo | null | undefined };
    this.#cache.delete(deviceId); // set again below: last in the map's order, the newest
    this.#cache.set(deviceId, entry);
    // bounded: ids nobody registered are answers too (null), and senders choose them. The oldest
    // looked up go first (a Map keeps insertion order); a device evicted is asked again when next seen.
    while (this.#cache.size > this.#maxEntries) this.#cache.delete(this.#cache.keys().next().value!);
    value.then(
      (d) => (entry.known = d),
      // an RPC failure is not an answer: do not cache it
      () => {
        if (this.#cache.get(deviceId) === entry) this.#cache.delete(deviceId);
      },
    );
    return value;
  }

  /**
   * The device read again, its cached record replaced once the answer is in (a failed read leaves
   * the record held, and throws); its record as cached when that is younger than `minAgeMs`, or
   * none is. One read at a time per device: readings arriving meanwhile wait for the same one.
   */
  refresh(deviceId: string, minAgeMs: number): Promise<DeviceInfo | null> {
    const hit = this.#cache.get(deviceId);
    if (!hit || Date.now() - hit.at < minAgeMs) return hit?.value ?? this.get(deviceId);
    let pending = this.#refreshing.get(deviceId);
    if (!pending) {
      const at = Date.now();
      pending = this.#load(deviceId)
        .then((d) => {
          // unless an event dropped it meanwhile (the next lookup reads it again anyway)
          if (this.#cache.get(deviceId) === hit) {
            this.#cache.delete(deviceId);
            this.#cache.set(deviceId, { at, value: Promise.resolve(d), known: d });
          }
          return d;
        })
        .finally(() => this.#refreshing.delete(deviceId));
      this.#refreshing.set(deviceId, pending);
    }
    return pending;
  }

  peek(deviceId: string): DeviceInfo | null | undefined {
    if (!isValidId(deviceId)) return null;
    const hit = this.#cache.get(deviceId);
    return hit && Date.now() - hit.at < this.#ttlMs ? hit.known : undefined;
  }

  async #load(deviceId: string): Promise<DeviceInfo | null> {
    // before the event poll has its first block, that block is taken first (once, for every record
    // read meanwhile): this record is then read at it or later, and the poll misses no change since
    if (this.#from === null) await this.#originBlock();
    let d;
    try {
      d = await this.#client.readContract({
        address: this.#address,
        abi: deviceRegistryAbi,
        functionName: "getDevice",
        args: [idToBytes32(deviceId)],
      });
    } catch (err) {
      if (isUnknownDevice(err)) return null;
      throw err;
    }
    const keys = d.keyHistory.map((k, i) => ({
      publicKey: publicKeyFromXY(k.x, k.y),
      validFrom: Number(k.validFrom),
      validUntil: i + 1 < d.keyHistory.length ? Number(d.keyHistory[i + 1]!.validFrom) : null,
    }));
    const statusChangedAt = Number(d.statusChangedAt);
    const suspensions = await this.#suspensions(deviceId, Number(d.registeredAt), statusChangedAt);
    return {
      deviceId,
      facilityId: bytes32ToId(d.facilityId),
      status: deviceStatusFromRegistry(d.status),
      statusChangedAt,
      ...(suspensions.length > 0 ? { suspensions } : {}),
      keys,
    };
  }

  /**
   * The block number taken before the first record is read (`#origin`): one call, shared by the
   * records read until the event poll has its first block; taken again after a failure.
   */
  #originBlock(): Promise<bigint> {
    if (this.#origin === null) {
      const taken: Promise<bigint> = this.#client.getBlockNumber({ cacheTime: 0 }).catch((err: unknown) => {
        if (this.#origin === taken) this.#origin = null;
        throw err;
      });
      this.#origin = taken;
    }
    return this.#origin;
  }

  /**
   * The device's suspensions lifted since, by the sdk's reader (its events by its indexed id over
   * the blocks from its registration to its last status change, one eth_getLogs a range at a time
   * as before), kept with the `statusChangedAt` they were read at and read again only when it changes.
   */
  async #suspensions(deviceId: string, registeredAt: number, statusChangedAt: number): Promise<readonly Suspension[]> {
    if (statusChangedAt <= registeredAt) return []; // its status never changed (or not past its first second)
    const known = this.#past.get(deviceId);
    if (known?.changedAt === statusChangedAt) return known.suspensions;
    const suspensions = await readDeviceSuspensions(this.#client, {
      address: this.#address,
      deviceId,
      registeredAt,
      statusChangedAt,
      slot: limiter(1),
    });
    this.#past.delete(deviceId);
    this.#past.set(deviceId, { changedAt: statusChangedAt, suspensions });
    while (this.#past.size > this.#maxEntries) this.#past.delete(this.#past.keys().next().value!);
    return suspensions;
  }

  invalidate(deviceId?: string): void {
    if (deviceId === undefined) this.#cache.clear();
    else this.#cache.delete(deviceId);
  }

  close(): void {
    this.#unwatch?.();
    this.#unwatch = null;
  }
}

/**
 * Whether a `getDevice` call failed because the registry has no such device: its revert decoded as
 * `DeviceRegistryUnknownDevice`, and nothing else. viem reports an RPC node's internal error
 * (JSON-RPC -32603) on `eth_call` as a revert without data too: taken as "unknown", a registered
 * device's readings would be dead-lettered and acknowledged (never resent) while a provider has a
 * bad minute, where a failed lookup fails them unacknowledged, to be resent.
 */
export function isUnknownDevice(err: unknown): boolean {
  return revertName(err, deviceRegistryAbi) === "DeviceRegistryUnknownDevice";
}
