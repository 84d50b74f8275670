/**
 * A list's CSV export read whole, page by page, through the subgraph backend (the real
 * SubgraphIndexer) from a loopback HTTP server that answers the transfers query as graph-node does
 * for a subgraph holding `total` transfers (graph-node cannot run here; it stands for one).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import { createIndexer, SUBGRAPH_MAX_SKIP } from "@carbonproof/subgraph/client";
import { CSV_EXPORTS } from "./lists.ts";
import { csvExportStream, EXPORT_CHUNK, EXPORT_MAX_ROWS, exportReach } from "./exportStream.ts";

const hex = (n: number, bytes: number) => `0x${n.toString(16).padStart(bytes * 2, "0")}`;

/** graph-node's answer to the transfers query for `total` transfers, newest first; it refuses skip > 5000 as graph-node does. */
async function graphNode(
  total: number,
): Promise<{ server: Server; url: string; asked: { first: number; skip: number }[] }> {
  const asked: { first: number; skip: number }[] = [];
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => {
      const { variables } = JSON.parse(body) as { variables: { first: number; skip: number } };
      asked.push({ first: variables.first, skip: variables.skip });
      res.setHeader("content-type", "application/json");
      if (variables.skip > 5000) {
        res.end(JSON.stringify({ errors: [{ message: "The `skip` argument must be between 0 and 5000" }] }));
        return;
      }
      const rows = [];
      for (let i = variables.skip; i < Math.min(total, variables.skip + variables.first); i++)
        rows.push({
          id: hex(i + 1, 32),
          credit: { tokenId: "1" },
          kind: "Transfer",
          operator: hex(1, 20),
          from: hex(2, 20),
          to: hex(3, 20),
          amountKg: "1",
          timestamp: String(2_000_000_000 - i),
          blockNumber: String(1_000_000 - i),
          transactionHash: hex(i + 1, 32),
        });
      res.end(JSON.stringify({ data: { creditTransfers: rows } }));
    });
  });
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  return { server, url: `http://127.0.0.1:${(server.address() as { port: number }).port}/`, asked };
}

async function exportAll(total: number) {
  const node = await graphNode(total);
  try {
    const ix = createIndexer({ backend: "subgraph", url: node.url, headers: {} });
    const spec = CSV_EXPORTS.transfers;
    const query = new URLSearchParams();
    const first = await spec.page(ix, query, { first: EXPORT_CHUNK, skip: 0 });
    const errors: unknown[] = [];
    const stream = csvExportStream({
      header: spec.header(),
      first,
      read: (page) => spec.page(ix, query, page),
      ...exportReach(ix),
      onError: (e) => errors.push(e),
    });
    const text = await new Response(stream).text();
    const lines = text.split("\r\n").filter((l) => l.length > 0);
    return { lines, errors, asked: node.asked };
  } finally {
    await new Promise((ok) => node.server.close(ok));
  }
}

test("an export through the subgraph stops at the depth graph-node pages to, saying so, instead of failing mid-download", async () => {
  const reach = SUBGRAPH_MAX_SKIP + EXPORT_CHUNK;
  const { lines, errors, asked } = await exportAll(reach + 1_500);
  assert.deepEqual(errors, []);
  assert.equal(lines.length, 1 + reach + 1, "header, every row graph-node can page to, the truncation line");
  assert.equal(
    lines.at(-1),
    `# truncated after ${reach} rows: the subgraph pages no deeper than ${reach} rows of a list: narrow the filters`,
  );
  assert.ok(
    asked.every((p) => p.skip <= SUBGRAPH_MAX_SKIP && p.first <= EXPORT_CHUNK),
    JSON.stringify(asked),
  );
  // each row once, in order
  const ids = lines.slice(1, -1).map((l) => l.split(",")[0]);
  assert.equal(new Set(ids).size, reach);
});

test("a list within the reach is exported whole, ending on its short page without a truncation line", async () => {
  const { lines, errors, asked } = await exportAll(1_234);
  assert.deepEqual(errors, []);
  assert.equal(lines.length, 1 + 1_234);
  assert.ok(!lines.some((l) => l.startsWith("#")));
  assert.deepEqual(
    asked.map((p) => p.skip),
    [0, 500, 1000],
  );
});

test("the embedded backend reaches EXPORT_MAX_ROWS", () => {
  assert.deepEqual(exportReach({ backend: "embedded" }), { maxRows: EXPORT_MAX_ROWS, why: "narrow the filters" });
});
