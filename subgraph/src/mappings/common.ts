/**
 * Entity plumbing shared by every contract's mappings: contract records and roles, accounts,
 * facilities, and the daily / per-facility / overall aggregates. The arithmetic is in ../logic.
 */
import { Address, BigInt, Bytes, ethereum } from "@graphprotocol/graph-ts";
import {
  DailyStat,
  Facility,
  FacilityDailyStat,
  Account,
  PauseChange,
  ProtocolContract,
  ProtocolStat,
  RoleAdminChange,
  RoleMembership,
} from "../../dist/generated/schema";
import { EmissionTotals } from "../logic/aggregates";
import { protocolIdFromBytes32 } from "../logic/ids";
import { roleName } from "../logic/roles";
import { dayOf, dayStartOf } from "../logic/time";

export const ZERO = BigInt.zero();
export const ONE = BigInt.fromI32(1);

/** Id of an immutable per-event entity: transaction hash ++ log index. */
export function eventId(event: ethereum.Event): Bytes {
  return event.transaction.hash.concatI32(event.logIndex.toI32());
}

/** Id of the `index`-th entity made from one event (batch transfers). */
export function eventSubId(event: ethereum.Event, index: i32): Bytes {
  return eventId(event).concatI32(index);
}

// ---------------------------------------------------------------- contracts, roles, pause

export function loadContract(address: Address, kind: string): ProtocolContract {
  let c = ProtocolContract.load(address);
  if (c == null) {
    c = new ProtocolContract(address);
    c.kind = kind;
    c.paused = false;
    c.eip712DomainChanges = 0;
    c.save();
  }
  return c;
}

function membershipId(contract: Address, role: Bytes, account: Address): Bytes {
  return contract.concat(role).concat(account);
}

function nullableRoleName(role: Bytes): string | null {
  const name = roleName(role.toHexString());
  return name.length > 0 ? name : null;
}

export function roleGranted(event: ethereum.Event, kind: string, role: Bytes, account: Address, sender: Address): void {
  loadContract(event.address, kind);
  const id = membershipId(event.address, role, account);
  let m = RoleMembership.load(id);
  if (m == null) {
    m = new RoleMembership(id);
    m.contract = event.address;
    m.role = role;
    m.roleName = nullableRoleName(role);
    m.account = account;
  }
  m.active = true;
  m.grantedBy = sender;
  m.grantedAt = event.block.timestamp;
  m.revokedBy = null;
  m.revokedAt = null;
  m.save();
}

export function roleRevoked(event: ethereum.Event, kind: string, role: Bytes, account: Address, sender: Address): void {
  loadContract(event.address, kind);
  const id = membershipId(event.address, role, account);
  let m = RoleMembership.load(id);
  if (m == null) {
    m = new RoleMembership(id);
    m.contract = event.address;
    m.role = role;
    m.roleName = nullableRoleName(role);
    m.account = account;
  }
  m.active = false;
  m.revokedBy = sender;
  m.revokedAt = event.block.timestamp;
  m.save();
}

export function roleAdminChanged(
  event: ethereum.Event,
  kind: string,
  role: Bytes,
  previousAdminRole: Bytes,
  newAdminRole: Bytes,
): void {
  loadContract(event.address, kind);
  const c = new RoleAdminChange(eventId(event));
  c.contract = event.address;
  c.role = role;
  c.roleName = nullableRoleName(role);
  c.previousAdminRole = previousAdminRole;
  c.newAdminRole = newAdminRole;
  c.timestamp = event.block.timestamp;
  c.transactionHash = event.transaction.hash;
  c.save();
}

export function pauseChanged(event: ethereum.Event, kind: string, paused: boolean, account: Address): void {
  const contract = loadContract(event.address, kind);
  contract.paused = paused;
  contract.save();
  const p = new PauseChange(eventId(event));
  p.contract = event.address;
  p.paused = paused;
  p.account = account;
  p.timestamp = event.block.timestamp;
  p.transactionHash = event.transaction.hash;
  p.save();
}

// ---------------------------------------------------------------- accounts and facilities

export function loadAccount(address: Address): Account {
  let a = Account.load(address);
  if (a == null) {
    a = new Account(address);
    a.save();
  }
  return a;
}

