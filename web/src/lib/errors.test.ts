import { test } from "node:test";
import assert from "node:assert/strict";
import { ContractFunctionRevertedError, encodeErrorResult, type Abi } from "viem";
import { contractAbis } from "../../../sdk/src/contracts/generated.ts";
import { erc20ErrorsAbi, marketplaceAbi, retirementCertificatesAbi, withBubblingErrors } from "./chain/abis.ts";
import { CONTRACT_ERRORS, NOT_FROM_DAPP_WRITES, describeError } from "./errors.ts";

/** Names of the custom errors in `abis`, read from the generated file so new errors are seen. */
const errorNames = (...abis: readonly Abi[]) =>
  new Set(abis.flatMap((abi) => abi.filter((i) => i.type === "error").map((i) => i.name)));
/** The contracts the dApp sends transactions to, plus the payment token (components/*View.tsx). */
const written = errorNames(
  contractAbis.Marketplace,
  contractAbis.RetirementCertificates,
  contractAbis.CarbonCredits,
  erc20ErrorsAbi,
);
const defined = errorNames(...Object.values(contractAbis), erc20ErrorsAbi);

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
  assert.equal(describeError({ data: { errorName: "MarketplaceListingClosed" } }).kind, "listing-gone");
  assert.equal(
    describeError({ message: 'reverted with custom error "MarketplaceSlippage(1, 2)"' }).kind,
    "price-moved",
  );
});

test("insufficient funds for gas and an unreachable node", () => {
  assert.equal(describeError(new Error("insufficient funds for gas * price + value")).kind, "insufficient-gas");
  assert.equal(describeError({ name: "HttpRequestError", message: "fetch failed" }).kind, "network");
});

test("an event range the node refused, even with an HTTP status, is told with its range and setting", async () => {
  const { EventRangeError } = await import("../../../sdk/src/chain/eventRangeError.ts");
  const refused = new EventRangeError({
    what: "CreditsIssued (0x5FbDB2315678afecb367f032d93F642f64180aa3)",
    fromBlock: 5_000n,
    toBlock: 9_999n,
    rangeBlocks: 5_000n,
    startBlock: 0n,
    settings: { range: "CARBONPROOF_LOG_RANGE_BLOCKS", start: "CARBONPROOF_START_BLOCK" },
    // what viem throws for a provider's 413/400 answer: read alone, "did not answer"
    cause: { name: "HttpRequestError", shortMessage: "HTTP request failed.", details: "Payload Too Large" },
  });
  const d = describeError(refused);
  assert.equal(d.kind, "network");
  assert.match(d.message, /blocks 5000–9999/);
  assert.match(d.message, /set CARBONPROOF_LOG_RANGE_BLOCKS below 5000/);
  assert.doesNotMatch(d.message, /did not answer/);
});

test("anything else still produces a sentence, never an empty string", () => {
  const d = describeError(new Error("boom"));
  assert.equal(d.kind, "unknown");
  assert.match(d.message, /boom/);
  assert.match(describeError(undefined).message, /went wrong/);
});

test("every custom error a dApp write can hit (generated ABIs) has words, or is listed as out of its reach", () => {
  const missing = [...written].filter((n) => !(n in CONTRACT_ERRORS) && !NOT_FROM_DAPP_WRITES.has(n));
  assert.deepEqual(
    missing,
    [],
    "add these to CONTRACT_ERRORS (or, if no dApp write reaches them, NOT_FROM_DAPP_WRITES)",
  );
});

test("the error map names only errors some contract defines", () => {
  const unknown = Object.keys(CONTRACT_ERRORS).filter((n) => !defined.has(n));
  assert.deepEqual(unknown, [], "no contract defines these: a typo or a renamed error");
  for (const n of Object.keys(CONTRACT_ERRORS)) assert.ok(!NOT_FROM_DAPP_WRITES.has(n), `${n} is in both lists`);
});

test("an error bubbling up from the payment token or the certificates through a Marketplace write is named", () => {
  const cases = [
    {
      abi: erc20ErrorsAbi,
      errorName: "ERC20InsufficientAllowance",
      args: ["0x5FbDB2315678afecb367f032d93F642f64180aa3", 1n, 2n],
      kind: "insufficient-payment",
    },
    {
      abi: retirementCertificatesAbi,
      errorName: "RetirementCertificatesTextTooLong",
      args: [65n, 64n],
      kind: "invalid-input",
    },
  ] as const;
  for (const c of cases) {
    const data = encodeErrorResult({ abi: c.abi, errorName: c.errorName, args: c.args as never });
    // what viem builds from a reverted buyAndRetire, given the ABI the dApp hands it
    const reverted = new ContractFunctionRevertedError({
      abi: withBubblingErrors(marketplaceAbi),
      data,
      functionName: "buyAndRetire",
    });
    assert.equal(reverted.data?.errorName, c.errorName);
    const described = describeError({ name: "ContractFunctionExecutionError", cause: reverted });
    assert.equal(described.kind, c.kind, described.message);
    assert.equal(described.message, CONTRACT_ERRORS[c.errorName]!.message);
  }
});
