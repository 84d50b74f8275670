import { test } from "node:test";
import assert from "node:assert/strict";
import {
  amountProblem,
  balanceCovers,
  canAfford,
  isNativePayment,
  nextStep,
  paymentValue,
  purchasePanel,
  purchaseStep,
  quote,
} from "./quote.ts";

test("the buyer pays unitPrice × amount and the fee comes out of the seller's share, rounded down", () => {
  // 18.50 tUSD per tonne = 18,500 base units (6 decimals) per kg; 1.234 t; 1 % fee.
  const q = quote(18_500n, 1234n, 100, 0);
  assert.equal(q.totalPrice, 22_829_000n);
  assert.equal(q.fee, 228_290n);
  assert.equal(q.sellerReceives + q.fee, q.totalPrice);
  const odd = quote(7n, 3n, 333, 0); // 21 × 333 / 10000 = 0.6993 → 0
  assert.equal(odd.fee, 0n);
});

test("the slippage guard allows at most the chosen share above the quote", () => {
  const q = quote(20_000n, 1000n, 100, 50);
  assert.equal(q.totalPrice, 20_000_000n);
  assert.equal(q.maxTotalPrice, 20_100_000n);
  assert.equal(quote(20_000n, 1000n, 100, 0).maxTotalPrice, 20_000_000n);
});

test("amounts are checked against what is left and the seller's minimum", () => {
  assert.equal(amountProblem(500n, 1000n, 100n), undefined);
  assert.match(amountProblem(1001n, 1000n, 100n)!, /more than/);
  assert.match(amountProblem(50n, 1000n, 100n)!, /minimum/);
  assert.equal(amountProblem(50n, 50n, 100n), undefined, "taking everything left is always allowed");
  assert.match(amountProblem(1n, 0n, 1n)!, /sold out/);
  assert.match(amountProblem(0n, 10n, 1n)!, /at least/);
});

test("approval is asked only when the allowance does not cover the worst case", () => {
  const q = quote(20_000n, 1000n, 100, 50);
  assert.equal(nextStep(0n, q), "approve");
  assert.equal(nextStep(q.totalPrice, q), "approve");
  assert.equal(nextStep(q.maxTotalPrice, q), "buy");
  assert.equal(canAfford(q.maxTotalPrice - 1n, q), false);
});

test("a listing paid in native currency needs no approval and sends exactly the total price", () => {
  const q = quote(20_000_000_000_000n, 1500n, 250, 100);
  assert.equal(isNativePayment("0x0000000000000000000000000000000000000000"), true);
  assert.equal(isNativePayment("0x5FbDB2315678afecb367f032d93F642f64180aa3"), false);
  // before: the ERC-20 allowance of address 0 was read, never arrived, and Buy stayed disabled
  assert.equal(purchaseStep(true, undefined, q), "buy");
  assert.equal(paymentValue(true, q), q.totalPrice);
  assert.equal(balanceCovers(true, q.totalPrice, q), true);
  assert.equal(balanceCovers(true, q.totalPrice - 1n, q), false);
});

test("an ERC-20 listing sends no value and waits for its allowance before choosing a step", () => {
  const q = quote(25_000n, 1000n, 250, 50);
  assert.equal(purchaseStep(false, undefined, q), undefined);
  assert.equal(purchaseStep(false, 0n, q), "approve");
  assert.equal(purchaseStep(false, q.maxTotalPrice, q), "buy");
  assert.equal(paymentValue(false, q), undefined);
  assert.equal(balanceCovers(false, q.totalPrice, q), false, "the worst case counts");
});

test("a purchase that empties the listing keeps its outcome in view; a listing closed before shows why", () => {
  // "Buy all" or buy-and-retire of everything left: the refetch reads remaining = 0
  assert.equal(purchasePanel(true, "confirmed"), "outcome");
  assert.equal(purchasePanel(true, "pending"), "outcome");
  assert.equal(purchasePanel(true, "failed"), "outcome");
  assert.equal(purchasePanel(true, "idle"), "closed");
  assert.equal(purchasePanel(false, "confirmed"), "form");
  assert.equal(purchasePanel(false, "idle"), "form");
});
