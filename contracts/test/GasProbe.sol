// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/**
 * @title GasProbe
 * @notice Test and benchmark helper (not deployed in production): measures the gas a contract
 * pays to call a view function of another contract — the figure a consumer contract sees,
 * without the 21,000 base cost and calldata cost of a transaction.
 */
contract GasProbe {
    /// @notice Static-calls `target` with `data`; returns the gas the call consumed, its success and return data.
    function measure(
        address target,
        bytes calldata data
    ) external view returns (uint256 gasUsed, bool success, bytes memory returnData) {
        uint256 before = gasleft();
        (success, returnData) = target.staticcall(data);
        gasUsed = before - gasleft();
    }
}
