// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {TestBase} from "../Vm.sol";
import {OracleSet} from "../../contracts/oracles/OracleSet.sol";
import {AttestationRegistry} from "../../contracts/attestation/AttestationRegistry.sol";
import {IAttestationRegistry} from "../../contracts/attestation/IAttestationRegistry.sol";

/**
 * @notice Drives the registry with random regular batches (overlapping or not), corrections
 * (inside or outside their original's period), revocations and time jumps, and records what the
 * registry accepted. The invariant test then checks that no second of a facility's time was ever
 * covered by two accepted regular batches, and that every accepted correction lies inside its
 * original's period.
 */
contract AttestationHandler is TestBase {
    struct Period {
        uint64 start;
        uint64 end;
    }

    AttestationRegistry public immutable registry;
    uint256[3] internal keys; // oracle node keys, sorted by address
    bytes32[3] internal facilities = [bytes32("ktda-kangaita"), bytes32("ktda-chinga"), bytes32("ktda-gathuthi")];

    mapping(bytes32 facility => Period[]) internal _regular;
    mapping(bytes32 facility => IAttestationRegistry.BatchHeader[]) internal _regularHeaders;
    IAttestationRegistry.BatchHeader[] internal _corrections;
    IAttestationRegistry.BatchHeader[] internal _correctionOriginals;

    uint256 public overlapsAccepted;
    uint256 public regularAccepted;
    uint256 public correctionsAccepted;
    uint256 public rejected;
    uint256 internal nonce;

    constructor(AttestationRegistry registry_, uint256[3] memory keys_) {
        registry = registry_;
        keys = keys_;
    }

    function facility(uint256 i) external view returns (bytes32) {
        return facilities[i];
    }

    function regularPeriods(bytes32 f) external view returns (Period[] memory) {
        return _regular[f];
    }

    function correctionCount() external view returns (uint256) {
        return _corrections.length;
    }

    function correctionAt(
        uint256 i
    ) external view returns (IAttestationRegistry.BatchHeader memory c, IAttestationRegistry.BatchHeader memory o) {
        return (_corrections[i], _correctionOriginals[i]);
    }

    function _sign(bytes32 id) internal view returns (bytes memory sigs) {
        for (uint256 i = 0; i < 3; ++i) {
            (uint8 v, bytes32 r, bytes32 s) = vm.sign(keys[i], id);
            sigs = bytes.concat(sigs, abi.encodePacked(r, s, v));
        }
    }

    function _header(bytes32 f, uint64 start, uint64 end, bytes32 correctionOf) internal returns (IAttestationRegistry.BatchHeader memory h) {
        ++nonce;
        h = IAttestationRegistry.BatchHeader({
            facilityId: f,
            periodStart: start,
            periodEnd: end,
            merkleRoot: keccak256(abi.encode("root", nonce)),
            readingCount: 10,
            fossilCo2eGrams: 1000,
            biogenicCo2Grams: 0,
            methodologyId: bytes32(0),
            factorSetId: bytes32(0),
            bundleCid: "bafy",
            correctionOf: correctionOf
        });
    }

    function _ensurePast(uint64 end) internal {
        if (end > block.timestamp) vm.warp(end);
    }

    /// Regular batch: starts anywhere from an hour before to an hour after the facility's attestedUntil.
    function submitRegular(uint256 facilitySeed, uint256 startSeed, uint256 lengthSeed) external {
        bytes32 f = facilities[facilitySeed % 3];
        uint256 until = registry.attestedUntil(f);
        uint256 base = until == 0 ? 1_000_000 : until;
        uint64 start = uint64(base + bound(startSeed, 0, 7200) - 3600);
        uint64 end = start + uint64(bound(lengthSeed, 1, 3600));
        _ensurePast(end);
        IAttestationRegistry.BatchHeader memory h = _header(f, start, end, bytes32(0));
        bytes memory sigs = _sign(registry.attestationIdOf(h));
        vm.prank(vm.addr(keys[0]));
        try registry.submit(h, sigs) {
            Period[] storage periods = _regular[f];
            for (uint256 i = 0; i < periods.length; ++i) {
                if (start < periods[i].end && periods[i].start < end) ++overlapsAccepted;
            }
            periods.push(Period(start, end));
            _regularHeaders[f].push(h);
            ++regularAccepted;
        } catch {
            ++rejected;
        }
    }

    /// Correction of a random regular attestation, with a period that may stick out of the original's.
    function submitCorrection(uint256 facilitySeed, uint256 pick, uint256 startSeed, uint256 lengthSeed) external {
        bytes32 f = facilities[facilitySeed % 3];
        IAttestationRegistry.BatchHeader[] storage originals = _regularHeaders[f];
        if (originals.length == 0) return;
        IAttestationRegistry.BatchHeader memory original = originals[pick % originals.length];
        uint64 start = uint64(uint256(original.periodStart) + bound(startSeed, 0, 4000) - 200);
        uint64 end = start + uint64(bound(lengthSeed, 1, 4000));
        _ensurePast(end);
        IAttestationRegistry.BatchHeader memory h = _header(f, start, end, registry.attestationIdOf(original));
        bytes memory sigs = _sign(registry.attestationIdOf(h));
        vm.prank(vm.addr(keys[1]));
        try registry.submitCorrection(h, original, sigs) {
            _corrections.push(h);
            _correctionOriginals.push(original);
            ++correctionsAccepted;
        } catch {
            ++rejected;
        }
    }

    /// Resubmits a random accepted regular header (must always fail).
    function resubmit(uint256 facilitySeed, uint256 pick) external {
        bytes32 f = facilities[facilitySeed % 3];
        IAttestationRegistry.BatchHeader[] storage originals = _regularHeaders[f];
        if (originals.length == 0) return;
        IAttestationRegistry.BatchHeader memory h = originals[pick % originals.length];
        bytes memory sigs = _sign(registry.attestationIdOf(h));
        vm.prank(vm.addr(keys[2]));
        try registry.submit(h, sigs) {
            ++overlapsAccepted;
        } catch {
            ++rejected;
        }
    }

    function revoke(uint256 facilitySeed, uint256 pick) external {
        bytes32 f = facilities[facilitySeed % 3];
        IAttestationRegistry.BatchHeader[] storage originals = _regularHeaders[f];
        if (originals.length == 0) return;
        bytes32 id = registry.attestationIdOf(originals[pick % originals.length]);
        if (registry.isRevoked(id)) return;
        registry.revoke(id, "invariant run");
    }

    function warp(uint256 seconds_) external {
        vm.warp(block.timestamp + bound(seconds_, 0, 86_400));
    }
}

