// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {TestBase} from "../Vm.sol";
import {OracleSet} from "../../contracts/oracles/OracleSet.sol";

/// @notice Fuzz tests of the quorum check: any sorted subset of active nodes of size ≥ k passes
/// with the right bitmap; fewer, duplicated, unsorted, foreign or removed signers never do.
contract OracleSetTest is TestBase {
    uint256 internal constant N = 8;
    OracleSet internal set;
    uint256[N] internal keys; // sorted by address; index i = i-th smallest
    address[N] internal nodes;

    function setUp() public {
        for (uint256 i = 0; i < N; ++i) keys[i] = 0xC0FFEE + i;
        for (uint256 i = 1; i < N; ++i) {
            uint256 v = keys[i];
            uint256 j = i;
            while (j > 0 && vm.addr(keys[j - 1]) > vm.addr(v)) {
                keys[j] = keys[j - 1];
                --j;
            }
            keys[j] = v;
        }
        address[] memory initial = new address[](N);
        for (uint256 i = 0; i < N; ++i) {
            nodes[i] = vm.addr(keys[i]);
            initial[i] = nodes[i];
        }
        set = new OracleSet(address(this), initial, 1);
    }

    function _sig(uint256 key, bytes32 digest) private pure returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, digest);
        return abi.encodePacked(r, s, v);
    }

    function _signSubset(uint256 mask, bytes32 digest) private view returns (bytes memory sigs, uint256 count) {
        for (uint256 i = 0; i < N; ++i) {
            if ((mask >> i) & 1 == 1) {
                sigs = bytes.concat(sigs, _sig(keys[i], digest));
                ++count;
            }
        }
    }

    function testFuzz_verifyQuorum_acceptsSortedSubsetsOfAtLeastK(bytes32 digest, uint256 maskSeed, uint256 kSeed) public {
        uint256 mask = bound(maskSeed, 1, (1 << N) - 1);
        uint8 k = uint8(bound(kSeed, 1, N));
        set.setThreshold(k);
        (bytes memory sigs, uint256 count) = _signSubset(mask, digest);
        if (count < k) {
            vm.expectRevert(abi.encodeWithSelector(OracleSet.OracleSetQuorumNotReached.selector, count, k));
            set.verifyQuorum(digest, sigs);
        } else {
            assertEq(set.verifyQuorum(digest, sigs), mask, "bitmap is not the signers' indices");
        }
    }

    function testFuzz_verifyQuorum_rejectsADuplicatedSigner(bytes32 digest, uint256 pick) public {
        uint256 i = bound(pick, 0, N - 1);
        bytes memory one = _sig(keys[i], digest);
        vm.expectRevert(abi.encodeWithSelector(OracleSet.OracleSetSignersNotSorted.selector, 1, nodes[i], nodes[i]));
        set.verifyQuorum(digest, bytes.concat(one, one));
    }

    function testFuzz_verifyQuorum_rejectsSignersOutOfOrder(bytes32 digest, uint256 a, uint256 b) public {
        uint256 lo = bound(a, 0, N - 2);
        uint256 hi = bound(b, lo + 1, N - 1);
        bytes memory sigs = bytes.concat(_sig(keys[hi], digest), _sig(keys[lo], digest));
        vm.expectRevert(abi.encodeWithSelector(OracleSet.OracleSetSignersNotSorted.selector, 1, nodes[lo], nodes[hi]));
        set.verifyQuorum(digest, sigs);
    }

    function testFuzz_verifyQuorum_rejectsASignerOutsideTheSet(bytes32 digest, uint256 keySeed) public {
        uint256 key = bound(keySeed, 1, 0xFFFFFFFFFFFF);
        vm.assume(key < 0xC0FFEE || key >= 0xC0FFEE + N);
        vm.expectRevert(abi.encodeWithSelector(OracleSet.OracleSetSignerNotActive.selector, 0, vm.addr(key)));
        set.verifyQuorum(digest, _sig(key, digest));
    }

    function testFuzz_verifyQuorum_rejectsARemovedNode(bytes32 digest, uint256 pick) public {
        uint256 i = bound(pick, 0, N - 1);
        set.removeNode(nodes[i]);
        vm.expectRevert(abi.encodeWithSelector(OracleSet.OracleSetSignerNotActive.selector, 0, nodes[i]));
        set.verifyQuorum(digest, _sig(keys[i], digest));
        set.addNode(nodes[i]);
        assertEq(set.verifyQuorum(digest, _sig(keys[i], digest)), uint256(1) << i, "reactivated node keeps its index");
    }

    function testFuzz_verifyQuorum_rejectsASignatureOverAnotherDigest(bytes32 digest, bytes32 other) public view {
        vm.assume(digest != other);
        bytes memory sig = _sig(keys[0], other);
        // recovers some unrelated address: rejected as not sorted (zero) or not active
        (bool ok, ) = address(set).staticcall(abi.encodeCall(OracleSet.verifyQuorum, (digest, sig)));
        assertTrue(!ok, "signature over another digest accepted");
    }
}
