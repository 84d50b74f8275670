/**
 * lookUpPastedId over a loopback HTTP server answering JSON-RPC as a node would (it stands for
 * the node CARBONPROOF_RPC_URL names): the registry's events are read from CARBONPROOF_START_BLOCK
 * in ranges of CARBONPROOF_LOG_RANGE_BLOCKS, and a node that fails is a sentence, not a rejection.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { createPublicClient, http, type PublicClient } from "viem";
import { lookUpPastedId } from "./pastedId.ts";

const DIGEST = `0x${"cd".repeat(32)}`;
const REGISTRY = "0x00000000000000000000000000000000000000a7";
const HEAD = 100;

type Rpc = { method: string; params: unknown[]; id: number; jsonrpc: string };

/** A node at head block 100 with no logs; `failLogs` answers eth_getLogs with HTTP 503. */
async function node(failLogs: boolean) {
  const ranges: [number, number][] = [];
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => {
      const calls = JSON.parse(body) as Rpc | Rpc[];
      const batch = Array.isArray(calls) ? calls : [calls];
      if (failLogs && batch.some((c) => c.method === "eth_getLogs")) {
        res.writeHead(503).end("unavailable");
        return;
      }
      const answers = batch.map((c) => {
        if (c.method === "eth_getLogs") {
          const f = c.params[0] as { fromBlock: string; toBlock: string };
          ranges.push([Number(f.fromBlock), Number(f.toBlock)]);
        }
        const result =
          c.method === "eth_blockNumber" ? `0x${HEAD.toString(16)}` : c.method === "eth_chainId" ? "0x7a69" : [];
        return { jsonrpc: "2.0", id: c.id, result };
      });
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify(Array.isArray(calls) ? answers : answers[0]));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const client = createPublicClient({ transport: http(`http://127.0.0.1:${port}`, { retryCount: 0 }) });
  return { client: client as PublicClient, ranges, close: () => new Promise((r) => server.close(r)) };
}

test("a pasted bytes32 is looked up from CARBONPROOF_START_BLOCK in CARBONPROOF_LOG_RANGE_BLOCKS ranges", async () => {
  const n = await node(false);
  try {
    const found = await lookUpPastedId(` ${DIGEST} `, {
      client: n.client,
      registry: REGISTRY,
      runtime: { startBlock: 40, logRangeBlocks: 25 },
    });
    assert.deepEqual(found, { kind: "reading", id: DIGEST, target: { readingDigest: DIGEST } });
    assert.deepEqual(
      n.ranges.sort((a, b) => a[0] - b[0]),
      [
        [40, 64],
        [65, 89],
        [90, 100],
      ],
    );
  } finally {
    await n.close();
  }
});

test("a node that fails the lookup is a sentence for the page's problem alert, not a rejection", async () => {
  const n = await node(true);
  try {
    const found = await lookUpPastedId(DIGEST, {
      client: n.client,
      registry: REGISTRY,
      runtime: { startBlock: 0 },
    });
    assert.equal(typeof found, "string");
    assert.match(found as string, /^Could not look “0xcdcd[0-9a-f]{60}” up on the chain: /);
    // the range refused, and the dApp's own setting to lower (walkEventOptions' names, not the CLI's)
    assert.match(found as string, /query over blocks 0–100 .*set CARBONPROOF_LOG_RANGE_BLOCKS/);
  } finally {
    await n.close();
  }
});
