import { test } from "node:test";
import assert from "node:assert/strict";
import { encodeErrorResult, type Hex, type TransactionReceipt } from "viem";
import { marketplaceAbi, retirementCertificatesAbi } from "./abis.ts";
import { SLOW_MESSAGE, settleTransaction, type ReceiptClient, type SentCall } from "./track.ts";

const SENT: Hex = `0x${"aa".repeat(32)}`;
const BUYER = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";

const receipt = (status: "success" | "reverted", hash: Hex): TransactionReceipt =>
  ({ status, transactionHash: hash, blockNumber: 42n, logs: [] }) as unknown as TransactionReceipt;

type WaitArgs = {
  hash: Hex;
  timeout?: number;
  signal?: AbortSignal;
};

/**
 * Stands for viem's public client (`waitForTransactionReceipt`, `simulateContract`) on a node, in
 * the cases track.hardhat.test.ts does not make on its real Hardhat node: the arguments the wait
 * is called with (a receipt timeout shows only after viem's 180 s), a revert raised inside another
 * contract the call reaches (a full market deployment), and a replay that passes at the block the
 * transaction reverted in (the chain changed and changed back within that block).
 */
function fakeClient(opts: {
  status?: "success" | "reverted";
  delayMs?: number;
  simulate?: (args: { blockNumber?: bigint; functionName: string }) => Promise<unknown>;
  seen?: WaitArgs[];
}): ReceiptClient {
  return {
    waitForTransactionReceipt: async (args: WaitArgs) => {
      opts.seen?.push(args);
      if (opts.delayMs) await new Promise((r) => setTimeout(r, opts.delayMs));
      return receipt(opts.status ?? "success", args.hash);
    },
    simulateContract: async (args: { blockNumber?: bigint; functionName: string }) =>
      (opts.simulate ?? (async () => ({})))(args),
  } as unknown as ReceiptClient;
}

test("waits with no receipt timeout, and says after a while that the transaction can still be mined", async () => {
  const seen: WaitArgs[] = [];
  let slow = 0;
  const outcome = await settleTransaction(fakeClient({ delayMs: 60, seen }), SENT, undefined, {
    slowAfterMs: 10,
    onSlow: () => slow++,
  });
  assert.equal(
    seen[0]!.timeout,
    0,
    "viem's default is 180 s, then 'Timed out' while the transaction may still be mined",
  );
  assert.equal(slow, 1);
  assert.equal(outcome.kind, "confirmed");
  assert.match(SLOW_MESSAGE, /do not send it again/);
});

test("a reverted transaction is replayed at its block and the reason, bubbling from a called contract, named", async () => {
  const calls: { blockNumber?: bigint; functionName: string }[] = [];
  const data = encodeErrorResult({
    abi: retirementCertificatesAbi,
    errorName: "RetirementCertificatesTextTooLong",
    args: [200n, 160n],
  });
  const call: SentCall = {
    address: "0x5FbDB2315678afecb367f032d93F642f64180aa3",
    abi: marketplaceAbi,
    functionName: "buyAndRetire",
    args: [],
    account: BUYER,
  };
  const outcome = await settleTransaction(
    fakeClient({
      status: "reverted",
      simulate: async (args) => {
        calls.push(args);
        // what viem's simulateContract throws for that revert data
        const { ContractFunctionRevertedError } = await import("viem");
        throw new ContractFunctionRevertedError({
          abi: (args as unknown as { abi: typeof marketplaceAbi }).abi,
          data,
          functionName: "buyAndRetire",
        });
      },
    }),
    SENT,
    call,
  );
  assert.equal(outcome.kind, "reverted");
  assert.equal(calls[0]!.blockNumber, 42n);
  if (outcome.kind === "reverted") assert.match(outcome.message, /beneficiary name .* too long/);
});

test("a reverted transaction whose replay passes, or that cannot be replayed, still fails in words", async () => {
  const passes = await settleTransaction(fakeClient({ status: "reverted" }), SENT, {
    address: "0x5FbDB2315678afecb367f032d93F642f64180aa3",
    abi: marketplaceAbi,
    functionName: "buy",
    args: [],
    account: BUYER,
  });
  assert.ok(passes.kind === "reverted" && /block 42/.test(passes.message));
  const resumed = await settleTransaction(fakeClient({ status: "reverted" }), SENT, undefined);
  assert.ok(resumed.kind === "reverted" && /reverted/.test(resumed.message));
});
