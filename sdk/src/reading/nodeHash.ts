import { createHash } from "node:crypto";
import { useSha256 } from "./digest.ts";

/**
 * OpenSSL's SHA-256 for the sdk in Node (exported from `sdk/src/node.ts`; importing this module
 * installs it, see `useSha256`). Returns a plain Uint8Array, not a Buffer, whose slice() would
 * share memory.
 */
export function nativeSha256(bytes: Uint8Array): Uint8Array {
  const d = createHash("sha256").update(bytes).digest();
  return new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
}

useSha256(nativeSha256);
