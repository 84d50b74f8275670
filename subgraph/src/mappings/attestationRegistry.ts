/**
 * AttestationRegistry: attested batches (header, signers, corrections), revocations, and the
 * emission totals per facility, per day of the attested period and overall.
 */
import { Bytes, dataSource } from "@graphprotocol/graph-ts";
import {
  AttestationRevoked,
  AttestationSubmitted,
  EIP712DomainChanged,
  Paused,
  RoleAdminChanged,
  RoleGranted,
  RoleRevoked,
  Unpaused,
} from "../../dist/generated/AttestationRegistry/AttestationRegistry";
import {
  Attestation,
  AttestationSignature,
  Challenge,
  Issuance,
  OracleNode,
  Revocation,
} from "../../dist/generated/schema";
import { addAttestation, revokeAttestation } from "../logic/aggregates";
import { signerIndices } from "../logic/signers";
import {
  loadContract,
  loadDailyStat,
  loadFacility,
  loadFacilityDailyStat,
  loadProtocolStat,
  pauseChanged,
  roleAdminChanged,
  roleGranted,
  roleRevoked,
  setTotals,
  totalsOf,
} from "./common";

const KIND = "AttestationRegistry";
const ZERO_ID = Bytes.fromHexString("0x0000000000000000000000000000000000000000000000000000000000000000");

/** The OracleSet whose node indices the signer bitmaps use (the manifest passes it as context). */
/** Empty when the manifest has none (OracleSet not deployed on the network): no signer entities then. */
function oracleSetAddress(): Bytes {
  const context = dataSource.context();
  if (!context.isSet("oracleSet")) return Bytes.empty();
  const address = context.getString("oracleSet");
  if (address.length == 0) return Bytes.empty();
  return Bytes.fromHexString(address);
}

export function handleAttestationSubmitted(event: AttestationSubmitted): void {
  loadContract(event.address, KIND);
  const h = event.params.header;
  const facility = loadFacility(event.params.facilityId, event);

  const a = new Attestation(event.params.id);
  a.registry = event.address;
  a.facility = facility.id;
  a.periodStart = h.periodStart;
  a.periodEnd = h.periodEnd;
  a.merkleRoot = h.merkleRoot;
  a.readingCount = h.readingCount;
  a.fossilCo2eGrams = h.fossilCo2eGrams;
  a.biogenicCo2Grams = h.biogenicCo2Grams;
  a.methodologyId = h.methodologyId;
  a.factorSetId = h.factorSetId;
  a.bundleCid = h.bundleCid;
  a.isCorrection = !h.correctionOf.equals(ZERO_ID);
  if (a.isCorrection) a.correctionOf = h.correctionOf;
  a.signerBitmap = event.params.signerBitmap;
  a.submitter = event.transaction.from;
  a.submittedAt = event.block.timestamp;
  a.submittedBlock = event.block.number;
  a.transactionHash = event.transaction.hash;
  a.revoked = false;
  a.challengeState = "None";

  const indices = signerIndices(event.params.signerBitmap);
  a.signerCount = indices.length;
  const set = oracleSetAddress();
  if (set.length > 0) {
    for (let i = 0; i < indices.length; i++) {
      const node = OracleNode.load(set.concatI32(indices[i]));
      if (node == null) continue; // a bitmap bit always names a known node; defensive only
      const s = new AttestationSignature(a.id.concatI32(indices[i]));
      s.attestation = a.id;
      s.node = node.id;
      s.save();
      node.attestationsSigned = node.attestationsSigned + 1;
      node.save();
    }
  }
  a.save();

  const readings = h.readingCount;
  setTotals(facility, addAttestation(totalsOf(facility), readings, h.fossilCo2eGrams, h.biogenicCo2Grams));
  if (!a.isCorrection && h.periodEnd.gt(facility.attestedUntil)) facility.attestedUntil = h.periodEnd;
  facility.save();

  const day = loadDailyStat(h.periodStart);
  setTotals(day, addAttestation(totalsOf(day), readings, h.fossilCo2eGrams, h.biogenicCo2Grams));
  day.save();
  const fday = loadFacilityDailyStat(facility.id, h.periodStart);
  setTotals(fday, addAttestation(totalsOf(fday), readings, h.fossilCo2eGrams, h.biogenicCo2Grams));
  fday.save();
  const stat = loadProtocolStat();
  setTotals(stat, addAttestation(totalsOf(stat), readings, h.fossilCo2eGrams, h.biogenicCo2Grams));
  stat.save();
}

export function handleAttestationRevoked(event: AttestationRevoked): void {
  const a = Attestation.load(event.params.id);
  if (a == null) return; // the registry reverts for unknown ids
  a.revoked = true;
  a.revocation = a.id;
  a.save();

  const r = new Revocation(a.id);
  r.attestation = a.id;
  r.verifier = event.params.verifier;
  r.reason = event.params.reason;
  // CarbonCredits revokes in the same transaction in which it upholds a challenge.
  const challenge = Challenge.load(a.id);
  if (challenge != null && challenge.state == "Upheld") r.challenge = challenge.id;
  r.timestamp = event.block.timestamp;
  r.transactionHash = event.transaction.hash;
  r.save();

  const readings = a.readingCount;
  const facility = loadFacility(a.facility, event);
  setTotals(facility, revokeAttestation(totalsOf(facility), readings, a.fossilCo2eGrams, a.biogenicCo2Grams));
  facility.save();
  const day = loadDailyStat(a.periodStart);
  setTotals(day, revokeAttestation(totalsOf(day), readings, a.fossilCo2eGrams, a.biogenicCo2Grams));
  day.save();
  const fday = loadFacilityDailyStat(facility.id, a.periodStart);
  setTotals(fday, revokeAttestation(totalsOf(fday), readings, a.fossilCo2eGrams, a.biogenicCo2Grams));
  // its credits no longer count for its period (CarbonCredits issues nothing against a revoked one)
  const issuance = Issuance.load(a.id);
  if (issuance != null) fday.issuedAgainstKg = fday.issuedAgainstKg.minus(issuance.amountKg);
  fday.save();
  const stat = loadProtocolStat();
  setTotals(stat, revokeAttestation(totalsOf(stat), readings, a.fossilCo2eGrams, a.biogenicCo2Grams));
  stat.save();
}

export function handleEIP712DomainChanged(event: EIP712DomainChanged): void {
  const c = loadContract(event.address, KIND);
  c.eip712DomainChanges = c.eip712DomainChanges + 1;
  c.save();
}

export function handlePaused(event: Paused): void {
  pauseChanged(event, KIND, true, event.params.account);
}

export function handleUnpaused(event: Unpaused): void {
  pauseChanged(event, KIND, false, event.params.account);
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
