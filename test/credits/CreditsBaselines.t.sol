// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {CreditsTestBase} from "./CreditsTestBase.sol";
import {CarbonCredits} from "../../contracts/credits/CarbonCredits.sol";

/// @notice Baseline segments are bounded (review: they could not be removed, every issuance reads
/// those its period covers, and a rogue verifier appending ~13k of them bricked issuance).
contract CreditsBaselinesTest is CreditsTestBase {
    function setUp() public {
        _deploy();
    }

    function test_setBaseline_revertsWhen_tooManySegments() public {
        uint256 max = credits.MAX_BASELINE_SEGMENTS();
        // registration made the first segment; the others one second apart from 2026-01-01 00:00:01
        for (uint256 i = 1; i < max; ++i) {
            credits.setBaseline(projectId, Y2026 + uint64(i), BASELINE_PER_DAY + uint128(i), "cid");
        }
        require(credits.getBaselines(projectId).length == max, "segments up to the cap");
        vm.expectRevert(
            abi.encodeWithSelector(CarbonCredits.CarbonCreditsTooManyBaselineSegments.selector, projectId, max)
        );
        credits.setBaseline(projectId, Y2026 + uint64(max), 1, "cid");

        // the costliest period there can be reads every segment, and still fits well within a block
        uint256 gasBefore = gasleft();
        uint256 grams = credits.baselineGrams(projectId, Y2026, Y2026 + uint64(DAY));
        uint256 gasUsed = gasBefore - gasleft();
        require(gasUsed < 5_000_000, "reading every segment fits a block");
        uint256 gramSeconds = uint256(BASELINE_PER_DAY); // [Y2026, Y2026 + 1) under the first segment
        for (uint256 i = 1; i < max - 1; ++i) gramSeconds += uint256(BASELINE_PER_DAY) + i;
        gramSeconds += (uint256(BASELINE_PER_DAY) + max - 1) * (DAY - (max - 1));
        require(grams == gramSeconds / DAY, "integrated over every segment");
    }
}
