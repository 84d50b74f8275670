// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";

/**
 * @title OracleSet
 * @notice The oracle nodes that co-sign batch headers, and the quorum threshold k (k of n).
 *
 * Each node address gets an index the first time it is added (0, 1, 2, … up to 127). An index
 * is never given to another address, so a 128-bit signer bitmap stored with an attestation
 * names its signers forever, whatever happens to the set later. Removing a node only
 * deactivates it (its index stays its own; adding it again reactivates the same index).
 * Changing the set or the threshold never touches attestations already made: they keep the
 * bitmap of the nodes that signed them when they were submitted.
 *
 * Quorum signatures are 65-byte `r ‖ s ‖ v` secp256k1 ECDSA signatures over a digest,
 * concatenated in strictly increasing order of signer address (which rules out duplicates
 * without any extra storage). High-s signatures are rejected.
 *
 * Gas: besides the mappings that back the views, every change of the set or threshold writes
 * the sorted table of active nodes (address ‖ index, 21 bytes each) as the code of a small data
 * contract. A quorum check reads one slot and copies that table once, instead of one cold
 * storage slot per signer; signers and table are both sorted, so matching them is one merge walk.
 *
 * The admin (`DEFAULT_ADMIN_ROLE`) manages nodes and the threshold. Being an active node of this
 * set is what "oracle node role" means in CarbonProof (see docs/contracts.md).
 */
