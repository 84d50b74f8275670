import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { createApiKey } from "../src/api/keys.ts";
import { createServer as createHttpServer } from "node:http";
import { createServer } from "node:net";
import { pino } from "pino";
import { BatchOperator, registryReader } from "../src/batch/operator.ts";
import { headerToJson } from "../src/batch/bundle.ts";
import { parseConfig } from "../src/config/load.ts";
import { MIGRATIONS, SqliteStorage } from "../src/storage/sqlite.ts";
import { awaitsAdoption } from "../src/storage/types.ts";
import { readingDigestHex, type BatchHeader } from "../../sdk/src/index.ts";
import { deviceInfo, electricity, makeDevice, testNode } from "./fixtures.ts";
import { tempDir, waitFor } from "./helpers.ts";

test("schema 5 records an abandonment as abandonedAt: a batch abandoned by schema 4 (its error prefixed) opens abandoned, its error the failure's reason again", () => {
  const { dir, cleanup } = tempDir();
  try {
    const path = join(dir, "oracle.db");
    const db = new DatabaseSync(path);
    // MIGRATION_3 names the function that computes digest keys; there are no readings to compute
    db.function("carbonproof_digest_key", (_digest) => 0);
    for (const sql of MIGRATIONS.slice(0, 4)) db.exec(sql);
    db.exec(`PRAGMA user_version = 4`);
    const insert = db.prepare(
      `INSERT INTO batches (id, facility_id, period_start, period_end, state, reading_count, error, created_at_ms, updated_at_ms)
       VALUES (?, 'f1', ?, ?, 'failed', 3, ?, 1, 5000)`,
    );
    // as schema 4's `abandon` wrote them: with the reason it failed, and with none recorded
    insert.run(1, 0, 60, "abandoned by the operator at 2026-03-01T10:00:00.000Z: transaction 0xab reverted");
    insert.run(2, 60, 120, "abandoned by the operator at 2026-03-02T10:00:00.000Z: no reason recorded");
    // failed, not abandoned: still holding
    insert.run(3, 120, 180, "transaction 0xcd reverted");
    db.close();

    const storage = new SqliteStorage(path);
    try {
      const [a, b, c] = [1, 2, 3].map((id) => storage.getBatch(id)!);
      assert.equal(a!.abandonedAt, Date.parse("2026-03-01T10:00:00.000Z"));
      assert.equal(a!.error, "transaction 0xab reverted");
      assert.equal(a!.state, "failed", "an abandoned batch stays failed");
      assert.equal(b!.abandonedAt, Date.parse("2026-03-02T10:00:00.000Z"));
      assert.equal(b!.error, null);
      assert.equal(c!.abandonedAt, null);
      assert.equal(c!.error, "transaction 0xcd reverted");
      assert.equal(storage.countHoldingBatches(), 1, "only the batch that was not abandoned holds");
      // retry clears it; abandon sets it, once
      const retried = storage.retryFailedBatch(1, 9000);
      assert.equal(retried.done, true);
      assert.equal(storage.getBatch(1)!.abandonedAt, null);
      assert.match(
        storage.getBatch(1)!.error!,
        /was: transaction 0xab reverted; abandoned at 2026-03-01T10:00:00\.000Z/,
      );
      const given = storage.abandonFailedBatch(3, 9500);
      assert.deepEqual(given, {
        batch: 3,
        done: true,
        state: "failed",
        readings: 3,
        corrections: [],
        abandonedAt: 9500,
      });
      assert.equal(storage.getBatch(3)!.error, "transaction 0xcd reverted", "abandoning keeps the reason");
      const again = storage.abandonFailedBatch(3, 9600);
      assert.equal(again.done === false && again.code, "already-abandoned");
      assert.equal(storage.countHoldingBatches(), 0);
    } finally {
      storage.close();
    }
  } finally {
    cleanup();
  }
});

/** The header of a stored failed batch of facility 0x11…, 60 s from `periodStart`, holding one reading. */
const failedHeader = (periodStart: number): BatchHeader => ({
  facilityId: `0x${"11".repeat(32)}`,
  periodStart: BigInt(periodStart),
  periodEnd: BigInt(periodStart + 60),
  merkleRoot: `0x${"22".repeat(32)}`,
  readingCount: 1,
  fossilCo2eGrams: 1n,
  biogenicCo2Grams: 0n,
  methodologyId: `0x${"33".repeat(32)}`,
  factorSetId: `0x${"44".repeat(32)}`,
  bundleCid: "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy",
  correctionOf: `0x${"00".repeat(32)}`,
});

/**
 * A node's SQLite storage in a temp dir holding failed regular batches, each of facility
 * `f<id>`, its period `[start, start + 60)`, one reading and its header; `remove` closes and
 * deletes it.
 */