export function loadProtocolStat(): ProtocolStat {
  let s = ProtocolStat.load("all");
  if (s == null) {
    s = new ProtocolStat("all");
    s.facilityCount = 0;
    s.deviceCount = 0;
    s.oracleNodeCount = 0;
    s.attestationCount = 0;
    s.revokedAttestationCount = 0;
    s.readingCount = ZERO;
    s.fossilCo2eGrams = ZERO;
    s.biogenicCo2Grams = ZERO;
    s.projectCount = 0;
    s.issuedKg = ZERO;
    s.retiredKg = ZERO;
    s.retirementCount = 0;
    s.listingCount = 0;
    s.saleCount = 0;
    s.soldKg = ZERO;
  }
  return s;
}

export function loadFacility(id: Bytes, event: ethereum.Event): Facility {
  let f = Facility.load(id);
  if (f == null) {
    f = new Facility(id);
    const code = protocolIdFromBytes32(id);
    f.code = code.length > 0 ? code : null;
    f.deviceCount = 0;
    f.activeDeviceCount = 0;
    f.attestationCount = 0;
    f.revokedAttestationCount = 0;
    f.readingCount = ZERO;
    f.fossilCo2eGrams = ZERO;
    f.biogenicCo2Grams = ZERO;
    f.attestedUntil = ZERO;
    f.creditsIssuedKg = ZERO;
    f.creditsRetiredKg = ZERO;
    f.firstSeenAt = event.block.timestamp;
    f.save();
    const stat = loadProtocolStat();
    stat.facilityCount = stat.facilityCount + 1;
    stat.save();
  }
  return f;
}

// ---------------------------------------------------------------- daily aggregates

export function dayNumber(timestamp: BigInt): i32 {
  return <i32>dayOf(timestamp.toI64());
}

export function loadDailyStat(timestamp: BigInt): DailyStat {
  const day = dayNumber(timestamp);
  const id = day.toString();
  let d = DailyStat.load(id);
  if (d == null) {
    d = new DailyStat(id);
    d.day = day;
    d.date = BigInt.fromI64(dayStartOf(timestamp.toI64()));
    d.attestationCount = 0;
    d.revokedAttestationCount = 0;
    d.readingCount = ZERO;
    d.fossilCo2eGrams = ZERO;
    d.biogenicCo2Grams = ZERO;
    d.devicesRegistered = 0;
    d.issuedKg = ZERO;
    d.issuanceCount = 0;
    d.retiredKg = ZERO;
    d.retirementCount = 0;
    d.saleCount = 0;
    d.soldKg = ZERO;
  }
  return d;
}

export function loadFacilityDailyStat(facility: Bytes, timestamp: BigInt): FacilityDailyStat {
  const day = dayNumber(timestamp);
  const id = facility.concatI32(day);
  let d = FacilityDailyStat.load(id);
  if (d == null) {
    d = new FacilityDailyStat(id);
    d.facility = facility;
    d.day = day;
    d.date = BigInt.fromI64(dayStartOf(timestamp.toI64()));
    d.attestationCount = 0;
    d.revokedAttestationCount = 0;
    d.readingCount = ZERO;
    d.fossilCo2eGrams = ZERO;
    d.biogenicCo2Grams = ZERO;
    d.devicesRegistered = 0;
    d.issuedKg = ZERO;
    d.issuanceCount = 0;
    d.retiredKg = ZERO;
    d.retirementCount = 0;
    d.saleCount = 0;
    d.soldKg = ZERO;
    d.issuedAgainstKg = ZERO;
  }
  return d;
}

// Copying totals between entities and EmissionTotals: the four entity types carry the same fields.

// AssemblyScript generics are compiled per entity type, so one pair serves Facility,
// DailyStat, FacilityDailyStat and ProtocolStat (generated classes share no interface).
export function totalsOf<T>(e: T): EmissionTotals {
  return new EmissionTotals(
    e.attestationCount,
    e.revokedAttestationCount,
    e.readingCount,
    e.fossilCo2eGrams,
    e.biogenicCo2Grams,
  );
}

export function setTotals<T>(e: T, t: EmissionTotals): void {
  e.attestationCount = t.attestationCount;
  e.revokedAttestationCount = t.revokedAttestationCount;
  e.readingCount = t.readingCount;
  e.fossilCo2eGrams = t.fossilCo2eGrams;
  e.biogenicCo2Grams = t.biogenicCo2Grams;
}
