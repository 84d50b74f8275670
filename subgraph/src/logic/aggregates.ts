/**
 * The totals kept per facility, per day, per facility-day and overall. The mappings load an
 * entity's totals into EmissionTotals, apply an event, and store the result back, so the
 * arithmetic lives here once. AssemblyScript-compatible (see time.ts).
 */
import { BigInt } from "@graphprotocol/graph-ts";

export class EmissionTotals {
  attestationCount: i32;
  revokedAttestationCount: i32;
  readingCount: BigInt;
  fossilCo2eGrams: BigInt;
  biogenicCo2Grams: BigInt;

  constructor(
    attestationCount: i32,
    revokedAttestationCount: i32,
    readingCount: BigInt,
    fossilCo2eGrams: BigInt,
    biogenicCo2Grams: BigInt,
  ) {
    this.attestationCount = attestationCount;
    this.revokedAttestationCount = revokedAttestationCount;
    this.readingCount = readingCount;
    this.fossilCo2eGrams = fossilCo2eGrams;
    this.biogenicCo2Grams = biogenicCo2Grams;
  }
}

export function zeroTotals(): EmissionTotals {
  return new EmissionTotals(0, 0, BigInt.zero(), BigInt.zero(), BigInt.zero());
}

/** A new attestation counts once and adds its readings and emissions. */
export function addAttestation(
  t: EmissionTotals,
  readingCount: BigInt,
  fossilCo2eGrams: BigInt,
  biogenicCo2Grams: BigInt,
): EmissionTotals {
  return new EmissionTotals(
    t.attestationCount + 1,
    t.revokedAttestationCount,
    t.readingCount.plus(readingCount),
    t.fossilCo2eGrams.plus(fossilCo2eGrams),
    t.biogenicCo2Grams.plus(biogenicCo2Grams),
  );
}

/**
 * A revoked attestation stays counted in attestationCount, is counted as revoked, and its
 * readings and emissions leave the totals: totals describe what still stands.
 */
export function revokeAttestation(
  t: EmissionTotals,
  readingCount: BigInt,
  fossilCo2eGrams: BigInt,
  biogenicCo2Grams: BigInt,
): EmissionTotals {
  return new EmissionTotals(
    t.attestationCount,
    t.revokedAttestationCount + 1,
    t.readingCount.minus(readingCount),
    t.fossilCo2eGrams.minus(fossilCo2eGrams),
    t.biogenicCo2Grams.minus(biogenicCo2Grams),
  );
}

export const LISTING_OPEN = "Open";
export const LISTING_FILLED = "Filled";
export const LISTING_CANCELLED = "Cancelled";

export class ListingFill {
  remainingKg: BigInt;
  soldKg: BigInt;
  status: string;

  constructor(remainingKg: BigInt, soldKg: BigInt, status: string) {
    this.remainingKg = remainingKg;
    this.soldKg = soldKg;
    this.status = status;
  }
}

/** A listing after a buy of `amountKg`: what remains, what was sold so far, and whether it is filled. */
export function fillListing(remainingKg: BigInt, soldKg: BigInt, amountKg: BigInt): ListingFill {
  let remaining = remainingKg.minus(amountKg);
  if (remaining.lt(BigInt.zero())) remaining = BigInt.zero();
  return new ListingFill(remaining, soldKg.plus(amountKg), remaining.isZero() ? LISTING_FILLED : LISTING_OPEN);
}

/** Credit supply: issued − retired (CarbonCredits keeps the same invariant). */
export function supplyOf(issuedKg: BigInt, retiredKg: BigInt): BigInt {
  return issuedKg.minus(retiredKg);
}
