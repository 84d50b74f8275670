/**
 * settleTransaction (track.ts) against a real Hardhat node with automine off: transactions wait in
 * its mempool until the test mines, so a wallet's "Cancel", another call in the same nonce and a
 * "Speed up" are made here as wallets make them (the same nonce, higher fees), and the tracker
 * follows them with viem's own public client. The contracts are the sdk's test deployment
 * (sdk/src/test/hardhatNode.ts) plus CarbonCredits, whose recordShortfall reverts for an unknown
 * project.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import {
  createPublicClient,
  createWalletClient,
  encodeFunctionData,
  http,
  keccak256,
  toHex,
  type Address,
  type Hex,
  type PublicClient,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { TEST_ONLY_HARDHAT_KEYS, startTestChain, type TestChain } from "../../../../sdk/src/test/hardhatNode.ts";
import { carbonCreditsAbi } from "./abis.ts";
import { replacedMessage, settleTransaction, type SentCall, type SentTransaction, type TxOutcome } from "./track.ts";

let chain: TestChain;
let client: PublicClient;
let credits: Address;
/** The JSON-RPC requests the tracker's client sent, in order (method and params). */
const requests: { method: string; params: unknown[] }[] = [];

const SENDER = privateKeyToAccount(TEST_ONLY_HARDHAT_KEYS[2]!);
const OTHER: Address = privateKeyToAccount(TEST_ONLY_HARDHAT_KEYS[3]!).address;

before(async () => {
  chain = await startTestChain();
  ({ credits } = await chain.deployCredits());
  client = createPublicClient({
    transport: http(chain.rpcUrl, {
      onFetchRequest: async (request) => {
        const body = (await request.clone().json()) as { method: string; params: unknown[] };
        requests.push({ method: body.method, params: body.params });
      },
    }),
    pollingInterval: 50,
  });
  await client.request({ method: "evm_setAutomine" as never, params: [false] as never });
});

after(async () => {
  await chain?.stop();
});

const wallet = () =>
  createWalletClient({
    account: SENDER,
    chain: {
      id: 31337,
      name: "hardhat",
      nativeCurrency: { name: "ETH", symbol: "ETH", decimals: 18 },
      rpcUrls: { default: { http: [chain.rpcUrl] } },
    },
    transport: http(chain.rpcUrl),
  });

/** Sends from SENDER at `nonce`, paying `feeFactor` times the node's estimate, without mining. */
async function sendAt(
  nonce: number,
  tx: { to: Address; value?: bigint; data?: Hex; gas?: bigint },
  feeFactor = 1n,
): Promise<Hex> {
  const fees = await client.estimateFeesPerGas();
  return wallet().sendTransaction({
    ...tx,
    nonce,
    gas: tx.gas ?? 100_000n,
    maxFeePerGas: fees.maxFeePerGas * feeFactor,
    maxPriorityFeePerGas: fees.maxPriorityFeePerGas * feeFactor,
  });
}

const nextNonce = () => client.getTransactionCount({ address: SENDER.address, blockTag: "pending" });
const mine = () => client.request({ method: "evm_mine" as never, params: [] as never });