function failedBatchStore(batches: [id: number, start: number][], error = "period overlap") {
  const { dir, cleanup } = tempDir();
  const storage = new SqliteStorage(join(dir, "oracle.db"));
  const insert = storage.db.prepare(
    `INSERT INTO batches (id, facility_id, period_start, period_end, state, reading_count, bundle_cid, header_json, error, created_at_ms, updated_at_ms)
     VALUES (?, ?, ?, ?, 'failed', 1, 'bafy', ?, ?, 1, 1)`,
  );
  for (const [id, start] of batches)
    insert.run(id, `f${id}`, start, start + 60, headerToJson({ ...failedHeader(start), readingCount: 1 }), error);
  return {
    storage,
    remove: () => {
      storage.close();
      cleanup();
    },
  };
}

test("a retry when the registry cannot be read goes ahead without the frontier check, with a warning; one per batch, in period order, each logged", async () => {
  const { dir, cleanup } = tempDir();
  // an RPC URL on loopback where nothing listens (a port just closed): the registry unreachable
  const probe = createServer();
  await new Promise<void>((ok) => probe.listen(0, "127.0.0.1", ok));
  const port = (probe.address() as { port: number }).port;
  await new Promise((ok) => probe.close(ok));
  const storage = new SqliteStorage(join(dir, "oracle.db"));
  const logged: Record<string, unknown>[] = [];
  try {
    const header = (periodStart: number) => headerToJson(failedHeader(periodStart));
    const insert = storage.db.prepare(
      `INSERT INTO batches (id, facility_id, period_start, period_end, state, reading_count, bundle_cid, header_json, error, created_at_ms, updated_at_ms)
       VALUES (?, 'f1', ?, ?, 'failed', 1, 'bafy', ?, 'transaction 0x01 reverted', 1, 1)`,
    );
    insert.run(7, 120, 180, header(120));
    insert.run(8, 60, 120, header(60));
    const config = parseConfig({
      chain: {
        enabled: true,
        rpcUrl: `http://127.0.0.1:${port}`,
        attestationRegistry: `0x${"55".repeat(20)}`,
      },
    });
    const operator = new BatchOperator({
      storage,
      registry: registryReader(config),
      nowMs: () => 1000,
      logger: pino({ level: "info" }, { write: (line: string) => void logged.push(JSON.parse(line)) }),
    });
    const { outcomes: out, notTried } = await operator.retryMany([7, 8], "api key 3");
    assert.deepEqual(notTried, []);
    assert.deepEqual(
      out.map((o) => o.batch),
      [8, 7],
      "the earlier period first",
    );
    for (const o of out) {
      assert.equal(o.done, true);
      assert.match(
        o.warning ?? "",
        new RegExp(
          `could not read the registry's frontier for batch ${o.batch} from chain.rpcUrl .*; retried without that check`,
        ),
      );
      assert.equal(storage.getBatch(o.batch)!.state, "pinned");
    }
    // one log line per operation, with the batch and who asked
    assert.deepEqual(
      logged.map((l) => [l.msg, l.batch, l.by, l.state]),
      [
        ["failed batch retried by the operator", 8, "api key 3", "pinned"],
        ["failed batch retried by the operator", 7, "api key 3", "pinned"],
      ],
    );
    const refused = operator.abandon(8, "cli");
    assert.equal(refused.done, false);
    assert.deepEqual(
      [logged[2]!.msg, logged[2]!.batch, logged[2]!.code],
      ["abandon of a batch refused", 8, "not-failed"],
    );
  } finally {
    storage.close();
    cleanup();
  }
});

/**
 * `retry` of a regular batch whose period the registry has attested past, by what the registry's
 * events say of its period. The RegistryReader here stands in for the AttestationRegistry read over
 * JSON-RPC (operator.ts `registryReader`): a revoked attestation, one of another period or an event
 * search that fails cannot be staged on a chain without a second node and a revocation vote; the
 * path where it holds an attestation of exactly the period runs on Hardhat in restore-chain.test.ts.
 */
