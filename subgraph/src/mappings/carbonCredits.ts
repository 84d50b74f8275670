/**
 * CarbonCredits: projects and baselines, challenges and corrections of attestations, issuances,
 * and the ERC-1155 credits themselves (supply, balances, holders, transfers).
 */
import { Address, BigInt, Bytes, ethereum } from "@graphprotocol/graph-ts";
import {
  ApprovalForAll,
  AttestationChallenged,
  BaselineSet,
  CertificatesSet,
  ChallengeResolved,
  ChallengeWindowSet,
  CorrectionRecorded,
  CreditsIssued,
  ExplorerBaseUrlSet,
  Paused,
  ProjectActiveSet,
  ProjectProponentChanged,
  ProjectRegistered,
  ShortfallRecorded,
  RoleAdminChanged,
  RoleGranted,
  RoleRevoked,
  TransferBatch,
  TransferSingle,
  URI,
  Unpaused,
} from "../../dist/generated/CarbonCredits/CarbonCredits";
import {
  Attestation,
  Balance,
  Baseline,
  Challenge,
  CorrectionRecord,
  Credit,
  CreditTransfer,
  Issuance,
  OperatorApproval,
  Project,
  Shortfall,
} from "../../dist/generated/schema";
import { supplyOf } from "../logic/aggregates";
import { pendingAfterCorrection, projectDebtCovered } from "../logic/corrections";
import {
  credit as creditBalance,
  debit as debitBalance,
  transferKind,
  KIND_ISSUANCE,
  KIND_RETIREMENT,
} from "../logic/balances";
import { issuanceMints } from "../logic/issuances";
import { projectIdOfToken, vintageOfToken } from "../logic/tokenIds";
import {
  eventId,
  eventSubId,
  loadAccount,
  loadContract,
  loadDailyStat,
  loadFacility,
  loadFacilityDailyStat,
  loadProtocolStat,
  pauseChanged,
  roleAdminChanged,
  roleGranted,
  roleRevoked,
  ZERO,
} from "./common";

const KIND = "CarbonCredits";

function baselineId(projectId: BigInt, index: i32): string {
  return projectId.toString() + "-" + index.toString();
}

function loadCredit(tokenId: BigInt): Credit {
  const id = tokenId.toString();
  let c = Credit.load(id);
  if (c == null) {
    c = new Credit(id);
    c.tokenId = tokenId;
    c.project = projectIdOfToken(tokenId).toString();
    c.vintage = vintageOfToken(tokenId);
    c.issuedKg = ZERO;
    c.retiredKg = ZERO;
    c.supplyKg = ZERO;
    c.retirementCount = 0;
    c.holderCount = 0;
  }
  return c;
}

// ---------------------------------------------------------------- projects and baselines

export function handleProjectRegistered(event: ProjectRegistered): void {
  loadContract(event.address, KIND);
  const facility = loadFacility(event.params.facilityId, event);
  const p = new Project(event.params.projectId.toString());
  p.projectId = event.params.projectId;
  p.facility = facility.id;
  p.methodologyId = event.params.methodologyId;
  p.proponent = event.params.proponent;
  p.name = event.params.name;
  p.standard = event.params.standard;
  p.active = true;
  p.registeredAt = event.block.timestamp;
  p.transactionHash = event.transaction.hash;
  p.baselineCount = 0;
  // registerProject emits BaselineSet for segment 0 right after this event, in the same transaction.
  p.currentBaseline = baselineId(event.params.projectId, 0);
  p.issuedKg = ZERO;
  p.retiredKg = ZERO;
  p.correctionGramsRecorded = ZERO;
  p.shortfallGramsRecorded = ZERO;
  p.correctionGramsCovered = ZERO;
  p.owedGrams = ZERO;
  p.save();
  const stat = loadProtocolStat();
  stat.projectCount = stat.projectCount + 1;
  stat.save();
}

