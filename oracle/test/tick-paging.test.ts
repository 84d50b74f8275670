import { test, after, before, describe } from "node:test";
import assert from "node:assert/strict";
import { readingDigestHex } from "../../sdk/src/index.ts";
import { createApiKey } from "../src/api/keys.ts";
import type { SqlDriver } from "../src/storage/sql-storage.ts";
import { deviceInfo, flueGas, makeDevice, testNode } from "./fixtures.ts";
import { waitFor } from "./helpers.ts";

/**
 * The pipeline reads every unfinished batch each tick, however many there are. Batches held back
 * by a failed one of their facility (nobody ran `retry` or `abandon`) pile up, one a window: a
 * single read capped at 10,000 rows, oldest period first, then never reached a healthy
 * facility's later batch, which stayed `sealed` for good (review: one held facility stopped all).
 * Real node (no chain: a `pinned` batch waits there), real SQLite, real Helia.
 */
describe("a tick reaches past any number of held batches", { timeout: 300_000 }, () => {
  const meter = makeDevice("paging-chimney-1", "paging-healthy");
  let node: Awaited<ReturnType<typeof testNode>>;
  const HELD = 10_050;

  before(async () => {
    node = await testNode({
      devices: [deviceInfo(meter)],
      config: { batching: { windowS: 2, graceS: 1, tickMs: 100 } },
    });
  });
  after(() => node?.close());

  test(`a healthy facility's batch is pinned behind ${HELD} unfinished batches of another, of earlier periods`, async () => {
    // another facility's batches, waiting in `pinned` (here: no chain to sign with), all before now
    const sql = (node.storage as unknown as { sql: SqlDriver }).sql;
    sql.tx(() => {
      for (let i = 0; i < HELD; i++)
        sql.run(
          `INSERT INTO batches (facility_id, period_start, period_end, correction_of_batch, state, reading_count, created_at_ms, updated_at_ms)
           VALUES ('paging-held', ?, ?, NULL, 'pinned', 1, 0, 0)`,
          [1_000_000 + i * 60, 1_000_000 + (i + 1) * 60],
        );
    });
    assert.equal(node.storage.listBatches({ states: ["pinned"], limit: HELD + 1 }).length, HELD);

    const key = createApiKey(node.storage, { scope: "device", subject: meter.deviceId }).key;
    const env = flueGas(meter);
    const res = await fetch(`${node.httpUrl}/v1/readings`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-api-key": key },
      body: JSON.stringify(env),
    });
    assert.equal(res.status, 201, await res.clone().text());
    const batchId = node.storage.getReading(readingDigestHex(env.reading))!.batchId!;
    const pinned = await waitFor(
      () => {
        const b = node.storage.getBatch(batchId)!;
        return b.state === "pinned" ? b : null;
      },
      { timeoutMs: 30_000, intervalMs: 100, what: `batch ${batchId} pinned` },
    ).catch((err: Error) => {
      throw new Error(`${err.message}: it is ${node.storage.getBatch(batchId)?.state}`, { cause: err });
    });
    assert.ok(pinned.bundleCid, "pinned with its bundle");
  });
});
