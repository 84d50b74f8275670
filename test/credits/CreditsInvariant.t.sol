// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {CreditsTestBase} from "./CreditsTestBase.sol";
import {IAttestationRegistry} from "../../contracts/attestation/IAttestationRegistry.sol";
import {Marketplace} from "../../contracts/market/Marketplace.sol";
import {UtcDate} from "../../contracts/credits/UtcDate.sol";

/**
 * @notice Drives the credits contracts with random sequences of the operations users perform:
 * attest + issue, attest + revoke (by the registry's verifier or an upheld challenge) + re-attest,
 * transfer, list, buy, buy-and-retire, retire, cancel, time passing. It deploys everything itself
 * (it is admin and verifier of both contracts) and keeps ghost totals the invariants compare to.
 */
contract CreditsHandler is CreditsTestBase {
    address[3] public actors = [address(0x9209), address(0xB0FE), address(0xB0FF)];
    address internal constant ARBITER = address(0xA4B1);
    uint256[] public tokenIds;
    mapping(uint256 => bool) private _knownId;
    mapping(uint256 => uint256) public ghostIssued;
    mapping(uint256 => uint256) public ghostRetired;
    bytes32[] public attestationIds;
    mapping(bytes32 => uint256) public ghostBound;
    /// grams below the baseline of the attestations issued; grams above it of those settled by
    /// recordShortfall or revoked and re-attested (their true excess)
    uint256 public ghostReductionG;
    uint256 public ghostExcessG;
    uint256 public ghostIssuedTotal;
    uint64 public nextStart = Y2025;
    uint256 public calls;

    constructor() {
        _deploy(); // proponent = actors[0]
        registry.grantRole(registry.VERIFIER_ROLE(), address(this));
        credits.grantRole(credits.ARBITER_ROLE(), ARBITER);
        for (uint256 i; i < 3; ++i) {
            vm.prank(actors[i]);
            credits.setApprovalForAll(address(market), true);
        }
    }

    // ---------------------------------------------------------------- operations

    function attestAndIssue(uint256 lengthSeed, uint256 fossilSeed, uint256 amountSeed) external {
        (uint64 start, uint64 end) = _nextPeriod(lengthSeed);
        if (end == 0) return;
        uint128 fossil = uint128(fossilSeed % (uint256(BASELINE_PER_DAY) * 3));
        IAttestationRegistry.BatchHeader memory h = _header(start, end, fossil);
        bytes32 id = _attest(h);
        vm.warp(block.timestamp + WINDOW);
        uint256 bound = _expectedBound(start, end, fossil);
        attestationIds.push(id);
        ghostBound[id] = bound;
        uint256 baseline = uint256(BASELINE_PER_DAY) * (end - start) / DAY;
        if (fossil > baseline) {
            (, uint256 excess) = credits.recordShortfall(projectId, h);
            ghostExcessG += excess;
            ++calls;
            return;
        }
        // the bound net of the project's debt (ghostBound is the period's own)
        uint256 amount = amountSeed % (credits.issuanceBound(projectId, h) + 1);
        if (amount == 0) return;
        (uint256 tokenId,) = credits.issue(projectId, h, amount);
        ghostReductionG += baseline - fossil;
        ghostIssuedTotal += amount;
        if (!_knownId[tokenId]) {
            _knownId[tokenId] = true;
            tokenIds.push(tokenId);
        }
        ghostIssued[tokenId] += amount;
        ++calls;
    }

    /// @notice A period revoked (by the registry's verifier, or by an upheld challenge) and
    /// re-attested by a correction with the same emissions: its excess is still owed.
    function attestRevokeAndReattest(uint256 lengthSeed, uint256 fossilSeed, bool byChallenge) external {
        (uint64 start, uint64 end) = _nextPeriod(lengthSeed);
        if (end == 0) return;
        uint128 fossil = uint128(fossilSeed % (uint256(BASELINE_PER_DAY) * 3));
        IAttestationRegistry.BatchHeader memory h = _header(start, end, fossil);
        bytes32 id = _attest(h);
        if (byChallenge) {
            credits.challenge(id, "parked", "bafkreievidence");
            vm.prank(ARBITER);
            credits.resolveChallenge(id, true, "upheld");
        } else {
            registry.revoke(id, "bad batch");
        }
        IAttestationRegistry.BatchHeader memory c = _header(start, end, fossil);
        c.correctionOf = id;
        _attestCorrection(c, h);
        vm.warp(block.timestamp + WINDOW);
        credits.recordCorrection(c);
        uint256 baseline = uint256(BASELINE_PER_DAY) * (end - start) / DAY;
        if (fossil > baseline) ghostExcessG += fossil - baseline;
        ++calls;
    }

    function transfer(uint256 fromSeed, uint256 toSeed, uint256 idSeed, uint256 amountSeed) external {
        (address from, uint256 id, uint256 bal) = _holding(fromSeed, idSeed);
        if (bal == 0) return;
        address to = actors[toSeed % 3];
        vm.prank(from);
        credits.safeTransferFrom(from, to, id, amountSeed % bal + 1, "");
        ++calls;
    }

    function list(uint256 sellerSeed, uint256 idSeed, uint256 amountSeed, uint256 priceSeed, uint256 minFillSeed)
        external
    {
        (address seller, uint256 id, uint256 bal) = _holding(sellerSeed, idSeed);
        if (bal == 0) return;
        uint256 amount = amountSeed % bal + 1;
        uint128 minFill = uint128(minFillSeed % amount + 1);
        vm.prank(seller);
        market.list(id, amount, address(usd), uint128(priceSeed % 1e9), minFill, uint40(block.timestamp + 10 days));
        ++calls;
    }

    function buy(uint256 listingSeed, uint256 buyerSeed, uint256 amountSeed, bool andRetire) external {
        uint256 count = market.listingCount();
        if (count == 0) return;
        uint256 listingId = listingSeed % count + 1;
        Marketplace.Listing memory l = market.getListing(listingId);
        if (l.remaining == 0 || block.timestamp >= l.expiresAt) return;
        uint256 amount = l.remaining <= l.minFill ? l.remaining : l.minFill + amountSeed % (l.remaining - l.minFill + 1);
        address buyer = actors[buyerSeed % 3];
        uint256 total = amount * l.unitPrice;
        usd.mint(buyer, total);
        vm.startPrank(buyer);
        usd.approve(address(market), total);
        if (andRetire) {
            market.buyAndRetire(listingId, amount, total, _details(buyer));
            ghostRetired[l.tokenId] += amount;
        } else {
            market.buy(listingId, amount, total);
        }
        vm.stopPrank();
        ++calls;
    }

    function retire(uint256 holderSeed, uint256 idSeed, uint256 amountSeed, uint256 beneficiarySeed) external {
        (address holder, uint256 id, uint256 bal) = _holding(holderSeed, idSeed);
        if (bal == 0) return;
        uint256 amount = amountSeed % bal + 1;
        vm.prank(holder);
        certificates.retire(id, amount, _details(actors[beneficiarySeed % 3]));
        ghostRetired[id] += amount;
        ++calls;
    }

    function cancel(uint256 listingSeed) external {
        uint256 count = market.listingCount();
        if (count == 0) return;
        uint256 listingId = listingSeed % count + 1;
        Marketplace.Listing memory l = market.getListing(listingId);
        if (l.remaining == 0) return;
        vm.prank(l.seller);
        market.cancel(listingId);
        ++calls;
    }

    function wait(uint256 secondsSeed) external {
        vm.warp(block.timestamp + secondsSeed % (5 days));
    }

    /// @dev The next regular period (from where the last ended, within one year, in the past), or (0, 0).
    function _nextPeriod(uint256 lengthSeed) private returns (uint64 start, uint64 end) {
        start = nextStart;
        end = start + 3600 + uint64(lengthSeed % (2 * DAY));
        uint64 yearEnd = uint64(UtcDate.startOfYear(UtcDate.yearOf(start) + 1));
        if (end > yearEnd) end = yearEnd;
        if (end > block.timestamp) return (0, 0);
        nextStart = end;
    }

    // ---------------------------------------------------------------- views for the invariants

    function tokenIdCount() external view returns (uint256) {
        return tokenIds.length;
    }

    function baselinePerDay() external pure returns (uint256) {
        return BASELINE_PER_DAY;
    }

    function debt() external view returns (uint256) {
        return credits.getProject(projectId).correctionDebtGrams;
    }

    function attestationCount() external view returns (uint256) {
        return attestationIds.length;
    }

    function actorBalanceSum(uint256 id) external view returns (uint256 sum) {
        for (uint256 i; i < 3; ++i) sum += credits.balanceOf(actors[i], id);
    }

    function openListingSum(uint256 id) external view returns (uint256 sum) {
        uint256 count = market.listingCount();
        for (uint256 i = 1; i <= count; ++i) {
            Marketplace.Listing memory l = market.getListing(i);
            if (l.tokenId == id) sum += l.remaining;
        }
    }

    function contracts() external view returns (address, address, address, address) {
        return (address(credits), address(certificates), address(market), address(usd));
    }

    function _holding(uint256 actorSeed, uint256 idSeed) private view returns (address a, uint256 id, uint256 bal) {
        if (tokenIds.length == 0) return (address(0), 0, 0);
        a = actors[actorSeed % 3];
        id = tokenIds[idSeed % tokenIds.length];
        bal = credits.balanceOf(a, id);
    }
}

