// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {RetirementDetails} from "../retirement/IRetirementCertificates.sol";

/// @notice The parts of CarbonCredits that the marketplace and the certificates use.
interface ICarbonCredits {
    /// @notice Project id, vintage year, facility, methodology and project name behind credit `tokenId`.
    function creditInfo(uint256 tokenId)
        external
        view
        returns (uint40 projectId, uint16 vintage, bytes32 facilityId, bytes32 methodologyId, string memory projectName);

    /// @notice Base URL of the explorer that lists a credit's attestations (no trailing slash).
    function explorerBaseUrl() external view returns (string memory);

    /// @notice Burns `amount` of `tokenId` held by the caller (the escrow, i.e. the marketplace) and
    /// records `retiree` as the one who retired them. ESCROW_ROLE only.
    function retireFromEscrow(address retiree, uint256 tokenId, uint256 amount, RetirementDetails calldata details)
        external
        returns (uint256 certificateId);
}