export function handleBaselineSet(event: BaselineSet): void {
  const p = Project.load(event.params.projectId.toString());
  if (p == null) return; // the contract reverts for unknown projects
  const b = new Baseline(baselineId(event.params.projectId, p.baselineCount));
  b.project = p.id;
  b.index = p.baselineCount;
  b.effectiveFrom = event.params.effectiveFrom;
  b.gramsPerDay = event.params.gramsPerDay;
  b.justificationCid = event.params.justificationCid;
  b.setAt = event.block.timestamp;
  b.transactionHash = event.transaction.hash;
  b.save();
  p.baselineCount = p.baselineCount + 1;
  p.currentBaseline = b.id;
  p.save();
}

export function handleProjectActiveSet(event: ProjectActiveSet): void {
  const p = Project.load(event.params.projectId.toString());
  if (p == null) return;
  p.active = event.params.active;
  p.save();
}

export function handleProjectProponentChanged(event: ProjectProponentChanged): void {
  const p = Project.load(event.params.projectId.toString());
  if (p == null) return;
  p.proponent = event.params.proponent;
  p.save();
}

// ---------------------------------------------------------------- challenges and corrections

export function handleAttestationChallenged(event: AttestationChallenged): void {
  const c = new Challenge(event.params.attestationId);
  c.attestation = event.params.attestationId;
  c.challenger = event.params.challenger;
  c.reason = event.params.reason;
  c.evidenceCid = event.params.evidenceCid;
  c.challengedAt = event.block.timestamp;
  c.transactionHash = event.transaction.hash;
  c.state = "Pending";
  c.save();
  const a = Attestation.load(event.params.attestationId);
  if (a != null) {
    a.challengeState = "Pending";
    a.challenge = c.id;
    a.save();
  }
}

export function handleChallengeResolved(event: ChallengeResolved): void {
  const c = Challenge.load(event.params.attestationId);
  if (c == null) return; // the contract reverts unless a challenge is pending
  c.state = event.params.upheld ? "Upheld" : "Dismissed";
  c.arbiter = event.params.arbiter;
  c.note = event.params.note;
  c.resolvedAt = event.block.timestamp;
  c.resolvedTransactionHash = event.transaction.hash;
  c.save();
  const a = Attestation.load(event.params.attestationId);
  if (a != null) {
    a.challengeState = c.state;
    a.save();
  }
}

export function handleCorrectionRecorded(event: CorrectionRecorded): void {
  const r = new CorrectionRecord(event.params.correctionId);
  r.correction = event.params.correctionId;
  r.original = event.params.originalId;
  r.fossilCo2eGrams = event.params.fossilCo2eGrams;
  r.timestamp = event.block.timestamp;
  r.transactionHash = event.transaction.hash;
  if (!event.params.projectId.isZero()) {
    const p = Project.load(event.params.projectId.toString());
    if (p != null) {
      r.project = p.id;
      p.correctionGramsRecorded = p.correctionGramsRecorded.plus(event.params.fossilCo2eGrams);
      p.owedGrams = p.owedGrams.plus(event.params.fossilCo2eGrams);
      p.save();
    }
  } else {
    // the corrected period is not issued yet: CarbonCredits adds the grams to it, and its issuance
    // covers them (counted in that issuance's correctionGramsCovered, never in a project's debt)
    const original = Attestation.load(event.params.originalId);
    if (original != null) {
      original.pendingCorrectionGrams = pendingAfterCorrection(
        original.pendingCorrectionGrams,
        event.params.fossilCo2eGrams,
      );
      original.save();
    }
  }
  r.save();
  const a = Attestation.load(event.params.correctionId);
  if (a != null) {
    a.correctionRecord = r.id;
    a.save();
  }
}

