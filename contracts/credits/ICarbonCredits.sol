// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC1155} from "@openzeppelin/contracts/token/ERC1155/IERC1155.sol";

/// @notice The parts of CarbonCredits that the marketplace and the certificates use.
interface ICarbonCredits is IERC1155 {
    /// @notice Project id, vintage year, facility, methodology and project name behind credit `tokenId`.
    function creditInfo(uint256 tokenId)
        external
        view
        returns (uint40 projectId, uint16 vintage, bytes32 facilityId, bytes32 methodologyId, string memory projectName);

    /// @notice Base URL of the explorer that lists a credit's attestations (no trailing slash).
    function explorerBaseUrl() external view returns (string memory);

    /// @notice Burns `amount` of `tokenId` from `holder` for a retirement (RetirementCertificates only,
    /// which checks the caller may retire `holder`'s credits).
    /// @return certificateId `tokenId << 64 | n`: this is the n-th retirement of `tokenId` (n ≥ 1)
    function burnForRetirement(address holder, uint256 tokenId, uint256 amount) external returns (uint256 certificateId);
}
