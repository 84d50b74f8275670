import { compareBytes, toBytes, type Hex, bytesToHex } from "../hex.ts";
import { sha256Prefixed32, sha256Prefixed64 } from "./sha256.ts";

/** Domain-separation prefixes (docs/protocol.md "Merkle tree"). */
export const LEAF_PREFIX = 0x00;
export const NODE_PREFIX = 0x01;

/** Leaf of a reading: `SHA-256(0x00 ‖ readingDigest)`. */
export function leafHash(readingDigest: Uint8Array | Hex): Hex {
  const out = new Uint8Array(32);
  sha256Prefixed32(LEAF_PREFIX, toBytes(readingDigest, 32), 0, out, 0);
  return bytesToHex(out);
}

/**
 * Inner node: `SHA-256(0x01 ‖ min(a, b) ‖ max(a, b))`, byte-wise order, so commutative
 * (OpenZeppelin `MerkleProof` with a custom hasher). Signature matches
 * `@openzeppelin/merkle-tree`'s `NodeHash`, so it can be passed as `nodeHash`.
 */
export function nodeHash(a: Uint8Array | string | readonly number[], b: Uint8Array | string | readonly number[]): Hex {
  const x = toBytes(typeof a === "string" || a instanceof Uint8Array ? a : Uint8Array.from(a), 32);
  const y = toBytes(typeof b === "string" || b instanceof Uint8Array ? b : Uint8Array.from(b), 32);
  const out = new Uint8Array(32);
  if (compareBytes(x, y) <= 0) sha256Prefixed64(NODE_PREFIX, x, 0, y, 0, out, 0);
  else sha256Prefixed64(NODE_PREFIX, y, 0, x, 0, out, 0);
  return bytesToHex(out);
}
