// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

// JSON and SVG literals are full of double quotes: single-quoted Solidity strings keep them
// readable where escaped double-quoted ones would not.
// solhint-disable quotes

/**
 * @title TextEscape
 * @notice Makes user-supplied strings safe inside the on-chain JSON and SVG documents
 * (certificate `tokenURI`, credit `uri`): a beneficiary name such as `Acme "<b>"` must neither end
 * a JSON string nor open an SVG element.
 */
library TextEscape {
    bytes16 private constant HEX = "0123456789abcdef";

    /// @notice JSON string escaping (RFC 8259): `"` and `\` are backslash-escaped, control characters
    /// become `\u00XX`. Other bytes (UTF-8 included) pass through.
    function json(string memory s) internal pure returns (string memory) {
        bytes memory b = bytes(s);
        uint256 extra;
        for (uint256 i; i < b.length; ++i) {
            bytes1 c = b[i];
            if (c == '"' || c == "\\") extra += 1;
            else if (uint8(c) < 0x20) extra += 5;
        }
        if (extra == 0) return s;
        bytes memory out = new bytes(b.length + extra);
        uint256 j;
        for (uint256 i; i < b.length; ++i) {
            bytes1 c = b[i];
            if (c == '"' || c == "\\") {
                out[j++] = "\\";
                out[j++] = c;
            } else if (uint8(c) < 0x20) {
                out[j++] = "\\";
                out[j++] = "u";
                out[j++] = "0";
                out[j++] = "0";
                out[j++] = HEX[uint8(c) >> 4];
                out[j++] = HEX[uint8(c) & 0x0f];
            } else {
                out[j++] = c;
            }
        }
        return string(out);
    }

    /// @notice XML text escaping for SVG: `&`, `<`, `>`, `"`, `'` become entities; control
    /// characters other than tab, LF and CR (not allowed in XML 1.0) become `?`.
    function xml(string memory s) internal pure returns (string memory) {
        bytes memory b = bytes(s);
        uint256 extra;
        for (uint256 i; i < b.length; ++i) {
            bytes1 c = b[i];
            if (c == "&") extra += 4;
            else if (c == "<" || c == ">") extra += 3;
            else if (c == '"' || c == "'") extra += 5;
        }
        bytes memory out = new bytes(b.length + extra);
        uint256 j;
        for (uint256 i; i < b.length; ++i) {
            bytes1 c = b[i];
            if (c == "&") j = _put(out, j, "&amp;");
            else if (c == "<") j = _put(out, j, "&lt;");
            else if (c == ">") j = _put(out, j, "&gt;");
            else if (c == '"') j = _put(out, j, "&quot;");
            else if (c == "'") j = _put(out, j, "&#39;");
            else if (uint8(c) < 0x20 && c != 0x09 && c != 0x0a && c != 0x0d) out[j++] = "?";
            else out[j++] = c;
        }
        return string(out);
    }

    /// @notice The ASCII id inside a right-zero-padded bytes32 (docs/protocol.md "Identifiers").
    function idString(bytes32 id) internal pure returns (string memory) {
        uint256 len;
        while (len < 32 && id[len] != 0) ++len;
        bytes memory out = new bytes(len);
        for (uint256 i; i < len; ++i) out[i] = id[i];
        return string(out);
    }

    function _put(bytes memory out, uint256 j, bytes memory entity) private pure returns (uint256) {
        for (uint256 k; k < entity.length; ++k) out[j++] = entity[k];
        return j;
    }
}
