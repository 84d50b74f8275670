import { parseAbi } from "viem";

/**
 * The contract surface the verifier reads, written from the Solidity sources
 * (contracts/attestation/AttestationRegistry.sol, contracts/devices/DeviceRegistry.sol,
 * contracts/oracles/OracleSet.sol).
 * TODO(contracts export): replace with the typed ABIs of sdk/src/contracts/generated.ts
 * once scripts/export-contracts.ts writes it; the cross-test in verify.test.ts runs
 * against the compiled contracts, so a drift fails there first.
 */
const header =
  "struct BatchHeader { bytes32 facilityId; uint64 periodStart; uint64 periodEnd; bytes32 merkleRoot; uint32 readingCount; uint128 fossilCo2eGrams; uint128 biogenicCo2Grams; bytes32 methodologyId; bytes32 factorSetId; string bundleCid; bytes32 correctionOf; }";

export const attestationRegistryAbi = parseAbi([
  header,
  "struct AttestationRecord { bytes32 merkleRoot; uint64 submittedAt; uint64 revokedAt; uint128 signerBitmap; }",
  "event AttestationSubmitted(bytes32 indexed id, bytes32 indexed facilityId, uint128 signerBitmap, BatchHeader header)",
  "event AttestationRevoked(bytes32 indexed id, address indexed verifier, string reason)",
  "function submit(BatchHeader header, bytes signatures) returns (bytes32)",
  "function submitCorrection(BatchHeader header, BatchHeader original, bytes signatures) returns (bytes32)",
  "function attestationIdOf(BatchHeader header) view returns (bytes32)",
  "function exists(bytes32 id) view returns (bool)",
  "function isRevoked(bytes32 id) view returns (bool)",
  "function getAttestation(bytes32 id) view returns (AttestationRecord)",
  "function verifyReading(bytes32 id, bytes32 leaf, bytes32[] proof) view returns (bool)",
  "function oracleSet() view returns (address)",
]);

export const deviceRegistryAbi = parseAbi([
  "struct DeviceKey { bytes32 x; bytes32 y; uint64 validFrom; }",
  "function keyAt(bytes32 id, uint64 timestamp) view returns (DeviceKey)",
  "function currentKey(bytes32 id) view returns (DeviceKey)",
  "function facilityOf(bytes32 id) view returns (bytes32)",
]);

export const oracleSetAbi = parseAbi([
  "function threshold() view returns (uint8)",
  "function signersOf(uint128 bitmap) view returns (address[])",
]);
