import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import { createPublicClient, decodeFunctionData, encodeErrorResult, http, type Hex, type PublicClient } from "viem";
import { deviceRegistryAbi } from "../src/chain/abi.ts";
import { hardhat } from "viem/chains";
import { ChainDeviceDirectory } from "../src/devices/chain.ts";
import { quietLogger } from "./fixtures.ts";

/**
 * The DeviceRegistry directory (src/devices/chain.ts) and ids that break the id rules. Its client
 * is a real viem client over HTTP to a server that answers every JSON-RPC call with HTTP 503 and
 * records its method: it stands for an RPC node that is down, and shows which lookups reach it.
 * (Registered devices are looked up on a Hardhat node in chain.test.ts.)
 */
describe("ChainDeviceDirectory with an id that breaks the id rules", { timeout: 30_000 }, () => {
  let server: Server;
  let dir: ChainDeviceDirectory;
  const methods: string[] = [];
  before(async () => {
    server = createServer((req, res) => {
      let body = "";
      req.on("data", (d: Buffer) => (body += d.toString()));
      req.on("end", () => {
        const call = JSON.parse(body) as { method: string };
        methods.push(call.method);
        res.statusCode = 503;
        res.end("node unavailable");
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as { port: number };
    const client = createPublicClient({
      chain: hardhat,
      transport: http(`http://127.0.0.1:${port}`, { retryCount: 0 }),
    }) as PublicClient;
    dir = new ChainDeviceDirectory({
      client,
      address: "0x5FbDB2315678afecb367f032d93F642f64180aa3",
      ttlMs: 60_000,
      logger: quietLogger(),
      pollMs: 60_000,
    });
  });
  after(async () => {
    dir.close();
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections(); // viem's keep-alive connection
    await closed;
  });

  test("get and peek answer null (an unknown device) without asking the chain", async () => {
    // idToBytes32 throws INVALID_ID for these: the throw was taken as a storage failure (MQTT
    // message failed and resent forever, a heartbeat's connection closed, a co-signing 500)
    for (const id of ["Dev-A", "-dev", "", "a".repeat(33), "dev a", "dev/a"]) {
      assert.equal(await dir.get(id), null, JSON.stringify(id));
      assert.equal(dir.peek(id), null, JSON.stringify(id));
    }
    assert.equal(methods.filter((m) => m === "eth_call").length, 0);
    // a valid id is looked up on the chain (whose failure is not an answer)
    await assert.rejects(dir.get("kangaita-meter-1"));
    assert.equal(methods.filter((m) => m === "eth_call").length, 1);
  });
});

/**
 * An RPC node's internal error is not an unknown device. The server answers every `eth_call` with
 * JSON-RPC error -32603 (as a provider under load may), which viem reports as a revert without
 * data; it stands for that provider. (The registry's own `DeviceRegistryUnknownDevice` revert,
 * the one "unknown" answer, is read on a Hardhat node in chain.test.ts.)
 */
describe("ChainDeviceDirectory when the RPC node answers an internal error", { timeout: 30_000 }, () => {
  let server: Server;
  let dir: ChainDeviceDirectory;
  before(async () => {
    server = createServer((req, res) => {
      let body = "";
      req.on("data", (d: Buffer) => (body += d.toString()));
      req.on("end", () => {
        const call = JSON.parse(body) as { id: number; method: string };
        res.setHeader("content-type", "application/json");
        res.end(
          JSON.stringify(
            call.method === "eth_chainId"
              ? { jsonrpc: "2.0", id: call.id, result: "0x7a69" }
              : { jsonrpc: "2.0", id: call.id, error: { code: -32603, message: "Internal error" } },
          ),
        );
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as { port: number };
    dir = new ChainDeviceDirectory({
      client: createPublicClient({
        chain: hardhat,
        transport: http(`http://127.0.0.1:${port}`, { retryCount: 0 }),
      }) as PublicClient,
      address: "0x5FbDB2315678afecb367f032d93F642f64180aa3",
      ttlMs: 60_000,
      logger: quietLogger(),
      pollMs: 60_000,
    });
  });
  after(async () => {
    dir.close();
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
  });

  test("the lookup fails (the reading is resent) instead of answering an unknown device, and nothing is cached", async () => {
    await assert.rejects(dir.get("kangaita-meter-1"), /Internal error|reverted/);
    assert.equal(dir.peek("kangaita-meter-1"), undefined, "not known either way");
  });
});

/**
 * The directory keeps at most `maxEntries` devices and unknown ids, the oldest looked up going
 * first. The server answers each `getDevice` as the DeviceRegistry does for an id nobody
 * registered (reverted with DeviceRegistryUnknownDevice, which viem decodes from the ABI): it
 * stands for a registry where none of these ids are, which Hardhat would need 5 registrations to
 * show no better.
 */
describe("ChainDeviceDirectory's bound", { timeout: 30_000 }, () => {
  let server: Server;
  let calls = 0;
  let dir: ChainDeviceDirectory;
  before(async () => {
    server = createServer((req, res) => {
      let body = "";
      req.on("data", (d: Buffer) => (body += d.toString()));
      req.on("end", () => {
        const call = JSON.parse(body) as { id: number; method: string; params: [{ data: Hex }] };
        res.setHeader("content-type", "application/json");
        if (call.method !== "eth_call")
          return res.end(JSON.stringify({ jsonrpc: "2.0", id: call.id, result: "0x7a69" }));
        calls++;
        const { args } = decodeFunctionData({ abi: deviceRegistryAbi, data: call.params[0].data });
        const data = encodeErrorResult({
          abi: deviceRegistryAbi,
          errorName: "DeviceRegistryUnknownDevice",
          args: [args![0] as Hex],
        });
        res.end(
          JSON.stringify({ jsonrpc: "2.0", id: call.id, error: { code: 3, message: "execution reverted", data } }),
        );
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as { port: number };
    dir = new ChainDeviceDirectory({
      client: createPublicClient({
        chain: hardhat,
        transport: http(`http://127.0.0.1:${port}`, { retryCount: 0 }),
      }) as PublicClient,
      address: "0x5FbDB2315678afecb367f032d93F642f64180aa3",
      ttlMs: 60_000,
      logger: quietLogger(),
      pollMs: 60_000,
      maxEntries: 3,
    });
  });
  after(async () => {
    dir.close();
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
  });

  test("keeps the newest maxEntries answers; an id evicted is asked again", async () => {
    const ids = ["id-1", "id-2", "id-3", "id-4", "id-5"];
    for (const id of ids) assert.equal(await dir.get(id), null, `${id}: unknown to the registry`);
    assert.equal(calls, 5);
    assert.deepEqual(
      ids.map((id) => dir.peek(id)),
      [undefined, undefined, null, null, null],
      "the two oldest are gone",
    );
    assert.equal(await dir.get("id-4"), null);
    assert.equal(calls, 5, "a kept answer is not asked again");
    assert.equal(await dir.get("id-1"), null);
    assert.equal(calls, 6, "an evicted one is");
    assert.equal(dir.peek("id-3"), undefined, "and took the place of the oldest");
  });
});
