// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC165} from "@openzeppelin/contracts/utils/introspection/IERC165.sol";
import {IERC721} from "@openzeppelin/contracts/token/ERC721/IERC721.sol";
import {IERC721Metadata} from "@openzeppelin/contracts/token/ERC721/extensions/IERC721Metadata.sol";
import {IERC721Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

import {ICarbonCredits} from "../credits/ICarbonCredits.sol";
import {IRetirementCertificates, RetirementDetails} from "./IRetirementCertificates.sol";
import {CertificateRenderer} from "./CertificateRenderer.sol";

/// @notice ERC-5192: minimal soulbound NFTs.
interface IERC5192 {
    event Locked(uint256 tokenId);
    event Unlocked(uint256 tokenId);

    function locked(uint256 tokenId) external view returns (bool);
}

/**
 * @title RetirementCertificates
 * @notice Soulbound ERC-721 (ERC-5192, always locked) retirement certificates, minted by
 * CarbonCredits when credits are burned. The certificate belongs to the beneficiary, not to the
 * retiree who paid or burned. Storage is compact (one slot, plus one per optional field and one per
 * short string); `tokenURI` renders JSON and an SVG image on-chain from it.
 *
 * Certificate ids are `creditTokenId << 64 | n` (the n-th retirement of that credit id), so the
 * credit id is part of the certificate id and is not stored again.
 */
contract RetirementCertificates is IERC721Metadata, IERC5192, IERC721Errors, IRetirementCertificates {
    using SafeCast for uint256;

    /// @notice Longest beneficiary name accepted, in bytes.
    uint256 public constant MAX_NAME_BYTES = 64;
    /// @notice Longest reason accepted, in bytes.
    uint256 public constant MAX_REASON_BYTES = 160;

    /// @notice The always-present part of a certificate (one slot).
    struct Record {
        address beneficiary; // the owner, forever
        uint56 amount; // kg CO2e retired
        uint40 retiredAt; // unix seconds
    }

    /// @notice Optional part, stored only when the retiree is not the beneficiary or a country is given.
    struct Party {
        address retiree;
        bytes3 consumptionCountry;
    }

    /// @notice Optional consumption period, stored only when given.
    struct Period {
        uint64 start;
        uint64 end;
    }

    /// @notice Everything a certificate records, as returned by {getCertificate}.
    struct Certificate {
        uint256 creditId;
        address beneficiary;
        address retiree;
        uint256 amount;
        uint256 retiredAt;
        string beneficiaryName;
        string reason;
        bytes3 consumptionCountry;
        uint64 consumptionStart;
        uint64 consumptionEnd;
    }

    /// @notice The credits contract: the only minter.
    ICarbonCredits public immutable credits;

    mapping(uint256 certificateId => Record) private _records;
    mapping(uint256 certificateId => Party) private _parties;
    mapping(uint256 certificateId => Period) private _periods;
    mapping(uint256 certificateId => string) private _names;
    mapping(uint256 certificateId => string) private _reasons;
    mapping(address owner => uint256) private _balances;

    /// @notice A certificate was minted (the full record, for indexers).
    event CertificateMinted(
        uint256 indexed certificateId,
        uint256 indexed creditId,
        address indexed beneficiary,
        address retiree,
        uint256 amount,
        string beneficiaryName,
        string reason,
        bytes3 consumptionCountry,
        uint64 consumptionStart,
        uint64 consumptionEnd
    );

    error RetirementCertificatesSoulbound();
    error RetirementCertificatesOnlyCredits(address caller);
    error RetirementCertificatesTextTooLong(uint256 length, uint256 maxLength);
    error RetirementCertificatesInvalidPeriod(uint64 start, uint64 end);
    error RetirementCertificatesAlreadyMinted(uint256 certificateId);

    constructor(ICarbonCredits credits_) {
        credits = credits_;
    }

    /// @inheritdoc IRetirementCertificates
    function mintCertificate(
        uint256 certificateId,
        address retiree,
        uint256 creditId,
        uint256 amount,
        RetirementDetails calldata d
    ) external {
        if (msg.sender != address(credits)) revert RetirementCertificatesOnlyCredits(msg.sender);
        address beneficiary = d.beneficiary;
        if (beneficiary == address(0)) revert ERC721InvalidReceiver(address(0));
        if (bytes(d.beneficiaryName).length > MAX_NAME_BYTES) {
            revert RetirementCertificatesTextTooLong(bytes(d.beneficiaryName).length, MAX_NAME_BYTES);
        }
        if (bytes(d.reason).length > MAX_REASON_BYTES) {
            revert RetirementCertificatesTextTooLong(bytes(d.reason).length, MAX_REASON_BYTES);
        }
        if (d.consumptionEnd < d.consumptionStart) {
            revert RetirementCertificatesInvalidPeriod(d.consumptionStart, d.consumptionEnd);
        }
        Record storage r = _records[certificateId];
        if (r.beneficiary != address(0)) revert RetirementCertificatesAlreadyMinted(certificateId);

        _records[certificateId] = Record(beneficiary, amount.toUint56(), uint40(block.timestamp));
        if (retiree != beneficiary || d.consumptionCountry != 0) {
            _parties[certificateId] = Party(retiree, d.consumptionCountry);
        }
        if (d.consumptionEnd != 0) _periods[certificateId] = Period(d.consumptionStart, d.consumptionEnd);
        if (bytes(d.beneficiaryName).length != 0) _names[certificateId] = d.beneficiaryName;
        if (bytes(d.reason).length != 0) _reasons[certificateId] = d.reason;
        unchecked {
            ++_balances[beneficiary]; // < number of certificates
        }

        emit Transfer(address(0), beneficiary, certificateId);
        emit Locked(certificateId);
        emit CertificateMinted(
            certificateId,
            creditId,
            beneficiary,
            retiree,
            amount,
            d.beneficiaryName,
            d.reason,
            d.consumptionCountry,
            d.consumptionStart,
            d.consumptionEnd
        );
    }

    /// @notice The full record of certificate `certificateId` (reverts if it does not exist).
    function getCertificate(uint256 certificateId) public view returns (Certificate memory c) {
        Record memory r = _records[certificateId];
        if (r.beneficiary == address(0)) revert ERC721NonexistentToken(certificateId);
        Party memory party = _parties[certificateId];
        Period memory period = _periods[certificateId];
        c.creditId = certificateId >> 64;
        c.beneficiary = r.beneficiary;
        c.retiree = party.retiree == address(0) ? r.beneficiary : party.retiree;
        c.amount = r.amount;
        c.retiredAt = r.retiredAt;
        c.beneficiaryName = _names[certificateId];
        c.reason = _reasons[certificateId];
        c.consumptionCountry = party.consumptionCountry;
        c.consumptionStart = period.start;
        c.consumptionEnd = period.end;
    }

    // ------------------------------------------------------------------ ERC-721 metadata

    /// @notice "CarbonProof Retirement Certificate".
    function name() external pure returns (string memory) {
        return "CarbonProof Retirement Certificate";
    }

    /// @notice "CPRC".
    function symbol() external pure returns (string memory) {
        return "CPRC";
    }

    /// @notice The certificate as `data:application/json;base64,…` with an SVG image, rendered on-chain.
    function tokenURI(uint256 certificateId) external view returns (string memory) {
        Certificate memory c = getCertificate(certificateId);
        CertificateRenderer.View memory v;
        v.certificateId = certificateId;
        v.creditId = c.creditId;
        (v.projectId, v.vintage, v.facilityId, v.methodologyId, v.projectName) = credits.creditInfo(c.creditId);
        v.beneficiary = c.beneficiary;
        v.retiree = c.retiree;
        v.amountKg = c.amount;
        v.retiredAt = c.retiredAt;
        v.beneficiaryName = c.beneficiaryName;
        v.reason = c.reason;
        v.consumptionCountry = c.consumptionCountry;
        v.consumptionStart = c.consumptionStart;
        v.consumptionEnd = c.consumptionEnd;
        v.explorerBaseUrl = credits.explorerBaseUrl();
        return CertificateRenderer.tokenURI(v);
    }

    // ------------------------------------------------------------------ ERC-721 (soulbound)

    /// @inheritdoc IERC721
    function balanceOf(address owner) external view returns (uint256) {
        if (owner == address(0)) revert ERC721InvalidOwner(address(0));
        return _balances[owner];
    }

    /// @inheritdoc IERC721
    function ownerOf(uint256 certificateId) public view returns (address owner) {
        owner = _records[certificateId].beneficiary;
        if (owner == address(0)) revert ERC721NonexistentToken(certificateId);
    }

    /// @notice Always true for an existing certificate (ERC-5192).
    function locked(uint256 certificateId) external view returns (bool) {
        ownerOf(certificateId);
        return true;
    }

    /// @notice Always zero: certificates cannot be approved.
    function getApproved(uint256 certificateId) external view returns (address) {
        ownerOf(certificateId);
        return address(0);
    }

    /// @notice Always false: certificates cannot be approved.
    function isApprovedForAll(address, address) external pure returns (bool) {
        return false;
    }

    /// @notice Reverts: certificates are soulbound.
    function approve(address, uint256) external pure {
        revert RetirementCertificatesSoulbound();
    }

    /// @notice Reverts: certificates are soulbound.
    function setApprovalForAll(address, bool) external pure {
        revert RetirementCertificatesSoulbound();
    }

    /// @notice Reverts: certificates are soulbound.
    function transferFrom(address, address, uint256) external pure {
        revert RetirementCertificatesSoulbound();
    }

    /// @notice Reverts: certificates are soulbound.
    function safeTransferFrom(address, address, uint256) external pure {
        revert RetirementCertificatesSoulbound();
    }

    /// @notice Reverts: certificates are soulbound.
    function safeTransferFrom(address, address, uint256, bytes calldata) external pure {
        revert RetirementCertificatesSoulbound();
    }

    /// @inheritdoc IERC165
    function supportsInterface(bytes4 interfaceId) external pure returns (bool) {
        return interfaceId == type(IERC165).interfaceId || interfaceId == type(IERC721).interfaceId
            || interfaceId == type(IERC721Metadata).interfaceId || interfaceId == type(IERC5192).interfaceId;
    }
}
