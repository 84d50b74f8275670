// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {IERC1155Receiver} from "@openzeppelin/contracts/token/ERC1155/IERC1155Receiver.sol";
import {IERC165} from "@openzeppelin/contracts/utils/introspection/IERC165.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

import {ICarbonCredits} from "../credits/ICarbonCredits.sol";
import {IRetirementCertificates, RetirementDetails} from "../retirement/IRetirementCertificates.sol";
import {MarketMath} from "./MarketMath.sol";

/**
 * @title Marketplace
 * @notice Fixed-price listings of CarbonCredits, escrowed in this contract, paid in an allowed ERC-20
 * (or native currency, `paymentToken == address(0)`). Partial fills down to a seller-set minimum,
 * price updates, cancel, expiry; `buy` and `buyAndRetire` with a buyer-set maximum total price.
 * Payment goes straight from the buyer to the seller and the treasury: no payment token ever stays
 * here. The protocol fee (basis points, capped) is taken from the seller's proceeds, rounded down.
 */
contract Marketplace is AccessControl, Pausable, ReentrancyGuardTransient, IERC1155Receiver {
    using SafeERC20 for IERC20;
    using SafeCast for uint256;

    /// @notice Pauses listing and buying (cancel always works).
    bytes32 public constant PAUSER_ROLE = keccak256("PAUSER_ROLE");
    /// @notice Hard cap of the protocol fee: 10 %.
    uint16 public constant MAX_FEE_BPS = 1000;

    /// @notice A listing; three slots. `remaining == 0` means filled or cancelled.
    struct Listing {
        address seller;
        uint96 remaining; // kg still for sale, escrowed here
        address paymentToken; // zero = native currency
        uint40 expiresAt; // unix seconds; buyable while block.timestamp < expiresAt
        uint56 tokenId;
        uint128 unitPrice; // payment-token base units per kg
        uint128 minFill; // smallest amount a buy may take, unless it takes all that remains
    }

    /// @notice The credits traded here.
    ICarbonCredits public immutable credits;
    /// @notice The retirement desk (this market needs its ESCROW_ROLE for buyAndRetire).
    IRetirementCertificates public immutable certificates;
    /// @notice Receives the protocol fee.
    address public treasury;
    /// @notice Protocol fee in basis points of the total price.
    uint16 public feeBps;
    /// @notice Number of listings created; ids are 1..listingCount.
    uint256 public listingCount;
    /// @notice Payment tokens sellers may list in (address(0) = native currency).
    mapping(address token => bool) public isPaymentToken;

    mapping(uint256 listingId => Listing) private _listings;

    event Listed(
        uint256 indexed listingId,
        address indexed seller,
        uint256 indexed tokenId,
        uint256 amount,
        address paymentToken,
        uint256 unitPrice,
        uint256 minFill,
        uint256 expiresAt
    );
    event PriceUpdated(uint256 indexed listingId, uint256 previousUnitPrice, uint256 unitPrice);
    event Cancelled(uint256 indexed listingId, address indexed by, uint256 amountReturned);
    event Bought(
        uint256 indexed listingId,
        address indexed buyer,
        uint256 indexed tokenId,
        uint256 amount,
        uint256 totalPrice,
        uint256 fee,
        bool retired,
        uint256 certificateId
    );
    event FeeUpdated(uint16 previousFeeBps, uint16 feeBps, address previousTreasury, address treasury);
    event PaymentTokenSet(address indexed token, bool allowed);

    error MarketplaceFeeTooHigh(uint256 feeBps, uint256 maxFeeBps);
    error MarketplaceInvalidTreasury();
    error MarketplacePaymentTokenNotAllowed(address token);
    error MarketplaceZeroAmount();
    error MarketplaceInvalidMinFill(uint256 minFill, uint256 amount);
    error MarketplaceInvalidExpiry(uint256 expiresAt);
    error MarketplaceInvalidTokenId(uint256 tokenId);
    error MarketplaceNotSeller(uint256 listingId, address caller);
    error MarketplaceListingClosed(uint256 listingId);
    error MarketplaceListingExpired(uint256 listingId, uint256 expiresAt);
    error MarketplaceListingNotExpired(uint256 listingId, uint256 expiresAt);
    error MarketplaceAmountExceedsRemaining(uint256 amount, uint256 remaining);
    error MarketplaceBelowMinFill(uint256 amount, uint256 minFill);
    error MarketplaceSlippage(uint256 totalPrice, uint256 maxTotalPrice);
    error MarketplaceWrongValue(uint256 expected, uint256 sent);
    error MarketplaceNativeTransferFailed(address to, uint256 amount);
    error MarketplaceUnexpectedCredits(address operator);

    /**
     * @param credits_  the CarbonCredits contract
     * @param certificates_ RetirementCertificates (this market needs its ESCROW_ROLE for buyAndRetire)
     * @param admin     DEFAULT_ADMIN_ROLE holder
     * @param treasury_ fee recipient
     * @param feeBps_   initial fee, ≤ MAX_FEE_BPS
     */
    constructor(
        ICarbonCredits credits_,
        IRetirementCertificates certificates_,
        address admin,
        address treasury_,
        uint16 feeBps_
    ) {
        credits = credits_;
        certificates = certificates_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _setFee(feeBps_, treasury_);
    }

    // ------------------------------------------------------------------ administration

    /// @notice Sets the fee and its recipient (admin). Applies to later buys, including of open listings.
    function setFee(uint16 feeBps_, address treasury_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setFee(feeBps_, treasury_);
    }

    /// @notice Allows or disallows a payment token for new listings (admin); open listings keep theirs.
    function setPaymentToken(address token, bool allowed) external onlyRole(DEFAULT_ADMIN_ROLE) {
        isPaymentToken[token] = allowed;
        emit PaymentTokenSet(token, allowed);
    }

    /// @notice Pauses listing, price updates and buying (pauser).
    function pause() external onlyRole(PAUSER_ROLE) {
        _pause();
    }

    /// @notice Resumes the market (pauser).
    function unpause() external onlyRole(PAUSER_ROLE) {
        _unpause();
    }

    // ------------------------------------------------------------------ sellers

    /**
     * @notice Lists `amount` kg of credit `tokenId` at `unitPrice` base units of `paymentToken` per kg,
     * moving the credits into escrow here (the caller must have approved this contract on CarbonCredits).
     * @param minFill   smallest buy, 1..amount (a buy of everything that remains is always allowed)
     * @param expiresAt unix seconds after which the listing cannot be bought; in the future
     * @return listingId the new listing's id
     */
    function list(
        uint256 tokenId,
        uint256 amount,
        address paymentToken,
        uint128 unitPrice,
        uint128 minFill,
        uint40 expiresAt
    ) external whenNotPaused nonReentrant returns (uint256 listingId) {
        if (amount == 0) revert MarketplaceZeroAmount();
        if (minFill == 0 || minFill > amount) revert MarketplaceInvalidMinFill(minFill, amount);
        if (expiresAt <= block.timestamp) revert MarketplaceInvalidExpiry(expiresAt);
        if (!isPaymentToken[paymentToken]) revert MarketplacePaymentTokenNotAllowed(paymentToken);
        if (tokenId > type(uint56).max) revert MarketplaceInvalidTokenId(tokenId);
        listingId = ++listingCount;
        _listings[listingId] = Listing({
            seller: msg.sender,
            remaining: amount.toUint96(),
            paymentToken: paymentToken,
            expiresAt: expiresAt,
            tokenId: uint56(tokenId),
            unitPrice: unitPrice,
            minFill: minFill
        });
        emit Listed(listingId, msg.sender, tokenId, amount, paymentToken, unitPrice, minFill, expiresAt);
        credits.safeTransferFrom(msg.sender, address(this), tokenId, amount, "");
    }

    /// @notice Changes the unit price of an open listing (seller). Buyers are protected by `maxTotalPrice`.
    function updatePrice(uint256 listingId, uint128 unitPrice) external whenNotPaused {
        Listing storage l = _listings[listingId];
        if (l.seller != msg.sender) revert MarketplaceNotSeller(listingId, msg.sender);
        if (l.remaining == 0) revert MarketplaceListingClosed(listingId);
        emit PriceUpdated(listingId, l.unitPrice, unitPrice);
        l.unitPrice = unitPrice;
    }

    /// @notice Closes a listing and returns the unsold credits to the seller: by the seller at any
    /// time (also while paused), by anyone once it has expired.
    function cancel(uint256 listingId) external nonReentrant {
        Listing storage l = _listings[listingId];
        uint256 remaining = l.remaining;
        if (remaining == 0) revert MarketplaceListingClosed(listingId);
        address seller = l.seller;
        if (msg.sender != seller && block.timestamp < l.expiresAt) {
            revert MarketplaceListingNotExpired(listingId, l.expiresAt);
        }
        l.remaining = 0;
        emit Cancelled(listingId, msg.sender, remaining);
        credits.safeTransferFrom(address(this), seller, l.tokenId, remaining, "");
    }

    // ------------------------------------------------------------------ buyers

    /**
     * @notice Buys `amount` kg from listing `listingId` for at most `maxTotalPrice` (payment-token
     * base units; for native currency send exactly the total price). ERC-20: approve this contract first.
     * @return totalPrice what the buyer paid (fee included)
     */
    function buy(uint256 listingId, uint256 amount, uint256 maxTotalPrice)
        external
        payable
        whenNotPaused
        nonReentrant
        returns (uint256 totalPrice)
    {
        uint256 tokenId;
        uint256 fee;
        (tokenId, totalPrice, fee) = _fill(listingId, amount, maxTotalPrice);
        emit Bought(listingId, msg.sender, tokenId, amount, totalPrice, fee, false, 0);
        credits.safeTransferFrom(address(this), msg.sender, tokenId, amount, "");
    }

    /**
     * @notice Buys and retires in one transaction: the credits are burned straight from escrow, the
     * buyer is recorded as the retiree, and the certificate goes to `details.beneficiary`.
     * @return certificateId the retirement certificate's id
     */
    function buyAndRetire(
        uint256 listingId,
        uint256 amount,
        uint256 maxTotalPrice,
        RetirementDetails calldata details
    ) external payable whenNotPaused nonReentrant returns (uint256 certificateId) {
        (uint256 tokenId, uint256 totalPrice, uint256 fee) = _fill(listingId, amount, maxTotalPrice);
        certificateId = certificates.retireFromEscrow(msg.sender, tokenId, amount, details);
        emit Bought(listingId, msg.sender, tokenId, amount, totalPrice, fee, true, certificateId);
    }

    // ------------------------------------------------------------------ views

    /// @notice Listing `listingId` (all zero if it never existed).
    function getListing(uint256 listingId) external view returns (Listing memory) {
        return _listings[listingId];
    }

    /// @notice Total price and fee of buying `amount` from listing `listingId` now.
    function quote(uint256 listingId, uint256 amount) external view returns (uint256 totalPrice, uint256 fee) {
        return MarketMath.priceAndFee(_listings[listingId].unitPrice, amount, feeBps);
    }

    /// @notice Accepts credits only when this contract itself moves them in (from {list}), so the
    /// escrow always equals the open listings.
    function onERC1155Received(address operator, address, uint256, uint256, bytes calldata)
        external
        view
        returns (bytes4)
    {
        if (msg.sender != address(credits) || operator != address(this)) {
            revert MarketplaceUnexpectedCredits(operator);
        }
        return IERC1155Receiver.onERC1155Received.selector;
    }

    /// @notice Rejects batch transfers: listings are made one id at a time.
    function onERC1155BatchReceived(address operator, address, uint256[] calldata, uint256[] calldata, bytes calldata)
        external
        pure
        returns (bytes4)
    {
        revert MarketplaceUnexpectedCredits(operator);
    }

    /// @inheritdoc IERC165
    function supportsInterface(bytes4 interfaceId) public view override(AccessControl, IERC165) returns (bool) {
        return interfaceId == type(IERC1155Receiver).interfaceId || super.supportsInterface(interfaceId);
    }

    // ------------------------------------------------------------------ internals

    /// @dev Checks, updates the listing (effects), then moves the payment (interactions). The credits
    /// leave the escrow in the caller, after this returns.
    function _fill(uint256 listingId, uint256 amount, uint256 maxTotalPrice)
        private
        returns (uint256 tokenId, uint256 totalPrice, uint256 fee)
    {
        Listing storage l = _listings[listingId];
        uint256 remaining = l.remaining;
        if (remaining == 0) revert MarketplaceListingClosed(listingId);
        if (block.timestamp >= l.expiresAt) revert MarketplaceListingExpired(listingId, l.expiresAt);
        if (amount == 0) revert MarketplaceZeroAmount();
        if (amount > remaining) revert MarketplaceAmountExceedsRemaining(amount, remaining);
        if (amount < l.minFill && amount != remaining) revert MarketplaceBelowMinFill(amount, l.minFill);
        (totalPrice, fee) = MarketMath.priceAndFee(l.unitPrice, amount, feeBps);
        if (totalPrice > maxTotalPrice) revert MarketplaceSlippage(totalPrice, maxTotalPrice);
        unchecked {
            l.remaining = uint96(remaining - amount);
        }
        tokenId = l.tokenId;
        address seller = l.seller;
        address token = l.paymentToken;
        if (token == address(0)) {
            if (msg.value != totalPrice) revert MarketplaceWrongValue(totalPrice, msg.value);
            _sendNative(seller, totalPrice - fee);
            if (fee != 0) _sendNative(treasury, fee);
        } else {
            if (msg.value != 0) revert MarketplaceWrongValue(0, msg.value);
            IERC20(token).safeTransferFrom(msg.sender, seller, totalPrice - fee);
            if (fee != 0) IERC20(token).safeTransferFrom(msg.sender, treasury, fee);
        }
    }

    function _sendNative(address to, uint256 value) private {
        (bool ok,) = to.call{value: value}("");
        if (!ok) revert MarketplaceNativeTransferFailed(to, value);
    }

    function _setFee(uint16 feeBps_, address treasury_) private {
        if (feeBps_ > MAX_FEE_BPS) revert MarketplaceFeeTooHigh(feeBps_, MAX_FEE_BPS);
        if (treasury_ == address(0)) revert MarketplaceInvalidTreasury();
        emit FeeUpdated(feeBps, feeBps_, treasury, treasury_);
        feeBps = feeBps_;
        treasury = treasury_;
    }
}
