export { LEAF_PREFIX, NODE_PREFIX, leafHash, nodeHash } from "./hash.ts";
export { buildMerkleTree, buildMerkleTreeFromLeaves, leafIndexOf, leavesOf, nodeAt, type MerkleTree } from "./tree.ts";
export { getProof, processProof, verifyProof } from "./proof.ts";
export { getMultiProof, processMultiProof, verifyMultiProof, type MultiProof } from "./multiproof.ts";
