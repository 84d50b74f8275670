/** OracleSet: oracle nodes (indexed as signer bitmaps use them) and every quorum change. */
import { Address, ethereum } from "@graphprotocol/graph-ts";
import {
  OracleNodeAdded,
  OracleNodeRemoved,
  RoleAdminChanged,
  RoleGranted,
  RoleRevoked,
  ThresholdChanged,
} from "../../dist/generated/OracleSet/OracleSet";
import { OracleNode, OracleSet, QuorumChange } from "../../dist/generated/schema";
import { eventId, loadContract, loadProtocolStat, roleAdminChanged, roleGranted, roleRevoked } from "./common";

const KIND = "OracleSet";

function loadSet(address: Address): OracleSet {
  let s = OracleSet.load(address);
  if (s == null) {
    s = new OracleSet(address);
    s.threshold = 0;
    s.activeNodeCount = 0;
    s.nodeCount = 0;
  }
  return s;
}

function change(event: ethereum.Event, set: OracleSet, kind: string): QuorumChange {
  const c = new QuorumChange(eventId(event));
  c.oracleSet = set.id;
  c.kind = kind;
  c.threshold = set.threshold;
  c.activeNodeCount = set.activeNodeCount;
  c.timestamp = event.block.timestamp;
  c.blockNumber = event.block.number;
  c.transactionHash = event.transaction.hash;
  return c;
}

export function handleOracleNodeAdded(event: OracleNodeAdded): void {
  loadContract(event.address, KIND);
  const set = loadSet(event.address);
  const id = event.address.concatI32(event.params.index);
  let node = OracleNode.load(id);
  if (node == null) {
    node = new OracleNode(id);
    node.oracleSet = set.id;
    node.address = event.params.node;
    node.index = event.params.index;
    node.attestationsSigned = 0;
    set.nodeCount = set.nodeCount + 1;
    const stat = loadProtocolStat();
    stat.oracleNodeCount = stat.oracleNodeCount + 1;
    stat.save();
  }
  node.active = true;
  node.addedAt = event.block.timestamp;
  node.removedAt = null;
  node.save();
  set.activeNodeCount = set.activeNodeCount + 1;
  set.save();
  const c = change(event, set, event.params.reactivated ? "NodeReactivated" : "NodeAdded");
  c.node = node.id;
  c.save();
}

export function handleOracleNodeRemoved(event: OracleNodeRemoved): void {
  const set = loadSet(event.address);
  const node = OracleNode.load(event.address.concatI32(event.params.index));
  if (node != null) {
    node.active = false;
    node.removedAt = event.block.timestamp;
    node.save();
  }
  set.activeNodeCount = set.activeNodeCount - 1;
  set.save();
  const c = change(event, set, "NodeRemoved");
  if (node != null) c.node = node.id;
  c.save();
}

export function handleThresholdChanged(event: ThresholdChanged): void {
  loadContract(event.address, KIND);
  const set = loadSet(event.address);
  set.threshold = event.params.threshold;
  set.save();
  const c = change(event, set, "ThresholdChanged");
  c.previousThreshold = event.params.previous;
  c.save();
}

export function handleRoleGranted(event: RoleGranted): void {
  roleGranted(event, KIND, event.params.role, event.params.account, event.params.sender);
}

export function handleRoleRevoked(event: RoleRevoked): void {
  roleRevoked(event, KIND, event.params.role, event.params.account, event.params.sender);
}

export function handleRoleAdminChanged(event: RoleAdminChanged): void {
  roleAdminChanged(event, KIND, event.params.role, event.params.previousAdminRole, event.params.newAdminRole);
}