contract AttestationRegistryInvariantTest is TestBase {
    AttestationRegistry internal registry;
    AttestationHandler internal handler;

    function setUp() public {
        vm.warp(1_000_000);
        uint256[3] memory keys = [uint256(0xA11CE), 0xB0B, 0xCA401];
        // sort by address
        for (uint256 i = 1; i < 3; ++i) {
            uint256 v = keys[i];
            uint256 j = i;
            while (j > 0 && vm.addr(keys[j - 1]) > vm.addr(v)) {
                keys[j] = keys[j - 1];
                --j;
            }
            keys[j] = v;
        }
        address[] memory nodes = new address[](3);
        for (uint256 i = 0; i < 3; ++i) nodes[i] = vm.addr(keys[i]);
        OracleSet set = new OracleSet(address(this), nodes, 3);
        registry = new AttestationRegistry(address(this), set);
        handler = new AttestationHandler(registry, keys);
        registry.grantRole(registry.VERIFIER_ROLE(), address(handler));
    }

    /// @dev Read by the invariant fuzzer (Foundry's StdInvariant convention): call only the handler.
    function targetContracts() public view returns (address[] memory targets) {
        targets = new address[](1);
        targets[0] = address(handler);
    }

    /// @dev The handler really gets batches accepted (else the invariants would hold vacuously).
    function test_handler_submitsRegularBatchesAndCorrections() public {
        handler.submitRegular(0, 3600, 600); // [until, until + 600)
        handler.submitRegular(0, 3600, 600); // contiguous
        handler.submitRegular(0, 3000, 600); // starts 600 s before attestedUntil: rejected
        handler.submitCorrection(0, 0, 300, 100); // inside the first period
        handler.submitCorrection(0, 0, 0, 100); // starts 200 s before it: rejected
        handler.resubmit(0, 0); // rejected
        assertEq(handler.regularAccepted(), 2, "regular batches accepted");
        assertEq(handler.correctionsAccepted(), 1, "corrections accepted");
        assertEq(handler.rejected(), 3, "rejections");
        assertEq(handler.overlapsAccepted(), 0, "overlaps");
    }

    function invariant_noSecondOfAFacilityIsInTwoRegularAttestations() public view {
        assertEq(handler.overlapsAccepted(), 0, "an overlapping regular batch was accepted");
        for (uint256 i = 0; i < 3; ++i) {
            bytes32 f = handler.facility(i);
            AttestationHandler.Period[] memory periods = handler.regularPeriods(f);
            for (uint256 a = 1; a < periods.length; ++a) {
                assertTrue(periods[a].start >= periods[a - 1].end, "regular periods out of order");
            }
            uint256 expectedUntil = periods.length == 0 ? 0 : periods[periods.length - 1].end;
            assertEq(registry.attestedUntil(f), expectedUntil, "attestedUntil is not the last regular end");
        }
    }

    function invariant_correctionsLieInsideTheirOriginal() public view {
        uint256 n = handler.correctionCount();
        for (uint256 i = 0; i < n; ++i) {
            (IAttestationRegistry.BatchHeader memory c, IAttestationRegistry.BatchHeader memory o) = handler.correctionAt(i);
            assertTrue(c.facilityId == o.facilityId, "correction of another facility");
            assertTrue(c.periodStart >= o.periodStart && c.periodEnd <= o.periodEnd, "correction outside its original");
            assertTrue(o.correctionOf == bytes32(0), "correction of a correction");
            assertTrue(registry.exists(registry.attestationIdOf(c)), "accepted correction not stored");
        }
    }
}