test("a retry past the registry's frontier goes ahead only for an unrevoked regular attestation of exactly the batch's period, and otherwise says why not", async () => {
  const { dir, cleanup } = tempDir();
  const storage = new SqliteStorage(join(dir, "oracle.db"));
  try {
    const header: BatchHeader = { ...failedHeader(120), readingCount: 3 };
    const facilityId = header.facilityId;
    const insert = storage.db.prepare(
      `INSERT INTO batches (id, facility_id, period_start, period_end, state, reading_count, bundle_cid, header_json, error, created_at_ms, updated_at_ms)
       VALUES (?, ?, 120, 180, 'failed', 1, 'bafy', ?, 'period overlap', 1, 1)`,
    );
    // one facility in storage each (a facility holds one batch of a period); one on-chain id for all
    for (const id of [1, 2, 3, 4, 5, 6]) insert.run(id, `f${id}`, headerToJson({ ...header, readingCount: 1 }));
    // batch 5 was abandoned: a retry to be taken as a record keeps that
    storage.db.prepare("UPDATE batches SET abandoned_at_ms = 500 WHERE id = 5").run();
    const attestationId = `0x${"aa".repeat(32)}` as const;
    const found = (over: Partial<typeof header>, revoked = false) => ({
      id: attestationId,
      header: { ...header, ...over },
      txHash: `0x${"bb".repeat(32)}` as const,
      blockNumber: 7n,
      revoked,
    });
    const answers: Record<number, () => Promise<ReturnType<typeof found> | null>> = {
      1: async () => null,
      2: async () => found({ periodStart: 60n }),
      3: async () => found({}, true),
      4: async () => {
        throw new Error("HTTP request failed.\nURL: http://127.0.0.1:1");
      },
      5: async () => found({}),
      6: async () => {
        throw Object.assign(new Error("no attestation in the 500000 blocks from block 9; the search stops there"), {
          code: "SEARCH_BOUND",
        });
      },
    };
    let asking = 0;
    const operator = new BatchOperator({
      storage,
      registry: {
        attestedUntil: async () => 240n,
        findRegularAttestation: async (facility, periodStart) => {
          assert.equal(facility, facilityId);
          assert.equal(periodStart, 120n);
          return answers[asking]!();
        },
      },
      nowMs: () => 1000,
      logger: pino({ level: "silent" }),
    });
    const retry = (id: number) => {
      asking = id;
      return operator.retry(id, "cli");
    };
    const refusedFor = async (id: number, why: RegExp) => {
      const out = await retry(id);
      assert.equal(out.done, false, `batch ${id} refused`);
      if (out.done) return;
      assert.equal(out.code, "registry-past");
      assert.match(out.reason, /attested up to 240: it would reject the batch again \(period overlap\)/);
      assert.match(out.reason, why);
      assert.match(out.reason, new RegExp(`carbonproof-oracle abandon ${id}`));
      assert.equal(storage.getBatch(id)!.state, "failed", "left as it was");
    };
    await refusedFor(1, /no regular attestation of its period was found in the registry's events/);
    await refusedFor(
      2,
      new RegExp(`attestation ${attestationId} that covers its start is of another period \\(60–180\\)`),
    );
    await refusedFor(3, new RegExp(`attestation ${attestationId} of its period was revoked`));
    await refusedFor(
      6,
      /the attestation of its period was not found where it was looked for: no attestation in the 500000 blocks/,
    );
    // the search failed: not an answer, so not a refusal of the batch (the API's 503), nothing changed
    const unread = await retry(4);
    assert.equal(unread.done, false);
    if (!unread.done) {
      assert.equal(unread.code, "registry-unreadable");
      assert.match(
        unread.reason,
        /looking for it failed \(HTTP request failed\.\): nothing was changed; run retry again when chain.rpcUrl answers/,
      );
    }
    assert.equal(storage.getBatch(4)!.state, "failed");
    assert.equal(storage.countAwaitingAdoption(), 0);
    const out = await retry(5);
    assert.equal(out.done, true);
    assert.equal(storage.countAwaitingAdoption(), 1, "as `status` and /v1/status count it");
    assert.deepEqual(out.adopting, { attestationId, bundleCid: header.bundleCid, readings: 3 });
    const b5 = storage.getBatch(5)!;
    // back in the pipeline, never to be sent: signed without signatures, which holds nothing back
    assert.deepEqual([b5.state, b5.signatures, b5.abandonedAt], ["signed", null, 500]);
    assert.equal(out.done && out.abandonedAt, 500);
    assert.equal(awaitsAdoption(b5), true);
  } finally {
    storage.close();
    cleanup();
  }
});

/**
 * `retry --all` over HTTP within a time budget: each retry of a batch the registry has attested
 * past searches its events. The RegistryReader stands in for an AttestationRegistry behind a slow
 * JSON-RPC endpoint (searches of 200 ms, and one of 5 s), which Hardhat on loopback never is.
 */
test("retries of many batches end at the time budget, the search under way cut short, and the rest are named in order, to go on with", async () => {
  // ids out of period order: the period decides
  const { storage, remove } = failedBatchStore([
    [11, 180],
    [12, 60],
    [14, 240],
    [13, 120],
  ]);
  try {
    let searches = 0;
    let slowMs = 5000;
    const operator = new BatchOperator({
      storage,
      registry: {
        attestedUntil: async () => 10_000n,
        findRegularAttestation: async (_facility, periodStart) => {
          searches++;
          // batch 11's search outlasts the budget
          await new Promise((r) => setTimeout(r, periodStart === 180n ? slowMs : 200));
          return null;
        },
      },
      nowMs: () => 1000,
      logger: pino({ level: "silent" }),
    });
    const seen: [number, number][] = [];
    const t0 = performance.now();
    const first = await operator.retryMany(null, "api key 3", {
      budgetMs: 1500,
      progress: (done, total) => seen.push([done, total]),
    });
    const tookMs = performance.now() - t0;
    assert.ok(tookMs >= 1400 && tookMs < 2500, `answered at the budget (${tookMs.toFixed(0)} ms)`);
    assert.deepEqual(
      first.outcomes.map((o) => [o.batch, o.done]),
      [
        [12, false],
        [13, false],
      ],
      "the earliest periods, refused (no attestation of them)",
    );
    assert.deepEqual([first.notTried, first.cutShort], [[11, 14], 11], "the rest, in period order, the cut one first");
    assert.equal(searches, 3, "batch 14 not searched");
    assert.deepEqual(seen, [
      [0, 4],
      [1, 4],
      [2, 4],
    ]);
    slowMs = 200;
    const last = await operator.retryMany(first.notTried, "api key 3", { budgetMs: 1500 });
    assert.deepEqual([last.outcomes.map((o) => o.batch), last.notTried, last.cutShort], [[11, 14], [], undefined]);
    // no budget (the CLI): all of them, none cut
    slowMs = 2000;
    const all = await operator.retryMany(null, "cli");
    assert.deepEqual([all.outcomes.map((o) => o.batch), all.notTried], [[12, 13, 11, 14], []]);
  } finally {
    remove();
  }
});

/**
 * A loopback JSON-RPC endpoint that stands in for a slow one, which Hardhat on loopback never is:
 * a 500,000-block chain whose block n is stamped `stamp0 + n`, an AttestationRegistry whose
 * `attestedUntil` is past every batch here, and no events, every `eth_getLogs` taking 150 ms (a
 * whole search of the registry's events takes 15 s). `calls` lists what was asked, and when.
 */
async function slowRegistryRpc(stamp0 = 0) {
  const calls: { method: string; atMs: number }[] = [];
  const word = (n: bigint | number) => `0x${BigInt(n).toString(16).padStart(64, "0")}`;
  const rpc = createHttpServer((req, res) => {
    let text = "";
    req.on("data", (c) => (text += c));
    req.on("end", () => {
      const { id, method, params } = JSON.parse(text) as { id: number; method: string; params: unknown[] };
      calls.push({ method, atMs: performance.now() });
      const answer = (result: unknown) => res.end(JSON.stringify({ jsonrpc: "2.0", id, result }));
      if (method === "eth_chainId") return answer("0x7a69");
      if (method === "eth_blockNumber") return answer(`0x${(500_000).toString(16)}`);
      if (method === "eth_getBlockByNumber") {
        const n = BigInt(params[0] as string);
        return answer({
          number: `0x${n.toString(16)}`,
          timestamp: `0x${(BigInt(stamp0) + n).toString(16)}`,
          hash: word(n + 1n),
          parentHash: word(n),
          transactions: [],
          logsBloom: `0x${"00".repeat(256)}`,
        });
      }
      if (method === "eth_call") return answer(word(2n ** 40n));
      if (method === "eth_getLogs") return void setTimeout(() => answer([]), 150);
      res.end(JSON.stringify({ jsonrpc: "2.0", id, error: { code: -32601, message: `no ${method}` } }));
    });
  });
  await new Promise<void>((ok) => rpc.listen(0, "127.0.0.1", ok));
  return {
    url: `http://127.0.0.1:${(rpc.address() as { port: number }).port}`,
    calls,
    close: async () => {
      rpc.closeAllConnections();
      await new Promise((ok) => rpc.close(ok));
    },
  };
}

/**
 * A registry search under way when the budget runs out is cut short: the answer does not wait for
 * it, nothing is changed for its batch, and the search makes no further call. The registry is read
 * with the node's own reader (`registryReader`, viem over HTTP) from the slow endpoint above.
 */
test("a registry search under way at the budget is cut short, nothing changed for its batch, and makes no further call", async () => {
  const rpc = await slowRegistryRpc();
  const calls = rpc.calls;
  const { storage, remove } = failedBatchStore([
    [21, 120],
    [22, 180],
  ]);
  try {
    const operator = new BatchOperator({
      storage,
      registry: registryReader(
        parseConfig({
          chain: { enabled: true, rpcUrl: rpc.url, attestationRegistry: `0x${"55".repeat(20)}` },
        }),
      ),
      nowMs: () => 1000,
      logger: pino({ level: "silent" }),
    });
    // the first retry too: the budget bounds the answer, not only what is started
    const t0 = performance.now();
    const cut = await operator.retryAll(null, "api key 3", { budgetMs: 1000 });
    const tookMs = performance.now() - t0;
    const callsAtAnswer = calls.length;
    assert.ok(tookMs < 1500, `answered at the budget, not after the 15 s search (${tookMs.toFixed(0)} ms)`);
    assert.deepEqual([cut.outcomes, cut.notTried, cut.cutShort], [[], [21, 22], 21]);
    assert.deepEqual(
      [storage.getBatch(21)!.state, storage.getBatch(21)!.error, storage.getBatch(22)!.state],
      ["failed", "period overlap", "failed"],
      "nothing changed",
    );
    const searched = calls.filter((c) => c.method === "eth_getLogs").length;
    assert.ok(searched >= 3 && searched <= 8, `the search had begun (${searched} eth_getLogs)`);
    // the call under way ends (it may reach the endpoint just after the answer: sent as the budget
    // ran out); none follows it, where the whole search would make 4 in this time
    await new Promise((r) => setTimeout(r, 600));
    const after = calls.slice(callsAtAnswer).map((c) => c.method);
    assert.ok(after.length <= 1, `no call after the cut but the one under way (${after.join(", ")})`);
  } finally {
    remove();
    await rpc.close();
  }
});

/**
 * The frontier read is not cut at the budget: one call within the reader's timeout, and a registry
 * that does not answer it still gives the batch a retry without that check, as without a budget.
 * The RegistryReader stands in for a JSON-RPC endpoint that times out (after 1.2 s here, 10 s in
 * `registryReader`).
 */
test("retry-all lets a frontier read under way at the budget end: an unreadable registry still gives the batch its retry, with a warning", async () => {
  const { storage, remove } = failedBatchStore(
    [
      [41, 60],
      [42, 120],
    ],
    "transaction 0x01 reverted",
  );
  try {
    let searches = 0;
    const operator = new BatchOperator({
      storage,
      registry: {
        attestedUntil: async () => {
          await new Promise((r) => setTimeout(r, 1200));
          throw new Error("The request took too long to respond.");
        },
        findRegularAttestation: async () => (searches++, null),
      },
      nowMs: () => 1000,
      logger: pino({ level: "silent" }),
    });
    const out = await operator.retryAll(null, "api key 3", { budgetMs: 1000 });
    assert.deepEqual(
      [out.outcomes.map((o) => [o.batch, o.done]), out.notTried, out.cutShort, searches],
      [[[41, true]], [42], undefined, 0],
    );
    assert.match(
      out.outcomes[0]!.warning ?? "",
      /could not read the registry's frontier for batch 41 from chain.rpcUrl \(The request took too long to respond\.\); retried without that check/,
      "the read's own failure, not the budget",
    );
    assert.equal(storage.getBatch(41)!.state, "pinned");
  } finally {
    remove();
  }
});

/**
 * `retryAll` with a previous answer's `notTried`: a batch cut short is taken again from the start,
 * and one retried or abandoned meanwhile is skipped. The RegistryReader stands in for a slow
 * AttestationRegistry as in the test above (its search of batch 32 outlasts any budget).
 */
test("retry-all goes on from a cut-short batch and skips what was retried or abandoned meanwhile", async () => {
  const { storage, remove } = failedBatchStore([
    [31, 60],
    [32, 120],
    [33, 180],
    [34, 240],
  ]);
  try {
    const signals: (AbortSignal | undefined)[] = [];
    let slow = true;
    const operator = new BatchOperator({
      storage,
      registry: {
        attestedUntil: async () => 10_000n,
        findRegularAttestation: async (_facility, periodStart, signal) => {
          signals.push(signal);
          // batch 32's search outlasts the budget the first time (a call under way that ignores the abort)
          if (periodStart === 120n && slow) await new Promise((r) => setTimeout(r, 3000));
          return null;
        },
      },
      nowMs: () => 1000,
      logger: pino({ level: "silent" }),
    });
    const first = await operator.retryAll(null, "api key 3", { budgetMs: 1000 });
    assert.deepEqual(
      [first.outcomes.map((o) => [o.batch, o.done]), first.notTried, first.cutShort, first.skipped],
      [[[31, false]], [32, 33, 34], 32, undefined],
    );
    assert.equal(signals[1]?.aborted, true, "the search was told to stop");
    // meanwhile batch 33 is abandoned and 34 taken back by a retry of its own
    assert.equal(operator.abandon(33, "cli").done, true);
    slow = false;
    assert.equal((await operator.retry(34, "cli")).done, false, "refused: no attestation of its period");
    storage.db.prepare("UPDATE batches SET state = 'pinned' WHERE id = 34").run();
    const next = await operator.retryAll(first.notTried, "api key 3", { budgetMs: 1000 });
    assert.deepEqual(
      [next.outcomes.map((o) => o.batch), next.notTried, next.cutShort, next.skipped],
      [[32], [], undefined, [33, 34]],
    );
    // ids none of which it takes: nothing tried
    assert.deepEqual(await operator.retryAll([33, 34, 99], "api key 3"), {
      outcomes: [],
      notTried: [],
      skipped: [33, 34, 99],
    });
  } finally {
    remove();
  }
});

/**
 * The admin batch routes on a node without a chain. Its batch fails the way the pipeline fails
 * one whose transaction reverted (a transition to `failed` with the reason): a revert needs a
 * chain, which `correction.test.ts` runs these routes against (Hardhat, a paused registry).
 */
describe("admin HTTP API: failed batches", { timeout: 120_000 }, () => {
  const meter = makeDevice("admin-batch-meter-1");
  let node: Awaited<ReturnType<typeof testNode>>;
  let keys: { admin: string; facility: string };
  before(async () => {
    node = await testNode({ devices: [deviceInfo(meter)] });
    keys = {
      admin: createApiKey(node.storage, { scope: "admin", subject: "ops" }).key,
      facility: createApiKey(node.storage, { scope: "facility", subject: meter.facilityId }).key,
    };
  });
  after(() => node.close());

  const post = (path: string, key?: string) =>
    fetch(`${node.httpUrl}${path}`, { method: "POST", headers: key ? { "x-api-key": key } : {} });
  /** POSTs `body` as JSON (as it is when `raw`: a text that may not be JSON). */
  const postJson = (path: string, key: string, body: unknown, raw = false) =>
    fetch(`${node.httpUrl}${path}`, {
      method: "POST",
      headers: { "x-api-key": key, "content-type": "application/json" },
      body: raw ? (body as string) : JSON.stringify(body),
    });
  const holding = async () =>
    ((await (await fetch(`${node.httpUrl}/v1/status`)).json()) as { holding: number }).holding;

  /** A batch of one reading, pinned (no chain: it goes no further), then failed as a revert fails it. */
  const failedBatch = async (tsS: number) => {
    const e = electricity(meter, { ts: tsS });
    const res = await fetch(`${node.httpUrl}/v1/readings`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-api-key": keys.facility },
      body: JSON.stringify(e),
    });
    assert.equal(res.status, 201, await res.text());
    const id = node.storage.getReading(readingDigestHex(e.reading))!.batchId!;
    await waitFor(() => node.storage.getBatch(id)!.state === "pinned", { timeoutMs: 60_000, what: "batch pinned" });
    assert.ok(node.storage.transition(id, ["pinned"], "failed", { error: "transaction 0x01 reverted" }));
    return id;
  };

  test("retry and abandon need an admin key, a well-formed id and a failed batch, and say why not", async () => {
    const nowS = Math.floor(Date.now() / 1000);
    const id = await failedBatch(nowS - 3600);
    for (const op of ["retry", "abandon"]) {
      const none = await post(`/v1/admin/batches/${id}/${op}`);
      assert.equal(none.status, 401, op);
      const facility = await post(`/v1/admin/batches/${id}/${op}`, keys.facility);
      assert.equal(facility.status, 403, op);
      assert.match(((await facility.json()) as { message: string }).message, /needs a admin key/);
      for (const bad of ["abc", "0", "-1", "1.5", "1e3"]) {
        const r = await post(`/v1/admin/batches/${bad}/${op}`, keys.admin);
        assert.equal(r.status, 400, `${op} ${bad}`);
        const body = (await r.json()) as { error: string; message: string };
        assert.equal(body.error, "BAD_BATCH_ID");
        assert.match(body.message, new RegExp(`positive whole number .* \\(got "${bad.replace(".", "\\.")}"\\)`));
      }
      const unknown = await post(`/v1/admin/batches/987654/${op}`, keys.admin);
      assert.equal(unknown.status, 404, op);
      assert.deepEqual(await unknown.json(), {
        error: "UNKNOWN_BATCH",
        message: "no batch 987654: `carbonproof-oracle status` or GET /v1/batches?state=failed lists the failed ones",
        batch: 987654,
      });
    }
    assert.equal(node.storage.getBatch(id)!.state, "failed", "nothing refused changed the batch");
    assert.equal(node.storage.getBatch(id)!.abandonedAt, null);
    assert.equal(await (await post("/v1/admin/batches/retry-all")).status, 401);
    assert.equal(await (await post("/v1/admin/batches/retry-all", keys.facility)).status, 403);

    // a batch that is not failed: 409 with the CLI's words
    const retried = await post(`/v1/admin/batches/${id}/retry`, keys.admin);
    assert.equal(retried.status, 200);
    assert.deepEqual(await retried.json(), {
      batch: id,
      done: true,
      state: "pinned",
      readings: 1,
      corrections: [],
      abandonedAt: null,
    });
    for (const op of ["retry", "abandon"]) {
      const r = await post(`/v1/admin/batches/${id}/${op}`, keys.admin);
      assert.equal(r.status, 409, op);
      assert.deepEqual(await r.json(), {
        error: "NOT_FAILED",
        message: `batch ${id} is pinned: only a failed batch is ${op === "retry" ? "retried" : "abandoned"}`,
        batch: id,
      });
    }
  });

  test("abandon stops the batch holding (abandonedAt in /v1/batches), a second abandon is refused, and retry clears it", async () => {
    const nowS = Math.floor(Date.now() / 1000);
    const id = await failedBatch(nowS - 1800);
    assert.equal(await holding(), 1, "the failed batch holds its facility's later ones");

    const given = await post(`/v1/admin/batches/${id}/abandon`, keys.admin);
    assert.equal(given.status, 200);
    const out = (await given.json()) as { abandonedAt: number };
    assert.deepEqual(out, {
      batch: id,
      done: true,
      state: "failed",
      readings: 1,
      corrections: [],
      abandonedAt: out.abandonedAt,
    });
    assert.ok(Math.abs(out.abandonedAt - Date.now()) < 60_000);
    assert.equal(await holding(), 0, "an abandoned batch holds nothing back");
    const listed = (await (await fetch(`${node.httpUrl}/v1/batches?state=failed`)).json()) as {
      batches: { id: number; abandonedAt: number | null; error: string | null }[];
    };
    const view = listed.batches.find((b) => b.id === id)!;
    assert.equal(view.abandonedAt, out.abandonedAt);
    assert.equal(view.error, "transaction 0x01 reverted", "the reason it failed stays readable");

    const again = await post(`/v1/admin/batches/${id}/abandon`, keys.admin);
    assert.equal(again.status, 409);
    const refusal = (await again.json()) as { error: string; message: string };
    assert.equal(refusal.error, "ALREADY_ABANDONED");
    assert.match(refusal.message, new RegExp(`batch ${id} was abandoned at .* already: it holds nothing back`));

    // retry-all leaves an abandoned batch alone; retrying it by id takes it back
    const all = await post("/v1/admin/batches/retry-all", keys.admin);
    assert.equal(all.status, 200);
    assert.deepEqual(await all.json(), { retried: [], refused: [], notTried: [] });
    const back = await post(`/v1/admin/batches/${id}/retry`, keys.admin);
    assert.equal(back.status, 200);
    assert.equal(((await back.json()) as { abandonedAt: unknown }).abandonedAt, null);
    const b = node.storage.getBatch(id)!;
    assert.equal(b.state, "pinned");
    assert.equal(b.abandonedAt, null);
    assert.match(b.error!, /retried by the operator at .* \(was: transaction 0x01 reverted; abandoned at /);

    // failed again, beside another failed batch: retry-all with `ids` takes only those named
    assert.ok(node.storage.transition(id, ["pinned"], "failed", { error: "transaction 0x02 reverted" }));
    const other = await failedBatch(Math.floor(Date.now() / 1000) - 9 * 3600);
    type RetryAll = { retried: { batch: number; state: string }[]; refused: unknown[]; notTried: number[] };
    const named = await postJson("/v1/admin/batches/retry-all", keys.admin, { ids: [id], budgetMs: 5000 });
    assert.equal(named.status, 200);
    const body = (await named.json()) as RetryAll;
    assert.deepEqual(
      body.retried.map((r) => [r.batch, r.state]),
      [[id, "pinned"]],
    );
    assert.deepEqual([body.refused, body.notTried], [[], []]);
    assert.equal(node.storage.getBatch(other)!.state, "failed", "not named, not retried");
    // named again: retried already, so no longer what retry-all takes
    const stale = await postJson("/v1/admin/batches/retry-all", keys.admin, { ids: [id] });
    assert.deepEqual(await stale.json(), { retried: [], refused: [], notTried: [], skipped: [id] });
    // a body that is not what the route takes: 400, saying what, nothing retried (a mistyped field or
    // a body that is not JSON would otherwise be taken as no body: every failed batch)
    for (const bad of [
      { ids: [] },
      { ids: [0] },
      { budgetMs: 5 },
      { budgetMs: 600_001 },
      { Ids: [other] },
      "{",
      "0",
      "false",
      `[{"ids":[${other}]}]`,
    ]) {
      const res = await postJson("/v1/admin/batches/retry-all", keys.admin, bad, typeof bad === "string");
      assert.equal(res.status, 400, JSON.stringify(bad));
      assert.match(((await res.json()) as { message: string }).message, /body/, JSON.stringify(bad));
    }
    assert.match(
      (
        (await (await postJson("/v1/admin/batches/retry-all", keys.admin, { id: [other] })).json()) as {
          message: string;
        }
      ).message,
      /body\/id is not a field of retry-all: it takes ids and budgetMs/,
    );
    // the key is checked before the body
    assert.equal((await postJson("/v1/admin/batches/retry-all", "not-a-key", "{", true)).status, 401);
    assert.equal(node.storage.getBatch(other)!.state, "failed");
    // a JSON content type with nothing after it is no body: every failed batch
    const rest = await postJson("/v1/admin/batches/retry-all", keys.admin, "", true);
    assert.deepEqual(
      ((await rest.json()) as RetryAll).retried.map((r) => r.batch),
      [other],
    );
    assert.equal(await holding(), 0);
  });

  test("a batch put back to be taken as an attestation's record is counted in /v1/status and /metrics, and holds nothing back", async () => {
    const id = await failedBatch(Math.floor(Date.now() / 1000) - 12 * 3600);
    const gauge = async () => {
      const text = await (await fetch(`${node.httpUrl}/metrics`)).text();
      const m = /^carbonproof_oracle_batches_awaiting_adoption (\d+)$/m.exec(text);
      assert.ok(m, "/metrics has carbonproof_oracle_batches_awaiting_adoption");
      return Number(m[1]);
    };
    const status = async () =>
      (await (await fetch(`${node.httpUrl}/v1/status`)).json()) as { awaitingAdoption: number; holding: number };
    assert.deepEqual([await gauge(), (await status()).awaitingAdoption, (await status()).holding], [0, 0, 1]);
    // as `retry` does when the registry holds an attestation of exactly its period (no chain here:
    // the operator's registry search is in the test above, the whole path in restore-chain.test.ts)
    assert.equal(node.storage.retryFailedBatch(id, Date.now(), { adopt: true }).done, true);
    assert.deepEqual([await gauge(), (await status()).awaitingAdoption, (await status()).holding], [1, 1, 0]);
  });

  test("the routes are in the OpenAPI document with their parameters and answers", async () => {
    const doc = (await (await fetch(`${node.httpUrl}/docs/json`)).json()) as {
      paths: Record<string, Record<string, { responses: Record<string, unknown>; parameters?: { name: string }[] }>>;
    };
    for (const path of ["/v1/admin/batches/{id}/retry", "/v1/admin/batches/{id}/abandon"]) {
      const op = doc.paths[path]?.post;
      assert.ok(op, path);
      assert.deepEqual(
        Object.keys(op.responses).sort(),
        ["200", "400", "401", "403", "404", "409", ...(path.endsWith("retry") ? ["503"] : [])],
        path,
      );
      assert.deepEqual(
        op.parameters?.map((p) => p.name),
        ["id"],
      );
    }
    assert.ok(doc.paths["/v1/admin/batches/retry-all"]?.post?.responses["200"]);
  });
});

/**
 * retry-all over HTTP answers at its budget: a node whose registry is read from the slow endpoint
 * above (`chain.enabled` with its RPC URL; the pipeline given no chain, so its batch stops at
 * `pinned` and fails as a revert fails it).
 */
test("retry-all over HTTP answers at its budget, naming the batch whose search it cut short and what to do", async () => {
  const meter = makeDevice("admin-batch-meter-2");
  const nowS = Math.floor(Date.now() / 1000);
  const rpc = await slowRegistryRpc(nowS - 7200);
  const node = await testNode({
    devices: [deviceInfo(meter)],
    config: { chain: { enabled: true, rpcUrl: rpc.url, attestationRegistry: `0x${"55".repeat(20)}` } },
    parts: { chain: null },
  });
  try {
    const admin = createApiKey(node.storage, { scope: "admin", subject: "ops" }).key;
    const facility = createApiKey(node.storage, { scope: "facility", subject: meter.facilityId }).key;
    const e = electricity(meter, { ts: nowS - 3600 });
    const res = await fetch(`${node.httpUrl}/v1/readings`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-api-key": facility },
      body: JSON.stringify(e),
    });
    assert.equal(res.status, 201, await res.text());
    const id = node.storage.getReading(readingDigestHex(e.reading))!.batchId!;
    await waitFor(() => node.storage.getBatch(id)!.state === "pinned", { timeoutMs: 60_000, what: "batch pinned" });
    assert.ok(node.storage.transition(id, ["pinned"], "failed", { error: "transaction 0x03 reverted" }));
    const t0 = performance.now();
    const answer = await fetch(`${node.httpUrl}/v1/admin/batches/retry-all`, {
      method: "POST",
      headers: { "x-api-key": admin, "content-type": "application/json" },
      body: JSON.stringify({ budgetMs: 1000 }),
    });
    const tookMs = performance.now() - t0;
    assert.equal(answer.status, 200);
    const body = (await answer.json()) as Record<string, unknown>;
    assert.ok(tookMs < 2500, `answered at the budget, not after the 15 s search (${tookMs.toFixed(0)} ms)`);
    assert.deepEqual([body.retried, body.refused, body.notTried, body.cutShort], [[], [], [id], id]);
    assert.equal(
      body.next,
      `1 batch(es) were not tried within budgetMs (1000 ms), batch ${id}'s search of the registry's events cut short with nothing changed for it: POST again with {"ids": notTried} and a larger budgetMs (up to 300000) to go on with them, or run \`carbonproof-oracle retry --all\`, which has no time limit`,
    );
    assert.ok(
      rpc.calls.some((c) => c.method === "eth_getLogs"),
      "the registry's events were searched",
    );
    assert.deepEqual(
      [node.storage.getBatch(id)!.state, node.storage.getBatch(id)!.error],
      ["failed", "transaction 0x03 reverted"],
    );
  } finally {
    await node.close();
    await rpc.close();
  }
});
