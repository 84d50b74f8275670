// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";

import {IAttestationRegistry} from "../attestation/IAttestationRegistry.sol";

/**
 * @title AttestationRegistryStandIn
 * @notice STANDS IN FOR the real AttestationRegistry (contracts/attestation/, branch main) in the
 * credits tests until it is merged. Same EIP-712 domain and BatchHeader type as docs/protocol.md,
 * same k-of-n quorum over signatures ordered by increasing signer, but a fixed node list instead of
 * the OracleSet and no Merkle or period checks. Never deploy it.
 */
contract AttestationRegistryStandIn is IAttestationRegistry, EIP712, AccessControl {
    bytes32 public constant VERIFIER_ROLE = keccak256("VERIFIER_ROLE");
    bytes32 private constant BATCH_HEADER_TYPEHASH = keccak256(
        "BatchHeader(bytes32 facilityId,uint64 periodStart,uint64 periodEnd,bytes32 merkleRoot,uint32 readingCount,uint128 fossilCo2eGrams,uint128 biogenicCo2Grams,bytes32 methodologyId,bytes32 factorSetId,string bundleCid,bytes32 correctionOf)"
    );

    address[] public nodes;
    uint256 public immutable threshold;
    mapping(bytes32 => AttestationRecord) private _records;

    error StandInUnknown(bytes32 id);
    error StandInDuplicate(bytes32 id);
    error StandInQuorum();

    constructor(address[] memory nodes_, uint256 threshold_, address admin)
        EIP712("CarbonProof AttestationRegistry", "1")
    {
        nodes = nodes_;
        threshold = threshold_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    function attestationIdOf(BatchHeader calldata h) public view returns (bytes32) {
        return _hashTypedDataV4(
            keccak256(
                abi.encode(
                    BATCH_HEADER_TYPEHASH,
                    h.facilityId,
                    h.periodStart,
                    h.periodEnd,
                    h.merkleRoot,
                    h.readingCount,
                    h.fossilCo2eGrams,
                    h.biogenicCo2Grams,
                    h.methodologyId,
                    h.factorSetId,
                    keccak256(bytes(h.bundleCid)),
                    h.correctionOf
                )
            )
        );
    }

    function submit(BatchHeader calldata h, bytes calldata signatures) external returns (bytes32 id) {
        id = attestationIdOf(h);
        if (_records[id].submittedAt != 0) revert StandInDuplicate(id);
        uint256 n = signatures.length / 65;
        if (n < threshold || signatures.length % 65 != 0) revert StandInQuorum();
        uint128 bitmap;
        address last;
        for (uint256 i; i < n; ++i) {
            address signer = ECDSA.recover(id, signatures[i * 65:(i + 1) * 65]);
            if (signer <= last) revert StandInQuorum();
            last = signer;
            uint256 index = _indexOf(signer);
            bitmap |= uint128(1 << index);
        }
        _records[id] = AttestationRecord(h.merkleRoot, uint64(block.timestamp), 0, bitmap);
    }

    function revoke(bytes32 id, string calldata) external onlyRole(VERIFIER_ROLE) {
        if (_records[id].submittedAt == 0) revert StandInUnknown(id);
        _records[id].revokedAt = uint64(block.timestamp);
    }

    function exists(bytes32 id) external view returns (bool) {
        return _records[id].submittedAt != 0;
    }

    function isRevoked(bytes32 id) external view returns (bool) {
        return _records[id].revokedAt != 0;
    }

    function getAttestation(bytes32 id) external view returns (AttestationRecord memory r) {
        r = _records[id];
        if (r.submittedAt == 0) revert StandInUnknown(id);
    }

    function wasSignedBy(bytes32 id, address node) external view returns (bool) {
        uint256 bitmap = _records[id].signerBitmap;
        for (uint256 i; i < nodes.length; ++i) {
            if (nodes[i] == node) return bitmap & (1 << i) != 0;
        }
        return false;
    }

    function verifyReading(bytes32, bytes32, bytes32[] calldata) external pure returns (bool) {
        return false;
    }

    function _indexOf(address signer) private view returns (uint256) {
        for (uint256 i; i < nodes.length; ++i) {
            if (nodes[i] == signer) return i;
        }
        revert StandInQuorum();
    }
}
