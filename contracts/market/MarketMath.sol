// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/**
 * @title MarketMath
 * @notice Price and fee arithmetic of the Marketplace, in one place so it can be fuzzed alone.
 * The buyer pays exactly `unitPrice × amount`; the fee is `floor(total × feeBps / 10,000)` and comes
 * out of the seller's proceeds, so seller + treasury = total exactly (nothing lost, nothing minted),
 * and rounding favours the seller by less than one base unit, never the buyer.
 */
library MarketMath {
    uint256 internal constant BPS = 10_000;

    /// @notice Total price and protocol fee of `amount` units at `unitPrice` with a fee of `feeBps`.
    /// Reverts (panic 0x11) on overflow; with uint128 prices and uint96 amounts it cannot overflow.
    function priceAndFee(uint256 unitPrice, uint256 amount, uint256 feeBps)
        internal
        pure
        returns (uint256 totalPrice, uint256 fee)
    {
        totalPrice = unitPrice * amount;
        fee = (totalPrice * feeBps) / BPS;
    }
}
