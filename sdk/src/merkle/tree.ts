import { SdkError } from "../errors.ts";
import { bytesToHex, toBytes, type Hex } from "../hex.ts";
import { LEAF_PREFIX, NODE_PREFIX } from "./hash.ts";
import { sha256Prefixed32Words, sha256Prefixed64Words } from "./sha256.ts";

/**
 * A SHA-256 Merkle tree in OpenZeppelin `SimpleMerkleTree` layout, flat in one buffer:
 * node `i` is `nodes[32i, 32i+32)`, children of `i` are `2i+1` and `2i+2`, the root is
 * node 0, and the `leafCount` leaves, sorted ascending, occupy the last nodes in
 * reverse order (sorted leaf `k` is node `2·leafCount − 2 − k`).
 */
export type MerkleTree = {
  readonly leafCount: number;
  /** (2·leafCount − 1) · 32 bytes. */
  readonly nodes: Uint8Array;
  readonly root: Hex;
};

/** Compare 32-byte words `a[ai..)` and `b[bi..)` byte-wise. */

/**
 * Builds the tree over already-hashed leaves (32 bytes each, as a flat buffer of
 * n·32 bytes or a list). Leaves are sorted here; duplicates are kept (as OpenZeppelin
 * does), the oracle never puts one reading twice in a batch.
 */
export function buildMerkleTreeFromLeaves(leaves: Uint8Array | readonly (Uint8Array | Hex)[]): MerkleTree {
  let flat: Uint8Array;
  if (leaves instanceof Uint8Array) {
    if (leaves.length % 32 !== 0) {
      throw new SdkError(`A flat leaf buffer must be a multiple of 32 bytes, got ${leaves.length}.`, {
        code: "INVALID_HEX",
      });
    }
    flat = leaves;
  } else {
    flat = new Uint8Array(leaves.length * 32);
    leaves.forEach((leaf, i) => flat.set(toBytes(leaf, 32), 32 * i));
  }
  const n = flat.length / 32;
  if (n === 0) {
    throw new SdkError("Cannot build a Merkle tree with no leaves: an empty batch is never attested.", {
      code: "MERKLE_EMPTY",
      docsPath: "docs/protocol.md#merkle-tree-sha-256-domain-separated",
    });
  }
  return buildFromLeafWords(bytesToWords(flat), n);
}

/**
 * Builds the tree of a batch from its reading digests (32 bytes each): leaf =
 * SHA-256(0x00 ‖ digest), sorted, then the inner nodes.
 */
export function buildMerkleTree(readingDigests: Uint8Array | readonly (Uint8Array | Hex)[]): MerkleTree {
  let flat: Uint8Array;
  if (readingDigests instanceof Uint8Array) flat = readingDigests;
  else {
    flat = new Uint8Array(readingDigests.length * 32);
    readingDigests.forEach((d, i) => flat.set(toBytes(d, 32), 32 * i));
  }
  if (flat.length % 32 !== 0) {
    throw new SdkError(`A flat digest buffer must be a multiple of 32 bytes, got ${flat.length}.`, {
      code: "INVALID_HEX",
    });
  }
  const n = flat.length / 32;
  if (n === 0) {
    throw new SdkError("Cannot build a Merkle tree with no leaves: an empty batch is never attested.", {
      code: "MERKLE_EMPTY",
      docsPath: "docs/protocol.md#merkle-tree-sha-256-domain-separated",
    });
  }
  const digests = bytesToWords(flat);
  const leaves = new Int32Array(8 * n);
  for (let i = 0; i < n; i++) sha256Prefixed32Words(LEAF_PREFIX, digests, 8 * i, leaves, 8 * i);
  return buildFromLeafWords(leaves, n);
}

/** Big-endian 32-bit words of a byte buffer (length a multiple of 4). */
function bytesToWords(bytes: Uint8Array): Int32Array {
  const words = new Int32Array(bytes.length >> 2);
  for (let i = 0, o = 0; i < words.length; i++, o += 4) {
    words[i] = (bytes[o]! << 24) | (bytes[o + 1]! << 16) | (bytes[o + 2]! << 8) | bytes[o + 3]!;
  }
  return words;
}

function wordsToBytes(words: Int32Array): Uint8Array {
  const out = new Uint8Array(words.length << 2);
  for (let i = 0, o = 0; i < words.length; i++, o += 4) {
    const w = words[i]!;
    out[o] = w >>> 24;
    out[o + 1] = (w >>> 16) & 0xff;
    out[o + 2] = (w >>> 8) & 0xff;
    out[o + 3] = w & 0xff;
  }
  return out;
}

