/**
 * Id layouts of the credits contracts. AssemblyScript-compatible (see time.ts).
 * - CarbonCredits token id = projectId << 16 | vintage (UTC year)
 * - RetirementCertificates certificate id = creditTokenId << 64 | n (n-th retirement of that credit)
 */
import { BigInt } from "@graphprotocol/graph-ts";

export function projectIdOfToken(tokenId: BigInt): BigInt {
  return tokenId.rightShift(16);
}

export function vintageOfToken(tokenId: BigInt): i32 {
  return tokenId.bitAnd(BigInt.fromI32(0xffff)).toI32();
}

export function tokenIdOf(projectId: BigInt, vintage: i32): BigInt {
  return projectId.leftShift(16).bitOr(BigInt.fromI32(vintage));
}

export function creditIdOfCertificate(certificateId: BigInt): BigInt {
  return certificateId.rightShift(64);
}
