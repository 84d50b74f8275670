/** Marketplace: listings, sales (buy and buy-and-retire), fees and payment tokens. */
import {
  Bought,
  Cancelled,
  FeeUpdated,
  Listed,
  Paused,
  PaymentTokenSet,
  PriceUpdated,
  RoleAdminChanged,
  RoleGranted,
  RoleRevoked,
  Unpaused,
} from "../../dist/generated/Marketplace/Marketplace";
import { Credit, FeeChange, Listing, PaymentToken, PriceChange, Project, Sale } from "../../dist/generated/schema";
import { fillListing, LISTING_CANCELLED, LISTING_OPEN } from "../logic/aggregates";
import {
  eventId,
  loadAccount,
  loadContract,
  loadDailyStat,
  loadFacilityDailyStat,
  loadProtocolStat,
  pauseChanged,
  roleAdminChanged,
  roleGranted,
  roleRevoked,
  ZERO,
} from "./common";

const KIND = "Marketplace";

export function handleListed(event: Listed): void {
  loadContract(event.address, KIND);
  const p = event.params;
  loadAccount(p.seller);
  const l = new Listing(p.listingId.toString());
  l.listingId = p.listingId;
  l.seller = p.seller;
  l.credit = p.tokenId.toString();
  l.amountKg = p.amount;
  l.remainingKg = p.amount;
  l.paymentToken = p.paymentToken;
  l.unitPrice = p.unitPrice;
  l.minFillKg = p.minFill;
  l.expiresAt = p.expiresAt;
  l.status = LISTING_OPEN;
  l.createdAt = event.block.timestamp;
  l.transactionHash = event.transaction.hash;
  l.soldKg = ZERO;
  l.saleCount = 0;
  l.save();
  const stat = loadProtocolStat();
  stat.listingCount = stat.listingCount + 1;
  stat.save();
}

export function handlePriceUpdated(event: PriceUpdated): void {
  const l = Listing.load(event.params.listingId.toString());
  if (l == null) return;
  l.unitPrice = event.params.unitPrice;
  l.save();
  const c = new PriceChange(eventId(event));
  c.listing = l.id;
  c.previousUnitPrice = event.params.previousUnitPrice;
  c.unitPrice = event.params.unitPrice;
  c.timestamp = event.block.timestamp;
  c.transactionHash = event.transaction.hash;
  c.save();
}

export function handleCancelled(event: Cancelled): void {
  const l = Listing.load(event.params.listingId.toString());
  if (l == null) return;
  l.status = LISTING_CANCELLED;
  l.remainingKg = ZERO;
  l.cancelledAt = event.block.timestamp;
  l.amountReturnedKg = event.params.amountReturned;
  l.save();
}

export function handleBought(event: Bought): void {
  const p = event.params;
  const l = Listing.load(p.listingId.toString());
  if (l == null) return;
  const fill = fillListing(l.remainingKg, l.soldKg, p.amount);
  l.remainingKg = fill.remainingKg;
  l.soldKg = fill.soldKg;
  l.status = fill.status;
  l.saleCount = l.saleCount + 1;
  l.save();

  loadAccount(p.buyer);
  const s = new Sale(eventId(event));
  s.listing = l.id;
  s.buyer = p.buyer;
  s.credit = p.tokenId.toString();
  s.amountKg = p.amount;
  s.totalPrice = p.totalPrice;
  s.fee = p.fee;
  s.paymentToken = l.paymentToken;
  s.retired = p.retired;
  if (p.retired) s.certificate = p.certificateId.toString();
  s.timestamp = event.block.timestamp;
  s.transactionHash = event.transaction.hash;
  s.save();

  const day = loadDailyStat(event.block.timestamp);
  day.saleCount = day.saleCount + 1;
  day.soldKg = day.soldKg.plus(p.amount);
  day.save();
  const stat = loadProtocolStat();
  stat.saleCount = stat.saleCount + 1;
  stat.soldKg = stat.soldKg.plus(p.amount);
  stat.save();
  const credit = Credit.load(s.credit);
  if (credit == null) return;
  const project = Project.load(credit.project);
  if (project == null) return;
  const fday = loadFacilityDailyStat(project.facility, event.block.timestamp);
  fday.saleCount = fday.saleCount + 1;
  fday.soldKg = fday.soldKg.plus(p.amount);
  fday.save();
}

export function handleFeeUpdated(event: FeeUpdated): void {
  const contract = loadContract(event.address, KIND);
  contract.feeBps = event.params.feeBps;
  contract.treasury = event.params.treasury;
  contract.save();
  const f = new FeeChange(eventId(event));
  f.previousFeeBps = event.params.previousFeeBps;
  f.feeBps = event.params.feeBps;
  f.previousTreasury = event.params.previousTreasury;
  f.treasury = event.params.treasury;
  f.timestamp = event.block.timestamp;
  f.transactionHash = event.transaction.hash;
  f.save();
}

export function handlePaymentTokenSet(event: PaymentTokenSet): void {
  let t = PaymentToken.load(event.params.token);
  if (t == null) t = new PaymentToken(event.params.token);
  t.allowed = event.params.allowed;
  t.updatedAt = event.block.timestamp;
  t.save();
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