interface ICreditsView {
    function totalSupply(uint256 id) external view returns (uint256);
    function balanceOf(address account, uint256 id) external view returns (uint256);
    function attestationUse(bytes32 id) external view returns (uint8 state, uint40 projectId, uint128 amount);
    function supplyOf(uint256 id) external view returns (uint96 issued, uint96 retired, uint64 retirements);
}

interface IBalance {
    function balanceOf(address account) external view returns (uint256);
}

/// @notice Invariants of issue 5 over random operation sequences (see CreditsHandler).
contract CreditsInvariantTest {
    CreditsHandler internal handler;
    ICreditsView internal credits;
    address internal market;
    IBalance internal usd;

    function setUp() public {
        handler = new CreditsHandler();
        (address c,, address m, address u) = handler.contracts();
        credits = ICreditsView(c);
        market = m;
        usd = IBalance(u);
    }

    function targetContracts() public view returns (address[] memory targets) {
        targets = new address[](1);
        targets[0] = address(handler);
    }

    /// @notice For every id: total supply = issued − retired, and the holders hold exactly that.
    /// hardhat-config: invariant.runs = 48
    /// hardhat-config: invariant.depth = 40
    function invariant_totalSupplyIsIssuedMinusRetired() public view {
        uint256 n = handler.tokenIdCount();
        for (uint256 i; i < n; ++i) {
            uint256 id = handler.tokenIds(i);
            uint256 issued = handler.ghostIssued(id);
            uint256 retired = handler.ghostRetired(id);
            require(credits.totalSupply(id) == issued - retired, "supply = issued - retired");
            (uint96 onChainIssued, uint96 onChainRetired,) = credits.supplyOf(id);
            require(onChainIssued == issued && onChainRetired == retired, "issued and retired tracked");
            require(handler.actorBalanceSum(id) + credits.balanceOf(market, id) == issued - retired, "held = supply");
        }
    }

    /// @notice For every attestation: credits issued ≤ floor((baseline − fossil) / 1000).
    /// hardhat-config: invariant.runs = 48
    /// hardhat-config: invariant.depth = 40
    function invariant_issuedPerAttestationWithinBound() public view {
        uint256 n = handler.attestationCount();
        for (uint256 i; i < n; ++i) {
            bytes32 id = handler.attestationIds(i);
            (,, uint128 amount) = credits.attestationUse(id);
            require(amount <= handler.ghostBound(id), "issued within the bound");
        }
    }

    /// @notice Net of every period settled: 1000 × kg issued ≤ grams below the baseline of the
    /// periods issued − grams above it of the periods settled by recordShortfall + the debt still
    /// owed (which later credits cover). Credits never exceed the project's net reduction.
    /// hardhat-config: invariant.runs = 48
    /// hardhat-config: invariant.depth = 40
    function invariant_issuedWithinNetReduction() public view {
        require(
            1000 * handler.ghostIssuedTotal() + handler.ghostExcessG() <= handler.ghostReductionG() + handler.debt(),
            "issued within the net reduction"
        );
    }

    /// @notice The market holds exactly the credits of its open listings.
    /// hardhat-config: invariant.runs = 48
    /// hardhat-config: invariant.depth = 40
    function invariant_marketHoldsExactlyOpenListings() public view {
        uint256 n = handler.tokenIdCount();
        for (uint256 i; i < n; ++i) {
            uint256 id = handler.tokenIds(i);
            require(credits.balanceOf(market, id) == handler.openListingSum(id), "escrow = open listings");
        }
    }

    /// @notice No payment token (nor native currency) ever stays in the market.
    /// hardhat-config: invariant.runs = 48
    /// hardhat-config: invariant.depth = 40
    function invariant_noPaymentStaysInMarket() public view {
        require(usd.balanceOf(market) == 0, "no tUSD in the market");
        require(market.balance == 0, "no native currency in the market");
    }

    /// @notice Every handler operation really changes state for ordinary inputs, so the
    /// invariants above are not passing over an idle system.
    function test_handlerOperationsTakeEffect() public {
        handler.attestAndIssue(DAY_SEED, 0, 300);
        handler.attestAndIssue(DAY_SEED, 0, 300);
        uint256 id = handler.tokenIds(0);
        require(handler.ghostIssued(id) == 600, "issued twice");
        handler.transfer(0, 1, 0, 99); // 100 kg to actor 1
        require(credits.balanceOf(address(0xB0FE), id) == 100, "transferred");
        handler.list(0, 0, 199, 1_000, 0); // 200 kg, min fill 1
        require(credits.balanceOf(market, id) == 200, "listed");
        handler.buy(0, 2, 49, false); // 50 kg to actor 2
        handler.buy(0, 1, 9, true); // 10 kg bought and retired by actor 1
        require(credits.balanceOf(address(0xB0FF), id) == 50, "bought");
        require(handler.ghostRetired(id) == 10, "bought and retired");
        handler.retire(1, 0, 4, 0); // actor 1 retires 5 kg
        require(handler.ghostRetired(id) == 15, "retired");
        handler.cancel(0);
        require(credits.balanceOf(market, id) == 0, "cancelled");
        require(handler.calls() == 8, "every operation ran");
        invariant_totalSupplyIsIssuedMinusRetired();
        invariant_issuedPerAttestationWithinBound();
        invariant_marketHoldsExactlyOpenListings();
        invariant_noPaymentStaysInMarket();
        // a day at three times its baseline: settled, two days' baseline owed, covered by later credits
        uint256 baselinePerDay = handler.baselinePerDay();
        handler.attestAndIssue(DAY_SEED, baselinePerDay * 3 - 1, 0);
        require(handler.ghostExcessG() == baselinePerDay * 2 - 1 && handler.debt() == handler.ghostExcessG(), "owed");
        invariant_issuedWithinNetReduction();
        // days at twice their baseline, revoked (by the registry's verifier, by an upheld challenge)
        // and re-attested: each still owes a day's baseline
        handler.attestRevokeAndReattest(DAY_SEED, baselinePerDay * 2, false);
        handler.attestRevokeAndReattest(DAY_SEED, baselinePerDay * 2, true);
        require(handler.calls() == 11, "revoked and re-attested");
        require(handler.debt() == baselinePerDay * 4 - 1 && handler.debt() == handler.ghostExcessG(), "still owed");
        invariant_issuedWithinNetReduction();
    }

    uint256 private constant DAY_SEED = 86_400 - 3600; // a one-day period
}
