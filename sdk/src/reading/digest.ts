import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex, type Hex } from "../hex.ts";
import { canonicalBytes } from "./canonical.ts";
import type { Reading } from "./schema.ts";

/**
 * The SHA-256 the sdk hashes with: noble (pure JS, the same in browsers) unless a faster one of
 * the same function is installed. The Node entry installs OpenSSL's (reading/nodeHash.ts: SHA-NI
 * where the CPU has it, 2–10× faster on digests and bundles); its tests hold it to noble's bytes.
 */
let impl: (bytes: Uint8Array) => Uint8Array = sha256;

/** Installs another implementation of SHA-256 (it must give the same bytes). */
export function useSha256(fn: (bytes: Uint8Array) => Uint8Array): void {
  impl = fn;
}

/** SHA-256 of arbitrary bytes. */
export function sha256Bytes(bytes: Uint8Array): Uint8Array {
  return impl(bytes);
}

/** Reading digest: SHA-256 of the reading's canonical bytes (32 bytes). */
export function readingDigest(reading: Reading): Uint8Array {
  return sha256Bytes(canonicalBytes(reading));
}

/** Reading digest as 0x-hex. */
export function readingDigestHex(reading: Reading): Hex {
  return bytesToHex(readingDigest(reading));
}
