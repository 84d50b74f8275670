import { parseAbi } from "viem";

/**
 * The registry functions and events the node calls, from contracts/attestation/IAttestationRegistry.sol
 * and contracts/devices/DeviceRegistry.sol. TEMPORARY: to be replaced by the typed ABIs that
 * scripts/export-contracts.ts generates into sdk/src/contracts/generated.ts (not there yet).
 */
const header =
  "struct BatchHeader { bytes32 facilityId; uint64 periodStart; uint64 periodEnd; bytes32 merkleRoot; uint32 readingCount; uint128 fossilCo2eGrams; uint128 biogenicCo2Grams; bytes32 methodologyId; bytes32 factorSetId; string bundleCid; bytes32 correctionOf; }";

export const attestationRegistryAbi = parseAbi([
  header,
  "struct AttestationRecord { bytes32 merkleRoot; uint64 submittedAt; uint64 revokedAt; uint128 signerBitmap; }",
  "function submit(BatchHeader header, bytes signatures) returns (bytes32)",
  "function submitCorrection(BatchHeader header, BatchHeader original, bytes signatures) returns (bytes32)",
  "function exists(bytes32 id) view returns (bool)",
  "function attestationIdOf(BatchHeader header) view returns (bytes32)",
  "function verifyReading(bytes32 id, bytes32 leaf, bytes32[] proof) view returns (bool)",
  "function getAttestation(bytes32 id) view returns (AttestationRecord)",
]);

export const deviceRegistryAbi = parseAbi([
  "struct DeviceKey { bytes32 x; bytes32 y; uint64 validFrom; }",
  "struct Device { bytes32 facilityId; uint8 kind; uint8 status; uint64 registeredAt; uint64 statusChangedAt; string metadataURI; DeviceKey[] keys; }",
  "function getDevice(bytes32 id) view returns (Device)",
  "event DeviceRegistered(bytes32 indexed id, bytes32 indexed facilityId, uint8 kind, bytes32 x, bytes32 y, string metadataURI)",
  "event DeviceSuspended(bytes32 indexed id, string reason)",
  "event DeviceReactivated(bytes32 indexed id)",
  "event DeviceKeyRotated(bytes32 indexed id, uint256 keyIndex, bytes32 x, bytes32 y, uint64 validFrom)",
  "event DeviceRetired(bytes32 indexed id, string reason)",
]);
