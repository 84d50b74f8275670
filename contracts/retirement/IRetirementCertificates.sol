// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/**
 * @notice What a retiree says about a retirement. The certificate is minted to `beneficiary`
 * (the party the retirement is for), not to whoever paid or burned the credits.
 * @param beneficiary        receives the soulbound certificate; must not be zero
 * @param beneficiaryName    name of the beneficiary as printed on the certificate (≤ 64 bytes UTF-8)
 * @param reason             why the credits are retired (≤ 160 bytes UTF-8), e.g. "FY2026 scope 1 offset"
 * @param consumptionCountry ISO 3166-1 alpha-3 country of the emissions being offset, zero if none
 * @param consumptionStart   start of the consumption period offset (unix seconds), 0 if none
 * @param consumptionEnd     end of that period (unix seconds, exclusive), 0 if none
 */
struct RetirementDetails {
    address beneficiary;
    string beneficiaryName;
    string reason;
    bytes3 consumptionCountry;
    uint64 consumptionStart;
    uint64 consumptionEnd;
}

/// @notice The retirement entry the Marketplace uses.
interface IRetirementCertificates {
    /// @notice Retires `amount` of `tokenId` held by the caller (an escrow with ESCROW_ROLE, i.e. the
    /// Marketplace) on behalf of `retiree`, who is recorded as the retiree.
    function retireFromEscrow(address retiree, uint256 tokenId, uint256 amount, RetirementDetails calldata details)
        external
        returns (uint256 certificateId);
}
