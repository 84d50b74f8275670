/**
 * The ranged reader against a stand-in for an RPC node (a viem custom transport answering
 * eth_blockNumber and eth_getLogs; it stands for a hosted provider that caps eth_getLogs ranges,
 * which no local node does). On a real chain: verify/lineage.test.ts and the web's credit page test.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { createPublicClient, custom, encodeAbiParameters, encodeEventTopics, type Hex, type PublicClient } from "viem";
import { idToBytes32 } from "../ids.ts";
import { carbonCreditsAbi, deviceRegistryAbi } from "../verify/abi.ts";
import { limiter } from "../verify/cache.ts";
import { EventRangeError } from "./eventRangeError.ts";
import { readContractEvents } from "./readContractEvents.ts";

const CREDITS = "0x5FbDB2315678afecb367f032d93F642f64180aa3";

function node(head: bigint, maxRange?: bigint) {
  const asked: [bigint, bigint][] = [];
  const client = createPublicClient({
    transport: custom(
      {
        async request({ method, params }: { method: string; params?: unknown }) {
          if (method === "eth_blockNumber") return `0x${head.toString(16)}`;
          if (method !== "eth_getLogs") throw new Error(`unexpected ${method}`);
          const f = (params as [{ fromBlock: Hex; toBlock: Hex }])[0];
          const range: [bigint, bigint] = [BigInt(f.fromBlock), BigInt(f.toBlock)];
          asked.push(range);
          if (maxRange !== undefined && range[1] - range[0] + 1n > maxRange)
            throw Object.assign(new Error(`query exceeds max block range ${maxRange}`), { code: -32005 });
          return [];
        },
      },
      { retryCount: 0 },
    ),
  }) as PublicClient;
  return { client, asked };
}

test("readContractEvents asks from fromBlock to the head in ranges of rangeBlocks, nothing before fromBlock", async () => {
  const { client, asked } = node(20n);
  const events = await readContractEvents(client, {
    address: CREDITS,
    abi: carbonCreditsAbi,
    eventName: "CreditsIssued",
    fromBlock: 10n,
    rangeBlocks: 3n,
  });
  assert.deepEqual(events, []);
  assert.deepEqual(
    asked.sort((a, b) => (a[0] < b[0] ? -1 : 1)),
    [
      [10n, 12n],
      [13n, 15n],
      [16n, 18n],
      [19n, 20n],
    ],
  );
});

test("a refused range rejects with EventRangeError naming the range and the caller's settings; later ranges are not sent", async () => {
  const { client, asked } = node(40n, 3n);
  const read = (settings?: { range: string; start: string }) =>
    readContractEvents(client, {
      address: CREDITS,
      abi: carbonCreditsAbi,
      eventName: "CreditsIssued",
      fromBlock: 10n,
      rangeBlocks: 5n,
      slot: limiter(1),
      ...(settings ? { settings } : {}),
    });
  await assert.rejects(read({ range: "--log-range", start: "--from-block" }), (e: unknown) => {
    assert.ok(e instanceof EventRangeError, String(e));
    assert.equal(e.code, "EVENT_RANGE_FAILED");
    assert.equal(e.fromBlock, 10n);
    assert.equal(e.toBlock, 14n);
    assert.match(e.message, /CreditsIssued \(0x5FbDB.*\) event query over blocks 10–14 \(5 blocks\)/);
    assert.match(e.message, /query exceeds max block range 3/);
    assert.match(e.message, /set --log-range below 5; reads start at block 10, the deployment's \(--from-block\)/);
    return true;
  });
  assert.equal(asked.length, 1, "no range sent after one was refused");
  await assert.rejects(read(), /set the logRangeBlocks option below 5.*\n\nDocs: docs\/sdk\.md/s);
});

test("several events read together: one eth_getLogs a range, topic 0 any of theirs and the indexed args after it, decoded", async () => {
  const id = idToBytes32("kangaita-chimney-1");
  const asked: { topics: unknown[]; fromBlock: Hex; toBlock: Hex }[] = [];
  const suspended = encodeEventTopics({ abi: deviceRegistryAbi, eventName: "DeviceSuspended", args: { id } });
  const client = createPublicClient({
    transport: custom(
      {
        async request({ method, params }: { method: string; params?: unknown }) {
          if (method !== "eth_getLogs") throw new Error(`unexpected ${method}`);
          const q = (params as [{ topics: unknown[]; fromBlock: Hex; toBlock: Hex }])[0];
          asked.push(q);
          if (q.fromBlock !== "0x5") return [];
          return [
            {
              address: CREDITS,
              topics: suspended,
              data: encodeAbiParameters([{ type: "string" }], ["leak"]),
              blockNumber: "0x6",
              blockHash: `0x${"06".repeat(32)}`,
              transactionHash: `0x${"06".repeat(32)}`,
              transactionIndex: "0x0",
              logIndex: "0x0",
              removed: false,
            },
          ];
        },
      },
      { retryCount: 0 },
    ),
  }) as PublicClient;
  const names = ["DeviceSuspended", "DeviceReactivated", "DeviceRetired"] as const;
  const logs = await readContractEvents(client, {
    address: CREDITS,
    abi: deviceRegistryAbi,
    eventName: names,
    args: { id },
    fromBlock: 1n,
    toBlock: 8n,
    rangeBlocks: 4n,
  });
  const selectors = names.map((eventName) => encodeEventTopics({ abi: deviceRegistryAbi, eventName })[0]);
  assert.deepEqual(asked.map((q) => [q.fromBlock, q.toBlock, q.topics]).sort(), [
    ["0x1", "0x4", [selectors, id]],
    ["0x5", "0x8", [selectors, id]],
  ]);
  assert.deepEqual(
    logs.map((l) => [l.eventName, l.blockNumber, l.args]),
    [["DeviceSuspended", 6n, { id, reason: "leak" }]],
  );
  // DeviceRegistered's second indexed parameter may be anything; a filter on it the others lack is refused
  await readContractEvents(client, {
    address: CREDITS,
    abi: deviceRegistryAbi,
    eventName: ["DeviceRegistered", "DeviceSuspended"],
    args: { id },
    fromBlock: 1n,
    toBlock: 1n,
  });
  await assert.rejects(
    readContractEvents(client, {
      address: CREDITS,
      abi: deviceRegistryAbi,
      eventName: ["DeviceRegistered", "DeviceSuspended"],
      args: { id, facilityId: id },
      fromBlock: 1n,
      toBlock: 1n,
    }),
    /cannot be read together/,
  );
});