/** Unsigned comparison of the 8-word values a[ai..) and b[bi..). */
function cmpWords(a: Int32Array, ai: number, b: Int32Array, bi: number): number {
  for (let k = 0; k < 8; k++) {
    const x = a[ai + k]! >>> 0;
    const y = b[bi + k]! >>> 0;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

/**
 * Leaf indices in ascending byte order of the leaves: LSD radix sort (4 passes of 16
 * bits) on the first 64 bits, then a full comparison inside the rare runs that share
 * them (duplicates). Stable, so equal leaves keep their input order.
 */
function sortLeafIndices(leaves: Int32Array, n: number): Uint32Array {
  // Keys travel with the indices so every pass reads sequentially (the leaves are 32 MB at 1M).
  let order = new Uint32Array(n);
  let hi = new Uint32Array(n);
  let lo = new Uint32Array(n);
  let order2 = new Uint32Array(n);
  let hi2 = new Uint32Array(n);
  let lo2 = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    order[i] = i;
    hi[i] = leaves[8 * i]!;
    lo[i] = leaves[8 * i + 1]!;
  }
  const counts = new Uint32Array(65536);
  for (let pass = 0; pass < 4; pass++) {
    const keys = pass < 2 ? lo : hi;
    const shift = pass % 2 === 0 ? 0 : 16;
    counts.fill(0);
    for (let k = 0; k < n; k++) counts[(keys[k]! >>> shift) & 0xffff]!++;
    let sum = 0;
    for (let b = 0; b < 65536; b++) {
      const c = counts[b]!;
      counts[b] = sum;
      sum += c;
    }
    for (let k = 0; k < n; k++) {
      const at = counts[(keys[k]! >>> shift) & 0xffff]!++;
      order2[at] = order[k]!;
      hi2[at] = hi[k]!;
      lo2[at] = lo[k]!;
    }
    [order, order2] = [order2, order];
    [hi, hi2] = [hi2, hi];
    [lo, lo2] = [lo2, lo];
  }
  for (let k = 0; k < n - 1;) {
    let end = k + 1;
    while (end < n && hi[end] === hi[k] && lo[end] === lo[k]) end++;
    if (end - k > 1) {
      const run = Array.from(order.subarray(k, end)).sort((x, y) => cmpWords(leaves, 8 * x, leaves, 8 * y) || x - y);
      order.set(run, k);
    }
    k = end;
  }
  return order;
}

function buildFromLeafWords(leaves: Int32Array, n: number): MerkleTree {
  const order = sortLeafIndices(leaves, n);

  const total = 2 * n - 1;
  const nodes = new Int32Array(total * 8);
  for (let k = 0; k < n; k++) nodes.set(leaves.subarray(8 * order[k]!, 8 * order[k]! + 8), 8 * (total - 1 - k));
  for (let i = n - 2; i >= 0; i--) {
    const l = 8 * (2 * i + 1);
    const r = l + 8;
    if (cmpWords(nodes, l, nodes, r) <= 0) sha256Prefixed64Words(NODE_PREFIX, nodes, l, nodes, r, nodes, 8 * i);
    else sha256Prefixed64Words(NODE_PREFIX, nodes, r, nodes, l, nodes, 8 * i);
  }
  const bytes = wordsToBytes(nodes);
  return { leafCount: n, nodes: bytes, root: bytesToHex(bytes, 0, 32) };
}

/** Compare 32-byte words `a[ai..)` and `b[bi..)` byte-wise. */
function cmp32(a: Uint8Array, ai: number, b: Uint8Array, bi: number): number {
  for (let k = 0; k < 32; k++) {
    const d = a[ai + k]! - b[bi + k]!;
    if (d !== 0) return d;
  }
  return 0;
}

/** Node `i` of the tree as hex. */
export function nodeAt(tree: MerkleTree, index: number): Hex {
  return bytesToHex(tree.nodes, 32 * index, 32);
}

/** The leaves in tree order (sorted ascending), as hex. */
export function leavesOf(tree: MerkleTree): Hex[] {
  const total = 2 * tree.leafCount - 1;
  return Array.from({ length: tree.leafCount }, (_, k) => nodeAt(tree, total - 1 - k));
}

/**
 * Tree index (node number) of `leaf`, by binary search over the sorted leaves;
 * throws when the leaf is not in the tree.
 */
export function leafIndexOf(tree: MerkleTree, leaf: Uint8Array | Hex): number {
  const target = toBytes(leaf, 32);
  const total = 2 * tree.leafCount - 1;
  let lo = 0;
  let hi = tree.leafCount - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const c = cmp32(tree.nodes, 32 * (total - 1 - mid), target, 0);
    if (c === 0) return total - 1 - mid;
    if (c < 0) lo = mid + 1;
    else hi = mid - 1;
  }
  throw new SdkError(`Leaf ${bytesToHex(target)} is not in the tree (root ${tree.root}).`, {
    code: "MERKLE_LEAF_NOT_FOUND",
  });
}
