/**
 * Balance bookkeeping of ERC-1155 credit transfers: new balance and the change of the token's
 * holder count. AssemblyScript-compatible (see time.ts): BigInt is graph-ts's in the subgraph.
 */
import { BigInt } from "@graphprotocol/graph-ts";

export class BalanceChange {
  balance: BigInt;
  /** +1 when the account starts holding the token, −1 when it stops, else 0 */
  holderDelta: i32;

  constructor(balance: BigInt, holderDelta: i32) {
    this.balance = balance;
    this.holderDelta = holderDelta;
  }
}

/** The receiving side of a transfer of `amount`. */
export function credit(balance: BigInt, amount: BigInt): BalanceChange {
  const after = balance.plus(amount);
  return new BalanceChange(after, balance.isZero() && !after.isZero() ? 1 : 0);
}

/**
 * The sending side of a transfer of `amount`. The token contract reverts a transfer above the
 * balance, so a result below zero means the subgraph missed an event: it is clamped at zero
 * rather than carried as a negative balance.
 */
export function debit(balance: BigInt, amount: BigInt): BalanceChange {
  let after = balance.minus(amount);
  if (after.lt(BigInt.zero())) after = BigInt.zero();
  return new BalanceChange(after, !balance.isZero() && after.isZero() ? -1 : 0);
}

export const KIND_ISSUANCE = "Issuance";
export const KIND_RETIREMENT = "Retirement";
export const KIND_TRANSFER = "Transfer";

/** Mint (from zero) = issuance, burn (to zero) = retirement, else a transfer. */
export function transferKind(fromZero: boolean, toZero: boolean): string {
  if (fromZero) return KIND_ISSUANCE;
  if (toZero) return KIND_RETIREMENT;
  return KIND_TRANSFER;
}
