import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex, type Hex } from "../hex.ts";
import { canonicalBytes } from "./canonical.ts";
import type { Reading } from "./schema.ts";

/** SHA-256 of arbitrary bytes (noble; same in browsers). */
export function sha256Bytes(bytes: Uint8Array): Uint8Array {
  return sha256(bytes);
}

/** Reading digest: SHA-256 of the reading's canonical bytes (32 bytes). */
export function readingDigest(reading: Reading): Uint8Array {
  return sha256(canonicalBytes(reading));
}

/** Reading digest as 0x-hex. */
export function readingDigestHex(reading: Reading): Hex {
  return bytesToHex(readingDigest(reading));
}
