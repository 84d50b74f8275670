import type { Hex } from "viem";
import type { BatchHeader } from "../eip712/batchHeader.ts";

/** An `AttestationSubmitted` event as the verifier uses it. */
export type Submitted = { id: Hex; header: BatchHeader; bitmap: bigint; txHash: Hex; blockNumber: bigint };

/** A device as DeviceRegistry holds it: facility and key history (oldest first), or why not. */
export type DeviceEntry =
  | { ok: true; facilityId: Hex; keys: readonly { x: Hex; y: Hex; validFrom: bigint }[] }
  | { ok: false; problem: string };

/** (deviceId, seq) keys and digests of a bundle's readings: what the no-double-attestation link compares. */
export type BundleReadingKeys = { keys: string[]; digests: string[] };

/**
 * What one walk (a credit's or a certificate's attestations) fetches once and shares: the
 * chain id, event lists, bundle bytes by CID, reading keys of bundles, device records and
 * revocation flags. Values are promises, so concurrent verifications wait for one request
 * instead of sending their own. Nothing in it is trusted: every verification still hashes
 * the bytes against the on-chain CID and checks what it reads.
 */
export type VerifyCache = {
  chainId?: Promise<number>;
  submissions: Map<string, Promise<Submitted[]>>;
  bytes: Map<string, Promise<Uint8Array>>;
  /** The CID the bytes fetched under a CID (in `bytes`) hash to: each bundle is hashed once a walk. */
  hashed: Map<string, Promise<string>>;
  readingKeys: Map<string, Promise<BundleReadingKeys>>;
  devices: Map<string, Promise<DeviceEntry>>;
  revoked: Map<string, Promise<boolean>>;
};

export function createVerifyCache(): VerifyCache {
  return {
    submissions: new Map(),
    bytes: new Map(),
    hashed: new Map(),
    readingKeys: new Map(),
    devices: new Map(),
    revoked: new Map(),
  };
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
