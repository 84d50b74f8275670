// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {TestBase} from "../Vm.sol";
import {DeviceRegistry} from "../../contracts/devices/DeviceRegistry.sol";

/// @notice Key history: keyAt picks the key valid at any time; rotations are at most one a second.
contract DeviceRegistryTest is TestBase {
    DeviceRegistry internal registry;
    bytes32 internal constant DEVICE = "kangaita-chimney-1";
    bytes32 internal constant FACILITY = "ktda-kangaita";
    // P-256 points G, 2G, 3G (valid public keys)
    bytes32 internal constant X1 = 0x6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296;
    bytes32 internal constant Y1 = 0x4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5;
    bytes32 internal constant X2 = 0x7cf27b188d034f7e8a52380304b51ac3c08969e277f21b35a60b48fc47669978;
    bytes32 internal constant Y2 = 0x07775510db8ed040293d9ac69f7430dbba7dade63ce982299e04b79d227873d1;
    bytes32 internal constant X3 = 0x5ecbe4d1a6330a44c8f7ef951d4bf165e6c6b721efada985fb41661bc6e7fd6c;
    bytes32 internal constant Y3 = 0x8734640c4998ff7e374b06ce1a64a2ecd82ab036384fb83d9a79b127a27d5032;

    function setUp() public {
        registry = new DeviceRegistry(address(this));
        registry.grantRole(registry.DEVICE_MANAGER_ROLE(), address(this));
        vm.warp(1_000_000);
        registry.registerDevice(DEVICE, FACILITY, DeviceRegistry.DeviceKind.FlueGas, X1, Y1, "");
    }

    function test_rotateKey_revertsWhen_rotatedTwiceInOneSecond() public {
        vm.warp(2_000_000);
        registry.rotateKey(DEVICE, X2, Y2);
        vm.expectRevert(abi.encodeWithSelector(DeviceRegistry.DeviceRegistryRotationTooSoon.selector, DEVICE, uint64(2_000_000)));
        registry.rotateKey(DEVICE, X3, Y3);
    }

    function testFuzz_keyAt_returnsTheKeyValidAtTheReadingTime(uint64 gap1, uint64 gap2, uint64 ts) public {
        uint64 r1 = uint64(bound(gap1, 1_000_001, 1e12));
        uint64 r2 = uint64(bound(gap2, uint256(r1) + 1, 2e12));
        vm.warp(r1);
        registry.rotateKey(DEVICE, X2, Y2);
        vm.warp(r2);
        registry.rotateKey(DEVICE, X3, Y3);
        DeviceRegistry.DeviceKey memory key = registry.keyAt(DEVICE, ts);
        bytes32 expected = ts < r1 ? X1 : ts < r2 ? X2 : X3;
        assertEq(key.x, expected, "wrong key for the time");
        assertEq(registry.currentKey(DEVICE).x, X3, "current key is the last");
    }
}
