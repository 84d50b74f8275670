import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import mqtt from "mqtt";
import {
  createWalletClient,
  http,
  keccak256,
  parseTransaction,
  toHex,
  type Hex,
  type TransactionSerializableEIP1559,
} from "viem";
import { attestationRegistryAbi } from "../src/chain/abi.ts";
import { chainFor, ViemChain } from "../src/chain/viem.ts";
import { SdkCalculator } from "../src/compute/sdk.ts";
import type { ConfigInput } from "../src/config/schema.ts";
import { readingsTopic } from "../src/ingest/mqtt.ts";
import type { Batch } from "../src/storage/types.ts";
import { chainTestNode, pauseRegistryAhead, type HardhatNode, type Deployment } from "./chain-harness.ts";
import { electricity, makeDevice, type TestDevice, type testNode } from "./fixtures.ts";
import { tempDir, waitFor } from "./helpers.ts";
import { manualMiningChain } from "./tx-harness.ts";

type Node = Awaited<ReturnType<typeof testNode>>;
const gwei = 1_000_000_000n;

/**
 * Following a submitted attestation to its confirmations on a real Hardhat node with automine
 * off: the test mines every block itself, so "not mined yet" and "N confirmations" are exact.
 */
describe("transaction following on a Hardhat node", { timeout: 300_000 }, () => {
  let hh: HardhatNode;
  let dep: Deployment;
  let harness: Awaited<ReturnType<typeof manualMiningChain>>;
  // one facility per test, so each test's batches are its own
  const meters = {
    confirmations: makeDevice("follow-meter-1", "follow-confirmations"),
    bump: makeDevice("follow-meter-2", "follow-bump"),
    dropped: makeDevice("follow-meter-3", "follow-dropped"),
    first: makeDevice("follow-meter-4", "follow-back-to-back-a"),
    second: makeDevice("follow-meter-5", "follow-back-to-back-b"),
    restart: makeDevice("follow-meter-6", "follow-restart"),
    capped: makeDevice("follow-meter-8", "follow-bump-capped"),
    gap: makeDevice("follow-meter-9", "follow-behind-a-gap"),
    refused: makeDevice("follow-meter-10", "follow-bump-refused"),
    resend: makeDevice("follow-meter-11", "follow-refused-for-good"),
    firstRefused: makeDevice("follow-meter-12", "follow-first-refused"),
    reorg: makeDevice("follow-meter-7", "follow-revert-reorged"),
    paused: makeDevice("follow-meter-13", "follow-revert-named"),
  };

  // the real methodology, with these facilities known to it (Kenyan tea factories on grid power)
  const calculator = new SdkCalculator({
    facilities: Object.fromEntries(
      Object.values(meters).map((d) => [d.facilityId, { country: "KEN", flueGasBiogenicShareBp: 10_000 }]),
    ),
  });
  const startOracle = (
    chain: NonNullable<ConfigInput["chain"]>,
    dir?: string,
    batching?: NonNullable<ConfigInput["batching"]>,
  ) => chainTestNode(hh, dep, { chain, dir, batching, parts: { calculator } });

  const rpc = <T = unknown>(method: string, params: unknown[] = []): Promise<T> => hh.rpc<T>(method, params);
  const mine = (blocks = 1) => harness.mine(blocks);
  const head = async () => BigInt(await rpc<string>("eth_blockNumber"));
  const inMempool = (hash: string) => harness.inMempool(hash);
  const oracleNonce = async (tag: "latest" | "pending") =>
    Number(await rpc<string>("eth_getTransactionCount", [dep.oracle.address, tag]));

  const publish = async (node: Node, d: TestDevice, ts?: number) => {
    const client = await mqtt.connectAsync(node.mqtt!.url, { reconnectPeriod: 0 });
    try {
      const e = electricity(d, { ts });
      // the PUBACK comes once the reading is durable
      await client.publishAsync(readingsTopic(d.facilityId, d.deviceId), JSON.stringify(e), { qos: 1 });
    } finally {
      await client.endAsync();
    }
  };
  /** Each test sends its facility one reading: one batch. */
  /**
   * The admin takes PAUSER_ROLE and pauses the registry, both sent at fees above the node's
   * pending transaction's: the next block mines them ahead of it, which then reverts.
   */
  const pauseAheadOfTheNode = async () => {
    await dep.wallet.writeContract({
      address: dep.attestationRegistry,
      abi: attestationRegistryAbi,
      functionName: "grantRole",
      args: [keccak256(toHex("PAUSER_ROLE")), dep.admin.address],
      account: dep.admin,
      chain: dep.wallet.chain,
      gas: 100_000n,
      maxFeePerGas: 4_000_000_000_000n,
      maxPriorityFeePerGas: 2_000_000_000_000n,
    });
    await pauseRegistryAhead(dep);
  };
  const batchOf = (node: Node, d: TestDevice): Batch | undefined =>
    node.storage.listBatches({ facilityId: d.facilityId })[0];
  const waitForState = (node: Node, d: TestDevice, state: Batch["state"], timeoutMs = 60_000) =>
    waitFor(
      () => {
        const b = batchOf(node, d);
        return b?.state === state ? b : null;
      },
      { timeoutMs, intervalMs: 50, what: `${d.facilityId}'s batch ${state}` },
    );
  /** Resolves once a pipeline tick that started after now has finished (it saw the chain as it is now). */
  const nextTick = async (node: Node) => {
    const now = Date.now();
    await waitFor(() => node.pipeline.lastTickOkMs > now, { timeoutMs: 30_000, what: "a full pipeline tick" });
  };
  const submissions = (attestationId: string) => harness.submissions(attestationId);
  const fees = (raw: string) => parseTransaction(raw as Hex) as TransactionSerializableEIP1559;

  before(async () => {
    harness = await manualMiningChain(Object.values(meters));
    ({ hh, dep } = harness);
  });
  after(async () => {
    await hh?.stop();
  });

  test("an attestation is confirmed only once its transaction has `confirmations` blocks", async () => {
    const node = await startOracle({ confirmations: 3, gasBumpAfterMs: 600_000 });
    try {
      await publish(node, meters.confirmations);
      const sent = await waitForState(node, meters.confirmations, "submitted");
      await waitFor(() => inMempool(sent.txHash!), { what: "the transaction in the mempool" });
      await mine(1);
      const rc = await dep.publicClient.getTransactionReceipt({ hash: sent.txHash as Hex });
      assert.equal(rc.status, "success");
      for (const confirmations of [1, 2]) {
        assert.equal(await head(), rc.blockNumber + BigInt(confirmations - 1));
        await nextTick(node);
        await nextTick(node);
        assert.equal(batchOf(node, meters.confirmations)?.state, "submitted", `${confirmations} of 3: not yet`);
        if (confirmations < 2) await mine(1);
      }
      await mine(1);
      const done = await waitForState(node, meters.confirmations, "confirmed");
      assert.equal(done.txHash, sent.txHash);
      assert.equal(done.blockNumber, Number(rc.blockNumber));
      assert.equal((await submissions(done.attestationId!)).length, 1);
    } finally {
      await node.close();
    }
  });

  test("a reverted receipt is not final before `confirmations` blocks: a reorg that takes it back lets the transaction confirm", async () => {
    const node = await startOracle({ confirmations: 2, gasBumpAfterMs: 600_000 });
    try {
      await publish(node, meters.reorg);
      const sent = await waitForState(node, meters.reorg, "submitted");
      await waitFor(() => inMempool(sent.txHash!), { what: "the transaction in the mempool" });
      const snapshot = await rpc<string>("evm_snapshot");
      // the registry paused by the admin in the block that mines the node's transaction (taken
      // back with the rest by the reorg)
      await pauseAheadOfTheNode();
      await mine(1);
      const reverted = await dep.publicClient.getTransactionReceipt({ hash: sent.txHash as Hex });
      assert.equal(reverted.status, "reverted");
      await nextTick(node);
      await nextTick(node);
      assert.equal(
        batchOf(node, meters.reorg)?.state,
        "submitted",
        "reverted 1 block deep, 2 confirmations: not failed yet",
      );

      // a reorg takes the block back (the pause with it): the transaction is mined again, and succeeds
      assert.equal(await rpc("evm_revert", [snapshot]), true);
      await waitFor(() => inMempool(sent.txHash!), { timeoutMs: 30_000, what: "the transaction back in the mempool" });
      await mine(2);
      const done = await waitForState(node, meters.reorg, "confirmed");
      assert.equal(done.txHash, sent.txHash);
      const rc = await dep.publicClient.getTransactionReceipt({ hash: sent.txHash as Hex });
      assert.equal(rc.status, "success");
      assert.equal(done.blockNumber, Number(rc.blockNumber));
    } finally {
      await node.close();
    }
  });

  test("a transaction reverted for good fails its batch naming the revert (the registry paused in the same block: EnforcedPause)", async () => {
    const node = await startOracle({ confirmations: 1, gasBumpAfterMs: 600_000 });
    const snapshot = await rpc<string>("evm_snapshot");
    try {
      await publish(node, meters.paused);
      const sent = await waitForState(node, meters.paused, "submitted");
      await waitFor(() => inMempool(sent.txHash!), { what: "the transaction in the mempool" });
      // paused by a transaction mined ahead of the node's in the same block (after its estimate)
      await pauseAheadOfTheNode();
      await mine(1);
      assert.equal((await dep.publicClient.getTransactionReceipt({ hash: sent.txHash as Hex })).status, "reverted");
      const failed = await waitForState(node, meters.paused, "failed");
      assert.equal(failed.error, `transaction ${sent.txHash} reverted: EnforcedPause`);
      // an RPC node that fails the call (here a loopback proxy answering eth_call with 502, as a
      // load balancer in front of a node gone) gives no reason: revertReason throws, where it had
      // named the failure ("HTTP request failed.") as the revert's reason
      const rc = await dep.publicClient.getTransactionReceipt({ hash: sent.txHash as Hex });
      const proxy = createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on("data", (c: Buffer) => chunks.push(c));
        req.on("end", () => {
          const body = Buffer.concat(chunks).toString();
          if (body.includes('"eth_call"')) return void res.writeHead(502).end("bad gateway");
          fetch(hh.url, { method: "POST", headers: { "content-type": "application/json" }, body })
            .then(async (r) => res.writeHead(r.status, { "content-type": "application/json" }).end(await r.text()))
            .catch(() => res.writeHead(502).end());
        });
      });
      await new Promise<void>((r) => proxy.listen(0, "127.0.0.1", r));
      try {
        const viaProxy = new ViemChain({
          rpcUrl: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`,
          chainId: 31337,
          registry: dep.attestationRegistry,
          account: dep.oracle,
        });
        await assert.rejects(viaProxy.revertReason(sent.txHash as Hex, rc.blockNumber), /HTTP request failed/);
        const direct = new ViemChain({
          rpcUrl: hh.url,
          chainId: 31337,
          registry: dep.attestationRegistry,
          account: dep.oracle,
        });
        assert.equal(await direct.revertReason(sent.txHash as Hex, rc.blockNumber), "EnforcedPause");
      } finally {
        await new Promise((r) => proxy.close(r));
      }
    } finally {
      await node.close();
      // the pause and the rest taken back: the later tests' chain is unpaused
      assert.equal(await rpc("evm_revert", [snapshot]), true);
    }
  });

  test("an unmined transaction is replaced at the same nonce with fees above its own even when the estimate fell, and confirms once", async () => {
    // a high base fee when the node signs, then the chain put back to a low one: the node's fee
    // estimate falls below the fees of the transaction it must replace
    const snapshot = await rpc<string>("evm_snapshot");
    await rpc("hardhat_setNextBlockBaseFeePerGas", [`0x${(100n * gwei).toString(16)}`]);
    await mine(1);
    // a fee cap far above the first transaction's: without one, a bump bids at most 3 times the
    // (fallen) estimate, which would not outbid the first transaction
    const node = await startOracle({ gasBumpAfterMs: 1_500, maxFeePerGas: `${10_000n * gwei}` });
    try {
      await publish(node, meters.bump);
      const sent = await waitForState(node, meters.bump, "submitted");
      const raws = new Map<string, string>([[sent.txHash!, sent.txRaw!]]);
      const first = fees(sent.txRaw!);
      assert.ok(first.maxFeePerGas! > 100n * gwei, "signed at the high base fee");
      assert.equal(await rpc("evm_revert", [snapshot]), true);
      const estimate = await dep.publicClient.estimateFeesPerGas();
      assert.ok(estimate.maxFeePerGas < first.maxFeePerGas!, "the estimate has fallen below the first transaction's");

      // every version the node signs, in order, until one has replaced the first in the mempool
      const bumped = await waitFor(
        async () => {
          const b = batchOf(node, meters.bump)!;
          if (b.txHash && b.txRaw) raws.set(b.txHash, b.txRaw);
          return b.txHashes.length >= 2 && (await inMempool(b.txHash!)) ? b : null;
        },
        { timeoutMs: 60_000, intervalMs: 20, what: "a gas bump accepted by the RPC node" },
      );
      assert.equal(await inMempool(sent.txHash!), false, "the first transaction was replaced");
      await mine(1);
      const done = await waitForState(node, meters.bump, "confirmed");
      for (const h of done.txHashes) if (!raws.has(h)) raws.set(h, done.txRaw!);
      const versions = done.txHashes.map((h) => fees(raws.get(h)!));
      for (let i = 1; i < versions.length; i++) {
        const [prev, next] = [versions[i - 1]!, versions[i]!];
        assert.equal(next.nonce, first.nonce, "same nonce");
        // Hardhat (like geth) accepts a replacement at 10 % over both fees of the one it replaces
        assert.ok(next.maxFeePerGas! * 100n >= prev.maxFeePerGas! * 110n, `bump ${i}: maxFeePerGas +10 %`);
        assert.ok(
          next.maxPriorityFeePerGas! * 100n >= prev.maxPriorityFeePerGas! * 110n,
          `bump ${i}: maxPriorityFeePerGas +10 %`,
        );
      }
      assert.notEqual(done.txHash, sent.txHash, "a replacement was mined, not the first transaction");
      assert.ok(bumped.txHashes.includes(done.txHash!));
      const rc = await dep.publicClient.getTransactionReceipt({ hash: done.txHash as Hex });
      assert.equal(rc.status, "success");
      assert.equal((await submissions(done.attestationId!)).length, 1, "attested exactly once");
      assert.equal(await oracleNonce("latest"), first.nonce! + 1);
    } finally {
      await node.close();
    }
  });

  test("gas bumps stop at chain.maxFeePerGas", async () => {
    const estimate = await dep.publicClient.estimateFeesPerGas();
    const cap = (estimate.maxFeePerGas * 17n) / 10n;
    const node = await startOracle({ gasBumpAfterMs: 200, maxFeePerGas: cap.toString() });
    try {
      await publish(node, meters.capped);
      const sent = await waitForState(node, meters.capped, "submitted");
      // every version the node stored as sent, while it bumps every 200 ms
      const raws = new Map<string, string>([[sent.txHash!, sent.txRaw!]]);
      const settled = await waitFor(
        async () => {
          const before = batchOf(node, meters.capped)!;
          raws.set(before.txHash!, before.txRaw!);
          await new Promise((r) => setTimeout(r, 1_500)); // several bump periods
          const after = batchOf(node, meters.capped)!;
          raws.set(after.txHash!, after.txRaw!);
          return after.txHashes.length === before.txHashes.length && after.txHashes.length >= 2 ? after : null;
        },
        { timeoutMs: 60_000, intervalMs: 0, what: "the bumps to stop" },
      );
      for (const raw of raws.values()) {
        const f = fees(raw);
        assert.ok(f.maxFeePerGas! <= cap, `maxFeePerGas ${f.maxFeePerGas} within the cap ${cap}`);
        assert.ok(f.maxPriorityFeePerGas! <= f.maxFeePerGas!);
      }
      assert.ok(fees(settled.txRaw!).maxFeePerGas! > fees(sent.txRaw!).maxFeePerGas!, "bumped up to the cap");
      assert.ok(await inMempool(settled.txHash!), "the last bump is the one in the mempool");
      assert.ok(settled.txHashes.length <= 5, `${settled.txHashes.length} versions: 1.15 × a few, not unbounded`);
      await mine(1);
      const done = await waitForState(node, meters.capped, "confirmed");
      assert.equal(done.txHash, settled.txHash);
    } finally {
      await node.close();
    }
  });

  test("a transaction behind a lower nonce the chain has not taken is not gas bumped", async () => {
    // another transaction of the account (its key held elsewhere too) at the next nonce, then lost:
    // the batch's transaction waits behind a nonce gap, whatever its fees
    const wallet = createWalletClient({ account: dep.oracle, chain: chainFor(31337, hh.url), transport: http(hh.url) });
    const gapNonce = await oracleNonce("pending");
    const lost = await wallet.sendTransaction({ to: dep.oracle.address, value: 0n, nonce: gapNonce });
    const node = await startOracle({ gasBumpAfterMs: 200 });
    try {
      await publish(node, meters.gap);
      const sent = await waitForState(node, meters.gap, "submitted");
      assert.equal(sent.txNonce, gapNonce + 1);
      assert.equal(await rpc("hardhat_dropTransaction", [lost]), true);
      assert.equal(await oracleNonce("latest"), gapNonce);
      await new Promise((r) => setTimeout(r, 2_500)); // a dozen bump periods
      await nextTick(node);
      const waiting = batchOf(node, meters.gap)!;
      assert.deepEqual(waiting.txHashes, [sent.txHash], "not bumped while behind the gap");
      assert.equal(waiting.txRaw, sent.txRaw);

      // the gap filled: the batch's transaction is mined as it was signed
      await wallet.sendTransaction({ to: dep.oracle.address, value: 0n, nonce: gapNonce });
      await waitFor(() => inMempool(sent.txHash!), { timeoutMs: 30_000, what: "the transaction in the mempool" });
      await mine(1);
      const done = await waitForState(node, meters.gap, "confirmed");
      assert.equal(done.txHash, sent.txHash);
    } finally {
      await node.close();
    }
  });

  test("a gas bump the RPC node refuses is not taken as sent: the accepted copy is the one re-broadcast after a drop", async () => {
    const node = await startOracle({ gasBumpAfterMs: 300 }, undefined, { retryBaseMs: 200, retryMaxMs: 1_000 });
    const balance = await rpc<string>("eth_getBalance", [dep.oracle.address, "latest"]);
    try {
      await publish(node, meters.refused);
      const sent = await waitForState(node, meters.refused, "submitted");
      await waitFor(() => inMempool(sent.txHash!), { what: "the transaction in the mempool" });
      // enough for the transaction as signed, not for one bidding 15 % more: bumps are refused
      const f = fees(sent.txRaw!);
      await rpc("hardhat_setBalance", [
        dep.oracle.address,
        `0x${((f.gas! * f.maxFeePerGas! * 105n) / 100n).toString(16)}`,
      ]);
      const refused = await waitFor(
        () => {
          const b = batchOf(node, meters.refused)!;
          return b.txHashes.length >= 2 && b.attempts >= 2 ? b : null;
        },
        { timeoutMs: 60_000, what: "bumps refused by the RPC node" },
      );
      assert.match(refused.error ?? "", /fund/i);
      assert.equal(refused.txRaw, sent.txRaw, "the copy the RPC node took stays the one stored");
      assert.equal(refused.txHash, sent.txHash);
      assert.equal(await inMempool(refused.txHashes.at(-1)!), false, "the refused bump is nowhere");

      // the RPC node loses the accepted copy: the node sends it again
      assert.equal(await rpc("hardhat_dropTransaction", [sent.txHash]), true);
      await waitFor(() => inMempool(sent.txHash!), { timeoutMs: 30_000, what: "the accepted copy re-broadcast" });
      await mine(1);
      const done = await waitForState(node, meters.refused, "confirmed");
      assert.equal(done.txHash, sent.txHash);
      assert.equal((await submissions(done.attestationId!)).length, 1);
    } finally {
      await rpc("hardhat_setBalance", [dep.oracle.address, balance]);
      await node.close();
    }
  });

  test("a transaction the RPC node refuses for good is signed again at the same nonce at current fees, and confirms", async () => {
    const node = await startOracle({ gasBumpAfterMs: 600_000 }, undefined, { retryBaseMs: 200, retryMaxMs: 1_000 });
    const balance = await rpc<string>("eth_getBalance", [dep.oracle.address, "latest"]);
    try {
      // signed while the base fee is high
      await rpc("hardhat_setNextBlockBaseFeePerGas", [`0x${(100n * gwei).toString(16)}`]);
      await mine(1);
      await publish(node, meters.resend);
      const sent = await waitForState(node, meters.resend, "submitted");
      await waitFor(() => inMempool(sent.txHash!), { what: "the transaction in the mempool" });
      const f = fees(sent.txRaw!);
      assert.ok(f.maxFeePerGas! > 100n * gwei);
      // the account's funds no longer cover those fees, the base fee falls back, and the RPC node
      // loses the transaction: every broadcast of it is refused (insufficient funds)
      await rpc("hardhat_setBalance", [dep.oracle.address, `0x${(f.gas! * 20n * gwei).toString(16)}`]);
      await rpc("hardhat_setNextBlockBaseFeePerGas", [`0x${gwei.toString(16)}`]);
      await rpc("hardhat_dropTransaction", [sent.txHash]); // Hardhat may have evicted it already (unpayable)
      assert.equal(await inMempool(sent.txHash!), false);
      await mine(1);

      const resent = await waitFor(
        async () => {
          const b = batchOf(node, meters.resend)!;
          return b.txHash !== sent.txHash && (await inMempool(b.txHash!)) ? b : null;
        },
        { timeoutMs: 60_000, intervalMs: 50, what: "the call signed again and taken by the RPC node" },
      );
      const g = fees(resent.txRaw!);
      assert.equal(g.nonce, f.nonce, "the same nonce");
      assert.equal(g.gas, f.gas);
      assert.equal(g.data, f.data, "the same call");
      assert.ok(g.maxFeePerGas! < f.maxFeePerGas!, "at the current, lower fees");
      assert.deepEqual(resent.txHashes.slice(0, 1), [sent.txHash], "the refused one still listed");
      assert.ok(resent.txHashes.includes(resent.txHash!));
      await mine(1);
      const done = await waitForState(node, meters.resend, "confirmed");
      assert.equal(done.txHash, resent.txHash);
      assert.equal((await submissions(done.attestationId!)).length, 1);
    } finally {
      await rpc("hardhat_setBalance", [dep.oracle.address, balance]);
      await node.close();
    }
  });

  test("a first broadcast the RPC node refuses is recorded on the submitted batch, and retried after the backoff", async () => {
    // stands for an RPC node refusing the transaction once (Hardhat would take it): the rest of
    // the chain port is the real one
    let refusals = 0;
    class RefusesOnce extends ViemChain {
      override async broadcast(raw: Hex): Promise<void> {
        if (refusals++ === 0) throw new Error("insufficient funds for gas * price + value");
        return super.broadcast(raw);
      }
    }
    const chain = new RefusesOnce({
      rpcUrl: hh.url,
      chainId: 31337,
      registry: dep.attestationRegistry,
      account: dep.oracle,
    });
    const node = await chainTestNode(hh, dep, {
      chain: { gasBumpAfterMs: 600_000 },
      batching: { retryBaseMs: 3_000 },
      parts: { calculator, chain },
    });
    try {
      const before = Date.now();
      await publish(node, meters.firstRefused);
      const refused = await waitFor(
        () => {
          const b = batchOf(node, meters.firstRefused);
          return b?.state === "submitted" && b.error ? b : null;
        },
        { timeoutMs: 60_000, intervalMs: 20, what: "the refusal recorded on the submitted batch" },
      );
      assert.match(refused.error!, /insufficient funds/);
      assert.equal(refused.attempts, 1);
      // a backoff is recorded (the retry is due later: checked below, the transaction is not sent
      // before nextAttemptAtMs); its exact start is the refusal's, which this test does not see
      assert.ok(
        refused.nextAttemptAtMs > before,
        `a backoff recorded: nextAttemptAtMs ${refused.nextAttemptAtMs}, published at ${before}`,
      );
      assert.equal(await inMempool(refused.txHash!), false, "not sent");
      await waitFor(() => inMempool(refused.txHash!), { timeoutMs: 30_000, what: "the transaction re-broadcast" });
      assert.ok(Date.now() >= refused.nextAttemptAtMs);
      await mine(1);
      const done = await waitForState(node, meters.firstRefused, "confirmed");
      assert.equal(done.txHash, refused.txHash);
    } finally {
      await node.close();
    }
  });

  test("a transaction dropped from the RPC node's mempool is re-broadcast and confirmed", async () => {
    const node = await startOracle({ gasBumpAfterMs: 600_000 });
    try {
      await publish(node, meters.dropped);
      const sent = await waitForState(node, meters.dropped, "submitted");
      await waitFor(() => inMempool(sent.txHash!), { what: "the transaction in the mempool" });
      assert.equal(await rpc("hardhat_dropTransaction", [sent.txHash]), true);
      await waitFor(() => inMempool(sent.txHash!), { timeoutMs: 30_000, what: "the same transaction re-broadcast" });
      await mine(1);
      const done = await waitForState(node, meters.dropped, "confirmed");
      assert.equal(done.txHash, sent.txHash, "the same signed bytes, no second nonce");
      assert.deepEqual(done.txHashes, [sent.txHash]);
      assert.equal((await submissions(done.attestationId!)).length, 1);
    } finally {
      await node.close();
    }
  });

  test("two batches submitted back to back get consecutive nonces and both confirm", async () => {
    const node = await startOracle({ gasBumpAfterMs: 600_000 });
    try {
      const nonce = await oracleNonce("latest");
      await publish(node, meters.first);
      await publish(node, meters.second);
      const a = await waitForState(node, meters.first, "submitted");
      const b = await waitForState(node, meters.second, "submitted");
      assert.deepEqual(
        [a.txNonce!, b.txNonce!].sort((x, y) => x - y),
        [nonce, nonce + 1],
      );
      await waitFor(async () => (await inMempool(a.txHash!)) && (await inMempool(b.txHash!)), {
        what: "both transactions in the mempool",
      });
      await mine(1);
      const [ca, cb] = [
        await waitForState(node, meters.first, "confirmed"),
        await waitForState(node, meters.second, "confirmed"),
      ];
      assert.equal(ca.txHash, a.txHash);
      assert.equal(cb.txHash, b.txHash);
      assert.equal(await oracleNonce("latest"), nonce + 2);
    } finally {
      await node.close();
    }
  });

  test("after a restart, a batch does not take the nonce of an in-flight transaction the RPC node lost", async () => {
    const d = meters.restart;
    const { dir, cleanup } = tempDir();
    const batches = (node: Node) => node.storage.listBatches({ facilityId: d.facilityId });
    const running: Node[] = []; // closed in `finally` whatever fails
    const start = async (chain: Parameters<typeof startOracle>[0]) => {
      const node = await startOracle(chain, dir);
      running.push(node);
      return node;
    };
    const stop = async (node: Node) => {
      running.splice(running.indexOf(node), 1);
      await node.close();
    };
    try {
      // a regular batch confirmed, then the next window's batch A submitted and left unmined
      const first = await start({ gasBumpAfterMs: 600_000 });
      const earlyTs = Math.floor(Date.now() / 1000);
      await publish(first, d, earlyTs);
      const sent = await waitForState(first, d, "submitted");
      await waitFor(() => inMempool(sent.txHash!), { what: "the regular batch's transaction in the mempool" });
      await mine(1);
      const regular = await waitForState(first, d, "confirmed");
      await publish(first, d);
      const a = await waitFor(() => batches(first).find((b) => b.id !== regular.id && b.state === "submitted"), {
        timeoutMs: 60_000,
        what: "the second batch submitted",
      });
      await waitFor(() => inMempool(a.txHash!), { what: "A in the mempool" });
      await stop(first);

      // the RPC node loses A (as on its restart): its pending count falls back to A's nonce
      assert.equal(await rpc("hardhat_dropTransaction", [a.txHash]), true);
      assert.equal(await oracleNonce("pending"), a.txNonce);

      // meanwhile a late reading of the first window makes a correction, pinned by the node
      // running without the chain; A is not re-broadcast while it is down
      const offline = await start({ enabled: false });
      await publish(offline, d, earlyTs);
      const pinned = await waitFor(
        () => batches(offline).find((b) => b.correctionOfBatch === regular.id && b.state === "pinned"),
        { timeoutMs: 60_000, what: "the correction pinned" },
      );
      await stop(offline);

      // back with the chain: the correction comes first in the facility's period order and is
      // submitted before A is re-broadcast, so only the stored nonces tell that A's is taken
      const node = await start({ gasBumpAfterMs: 600_000 });
      const c = await waitFor(
        () => {
          const b = node.storage.getBatch(pinned.id);
          return b?.state === "submitted" ? b : null;
        },
        { timeoutMs: 60_000, what: "the correction submitted" },
      );
      assert.equal(c.txNonce, a.txNonce! + 1, "the nonce after A's, not A's");
      await waitFor(async () => (await inMempool(a.txHash!)) && (await inMempool(c.txHash!)), {
        timeoutMs: 30_000,
        what: "A re-broadcast beside the correction",
      });
      await mine(1);
      for (const id of [a.id, c.id]) {
        const done = await waitFor(
          () => {
            const b = node.storage.getBatch(id);
            return b?.state === "confirmed" ? b : null;
          },
          { timeoutMs: 60_000, what: `batch ${id} confirmed` },
        );
        assert.deepEqual(done.txHashes, [id === a.id ? a.txHash : c.txHash], "no nonce collision, no re-submission");
      }
      assert.equal(await oracleNonce("latest"), a.txNonce! + 2);
    } finally {
      for (const node of running) await node.close();
      cleanup();
    }
  });
});
