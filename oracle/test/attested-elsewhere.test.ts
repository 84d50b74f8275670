import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import mqtt from "mqtt";
import { createWalletClient, http, parseTransaction, type Hex, type TransactionSerializableEIP1559 } from "viem";
import { generatePrivateKey, privateKeyToAccount, type PrivateKeyAccount } from "viem/accounts";
import { readingDigestHex } from "../../sdk/src/index.ts";
import { headerFromJson } from "../src/batch/bundle.ts";
import { attestationRegistryAbi, oracleSetAbi } from "../src/chain/abi.ts";
import { chainFor, ViemChain } from "../src/chain/viem.ts";
import { SdkCalculator } from "../src/compute/sdk.ts";
import { readingsTopic } from "../src/ingest/mqtt.ts";
import type { Batch } from "../src/storage/types.ts";
import { chainTestNode, type HardhatNode, type Deployment } from "./chain-harness.ts";
import { electricity, makeDevice, type TestDevice, type testNode } from "./fixtures.ts";
import { waitFor } from "./helpers.ts";
import { manualMiningChain } from "./tx-harness.ts";

type Node = Awaited<ReturnType<typeof testNode>>;

/**
 * A batch whose attestation another node of the quorum put on-chain first, with the header and
 * signatures this node signed (the registry takes a submission from any active node): the node
 * has no receipt of the attesting transaction, yet confirms the batch with that transaction's
 * hash and block, read from the registry's `AttestationSubmitted` event, and only once the block
 * has `chain.confirmations` confirmations. Hardhat with automine off: the test mines every block.
 */
