/**
 * A list's CSV export read whole, page by page by cursor, through the subgraph backend (the real
 * SubgraphIndexer) from the graph-node stand-in (subgraph/test/support/graph-node-standin.ts, which
 * stands for graph-node: it cannot run here), holding more transfers than graph-node's `skip`
 * reaches (it refuses skip > 5000 as graph-node does), with ties on the timestamp.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createIndexer, type ExplorerIndexer } from "@carbonproof/subgraph/client";
import { emptyStore, MAX_SKIP, put, startStandIn } from "../../../../subgraph/test/support/graph-node-standin.ts";
import { CSV_EXPORTS } from "./lists.ts";
import { csvExportStream, EXPORT_CHUNK } from "./exportStream.ts";

const schemaSdl = readFileSync(new URL("../../../../subgraph/schema.graphql", import.meta.url), "utf8");
const COUNT = MAX_SKIP + EXPORT_CHUNK + 123;
const hex = (n: number, bytes: number) => `0x${n.toString(16).padStart(bytes * 2, "0")}`;

let server: { url: string; close: () => Promise<void> };
let ix: ExplorerIndexer;
/** transfer ids as graph-node orders them: timestamp desc, then id desc */
let expected: string[];
/** the `skip` of every list request the stand-in was sent */
const skips: number[] = [];

before(async () => {
  const store = emptyStore();
  put(store, "Credit", {
    id: "1",
    tokenId: "1",
    project: "1",
    vintage: 2026,
    issuedKg: "0",
    retiredKg: "0",
    supplyKg: "0",
    retirementCount: 0,
    holderCount: 0,
    uri: null,
  });
  const rows: { id: string; timestamp: number }[] = [];
  for (let i = 0; i < COUNT; i++) {
    // 5 transfers a block (one timestamp), ids in another order than the blocks
    const row = { id: hex(((i * 7919) % COUNT) + 1, 32), timestamp: 2_000_000_000 - Math.floor(i / 5) };
    rows.push(row);
    put(store, "CreditTransfer", {
      id: row.id,
      credit: "1",
      kind: "Transfer",
      operator: hex(1, 20),
      from: hex(2, 20),
      to: hex(3, 20),
      amountKg: "1",
      timestamp: String(row.timestamp),
      blockNumber: String(1_000_000 - Math.floor(i / 5)),
      transactionHash: row.id,
    });
  }
  rows.sort((a, b) => b.timestamp - a.timestamp || (a.id < b.id ? 1 : -1));
  expected = rows.map((r) => r.id);
  server = await startStandIn(schemaSdl, store);
  ix = createIndexer({ backend: "subgraph", url: server.url, headers: {} }, undefined, async (input, init) => {
    const { variables } = JSON.parse(String(init?.body)) as { variables: { skip?: number } };
    skips.push(variables.skip ?? 0);
    return fetch(input, init);
  });
});

after(async () => {
  await server.close();
});

async function exportAll(maxRows?: number) {
  const spec = CSV_EXPORTS.transfers;
  const query = new URLSearchParams();
  const first = await spec.page(ix, query, { first: EXPORT_CHUNK });
  const errors: unknown[] = [];
  const stream = csvExportStream({
    header: spec.header(),
    first,
    read: (page) => spec.page(ix, query, page),
    maxRows,
    onError: (e) => errors.push(e),
  });
  const text = await new Response(stream).text();
  return { lines: text.split("\r\n").filter((l) => l.length > 0), errors };
}

test("an export through the subgraph reaches past graph-node's skip limit by cursor: every row once, in order", async () => {
  skips.length = 0;
  const { lines, errors } = await exportAll();
  assert.deepEqual(errors, []);
  assert.equal(lines[0], CSV_EXPORTS.transfers.header().trim());
  assert.ok(!lines.some((l) => l.startsWith("#")), "no truncation line");
  assert.deepEqual(
    lines.slice(1).map((l) => l.split(",")[0]),
    expected,
  );
  assert.equal(skips.length, Math.ceil(COUNT / EXPORT_CHUNK));
  assert.ok(
    skips.every((s) => s === 0),
    "pages by cursor, never by skip",
  );
});

test("an export stops at its row cap and says so in its last line", async () => {
  const { lines, errors } = await exportAll(1_200);
  assert.deepEqual(errors, []);
  assert.equal(lines.length, 1 + 1_200 + 1);
  assert.equal(lines.at(-1), "# truncated after 1200 rows: narrow the filters");
  assert.deepEqual(
    lines.slice(1, -1).map((l) => l.split(",")[0]),
    expected.slice(0, 1_200),
  );
});
