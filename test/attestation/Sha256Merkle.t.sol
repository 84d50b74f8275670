// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {TestBase} from "../Vm.sol";
import {Sha256Merkle} from "../../contracts/attestation/Sha256Merkle.sol";

/// @notice Fuzz tests of the SHA-256 Merkle library against a tree built here in the
/// OpenZeppelin SimpleMerkleTree layout (sorted leaves, node i has children 2i+1 and 2i+2).
contract Sha256MerkleTest is TestBase {
    function _leaves(uint256 seed, uint256 n) private pure returns (bytes32[] memory leaves) {
        leaves = new bytes32[](n);
        for (uint256 i = 0; i < n; ++i) leaves[i] = keccak256(abi.encode(seed, i));
        // insertion sort (the tree sorts its leaves)
        for (uint256 i = 1; i < n; ++i) {
            bytes32 v = leaves[i];
            uint256 j = i;
            while (j > 0 && leaves[j - 1] > v) {
                leaves[j] = leaves[j - 1];
                --j;
            }
            leaves[j] = v;
        }
    }

    function _tree(bytes32[] memory leaves) private view returns (bytes32[] memory tree) {
        uint256 n = leaves.length;
        tree = new bytes32[](2 * n - 1);
        for (uint256 k = 0; k < n; ++k) tree[tree.length - 1 - k] = leaves[k];
        for (uint256 i = n - 1; i > 0; --i) tree[i - 1] = Sha256Merkle.nodeHash(tree[2 * i - 1], tree[2 * i]);
    }

    function _proof(bytes32[] memory tree, uint256 index) private pure returns (bytes32[] memory proof) {
        uint256 depth;
        for (uint256 i = index; i > 0; i = (i - 1) / 2) ++depth;
        proof = new bytes32[](depth);
        uint256 d;
        for (uint256 i = index; i > 0; i = (i - 1) / 2) proof[d++] = tree[i % 2 == 1 ? i + 1 : i - 1];
    }

    function testFuzz_verify_acceptsEveryLeafOfATree(uint256 seed, uint256 size, uint256 pick) public view {
        uint256 n = bound(size, 1, 70);
        bytes32[] memory leaves = _leaves(seed, n);
        bytes32[] memory tree = _tree(leaves);
        uint256 k = bound(pick, 0, n - 1);
        uint256 index = tree.length - 1 - k;
        bytes32[] memory proof = _proof(tree, index);
        assertTrue(Sha256Merkle.verify(proof, tree[0], leaves[k]), "leaf not proven");
        assertEq(Sha256Merkle.processProof(proof, leaves[k]), tree[0], "root mismatch");
    }

    function testFuzz_verify_rejectsATamperedLeafOrSibling(uint256 seed, uint256 size, uint256 pick, uint256 flip) public view {
        uint256 n = bound(size, 2, 70);
        bytes32[] memory leaves = _leaves(seed, n);
        bytes32[] memory tree = _tree(leaves);
        uint256 k = bound(pick, 0, n - 1);
        bytes32[] memory proof = _proof(tree, tree.length - 1 - k);
        bytes32 mask = bytes32(uint256(1) << bound(flip, 0, 255));
        assertTrue(!Sha256Merkle.verify(proof, tree[0], leaves[k] ^ mask), "tampered leaf proven");
        uint256 position = bound(flip, 0, proof.length - 1);
        proof[position] ^= mask;
        assertTrue(!Sha256Merkle.verify(proof, tree[0], leaves[k]), "tampered proof accepted");
    }

    function testFuzz_nodeHash_isCommutativeAndDomainSeparated(bytes32 a, bytes32 b) public view {
        bytes32 ab = Sha256Merkle.nodeHash(a, b);
        assertEq(ab, Sha256Merkle.nodeHash(b, a), "not commutative");
        (bytes32 lo, bytes32 hi) = a < b ? (a, b) : (b, a);
        assertEq(ab, sha256(abi.encodePacked(bytes1(0x01), lo, hi)), "inner node is not sha256(0x01 || min || max)");
    }

    function testFuzz_leafHash_isSha256OfZeroPrefixedDigest(bytes32 digest) public view {
        assertEq(Sha256Merkle.leafHash(digest), sha256(abi.encodePacked(bytes1(0x00), digest)), "leaf is not sha256(0x00 || digest)");
    }

    function test_leafHash_differsFromNodeHashOfTheSameBytes() public view {
        bytes32 d = keccak256("reading");
        assertTrue(Sha256Merkle.leafHash(d) != sha256(abi.encodePacked(bytes1(0x01), d)), "no domain separation");
    }
}
