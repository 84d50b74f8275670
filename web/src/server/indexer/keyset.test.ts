/**
 * The embedded indexer's lists read by cursor (keyset) on a real SQLite store: thousands of
 * transfers with ties on the block (several logs, and several transfers of one batch log) and
 * facilities with equal emissions (ordered by id), walked page by page in both directions.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { IndexerError, type Hex, type ListName, type Lists } from "@carbonproof/subgraph/client";
import { EmbeddedIndexer } from "./embedded.ts";
import { openStore, type Store } from "./store.ts";

const TRANSFERS = 2_345;
const FACILITIES = 230;
const hex = (n: number, bytes: number) => `0x${n.toString(16).padStart(bytes * 2, "0")}` as Hex;
const account = hex(0xacc, 20);

let dir: string;
let db: Store;
let ix: EmbeddedIndexer;
/** transfer ids newest first: block desc, log desc, sub-index desc */
let transfers: string[];
let transfersOfAccount: string[];
/** facility ids by fossil grams desc, then id asc */
let facilities: string[];

before(() => {
  dir = mkdtempSync(join(tmpdir(), "carbonproof-indexer-keyset-"));
  db = openStore(join(dir, "indexer.sqlite"));
  const rows: { id: string; block: number; log: number; sub: number; to: string }[] = [];
  const insert = db.prepare(
    `INSERT INTO transfers (id, credit, kind, operator, from_address, to_address, amount_kg, timestamp, block_number,
       log_index, sub_index, tx_hash) VALUES (?, 65538, 'Transfer', ?, ?, ?, 1, ?, ?, ?, ?, ?)`,
  );
  db.exec("BEGIN");
  for (let i = 0; i < TRANSFERS; i++) {
    // 3 logs a block, the second a batch of 2: ties on the block, and on block and log
    const block = Math.floor(i / 4);
    const log = [0, 1, 1, 2][i % 4]!;
    const sub = i % 4 === 2 ? 1 : 0;
    const row = { id: hex(((i * 7919) % TRANSFERS) + 1, 32), block, log, sub, to: i % 3 ? hex(0xb0b, 20) : account };
    rows.push(row);
    insert.run(row.id, hex(1, 20), hex(2, 20), row.to, 1_700_000_000 + block, block, log, sub, row.id);
  }
  const facility = db.prepare("INSERT INTO facilities (id, code, fossil_g, first_seen_at) VALUES (?, NULL, ?, 0)");
  const facilityRows: { id: string; fossil: number }[] = [];
  for (let i = 0; i < FACILITIES; i++) {
    const row = { id: hex(((i * 37) % FACILITIES) + 1, 32), fossil: 1000 * (i % 5) };
    facilityRows.push(row);
    facility.run(row.id, row.fossil);
  }
  db.exec("COMMIT");
  rows.sort((a, b) => b.block - a.block || b.log - a.log || b.sub - a.sub);
  transfers = rows.map((r) => r.id);
  transfersOfAccount = rows.filter((r) => r.to === account).map((r) => r.id);
  facilityRows.sort((a, b) => b.fossil - a.fossil || (a.id < b.id ? -1 : 1));
  facilities = facilityRows.map((r) => r.id);
  ix = new EmbeddedIndexer(db);
});

after(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Every page of list `name` from the top by `next`, or from the last page back by `previous`. */
async function walk<K extends ListName>(
  name: K,
  filter: Lists[K]["filter"],
  first: number,
  from: "top" | "bottom",
  id: (row: Lists[K]["row"]) => string,
): Promise<string[][]> {
  const pages: string[][] = [];
  let p = await ix.list(name, filter, { first });
  if (from === "top") {
    pages.push(p.rows.map(id));
    while (p.next) {
      p = await ix.list(name, filter, { first, after: p.next });
      pages.push(p.rows.map(id));
    }
    return pages;
  }
  while (p.next) p = await ix.list(name, filter, { first, after: p.next });
  pages.push(p.rows.map(id));
  while (p.previous) {
    p = await ix.list(name, filter, { first, before: p.previous });
    pages.unshift(p.rows.map(id));
  }
  return pages;
}

test("transfers by cursor: ties on block and log ordered by sub-index, every row once, both directions", async () => {
  const down = await walk("transfers", {}, 100, "top", (t) => t.id);
  assert.equal(down.length, Math.ceil(TRANSFERS / 100));
  assert.deepEqual(down.flat(), transfers);
  assert.deepEqual((await walk("transfers", {}, 333, "bottom", (t) => t.id)).flat(), transfers);
});

test("transfers of an account by cursor (the UNION of both sides), every row once", async () => {
  assert.deepEqual((await walk("transfers", { account }, 97, "top", (t) => t.id)).flat(), transfersOfAccount);
  assert.deepEqual((await walk("transfers", { account }, 97, "bottom", (t) => t.id)).flat(), transfersOfAccount);
});

test("facilities by cursor: equal emissions ordered by id, a descending and an ascending column in one key", async () => {
  assert.deepEqual((await walk("facilities", {}, 17, "top", (f) => f.id)).flat(), facilities);
  assert.deepEqual((await walk("facilities", {}, 17, "bottom", (f) => f.id)).flat(), facilities);
});

test("a cursor gives the page skip would; a cursor of another list or none at all is refused", async () => {
  const top = await ix.list("transfers", {}, { first: 50 });
  assert.equal(top.previous, null);
  const second = await ix.list("transfers", {}, { first: 50, after: top.next! });
  assert.deepEqual(second.rows, await ix.transfers({}, { first: 50, skip: 50 }));
  await assert.rejects(
    ix.list("transfers", {}, { first: 50, after: "bm90IGEgY3Vyc29y" }),
    (e: unknown) => e instanceof IndexerError && e.code === "INDEXER_ARGUMENT_INVALID",
  );
  await assert.rejects(
    ix.list("facilities", {}, { first: 50, after: top.next! }),
    (e: unknown) => e instanceof IndexerError && e.code === "INDEXER_ARGUMENT_INVALID",
    "a transfers cursor (3 values) is not a facilities cursor (2)",
  );
});
