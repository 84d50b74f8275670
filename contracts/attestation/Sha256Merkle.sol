// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";

/**
 * @title Sha256Merkle
 * @notice The SHA-256 Merkle tree of docs/protocol.md, domain-separated:
 * leaf = SHA-256(0x00 ‖ readingDigest), inner node = SHA-256(0x01 ‖ min(a, b) ‖ max(a, b)).
 * Inner nodes are commutative, so proofs carry no direction bits and OpenZeppelin
 * {MerkleProof} does the walk with {nodeHash} as its hasher. Same tree shape as the
 * OpenZeppelin merkle-tree package's `SimpleMerkleTree` with that `nodeHash` (the sdk builds it).
 */
library Sha256Merkle {
    /// @notice The leaf of a reading: SHA-256(0x00 ‖ readingDigest).
    function leafHash(bytes32 readingDigest) internal view returns (bytes32 leaf) {
        assembly ("memory-safe") {
            // Scratch memory past the free pointer; never kept, so the pointer is not moved.
            let ptr := mload(0x40)
            mstore8(ptr, 0x00)
            mstore(add(ptr, 1), readingDigest)
            if iszero(staticcall(gas(), 0x02, ptr, 33, 0x00, 0x20)) {
                revert(0, 0)
            }
            leaf := mload(0x00)
        }
    }

    /// @notice An inner node: SHA-256(0x01 ‖ min(a, b) ‖ max(a, b)), byte-wise (= uint256) order.
    function nodeHash(bytes32 a, bytes32 b) internal view returns (bytes32 node) {
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            mstore8(ptr, 0x01)
            switch lt(a, b)
            case 1 {
                mstore(add(ptr, 1), a)
                mstore(add(ptr, 33), b)
            }
            default {
                mstore(add(ptr, 1), b)
                mstore(add(ptr, 33), a)
            }
            if iszero(staticcall(gas(), 0x02, ptr, 65, 0x00, 0x20)) {
                revert(0, 0)
            }
            node := mload(0x00)
        }
    }

    /// @notice True when `proof` (calldata) proves `leaf` under `root`.
    function verifyCalldata(bytes32[] calldata proof, bytes32 root, bytes32 leaf) internal view returns (bool) {
        return MerkleProof.verifyCalldata(proof, root, leaf, nodeHash);
    }

    /// @notice True when `proof` (memory) proves `leaf` under `root`.
    function verify(bytes32[] memory proof, bytes32 root, bytes32 leaf) internal view returns (bool) {
        return MerkleProof.verify(proof, root, leaf, nodeHash);
    }

    /// @notice The root rebuilt from `leaf` and `proof` (memory).
    function processProof(bytes32[] memory proof, bytes32 leaf) internal view returns (bytes32) {
        return MerkleProof.processProof(proof, leaf, nodeHash);
    }
}