contract OracleSet is AccessControl {
    /// @notice Upper bound of node indices (the signer bitmap is a uint128).
    uint256 public constant MAX_NODES = 128;

    /// @notice Length in bytes of one quorum signature (`r ‖ s ‖ v`).
    uint256 public constant SIGNATURE_LENGTH = 65;

    /// @notice What the set knows of one address (one storage slot).
    struct NodeInfo {
        bool known; // ever added (then `index` is its own for good)
        bool active;
        uint8 index;
    }

    mapping(address node => NodeInfo) private _nodes;
    address[] private _byIndex;
    // One slot, read once per quorum check: the code-stored table of active nodes (see
    // {_writeTable}), the threshold and the number of active nodes (= table entries).
    address private _table;
    uint8 private _threshold;
    uint8 private _activeCount;

    /// @dev secp256k1 n / 2: signatures with a higher s are malleable and rejected.
    uint256 private constant _HALF_N = 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0;
    /// @dev Bytes per table entry: address (20) ‖ index (1).
    uint256 private constant _ENTRY = 21;

    /// @notice `node` was added with its (new) index, or reactivated with its old one.
    event OracleNodeAdded(address indexed node, uint8 indexed index, bool reactivated);
    /// @notice `node` was deactivated; its index stays reserved to it.
    event OracleNodeRemoved(address indexed node, uint8 indexed index);
    /// @notice The quorum threshold changed from `previous` to `threshold`.
    event ThresholdChanged(uint8 previous, uint8 threshold);

    /// @notice Writing the table of active nodes failed (out of gas).
    error OracleSetTableWriteFailed();
    /// @notice The zero address cannot be an oracle node.
    error OracleSetZeroAddress();
    /// @notice `node` is already an active node.
    error OracleSetNodeAlreadyActive(address node);
    /// @notice `node` is not an active node.
    error OracleSetNodeNotActive(address node);
    /// @notice `node` was never part of the set.
    error OracleSetUnknownNode(address node);
    /// @notice All `MAX_NODES` indices are taken.
    error OracleSetIndicesExhausted(uint256 maxNodes);
    /// @notice `threshold` is not within 1 … `activeCount`.
    error OracleSetInvalidThreshold(uint256 threshold, uint256 activeCount);
    /// @notice The signatures blob has a length that is not a positive multiple of 65.
    error OracleSetMalformedSignatures(uint256 length);
    /// @notice `count` signatures where at least `threshold` are required.
    error OracleSetQuorumNotReached(uint256 count, uint256 threshold);
    /// @notice The signature at `position` does not recover to an address (or has a high s).
    error OracleSetInvalidSignature(uint256 position);
    /// @notice The signer at `position` is not above the previous one (unsorted or duplicate).
    error OracleSetSignersNotSorted(uint256 position, address signer, address previous);
    /// @notice The signer at `position` is not an active oracle node.
    error OracleSetSignerNotActive(uint256 position, address signer);

    /**
     * @param admin      receives `DEFAULT_ADMIN_ROLE`
     * @param nodes      initial oracle nodes (indices 0, 1, … in this order)
     * @param k          initial threshold, 1 ≤ k ≤ nodes.length
     */
    constructor(address admin, address[] memory nodes, uint8 k) {
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        for (uint256 i = 0; i < nodes.length; ++i) {
            _addNode(nodes[i]);
        }
        _setThreshold(k);
        _writeTable();
    }

    // ---------------------------------------------------------------- admin

    /// @notice Adds `node` (new index) or reactivates it (its old index). Admin only.
    function addNode(address node) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _addNode(node);
        _writeTable();
    }

    /// @notice Deactivates `node`. Fails if the active set would fall below the threshold. Admin only.
    function removeNode(address node) external onlyRole(DEFAULT_ADMIN_ROLE) {
        NodeInfo memory info = _nodes[node];
        if (!info.active) revert OracleSetNodeNotActive(node);
        uint8 remaining = _activeCount - 1;
        if (remaining < _threshold) revert OracleSetInvalidThreshold(_threshold, remaining);
        _nodes[node].active = false;
        _activeCount = remaining;
        _writeTable();
        emit OracleNodeRemoved(node, info.index);
    }

    /// @notice Sets the quorum threshold k (1 ≤ k ≤ active nodes). Admin only.
    function setThreshold(uint8 k) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setThreshold(k);
        _writeTable();
    }

    // ---------------------------------------------------------------- views

    /// @notice The quorum threshold k.
    function threshold() external view returns (uint8) {
        return _threshold;
    }

    /// @notice Number of active nodes n.
    function activeCount() external view returns (uint8) {
        return _activeCount;
    }

    /// @notice Number of indices given out so far (active or not).
    function nodeCount() external view returns (uint256) {
        return _byIndex.length;
    }

    /// @notice The address that owns `index` (reverts past {nodeCount}).
    function nodeAt(uint8 index) external view returns (address) {
        return _byIndex[index];
    }

    /// @notice What the set knows of `node` (all false/zero for an unknown address).
    function nodeInfo(address node) external view returns (NodeInfo memory) {
        return _nodes[node];
    }

    /// @notice True when `node` is an active oracle node.
    function isActiveNode(address node) external view returns (bool) {
        return _nodes[node].active;
    }

    /// @notice The index of `node`, active or not. Reverts for an address never added.
    function indexOf(address node) external view returns (uint8) {
        NodeInfo memory info = _nodes[node];
        if (!info.known) revert OracleSetUnknownNode(node);
        return info.index;
    }

    /// @notice All active nodes, in index order.
    function activeNodes() external view returns (address[] memory nodes) {
        nodes = new address[](_activeCount);
        uint256 j;
        for (uint256 i = 0; i < _byIndex.length; ++i) {
            if (_nodes[_byIndex[i]].active) nodes[j++] = _byIndex[i];
        }
    }

    /// @notice The addresses named by a signer bitmap (as stored with an attestation), in index order.
    function signersOf(uint128 bitmap) external view returns (address[] memory signers) {
        uint256 count;
        for (uint256 b = bitmap; b != 0; b &= b - 1) ++count;
        signers = new address[](count);
        uint256 j;
        for (uint256 i = 0; i < _byIndex.length && j < count; ++i) {
            if ((uint256(bitmap) >> i) & 1 != 0) signers[j++] = _byIndex[i];
        }
    }

    /**
     * @notice Checks a quorum: `signatures` are concatenated 65-byte `r ‖ s ‖ v` signatures over
     * `digest`, by strictly increasing signer address, each signer an active node, at least
     * {threshold} of them. Reverts with the precise reason otherwise.
     * @return bitmap bit i set for the node with index i among the signers
     */
    function verifyQuorum(bytes32 digest, bytes calldata signatures) external view returns (uint128 bitmap) {
        return _verifyQuorum(address(0), digest, signatures);
    }

    /**
     * @notice {verifyQuorum}, after checking that `submitter` is an active node (one call for a
     * registry that accepts submissions from active nodes only).
     */
    function verifyQuorumFrom(
        address submitter,
        bytes32 digest,
        bytes calldata signatures
    ) external view returns (uint128 bitmap) {
        if (submitter == address(0)) revert OracleSetNodeNotActive(submitter);
        return _verifyQuorum(submitter, digest, signatures);
    }

    // ---------------------------------------------------------------- internal

    function _addNode(address node) private {
        if (node == address(0)) revert OracleSetZeroAddress();
        NodeInfo memory info = _nodes[node];
        if (info.active) revert OracleSetNodeAlreadyActive(node);
        bool reactivated = info.known;
        if (!reactivated) {
            uint256 index = _byIndex.length;
            if (index >= MAX_NODES) revert OracleSetIndicesExhausted(MAX_NODES);
            info.index = uint8(index);
            info.known = true;
            _byIndex.push(node);
        }
        info.active = true;
        _nodes[node] = info;
        ++_activeCount;
        emit OracleNodeAdded(node, info.index, reactivated);
    }

    /// @dev `submitter` zero = no submitter check.
    function _verifyQuorum(
        address submitter,
        bytes32 digest,
        bytes calldata signatures
    ) private view returns (uint128 bitmap) {
        uint256 length = signatures.length;
        if (length == 0 || length % SIGNATURE_LENGTH != 0) revert OracleSetMalformedSignatures(length);
        uint256 count = length / SIGNATURE_LENGTH;
        address table = _table;
        uint256 k = _threshold;
        uint256 n = _activeCount;
        if (count < k) revert OracleSetQuorumNotReached(count, k);

        uint256 entries;
        assembly ("memory-safe") {
            entries := mload(0x40)
            let size := mul(n, _ENTRY)
            extcodecopy(table, entries, 1, size)
            // keep 32 bytes of slack: entries are read with 32-byte loads
            mstore(0x40, add(entries, add(size, 0x20)))
        }

        if (submitter != address(0)) {
            uint256 e;
            while (e < n && _entryAddress(entries, e) != submitter) ++e;
            if (e == n) revert OracleSetNodeNotActive(submitter);
        }

        address previous;
        uint256 j;
        for (uint256 i = 0; i < count; ++i) {
            address signer = _signerAt(signatures, i, digest);
            if (signer <= previous) revert OracleSetSignersNotSorted(i, signer, previous);
            // signers and table are both sorted by address: advance through the table
            while (j < n && _entryAddress(entries, j) < signer) ++j;
            if (j == n || _entryAddress(entries, j) != signer) revert OracleSetSignerNotActive(i, signer);
            bitmap |= uint128(1) << _entryIndex(entries, j);
            ++j;
            previous = signer;
        }
    }

    /// @dev Signer of the `i`-th 65-byte signature; reverts for a high s or an unrecoverable signature.
    function _signerAt(bytes calldata signatures, uint256 i, bytes32 digest) private pure returns (address signer) {
        bytes32 r;
        bytes32 s;
        uint8 v;
        assembly ("memory-safe") {
            let p := add(signatures.offset, mul(i, 65))
            r := calldataload(p)
            s := calldataload(add(p, 0x20))
            v := byte(0, calldataload(add(p, 0x40)))
        }
        if (uint256(s) > _HALF_N) revert OracleSetInvalidSignature(i);
        signer = ecrecover(digest, v, r, s);
        if (signer == address(0)) revert OracleSetInvalidSignature(i);
    }

    function _entryAddress(uint256 entries, uint256 e) private pure returns (address a) {
        assembly ("memory-safe") {
            a := shr(96, mload(add(entries, mul(e, 21))))
        }
    }

    function _entryIndex(uint256 entries, uint256 e) private pure returns (uint8 index) {
        assembly ("memory-safe") {
            index := byte(20, mload(add(entries, mul(e, 21))))
        }
    }

    /**
     * @dev Writes the active nodes, sorted by address, as `0x00 ‖ (address ‖ index)*` in the code of
     * a new data contract (the leading STOP makes it uncallable) and points {_table} at it.
     */
    function _writeTable() private {
        uint256 n = _activeCount;
        address[] memory active = new address[](n);
        uint256 m;
        for (uint256 i = 0; i < _byIndex.length; ++i) {
            address node = _byIndex[i];
            if (!_nodes[node].active) continue;
            // insertion sort by address (n ≤ 128, admin operation)
            uint256 j = m++;
            while (j > 0 && active[j - 1] > node) {
                active[j] = active[j - 1];
                --j;
            }
            active[j] = node;
        }
        bytes memory data = new bytes(1 + n * _ENTRY);
        for (uint256 e = 0; e < n; ++e) {
            bytes21 entry = bytes21(bytes20(active[e])) | (bytes21(bytes1(_nodes[active[e]].index)) >> 160);
            assembly ("memory-safe") {
                mstore(add(add(data, 0x21), mul(e, 21)), entry)
            }
        }
        // init code: PUSH2 len, DUP1, PUSH1 0x0a, RETURNDATASIZE, CODECOPY, RETURNDATASIZE, RETURN
        bytes memory init = abi.encodePacked(hex"61", uint16(data.length), hex"80600a3d393df3", data);
        address table;
        assembly ("memory-safe") {
            table := create(0, add(init, 0x20), mload(init))
        }
        if (table == address(0)) revert OracleSetTableWriteFailed();
        _table = table;
    }

    function _setThreshold(uint8 k) private {
        if (k == 0 || k > _activeCount) revert OracleSetInvalidThreshold(k, _activeCount);
        emit ThresholdChanged(_threshold, k);
        _threshold = k;
    }
}
