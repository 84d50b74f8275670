import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import { createConnection, createServer, type Server, type Socket } from "node:net";
import { join } from "node:path";
import { readingDigestHex } from "../../sdk/src/index.ts";
import { createApiKey } from "../src/api/keys.ts";
import { MemoryDeviceDirectory } from "../src/devices/directory.ts";
import { HeliaStore } from "../src/ipfs/helia.ts";
import { SwitchedStore } from "./switched-store.ts";
import { HardhatNode, ORACLE_KEY, deploy, type Deployment } from "./chain-harness.ts";
import { deviceInfo, electricity, makeDevice, testNode } from "./fixtures.ts";
import { tempDir, waitFor } from "./helpers.ts";

/** A TCP relay to the Hardhat node that can cut the line (the chain "goes away" and comes back with its state). */
class Relay {
  readonly server: Server;
  down = false;
  readonly #sockets = new Set<Socket>();
  port = 0;
  constructor(target: number) {
    this.server = createServer((c) => {
      if (this.down) return c.destroy();
      const up = createConnection(target, "127.0.0.1");
      this.#sockets.add(c).add(up);
      c.pipe(up).pipe(c);
      const drop = () => {
        c.destroy();
        up.destroy();
        this.#sockets.delete(c);
        this.#sockets.delete(up);
      };
      c.on("error", drop).on("close", drop);
      up.on("error", drop).on("close", drop);
    });
  }
  async listen(): Promise<string> {
    await new Promise<void>((r) => this.server.listen(0, "127.0.0.1", () => r()));
    this.port = (this.server.address() as { port: number }).port;
    return `http://127.0.0.1:${this.port}`;
  }
  cut(): void {
    this.down = true;
    for (const s of this.#sockets) s.destroy();
    this.#sockets.clear();
  }
  close(): Promise<void> {
    this.cut();
    return new Promise((r) => this.server.close(() => r()));
  }
}

/** A counter of the node's metrics (metrics/metrics.ts), summed over its labels. */
async function counter(node: { common: { metrics: Record<string, unknown> } }, name: "ipfsFailures" | "chainFailures") {
  const c = node.common.metrics[name] as { get(): Promise<{ values: { value: number }[] }> };
  return (await c.get()).values.reduce((sum, v) => sum + v.value, 0);
}

type Ready = { ready: boolean; parts: Record<string, boolean>; failing: string[] };
/** GET /ready: its status and body. */
async function ready(httpUrl: string | null): Promise<{ status: number; body: Ready }> {
  const res = await fetch(`${httpUrl}/ready`);
  return { status: res.status, body: (await res.json()) as Ready };
}

describe("outages", { timeout: 120_000 }, () => {
  const meter = makeDevice("kangaita-meter-1");
  const tmp = tempDir();
  after(() => tmp.cleanup());

  test("IPFS unavailable then back: the batch waits in `sealed`, retries, and is pinned once IPFS returns", async () => {
    const store = new SwitchedStore(await HeliaStore.open(join(tmp.dir, "ipfs")));
    store.down = true;
    const node = await testNode({
      devices: [deviceInfo(meter)],
      parts: { content: store, chain: null },
      config: { batching: { windowS: 1, graceS: 0 } },
    });
    try {
      const env = electricity(meter, { ts: Math.floor(Date.now() / 1000) - 5 });
      const [o] = await node.ingestor.submit(env, { source: "http" });
      assert.equal(o!.status, "stored");
      const batchId = node.storage.getReading(readingDigestHex(env.reading))!.batchId!;
      await waitFor(() => store.failures >= 2, { what: "retries while IPFS is down" });
      const waiting = node.storage.getBatch(batchId)!;
      assert.equal(waiting.state, "sealed");
      assert.match(waiting.error ?? "", /ECONNREFUSED/);
      store.down = false;
      const pinned = await waitFor(() => {
        const b = node.storage.getBatch(batchId)!;
        return b.state === "pinned" ? b : null;
      });
      assert.equal(await store.inner.isPinned(pinned.bundleCid!), true);
      assert.equal(pinned.error, null);
      // counted as what failed: IPFS, not the chain (there is none)
      assert.ok((await counter(node, "ipfsFailures")) >= 2);
      assert.equal(await counter(node, "chainFailures"), 0);
    } finally {
      await node.close();
    }
  });

  test("the DeviceRegistry unread while a batch is sealed: retried in `sealed`, counted as a chain failure, not an IPFS one", async () => {
    // stands for the chain-backed directory (devices/chain.ts) with its RPC node out of reach:
    // its poll of the registry's events never completes (device-directory.test.ts runs the real one)
    class Unsynced extends MemoryDeviceDirectory {
      syncedAfter(): Promise<boolean> {
        return Promise.resolve(false);
      }
    }
    const node = await testNode({
      parts: { devices: new Unsynced([deviceInfo(meter)]), chain: null },
      config: { batching: { windowS: 1, graceS: 0 } },
    });
    try {
      const env = electricity(meter, { ts: Math.floor(Date.now() / 1000) - 5 });
      const [o] = await node.ingestor.submit(env, { source: "http" });
      assert.equal(o!.status, "stored");
      const batchId = node.storage.getReading(readingDigestHex(env.reading))!.batchId!;
      const waiting = await waitFor(
        () => {
          const b = node.storage.getBatch(batchId)!;
          return b.attempts >= 2 ? b : null;
        },
        { what: "retries while the registry is unread" },
      );
      assert.equal(waiting.state, "sealed");
      assert.match(waiting.error ?? "", /DeviceRegistry's events are not read/);
      assert.equal(await counter(node, "ipfsFailures"), 0, "IPFS did not fail");
      assert.ok((await counter(node, "chainFailures")) >= 2);
    } finally {
      await node.close();
    }
  });

  test("IPFS pinning failing longer than readiness.ipfsFailingForMs: /ready answers 503 naming ipfs, and 200 once a pin succeeds", async () => {
    const store = new SwitchedStore(await HeliaStore.open(join(tmp.dir, "ipfs-ready")));
    store.down = true;
    const node = await testNode({
      devices: [deviceInfo(meter)],
      parts: { content: store, chain: null },
      config: {
        batching: { windowS: 1, graceS: 0, retryBaseMs: 50, retryMaxMs: 200 },
        readiness: { ipfsFailingForMs: 300 },
      },
    });
    try {
      // IPFS down but nothing to pin yet: nothing has failed
      assert.equal((await ready(node.httpUrl)).status, 200);
      await node.ingestor.submit(electricity(meter, { ts: Math.floor(Date.now() / 1000) - 5 }), { source: "http" });
      const down = await waitFor(
        async () => {
          const r = await ready(node.httpUrl);
          return r.status === 503 ? r : null;
        },
        { timeoutMs: 30_000, what: "/ready 503 while pins fail" },
      );
      assert.deepEqual(down.body.failing, ["ipfs"]);
      assert.equal(down.body.parts.ipfs, false);
      assert.equal(down.body.ready, false);
      assert.ok(store.failures >= 2, "failed more than once before the threshold passed");
      assert.equal((await fetch(`${node.httpUrl}/health`)).status, 200, "still alive: /health is liveness only");
      store.down = false;
      const up = await waitFor(
        async () => {
          const r = await ready(node.httpUrl);
          return r.status === 200 ? r : null;
        },
        { timeoutMs: 30_000, what: "/ready 200 once a pin succeeds" },
      );
      assert.deepEqual(up.body.failing, []);
      assert.equal(up.body.parts.ipfs, true);
    } finally {
      await node.close();
    }
  });

  describe("chain", () => {
    let hh: HardhatNode;
    let dep: Deployment;
    let relay: Relay;
    before(async () => {
      hh = await HardhatNode.start();
      dep = await deploy(hh.url);
      relay = new Relay(hh.port);
    });
    after(async () => {
      await relay?.close();
      await hh?.stop();
    });

    test("chain unavailable then back: the batch waits, retries, and is confirmed once the RPC node returns", async () => {
      const rpcUrl = await relay.listen();
      relay.cut();
      process.env.CARBONPROOF_ORACLE_PRIVATE_KEY = ORACLE_KEY;
      const node = await testNode({
        devices: [deviceInfo(meter)],
        config: {
          batching: { windowS: 1, graceS: 0 },
          chain: { enabled: true, rpcUrl, attestationRegistry: dep.attestationRegistry, pollMs: 100 },
        },
      });
      try {
        const env = electricity(meter, { ts: Math.floor(Date.now() / 1000) - 5 });
        await node.ingestor.submit(env, { source: "http" });
        const batchId = node.storage.getReading(readingDigestHex(env.reading))!.batchId!;
        const stuck = await waitFor(
          () => {
            const b = node.storage.getBatch(batchId)!;
            return b.state === "signed" && b.attempts >= 2 ? b : null;
          },
          { what: "retries while the chain is down" },
        );
        assert.ok(stuck.error);
        relay.down = false;
        const done = await waitFor(
          () => {
            const b = node.storage.getBatch(batchId)!;
            return b.state === "confirmed" ? b : null;
          },
          { timeoutMs: 30_000, what: "confirmed after the chain came back" },
        );
        assert.ok(done.txHash);
        assert.equal(
          await dep.publicClient.readContract({
            address: dep.attestationRegistry,
            abi: (await import("../src/chain/abi.ts")).attestationRegistryAbi,
            functionName: "exists",
            args: [done.attestationId as `0x${string}`],
          }),
          true,
        );
      } finally {
        delete process.env.CARBONPROOF_ORACLE_PRIVATE_KEY;
        await node.close();
      }
    });

    test("the DeviceRegistry's RPC node out of reach: a reading posted is answered 503 with Retry-After, nothing stored or dead-lettered; back, the same reading is taken", async () => {
      const line = new Relay(hh.port);
      const rpcUrl = await line.listen();
      const dev = makeDevice("kangaita-meter-12");
      await dep.registerDevice(dev.deviceId, dev.facilityId, dev.publicKey, 1);
      const node = await testNode({
        config: {
          devices: { source: "chain", cacheTtlMs: 60_000 },
          chain: { rpcUrl, deviceRegistry: dep.deviceRegistry, pollMs: 100 },
        },
        parts: { devices: undefined },
      });
      try {
        const key = createApiKey(node.storage, { scope: "device", subject: dev.deviceId }).key;
        const post = (body: unknown) =>
          fetch(`${node.httpUrl}/v1/readings`, {
            method: "POST",
            headers: { "content-type": "application/json", "x-api-key": key },
            body: JSON.stringify(body),
          });
        line.cut();
        const env = electricity(dev);
        const res = await post(env);
        assert.equal(res.status, 503);
        assert.equal(res.headers.get("retry-after"), "5");
        const body = (await res.json()) as { error: string; message: string };
        assert.equal(body.error, "DEVICE_LOOKUP_FAILED");
        assert.match(
          body.message,
          new RegExp(
            `^could not look device ${dev.deviceId} up in the device directory \\(.+ http://127\\.0\\.0\\.1:${line.port}/?\\): is the RPC node out of reach\\? retry$`,
          ),
        );
        assert.equal(node.storage.getReading(readingDigestHex(env.reading)), null);
        assert.deepEqual(node.storage.listDeadLetters({ limit: 10, deviceId: dev.deviceId }), []);
        line.down = false;
        const again = await post(env);
        assert.equal(again.status, 201, await again.text());
      } finally {
        await line.close();
        await node.close();
      }
    });

    test("chain RPC silent longer than readiness.chainSilentForMs: /ready answers 503 naming chain, and 200 once it answers", async () => {
      const line = new Relay(hh.port);
      const rpcUrl = await line.listen();
      process.env.CARBONPROOF_ORACLE_PRIVATE_KEY = ORACLE_KEY;
      const node = await testNode({
        devices: [deviceInfo(meter)],
        config: {
          chain: { enabled: true, rpcUrl, attestationRegistry: dep.attestationRegistry, pollMs: 100 },
          readiness: { probeMs: 50, chainSilentForMs: 500 },
        },
      });
      try {
        await waitFor(async () => (await ready(node.httpUrl)).status === 200, {
          timeoutMs: 30_000,
          what: "/ready 200 while the chain answers",
        });
        line.cut();
        const down = await waitFor(
          async () => {
            const r = await ready(node.httpUrl);
            return r.status === 503 ? r : null;
          },
          { timeoutMs: 30_000, what: "/ready 503 while the chain is silent" },
        );
        assert.deepEqual(down.body.failing, ["chain"]);
        assert.equal(down.body.parts.chain, false);
        line.down = false;
        const up = await waitFor(
          async () => {
            const r = await ready(node.httpUrl);
            return r.status === 200 ? r : null;
          },
          { timeoutMs: 30_000, what: "/ready 200 once the chain answers again" },
        );
        assert.equal(up.body.parts.chain, true);
      } finally {
        delete process.env.CARBONPROOF_ORACLE_PRIVATE_KEY;
        await node.close();
        await line.close();
      }
    });

    test("/metrics exports readings accepted and rejected by reason, backlog, batch states, IPFS and chain latency", async () => {
      process.env.CARBONPROOF_ORACLE_PRIVATE_KEY = ORACLE_KEY;
      const node = await testNode({
        devices: [deviceInfo(meter)],
        config: {
          batching: { windowS: 1, graceS: 0 },
          chain: { enabled: true, rpcUrl: hh.url, attestationRegistry: dep.attestationRegistry, pollMs: 100 },
        },
      });
      try {
        const env = electricity(meter, { ts: Math.floor(Date.now() / 1000) - 5 });
        assert.equal((await node.ingestor.submit(env, { source: "http" }))[0]!.status, "stored");
        const [again] = await node.ingestor.submit(env, { source: "http" });
        assert.equal(again!.status, "rejected", "the same (device, seq) again is a replay");
        const batchId = node.storage.getReading(readingDigestHex(env.reading))!.batchId!;
        await waitFor(() => node.storage.getBatch(batchId)!.state === "confirmed", {
          timeoutMs: 30_000,
          what: "the batch confirmed on-chain",
        });
        const text = await (await fetch(`${node.httpUrl}/metrics`)).text();
        const sample = (line: RegExp) => {
          const m = line.exec(text);
          assert.ok(m, `/metrics has ${line.source}`);
          return Number(m[1]);
        };
        assert.equal(sample(/^carbonproof_oracle_readings_accepted_total\{source="http"\} (\d+)$/m), 1);
        assert.equal(sample(/^carbonproof_oracle_readings_rejected_total\{reason="replay"\} (\d+)$/m), 1);
        assert.equal(sample(/^carbonproof_oracle_backlog_readings (\d+)$/m), 0);
        assert.equal(sample(/^carbonproof_oracle_batches\{state="confirmed"\} (\d+)$/m), 1);
        assert.equal(sample(/^carbonproof_oracle_batches\{state="sealed"\} (\d+)$/m), 0);
        assert.equal(sample(/^carbonproof_oracle_ipfs_seconds_count (\d+)$/m), 1);
        assert.ok(sample(/^carbonproof_oracle_ipfs_seconds_sum ([\d.e-]+)$/m) > 0);
        assert.equal(sample(/^carbonproof_oracle_chain_seconds_count (\d+)$/m), 1);
        assert.ok(sample(/^carbonproof_oracle_chain_seconds_sum ([\d.e-]+)$/m) > 0);
      } finally {
        delete process.env.CARBONPROOF_ORACLE_PRIVATE_KEY;
        await node.close();
      }
    });
  });
});
