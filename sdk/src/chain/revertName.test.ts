import assert from "node:assert/strict";
import { test } from "node:test";
import {
  BaseError,
  createPublicClient,
  custom,
  ContractFunctionExecutionError,
  ContractFunctionRevertedError,
  encodeErrorResult,
  encodeFunctionResult,
  type Abi,
} from "viem";
import { carbonCreditsAbi, deviceRegistryAbi, oracleSetAbi } from "../contracts/generated.ts";
import { revertName } from "./revertName.ts";

// The errors are viem's own classes, built as viem builds them from a node's answer; the sdk's
// verifier test (verify.test.ts) and the oracle's quorum and tx-follow tests see them from Hardhat.
const paused = encodeErrorResult({ abi: carbonCreditsAbi as Abi, errorName: "EnforcedPause" });
const notReached = encodeErrorResult({
  abi: oracleSetAbi as Abi,
  errorName: "OracleSetQuorumNotReached",
  args: [1n, 2n],
});

function readContractError(abi: Abi, data: `0x${string}` | undefined): ContractFunctionExecutionError {
  // a view every one of these contracts has, with no arguments to format
  const reverted = new ContractFunctionRevertedError({ abi, data, functionName: "paused" });
  return new ContractFunctionExecutionError(reverted, { abi, functionName: "paused", args: [] });
}

test("revertName names a readContract revert from its decoded error", () => {
  assert.equal(revertName(readContractError(carbonCreditsAbi as Abi, paused)), "EnforcedPause");
});

test("revertName decodes a readContract revert of an error outside the call's ABI with the abi given, else 'unknown revert'", () => {
  // the registry's call reverted inside the OracleSet: the registry's ABI does not know the error
  const e = readContractError(deviceRegistryAbi as Abi, notReached);
  assert.equal(revertName(e, oracleSetAbi as Abi), "OracleSetQuorumNotReached");
  assert.equal(revertName(e), "unknown revert");
  // no revert data at all: nothing the contract answered
  assert.equal(revertName(readContractError(carbonCreditsAbi as Abi, "0x")), null);
});

test("revertName decodes raw revert data on an error's cause, as data or data.data, with the abi given", () => {
  const estimate = new BaseError("Execution reverted", {
    cause: Object.assign(new Error("rpc"), { data: notReached }),
  });
  assert.equal(revertName(estimate, oracleSetAbi as Abi), "OracleSetQuorumNotReached");
  const nested = Object.assign(new Error("rpc"), { cause: { data: { data: paused } } });
  assert.equal(revertName(nested, carbonCreditsAbi as Abi), "EnforcedPause");
  // without an ABI that knows it, raw data names nothing
  assert.equal(revertName(estimate), null);
  assert.equal(revertName(estimate, carbonCreditsAbi as Abi), null);
});

test("revertName is null for what is no revert: an RPC failure, a return value, a loop of causes, a non-error", () => {
  assert.equal(
    revertName(new BaseError("fetch failed", { cause: new Error("ECONNREFUSED") }), oracleSetAbi as Abi),
    null,
  );
  const returned = encodeFunctionResult({ abi: oracleSetAbi as Abi, functionName: "threshold", result: 2n });
  assert.equal(revertName(Object.assign(new Error("x"), { data: returned }), oracleSetAbi as Abi), null);
  const loop: { data?: unknown; cause?: unknown } = {};
  loop.cause = loop;
  assert.equal(revertName(loop, oracleSetAbi as Abi), null);
  assert.equal(revertName("reverted", oracleSetAbi as Abi), null);
  assert.equal(revertName(undefined), null);
});

/** A client whose every request fails as an RPC node fails it (viem's own wrapping applies). */
function failingClient(error: { code: number; message: string; data?: string }) {
  return createPublicClient({
    transport: custom({
      request: async () => {
        throw Object.assign(new Error(error.message), error);
      },
    }),
  });
}
const CREDITS = "0x5FbDB2315678afecb367f032d93F642f64180aa3" as const;

test("revertName through viem's readContract: a revert's data is named, an RPC node's internal error (-32603) is null, not its message", async () => {
  const read = (error: { code: number; message: string; data?: string }) =>
    failingClient(error)
      .readContract({ address: CREDITS, abi: carbonCreditsAbi, functionName: "paused" })
      .then(
        () => assert.fail("the call succeeded"),
        (err: unknown) => err,
      );
  assert.equal(revertName(await read({ code: 3, message: "execution reverted", data: paused })), "EnforcedPause");
  const foreign = await read({ code: 3, message: "execution reverted", data: notReached });
  assert.equal(revertName(foreign, oracleSetAbi as Abi), "OracleSetQuorumNotReached");
  assert.equal(revertName(foreign), "unknown revert");
  // viem reports -32603 as a ContractFunctionRevertedError whose reason is the node's message
  assert.equal(revertName(await read({ code: -32603, message: "Internal error" }), carbonCreditsAbi as Abi), null);
  assert.equal(revertName(await read({ code: -32000, message: "header not found" }), carbonCreditsAbi as Abi), null);
});
