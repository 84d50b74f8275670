// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/**
 * @title Ids
 * @notice Facility and device identifiers as docs/protocol.md defines them: 1–32 ASCII
 * characters of `[a-z0-9][a-z0-9._-]*`, right-padded with zero bytes into a `bytes32`.
 * Checking the shape on-chain keeps every id reversible to its string from chain data alone.
 */
library Ids {
    /// @notice True when `id` is a well-formed protocol id (non-empty, allowed characters,
    /// first character a letter or digit, zero padding only after the last character).
    function isValid(bytes32 id) internal pure returns (bool) {
        if (id == bytes32(0)) return false;
        bool ended;
        for (uint256 i = 0; i < 32; ++i) {
            bytes1 c = id[i];
            if (c == 0) {
                ended = true;
                continue;
            }
            if (ended) return false; // a non-zero byte after the padding started
            bool alnum = (c >= "a" && c <= "z") || (c >= "0" && c <= "9");
            if (i == 0) {
                if (!alnum) return false;
            } else if (!alnum && c != "." && c != "_" && c != "-") {
                return false;
            }
        }
        return true;
    }
}
