/** DeviceRegistry: devices of facilities, their status and P-256 key history. */
import { Bytes, ethereum } from "@graphprotocol/graph-ts";
import {
  DeviceKeyRotated,
  DeviceMetadataUpdated,
  DeviceReactivated,
  DeviceRegistered,
  DeviceRetired,
  DeviceSuspended,
  RoleAdminChanged,
  RoleGranted,
  RoleRevoked,
} from "../../dist/generated/DeviceRegistry/DeviceRegistry";
import { Device, DeviceEvent, DeviceKey } from "../../dist/generated/schema";
import { protocolIdFromBytes32 } from "../logic/ids";
import {
  eventId,
  loadContract,
  loadDailyStat,
  loadFacility,
  loadFacilityDailyStat,
  loadProtocolStat,
  roleAdminChanged,
  roleGranted,
  roleRevoked,
  ZERO,
} from "./common";

const KIND = "DeviceRegistry";
const DEVICE_KINDS: string[] = ["FlueGas", "ElectricityMeter", "FuelMeter", "ManualEntry"];

function deviceKind(kind: i32): string {
  // An enum member added to the contract later would show as ManualEntry until the schema learns it.
  return kind >= 0 && kind < DEVICE_KINDS.length ? DEVICE_KINDS[kind] : "ManualEntry";
}

function keyId(device: Bytes, index: i32): Bytes {
  return device.concatI32(index);
}

function logDeviceEvent(event: ethereum.Event, device: Bytes, kind: string): DeviceEvent {
  const e = new DeviceEvent(eventId(event));
  e.device = device;
  e.kind = kind;
  e.timestamp = event.block.timestamp;
  e.blockNumber = event.block.number;
  e.transactionHash = event.transaction.hash;
  return e;
}

/** Status changes keep the facility's active-device count in step. */
function setStatus(device: Device, status: string, reason: string | null, event: ethereum.Event): void {
  const wasActive = device.status == "Active";
  const isActive = status == "Active";
  device.status = status;
  device.statusReason = reason;
  device.statusChangedAt = event.block.timestamp;
  device.save();
  if (wasActive != isActive) {
    const f = loadFacility(device.facility, event);
    f.activeDeviceCount = f.activeDeviceCount + (isActive ? 1 : -1);
    f.save();
  }
}

export function handleDeviceRegistered(event: DeviceRegistered): void {
  loadContract(event.address, KIND);
  const id = event.params.id;
  const facility = loadFacility(event.params.facilityId, event);

  const key = new DeviceKey(keyId(id, 0));
  key.device = id;
  key.index = 0;
  key.x = event.params.keyX;
  key.y = event.params.keyY;
  key.validFrom = ZERO;
  key.addedAt = event.block.timestamp;
  key.transactionHash = event.transaction.hash;
  key.save();

  const d = new Device(id);
  const code = protocolIdFromBytes32(id);
  d.code = code.length > 0 ? code : null;
  d.facility = facility.id;
  d.kind = deviceKind(event.params.kind);
  d.status = "Active";
  d.metadataURI = event.params.metadataURI;
  d.registeredAt = event.block.timestamp;
  d.registeredBlock = event.block.number;
  d.statusChangedAt = event.block.timestamp;
  d.currentKey = key.id;
  d.keyCount = 1;
  d.save();

  facility.deviceCount = facility.deviceCount + 1;
  facility.activeDeviceCount = facility.activeDeviceCount + 1;
  facility.save();

  const e = logDeviceEvent(event, id, "Registered");
  e.key = key.id;
  e.metadataURI = event.params.metadataURI;
  e.save();

  const stat = loadProtocolStat();
  stat.deviceCount = stat.deviceCount + 1;
  stat.save();
  const day = loadDailyStat(event.block.timestamp);
  day.devicesRegistered = day.devicesRegistered + 1;
  day.save();
  const fday = loadFacilityDailyStat(facility.id, event.block.timestamp);
  fday.devicesRegistered = fday.devicesRegistered + 1;
  fday.save();
}

export function handleDeviceSuspended(event: DeviceSuspended): void {
  const d = Device.load(event.params.id);
  if (d == null) return; // the registry reverts for unknown devices: nothing to index
  setStatus(d, "Suspended", event.params.reason, event);
  const e = logDeviceEvent(event, d.id, "Suspended");
  e.reason = event.params.reason;
  e.save();
}

export function handleDeviceReactivated(event: DeviceReactivated): void {
  const d = Device.load(event.params.id);
  if (d == null) return;
  setStatus(d, "Active", null, event);
  logDeviceEvent(event, d.id, "Reactivated").save();
}

export function handleDeviceRetired(event: DeviceRetired): void {
  const d = Device.load(event.params.id);
  if (d == null) return;
  setStatus(d, "Retired", event.params.reason, event);
  const e = logDeviceEvent(event, d.id, "Retired");
  e.reason = event.params.reason;
  e.save();
}

export function handleDeviceKeyRotated(event: DeviceKeyRotated): void {
  const d = Device.load(event.params.id);
  if (d == null) return;
  const index = event.params.keyIndex.toI32();
  const previous = DeviceKey.load(d.currentKey);
  if (previous != null) {
    previous.validUntil = event.params.validFrom;
    previous.save();
  }
  const key = new DeviceKey(keyId(d.id, index));
  key.device = d.id;
  key.index = index;
  key.x = event.params.x;
  key.y = event.params.y;
  key.validFrom = event.params.validFrom;
  key.addedAt = event.block.timestamp;
  key.transactionHash = event.transaction.hash;
  key.save();
  d.currentKey = key.id;
  d.keyCount = index + 1;
  d.save();
  const e = logDeviceEvent(event, d.id, "KeyRotated");
  e.key = key.id;
  e.save();
}

export function handleDeviceMetadataUpdated(event: DeviceMetadataUpdated): void {
  const d = Device.load(event.params.id);
  if (d == null) return;
  d.metadataURI = event.params.metadataURI;
  d.save();
  const e = logDeviceEvent(event, d.id, "MetadataUpdated");
  e.metadataURI = event.params.metadataURI;
  e.save();
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
