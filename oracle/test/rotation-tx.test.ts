import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { join } from "node:path";
import mqtt from "mqtt";
import { createWalletClient, http, parseTransaction, type Hex, type TransactionSerializableEIP1559 } from "viem";
import { generatePrivateKey, privateKeyToAccount, type PrivateKeyAccount } from "viem/accounts";
import { oracleSetAbi, attestationRegistryAbi } from "../src/chain/abi.ts";
import { chainFor, ViemChain } from "../src/chain/viem.ts";
import { SdkCalculator } from "../src/compute/sdk.ts";
import { readingsTopic } from "../src/ingest/mqtt.ts";
import { MIGRATIONS, SqliteStorage } from "../src/storage/sqlite.ts";
import type { Batch } from "../src/storage/types.ts";
import { chainTestNode, type HardhatNode, type Deployment } from "./chain-harness.ts";
import { electricity, makeDevice, type TestDevice, type testNode } from "./fixtures.ts";
import { tempDir, waitFor } from "./helpers.ts";
import { manualMiningChain } from "./tx-harness.ts";

type Node = Awaited<ReturnType<typeof testNode>>;

test("schema 4 adds the sender to a database of schema 3; a stored in-flight nonce without one still counts", () => {
  const { dir, cleanup } = tempDir();
  try {
    const path = join(dir, "oracle.db");
    const db = new DatabaseSync(path);
    // MIGRATION_3 names the function that computes digest keys; there are no readings to compute
    db.function("carbonproof_digest_key", (_digest) => 0);
    for (const sql of MIGRATIONS.slice(0, 3)) db.exec(sql);
    db.exec(`PRAGMA user_version = 3`);
    db.exec(`INSERT INTO batches (facility_id, period_start, period_end, state, tx_nonce, created_at_ms, updated_at_ms)
      VALUES ('f1', 0, 60, 'submitted', 7, 1, 1)`);
    db.close();

    const storage = new SqliteStorage(path);
    try {
      const [b] = storage.listBatches({ states: ["submitted"] });
      assert.equal(b!.txFrom, null, "an existing row has no sender yet");
      const current = privateKeyToAccount(generatePrivateKey()).address;
      assert.equal(storage.maxTxNonce(current), 7, "of unknown sender: counted, as before schema 4");
      const previous = privateKeyToAccount(generatePrivateKey()).address;
      assert.ok(storage.patchBatch(b!.id, "submitted", { txFrom: previous }));
      assert.equal(storage.maxTxNonce(current), null, "another account's nonce is not the current one's");
      assert.equal(storage.maxTxNonce(previous.toLowerCase()), 7);
    } finally {
      storage.close();
    }
  } finally {
    cleanup();
  }
});

/**
 * A key rotation with a batch in flight, on a real Hardhat node with automine off (the tests
 * mine every block). `carbonproof-oracle keys rotate` leaves `submitted` batches as they are;
 * here the node is stopped and started again on the same data dir with another account: the
 * ViemChain it is given holds the key the rotated keystore would.
 */
