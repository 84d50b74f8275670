import { buildMerkleTree, getProof, leafHash, type MerkleTree } from "../../../sdk/src/index.ts";
import type { Storage } from "../storage/types.ts";

/**
 * Merkle trees of sealed batches, rebuilt from storage on demand (sdk `buildMerkleTree` over
 * the reading digests) and kept for the most recently asked batches.
 */
export class ProofService {
  readonly #storage: Storage;
  readonly #cache = new Map<number, MerkleTree>();
  readonly #max: number;
  constructor(storage: Storage, max = 32) {
    this.#storage = storage;
    this.#max = max;
  }
  tree(batchId: number): MerkleTree {
    let t = this.#cache.get(batchId);
    if (t) {
      this.#cache.delete(batchId);
      this.#cache.set(batchId, t);
      return t;
    }
    const digests = this.#storage.readingsOfBatch(batchId).map((r) => r.digest as `0x${string}`);
    t = buildMerkleTree(digests);
    this.#cache.set(batchId, t);
    if (this.#cache.size > this.#max) this.#cache.delete(this.#cache.keys().next().value!);
    return t;
  }
  /** Leaf (SHA-256(0x00 ‖ digest)) and its proof in the batch's tree. */
  proof(batchId: number, digest: string): { leaf: string; proof: string[] } {
    const leaf = leafHash(digest as `0x${string}`);
    return { leaf, proof: getProof(this.tree(batchId), leaf) };
  }
}
