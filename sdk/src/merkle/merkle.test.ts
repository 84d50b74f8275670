import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { test } from "node:test";
import { SimpleMerkleTree } from "@openzeppelin/merkle-tree";
import { sha256 } from "@noble/hashes/sha2.js";
import fc from "fast-check";
import { bytesToHex, hexToBytes, type Hex } from "../hex.ts";
import {
  buildMerkleTree,
  buildMerkleTreeFromLeaves,
  getMultiProof,
  getProof,
  leafHash,
  leavesOf,
  nodeHash,
  processMultiProof,
  verifyMultiProof,
  verifyProof,
} from "./index.ts";
import { sha256Prefixed32, sha256Prefixed64 } from "./sha256.ts";

const digestArb = fc.uint8Array({ minLength: 32, maxLength: 32 });

test("specialised SHA-256 equals @noble/hashes for 33- and 65-byte messages", () => {
  fc.assert(
    fc.property(fc.nat({ max: 255 }), digestArb, digestArb, (prefix, a, b) => {
      const out = new Uint8Array(32);
      sha256Prefixed32(prefix, a, 0, out, 0);
      assert.deepEqual(out, sha256(Uint8Array.of(prefix, ...a)));
      sha256Prefixed64(prefix, a, 0, b, 0, out, 0);
      assert.deepEqual(out, sha256(Uint8Array.of(prefix, ...a, ...b)));
    }),
  );
});

test("leaf and node hashes follow docs/protocol.md (node:crypto as the reference)", () => {
  const d = randomBytes(32);
  assert.equal(
    leafHash(d),
    `0x${createHash("sha256")
      .update(Buffer.concat([Buffer.of(0), d]))
      .digest("hex")}`,
  );
  const a = randomBytes(32);
  const b = randomBytes(32);
  const [lo, hi] = Buffer.compare(a, b) <= 0 ? [a, b] : [b, a];
  const expected = `0x${createHash("sha256")
    .update(Buffer.concat([Buffer.of(1), lo, hi]))
    .digest("hex")}`;
  assert.equal(nodeHash(a, b), expected);
  assert.equal(nodeHash(b, a), expected);
});

function ozTree(leaves: Hex[]) {
  return SimpleMerkleTree.of(leaves, { nodeHash });
}

test("root, tree and proofs equal OpenZeppelin SimpleMerkleTree with the custom nodeHash", () => {
  fc.assert(
    fc.property(fc.array(digestArb, { minLength: 1, maxLength: 70 }), (digests) => {
      const ours = buildMerkleTree(digests);
      const leaves = digests.map((d) => leafHash(d));
      const oz = ozTree(leaves);
      assert.equal(ours.root, oz.root);
      assert.deepEqual(
        oz.dump().tree,
        Array.from({ length: 2 * leaves.length - 1 }, (_, i) => bytesToHex(ours.nodes, 32 * i, 32)),
      );
      for (const leaf of leaves) {
        assert.deepEqual(getProof(ours, leaf), oz.getProof(leaf));
        assert.equal(verifyProof(ours.root, leaf, getProof(ours, leaf)), true);
        assert.equal(SimpleMerkleTree.verify(ours.root, leaf, getProof(ours, leaf), nodeHash), true);
      }
    }),
    { numRuns: 60 },
  );
});

test("one leaf: the root is that leaf and the proof is empty", () => {
  const d = randomBytes(32);
  const tree = buildMerkleTree([d]);
  assert.equal(tree.root, leafHash(d));
  assert.deepEqual(getProof(tree, tree.root), []);
});

test("an empty batch has no tree", () => {
  assert.throws(() => buildMerkleTree([]), { code: "MERKLE_EMPTY" });
});

test("proofs fail for any flipped bit in leaf, proof or root", () => {
  fc.assert(
    fc.property(
      fc.array(digestArb, { minLength: 2, maxLength: 40 }),
      fc.nat(),
      fc.nat({ max: 255 }),
      fc.nat({ max: 7 }),
      fc.constantFrom("leaf", "proof", "root"),
      (digests, pick, byte, bit, where) => {
        const tree = buildMerkleTree(digests);
        const leaves = leavesOf(tree);
        const leaf = leaves[pick % leaves.length]!;
        const proof = getProof(tree, leaf);
        const flip = (h: Hex) => {
          const b = hexToBytes(h);
          b[byte % 32]! ^= 1 << bit;
          return bytesToHex(b);
        };
        if (where === "leaf") assert.equal(verifyProof(tree.root, flip(leaf), proof), false);
        if (where === "root") assert.equal(verifyProof(flip(tree.root), leaf, proof), false);
        if (where === "proof") {
          const i = pick % proof.length;
          const bad = proof.map((p, k) => (k === i ? flip(p) : p));
          assert.equal(verifyProof(tree.root, leaf, bad), false);
        }
      },
    ),
    { numRuns: 200 },
  );
});

test("multiproofs equal OpenZeppelin and verify; a tampered one fails", () => {
  fc.assert(
    fc.property(
      fc.array(digestArb, { minLength: 1, maxLength: 40 }),
      fc.array(fc.nat(), { maxLength: 10 }),
      (digests, picks) => {
        const leaves = digests.map((d) => leafHash(d));
        const ours = buildMerkleTreeFromLeaves(leaves);
        const oz = ozTree(leaves);
        const unique = [...new Set(picks.map((p) => leaves[p % leaves.length]!))];
        const mp = getMultiProof(ours, unique);
        const ozmp = oz.getMultiProof(unique);
        assert.deepEqual(mp, { leaves: ozmp.leaves, proof: ozmp.proof, proofFlags: ozmp.proofFlags });
        assert.equal(processMultiProof(mp), ours.root);
        assert.equal(verifyMultiProof(ours.root, mp), true);
        if (mp.proof.length > 0) {
          const bad = { ...mp, proof: [bytesToHex(new Uint8Array(32)), ...mp.proof.slice(1)] };
          assert.equal(verifyMultiProof(ours.root, bad), mp.proof[0] === bytesToHex(new Uint8Array(32)));
        }
      },
    ),
    { numRuns: 100 },
  );
});

test("a leaf not in the tree has no proof", () => {
  const tree = buildMerkleTree([randomBytes(32), randomBytes(32)]);
  assert.throws(() => getProof(tree, randomBytes(32)), { code: "MERKLE_LEAF_NOT_FOUND" });
});

test("duplicate leaves and shared 64-bit prefixes sort like OpenZeppelin", () => {
  const a = new Uint8Array(32).fill(7);
  const b = Uint8Array.from(a);
  b[31] = 9;
  const c = Uint8Array.from(a);
  c[31] = 1;
  const leaves = [a, b, a, c, b].map((x) => bytesToHex(x));
  assert.equal(buildMerkleTreeFromLeaves(leaves).root, ozTree(leaves).root);
  assert.deepEqual(leavesOf(buildMerkleTreeFromLeaves(leaves)), [...leaves].sort());
});
