/** RetirementCertificates: retirements for a beneficiary and their soulbound ERC-721 certificates. */
import { Address, BigInt, ethereum } from "@graphprotocol/graph-ts";
import {
  Approval,
  ApprovalForAll,
  Locked,
  Retired,
  RoleAdminChanged,
  RoleGranted,
  RoleRevoked,
  Transfer,
  Unlocked,
} from "../../dist/generated/RetirementCertificates/RetirementCertificates";
import { Certificate, CertificateApproval, Retirement } from "../../dist/generated/schema";
import { countryCodeFromBytes3 } from "../logic/ids";
import { eventId, loadAccount, loadContract, roleAdminChanged, roleGranted, roleRevoked } from "./common";

const KIND = "RetirementCertificates";

function loadCertificate(certificateId: BigInt, owner: Address, event: ethereum.Event): Certificate {
  let c = Certificate.load(certificateId.toString());
  if (c == null) {
    loadAccount(owner);
    c = new Certificate(certificateId.toString());
    c.certificateId = certificateId;
    c.owner = owner;
    c.locked = false;
    c.mintedAt = event.block.timestamp;
    c.transactionHash = event.transaction.hash;
  }
  return c;
}

/** Mint (from zero) creates the certificate; a soulbound token never moves after that. */
export function handleTransfer(event: Transfer): void {
  loadContract(event.address, KIND);
  const c = loadCertificate(event.params.tokenId, event.params.to, event);
  if (!event.params.to.equals(Address.zero())) {
    loadAccount(event.params.to);
    c.owner = event.params.to;
  }
  c.save();
}

export function handleLocked(event: Locked): void {
  const c = Certificate.load(event.params.tokenId.toString());
  if (c == null) return;
  c.locked = true;
  c.save();
}

export function handleUnlocked(event: Unlocked): void {
  const c = Certificate.load(event.params.tokenId.toString());
  if (c == null) return;
  c.locked = false;
  c.save();
}

export function handleRetired(event: Retired): void {
  const p = event.params;
  const certificate = loadCertificate(p.certificateId, p.beneficiary, event);
  loadAccount(p.beneficiary);
  loadAccount(p.retiree);
  const r = new Retirement(p.certificateId.toString());
  r.certificate = certificate.id;
  r.credit = p.creditId.toString();
  r.beneficiary = p.beneficiary;
  r.retiree = p.retiree;
  r.holder = p.holder;
  r.amountKg = p.amount;
  r.beneficiaryName = p.beneficiaryName;
  r.reason = p.reason;
  r.consumptionCountry = p.consumptionCountry;
  const country = countryCodeFromBytes3(p.consumptionCountry);
  r.consumptionCountryCode = country.length > 0 ? country : null;
  r.consumptionStart = p.consumptionStart;
  r.consumptionEnd = p.consumptionEnd;
  r.timestamp = event.block.timestamp;
  r.blockNumber = event.block.number;
  r.transactionHash = event.transaction.hash;
  r.save();
  certificate.retirement = r.id;
  certificate.save();
}

export function handleApproval(event: Approval): void {
  const a = new CertificateApproval(eventId(event));
  a.owner = event.params.owner;
  a.spender = event.params.approved;
  a.certificateId = event.params.tokenId;
  a.approved = !event.params.approved.equals(Address.zero());
  a.timestamp = event.block.timestamp;
  a.transactionHash = event.transaction.hash;
  a.save();
}

export function handleApprovalForAll(event: ApprovalForAll): void {
  const a = new CertificateApproval(eventId(event));
  a.owner = event.params.owner;
  a.spender = event.params.operator;
  a.approved = event.params.approved;
  a.timestamp = event.block.timestamp;
  a.transactionHash = event.transaction.hash;
  a.save();
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
