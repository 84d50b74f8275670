import { SdkError } from "../errors.ts";
import { bytesToHex, toBytes, type Hex } from "../hex.ts";
import { nodeHash } from "./hash.ts";
import { leafIndexOf, nodeAt, type MerkleTree } from "./tree.ts";

/** OpenZeppelin multiproof (`MerkleProof.multiProofVerify` with a custom hasher). */
export type MultiProof = {
  leaves: Hex[];
  proof: Hex[];
  proofFlags: boolean[];
};

/** Multiproof of several leaves (leaf hashes), same algorithm and output as `@openzeppelin/merkle-tree`. */
export function getMultiProof(tree: MerkleTree, leaves: readonly (Uint8Array | Hex)[]): MultiProof {
  const indices = leaves.map((leaf) => leafIndexOf(tree, leaf)).sort((a, b) => b - a);
  for (let k = 1; k < indices.length; k++) {
    if (indices[k] === indices[k - 1]) {
      throw new SdkError("Cannot prove the same leaf twice in one multiproof.", { code: "MERKLE_INVALID_PROOF" });
    }
  }
  const stack = [...indices];
  const proof: Hex[] = [];
  const proofFlags: boolean[] = [];
  let head = 0;
  while (stack.length - head > 0 && stack[head]! > 0) {
    const j = stack[head++]!;
    const s = j % 2 === 1 ? j + 1 : j - 1;
    const p = (j - 1) >> 1;
    if (s === stack[head]) {
      proofFlags.push(true);
      head++;
    } else {
      proofFlags.push(false);
      proof.push(nodeAt(tree, s));
    }
    stack.push(p);
  }
  if (indices.length === 0) proof.push(nodeAt(tree, 0));
  return { leaves: indices.map((i) => nodeAt(tree, i)), proof, proofFlags };
}

/** Root reached by a multiproof; throws `MERKLE_INVALID_PROOF` on a malformed one. */
export function processMultiProof(multiproof: {
  leaves: readonly (Uint8Array | Hex)[];
  proof: readonly (Uint8Array | Hex)[];
  proofFlags: readonly boolean[];
}): Hex {
  const { leaves, proof, proofFlags } = multiproof;
  if (proof.length < proofFlags.filter((f) => !f).length || leaves.length + proof.length !== proofFlags.length + 1) {
    throw new SdkError("Malformed multiproof: leaves, proof and flags do not add up.", {
      code: "MERKLE_INVALID_PROOF",
    });
  }
  const stack: Hex[] = leaves.map((l) => bytesToHex(toBytes(l, 32)));
  const rest: Hex[] = proof.map((p) => bytesToHex(toBytes(p, 32)));
  let sh = 0;
  let ph = 0;
  for (const flag of proofFlags) {
    const a = stack[sh++];
    const b = flag ? stack[sh++] : rest[ph++];
    if (a === undefined || b === undefined) {
      throw new SdkError("Malformed multiproof: ran out of hashes.", { code: "MERKLE_INVALID_PROOF" });
    }
    stack.push(nodeHash(a, b));
  }
  const remaining = stack.length - sh + rest.length - ph;
  const root = sh < stack.length ? stack[stack.length - 1] : rest[ph];
  if (remaining !== 1 || root === undefined)
    throw new SdkError("Malformed multiproof: no root.", { code: "MERKLE_INVALID_PROOF" });
  return root;
}

/** True when the multiproof proves its leaves under `root`. */
export function verifyMultiProof(
  root: Uint8Array | Hex,
  multiproof: {
    leaves: readonly (Uint8Array | Hex)[];
    proof: readonly (Uint8Array | Hex)[];
    proofFlags: readonly boolean[];
  },
): boolean {
  try {
    return processMultiProof(multiproof) === bytesToHex(toBytes(root, 32));
  } catch (error) {
    if (error instanceof SdkError && (error.code === "MERKLE_INVALID_PROOF" || error.code === "INVALID_HEX"))
      return false;
    throw error;
  }
}
