/**
 * What a purchase costs, computed exactly as Marketplace/MarketMath does it:
 * total = unitPrice × amount (the buyer pays this, nothing more), fee =
 * floor(total × feeBps / 10,000) taken from the seller's proceeds. The slippage
 * guard becomes `maxTotalPrice`: the most the buyer agrees to pay if the seller
 * raises the price between this quote and the transaction.
 */

export const BPS = 10_000n;

export type Quote = {
  amountKg: bigint;
  totalPrice: bigint;
  fee: bigint;
  sellerReceives: bigint;
  maxTotalPrice: bigint;
};

export function quote(unitPrice: bigint, amountKg: bigint, feeBps: number, slippageBps: number): Quote {
  const totalPrice = unitPrice * amountKg;
  const fee = (totalPrice * BigInt(feeBps)) / BPS;
  return {
    amountKg,
    totalPrice,
    fee,
    sellerReceives: totalPrice - fee,
    maxTotalPrice: totalPrice + (totalPrice * BigInt(slippageBps)) / BPS,
  };
}

/** Why an amount cannot be bought from a listing, in words; undefined when it can. */
export function amountProblem(amountKg: bigint, remainingKg: bigint, minFillKg: bigint): string | undefined {
  if (remainingKg === 0n) return "This listing is sold out or cancelled.";
  if (amountKg <= 0n) return "Enter an amount of at least 0.001 t.";
  if (amountKg > remainingKg) return "That is more than the listing has left.";
  if (amountKg < minFillKg && amountKg !== remainingKg)
    return "The seller's minimum purchase is larger than that (or buy everything that is left).";
  return undefined;
}

export type PurchaseStep = "approve" | "buy";

/** The ERC-20 approval is needed only while the allowance is below the most the purchase may cost. */
export function nextStep(allowance: bigint, q: Quote): PurchaseStep {
  return allowance >= q.maxTotalPrice ? "buy" : "approve";
}

/** Whether the buyer's balance covers the worst case. */
export function canAfford(balance: bigint, q: Quote): boolean {
  return balance >= q.maxTotalPrice;
}

/** A listing's `paymentToken` of zero: paid in the chain's native currency (ETH), sent with the call. */
export function isNativePayment(paymentToken: string): boolean {
  return /^0x0{40}$/i.test(paymentToken);
}

/**
 * The step a purchase is at. An ERC-20 listing needs the approval first (undefined until the
 * allowance is read); a native-currency listing has no approval: the price goes with the call.
 */
export function purchaseStep(native: boolean, allowance: bigint | undefined, q: Quote): PurchaseStep | undefined {
  if (native) return "buy";
  return allowance === undefined ? undefined : nextStep(allowance, q);
}

/**
 * `msg.value` of buy/buyAndRetire: for a native listing exactly the total price (Marketplace
 * reverts MarketplaceWrongValue on any other amount, so a price change fails the purchase rather
 * than charging more); nothing for an ERC-20 listing.
 */
export function paymentValue(native: boolean, q: Quote): bigint | undefined {
  return native ? q.totalPrice : undefined;
}

/** Whether the balance covers what may be taken: the exact price sent (native; gas comes on top) or the worst case. */
export function balanceCovers(native: boolean, balance: bigint, q: Quote): boolean {
  return native ? balance >= q.totalPrice : canAfford(balance, q);
}

/** Where the buyer's transaction on the buy page stands (hooks.ts `TxState`'s status). */
export type PurchaseTxStatus = "idle" | "wallet" | "pending" | "confirmed" | "failed";

/**
 * What the buy page shows under the listing: the purchase form while the listing is open. Once it
 * is closed (sold out, cancelled or expired), the outcome of this buyer's transaction if there is
 * one — a "Buy all" empties the listing, and its confirmation and certificate link must stay in
 * view — else why nothing can be bought.
 */
export function purchasePanel(closed: boolean, tx: PurchaseTxStatus): "form" | "outcome" | "closed" {
  if (!closed) return "form";
  return tx === "idle" ? "closed" : "outcome";
}
