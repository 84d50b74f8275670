// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/**
 * @title TestUSD
 * @notice A 6-decimal test stablecoin for local networks and tests. Anyone may mint: it has no
 * value. In production the Marketplace takes any allowed ERC-20 (e.g. USDC) instead.
 */
contract TestUSD is ERC20 {
    constructor() ERC20("Test USD", "tUSD") {}

    /// @notice 6, like USDC.
    function decimals() public pure override returns (uint8) {
        return 6;
    }

    /// @notice Mints `amount` base units to `to` (faucet; test token only).
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }
}
