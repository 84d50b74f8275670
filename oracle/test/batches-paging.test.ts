import { test, after, before, describe } from "node:test";
import assert from "node:assert/strict";
import type { SqlDriver } from "../src/storage/sql-storage.ts";
import { testNode } from "./fixtures.ts";

/**
 * GET /v1/batches a page at a time: a listing capped at 1,000 left later batches unseen (the
 * ingest benchmark counted their readings as unconfirmed). The order is period start, then id, so
 * the cursor carries both: ids here are out of period order, periods tie across facilities and
 * with a correction. Real node and HTTP server, real SQLite (PostgreSQL with ORACLE_TEST_STORAGE).
 */
describe("GET /v1/batches pages with `after` and `next`", { timeout: 120_000 }, () => {
  let node: Awaited<ReturnType<typeof testNode>>;
  type Row = { id: number; facilityId: string; periodStart: number; state: "confirmed" | "failed" };
  const rows: Row[] = [];

  before(async () => {
    node = await testNode();
    const sql = (node.storage as unknown as { sql: SqlDriver }).sql;
    // [facility, period start, correction of the n-th row inserted, state], inserted in this order
    const plan: [string, number, number | null, Row["state"]][] = [
      ["paging-a", 600, null, "confirmed"],
      ["paging-b", 0, null, "confirmed"],
      ["paging-a", 0, null, "confirmed"],
      ["paging-a", 1200, null, "confirmed"],
      ["paging-a", 600, 0, "confirmed"],
      ["paging-b", 600, null, "confirmed"],
      ["paging-a", 1800, null, "failed"],
      ["paging-b", 1200, null, "confirmed"],
    ];
    sql.tx(() => {
      for (const [facilityId, periodStart, correctionOf, state] of plan) {
        const correction = correctionOf === null ? null : rows[correctionOf]!.id;
        const r = sql.get(
          `INSERT INTO batches (facility_id, period_start, period_end, correction_of_batch, state, reading_count, created_at_ms, updated_at_ms)
           VALUES (?, ?, ?, ?, ?, 0, 0, 0) RETURNING id`,
          [facilityId, periodStart, periodStart + 600, correction, state],
        );
        rows.push({ id: Number(r!.id), facilityId, periodStart, state });
      }
    });
  });
  after(() => node?.close());

  type Page = { batches: { id: number; periodStart: number }[]; next: string | null };
  /** Every page of `query` from the first, `limit` at a time, following `next` until null. */
  const walk = async (query: string, limit: number): Promise<Page[]> => {
    const pages: Page[] = [];
    let cursor: string | null = null;
    do {
      // `after` ignored would give the first page for ever
      assert.ok(pages.length <= rows.length, `more pages than batches: next stays ${cursor}`);
      const url: string = `${node.httpUrl}/v1/batches?${query}&limit=${limit}${cursor === null ? "" : `&after=${encodeURIComponent(cursor)}`}`;
      const res = await fetch(url);
      assert.equal(res.status, 200, `${url}: ${await res.clone().text()}`);
      const page = (await res.json()) as Page;
      pages.push(page);
      cursor = page.next;
    } while (cursor !== null);
    return pages;
  };
  const inOrder = (keep: (r: Row) => boolean) =>
    rows
      .filter(keep)
      .sort((a, b) => a.periodStart - b.periodStart || a.id - b.id)
      .map((r) => r.id);

  test("walking the pages lists every batch exactly once, in period order then id, and the last next is null", async () => {
    const expected = inOrder((r) => r.state === "confirmed");
    assert.equal(expected.length, 7);
    // the ids are not in period order: a cursor of the id alone would skip or repeat batches
    assert.notDeepEqual(
      expected,
      [...expected].sort((a, b) => a - b),
    );
    const pages = await walk("state=confirmed", 2);
    assert.deepEqual(
      pages.map((p) => p.batches.length),
      [2, 2, 2, 1],
    );
    assert.deepEqual(
      pages.flatMap((p) => p.batches.map((b) => b.id)),
      expected,
    );
    for (const p of pages.slice(0, -1)) {
      const last = p.batches[p.batches.length - 1]!;
      assert.equal(p.next, `${last.periodStart}:${last.id}`, "a full page's next is its last batch's place");
    }
    assert.equal(pages[pages.length - 1]!.next, null);
  });

  test("a walk whose last page is full ends with an empty page whose next is null", async () => {
    const expected = inOrder((r) => r.facilityId === "paging-a" && r.state === "confirmed");
    assert.equal(expected.length, 4);
    const pages = await walk("state=confirmed&facilityId=paging-a", 2);
    assert.deepEqual(
      pages.map((p) => p.batches.length),
      [2, 2, 0],
    );
    assert.deepEqual(
      pages.flatMap((p) => p.batches.map((b) => b.id)),
      expected,
    );
    assert.equal(pages[2]!.next, null);
    // and with no filter, one batch a page
    const all = await walk("", 1);
    assert.deepEqual(
      all.flatMap((p) => p.batches.map((b) => b.id)),
      inOrder(() => true),
    );
  });

  test("a bad after is 400 BAD_CURSOR saying what a cursor looks like", async () => {
    for (const bad of [
      "abc",
      "42",
      "",
      "600:0",
      "-1:2",
      "01:2",
      "600:2:3",
      "1.5:2",
      "99999999999999999:1",
      "9999999999999999:1", // 16 digits that pass the pattern, past 2^53
      "600:9999999999999999",
    ]) {
      const res = await fetch(`${node.httpUrl}/v1/batches?limit=2&after=${encodeURIComponent(bad)}`);
      const body = (await res.json()) as { error: string; message: string };
      assert.equal(res.status, 400, `after=${bad}: ${JSON.stringify(body)}`);
      assert.equal(body.error, "BAD_CURSOR", `after=${bad}`);
      assert.match(body.message, /<periodStart>:<id>/);
      assert.ok(body.message.includes(`(got "${bad}")`), body.message);
    }
    const twice = await fetch(`${node.httpUrl}/v1/batches?after=0:1&after=0:2`);
    assert.equal(twice.status, 400);
    assert.equal(((await twice.json()) as { error: string }).error, "BAD_CURSOR");
    // another bad parameter answers as before, with or without a good `after`
    const badLimit = await fetch(`${node.httpUrl}/v1/batches?limit=0&after=0:1`);
    assert.equal(badLimit.status, 400);
    assert.deepEqual(await badLimit.json(), {
      error: "FST_ERR_VALIDATION",
      message: "querystring/limit must be >= 1",
    });
  });
});
