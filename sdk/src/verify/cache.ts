import type { Hex } from "viem";
import type { Bundle } from "../bundle/schema.ts";
import type { DeviceStatusHistory } from "../devices/inactiveAt.ts";
import type { BatchHeader } from "../eip712/batchHeader.ts";

/** An `AttestationSubmitted` event as the verifier uses it. */
export type Submitted = { id: Hex; header: BatchHeader; bitmap: bigint; txHash: Hex; blockNumber: bigint };

/**
 * A device as DeviceRegistry holds it: facility, key history (oldest first), and status (the
 * registry's `DeviceStatus` number, when it last changed and when the device was registered), or why not.
 */
export type DeviceEntry =
  | {
      ok: true;
      facilityId: Hex;
      keys: readonly { x: Hex; y: Hex; validFrom: bigint }[];
      status: number;
      registeredAt: bigint;
      statusChangedAt: bigint;
    }
  | { ok: false; problem: string };

/** (deviceId, seq) keys and digests of a bundle's readings: what the no-double-attestation link compares. */
export type BundleReadingKeys = { keys: string[]; digests: string[] };

/** Bundle requests a walk sends at once unless told otherwise ({@link createVerifyCache}). */
export const DEFAULT_FETCH_CONCURRENCY = 8;

/**
 * What one walk (a credit's or a certificate's attestations) fetches once and shares: the
 * chain id, event lists, reading keys of bundles, device records and revocation flags. Values
 * are promises, so concurrent verifications wait for one request instead of sending their own.
 * Bundle bytes are not kept: a facility's year of hourly bundles is GBs, and the walk needs only
 * their reading keys. Nothing in it is trusted: every verification still hashes the bytes it got
 * against the on-chain CID and checks what it reads.
 */
export type VerifyCache = {
  chainId?: Promise<number>;
  submissions: Map<string, Promise<Submitted[]>>;
  /** Bundle requests in flight by CID (shared by whoever asks meanwhile), dropped once settled. */
  bytes: Map<string, Promise<Uint8Array>>;
  /** Runs a bundle request when fewer than the walk's limit are in flight (in order of asking). */
  fetchSlot: <T>(run: () => Promise<T>) => Promise<T>;
  readingKeys: Map<string, Promise<BundleReadingKeys>>;
  devices: Map<string, Promise<DeviceEntry>>;
  /** Devices' status histories (current status and past suspensions), by registry, device and first block. */
  deviceStatus?: Map<string, Promise<DeviceStatusHistory>>;
  revoked: Map<string, Promise<boolean>>;
  /** Factor sets of the walk's bundles by id (their content hashes to it): one copy each. */
  factorSets: Map<string, Bundle["factorSet"]>;
  /** Runs one eth_getLogs range of the walk's event reads when fewer than the limit are in flight. */
  eventSlot?: <T>(run: () => Promise<T>) => Promise<T>;
};

/** @param opts.fetchConcurrency bundle requests in flight at once over the whole walk (default 8) */
export function createVerifyCache(opts: { fetchConcurrency?: number } = {}): VerifyCache {
  return {
    submissions: new Map(),
    bytes: new Map(),
    fetchSlot: limiter(opts.fetchConcurrency ?? DEFAULT_FETCH_CONCURRENCY),
    readingKeys: new Map(),
    devices: new Map(),
    deviceStatus: new Map(),
    revoked: new Map(),
    factorSets: new Map(),
    eventSlot: limiter(DEFAULT_FETCH_CONCURRENCY),
  };
}

/**
 * `concurrency`, or `fallback` when not given, refused unless a whole number ≥ 1: with 0 (or NaN, or
 * a negative) a pool of that many workers checks nothing, and its report would read as a clean one.
 */
export function concurrencyOf(concurrency: number | undefined, fallback: number): number {
  const n = concurrency ?? fallback;
  if (!Number.isSafeInteger(n) || n < 1) throw new RangeError(`concurrency must be a whole number ≥ 1, got ${n}`);
  return n;
}

/** At most `limit` of the given runs at once; the others start, in order, as those settle. */
export function limiter(limit: number): <T>(run: () => Promise<T>) => Promise<T> {
  concurrencyOf(limit, 1);
  let active = 0;
  const waiting: (() => void)[] = [];
  return async <T>(run: () => Promise<T>): Promise<T> => {
    if (active >= limit) await new Promise<void>((start) => waiting.push(start));
    else active++;
    try {
      return await run();
    } finally {
      // the slot passes straight to the next waiter (active unchanged), else frees
      const next = waiting.shift();
      if (next) next();
      else active--;
    }
  };
}

/** `map.get(key)`, or `make()` stored under `key` while it is pending (a promise shared, not a cache). */
export function shared<T>(map: Map<string, Promise<T>>, key: string, make: () => Promise<T>): Promise<T> {
  let value = map.get(key);
  if (!value) {
    const made = make();
    value = made;
    map.set(key, made);
    const forget = () => {
      if (map.get(key) === made) map.delete(key);
    };
    made.then(forget, forget);
  }
  return value;
}

/** `map.get(key)`, or `make()` stored under `key` (a rejected promise is dropped, so a retry asks again). */
export function memo<T>(map: Map<string, Promise<T>>, key: string, make: () => Promise<T>): Promise<T> {
  let value = map.get(key);
  if (!value) {
    value = make();
    map.set(key, value);
    // The caller awaiting `value` still gets the rejection; this only forgets it.
    value.catch(() => {
      if (map.get(key) === value) map.delete(key);
    });
  }
  return value;
}
