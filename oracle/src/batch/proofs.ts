import { buildMerkleTree, getProof, leafHash, type MerkleTree } from "../../../sdk/src/index.ts";
import type { Storage } from "../storage/types.ts";

/**
 * Merkle trees of sealed batches, rebuilt from storage on demand (sdk `buildMerkleTree` over
 * the reading digests) and kept for the most recently asked batches, each with the reading count
 * it was built from: a batch whose readings changed since (one taken as the record of an
 * attestation after a restore, pipeline `#adopt`) is built again.
 */
export class ProofService {
  readonly #storage: Storage;
  readonly #cache = new Map<number, { tree: MerkleTree; readings: number }>();
  readonly #max: number;
  constructor(storage: Storage, max = 32) {
    this.#storage = storage;
    this.#max = max;
  }
  /** The tree of `batch` (its id, and its reading count as stored now). */
  tree(batch: { id: number; readingCount: number }): MerkleTree {
    const hit = this.#cache.get(batch.id);
    if (hit && hit.readings === batch.readingCount) {
      this.#cache.delete(batch.id);
      this.#cache.set(batch.id, hit);
      return hit.tree;
    }
    this.#cache.delete(batch.id);
    const digests = this.#storage.readingsOfBatch(batch.id).map((r) => r.digest as `0x${string}`);
    const tree = buildMerkleTree(digests);
    this.#cache.set(batch.id, { tree, readings: batch.readingCount });
    if (this.#cache.size > this.#max) this.#cache.delete(this.#cache.keys().next().value!);
    return tree;
  }
  /** Leaf (SHA-256(0x00 ‖ digest)) and its proof in the batch's tree. */
  proof(batch: { id: number; readingCount: number }, digest: string): { leaf: string; proof: string[] } {
    const leaf = leafHash(digest as `0x${string}`);
    return { leaf, proof: getProof(this.tree(batch), leaf) };
  }
}
