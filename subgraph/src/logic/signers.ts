/**
 * Oracle-node indices in an attestation's signer bitmap (bit i set = node with index i of the
 * OracleSet co-signed). AssemblyScript-compatible (see time.ts).
 */
import { BigInt } from "@graphprotocol/graph-ts";

/** Set bits of `bitmap` (a uint128), lowest first. */
export function signerIndices(bitmap: BigInt): i32[] {
  const out: i32[] = [];
  const one = BigInt.fromI32(1);
  let rest = bitmap;
  for (let i = 0; i < 128; i++) {
    if (rest.isZero()) break;
    if (!rest.bitAnd(one).isZero()) out.push(i);
    rest = rest.rightShift(1);
  }
  return out;
}