export function handleShortfallRecorded(event: ShortfallRecorded): void {
  const p = Project.load(event.params.projectId.toString());
  if (p == null) return; // the contract reverts for unknown projects
  p.shortfallGramsRecorded = p.shortfallGramsRecorded.plus(event.params.excessGrams);
  p.owedGrams = p.owedGrams.plus(event.params.excessGrams);
  p.save();
  const s = new Shortfall(event.params.attestationId);
  s.attestation = event.params.attestationId;
  s.project = p.id;
  s.excessGrams = event.params.excessGrams;
  s.recorder = event.transaction.from;
  s.timestamp = event.block.timestamp;
  s.transactionHash = event.transaction.hash;
  s.save();
  const a = Attestation.load(event.params.attestationId);
  if (a != null) {
    a.shortfall = s.id;
    a.save();
  }
}

// ---------------------------------------------------------------- issuance

export function handleCreditsIssued(event: CreditsIssued): void {
  const p = Project.load(event.params.projectId.toString());
  if (p == null) return;
  const i = new Issuance(event.params.attestationId);
  i.tokenId = event.params.tokenId;
  // an issuance of 0 kg mints nothing: no Credit for a token id that may never be minted
  if (issuanceMints(event.params.amount)) {
    const credit = loadCredit(event.params.tokenId);
    credit.save();
    i.credit = credit.id;
  }
  i.project = p.id;
  i.attestation = event.params.attestationId;
  i.to = event.params.to;
  i.amountKg = event.params.amount;
  i.boundKg = event.params.boundKg;
  i.correctionGramsCovered = event.params.correctionGramsCovered;
  i.issuer = event.transaction.from;
  i.timestamp = event.block.timestamp;
  i.blockNumber = event.block.number;
  i.transactionHash = event.transaction.hash;
  i.save();

  const a = Attestation.load(event.params.attestationId);
  if (a != null) {
    a.issuance = i.id;
    a.save();
  }

  const amount = event.params.amount;
  p.issuedKg = p.issuedKg.plus(amount);
  // correctionGramsCovered = the project's debt covered + the attestation's own pending corrections
  let covered = event.params.correctionGramsCovered;
  const backing = Attestation.load(event.params.attestationId);
  if (backing != null) covered = projectDebtCovered(covered, backing.pendingCorrectionGrams);
  p.correctionGramsCovered = p.correctionGramsCovered.plus(covered);
  p.owedGrams = p.owedGrams.minus(covered);
  p.save();
  const facility = loadFacility(p.facility, event);
  facility.creditsIssuedKg = facility.creditsIssuedKg.plus(amount);
  facility.save();
  const day = loadDailyStat(event.block.timestamp);
  day.issuedKg = day.issuedKg.plus(amount);
  day.issuanceCount = day.issuanceCount + 1;
  day.save();
  const fday = loadFacilityDailyStat(facility.id, event.block.timestamp);
  fday.issuedKg = fday.issuedKg.plus(amount);
  fday.issuanceCount = fday.issuanceCount + 1;
  fday.save();
  // the day its attestation's period starts, of the attestation's facility (the leaderboard's credits)
  if (backing != null) {
    const periodDay = loadFacilityDailyStat(backing.facility, backing.periodStart);
    periodDay.issuedAgainstKg = periodDay.issuedAgainstKg.plus(amount);
    periodDay.save();
  }
  const stat = loadProtocolStat();
  stat.issuedKg = stat.issuedKg.plus(amount);
  stat.save();
}

// ---------------------------------------------------------------- ERC-1155

function applyBalance(
  account: Address,
  credit: Credit,
  amount: BigInt,
  incoming: boolean,
  event: ethereum.Event,
): void {
  loadAccount(account);
  const id = account.concat(ethereum.encode(ethereum.Value.fromUnsignedBigInt(credit.tokenId))!);
  let b = Balance.load(id);
  if (b == null) {
    b = new Balance(id);
    b.account = account;
    b.credit = credit.id;
    b.amountKg = ZERO;
  }
  const change = incoming ? creditBalance(b.amountKg, amount) : debitBalance(b.amountKg, amount);
  b.amountKg = change.balance;
  b.updatedAt = event.block.timestamp;
  b.save();
  credit.holderCount = credit.holderCount + change.holderDelta;
}

