// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

// JSON and SVG literals are full of double quotes: single-quoted Solidity strings keep them
// readable where escaped double-quoted ones would not.
// solhint-disable quotes

import {Base64} from "@openzeppelin/contracts/utils/Base64.sol";
import {Strings} from "@openzeppelin/contracts/utils/Strings.sol";

import {TextEscape} from "../retirement/TextEscape.sol";

/**
 * @title CreditMetadata
 * @notice Renders the ERC-1155 metadata JSON of a CarbonCredits token id. A separate contract (the
 * credits contract deploys it in its constructor) only to keep CarbonCredits under the 24 KiB
 * code-size limit; it is pure and holds nothing.
 */
contract CreditMetadata {
    using Strings for uint256;

    /// @notice Everything the metadata shows.
    struct View {
        uint256 tokenId;
        uint40 projectId;
        uint16 vintage;
        bytes32 facilityId;
        bytes32 methodologyId;
        string projectName;
        string standard;
        string baselineCid;
        uint256 issuedKg;
        uint256 retiredKg;
        string explorerBaseUrl;
    }

    /// @notice `data:application/json;base64,…` of the metadata of one credit token id.
    function uri(View calldata v) external pure returns (string memory) {
        string memory json = string.concat(_head(v), _tail(v));
        return string.concat("data:application/json;base64,", Base64.encode(bytes(json)));
    }

    function _head(View calldata v) private pure returns (string memory) {
        string memory vintage = uint256(v.vintage).toString();
        return string.concat(
            '{"name":"',
            TextEscape.json(v.projectName),
            " ",
            vintage,
            '","description":"CarbonProof credits: 1 unit = 1 kg CO2e reduced, issued against attested sensor readings.","decimals":0,"properties":{"projectId":',
            uint256(v.projectId).toString(),
            ',"vintage":',
            vintage,
            ',"facilityId":"',
            TextEscape.json(TextEscape.idString(v.facilityId)),
            '","methodologyId":"',
            uint256(v.methodologyId).toHexString(32)
        );
    }

    function _tail(View calldata v) private pure returns (string memory) {
        return string.concat(
            '","standard":"',
            TextEscape.json(v.standard),
            '","baselineCid":"',
            TextEscape.json(v.baselineCid),
            '","issuedKg":',
            v.issuedKg.toString(),
            ',"retiredKg":',
            v.retiredKg.toString(),
            ',"attestations":"',
            TextEscape.json(v.explorerBaseUrl),
            "/credits/",
            v.tokenId.toString(),
            '"}}'
        );
    }
}
