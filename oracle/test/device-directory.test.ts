import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import {
  createPublicClient,
  custom,
  decodeFunctionData,
  encodeAbiParameters,
  encodeErrorResult,
  encodeEventTopics,
  encodeFunctionResult,
  http,
  numberToHex,
  type Hex,
  type PublicClient,
} from "viem";
import { hardhat } from "viem/chains";
import { deviceRegistryAbi } from "../src/chain/abi.ts";
import { ChainDeviceDirectory } from "../src/devices/chain.ts";
import { deviceFileJson, inactiveAt, parseDeviceFile, type DeviceInfo } from "../src/devices/directory.ts";
import { idToBytes32, publicKeyToXY } from "../../sdk/src/index.ts";
import { HardhatNode, deploy, type Deployment } from "./chain-harness.ts";
import { deviceInfo, makeDevice, quietLogger } from "./fixtures.ts";
import { waitFor } from "./helpers.ts";

type RpcCall = { id: number; method: string; params: unknown[] };

/**
 * The DeviceRegistry directory (src/devices/chain.ts) with a real viem client over HTTP to a
 * loopback server that answers each JSON-RPC call with `answer(call)`: an HTTP status and body.
 * Each describe below says which RPC node its answers stand for. (Registered devices, and the
 * registry's own revert for an unknown one, are read on a Hardhat node in chain.test.ts; devices
 * changed before the directory's first poll, on one below.)
 */