describe("a batch attested by a transaction this node did not send", { timeout: 300_000 }, () => {
  let hh: HardhatNode;
  let dep: Deployment;
  let harness: Awaited<ReturnType<typeof manualMiningChain>>;
  /** the other node of the quorum: an active node of the OracleSet with an account of its own */
  let other: PrivateKeyAccount;
  // one facility per test, so each test's batches are its own
  const meters = {
    reverted: makeDevice("elsewhere-meter-1", "elsewhere-own-reverted"),
    waiting: makeDevice("elsewhere-meter-2", "elsewhere-signed-waiting"),
    consumed: makeDevice("elsewhere-meter-3", "elsewhere-nonce-consumed"),
    refused: makeDevice("elsewhere-meter-4", "elsewhere-logs-refused"),
  };
  const calculator = new SdkCalculator({
    facilities: Object.fromEntries(
      Object.values(meters).map((d) => [d.facilityId, { country: "KEN", flueGasBiogenicShareBp: 10_000 }]),
    ),
  });
  const startOracle = (confirmations: number) =>
    chainTestNode(hh, dep, { chain: { confirmations, gasBumpAfterMs: 600_000 }, parts: { calculator } });

  const mine = (blocks = 1) => harness.mine(blocks);
  const inMempool = (hash: string) => harness.inMempool(hash);
  const receiptOf = (hash: string) => dep.publicClient.getTransactionReceipt({ hash: hash as Hex });
  const walletOf = (account: PrivateKeyAccount) =>
    createWalletClient({ account, chain: chainFor(31337, hh.url), transport: http(hh.url) });
  const fees = (raw: string) => parseTransaction(raw as Hex) as TransactionSerializableEIP1559;
  const oracleNonce = async (tag: "latest" | "pending") =>
    dep.publicClient.getTransactionCount({ address: dep.oracle.address, blockTag: tag });

  /** Publishes one reading of `d` (at `ts`); resolves with its digest once it is durable (PUBACK). */
  const publish = async (node: Node, d: TestDevice, ts?: number) => {
    const client = await mqtt.connectAsync(node.mqtt!.url, { reconnectPeriod: 0 });
    try {
      const e = electricity(d, { ts });
      await client.publishAsync(readingsTopic(d.facilityId, d.deviceId), JSON.stringify(e), { qos: 1 });
      return readingDigestHex(e.reading);
    } finally {
      await client.endAsync();
    }
  };
  const batches = (node: Node, d: TestDevice): Batch[] =>
    node.storage.listBatches({ facilityId: d.facilityId }).sort((x, y) => x.periodStart - y.periodStart);
  const waitForBatch = (node: Node, d: TestDevice, i: number, ok: (b: Batch) => boolean, what: string) =>
    waitFor(
      () => {
        const b = batches(node, d)[i];
        return b && ok(b) ? b : null;
      },
      { timeoutMs: 90_000, intervalMs: 50, what: `${d.facilityId}'s batch ${i} ${what}` },
    );
  /** Resolves once a pipeline tick that started after now has finished (it saw the chain as it is now). */
  const nextTick = async (node: Node) => {
    const now = Date.now();
    await waitFor(() => node.pipeline.lastTickOkMs > now, { timeoutMs: 30_000, what: "a full pipeline tick" });
  };

  /**
   * The other node submits the header and signatures `b` holds, at twice `feesOf`'s fees when given
   * (mined before that transaction in the same block). The gas limit is set: an estimate against a
   * pending block that holds this node's transaction of the header would revert.
   */
  const submitByOther = async (b: Batch, feesOf?: string): Promise<Hex> => {
    const f = feesOf ? fees(feesOf) : undefined;
    const hash = await walletOf(other).writeContract({
      address: dep.attestationRegistry,
      abi: attestationRegistryAbi,
      functionName: "submit",
      args: [headerFromJson(b.headerJson!), b.signatures as Hex],
      gas: 2_000_000n,
      ...(f ? { maxFeePerGas: f.maxFeePerGas! * 2n, maxPriorityFeePerGas: f.maxPriorityFeePerGas! * 2n } : {}),
    });
    await waitFor(() => inMempool(hash), { timeoutMs: 30_000, what: "the other node's transaction in the mempool" });
    return hash;
  };
  /** What an auditor reads: the batch of a reading (`GET /v1/readings/:digest`). */
  const auditView = async (node: Node, digest: string) =>
    (
      (await (await fetch(`${node.httpUrl}/v1/readings/${digest}`)).json()) as {
        batch: { state: string; txHash: string | null; blockNumber: number | null };
      }
    ).batch;

  before(async () => {
    harness = await manualMiningChain(Object.values(meters));
    ({ hh, dep } = harness);
    other = privateKeyToAccount(generatePrivateKey());
    await hh.rpc("hardhat_setBalance", [other.address, "0x56bc75e2d63100000"]); // 100 ETH
    const hash = await dep.wallet.writeContract({
      address: dep.oracleSet,
      abi: oracleSetAbi,
      functionName: "addNode",
      args: [other.address],
      account: dep.admin,
      chain: dep.wallet.chain,
    });
    await mine(1);
    assert.equal((await receiptOf(hash)).status, "success", "the other node added to the OracleSet");
  });
  after(async () => {
    await hh?.stop();
  });

  test("its own transaction refused (the other node's mined first in the block): confirmed with the other node's transaction and block after `confirmations` blocks", async () => {
    const d = meters.reverted;
    const node = await startOracle(2);
    try {
      const digest = await publish(node, d);
      const sent = await waitForBatch(node, d, 0, (b) => b.state === "submitted", "submitted");
      await waitFor(() => inMempool(sent.txHash!), { timeoutMs: 30_000, what: "the transaction in the mempool" });
      const attesting = await submitByOther(sent, sent.txRaw!);
      await mine(1);
      const rc = await receiptOf(attesting);
      assert.equal(rc.status, "success", "the other node's transaction attested");
      assert.equal((await receiptOf(sent.txHash!)).status, "reverted", "this node's refused: the id exists");

      await nextTick(node);
      await nextTick(node);
      assert.equal(batches(node, d)[0]!.state, "submitted", "1 of 2 confirmations: not yet");
      await mine(1);
      const done = await waitForBatch(node, d, 0, (b) => b.state === "confirmed", "confirmed");
      assert.equal(done.txHash, attesting, "the attesting transaction, not this node's reverted one");
      assert.equal(done.blockNumber, Number(rc.blockNumber));
      const view = await auditView(node, digest);
      assert.equal(view.state, "confirmed");
      assert.equal(view.txHash, attesting);
      assert.equal(view.blockNumber, Number(rc.blockNumber));
    } finally {
      await node.close();
    }
  });

  test("attested while it waits in `signed` for an earlier batch: nothing sent, confirmed with the other node's transaction and block after `confirmations` blocks", async () => {
    const d = meters.waiting;
    const node = await startOracle(2);
    try {
      // two windows of the past (2 s each): the later batch waits for the earlier one's confirmation
      const now = Math.floor(Date.now() / 1000);
      await publish(node, d, now - 30);
      const digest = await publish(node, d, now - 20);
      const first = await waitForBatch(node, d, 0, (b) => b.state === "submitted", "submitted");
      const second = await waitForBatch(node, d, 1, (b) => b.state === "signed", "signed");
      await waitFor(() => inMempool(first.txHash!), {
        timeoutMs: 30_000,
        what: "the first transaction in the mempool",
      });
      await mine(1); // the first batch's transaction: 1 of 2 confirmations, so the second still waits
      const nonce = await oracleNonce("pending");

      const attesting = await submitByOther(second);
      await mine(1);
      const rc = await receiptOf(attesting);
      assert.equal(rc.status, "success", "the other node's transaction attested the second batch");
      await waitForBatch(node, d, 0, (b) => b.state === "confirmed", "confirmed");
      await nextTick(node);
      await nextTick(node);
      assert.equal(batches(node, d)[1]!.state, "signed", "its attesting block has 1 of 2 confirmations: not yet");
      assert.equal(await oracleNonce("pending"), nonce, "nothing sent for it");

      await mine(1);
      const done = await waitForBatch(node, d, 1, (b) => b.state === "confirmed", "confirmed");
      assert.equal(done.txHash, attesting);
      assert.equal(done.blockNumber, Number(rc.blockNumber));
      assert.deepEqual(done.txHashes, [], "no transaction of its own");
      assert.equal(await oracleNonce("pending"), nonce, "nothing sent for it");
      const view = await auditView(node, digest);
      assert.equal(view.txHash, attesting);
      assert.equal(view.blockNumber, Number(rc.blockNumber));
    } finally {
      await node.close();
    }
  });

  test("its nonce taken by another of its account's transactions while the other node attested the header: confirmed with the attesting transaction, not its own unmined one", async () => {
    const d = meters.consumed;
    const node = await startOracle(1);
    try {
      await publish(node, d);
      const sent = await waitForBatch(node, d, 0, (b) => b.state === "submitted", "submitted");
      await waitFor(() => inMempool(sent.txHash!), { timeoutMs: 30_000, what: "the transaction in the mempool" });
      // the account's key, also held elsewhere, replaces it at the same nonce with a plain transfer
      const prev = fees(sent.txRaw!);
      const transfer = await walletOf(dep.oracle).sendTransaction({
        to: dep.oracle.address,
        value: 0n,
        nonce: sent.txNonce!,
        maxFeePerGas: prev.maxFeePerGas! * 2n,
        maxPriorityFeePerGas: prev.maxPriorityFeePerGas! * 2n,
      });
      const attesting = await submitByOther(sent);
      await mine(1);
      assert.equal((await receiptOf(transfer)).status, "success");
      const rc = await receiptOf(attesting);
      assert.equal(rc.status, "success");
      assert.equal(await inMempool(sent.txHash!), false, "this node's transaction replaced, never mined");

      const done = await waitForBatch(node, d, 0, (b) => b.state === "confirmed", "confirmed");
      assert.equal(done.txHash, attesting);
      assert.equal(done.blockNumber, Number(rc.blockNumber));
    } finally {
      await node.close();
    }
  });

  test("the RPC node refuses the event query: confirmed all the same, without transaction hash and block number, once the attestation is `confirmations` deep", async () => {
    const d = meters.refused;
    // stands for an RPC node that caps or refuses eth_getLogs (Hardhat answers any range): the
    // rest of the chain port is the real one
    class LogsRefused extends ViemChain {
      override attestedIn(): Promise<never> {
        return Promise.reject(new Error("eth_getLogs: query exceeds the block range this node allows"));
      }
    }
    const chain = new LogsRefused({
      rpcUrl: hh.url,
      chainId: 31337,
      registry: dep.attestationRegistry,
      account: dep.oracle,
    });
    const node = await chainTestNode(hh, dep, {
      chain: { confirmations: 2, gasBumpAfterMs: 600_000 },
      parts: { calculator, chain },
    });
    try {
      await publish(node, d);
      const sent = await waitForBatch(node, d, 0, (b) => b.state === "submitted", "submitted");
      await waitFor(() => inMempool(sent.txHash!), { timeoutMs: 30_000, what: "the transaction in the mempool" });
      await submitByOther(sent, sent.txRaw!);
      await mine(1);
      assert.equal((await receiptOf(sent.txHash!)).status, "reverted");
      // no block to count confirmations from: the registry holding it at the head is not enough
      await nextTick(node);
      await nextTick(node);
      assert.equal(batches(node, d)[0]!.state, "submitted", "attested 1 block deep, 2 confirmations: not yet");
      await mine(1);
      const done = await waitForBatch(node, d, 0, (b) => b.state === "confirmed", "confirmed");
      assert.equal(done.txHash, null, "not this node's reverted transaction");
      assert.equal(done.blockNumber, null);
    } finally {
      await node.close();
    }
  });
});
