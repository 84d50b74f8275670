// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC165} from "@openzeppelin/contracts/utils/introspection/IERC165.sol";
import {IERC721} from "@openzeppelin/contracts/token/ERC721/IERC721.sol";
import {IERC721Metadata} from "@openzeppelin/contracts/token/ERC721/extensions/IERC721Metadata.sol";
import {IERC721Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC1155Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";

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
 * @notice The retirement desk: `retire` burns CarbonCredits (this contract is the only account that
 * can) and mints a soulbound ERC-721 certificate (ERC-5192, always locked) to the beneficiary, not
 * to the retiree who paid or burned. Storage is compact (one slot, plus one per optional field and one per
 * short string); `tokenURI` renders JSON and an SVG image on-chain from it.
 *
 * Certificate ids are `creditTokenId << 64 | n` (the n-th retirement of that credit id), so the
 * credit id is part of the certificate id and is not stored again.
 */
contract RetirementCertificates is
    AccessControl,
    IERC721Metadata,
    IERC5192,
    IERC721Errors,
    IERC1155Errors,
    IRetirementCertificates
{
    using SafeCast for uint256;

    /// @notice An escrow (the Marketplace) that retires credits it holds on behalf of a buyer.
    bytes32 public constant ESCROW_ROLE = keccak256("ESCROW_ROLE");

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

    /// @notice The credits this desk retires.
    ICarbonCredits public immutable credits;

    mapping(uint256 certificateId => Record) private _records;
    mapping(uint256 certificateId => Party) private _parties;
    mapping(uint256 certificateId => Period) private _periods;
    mapping(uint256 certificateId => string) private _names;
    mapping(uint256 certificateId => string) private _reasons;
    mapping(address owner => uint256) private _balances;

    /// @notice Credits were retired and certificate `certificateId` minted (the full record, for indexers).
    event Retired(
        uint256 indexed certificateId,
        uint256 indexed creditId,
        address indexed beneficiary,
        address retiree,
        address holder,
        uint256 amount,
        string beneficiaryName,
        string reason,
        bytes3 consumptionCountry,
        uint64 consumptionStart,
        uint64 consumptionEnd
    );

    error RetirementCertificatesSoulbound();
    error RetirementCertificatesZeroAmount();
    error RetirementCertificatesLengthMismatch(uint256 ids, uint256 amounts);
    error RetirementCertificatesTextTooLong(uint256 length, uint256 maxLength);
    error RetirementCertificatesInvalidPeriod(uint64 start, uint64 end);
    error RetirementCertificatesAlreadyMinted(uint256 certificateId);

    /**
     * @param credits_ the CarbonCredits contract (which must name this contract its certificates)
     * @param admin    DEFAULT_ADMIN_ROLE holder (grants ESCROW_ROLE to the Marketplace)
     */
    constructor(ICarbonCredits credits_, address admin) {
        credits = credits_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    // ------------------------------------------------------------------ retiring

    /**
     * @notice Retires (burns) `amount` kg of credit `tokenId` held by the caller and mints a
     * certificate to `details.beneficiary`; the caller is recorded as the retiree.
     * @return certificateId `tokenId << 64 | n`, the n-th retirement of `tokenId`
     */
    function retire(uint256 tokenId, uint256 amount, RetirementDetails calldata details)
        external
        returns (uint256 certificateId)
    {
        return _retire(msg.sender, msg.sender, tokenId, amount, details);
    }

    /// @notice Retires credits of `holder`, by `holder` or an ERC-1155 operator `holder` approved on
    /// CarbonCredits; `holder` is recorded as the retiree.
    function retireFrom(address holder, uint256 tokenId, uint256 amount, RetirementDetails calldata details)
        external
        returns (uint256 certificateId)
    {
        if (holder != msg.sender && !credits.isApprovedForAll(holder, msg.sender)) {
            revert ERC1155MissingApprovalForAll(msg.sender, holder);
        }
        return _retire(holder, holder, tokenId, amount, details);
    }

    /// @notice Retires several credit ids of the caller in one call: one certificate per id, same details.
    function retireBatch(uint256[] calldata tokenIds, uint256[] calldata amounts, RetirementDetails calldata details)
        external
        returns (uint256[] memory certificateIds)
    {
        if (tokenIds.length != amounts.length) {
            revert RetirementCertificatesLengthMismatch(tokenIds.length, amounts.length);
        }
        certificateIds = new uint256[](tokenIds.length);
        for (uint256 i; i < tokenIds.length; ++i) {
            certificateIds[i] = _retire(msg.sender, msg.sender, tokenIds[i], amounts[i], details);
        }
    }

    /// @inheritdoc IRetirementCertificates
    function retireFromEscrow(address retiree, uint256 tokenId, uint256 amount, RetirementDetails calldata details)
        external
        onlyRole(ESCROW_ROLE)
        returns (uint256 certificateId)
    {
        return _retire(msg.sender, retiree, tokenId, amount, details);
    }

    function _retire(
        address holder,
        address retiree,
        uint256 creditId,
        uint256 amount,
        RetirementDetails calldata d
    ) private returns (uint256 certificateId) {
        if (amount == 0) revert RetirementCertificatesZeroAmount();
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
        certificateId = credits.burnForRetirement(holder, creditId, amount);
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
        emit Retired(
            certificateId,
            creditId,
            beneficiary,
            retiree,
            holder,
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
    function supportsInterface(bytes4 interfaceId) public view override(AccessControl, IERC165) returns (bool) {
        return interfaceId == type(IERC721).interfaceId || interfaceId == type(IERC721Metadata).interfaceId
            || interfaceId == type(IERC5192).interfaceId || super.supportsInterface(interfaceId);
    }
}
