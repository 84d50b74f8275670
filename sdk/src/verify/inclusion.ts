import { LEAF_PREFIX, NODE_PREFIX } from "../merkle/hash.ts";
import { sha256Prefixed32, sha256Prefixed64 } from "../merkle/sha256.ts";
import { leafIndexOf, type MerkleTree } from "../merkle/tree.ts";
import { SdkError } from "../errors.ts";

function cmp32(a: Uint8Array, ao: number, b: Uint8Array, bo: number): number {
  for (let k = 0; k < 32; k++) {
    const d = a[ao + k]! - b[bo + k]!;
    if (d !== 0) return d;
  }
  return 0;
}

/**
 * Each reading's inclusion proof, checked on its own: the leaf `SHA-256(0x00 ‖ digest)`, its
 * proof (the sibling nodes `getProof` returns), hashed up with `SHA-256(0x01 ‖ min ‖ max)` as
 * `processProof` does, must reach `root` (the root the registry stores). The same arithmetic as
 * `getProof` + `verifyProof`, on bytes instead of hex strings, so 10,000 proofs take tens of
 * milliseconds. Returns the indices (into `digests`) whose proof does not reach `root`.
 */
export function proofsNotReachingRoot(tree: MerkleTree, digests: readonly Uint8Array[], root: Uint8Array): number[] {
  const misses: number[] = [];
  const leaf = new Uint8Array(32);
  const acc = new Uint8Array(32);
  const next = new Uint8Array(32);
  const nodes = tree.nodes;
  digests.forEach((digest, i) => {
    sha256Prefixed32(LEAF_PREFIX, digest, 0, leaf, 0);
    let index: number;
    try {
      index = leafIndexOf(tree, leaf);
    } catch (error) {
      if (!(error instanceof SdkError)) throw error;
      misses.push(i);
      return;
    }
    acc.set(leaf);
    while (index > 0) {
      const sibling = 32 * (index % 2 === 1 ? index + 1 : index - 1);
      if (cmp32(acc, 0, nodes, sibling) <= 0) sha256Prefixed64(NODE_PREFIX, acc, 0, nodes, sibling, next, 0);
      else sha256Prefixed64(NODE_PREFIX, nodes, sibling, acc, 0, next, 0);
      acc.set(next);
      index = (index - 1) >> 1;
    }
    if (root.length !== 32 || cmp32(acc, 0, root, 0) !== 0) misses.push(i);
  });
  return misses;
}
