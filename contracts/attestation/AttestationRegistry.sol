// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {IAttestationRegistry} from "./IAttestationRegistry.sol";
import {Sha256Merkle} from "./Sha256Merkle.sol";
import {OracleSet} from "../oracles/OracleSet.sol";

/**
 * @title AttestationRegistry
 * @notice Batches of signed readings, co-signed by a quorum of the {OracleSet}, anchored by their
 * SHA-256 Merkle root. An attestation's id is the EIP-712 digest of its {BatchHeader} (domain
 * "CarbonProof AttestationRegistry", version "1"); the registry stores two slots per attestation
 * and emits the whole header in {AttestationSubmitted}.
 *
 * ## No reading is attested twice (docs/protocol.md)
 * A reading belongs to the batch of its facility whose period `[periodStart, periodEnd)` contains
 * its `ts`. The registry enforces:
 * 1. Regular batches (`correctionOf == 0`, through {submit}) of one facility never overlap: the
 *    registry keeps per facility the end of the last regular period ({attestedUntil}) and rejects
 *    a regular batch that starts before it. Oracles should start each batch where the previous one
 *    ended, so that every second of a facility's time is covered by exactly one regular batch.
 * 2. A reading that arrives after its period was attested goes into a correction batch (through
 *    {submitCorrection}): `correctionOf` is the id of the regular attestation whose period contains
 *    it, and the correction's period lies inside that period and its facility is the same. A
 *    correction never moves {attestedUntil}. Corrections of corrections are rejected. A revoked
 *    regular attestation may be corrected: that is how a wrong batch is re-attested.
 * 3. The same header is never accepted twice (its id exists).
 * What a contract cannot see — that the leaves of an attestation and of its corrections are
 * disjoint, and that no `(deviceId, seq)` appears twice among a facility's attestations — the
 * oracle guarantees and the verifier checks off-chain from the bundles before issuing.
 *
 * ## Who may submit
 * Only an active node of {oracleSet} (the "oracle node" role of CarbonProof is membership of the
 * oracle set, not an AccessControl role here), and only with at least `k` valid signatures of active
 * nodes. Verifiers revoke, pausers pause; no role here issues credits.
 */
