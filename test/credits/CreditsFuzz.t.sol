// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {CreditsTestBase} from "./CreditsTestBase.sol";
import {IAttestationRegistry} from "../../contracts/attestation/IAttestationRegistry.sol";
import {CarbonCredits} from "../../contracts/credits/CarbonCredits.sol";
import {UtcDate} from "../../contracts/credits/UtcDate.sol";
import {MarketMath} from "../../contracts/market/MarketMath.sol";
import {CertificateRenderer} from "../../contracts/retirement/CertificateRenderer.sol";

/// @notice Fuzz tests of the arithmetic: price and fee, partial fills, the issuance bound,
/// retirement amounts, calendar.
contract CreditsFuzzTest is CreditsTestBase {
    address internal constant BUYER = address(0xB0FE);
    address internal constant BUYER2 = address(0xB0FF);
    uint256 internal tokenId;

    function setUp() public {
        _deploy();
        IAttestationRegistry.BatchHeader memory h = _header(Y2025, Y2025 + uint64(DAY), 600_000);
        _attest(h);
        vm.warp(block.timestamp + WINDOW);
        (tokenId,) = credits.issue(projectId, h, 400);
    }

    // ---------------------------------------------------------------- price and fee

    function testFuzz_priceAndFee_sellerPlusFeeIsTotal_feeRoundedDown(uint128 unitPrice, uint96 amount, uint16 feeBps)
        public
        pure
    {
        feeBps = uint16(feeBps % 1001);
        (uint256 total, uint256 fee) = MarketMath.priceAndFee(unitPrice, amount, feeBps);
        require(total == uint256(unitPrice) * amount, "total is price x amount");
        require(fee <= total, "fee within total");
        require((total - fee) + fee == total, "nothing lost");
        // fee = floor(total * bps / 1e4): fee*1e4 <= total*bps < (fee+1)*1e4 (favours the seller by < 1 unit)
        require(fee * 10_000 <= total * feeBps, "fee not rounded up");
        require(total * feeBps < (fee + 1) * 10_000, "fee rounded down by less than one unit");
    }

    // ---------------------------------------------------------------- partial fills

    function testFuzz_buy_partialFills(uint96 a, uint96 b, uint64 price) public {
        uint256 unitPrice = uint256(price) % 1e12 + 1;
        vm.startPrank(proponent);
        credits.setApprovalForAll(address(market), true);
        uint256 listingId = market.list(tokenId, 400, address(usd), uint128(unitPrice), 1, uint40(block.timestamp + 30 days));
        vm.stopPrank();
        uint256 first = uint256(a) % 400 + 1;
        _buy(BUYER, listingId, first, unitPrice);
        uint256 remaining = 400 - first;
        require(market.getListing(listingId).remaining == remaining, "remaining after first fill");
        if (remaining != 0) {
            uint256 second = uint256(b) % remaining + 1;
            _buy(BUYER2, listingId, second, unitPrice);
            remaining -= second;
            require(credits.balanceOf(BUYER2, tokenId) == second, "second buyer credits");
        }
        require(credits.balanceOf(BUYER, tokenId) == first, "first buyer credits");
        require(credits.balanceOf(address(market), tokenId) == remaining, "escrow = open listing");
        require(usd.balanceOf(address(market)) == 0, "no payment token in the market");
        uint256 paid = (400 - remaining) * unitPrice;
        require(usd.balanceOf(proponent) + usd.balanceOf(treasury) == paid, "seller + treasury = paid");
    }

    function _buy(address buyer, uint256 listingId, uint256 amount, uint256 unitPrice) private {
        uint256 total = amount * unitPrice;
        usd.mint(buyer, total);
        vm.startPrank(buyer);
        usd.approve(address(market), total);
        uint256 sellerBefore = usd.balanceOf(proponent);
        uint256 treasuryBefore = usd.balanceOf(treasury);
        market.buy(listingId, amount, total);
        vm.stopPrank();
        uint256 fee = total * 250 / 10_000;
        require(usd.balanceOf(treasury) - treasuryBefore == fee, "treasury got the fee");
        require(usd.balanceOf(proponent) - sellerBefore == total - fee, "seller got the rest");
        require(usd.balanceOf(buyer) == 0, "buyer paid exactly the total");
    }

    // ---------------------------------------------------------------- issuance bound

    function testFuzz_issue_boundIsBaselineMinusEmissions(uint32 lengthSeed, uint128 fossilSeed, uint256 amountSeed)
        public
    {
        uint64 start = Y2025 + uint64(10 * DAY);
        uint64 end = start + 1 + uint64(lengthSeed % (30 * DAY));
        uint128 fossil = uint128(fossilSeed % (2 * uint256(BASELINE_PER_DAY) * 30 + 1));
        IAttestationRegistry.BatchHeader memory h = _header(start, end, fossil);
        _attest(h);
        vm.warp(block.timestamp + WINDOW);
        uint256 bound = _expectedBound(start, end, fossil);
        require(credits.issuanceBound(projectId, h) == bound, "view bound = expected bound");
        uint256 baseline = uint256(BASELINE_PER_DAY) * (end - start) / DAY;
        bytes32 id = registry.attestationIdOf(h);
        if (fossil > baseline) {
            // above its baseline: not issuable; settled, its excess is owed by the project
            vm.expectRevert(
                abi.encodeWithSelector(CarbonCredits.CarbonCreditsPeriodAboveBaseline.selector, id, fossil - baseline)
            );
            credits.issue(projectId, h, 0);
            uint256 debt = credits.getProject(projectId).correctionDebtGrams;
            credits.recordShortfall(projectId, h);
            require(credits.getProject(projectId).correctionDebtGrams - debt == fossil - baseline, "excess owed");
            return;
        }
        vm.expectRevert(
            abi.encodeWithSelector(CarbonCredits.CarbonCreditsAmountExceedsBound.selector, bound + 1, bound)
        );
        credits.issue(projectId, h, bound + 1);
        vm.expectRevert(
            abi.encodeWithSelector(CarbonCredits.CarbonCreditsNoShortfall.selector, id, baseline - fossil)
        );
        credits.recordShortfall(projectId, h);
        if (bound == 0) return;
        uint256 amount = amountSeed % bound + 1;
        uint256 before = credits.balanceOf(proponent, tokenId);
        credits.issue(projectId, h, amount);
        require(credits.balanceOf(proponent, tokenId) - before == amount, "minted amount");
        require(credits.attestationUse(registry.attestationIdOf(h)).amount == amount, "recorded amount");
    }

    // ---------------------------------------------------------------- retirement amounts

    function testFuzz_retire_burnsExactlyAndCertifies(uint256 amountSeed) public {
        uint256 amount = amountSeed % 400 + 1;
        vm.prank(proponent);
        uint256 certId = certificates.retire(tokenId, amount, _details(BUYER));
        require(certId == (tokenId << 64) | 1, "certificate id");
        require(certificates.ownerOf(certId) == BUYER, "beneficiary owns it");
        require(certificates.getCertificate(certId).amount == amount, "certificate amount");
        require(credits.totalSupply(tokenId) == 400 - amount, "supply = issued - retired");
        require(credits.supplyOf(tokenId).retired == amount, "retired");
        require(credits.balanceOf(proponent, tokenId) == 400 - amount, "holder balance");
        vm.expectRevert();
        vm.prank(proponent);
        certificates.retire(tokenId, 400 - amount + 1, _details(BUYER));
    }

    // ---------------------------------------------------------------- calendar

    function testFuzz_utcDate_yearBracketsTimestamp(uint40 seed) public pure {
        uint256 ts = uint256(seed) % 253_402_300_800; // before 10000-01-01
        uint256 year = UtcDate.yearOf(ts);
        require(UtcDate.startOfYear(year) <= ts && ts < UtcDate.startOfYear(year + 1), "year brackets ts");
        (uint256 y, uint256 m, uint256 d) = UtcDate.toDate(ts);
        require(y == year && m >= 1 && m <= 12 && d >= 1 && d <= 31, "date in range");
        (uint256 y1, uint256 m1, uint256 d1) = UtcDate.toDate(ts + 86_400);
        bool nextDay = (y1 == y && m1 == m && d1 == d + 1) || (y1 == y && m1 == m + 1 && d1 == 1)
            || (y1 == y + 1 && m1 == 1 && d1 == 1 && m == 12 && d == 31);
        require(nextDay, "the next day follows");
    }

    function test_utcDate_knownAnswers() public pure {
        _date(0, 1970, 1, 1);
        _date(951_868_800, 2000, 3, 1);
        _date(1_709_164_800, 2024, 2, 29);
        _date(1_767_225_599, 2025, 12, 31);
        _date(4_107_542_400, 2100, 3, 1);
        require(UtcDate.startOfYear(2026) == Y2026 && UtcDate.startOfYear(2025) == Y2025, "start of year");
        require(UtcDate.startOfYear(1970) == 0, "epoch");
    }

    function _date(uint256 ts, uint256 year, uint256 month, uint256 day) private pure {
        (uint256 y, uint256 m, uint256 d) = UtcDate.toDate(ts);
        require(y == year && m == month && d == day, "known date");
    }

    function testFuzz_tonnes_formatsThreeDecimals(uint64 kg) public pure {
        string memory t = CertificateRenderer.tonnes(kg);
        bytes memory b = bytes(t);
        require(b[b.length - 4] == ".", "three decimals");
        require(keccak256(bytes(CertificateRenderer.tonnes(1234))) == keccak256("1.234"), "1234 kg");
        require(keccak256(bytes(CertificateRenderer.tonnes(5))) == keccak256("0.005"), "5 kg");
        require(keccak256(bytes(CertificateRenderer.tonnes(70))) == keccak256("0.070"), "70 kg");
    }
}
