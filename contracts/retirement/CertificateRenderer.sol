// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

// JSON and SVG literals are full of double quotes: single-quoted Solidity strings keep them
// readable where escaped double-quoted ones would not.
// solhint-disable quotes

import {Base64} from "@openzeppelin/contracts/utils/Base64.sol";
import {Strings} from "@openzeppelin/contracts/utils/Strings.sol";

import {UtcDate} from "../credits/UtcDate.sol";
import {TextEscape} from "./TextEscape.sol";

/**
 * @title CertificateRenderer
 * @notice Renders a retirement certificate as ERC-721 metadata JSON with an SVG image, both
 * base64 data URIs, from the compact record. Pure: everything comes in through {View}.
 */
library CertificateRenderer {
    using Strings for uint256;
    using Strings for address;

    /// @notice Everything the rendering shows.
    struct View {
        uint256 certificateId;
        uint256 creditId;
        uint40 projectId;
        uint16 vintage;
        bytes32 facilityId;
        bytes32 methodologyId;
        string projectName;
        address beneficiary;
        address retiree;
        uint256 amountKg;
        uint256 retiredAt;
        string beneficiaryName;
        string reason;
        bytes3 consumptionCountry;
        uint64 consumptionStart;
        uint64 consumptionEnd;
        string explorerBaseUrl;
    }

    /// @notice `data:application/json;base64,…` of the certificate metadata.
    function tokenURI(View memory v) internal pure returns (string memory) {
        return string.concat("data:application/json;base64,", Base64.encode(bytes(json(v))));
    }

    /// @notice The metadata JSON (keys documented in docs/credits.md).
    function json(View memory v) internal pure returns (string memory) {
        return string.concat(_jsonHead(v), _jsonCredit(v), _jsonParties(v), _jsonConsumption(v));
    }

    function _jsonHead(View memory v) private pure returns (string memory) {
        string memory s = string.concat(
            '{"name":"CarbonProof Retirement Certificate #',
            v.certificateId.toString(),
            '","description":"',
            tonnes(v.amountKg),
            " t CO2e retired for ",
            TextEscape.json(_displayName(v)),
            '. The credits were burned; this certificate cannot be transferred.","image":"data:image/svg+xml;base64,',
            Base64.encode(bytes(svg(v)))
        );
        return string.concat(
            s,
            '","attributes":[{"trait_type":"Amount (kg CO2e)","display_type":"number","value":',
            v.amountKg.toString(),
            '},{"trait_type":"Vintage","value":"',
            uint256(v.vintage).toString(),
            '"},{"trait_type":"Project","value":"',
            TextEscape.json(v.projectName),
            '"}],'
        );
    }

    function _jsonCredit(View memory v) private pure returns (string memory) {
        return string.concat(
            '"certificate":{"id":"',
            v.certificateId.toString(),
            '","creditId":"',
            v.creditId.toString(),
            '","projectId":',
            uint256(v.projectId).toString(),
            ',"vintage":',
            uint256(v.vintage).toString(),
            ',"facilityId":"',
            TextEscape.json(TextEscape.idString(v.facilityId)),
            '","methodologyId":"',
            uint256(v.methodologyId).toHexString(32),
            '","amountKg":',
            v.amountKg.toString()
        );
    }

    function _jsonParties(View memory v) private pure returns (string memory) {
        return string.concat(
            ',"beneficiary":"',
            v.beneficiary.toChecksumHexString(),
            '","beneficiaryName":"',
            TextEscape.json(v.beneficiaryName),
            '","retiree":"',
            v.retiree.toChecksumHexString(),
            '","reason":"',
            TextEscape.json(v.reason),
            '","retiredAt":',
            v.retiredAt.toString(),
            ',"retiredOn":"',
            date(v.retiredAt),
            '"'
        );
    }

    function _jsonConsumption(View memory v) private pure returns (string memory) {
        bool hasPeriod = v.consumptionEnd != 0;
        return string.concat(
            ',"consumptionCountry":',
            v.consumptionCountry == 0 ? "null" : string.concat('"', TextEscape.json(_country(v.consumptionCountry)), '"'),
            ',"consumptionStart":',
            hasPeriod ? uint256(v.consumptionStart).toString() : "null",
            ',"consumptionEnd":',
            hasPeriod ? uint256(v.consumptionEnd).toString() : "null",
            ',"attestations":"',
            TextEscape.json(v.explorerBaseUrl),
            "/credits/",
            v.creditId.toString(),
            '"}}'
        );
    }

    /// @notice The SVG image of the certificate.
    function svg(View memory v) internal pure returns (string memory) {
        return string.concat(_svgTop(v), _svgMiddle(v), _svgBottom(v));
    }

    function _svgTop(View memory v) private pure returns (string memory) {
        return string.concat(
            '<svg xmlns="http://www.w3.org/2000/svg" width="600" height="400" viewBox="0 0 600 400" font-family="sans-serif">',
            '<rect width="600" height="400" rx="18" fill="#f4f8f1" stroke="#2e6b3a" stroke-width="6"/>',
            '<text x="300" y="58" text-anchor="middle" font-size="26" fill="#2e6b3a">Retirement Certificate</text>',
            '<text x="300" y="118" text-anchor="middle" font-size="40" font-weight="bold" fill="#163d20">',
            tonnes(v.amountKg),
            " t CO2e</text>",
            '<text x="300" y="146" text-anchor="middle" font-size="14" fill="#444">',
            v.amountKg.toString(),
            " kg retired on ",
            date(v.retiredAt),
            "</text>"
        );
    }

    function _svgMiddle(View memory v) private pure returns (string memory) {
        string memory s = string.concat(
            '<text x="40" y="200" font-size="15" fill="#222">For: ',
            TextEscape.xml(_displayName(v)),
            '</text><text x="40" y="226" font-size="11" fill="#555">',
            v.beneficiary.toChecksumHexString(),
            '</text><text x="40" y="258" font-size="15" fill="#222">Reason: ',
            TextEscape.xml(v.reason)
        );
        return string.concat(
            s,
            '</text><text x="40" y="290" font-size="15" fill="#222">Project: ',
            TextEscape.xml(v.projectName),
            " (",
            TextEscape.xml(TextEscape.idString(v.facilityId)),
            "), vintage ",
            uint256(v.vintage).toString(),
            "</text>"
        );
    }

    function _svgBottom(View memory v) private pure returns (string memory) {
        return string.concat(
            '<text x="40" y="322" font-size="13" fill="#444">',
            v.consumptionEnd == 0 && v.consumptionCountry == 0 ? "" : string.concat("Consumption: ", _consumption(v)),
            '</text><text x="40" y="366" font-size="10" fill="#777">Certificate ',
            v.certificateId.toString(),
            " - credit ",
            v.creditId.toString(),
            "</text></svg>"
        );
    }

    /// @notice `kg` as tonnes with three decimals ("1234" → "1.234").
    function tonnes(uint256 kg) internal pure returns (string memory) {
        uint256 frac = kg % 1000;
        return string.concat((kg / 1000).toString(), ".", frac < 100 ? (frac < 10 ? "00" : "0") : "", frac.toString());
    }

    /// @notice ISO 8601 date (UTC) of unix time `ts`.
    function date(uint256 ts) internal pure returns (string memory) {
        (uint256 y, uint256 m, uint256 d) = UtcDate.toDate(ts);
        return string.concat(y.toString(), "-", m < 10 ? "0" : "", m.toString(), "-", d < 10 ? "0" : "", d.toString());
    }

    function _displayName(View memory v) private pure returns (string memory) {
        return bytes(v.beneficiaryName).length != 0 ? v.beneficiaryName : v.beneficiary.toChecksumHexString();
    }

    function _consumption(View memory v) private pure returns (string memory) {
        string memory where = v.consumptionCountry == 0 ? "" : TextEscape.xml(_country(v.consumptionCountry));
        if (v.consumptionEnd == 0) return where;
        return string.concat(
            where, v.consumptionCountry == 0 ? "" : " ", date(v.consumptionStart), " to ", date(v.consumptionEnd)
        );
    }

    function _country(bytes3 c) private pure returns (string memory) {
        return TextEscape.idString(bytes32(c));
    }
}
