// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {OracleSet} from "../../contracts/oracles/OracleSet.sol";
import {AttestationRegistry} from "../../contracts/attestation/AttestationRegistry.sol";
import {IAttestationRegistry} from "../../contracts/attestation/IAttestationRegistry.sol";
import {CarbonCredits} from "../../contracts/credits/CarbonCredits.sol";
import {RetirementCertificates} from "../../contracts/retirement/RetirementCertificates.sol";
import {RetirementDetails} from "../../contracts/retirement/IRetirementCertificates.sol";
import {Marketplace} from "../../contracts/market/Marketplace.sol";
import {TestUSD} from "../../contracts/test/TestUSD.sol";

/// @notice The few Hardhat/Foundry cheatcodes these tests use (no forge-std here).
interface Vm {
    function sign(uint256 privateKey, bytes32 digest) external pure returns (uint8 v, bytes32 r, bytes32 s);
    function addr(uint256 privateKey) external pure returns (address);
    function prank(address sender) external;
    function startPrank(address sender) external;
    function stopPrank() external;
    function warp(uint256 timestamp) external;
    function expectRevert(bytes calldata revertData) external;
    function expectRevert(bytes4 selector) external;
    function expectRevert() external;
    function assume(bool condition) external pure;
    function deal(address account, uint256 balance) external;
}

/**
 * @notice The real attestation contracts (OracleSet with three nodes, quorum 2; AttestationRegistry)
 * and the credits contracts, deployed by a test contract that is admin and verifier. Oracle keys
 * are local test keys; headers are signed with `vm.sign` over the registry's EIP-712 id.
 */
abstract contract CreditsTestBase {
    Vm internal constant vm = Vm(0x7109709ECfa91a80626fF3989D68f67F5b1DD12D);

    uint256 internal constant DAY = 86_400;
    uint64 internal constant Y2025 = 1_735_689_600;
    uint64 internal constant Y2026 = 1_767_225_600;
    uint64 internal constant WINDOW = 3 days;
    uint128 internal constant BASELINE_PER_DAY = 1_000_000;
    bytes32 internal constant FACILITY = "ktda-kangaita";
    bytes32 internal constant METHODOLOGY = keccak256("carbonproof/flue-gas/v1");

    uint256[3] internal nodeKeys = [uint256(0xA11CE), 0xB0B, 0xC0FFEE];
    OracleSet internal oracleSet;
    AttestationRegistry internal registry;
    CarbonCredits internal credits;
    RetirementCertificates internal certificates;
    Marketplace internal market;
    TestUSD internal usd;
    address internal treasury = address(0x7EA5);
    address internal proponent = address(0x9209);
    uint40 internal projectId;

    function _deploy() internal {
        vm.warp(Y2026 + 300 * DAY);
        address[] memory nodes = new address[](3);
        for (uint256 i; i < 3; ++i) nodes[i] = vm.addr(nodeKeys[i]);
        oracleSet = new OracleSet(address(this), nodes, 2);
        registry = new AttestationRegistry(address(this), oracleSet);
        credits = new CarbonCredits(IAttestationRegistry(address(registry)), address(this), WINDOW);
        certificates = new RetirementCertificates(credits, address(this));
        market = new Marketplace(credits, certificates, address(this), treasury, 250);
        usd = new TestUSD();
        credits.setCertificates(certificates);
        registry.grantRole(registry.VERIFIER_ROLE(), address(credits));
        credits.grantRole(credits.VERIFIER_ROLE(), address(this));
        certificates.grantRole(certificates.ESCROW_ROLE(), address(market));
        market.setPaymentToken(address(usd), true);
        projectId = credits.registerProject(
            CarbonCredits.ProjectParams({
                proponent: proponent,
                facilityId: FACILITY,
                methodologyId: METHODOLOGY,
                name: "Kangaita biomass boiler",
                standard: "CarbonProof Standard v1",
                baselineEffectiveFrom: Y2025,
                baselineGramsPerDay: BASELINE_PER_DAY,
                baselineCid: "bafkreibaseline"
            })
        );
    }

    function _header(uint64 start, uint64 end, uint128 fossil) internal pure returns (IAttestationRegistry.BatchHeader memory h) {
        h.facilityId = FACILITY;
        h.periodStart = start;
        h.periodEnd = end;
        h.merkleRoot = keccak256(abi.encode(start, end, fossil));
        h.readingCount = 100;
        h.fossilCo2eGrams = fossil;
        h.biogenicCo2Grams = 1;
        h.methodologyId = METHODOLOGY;
        h.factorSetId = keccak256("ipcc-2006-v1");
        h.bundleCid = "bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi";
    }

    /// @dev Quorum of nodes 0 and 1, ordered by address, submitted by node 0.
    function _attest(IAttestationRegistry.BatchHeader memory h) internal returns (bytes32 id) {
        id = registry.attestationIdOf(h);
        address a = vm.addr(nodeKeys[0]);
        address b = vm.addr(nodeKeys[1]);
        (uint256 first, uint256 second) = a < b ? (nodeKeys[0], nodeKeys[1]) : (nodeKeys[1], nodeKeys[0]);
        bytes memory sigs = abi.encodePacked(_sig(first, id), _sig(second, id));
        vm.prank(a);
        registry.submit(h, sigs);
    }

    /// @dev Correction `h` of `original`, quorum of nodes 0 and 1 as in {_attest}.
    function _attestCorrection(
        IAttestationRegistry.BatchHeader memory h,
        IAttestationRegistry.BatchHeader memory original
    ) internal returns (bytes32 id) {
        id = registry.attestationIdOf(h);
        address a = vm.addr(nodeKeys[0]);
        address b = vm.addr(nodeKeys[1]);
        (uint256 first, uint256 second) = a < b ? (nodeKeys[0], nodeKeys[1]) : (nodeKeys[1], nodeKeys[0]);
        bytes memory sigs = abi.encodePacked(_sig(first, id), _sig(second, id));
        vm.prank(a);
        registry.submitCorrection(h, original, sigs);
    }

    function _sig(uint256 key, bytes32 digest) private pure returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, digest);
        return abi.encodePacked(r, s, v);
    }

    function _details(address beneficiary) internal pure returns (RetirementDetails memory d) {
        d.beneficiary = beneficiary;
        d.beneficiaryName = "Acme Tea Ltd";
        d.reason = "FY2026 scope 1 offset";
    }

    /// @dev The bound computed independently of the contract: floor((baseline − fossil) / 1000).
    function _expectedBound(uint64 start, uint64 end, uint128 fossil) internal pure returns (uint256) {
        uint256 baseline = uint256(BASELINE_PER_DAY) * (end - start) / DAY;
        return baseline > fossil ? (baseline - fossil) / 1000 : 0;
    }
}
