import { SdkError } from '../errors.ts'
import { bytesToHex, toBytes, type Hex } from '../hex.ts'
import { LEAF_PREFIX, NODE_PREFIX } from './hash.ts'
import { sha256Prefixed32, sha256Prefixed64 } from './sha256.ts'

/**
 * A SHA-256 Merkle tree in OpenZeppelin `SimpleMerkleTree` layout, flat in one buffer:
 * node `i` is `nodes[32i, 32i+32)`, children of `i` are `2i+1` and `2i+2`, the root is
 * node 0, and the `leafCount` leaves, sorted ascending, occupy the last nodes in
 * reverse order (sorted leaf `k` is node `2·leafCount − 2 − k`).
 */
export type MerkleTree = {
  readonly leafCount: number
  /** (2·leafCount − 1) · 32 bytes. */
  readonly nodes: Uint8Array
  readonly root: Hex
}

/** Compare 32-byte words `a[ai..)` and `b[bi..)` byte-wise. */
function cmp32(a: Uint8Array, ai: number, b: Uint8Array, bi: number): number {
  for (let k = 0; k < 32; k++) {
    const d = a[ai + k]! - b[bi + k]!
    if (d !== 0) return d
  }
  return 0
}

/**
 * Builds the tree over already-hashed leaves (32 bytes each, as a flat buffer of
 * n·32 bytes or a list). Leaves are sorted here; duplicates are kept (as OpenZeppelin
 * does), the oracle never puts one reading twice in a batch.
 */
export function buildMerkleTreeFromLeaves(leaves: Uint8Array | readonly (Uint8Array | Hex)[]): MerkleTree {
  let flat: Uint8Array
  if (leaves instanceof Uint8Array) {
    if (leaves.length % 32 !== 0) {
      throw new SdkError(`A flat leaf buffer must be a multiple of 32 bytes, got ${leaves.length}.`, {
        code: 'INVALID_HEX',
      })
    }
    flat = leaves
  } else {
    flat = new Uint8Array(leaves.length * 32)
    leaves.forEach((leaf, i) => flat.set(toBytes(leaf, 32), 32 * i))
  }
  const n = flat.length / 32
  if (n === 0) {
    throw new SdkError('Cannot build a Merkle tree with no leaves: an empty batch is never attested.', {
      code: 'MERKLE_EMPTY',
      docsPath: 'docs/protocol.md#merkle-tree-sha-256-domain-separated',
    })
  }
  const order = sortedLeafOrder(flat, n)
  const total = 2 * n - 1
  const nodes = new Uint8Array(total * 32)
  for (let k = 0; k < n; k++) nodes.set(flat.subarray(32 * order[k]!, 32 * order[k]! + 32), 32 * (total - 1 - k))
  hashInnerNodes(nodes, n)
  return { leafCount: n, nodes, root: bytesToHex(nodes, 0, 32) }
}

/**
 * Builds the tree of a batch from its reading digests (32 bytes each): leaf =
 * SHA-256(0x00 ‖ digest), sorted, then the inner nodes.
 */
export function buildMerkleTree(readingDigests: Uint8Array | readonly (Uint8Array | Hex)[]): MerkleTree {
  let flat: Uint8Array
  if (readingDigests instanceof Uint8Array) flat = readingDigests
  else {
    flat = new Uint8Array(readingDigests.length * 32)
    readingDigests.forEach((d, i) => flat.set(toBytes(d, 32), 32 * i))
  }
  if (flat.length % 32 !== 0) {
    throw new SdkError(`A flat digest buffer must be a multiple of 32 bytes, got ${flat.length}.`, {
      code: 'INVALID_HEX',
    })
  }
  const n = flat.length / 32
  const leaves = new Uint8Array(flat.length)
  for (let i = 0; i < n; i++) sha256Prefixed32(LEAF_PREFIX, flat, 32 * i, leaves, 32 * i)
  return buildMerkleTreeFromLeaves(leaves)
}

function sortedLeafOrder(flat: Uint8Array, n: number): Uint32Array {
  // Sort indices by the first 48 bits as a float key (exact), full compare on ties.
  const keys = new Float64Array(n)
  for (let i = 0; i < n; i++) {
    const o = 32 * i
    keys[i] =
      (flat[o]! * 2 ** 40 + flat[o + 1]! * 2 ** 32) +
      ((flat[o + 2]! << 24) >>> 0) +
      (flat[o + 3]! << 16) +
      (flat[o + 4]! << 8) +
      flat[o + 5]!
  }
  const order = new Uint32Array(n)
  for (let i = 0; i < n; i++) order[i] = i
  order.sort((a, b) => {
    const d = keys[a]! - keys[b]!
    return d !== 0 ? d : cmp32(flat, 32 * a, flat, 32 * b) || a - b
  })
  return order
}

function hashInnerNodes(nodes: Uint8Array, n: number): void {
  for (let i = n - 2; i >= 0; i--) {
    const l = 32 * (2 * i + 1)
    const r = l + 32
    if (cmp32(nodes, l, nodes, r) <= 0) sha256Prefixed64(NODE_PREFIX, nodes, l, nodes, r, nodes, 32 * i)
    else sha256Prefixed64(NODE_PREFIX, nodes, r, nodes, l, nodes, 32 * i)
  }
}

/** Node `i` of the tree as hex. */
export function nodeAt(tree: MerkleTree, index: number): Hex {
  return bytesToHex(tree.nodes, 32 * index, 32)
}

/** The leaves in tree order (sorted ascending), as hex. */
export function leavesOf(tree: MerkleTree): Hex[] {
  const total = 2 * tree.leafCount - 1
  return Array.from({ length: tree.leafCount }, (_, k) => nodeAt(tree, total - 1 - k))
}

/**
 * Tree index (node number) of `leaf`, by binary search over the sorted leaves;
 * throws when the leaf is not in the tree.
 */
export function leafIndexOf(tree: MerkleTree, leaf: Uint8Array | Hex): number {
  const target = toBytes(leaf, 32)
  const total = 2 * tree.leafCount - 1
  let lo = 0
  let hi = tree.leafCount - 1
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1
    const c = cmp32(tree.nodes, 32 * (total - 1 - mid), target, 0)
    if (c === 0) return total - 1 - mid
    if (c < 0) lo = mid + 1
    else hi = mid - 1
  }
  throw new SdkError(`Leaf ${bytesToHex(target)} is not in the tree (root ${tree.root}).`, {
    code: 'MERKLE_LEAF_NOT_FOUND',
  })
}
