/**
 * Issuances (CarbonCredits.CreditsIssued). AssemblyScript-compatible (see time.ts).
 */
import { BigInt } from "@graphprotocol/graph-ts";

/**
 * Whether an issuance of `amountKg` minted credits. CarbonCredits.issue takes amount 0 when the
 * period's reduction goes to the project's debt: it mints nothing then, so its token id may never
 * have been minted, and no Credit is created for it (the Issuance keeps the token id).
 */
export function issuanceMints(amountKg: BigInt): boolean {
  return !amountKg.isZero();
}
