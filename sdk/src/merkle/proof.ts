import { SdkError } from "../errors.ts";
import { bytesToHex, toBytes, type Hex } from "../hex.ts";
import { nodeHash } from "./hash.ts";
import { leafIndexOf, nodeAt, type MerkleTree } from "./tree.ts";

/**
 * Inclusion proof of `leaf` (the leaf hash, not the reading digest): sibling hashes
 * from the leaf up, as OpenZeppelin `MerkleProof.verify(proof, root, leaf, hasher)`
 * and `AttestationRegistry.verifyReading` expect.
 */
export function getProof(tree: MerkleTree, leaf: Uint8Array | Hex): Hex[] {
  let i = leafIndexOf(tree, leaf);
  const proof: Hex[] = [];
  while (i > 0) {
    const sibling = i % 2 === 1 ? i + 1 : i - 1;
    proof.push(nodeAt(tree, sibling));
    i = (i - 1) >> 1;
  }
  return proof;
}

/** Root reached from `leaf` and `proof`. */
export function processProof(leaf: Uint8Array | Hex, proof: readonly (Uint8Array | Hex)[]): Hex {
  let acc: Hex = bytesToHex(toBytes(leaf, 32));
  for (const p of proof) acc = nodeHash(acc, p);
  return acc;
}

/** True when `proof` proves `leaf` under `root`. Never throws on a wrong proof. */
export function verifyProof(
  root: Uint8Array | Hex,
  leaf: Uint8Array | Hex,
  proof: readonly (Uint8Array | Hex)[],
): boolean {
  try {
    return processProof(leaf, proof) === bytesToHex(toBytes(root, 32));
  } catch (error) {
    if (error instanceof SdkError && error.code === "INVALID_HEX") return false;
    throw error;
  }
}
