// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {P256} from "@openzeppelin/contracts/utils/cryptography/P256.sol";
import {Ids} from "../common/Ids.sol";

/**
 * @title DeviceRegistry
 * @notice Sensors and meters with their P-256 public keys (the key of the device's secure
 * element), their facility, kind and status, and the full history of their keys.
 *
 * Key history: a device has key 0 from registration; {rotateKey} appends a key valid from the
 * rotation's block time. Key i is valid for readings with `validFrom_i ≤ ts < validFrom_{i+1}`;
 * key 0 is valid for every reading before the first rotation, including readings made before
 * registration (until a rotation the device has had only that key). Rotation cannot be
 * backdated: a reading made with a compromised key before the rotation still verifies, and the
 * verifier's remedy is revoking the attestations concerned.
 *
 * Status (Active, Suspended, Retired) says whether the oracle may accept new readings from the
 * device; it does not change whether a past reading's signature is valid, so the signature
 * checks below ignore it. Retirement is final.
 *
 * Signatures are ECDSA P-256 over the reading digest (SHA-256 of the canonical bytes), `r ‖ s`,
 * low-s only, checked through OpenZeppelin {P256} (the EIP-7951 precompile at 0x100, with
 * OpenZeppelin's Solidity fallback on chains without it).
 */
contract DeviceRegistry is AccessControl {
    /// @notice Registers devices, changes their status, rotates their keys.
    bytes32 public constant DEVICE_MANAGER_ROLE = keccak256("DEVICE_MANAGER_ROLE");

    /// @notice What a device measures (protocol reading kinds: flue-gas, electricity, fuel, manual).
    enum DeviceKind {
        FlueGas,
        ElectricityMeter,
        FuelMeter,
        ManualEntry
    }

    /// @notice Lifecycle of a device. `None` = never registered.
    enum DeviceStatus {
        None,
        Active,
        Suspended,
        Retired
    }

    /// @notice One key of a device's history.
    struct DeviceKey {
        bytes32 x;
        bytes32 y;
        uint64 validFrom; // unix seconds; 0 for the first key (see contract notice)
    }

    /// @notice A device as stored.
    struct Device {
        bytes32 facilityId;
        DeviceKind kind;
        DeviceStatus status;
        uint64 registeredAt;
        uint64 statusChangedAt;
        string metadataURI;
        DeviceKey[] keyHistory; // oldest first; the last one is the current key
    }

    mapping(bytes32 id => Device) private _devices;

    /// @notice Device `id` of facility `facilityId` was registered with key (keyX, keyY).
    event DeviceRegistered(
        bytes32 indexed id,
        bytes32 indexed facilityId,
        DeviceKind kind,
        bytes32 keyX,
        bytes32 keyY,
        string metadataURI
    );
    /// @notice Device `id` was suspended (no new readings accepted) for `reason`.
    event DeviceSuspended(bytes32 indexed id, string reason);
    /// @notice Device `id` was reactivated after a suspension.
    event DeviceReactivated(bytes32 indexed id);
    /// @notice Device `id` got key number `keyIndex` (x, y), valid for readings from `validFrom` on.
    event DeviceKeyRotated(bytes32 indexed id, uint256 keyIndex, bytes32 x, bytes32 y, uint64 validFrom);
    /// @notice Device `id` was retired for good, for `reason`.
    event DeviceRetired(bytes32 indexed id, string reason);
    /// @notice Device `id`'s metadata URI changed.
    event DeviceMetadataUpdated(bytes32 indexed id, string metadataURI);

    /// @notice `id` is not a protocol id (1–32 chars of [a-z0-9][a-z0-9._-]*, zero-padded).
    error DeviceRegistryInvalidId(bytes32 id);
    /// @notice `facilityId` is not a protocol id.
    error DeviceRegistryInvalidFacilityId(bytes32 facilityId);
    /// @notice Device `id` exists already.
    error DeviceRegistryAlreadyRegistered(bytes32 id);
    /// @notice Device `id` was never registered.
    error DeviceRegistryUnknownDevice(bytes32 id);
    /// @notice (x, y) is not a valid P-256 public key.
    error DeviceRegistryInvalidKey(bytes32 x, bytes32 y);
    /// @notice The operation is not allowed while device `id` has status `status`.
    error DeviceRegistryInvalidStatus(bytes32 id, DeviceStatus status);
    /// @notice Device `id` already got a key in this second (`validFrom`).
    error DeviceRegistryRotationTooSoon(bytes32 id, uint64 validFrom);

    /// @param admin receives `DEFAULT_ADMIN_ROLE` (grants `DEVICE_MANAGER_ROLE`).
    constructor(address admin) {
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    // ---------------------------------------------------------------- device manager

    /**
     * @notice Registers device `id` of facility `facilityId` with P-256 key (x, y). Device manager only.
     * @param id          device id (protocol id, bytes32)
     * @param facilityId  facility id (protocol id, bytes32)
     * @param kind        what the device measures
     * @param x           public key x coordinate
     * @param y           public key y coordinate
     * @param metadataURI where the device's description lives (e.g. ipfs://…), may be empty
     */
    function registerDevice(
        bytes32 id,
        bytes32 facilityId,
        DeviceKind kind,
        bytes32 x,
        bytes32 y,
        string calldata metadataURI
    ) external onlyRole(DEVICE_MANAGER_ROLE) {
        if (!Ids.isValid(id)) revert DeviceRegistryInvalidId(id);
        if (!Ids.isValid(facilityId)) revert DeviceRegistryInvalidFacilityId(facilityId);
        if (!P256.isValidPublicKey(x, y)) revert DeviceRegistryInvalidKey(x, y);
        Device storage device = _devices[id];
        if (device.status != DeviceStatus.None) revert DeviceRegistryAlreadyRegistered(id);
        device.facilityId = facilityId;
        device.kind = kind;
        device.status = DeviceStatus.Active;
        device.registeredAt = uint64(block.timestamp);
        device.statusChangedAt = uint64(block.timestamp);
        if (bytes(metadataURI).length != 0) device.metadataURI = metadataURI;
        device.keyHistory.push(DeviceKey({x: x, y: y, validFrom: 0}));
        emit DeviceRegistered(id, facilityId, kind, x, y, metadataURI);
    }

    /// @notice Suspends an active device: the oracle accepts no new readings from it. Device manager only.
    function suspendDevice(bytes32 id, string calldata reason) external onlyRole(DEVICE_MANAGER_ROLE) {
        Device storage device = _existing(id);
        if (device.status != DeviceStatus.Active) revert DeviceRegistryInvalidStatus(id, device.status);
        _setStatus(device, DeviceStatus.Suspended);
        emit DeviceSuspended(id, reason);
    }

    /// @notice Reactivates a suspended device. Device manager only.
    function reactivateDevice(bytes32 id) external onlyRole(DEVICE_MANAGER_ROLE) {
        Device storage device = _existing(id);
        if (device.status != DeviceStatus.Suspended) revert DeviceRegistryInvalidStatus(id, device.status);
        _setStatus(device, DeviceStatus.Active);
        emit DeviceReactivated(id);
    }

    /**
     * @notice Gives device `id` a new key, valid for readings from this block's time on; the previous
     * key stays valid for readings before it. Allowed while active or suspended. Device manager only.
     */
    function rotateKey(bytes32 id, bytes32 x, bytes32 y) external onlyRole(DEVICE_MANAGER_ROLE) {
        Device storage device = _existing(id);
        if (device.status == DeviceStatus.Retired) revert DeviceRegistryInvalidStatus(id, device.status);
        if (!P256.isValidPublicKey(x, y)) revert DeviceRegistryInvalidKey(x, y);
        uint64 validFrom = uint64(block.timestamp);
        uint256 count = device.keyHistory.length;
        if (device.keyHistory[count - 1].validFrom == validFrom) revert DeviceRegistryRotationTooSoon(id, validFrom);
        device.keyHistory.push(DeviceKey({x: x, y: y, validFrom: validFrom}));
        emit DeviceKeyRotated(id, count, x, y, validFrom);
    }

    /// @notice Retires device `id` for good (from active or suspended). Device manager only.
    function retireDevice(bytes32 id, string calldata reason) external onlyRole(DEVICE_MANAGER_ROLE) {
        Device storage device = _existing(id);
        if (device.status == DeviceStatus.Retired) revert DeviceRegistryInvalidStatus(id, device.status);
        _setStatus(device, DeviceStatus.Retired);
        emit DeviceRetired(id, reason);
    }

    /// @notice Replaces device `id`'s metadata URI. Device manager only.
    function setMetadataURI(bytes32 id, string calldata metadataURI) external onlyRole(DEVICE_MANAGER_ROLE) {
        Device storage device = _existing(id);
        device.metadataURI = metadataURI;
        emit DeviceMetadataUpdated(id, metadataURI);
    }

    // ---------------------------------------------------------------- views

    /// @notice Device `id` with its whole key history. Reverts for an unknown id.
    function getDevice(bytes32 id) external view returns (Device memory) {
        return _existing(id);
    }

    /// @notice True when device `id` exists and is active (the oracle may accept its new readings).
    function isActive(bytes32 id) external view returns (bool) {
        return _devices[id].status == DeviceStatus.Active;
    }

    /// @notice Facility of device `id`. Reverts for an unknown id.
    function facilityOf(bytes32 id) external view returns (bytes32) {
        return _existing(id).facilityId;
    }

    /// @notice The key of device `id` that is valid now (the latest one). Reverts for an unknown id.
    function currentKey(bytes32 id) external view returns (DeviceKey memory) {
        DeviceKey[] storage keys = _existing(id).keyHistory;
        return keys[keys.length - 1];
    }

    /// @notice The key of device `id` valid for a reading with time `timestamp` (unix seconds).
    function keyAt(bytes32 id, uint64 timestamp) public view returns (DeviceKey memory) {
        DeviceKey[] storage keys = _existing(id).keyHistory;
        return keys[_keyIndexAt(keys, timestamp)];
    }

    /**
     * @notice Checks a P-256 signature `r ‖ s` (low-s) over `digest` against device `id`'s current key.
     * For a reading made before a rotation use {verifyDeviceSignatureAt}. Reverts for an unknown id.
     */
    function verifyDeviceSignature(bytes32 id, bytes32 digest, bytes32 r, bytes32 s) external view returns (bool) {
        DeviceKey[] storage keys = _existing(id).keyHistory;
        DeviceKey storage key = keys[keys.length - 1];
        return P256.verify(digest, r, s, key.x, key.y);
    }

    /**
     * @notice Checks a P-256 signature `r ‖ s` (low-s) over `digest` against the key device `id` had
     * at `timestamp` (the reading's `ts`). Reverts for an unknown id.
     */
    function verifyDeviceSignatureAt(
        bytes32 id,
        bytes32 digest,
        bytes32 r,
        bytes32 s,
        uint64 timestamp
    ) external view returns (bool) {
        DeviceKey[] storage keys = _existing(id).keyHistory;
        DeviceKey storage key = keys[_keyIndexAt(keys, timestamp)];
        return P256.verify(digest, r, s, key.x, key.y);
    }

    // ---------------------------------------------------------------- internal

    function _existing(bytes32 id) private view returns (Device storage device) {
        device = _devices[id];
        if (device.status == DeviceStatus.None) revert DeviceRegistryUnknownDevice(id);
    }

    function _setStatus(Device storage device, DeviceStatus status) private {
        device.status = status;
        device.statusChangedAt = uint64(block.timestamp);
    }

    /// @dev Latest key with validFrom ≤ timestamp; key 0 (validFrom 0) always qualifies.
    function _keyIndexAt(DeviceKey[] storage keys, uint64 timestamp) private view returns (uint256 i) {
        i = keys.length - 1;
        while (i > 0 && keys[i].validFrom > timestamp) --i;
    }
}
