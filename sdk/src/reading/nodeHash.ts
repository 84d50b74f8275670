import { hash } from "node:crypto";
import { useSha256 } from "./digest.ts";

/**
 * OpenSSL's SHA-256 for the sdk in Node (exported from `sdk/src/node.ts`; importing this module
 * installs it, see `useSha256`). One-shot `crypto.hash` (no Hash object per call: ~0.4 µs for a
 * reading's bytes against ~1 µs with `createHash`). Returns a plain Uint8Array, not a Buffer,
 * whose slice() would share memory.
 */
export function nativeSha256(bytes: Uint8Array): Uint8Array {
  const d = hash("sha256", bytes, "buffer");
  return new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
}

useSha256(nativeSha256);