describe("transactions sent before a key rotation, on a Hardhat node", { timeout: 600_000 }, () => {
  let hh: HardhatNode;
  let dep: Deployment;
  let harness: Awaited<ReturnType<typeof manualMiningChain>>;
  // one facility per test, so each test's batches are its own
  const meters = {
    mined: makeDevice("rotation-meter-1", "rotation-mined"),
    oldInFlight: makeDevice("rotation-meter-2", "rotation-nonce-old"),
    fresh: makeDevice("rotation-meter-3", "rotation-nonce-new"),
    dropped: makeDevice("rotation-meter-4", "rotation-dropped"),
    consumed: makeDevice("rotation-meter-5", "rotation-consumed"),
    reverted: makeDevice("rotation-meter-6", "rotation-reverted"),
    stuckBoth: makeDevice("rotation-meter-7", "rotation-stuck-both-mined"),
    stuckOldMined: makeDevice("rotation-meter-8", "rotation-stuck-old-mined"),
    stuckOldReverted: makeDevice("rotation-meter-9", "rotation-stuck-old-reverted"),
    restarts: makeDevice("rotation-meter-10", "rotation-gone-restarts"),
    pendingBlock: makeDevice("rotation-meter-11", "rotation-stuck-pending-block"),
  };
  const calculator = new SdkCalculator({
    facilities: Object.fromEntries(
      Object.values(meters).map((d) => [d.facilityId, { country: "KEN", flueGasBiogenicShareBp: 10_000 }]),
    ),
  });

  const rpc = <T = unknown>(method: string, params: unknown[] = []): Promise<T> =>
    dep.publicClient.request({ method, params } as never) as Promise<T>;
  const mine = (blocks = 1) => harness.mine(blocks);
  const inMempool = (hash: string) => harness.inMempool(hash);
  const nonceOf = async (address: string, tag: "latest" | "pending") =>
    Number(await rpc<string>("eth_getTransactionCount", [address, tag]));
  const same = (a: string | null | undefined, b: string) => a?.toLowerCase() === b.toLowerCase();

  /** An admin call to the OracleSet, mined at once (with whatever else is in the mempool). */
  const oracleSet = async (functionName: "addNode" | "removeNode", address: Hex) => {
    const hash = await dep.wallet.writeContract({
      address: dep.oracleSet,
      abi: oracleSetAbi,
      functionName,
      args: [address],
      account: dep.admin,
      chain: dep.wallet.chain,
    });
    await mine(1);
    assert.equal((await dep.publicClient.getTransactionReceipt({ hash })).status, "success", functionName);
  };
  /** An account of its own per test (nonces and OracleSet membership per test), funded and an active node. */
  const oracleAccount = async (): Promise<PrivateKeyAccount> => {
    const account = privateKeyToAccount(generatePrivateKey());
    await rpc("hardhat_setBalance", [account.address, "0x56bc75e2d63100000"]); // 100 ETH
    await oracleSet("addNode", account.address);
    return account;
  };
  const walletOf = (account: PrivateKeyAccount) =>
    createWalletClient({ account, chain: chainFor(31337, hh.url), transport: http(hh.url) });

  const running: Node[] = [];
  const start = async (
    account: PrivateKeyAccount,
    chain: { gasBumpAfterMs: number; handOverAfterMs?: number },
    dir: string,
  ) => {
    const viem = new ViemChain({ rpcUrl: hh.url, chainId: 31337, registry: dep.attestationRegistry, account });
    const node = await chainTestNode(hh, dep, { chain, dir, parts: { calculator, chain: viem } });
    running.push(node);
    return node;
  };
  const stop = async (node: Node) => {
    running.splice(running.indexOf(node), 1);
    await node.close();
  };

  const publish = async (node: Node, d: TestDevice) => {
    const client = await mqtt.connectAsync(node.mqtt!.url, { reconnectPeriod: 0 });
    try {
      // the PUBACK comes once the reading is durable
      await client.publishAsync(readingsTopic(d.facilityId, d.deviceId), JSON.stringify(electricity(d)), { qos: 1 });
    } finally {
      await client.endAsync();
    }
  };
  /** Each test sends a facility one reading: one batch. */
  const batchOf = (node: Node, d: TestDevice): Batch | undefined =>
    node.storage.listBatches({ facilityId: d.facilityId })[0];
  const waitForBatch = (node: Node, d: TestDevice, ok: (b: Batch) => boolean, what: string) =>
    waitFor(
      () => {
        const b = batchOf(node, d);
        return b && ok(b) ? b : null;
      },
      { timeoutMs: 90_000, intervalMs: 50, what: `${d.facilityId}'s batch ${what}` },
    );
  const waitForState = (node: Node, d: TestDevice, state: Batch["state"]) =>
    waitForBatch(node, d, (b) => b.state === state, state);
  /** Resolves once a pipeline tick that started after now has finished. */
  const nextTick = async (node: Node) => {
    const now = Date.now();
    await waitFor(() => node.pipeline.lastTickOkMs > now, { timeoutMs: 30_000, what: "a full pipeline tick" });
  };
  const submissions = (attestationId: string) => harness.submissions(attestationId);
  const signedBy = (attestationId: string, node: Hex) =>
    dep.publicClient.readContract({
      address: dep.attestationRegistry,
      abi: attestationRegistryAbi,
      functionName: "wasSignedBy",
      args: [attestationId as Hex, node],
    });

  /** The old key's node submits `d`'s batch and stops with the transaction unmined in the mempool. */
  const submittedByOldKey = async (d: TestDevice, oldKey: PrivateKeyAccount, dir: string) => {
    const first = await start(oldKey, { gasBumpAfterMs: 600_000 }, dir);
    await publish(first, d);
    const sent = await waitForState(first, d, "submitted");
    assert.ok(same(sent.txFrom, oldKey.address), "the sender is recorded");
    await waitFor(() => inMempool(sent.txHash!), { timeoutMs: 30_000, what: "the transaction in the mempool" });
    await stop(first);
    return sent;
  };

  /**
   * The old key's transaction stuck (its fees under the next block's base fee, its node gone,
   * nobody to raise them) and the new key's node started with `handOverAfterMs` 3 s: the batch is
   * handed over and sent from the new account, the old transaction still pending beside the new
   * one. The new node is stopped and the base fee put back, for the test to mine as it likes.
   */
  const handedOverWhilePending = async (
    d: TestDevice,
    oldKey: PrivateKeyAccount,
    newKey: PrivateKeyAccount,
    dir: string,
  ) => {
    const sent = await submittedByOldKey(d, oldKey, dir);
    const { maxFeePerGas } = parseTransaction(sent.txRaw as Hex) as TransactionSerializableEIP1559;
    const { baseFeePerGas } = await dep.publicClient.getBlock();
    await rpc("hardhat_setNextBlockBaseFeePerGas", [`0x${(maxFeePerGas! * 4n).toString(16)}`]);
    const { node, resent } = await submittedByNewKey(d, newKey, dir, {
      gasBumpAfterMs: 600_000,
      handOverAfterMs: 3_000,
    });
    assert.ok(resent.txSentAtMs! - sent.txSentAtMs! >= 3_000, "not before handOverAfterMs");
    assert.equal(resent.attestationId, sent.attestationId, "the same header");
    assert.deepEqual(resent.txHashes, [sent.txHash, resent.txHash], "the old transaction still watched");
    await waitFor(() => inMempool(resent.txHash!), { timeoutMs: 30_000, what: "the new transaction in the mempool" });
    assert.ok(await inMempool(sent.txHash!), "the old transaction still pending");
    await stop(node);
    await rpc("hardhat_setNextBlockBaseFeePerGas", [`0x${baseFeePerGas!.toString(16)}`]);
    return { sent, resent };
  };
  /** The new key's node on `dir`, once it has submitted `d`'s batch from its own account. */
  const submittedByNewKey = async (
    d: TestDevice,
    newKey: PrivateKeyAccount,
    dir: string,
    chain: Parameters<typeof start>[1] = { gasBumpAfterMs: 600_000 },
  ) => {
    const node = await start(newKey, chain, dir);
    const resent = await waitForBatch(
      node,
      d,
      (b) => b.state === "submitted" && same(b.txFrom, newKey.address),
      "submitted by the new account",
    );
    return { node, resent };
  };
  /** Mines the new account's transaction; `d`'s batch confirmed by it, attested exactly once. */
  const minedAndConfirmed = async (node: Node, d: TestDevice, resent: Batch) => {
    await waitFor(() => inMempool(resent.txHash!), { timeoutMs: 30_000, what: "the new transaction in the mempool" });
    await mine(1);
    const done = await waitForState(node, d, "confirmed");
    assert.equal(done.txHash, resent.txHash);
    assert.equal((await submissions(done.attestationId!)).length, 1, "attested exactly once");
    return done;
  };
  const receiptOf = (hash: string) => dep.publicClient.getTransactionReceipt({ hash: hash as Hex });

  before(async () => {
    harness = await manualMiningChain(Object.values(meters));
    ({ hh, dep } = harness);
  });
  after(async () => {
    for (const node of running) await node.close();
    await hh?.stop();
  });

  test("a transaction of the previous key that is mined confirms the batch once; the new key never bumps it", async () => {
    const d = meters.mined;
    const { dir, cleanup } = tempDir();
    try {
      const [oldKey, newKey] = [await oracleAccount(), await oracleAccount()];
      const sent = await submittedByOldKey(d, oldKey, dir);
      // as stored before schema 4 recorded senders: the node reads it from the raw transaction
      const stored = new SqliteStorage(join(dir, "oracle.db"));
      assert.ok(stored.patchBatch(sent.id, "submitted", { txFrom: null }));
      stored.close();

      // bumps after 1 s: a transaction of its own would have been replaced several times over
      const node = await start(newKey, { gasBumpAfterMs: 1_000 }, dir);
      await waitFor(() => Date.now() > sent.txSentAtMs! + 4_000, { timeoutMs: 30_000, what: "4 s after sending" });
      await nextTick(node);
      await nextTick(node);
      const watched = batchOf(node, d)!;
      assert.equal(watched.state, "submitted");
      assert.ok(same(watched.txFrom, oldKey.address), "sender read from the stored transaction");
      assert.deepEqual(watched.txHashes, [sent.txHash], "not replaced");
      assert.equal(await nonceOf(newKey.address, "pending"), 0, "nothing sent from the new account");
      assert.ok(await inMempool(sent.txHash!), "the old transaction is still pending");

      await mine(1);
      const done = await waitForState(node, d, "confirmed");
      assert.equal(done.txHash, sent.txHash);
      assert.equal((await submissions(done.attestationId!)).length, 1, "attested exactly once");
      assert.equal(await nonceOf(newKey.address, "latest"), 0);
      assert.equal(await nonceOf(oldKey.address, "latest"), sent.txNonce! + 1);
    } finally {
      for (const node of [...running]) await stop(node);
      cleanup();
    }
  });

  test("a new batch takes the new account's nonce, not one after the previous key's in-flight transaction", async () => {
    const { dir, cleanup } = tempDir();
    try {
      const [oldKey, newKey] = [await oracleAccount(), await oracleAccount()];
      const old = await submittedByOldKey(meters.oldInFlight, oldKey, dir);
      const node = await start(newKey, { gasBumpAfterMs: 600_000 }, dir);
      await publish(node, meters.fresh);
      const fresh = await waitForState(node, meters.fresh, "submitted");
      assert.ok(same(fresh.txFrom, newKey.address));
      assert.equal(fresh.txNonce, 0, "the new account's first nonce");
      await waitFor(async () => (await inMempool(old.txHash!)) && (await inMempool(fresh.txHash!)), {
        timeoutMs: 30_000,
        what: "both transactions in the mempool",
      });
      await mine(1);
      for (const d of [meters.oldInFlight, meters.fresh]) {
        const done = await waitForState(node, d, "confirmed");
        assert.equal((await submissions(done.attestationId!)).length, 1);
      }
      assert.equal(await nonceOf(newKey.address, "latest"), 1);
    } finally {
      for (const node of [...running]) await stop(node);
      cleanup();
    }
  });

  test("a transaction of the previous key dropped from the mempool: signed again and submitted by the new account at its nonce, confirmed once", async () => {
    const d = meters.dropped;
    const { dir, cleanup } = tempDir();
    try {
      const [oldKey, newKey] = [await oracleAccount(), await oracleAccount()];
      // the new account has sent before: its nonce (2) is not the old one's (0)
      for (let i = 0; i < 2; i++) await walletOf(newKey).sendTransaction({ to: newKey.address, value: 0n });
      await mine(1);
      const newNonce = await nonceOf(newKey.address, "latest");
      assert.equal(newNonce, 2);

      const sent = await submittedByOldKey(d, oldKey, dir);
      assert.equal(await rpc("hardhat_dropTransaction", [sent.txHash]), true);
      // the rotation done: the old node leaves the OracleSet, so its signature no longer counts
      await oracleSet("removeNode", oldKey.address);

      const { node, resent } = await submittedByNewKey(d, newKey, dir, { gasBumpAfterMs: 1_500 });
      assert.equal(resent.txNonce, newNonce, "at the new account's nonce");
      assert.equal(resent.attestationId, sent.attestationId, "the same header");
      assert.notEqual(resent.signatures, sent.signatures, "signed again with the new key");
      // its own transaction the node may bump (after 1.5 s here) before the block: the latest version
      await waitFor(async () => await inMempool(batchOf(node, d)!.txHash!), {
        timeoutMs: 30_000,
        what: "the new transaction in the mempool",
      });
      await mine(1);

      const done = await waitForState(node, d, "confirmed");
      assert.ok(done.txHashes.includes(done.txHash!));
      assert.deepEqual(
        done.txHashes.slice(0, 2),
        [sent.txHash, resent.txHash],
        "the old hash still listed, never re-sent",
      );
      const rc = await dep.publicClient.getTransactionReceipt({ hash: done.txHash as Hex });
      assert.equal(rc.status, "success");
      assert.ok(same(rc.from, newKey.address));
      assert.equal((await submissions(done.attestationId!)).length, 1, "attested exactly once");
      assert.equal(await signedBy(done.attestationId!, newKey.address), true);
      assert.equal(await nonceOf(oldKey.address, "pending"), 0, "the old account sent nothing more");
      assert.equal(await nonceOf(newKey.address, "latest"), newNonce + 1);
    } finally {
      for (const node of [...running]) await stop(node);
      cleanup();
    }
  });

  test("the previous key's nonce used by another of its transactions: the batch is submitted by the new account, confirmed once", async () => {
    const d = meters.consumed;
    const { dir, cleanup } = tempDir();
    try {
      const [oldKey, newKey] = [await oracleAccount(), await oracleAccount()];
      const sent = await submittedByOldKey(d, oldKey, dir);
      // the old key (still held elsewhere) replaces it at the same nonce with a plain transfer
      const prev = parseTransaction(sent.txRaw as Hex) as TransactionSerializableEIP1559;
      const other = await walletOf(oldKey).sendTransaction({
        to: oldKey.address,
        value: 0n,
        nonce: sent.txNonce!,
        maxFeePerGas: prev.maxFeePerGas! * 2n,
        maxPriorityFeePerGas: prev.maxPriorityFeePerGas! * 2n,
      });
      await mine(1);
      assert.equal((await dep.publicClient.getTransactionReceipt({ hash: other })).status, "success");

      // no bumps and no "gone" deadline in this test: only the old account's nonce tells
      const { node, resent } = await submittedByNewKey(d, newKey, dir);
      assert.equal(resent.txNonce, 0);
      const done = await minedAndConfirmed(node, d, resent);
    } finally {
      for (const node of [...running]) await stop(node);
      cleanup();
    }
  });

  test("a transaction of the previous key that reverts (its node removed) is not a failed batch: the new account submits it", async () => {
    const d = meters.reverted;
    const { dir, cleanup } = tempDir();
    try {
      const [oldKey, newKey] = [await oracleAccount(), await oracleAccount()];
      const sent = await submittedByOldKey(d, oldKey, dir);
      // the admin's removal mined first, then the old transaction: refused by the OracleSet
      assert.equal(await rpc("hardhat_dropTransaction", [sent.txHash]), true);
      await oracleSet("removeNode", oldKey.address);
      await rpc("eth_sendRawTransaction", [sent.txRaw]);
      await mine(1);
      assert.equal((await dep.publicClient.getTransactionReceipt({ hash: sent.txHash as Hex })).status, "reverted");

      const { node, resent } = await submittedByNewKey(d, newKey, dir);
      const done = await minedAndConfirmed(node, d, resent);
      assert.equal(await signedBy(done.attestationId!, newKey.address), true);
    } finally {
      for (const node of [...running]) await stop(node);
      cleanup();
    }
  });

  test("a transaction of the previous key stuck unmined is handed over after handOverAfterMs; both mined, the new first: confirmed once by the new one", async () => {
    const d = meters.stuckBoth;
    const { dir, cleanup } = tempDir();
    try {
      const [oldKey, newKey] = [await oracleAccount(), await oracleAccount()];
      const { sent, resent } = await handedOverWhilePending(d, oldKey, newKey, dir);
      // the new transaction mined first, then the old one after all: the registry refuses it
      assert.equal(await rpc("hardhat_dropTransaction", [sent.txHash]), true);
      await mine(1);
      await rpc("eth_sendRawTransaction", [sent.txRaw]);
      await mine(1);
      assert.equal((await receiptOf(resent.txHash!)).status, "success");
      assert.equal((await receiptOf(sent.txHash!)).status, "reverted", "the second attestation of the id refused");

      // the node sees both receipts at once, the reverted one listed first
      const node = await start(newKey, { gasBumpAfterMs: 600_000 }, dir);
      const done = await waitForState(node, d, "confirmed");
      assert.equal(done.txHash, resent.txHash, "confirmed by the transaction that attested");
      assert.equal(done.blockNumber, Number((await receiptOf(resent.txHash!)).blockNumber));
      assert.equal((await submissions(done.attestationId!)).length, 1, "attested exactly once");
      assert.equal(await signedBy(done.attestationId!, newKey.address), true);
      assert.equal(await signedBy(done.attestationId!, oldKey.address), false);
    } finally {
      for (const node of [...running]) await stop(node);
      cleanup();
    }
  });

  test("a previous key's transaction pending at fees the next block takes is handed over too: the submission is estimated against the latest block, not the pending one", async () => {
    const d = meters.pendingBlock;
    const { dir, cleanup } = tempDir();
    try {
      const [oldKey, newKey] = [await oracleAccount(), await oracleAccount()];
      // not underpriced: Hardhat's pending block holds it, and there the attestation already exists
      const sent = await submittedByOldKey(d, oldKey, dir);
      const { node, resent } = await submittedByNewKey(d, newKey, dir, {
        gasBumpAfterMs: 600_000,
        handOverAfterMs: 3_000,
      });
      assert.ok(await inMempool(sent.txHash!), "the old transaction still pending beside it");
      await mine(1);
      const done = await waitForState(node, d, "confirmed");
      assert.equal((await submissions(done.attestationId!)).length, 1, "attested exactly once");
      assert.ok([sent.txHash, resent.txHash].includes(done.txHash), "confirmed by one of the two");
      assert.equal((await receiptOf(done.txHash!)).status, "success");
    } finally {
      for (const node of [...running]) await stop(node);
      cleanup();
    }
  });

  test("the previous key's transaction mined after the handover confirms the batch; the new one is not pushed again, and reverts when mined", async () => {
    const d = meters.stuckOldMined;
    const { dir, cleanup } = tempDir();
    try {
      const [oldKey, newKey] = [await oracleAccount(), await oracleAccount()];
      const { sent, resent } = await handedOverWhilePending(d, oldKey, newKey, dir);
      // the RPC node loses the new transaction; the old one is mined after all
      assert.equal(await rpc("hardhat_dropTransaction", [resent.txHash]), true);
      await mine(1);
      assert.equal((await receiptOf(sent.txHash!)).status, "success");

      const node = await start(newKey, { gasBumpAfterMs: 600_000 }, dir);
      const done = await waitForState(node, d, "confirmed");
      assert.equal(done.txHash, sent.txHash, "confirmed by the old transaction");
      assert.equal(done.blockNumber, Number((await receiptOf(sent.txHash!)).blockNumber));
      await nextTick(node);
      assert.equal(await inMempool(resent.txHash!), false, "the new transaction not re-broadcast");
      assert.equal(await nonceOf(newKey.address, "pending"), 0);

      // broadcast anyway (another RPC node still had it): mined, refused
      await rpc("eth_sendRawTransaction", [resent.txRaw]);
      await mine(1);
      assert.equal((await receiptOf(resent.txHash!)).status, "reverted");
      await nextTick(node);
      assert.equal(batchOf(node, d)!.txHash, sent.txHash);
      assert.equal((await submissions(done.attestationId!)).length, 1, "attested exactly once");
      assert.equal(await signedBy(done.attestationId!, oldKey.address), true);
    } finally {
      for (const node of [...running]) await stop(node);
      cleanup();
    }
  });

  test("the previous key's transaction reverting after the handover (its node removed) does not fail the batch: the new one confirms it", async () => {
    const d = meters.stuckOldReverted;
    const { dir, cleanup } = tempDir();
    try {
      const [oldKey, newKey] = [await oracleAccount(), await oracleAccount()];
      const { sent, resent } = await handedOverWhilePending(d, oldKey, newKey, dir);
      // the rotation finished (the old node removed), then the old transaction mined: refused
      for (const h of [sent.txHash, resent.txHash]) assert.equal(await rpc("hardhat_dropTransaction", [h]), true);
      await oracleSet("removeNode", oldKey.address);
      await rpc("eth_sendRawTransaction", [sent.txRaw]);
      await mine(1);
      assert.equal((await receiptOf(sent.txHash!)).status, "reverted");

      // the node's own transaction, unknown to the RPC node now, is re-broadcast
      const node = await start(newKey, { gasBumpAfterMs: 600_000 }, dir);
      await waitFor(() => inMempool(resent.txHash!), { timeoutMs: 30_000, what: "the new transaction re-broadcast" });
      await nextTick(node);
      assert.equal(batchOf(node, d)!.state, "submitted", "not failed by the old transaction's revert");
      await mine(1);
      const done = await waitForState(node, d, "confirmed");
      assert.equal(done.txHash, resent.txHash);
      assert.equal((await receiptOf(resent.txHash!)).status, "success");
      assert.equal((await submissions(done.attestationId!)).length, 1, "attested exactly once");
      assert.equal(await signedBy(done.attestationId!, newKey.address), true);
    } finally {
      for (const node of [...running]) await stop(node);
      cleanup();
    }
  });

  test("a transaction of the previous key gone from the RPC node is handed over even when the node restarts more often than gasBumpAfterMs", async () => {
    const d = meters.restarts;
    const gasBumpAfterMs = 8_000;
    const { dir, cleanup } = tempDir();
    try {
      const [oldKey, newKey] = [await oracleAccount(), await oracleAccount()];
      const sent = await submittedByOldKey(d, oldKey, dir);
      assert.equal(await rpc("hardhat_dropTransaction", [sent.txHash]), true);

      // each node runs two pipeline ticks, far less than gasBumpAfterMs, then stops
      const deadline = Date.now() + 90_000;
      let starts = 0;
      for (;;) {
        assert.ok(Date.now() < deadline, `not handed over after ${starts} starts`);
        const node = await start(newKey, { gasBumpAfterMs, handOverAfterMs: 600_000 }, dir);
        const upAtMs = Date.now();
        starts++;
        await nextTick(node);
        await nextTick(node);
        const b = batchOf(node, d)!;
        await stop(node);
        assert.ok(Date.now() - upAtMs < gasBumpAfterMs, "each node stops before gasBumpAfterMs");
        if (b.state !== "submitted" || !same(b.txFrom, oldKey.address)) break;
        assert.match(b.error ?? "", /unknown to the RPC node/, "the first miss is stored");
      }
      assert.ok(starts >= 2, "handed over by a later start than the one that missed it first");

      const { node, resent } = await submittedByNewKey(d, newKey, dir);
      const done = await minedAndConfirmed(node, d, resent);
    } finally {
      for (const node of [...running]) await stop(node);
      cleanup();
    }
  });
});
