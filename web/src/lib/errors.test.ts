import { test } from "node:test";
import assert from "node:assert/strict";
import { describeError } from "./errors.ts";

test("a wallet rejection (EIP-1193 4001) reads as a rejection", () => {
  const e = {
    name: "TransactionExecutionError",
    message: "x",
    cause: { name: "UserRejectedRequestError", code: 4001 },
  };
  assert.equal(describeError(e).kind, "rejected");
  assert.match(describeError(e).message, /rejected/);
});

test("a decoded custom error deep in the cause chain is named in words", () => {
  const e = {
    name: "ContractFunctionExecutionError",
    cause: { name: "ContractFunctionRevertedError", data: { errorName: "ERC20InsufficientBalance" } },
  };
  assert.equal(describeError(e).kind, "insufficient-payment");
});

test("a listing that went away and a price above the guard are told apart", () => {
  assert.equal(describeError({ data: { errorName: "MarketplaceListingInactive" } }).kind, "listing-gone");
  assert.equal(
    describeError({ message: 'reverted with custom error "MarketplaceMaxTotalPriceExceeded(1, 2)"' }).kind,
    "price-moved",
  );
});

test("insufficient funds for gas and an unreachable node", () => {
  assert.equal(describeError(new Error("insufficient funds for gas * price + value")).kind, "insufficient-gas");
  assert.equal(describeError({ name: "HttpRequestError", message: "fetch failed" }).kind, "network");
});

test("anything else still produces a sentence, never an empty string", () => {
  const d = describeError(new Error("boom"));
  assert.equal(d.kind, "unknown");
  assert.match(d.message, /boom/);
  assert.match(describeError(undefined).message, /went wrong/);
});