/** A burn is a retirement (RetirementCertificates is the only burner): count it where the explorer sums. */
function countRetirement(credit: Credit, amount: BigInt, event: ethereum.Event): void {
  const p = Project.load(credit.project);
  if (p == null) return;
  p.retiredKg = p.retiredKg.plus(amount);
  p.save();
  const facility = loadFacility(p.facility, event);
  facility.creditsRetiredKg = facility.creditsRetiredKg.plus(amount);
  facility.save();
  const day = loadDailyStat(event.block.timestamp);
  day.retiredKg = day.retiredKg.plus(amount);
  day.retirementCount = day.retirementCount + 1;
  day.save();
  const fday = loadFacilityDailyStat(facility.id, event.block.timestamp);
  fday.retiredKg = fday.retiredKg.plus(amount);
  fday.retirementCount = fday.retirementCount + 1;
  fday.save();
  const stat = loadProtocolStat();
  stat.retiredKg = stat.retiredKg.plus(amount);
  stat.retirementCount = stat.retirementCount + 1;
  stat.save();
}

function transfer(
  event: ethereum.Event,
  entityId: Bytes,
  operator: Address,
  from: Address,
  to: Address,
  tokenId: BigInt,
  amount: BigInt,
): void {
  const credit = loadCredit(tokenId);
  const kind = transferKind(from.equals(Address.zero()), to.equals(Address.zero()));
  if (kind == KIND_ISSUANCE) {
    credit.issuedKg = credit.issuedKg.plus(amount);
  } else {
    applyBalance(from, credit, amount, false, event);
  }
  if (kind == KIND_RETIREMENT) {
    credit.retiredKg = credit.retiredKg.plus(amount);
    credit.retirementCount = credit.retirementCount + 1;
    countRetirement(credit, amount, event);
  } else {
    applyBalance(to, credit, amount, true, event);
  }
  credit.supplyKg = supplyOf(credit.issuedKg, credit.retiredKg);
  credit.save();

  const t = new CreditTransfer(entityId);
  t.credit = credit.id;
  t.kind = kind;
  t.operator = operator;
  t.from = from;
  t.to = to;
  t.amountKg = amount;
  t.timestamp = event.block.timestamp;
  t.blockNumber = event.block.number;
  t.transactionHash = event.transaction.hash;
  t.save();
}

export function handleTransferSingle(event: TransferSingle): void {
  loadContract(event.address, KIND);
  const p = event.params;
  transfer(event, eventId(event), p.operator, p.from, p.to, p.id, p.value);
}

export function handleTransferBatch(event: TransferBatch): void {
  loadContract(event.address, KIND);
  const p = event.params;
  const ids = p.ids;
  const values = p.values;
  for (let i = 0; i < ids.length; i++) {
    transfer(event, eventSubId(event, i), p.operator, p.from, p.to, ids[i], values[i]);
  }
}

export function handleURI(event: URI): void {
  const credit = loadCredit(event.params.id);
  credit.uri = event.params.value;
  credit.save();
}

export function handleApprovalForAll(event: ApprovalForAll): void {
  const id = event.address.concat(event.params.account).concat(event.params.operator);
  let a = OperatorApproval.load(id);
  if (a == null) {
    a = new OperatorApproval(id);
    a.contract = event.address;
    a.owner = event.params.account;
    a.operator = event.params.operator;
  }
  a.approved = event.params.approved;
  a.updatedAt = event.block.timestamp;
  a.save();
}

// ---------------------------------------------------------------- settings, pause, roles

export function handleCertificatesSet(event: CertificatesSet): void {
  const c = loadContract(event.address, KIND);
  c.certificates = event.params.certificates;
  c.save();
}

export function handleChallengeWindowSet(event: ChallengeWindowSet): void {
  const c = loadContract(event.address, KIND);
  c.challengeWindowSeconds = event.params.window;
  c.save();
}

export function handleExplorerBaseUrlSet(event: ExplorerBaseUrlSet): void {
  const c = loadContract(event.address, KIND);
  c.explorerBaseUrl = event.params.url;
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