function directoryOver(
  answer: (call: RpcCall) => { status?: number; body: unknown },
  maxEntries?: number,
  pollMs = 60_000,
) {
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
        pollMs,
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
    // the directory's first poll of the registry's events asked (and failed): every call after it is a lookup's
    await waitFor(() => rpc.calls.some((c) => c.method === "eth_blockNumber"), { what: "the first poll" });
    const asked = rpc.calls.length;
    // idToBytes32 throws INVALID_ID for these: the throw was taken as a storage failure (MQTT
    // message failed and resent forever, a heartbeat's connection closed, a co-signing 500)
    for (const id of ["Dev-A", "-dev", "", "a".repeat(33), "dev a", "dev/a"]) {
      assert.equal(await rpc.dir.get(id), null, JSON.stringify(id));
      assert.equal(rpc.dir.peek(id), null, JSON.stringify(id));
    }
    assert.equal(rpc.calls.length, asked);
    // a valid id is looked up on the chain (whose failure is not an answer): the block number the
    // event poll is to start after comes first, and fails, so getDevice is never asked. It is one
    // call of its own, or none when the first poll's, still in flight, is shared with it (viem
    // shares a client's concurrent getBlockNumber calls: CI saw it so)
    await assert.rejects(rpc.dir.get("kangaita-meter-1"));
    const lookup = rpc.calls.slice(asked).map((c) => c.method);
    assert.ok(lookup.length <= 1 && lookup.every((m) => m === "eth_blockNumber"), JSON.stringify(lookup));
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
 * The answer of a registry where no id is registered: the chain id, and every `getDevice` reverted
 * with DeviceRegistryUnknownDevice (which viem decodes from the ABI).
 */
function unregistered(call: RpcCall): { status?: number; body: unknown } {
  if (call.method !== "eth_call") return result(call, "0x7a69");
  const { args } = decodeFunctionData({ abi: deviceRegistryAbi, data: (call.params[0] as { data: Hex }).data });
  const data = encodeErrorResult({
    abi: deviceRegistryAbi,
    errorName: "DeviceRegistryUnknownDevice",
    args: [args![0] as Hex],
  });
  return { body: { jsonrpc: "2.0", id: call.id, error: { code: 3, message: "execution reverted", data } } };
}

/**
 * `refresh`, as ingest uses it before refusing a device its record says is not active: every
 * `getDevice` answered as the DeviceRegistry answers an id nobody registered (a record: null), or,
 * once `down`, HTTP 503 (an RPC node out of reach).
 */
describe("ChainDeviceDirectory.refresh", { timeout: 30_000 }, () => {
  let down = false;
  const rpc = directoryOver((call) => {
    if (down) return { status: 503, body: "node unavailable" };
    return unregistered(call);
  });
  before(() => rpc.start());
  after(() => rpc.stop());

  test("reads a record older than minAgeMs again, once for the readings that ask meanwhile; a failed read leaves the record held", async () => {
    const ethCalls = () => rpc.calls.filter((c) => c.method === "eth_call").length;
    assert.equal(await rpc.dir.get("kangaita-meter-1"), null);
    assert.equal(ethCalls(), 1);
    // younger than minAgeMs: the record as cached, no call
    assert.equal(await rpc.dir.refresh("kangaita-meter-1", 60_000), null);
    assert.equal(ethCalls(), 1);
    // older: read again, one call for three readings asking at once
    await new Promise((r) => setTimeout(r, 5));
    assert.deepEqual(await Promise.all([1, 2, 3].map(() => rpc.dir.refresh("kangaita-meter-1", 1))), [
      null,
      null,
      null,
    ]);
    assert.equal(ethCalls(), 2);
    // the registry out of reach: the read fails, and the record stays at hand
    down = true;
    await new Promise((r) => setTimeout(r, 5));
    await assert.rejects(rpc.dir.refresh("kangaita-meter-1", 1));
    assert.equal(rpc.dir.peek("kangaita-meter-1"), null, "the record held");
  });
});

/**
 * `syncedAfter`, as the check before pinning and the co-signer use it (asking for a poll) and as
 * ingest uses it for a reading of a device it does not know (waiting for the regular poll): a
 * registry with no events (every call answered as `unregistered` does; the head never moves), its
 * events read every 400 ms, or, once `down`, HTTP 503 (an RPC node out of reach).
 */
describe("ChainDeviceDirectory.syncedAfter", { timeout: 30_000 }, () => {
  let down = false;
  const rpc = directoryOver((call) => (down ? { status: 503, body: "node unavailable" } : unregistered(call)), 10, 400);
  before(() => rpc.start());
  after(() => rpc.stop());
  const polls = () => rpc.calls.filter((c) => c.method === "eth_blockNumber").length;

  test("asking runs a poll at once; not asking waits for the regular poll, with no call of its own; false once the registry is out of reach", async () => {
    // asking: a poll begun after now, run at once (the regular one is 400 ms away at most)
    const asked = Date.now();
    assert.equal(await rpc.dir.syncedAfter(asked, 5_000), true);
    assert.ok(Date.now() - asked < 300, `answered in ${Date.now() - asked} ms`);
    const afterAsk = polls();
    // not asking: no call for it; answered by the regular poll, ~400 ms after the last one
    let answered: boolean | null = null;
    const waiting = rpc.dir.syncedAfter(Date.now(), 5_000, false).then((ok) => (answered = ok));
    await new Promise((r) => setTimeout(r, 150));
    assert.equal(answered, null, "not answered before the regular poll");
    assert.equal(polls(), afterAsk, "no poll run for it");
    assert.equal(await waiting, true);
    assert.equal(polls(), afterAsk + 1, "answered by the one regular poll");
    // the registry out of reach: no poll reads it, and the caller has false at its time
    down = true;
    const from = Date.now();
    assert.equal(await rpc.dir.syncedAfter(Date.now(), 1_000, false), false);
    assert.ok(Date.now() - from >= 1_000);
  });
});

/**
 * Every `getDevice` answered as the DeviceRegistry answers an id nobody registered (reverted with
 * DeviceRegistryUnknownDevice, which viem decodes from the ABI): a registry where none of these
 * ids are. The directory keeps at most `maxEntries` answers, the oldest looked up going first.
 */
describe("ChainDeviceDirectory's bound", { timeout: 30_000 }, () => {
  const rpc = directoryOver(unregistered, 3);
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

/**
 * A chain 200,000 blocks long, block n stamped 1,000,000 + 12 n, whose DeviceRegistry has one
 * device registered at block 10,000, suspended at 15,000 and reactivated at 22,000 (its
 * `statusChangedAt`): an RPC node that answers `eth_getLogs` over any range, to show which the
 * directory asks for. (The same device on a real chain is in device-suspensions.test.ts.)
 */
describe("ChainDeviceDirectory reading a device's past suspensions", { timeout: 30_000 }, () => {
  const meter = makeDevice("kangaita-meter-1");
  const stamp = (n: number) => 1_000_000 + 12 * n;
  const id = idToBytes32(meter.deviceId);
  const events = [
    {
      block: 15_000,
      topics: encodeEventTopics({ abi: deviceRegistryAbi, eventName: "DeviceSuspended", args: { id } }),
    },
    {
      block: 22_000,
      topics: encodeEventTopics({ abi: deviceRegistryAbi, eventName: "DeviceReactivated", args: { id } }),
    },
  ];
  const rpc = directoryOver((call) => {
    switch (call.method) {
      case "eth_blockNumber":
        return result(call, numberToHex(200_000));
      case "eth_getBlockByNumber": {
        const n = Number(call.params[0]);
        return result(call, {
          number: numberToHex(n),
          hash: numberToHex(n, { size: 32 }),
          timestamp: numberToHex(stamp(n)),
          transactions: [],
        });
      }
      case "eth_getLogs": {
        const { fromBlock, toBlock } = call.params[0] as { fromBlock: Hex; toBlock: Hex };
        const logs = events
          .filter((e) => e.block >= Number(fromBlock) && e.block <= Number(toBlock))
          .map((e) => ({
            address: "0x5fbdb2315678afecb367f032d93f642f64180aa3",
            topics: e.topics,
            data: e.block === 15_000 ? encodeAbiParameters([{ type: "string" }], ["test"]) : "0x",
            blockNumber: numberToHex(e.block),
            blockHash: numberToHex(e.block, { size: 32 }),
            transactionHash: numberToHex(e.block, { size: 32 }),
            transactionIndex: "0x0",
            logIndex: "0x0",
            removed: false,
          }));
        return result(call, logs);
      }
      case "eth_call": {
        const { x, y } = publicKeyToXY(meter.publicKey);
        return result(
          call,
          encodeFunctionResult({
            abi: deviceRegistryAbi,
            functionName: "getDevice",
            result: {
              facilityId: idToBytes32(meter.facilityId),
              kind: 1,
              status: 1,
              registeredAt: BigInt(stamp(10_000)),
              statusChangedAt: BigInt(stamp(22_000)),
              metadataURI: "",
              keyHistory: [{ x, y, validFrom: 0n }],
            },
          }),
        );
      }
      default:
        return result(call, "0x7a69");
    }
  });
  before(() => rpc.start());
  after(() => rpc.stop());

  test("asks for the device's events from its registration to its last status change only, 5,000 blocks a query, and once", async () => {
    const d = await rpc.dir.get(meter.deviceId);
    assert.deepEqual(d?.suspensions, [{ from: stamp(15_000), until: stamp(22_000) }]);
    const ranges = () =>
      rpc.calls
        .filter((c) => c.method === "eth_getLogs")
        .map((c) => {
          const q = c.params[0] as { fromBlock: Hex; toBlock: Hex; topics: unknown[] };
          assert.equal(q.topics[1], id, "filtered by the indexed id");
          return [Number(q.fromBlock), Number(q.toBlock)];
        });
    assert.deepEqual(ranges(), [
      [10_000, 14_999],
      [15_000, 19_999],
      [20_000, 22_000],
    ]);
    // read again (a cache entry dropped): its status has not changed since, nor have its suspensions
    rpc.dir.invalidate(meter.deviceId);
    assert.deepEqual((await rpc.dir.get(meter.deviceId))?.suspensions, d.suspensions);
    assert.equal(ranges().length, 3, "no log asked for again");
  });
});

/**
 * The registry's event poll after an outage longer than the RPC node's eth_getLogs range cap: a
 * stand-in for a provider that refuses a query over 5,000 blocks (as many do, at 10,000 or less),
 * whose head jumps 20,000 blocks while the node could not reach it, a device suspended in between.
 */
describe(
  "ChainDeviceDirectory's event poll after a gap longer than the RPC node's log range",
  { timeout: 30_000 },
  () => {
    const meter = makeDevice("kangaita-meter-1");
    const id = idToBytes32(meter.deviceId);
    let head = 100;
    let down = false;
    const rpc = directoryOver(
      (call) => {
        if (down) return { status: 503, body: "node unavailable" };
        switch (call.method) {
          case "eth_blockNumber":
            return result(call, numberToHex(head));
          case "eth_getLogs": {
            const { fromBlock, toBlock } = call.params[0] as { fromBlock: Hex; toBlock: Hex };
            if (Number(toBlock) - Number(fromBlock) + 1 > 5_000)
              return {
                body: {
                  jsonrpc: "2.0",
                  id: call.id,
                  error: { code: -32005, message: "block range is too wide (max 5000)" },
                },
              };
            const at = 15_000;
            if (at < Number(fromBlock) || at > Number(toBlock)) return result(call, []);
            return result(call, [
              {
                address: "0x5fbdb2315678afecb367f032d93f642f64180aa3",
                topics: encodeEventTopics({ abi: deviceRegistryAbi, eventName: "DeviceSuspended", args: { id } }),
                data: encodeAbiParameters([{ type: "string" }], ["test"]),
                blockNumber: numberToHex(at),
                blockHash: numberToHex(at, { size: 32 }),
                transactionHash: numberToHex(at, { size: 32 }),
                transactionIndex: "0x0",
                logIndex: "0x0",
                removed: false,
              },
            ]);
          }
          default:
            return unregistered(call);
        }
      },
      undefined,
      200,
    );
    before(() => rpc.start());
    after(() => rpc.stop());

    test("reads the gap in ranges the node takes, sees the suspension in it, and is synced again", async () => {
      assert.equal(await rpc.dir.syncedAfter(Date.now(), 5_000), true, "synced at block 100");
      // the device looked up and cached
      assert.equal(await rpc.dir.get(meter.deviceId), null);
      assert.equal(rpc.dir.peek(meter.deviceId), null);
      // an outage, during which the chain moves 20,000 blocks on
      down = true;
      await new Promise((r) => setTimeout(r, 500));
      head = 20_100;
      await rpc.dir.get(meter.deviceId).catch(() => null);
      down = false;
      assert.equal(await rpc.dir.syncedAfter(Date.now(), 10_000), true, "synced again after the gap");
      // every block of the gap read once, oldest first, in queries the node takes (the wide one
      // the node refuses, asked poll after poll before the fix, left out)
      const read = rpc.calls
        .filter((c) => c.method === "eth_getLogs")
        .map((c) => c.params[0] as { fromBlock: Hex; toBlock: Hex })
        .map((q) => [Number(q.fromBlock), Number(q.toBlock)])
        .filter(([a, b]) => b! - a! + 1 <= 5_000);
      assert.deepEqual(read, [
        [101, 5_100],
        [5_101, 10_100],
        [10_101, 15_100],
        [15_101, 20_100],
      ]);
    });
  },
);

/**
 * A device read into the cache at start-up and changed on-chain before the directory's first poll
 * read the head, on a Hardhat node. Its client is a real viem client over HTTP to the node, through
 * a gate that holds some `eth_blockNumber` calls until the test lets them on, or fails one: the
 * RPC node answering slowly, or not at all, for a moment, so that the change is mined in that
 * moment every run rather than in some. The cache lives an hour: only an event can drop the record.
 */
describe("ChainDeviceDirectory with a device changed before its first poll", { timeout: 120_000 }, () => {
  let hh: HardhatNode;
  let dep: Deployment;
  before(async () => {
    hh = await HardhatNode.start();
    dep = await deploy(hh.url);
  });
  after(async () => {
    await hh?.stop();
  });

  /**
   * A directory on the deployed registry whose calls pass `gate` first (it may hold or throw),
   * polling every minute: the only polls in a test are its first and those `syncedAfter` asks for.
   */
  function gatedDirectory(gate: (method: string) => Promise<void>) {
    const node = createPublicClient({ chain: hardhat, transport: http(hh.url, { retryCount: 0 }) });
    const client = createPublicClient({
      chain: hardhat,
      transport: custom(
        {
          async request({ method, params }: { method: string; params?: unknown }) {
            await gate(method);
            return node.request({ method, params } as Parameters<typeof node.request>[0]);
          },
        },
        { retryCount: 0 },
      ),
    }) as PublicClient;
    return new ChainDeviceDirectory({
      client,
      address: dep.deviceRegistry,
      ttlMs: 3_600_000,
      logger: quietLogger(),
      pollMs: 60_000,
    });
  }

  test("a device looked up as the directory starts, its key rotated before the first poll read the head, is read again after that poll", async () => {
    const meter = makeDevice("kangaita-meter-7");
    await dep.registerDevice(meter.deviceId, meter.facilityId, meter.publicKey, 1);
    // from the device's read on, the block number (the first poll's head, before the fix) waits
    // until the rotation is mined
    let read = false;
    let open = false;
    const held: (() => void)[] = [];
    const dir = gatedDirectory(async (method) => {
      if (method === "eth_call") read = true;
      else if (method === "eth_blockNumber" && read && !open) await new Promise<void>((r) => held.push(r));
    });
    try {
      const first = await dir.get(meter.deviceId); // at once, as a reading arriving at start-up
      assert.equal(first?.keys.length, 1);
      const rotated = makeDevice(meter.deviceId);
      await dep.rotateKey(meter.deviceId, rotated.publicKey);
      open = true;
      for (const r of held.splice(0)) r();
      assert.equal(await dir.syncedAfter(Date.now(), 10_000), true, "a poll begun after the rotation");
      const now = await dir.get(meter.deviceId);
      assert.equal(now?.keys.length, 2, "the rotation seen (the record read before it dropped)");
      assert.deepEqual(now.keys[1]!.publicKey, rotated.publicKey);
    } finally {
      dir.close();
    }
  });

  test("a device looked up after a first poll that failed, suspended before the next poll read the head, is read again after that poll", async () => {
    const meter = makeDevice("kangaita-meter-8");
    await dep.registerDevice(meter.deviceId, meter.facilityId, meter.publicKey, 1);
    // the first poll's block number fails (the RPC node out of reach as the node starts): the
    // poll has no first block yet, and the next runs a minute later unless asked for
    let failed = 0;
    const dir = gatedDirectory(async (method) => {
      if (method === "eth_blockNumber" && failed === 0) {
        failed++;
        throw new Error("node unavailable");
      }
    });
    try {
      await waitFor(() => failed > 0, { what: "the first poll failed" });
      await new Promise((r) => setTimeout(r, 50)); // its failure handled (the cache cleared)
      assert.equal((await dir.get(meter.deviceId))?.status, "active");
      await dep.suspendDevice(meter.deviceId);
      assert.equal(await dir.syncedAfter(Date.now(), 10_000), true, "a poll begun after the suspension");
      assert.equal((await dir.get(meter.deviceId))?.status, "suspended", "the suspension seen");
    } finally {
      dir.close();
    }
  });
});

/** The status rule of ingest and co-signing (src/devices/directory.ts) for a device with suspensions lifted since. */
describe("inactiveAt with past suspensions", () => {
  const meter = makeDevice("kangaita-meter-1");
  const device = (over: Partial<DeviceInfo>): DeviceInfo => ({ ...deviceInfo(meter), ...over });
  const past = [
    { from: 1_000, until: 2_000 },
    { from: 3_000, until: 3_500 },
  ];

  test("refuses a reading stamped inside a suspension lifted since, from its start on, naming the device, the suspension and the ts", () => {
    const d = device({ statusChangedAt: 3_500, suspensions: past });
    assert.equal(
      inactiveAt(d, 1_000),
      "device kangaita-meter-1 was suspended from 1000 until 2000 (the reading is stamped 1000)",
    );
    assert.match(inactiveAt(d, 1_999)!, /from 1000 until 2000 .*stamped 1999/);
    assert.match(inactiveAt(d, 3_000)!, /from 3000 until 3500 .*stamped 3000/);
  });

  test("accepts readings before, between and after the suspensions (at `until` it was active again)", () => {
    const d = device({ statusChangedAt: 3_500, suspensions: past });
    for (const ts of [0, 999, 2_000, 2_999, 3_500, 10_000]) assert.equal(inactiveAt(d, ts), null, `ts ${ts}`);
    assert.equal(inactiveAt(device({ suspensions: [] }), 1_500), null, "an empty list");
    assert.equal(inactiveAt(device({}), 1_500), null, "no list");
  });

  test("a device suspended again now, or retired after a suspension, is refused inside the old one and from its status change on", () => {
    const again = device({ status: "suspended", statusChangedAt: 5_000, suspensions: past });
    assert.match(inactiveAt(again, 1_500)!, /was suspended from 1000 until 2000/);
    assert.equal(inactiveAt(again, 4_000), null);
    assert.match(inactiveAt(again, 5_000)!, /is suspended since 5000/);
    const retired = device({ status: "revoked", statusChangedAt: 2_000, suspensions: [past[0]!] });
    assert.match(inactiveAt(retired, 1_500)!, /was suspended from 1000 until 2000/);
    assert.equal(inactiveAt(retired, 500), null);
  });

  test("the device file carries the suspensions, and refuses one that ends before it starts", () => {
    const d = device({ statusChangedAt: 3_500, suspensions: past });
    const [read] = parseDeviceFile(deviceFileJson([d]));
    assert.deepEqual(read!.suspensions, past);
    assert.equal(parseDeviceFile(deviceFileJson([deviceInfo(meter)]))[0]!.suspensions, undefined, "optional");
    const bad = JSON.parse(deviceFileJson([d])) as { suspensions: unknown }[];
    bad[0]!.suspensions = [{ from: 2_000, until: 2_000 }];
    assert.throws(() => parseDeviceFile(JSON.stringify(bad)), /0\.suspensions\.0: until must be after from/);
  });
});