/** Resolves once `check` holds, polled every 20 ms (fails after 10 s). */
async function until(what: string, check: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Starts following `hash` and returns once the tracker has read it pending in the mempool (and
 * asked for the block after that read, where viem looks for a replacement), as it has when the
 * wallet replaces a transaction the page already shows as pending.
 */
async function follow(
  hash: Hex,
  call?: SentCall,
  options: Parameters<typeof settleTransaction>[3] = {},
): Promise<{ outcome: Promise<TxOutcome> }> {
  const from = requests.length;
  const outcome = settleTransaction(client, hash, call, options);
  const read = () =>
    requests
      .slice(from)
      .findIndex((r) => r.method === "eth_getTransactionByHash" && String(r.params[0]).toLowerCase() === hash);
  await until("the tracker read the pending transaction", () => {
    const at = read();
    return at >= 0 && requests.slice(from + at).some((r) => r.method === "eth_getBlockByNumber");
  });
  // wrapped: an async function returning the promise itself would wait for it
  return { outcome };
}

/** recordShortfall for a project that does not exist: reverts with CarbonCreditsUnknownProject. */
function unknownProjectCall(): SentCall {
  const header = {
    facilityId: keccak256(toHex("no such facility")),
    periodStart: 1n,
    periodEnd: 2n,
    merkleRoot: keccak256(toHex("root")),
    readingCount: 1,
    fossilCo2eGrams: 1n,
    biogenicCo2Grams: 0n,
    methodologyId: keccak256(toHex("methodology")),
    factorSetId: keccak256(toHex("factors")),
    bundleCid: "bafkreinone",
    correctionOf: `0x${"00".repeat(32)}` as Hex,
  };
  return {
    address: credits,
    abi: carbonCreditsAbi,
    functionName: "recordShortfall",
    args: [77, header],
    account: SENDER.address,
  };
}

test("a wallet's Cancel (a 0-value self-send in the same nonce, higher fees) is a failure, not confirmed", async () => {
  const nonce = await nextNonce();
  const sent = await sendAt(nonce, { to: OTHER, value: 1_000n });
  const { outcome } = await follow(sent);
  const cancel = await sendAt(nonce, { to: SENDER.address, value: 0n }, 2n);
  await mine();
  const settled = await outcome;
  assert.equal(settled.kind, "replaced");
  assert.equal(settled.hash, cancel);
  if (settled.kind === "replaced") {
    assert.equal(settled.reason, "cancelled");
    assert.equal(
      replacedMessage(settled.reason, "nothing was bought"),
      "Your wallet replaced this transaction (cancelled); nothing was bought.",
    );
  }
});

test("another transaction in the same nonce is a failure too (replaced)", async () => {
  const nonce = await nextNonce();
  const sent = await sendAt(nonce, { to: OTHER, value: 1_000n });
  const { outcome } = await follow(sent);
  const other = await sendAt(
    nonce,
    { to: credits, data: encodeFunctionData({ abi: carbonCreditsAbi, functionName: "projectCount" }) },
    2n,
  );
  await mine();
  const settled = await outcome;
  assert.deepEqual(settled.kind === "replaced" && [settled.reason, settled.hash], ["replaced", other]);
});

test("a sped-up (repriced) replacement is the same transaction: confirmed, with the new hash", async () => {
  const nonce = await nextNonce();
  const sent = await sendAt(nonce, { to: OTHER, value: 1_000n });
  const repriced: Hex[] = [];
  const { outcome } = await follow(sent, undefined, { onRepriced: (h) => repriced.push(h) });
  const faster = await sendAt(nonce, { to: OTHER, value: 1_000n }, 2n);
  await mine();
  const settled = await outcome;
  assert.equal(settled.kind, "confirmed");
  assert.equal(settled.hash, faster);
  assert.deepEqual(repriced, [faster]);
  if (settled.kind === "confirmed") assert.equal(settled.receipt.transactionHash, faster);
});

test("a transaction not mined yet stays pending, with no timeout, and is confirmed once mined", async () => {
  const sent = await sendAt(await nextNonce(), { to: OTHER, value: 1_000n });
  let slow = 0;
  let settled: TxOutcome | undefined;
  const { outcome } = await follow(sent, undefined, { slowAfterMs: 100, onSlow: () => slow++ });
  void outcome.then((o) => (settled = o));
  await new Promise((r) => setTimeout(r, 400));
  assert.equal(settled, undefined, "nothing mined: still pending");
  assert.equal(slow, 1, "told once that it is slow");
  await mine();
  const done = await outcome;
  assert.equal(done.kind, "confirmed");
  assert.equal(done.hash, sent);
  if (done.kind === "confirmed") assert.equal(done.receipt.status, "success");
});

test("a mined transaction that reverted fails with its reason, read by replaying it at its block", async () => {
  const call = unknownProjectCall();
  const data = encodeFunctionData({ abi: call.abi, functionName: call.functionName, args: call.args });
  // an explicit gas limit: a wallet's estimate would refuse it before sending
  const sent = await sendAt(await nextNonce(), { to: credits, data, gas: 300_000n });
  const { outcome } = await follow(sent, call);
  await mine();
  const settled = await outcome;
  assert.equal(settled.kind, "reverted");
  if (settled.kind !== "reverted") return;
  assert.equal(settled.receipt.status, "reverted");
  assert.equal(settled.message, "No project goes by that id.");
  // a transaction resumed after a reload has no call to replay: a generic message
  const resumed = await settleTransaction(client, sent, undefined);
  assert.ok(resumed.kind === "reverted" && /mined but reverted/.test(resumed.message));
});

/**
 * A page that followed `hash` long enough to keep what the node showed of it (onSent), then was
 * closed or reloaded (the wait aborted), as useTransaction keeps it in sessionStorage.
 */
async function followThenLeave(hash: Hex): Promise<SentTransaction> {
  const controller = new AbortController();
  let kept: SentTransaction | undefined;
  const waiting = settleTransaction(client, hash, undefined, {
    signal: controller.signal,
    onSent: (sent) => (kept = sent),
  });
  await until("the tracker kept the sent transaction", () => kept !== undefined);
  controller.abort();
  await assert.rejects(waiting);
  return kept!;
}

/** `outcome`, or a failure after 10 s: a wait that never ends is the bug these tests catch. */
function within10s(outcome: Promise<TxOutcome>): Promise<TxOutcome> {
  return Promise.race([
    outcome,
    new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error("still pending 10 s after the replacement was mined")), 10_000).unref(),
    ),
  ]);
}

