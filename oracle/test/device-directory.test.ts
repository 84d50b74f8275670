import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { createPublicClient, decodeFunctionData, encodeErrorResult, http, type Hex, type PublicClient } from "viem";
import { hardhat } from "viem/chains";
import { deviceRegistryAbi } from "../src/chain/abi.ts";
import { ChainDeviceDirectory } from "../src/devices/chain.ts";
import { quietLogger } from "./fixtures.ts";

type RpcCall = { id: number; method: string; params: unknown[] };

/**
 * The DeviceRegistry directory (src/devices/chain.ts) with a real viem client over HTTP to a
 * loopback server that answers each JSON-RPC call with `answer(call)`: an HTTP status and body.
 * Each describe below says which RPC node its answers stand for. (Registered devices, and the
 * registry's own revert for an unknown one, are read on a Hardhat node in chain.test.ts.)
 */
function directoryOver(answer: (call: RpcCall) => { status?: number; body: unknown }, maxEntries?: number) {
  const calls: RpcCall[] = [];
  const server = createServer((req, res) => {
    let text = "";
    req.on("data", (d: Buffer) => (text += d.toString()));
    req.on("end", () => {
      const call = JSON.parse(text) as RpcCall;
      calls.push(call);
      const { status = 200, body } = answer(call);
      res.statusCode = status;
      if (typeof body !== "string") res.setHeader("content-type", "application/json");
      res.end(typeof body === "string" ? body : JSON.stringify(body));
    });
  });
  let dir: ChainDeviceDirectory | null = null;
  return {
    calls,
    get dir(): ChainDeviceDirectory {
      return dir!;
    },
    async start() {
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
        maxEntries,
      });
    },
    async stop() {
      dir?.close();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections(); // viem's keep-alive connection
      await closed;
    },
  };
}

const result = (call: RpcCall, value: unknown) => ({ body: { jsonrpc: "2.0", id: call.id, result: value } });

/** Every call answered HTTP 503: an RPC node that is down, showing which lookups reach it. */
describe("ChainDeviceDirectory with an id that breaks the id rules", { timeout: 30_000 }, () => {
  const rpc = directoryOver(() => ({ status: 503, body: "node unavailable" }));
  before(() => rpc.start());
  after(() => rpc.stop());

  test("get and peek answer null (an unknown device) without asking the chain", async () => {
    // idToBytes32 throws INVALID_ID for these: the throw was taken as a storage failure (MQTT
    // message failed and resent forever, a heartbeat's connection closed, a co-signing 500)
    for (const id of ["Dev-A", "-dev", "", "a".repeat(33), "dev a", "dev/a"]) {
      assert.equal(await rpc.dir.get(id), null, JSON.stringify(id));
      assert.equal(rpc.dir.peek(id), null, JSON.stringify(id));
    }
    const ethCalls = () => rpc.calls.filter((c) => c.method === "eth_call").length;
    assert.equal(ethCalls(), 0);
    // a valid id is looked up on the chain (whose failure is not an answer)
    await assert.rejects(rpc.dir.get("kangaita-meter-1"));
    assert.equal(ethCalls(), 1);
  });
});

/**
 * Every `eth_call` answered JSON-RPC error -32603, as a provider under load may; viem reports it
 * as a revert without data.
 */
describe("ChainDeviceDirectory when the RPC node answers an internal error", { timeout: 30_000 }, () => {
  const rpc = directoryOver((call) =>
    call.method === "eth_call"
      ? { body: { jsonrpc: "2.0", id: call.id, error: { code: -32603, message: "Internal error" } } }
      : result(call, "0x7a69"),
  );
  before(() => rpc.start());
  after(() => rpc.stop());

  test("the lookup fails (the reading is resent) instead of answering an unknown device, and nothing is cached", async () => {
    await assert.rejects(rpc.dir.get("kangaita-meter-1"), /Internal error|reverted/);
    assert.equal(rpc.dir.peek("kangaita-meter-1"), undefined, "not known either way");
  });
});

/**
 * Every `getDevice` answered as the DeviceRegistry answers an id nobody registered (reverted with
 * DeviceRegistryUnknownDevice, which viem decodes from the ABI): a registry where none of these
 * ids are. The directory keeps at most `maxEntries` answers, the oldest looked up going first.
 */
describe("ChainDeviceDirectory's bound", { timeout: 30_000 }, () => {
  const rpc = directoryOver((call) => {
    if (call.method !== "eth_call") return result(call, "0x7a69");
    const { args } = decodeFunctionData({ abi: deviceRegistryAbi, data: (call.params[0] as { data: Hex }).data });
    const data = encodeErrorResult({
      abi: deviceRegistryAbi,
      errorName: "DeviceRegistryUnknownDevice",
      args: [args![0] as Hex],
    });
    return { body: { jsonrpc: "2.0", id: call.id, error: { code: 3, message: "execution reverted", data } } };
  }, 3);
  before(() => rpc.start());
  after(() => rpc.stop());

  test("keeps the newest maxEntries answers; an id evicted is asked again", async () => {
    const asked = () => rpc.calls.filter((c) => c.method === "eth_call").length;
    const ids = ["id-1", "id-2", "id-3", "id-4", "id-5"];
    for (const id of ids) assert.equal(await rpc.dir.get(id), null, `${id}: unknown to the registry`);
    assert.equal(asked(), 5);
    assert.deepEqual(
      ids.map((id) => rpc.dir.peek(id)),
      [undefined, undefined, null, null, null],
      "the two oldest are gone",
    );
    assert.equal(await rpc.dir.get("id-4"), null);
    assert.equal(asked(), 5, "a kept answer is not asked again");
    assert.equal(await rpc.dir.get("id-1"), null);
    assert.equal(asked(), 6, "an evicted one is");
    assert.equal(rpc.dir.peek("id-3"), undefined, "and took the place of the oldest");
  });
});
