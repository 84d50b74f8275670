/**
 * Corrections of a period not yet issued (CarbonCredits.recordCorrection with projectId 0): the
 * contract adds their grams to the period, and the period's issuance covers them, reported in the
 * same `correctionGramsCovered` as the project's debt it covers (`CarbonCredits.issue` emits
 * `covered + pendingCorrectionGrams`). The mappings keep the pending grams on the corrected
 * attestation so that a project's debt counts only its own part. AssemblyScript-compatible (see
 * time.ts).
 */
import { BigInt } from "@graphprotocol/graph-ts";

/** The grams pending on an attestation after one more correction of `grams` (none before: null). */
export function pendingAfterCorrection(before: BigInt | null, grams: BigInt): BigInt {
  // a nullable BigInt is tested for presence, not compared with null: BigInt overloads ==
  if (before) return before.plus(grams);
  return grams;
}

/**
 * The part of an issuance's `correctionGramsCovered` that paid the project's debt: all of it but
 * the attestation's own pending corrections. Never below zero, should a correction event be missed.
 */
export function projectDebtCovered(correctionGramsCovered: BigInt, pending: BigInt | null): BigInt {
  if (!pending) return correctionGramsCovered;
  return correctionGramsCovered.gt(pending) ? correctionGramsCovered.minus(pending) : BigInt.zero();
}