test("resumed after a reload, a transaction whose Cancel was mined meanwhile is a failure, not pending for ever", async () => {
  const nonce = await nextNonce();
  const sent = await sendAt(nonce, { to: OTHER, value: 1_000n });
  const kept = await followThenLeave(sent);
  assert.deepEqual([kept.from.toLowerCase(), kept.nonce, kept.value], [SENDER.address.toLowerCase(), nonce, 1_000n]);
  const cancel = await sendAt(nonce, { to: SENDER.address, value: 0n }, 2n);
  await mine();
  await mine(); // and the chain went on
  const settled = await within10s(settleTransaction(client, sent, undefined, { sent: kept }));
  assert.deepEqual(settled.kind === "replaced" && [settled.reason, settled.hash], ["cancelled", cancel]);
});

test("resumed after a reload, a transaction sped up meanwhile is confirmed with the new hash", async () => {
  const nonce = await nextNonce();
  const sent = await sendAt(nonce, { to: OTHER, value: 1_000n });
  const kept = await followThenLeave(sent);
  const faster = await sendAt(nonce, { to: OTHER, value: 1_000n }, 2n);
  await mine();
  await mine(); // not the head any more: viem's scan of the block it starts on does not see it
  const repriced: Hex[] = [];
  const settled = await within10s(
    settleTransaction(client, sent, undefined, { sent: kept, onRepriced: (h) => repriced.push(h) }),
  );
  assert.deepEqual([settled.kind, settled.hash, repriced], ["confirmed", faster, [faster]]);
});

test("resumed after a reload, a transaction replaced after the wait started is found too", async () => {
  const nonce = await nextNonce();
  const sent = await sendAt(nonce, { to: OTHER, value: 1_000n });
  const kept = await followThenLeave(sent);
  // the wallet replaces it while the reloaded page waits: the node drops it at once
  const other = await sendAt(nonce, { to: OTHER, value: 5n }, 2n);
  const outcome = settleTransaction(client, sent, undefined, { sent: kept });
  await new Promise((r) => setTimeout(r, 300));
  await mine();
  const settled = await within10s(outcome);
  assert.deepEqual(settled.kind === "replaced" && [settled.reason, settled.hash], ["replaced", other]);
});