contract AttestationRegistry is IAttestationRegistry, EIP712, AccessControl, Pausable {
    /// @notice May revoke attestations.
    bytes32 public constant VERIFIER_ROLE = keccak256("VERIFIER_ROLE");
    /// @notice May pause and unpause submissions.
    bytes32 public constant PAUSER_ROLE = keccak256("PAUSER_ROLE");

    /// @notice EIP-712 type hash of {BatchHeader} (docs/protocol.md).
    bytes32 public constant BATCH_HEADER_TYPEHASH =
        keccak256(
            "BatchHeader(bytes32 facilityId,uint64 periodStart,uint64 periodEnd,bytes32 merkleRoot,uint32 readingCount,uint128 fossilCo2eGrams,uint128 biogenicCo2Grams,bytes32 methodologyId,bytes32 factorSetId,string bundleCid,bytes32 correctionOf)"
        );

    /// @notice The oracle nodes and quorum threshold that attest batches.
    OracleSet public immutable oracleSet;

    mapping(bytes32 id => AttestationRecord) private _attestations;
    mapping(bytes32 facilityId => uint64) private _attestedUntil;

    /// @notice Attestation `id` of `facilityId` was submitted, co-signed by the nodes of `signerBitmap`
    /// (indices in {oracleSet}), with its full `header` (the submitter is the transaction's sender).
    event AttestationSubmitted(bytes32 indexed id, bytes32 indexed facilityId, uint128 signerBitmap, BatchHeader header);
    /// @notice Attestation `id` was revoked by `verifier` for `reason`.
    event AttestationRevoked(bytes32 indexed id, address indexed verifier, string reason);

    /// @notice The header's Merkle root is zero.
    error AttestationRegistryZeroRoot();
    /// @notice The header's reading count is zero.
    error AttestationRegistryZeroReadingCount();
    /// @notice The period is empty or reversed (`periodStart ≥ periodEnd`).
    error AttestationRegistryInvalidPeriod(uint64 periodStart, uint64 periodEnd);
    /// @notice The period ends after the current block time.
    error AttestationRegistryPeriodInFuture(uint64 periodEnd, uint256 blockTime);
    /// @notice A regular batch of `facilityId` starts before the end of the last regular period.
    error AttestationRegistryPeriodOverlap(bytes32 facilityId, uint64 periodStart, uint64 attestedUntil);
    /// @notice The header with id `id` was already attested.
    error AttestationRegistryAlreadyAttested(bytes32 id);
    /// @notice No attestation has id `id`.
    error AttestationRegistryUnknownAttestation(bytes32 id);
    /// @notice Attestation `id` is already revoked.
    error AttestationRegistryAlreadyRevoked(bytes32 id);
    /// @notice {submit} got a correction batch (`correctionOf` non-zero): use {submitCorrection}.
    error AttestationRegistryCorrectionNeedsOriginal(bytes32 correctionOf);
    /// @notice {submitCorrection} got a regular batch (`correctionOf` zero): use {submit}.
    error AttestationRegistryNotACorrection();
    /// @notice The original header given has id `originalId`, not the header's `correctionOf`.
    error AttestationRegistryOriginalMismatch(bytes32 correctionOf, bytes32 originalId);
    /// @notice The corrected attestation `originalId` is itself a correction.
    error AttestationRegistryOriginalIsCorrection(bytes32 originalId);
    /// @notice The correction is for `facilityId` but the original for `originalFacilityId`.
    error AttestationRegistryFacilityMismatch(bytes32 facilityId, bytes32 originalFacilityId);
    /// @notice The correction is computed with methodology `methodologyId` but the original with
    /// `originalMethodologyId`: a project's scope is its facility and methodology, so a correction
    /// of another methodology would charge or credit another project.
    error AttestationRegistryMethodologyMismatch(bytes32 methodologyId, bytes32 originalMethodologyId);
    /// @notice The correction's period is not inside the original's.
    error AttestationRegistryCorrectionOutsidePeriod(
        uint64 periodStart,
        uint64 periodEnd,
        uint64 originalStart,
        uint64 originalEnd
    );

    /**
     * @param admin       receives `DEFAULT_ADMIN_ROLE` (grants verifier and pauser roles)
     * @param oracleSet_  the oracle set whose quorum attests batches
     */
    constructor(address admin, OracleSet oracleSet_) EIP712("CarbonProof AttestationRegistry", "1") {
        oracleSet = oracleSet_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    // ---------------------------------------------------------------- submission

    /**
     * @notice Submits a regular batch (`correctionOf == 0`). Caller: an active oracle node.
     * Rejects a zero root or reading count, an empty/reversed period, a period ending in the
     * future, a period starting before {attestedUntil} of its facility, a header already
     * attested, a quorum that fails {OracleSet-verifyQuorum}, and any call while paused.
     * @param header      the batch header (docs/protocol.md)
     * @param signatures  concatenated 65-byte `r ‖ s ‖ v` signatures over the id, by increasing signer
     * @return id         the attestation id (EIP-712 digest of `header`)
     */
    function submit(
        BatchHeader calldata header,
        bytes calldata signatures
    ) external whenNotPaused returns (bytes32 id) {
        if (header.correctionOf != bytes32(0)) revert AttestationRegistryCorrectionNeedsOriginal(header.correctionOf);
        _checkHeader(header);
        bytes32 facilityId = header.facilityId;
        uint64 until = _attestedUntil[facilityId];
        if (header.periodStart < until) revert AttestationRegistryPeriodOverlap(facilityId, header.periodStart, until);
        _attestedUntil[facilityId] = header.periodEnd;
        return _record(header, signatures);
    }

    /**
     * @notice Submits a correction batch: late readings of the period of the regular attestation
     * `header.correctionOf`, whose header is passed as `original` (checked against its id).
     * The correction's facility and methodology must be the original's (a project's scope in
     * CarbonCredits) and its period inside the original's.
     * Same other checks as {submit}. Caller: an active oracle node.
     * @param header      the correction's header (`correctionOf` = id of `original`)
     * @param original    the header of the regular attestation being corrected
     * @param signatures  quorum signatures over the correction's id, as in {submit}
     * @return id         the correction's attestation id
     */
    function submitCorrection(
        BatchHeader calldata header,
        BatchHeader calldata original,
        bytes calldata signatures
    ) external whenNotPaused returns (bytes32 id) {
        bytes32 correctionOf = header.correctionOf;
        if (correctionOf == bytes32(0)) revert AttestationRegistryNotACorrection();
        _checkHeader(header);
        bytes32 originalId = attestationIdOf(original);
        if (originalId != correctionOf) revert AttestationRegistryOriginalMismatch(correctionOf, originalId);
        if (_attestations[originalId].submittedAt == 0) revert AttestationRegistryUnknownAttestation(originalId);
        if (original.correctionOf != bytes32(0)) revert AttestationRegistryOriginalIsCorrection(originalId);
        if (header.facilityId != original.facilityId) {
            revert AttestationRegistryFacilityMismatch(header.facilityId, original.facilityId);
        }
        if (header.methodologyId != original.methodologyId) {
            revert AttestationRegistryMethodologyMismatch(header.methodologyId, original.methodologyId);
        }
        if (header.periodStart < original.periodStart || header.periodEnd > original.periodEnd) {
            revert AttestationRegistryCorrectionOutsidePeriod(
                header.periodStart,
                header.periodEnd,
                original.periodStart,
                original.periodEnd
            );
        }
        return _record(header, signatures);
    }

    /// @notice Revokes attestation `id` with a `reason`: it backs no new credits. Verifier only.
    function revoke(bytes32 id, string calldata reason) external onlyRole(VERIFIER_ROLE) {
        AttestationRecord storage record = _attestations[id];
        if (record.submittedAt == 0) revert AttestationRegistryUnknownAttestation(id);
        if (record.revokedAt != 0) revert AttestationRegistryAlreadyRevoked(id);
        record.revokedAt = uint64(block.timestamp);
        emit AttestationRevoked(id, msg.sender, reason);
    }

    /// @notice Stops submissions (revocation stays possible). Pauser only.
    function pause() external onlyRole(PAUSER_ROLE) {
        _pause();
    }

    /// @notice Resumes submissions. Pauser only.
    function unpause() external onlyRole(PAUSER_ROLE) {
        _unpause();
    }

    // ---------------------------------------------------------------- views

    /// @notice EIP-712 digest of `header` = the id it gets once attested.
    function attestationIdOf(BatchHeader calldata header) public view returns (bytes32) {
        return _hashTypedDataV4(hashBatchHeader(header));
    }

    /// @notice EIP-712 struct hash of `header` (before the domain is applied).
    function hashBatchHeader(BatchHeader calldata header) public pure returns (bytes32 structHash) {
        _checkClean(header);
        string calldata cid = header.bundleCid;
        bytes32 typeHash = BATCH_HEADER_TYPEHASH;
        assembly ("memory-safe") {
            // typeHash ‖ the 9 static words before bundleCid ‖ keccak256(bundleCid) ‖ correctionOf
            let ptr := mload(0x40)
            mstore(ptr, typeHash)
            calldatacopy(add(ptr, 0x20), header, 0x120)
            calldatacopy(add(ptr, 0x180), cid.offset, cid.length)
            mstore(add(ptr, 0x140), keccak256(add(ptr, 0x180), cid.length))
            mstore(add(ptr, 0x160), calldataload(add(header, 0x140)))
            structHash := keccak256(ptr, 0x180)
        }
    }

    /// @notice The EIP-712 domain separator of this registry.
    function domainSeparator() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    /// @notice End of the last regular period attested for `facilityId` (0 if none): the earliest
    /// `periodStart` its next regular batch may have.
    function attestedUntil(bytes32 facilityId) external view returns (uint64) {
        return _attestedUntil[facilityId];
    }

    /// @inheritdoc IAttestationRegistry
    function exists(bytes32 id) external view returns (bool) {
        return _attestations[id].submittedAt != 0;
    }

    /// @inheritdoc IAttestationRegistry
    function isRevoked(bytes32 id) external view returns (bool) {
        return _attestations[id].revokedAt != 0;
    }

    /// @inheritdoc IAttestationRegistry
    function getAttestation(bytes32 id) external view returns (AttestationRecord memory record) {
        record = _attestations[id];
        if (record.submittedAt == 0) revert AttestationRegistryUnknownAttestation(id);
    }

    /// @inheritdoc IAttestationRegistry
    /// @dev False for an unknown attestation or an address never in the oracle set.
    function wasSignedBy(bytes32 id, address node) external view returns (bool) {
        OracleSet.NodeInfo memory info = oracleSet.nodeInfo(node);
        if (!info.known) return false;
        return (uint256(_attestations[id].signerBitmap) >> info.index) & 1 == 1;
    }

    /// @inheritdoc IAttestationRegistry
    /// @dev Inclusion only: also check {isRevoked}. False for an unknown attestation.
    function verifyReading(bytes32 id, bytes32 leaf, bytes32[] calldata proof) external view returns (bool) {
        bytes32 root = _attestations[id].merkleRoot;
        return root != bytes32(0) && Sha256Merkle.verifyCalldata(proof, root, leaf);
    }

    /// @notice Like {verifyReading}, from the reading digest (SHA-256 of its canonical bytes).
    function verifyReadingDigest(
        bytes32 id,
        bytes32 readingDigest,
        bytes32[] calldata proof
    ) external view returns (bool) {
        bytes32 root = _attestations[id].merkleRoot;
        return root != bytes32(0) && Sha256Merkle.verifyCalldata(proof, root, Sha256Merkle.leafHash(readingDigest));
    }

    // ---------------------------------------------------------------- internal

    function _checkHeader(BatchHeader calldata header) private view {
        if (header.merkleRoot == bytes32(0)) revert AttestationRegistryZeroRoot();
        if (header.readingCount == 0) revert AttestationRegistryZeroReadingCount();
        if (header.periodStart >= header.periodEnd) {
            revert AttestationRegistryInvalidPeriod(header.periodStart, header.periodEnd);
        }
        if (header.periodEnd > block.timestamp) {
            revert AttestationRegistryPeriodInFuture(header.periodEnd, block.timestamp);
        }
    }

    function _record(BatchHeader calldata header, bytes calldata signatures) private returns (bytes32 id) {
        id = attestationIdOf(header);
        AttestationRecord storage record = _attestations[id];
        if (record.submittedAt != 0) revert AttestationRegistryAlreadyAttested(id);
        // Reverts with OracleSetNodeNotActive(msg.sender) unless the caller is an active node.
        uint128 bitmap = oracleSet.verifyQuorumFrom(msg.sender, id, signatures);
        record.merkleRoot = header.merkleRoot;
        record.submittedAt = uint64(block.timestamp);
        record.signerBitmap = bitmap;
        _emitSubmitted(id, bitmap, header);
    }

    /// @dev Reverts unless every fixed-size field of `header` is a clean value of its type (Solidity's
    /// own calldata checks), so the raw copies in {hashBatchHeader} and {_emitSubmitted} are canonical.
    function _checkClean(BatchHeader calldata header) private pure {
        uint256 dirty = uint256(header.periodStart) | uint256(header.periodEnd) | uint256(header.readingCount);
        dirty |= uint256(header.fossilCo2eGrams) | uint256(header.biogenicCo2Grams);
        // reading a member makes Solidity revert on dirty high bits; `dirty` itself is unused.
        assembly ("memory-safe") {
            dirty := 0
        }
    }

    /**
     * @dev `emit AttestationSubmitted(id, header.facilityId, signerBitmap, header)`, with the header's
     * canonical ABI encoding copied from calldata (the fixed fields were checked clean when the id was
     * computed; the string offset is rewritten and its padding zeroed).
     */
    function _emitSubmitted(bytes32 id, uint128 bitmap, BatchHeader calldata header) private {
        bytes32 topic0 = AttestationSubmitted.selector;
        string calldata cid = header.bundleCid;
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            mstore(ptr, bitmap)
            mstore(add(ptr, 0x20), 0x40)
            calldatacopy(add(ptr, 0x40), header, 0x160)
            mstore(add(ptr, 0x160), 0x160)
            let len := cid.length
            mstore(add(ptr, 0x1a0), len)
            calldatacopy(add(ptr, 0x1c0), cid.offset, len)
            mstore(add(add(ptr, 0x1c0), len), 0)
            let size := add(0x1c0, and(add(len, 31), not(31)))
            log3(ptr, size, topic0, id, calldataload(header))
        }
    }
}
