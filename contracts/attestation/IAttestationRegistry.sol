// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/**
 * @title IAttestationRegistry
 * @notice The on-chain anchor of the chain of custody: batches of signed readings,
 * co-signed by a quorum of oracle nodes, each identified by the EIP-712 digest of its
 * header. See docs/protocol.md for the exact encodings (shared with the sdk).
 *
 * Storage is deliberately small (the header lives in calldata and in the
 * `AttestationSubmitted` event): a consumer that needs header fields (CarbonCredits
 * needs facility, period and emissions) passes the header back and the registry
 * checks it against the stored id with {attestationIdOf}.
 */
interface IAttestationRegistry {
    /**
     * @notice The header of a batch, signed by the oracle quorum as EIP-712 typed data
     * (domain: name "CarbonProof AttestationRegistry", version "1", chain id, this contract).
     * @param facilityId         facility, ASCII id right-padded into bytes32 (docs/protocol.md)
     * @param periodStart        first second covered (unix seconds, inclusive)
     * @param periodEnd          end of the period (unix seconds, exclusive)
     * @param merkleRoot         SHA-256 Merkle root over the reading digests (domain-separated)
     * @param readingCount       number of readings (leaves)
     * @param fossilCo2eGrams    scope emissions of the batch in integer grams CO2e
     * @param biogenicCo2Grams   biogenic CO2 of the batch, reported apart, integer grams
     * @param methodologyId      methodology id (sdk)
     * @param factorSetId        factor-set id (hash of its canonical content, sdk)
     * @param bundleCid          IPFS CID (v1, base32 string) of the evidence bundle
     * @param correctionOf       zero for a regular batch; for a correction batch, the id of the
     *                           regular attestation whose period it corrects
     */
    struct BatchHeader {
        bytes32 facilityId;
        uint64 periodStart;
        uint64 periodEnd;
        bytes32 merkleRoot;
        uint32 readingCount;
        uint128 fossilCo2eGrams;
        uint128 biogenicCo2Grams;
        bytes32 methodologyId;
        bytes32 factorSetId;
        string bundleCid;
        bytes32 correctionOf;
    }

    /// @notice What the registry keeps per attestation (two storage slots; the rest of the
    /// header is in the `AttestationSubmitted` event and checked with {attestationIdOf}).
    struct AttestationRecord {
        bytes32 merkleRoot;
        uint64 submittedAt;
        uint64 revokedAt; // 0 while not revoked
        uint128 signerBitmap; // bit i set = oracle node with index i in the OracleSet signed
    }

    /// @notice EIP-712 digest of `header`: the id the attestation gets once submitted.
    function attestationIdOf(BatchHeader calldata header) external view returns (bytes32);

    /// @notice Submits a batch co-signed by at least the quorum threshold of active oracle nodes.
    /// @param signatures concatenated 65-byte (r, s, v) ECDSA signatures over the EIP-712 digest,
    ///        ordered by strictly increasing signer address.
    function submit(BatchHeader calldata header, bytes calldata signatures) external returns (bytes32 id);

    /// @notice Revokes an attestation (verifier role). A revoked attestation backs no new credits.
    function revoke(bytes32 id, string calldata reason) external;

    /// @notice True when `id` was submitted (revoked or not).
    function exists(bytes32 id) external view returns (bool);

    /// @notice True when `id` was revoked.
    function isRevoked(bytes32 id) external view returns (bool);

    /// @notice The stored record of `id` (reverts if unknown).
    function getAttestation(bytes32 id) external view returns (AttestationRecord memory);

    /// @notice True when oracle node `node` co-signed attestation `id`.
    function wasSignedBy(bytes32 id, address node) external view returns (bool);

    /// @notice Merkle inclusion of `leaf` (= SHA-256(0x00 ‖ readingDigest)) in attestation `id`.
    /// @dev `leaf` is taken as given: the root with an empty proof, or an inner node with the upper
    /// part of a proof, is "included" too. A caller that gets the leaf from someone else must hash
    /// it from the reading digest itself, or call {verifyReadingDigest}, which does.
    function verifyReading(bytes32 id, bytes32 leaf, bytes32[] calldata proof) external view returns (bool);
}
