import { test, describe, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, openSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { DatabaseSync } from "node:sqlite";
import fc from "fast-check";
import mqtt from "mqtt";
import { pino } from "pino";
import {
  canonicalJson,
  hexToBytes,
  publicKeyOf,
  readingDigestHex,
  signReading,
  type Envelope,
} from "../../sdk/src/index.ts";
import { TEST_ONLY_DEVICE_SECRET_KEY, TEST_VECTOR_READINGS } from "../../sdk/src/testVectors.ts";
import { createCommon } from "../src/common.ts";
import { parseConfig } from "../src/config/load.ts";
import { MemoryDeviceDirectory, deviceFileJson } from "../src/devices/directory.ts";
import { Ingestor, IngestError } from "../src/ingest/ingestor.ts";
import { readingsTopic } from "../src/ingest/mqtt.ts";
import { IngestWriter } from "../src/storage/ingest-writer.ts";
import { SqliteStorage } from "../src/storage/sqlite.ts";
import { VerifyPool } from "../src/validate/verify-pool.ts";
import { freePort } from "../../sdk/src/test/ports.ts";
import { deviceInfo, electricity, makeDevice, sdkCalculator, testNode } from "./fixtures.ts";
import { tempDir, waitFor } from "./helpers.ts";

const cli = join(dirname(fileURLToPath(import.meta.url)), "../src/cli/main.ts");

describe("validation on the worker threads", () => {
  const pool = new VerifyPool(1);
  const inline = new VerifyPool(0);
  after(() => Promise.all([pool.close(), inline.close()]));
  const secret = hexToBytes(TEST_ONLY_DEVICE_SECRET_KEY);
  const device = (deviceId: string) => ({
    deviceId,
    facilityId: "ktda-kangaita",
    status: "active" as const,
    keys: [{ publicKey: publicKeyOf(secret), validFrom: 0, validUntil: null }],
  });
  const both = async (text: string, deviceId: string) => {
    const bytes = new TextEncoder().encode(text);
    const [w, i] = await Promise.all([pool.prepare(bytes, device(deviceId)), inline.prepare(bytes, device(deviceId))]);
    assert.deepEqual(w, i, text.slice(0, 200));
    return w;
  };

  test("a worker prepares the sdk test vectors as the sdk does: canonical JSON, digest, signature", async () => {
    for (const r of TEST_VECTOR_READINGS) {
      const env = signReading(r, secret);
      const p = await both(JSON.stringify(env), r.deviceId);
      assert.ok(p.ok && p.items[0]!.ok);
      const item = p.items[0]!;
      assert.ok(item.ok);
      assert.equal(item.canonical, canonicalJson(r));
      assert.equal(item.digest, readingDigestHex(r));
      assert.equal(item.sigOk, true);
      // a forged signature (another reading's) fails in the worker too
      const forged = { ...env, reading: { ...env.reading, seq: env.reading.seq + 1 } };
      const f = await both(JSON.stringify(forged), r.deviceId);
      assert.ok(f.ok && f.items[0]!.ok && f.items[0]!.sigOk === false);
    }
  });

  test("a worker answers malformed and schema-failing payloads with the same reasons and details as inline", async () => {
    const r = TEST_VECTOR_READINGS[0]!;
    const env = signReading(r, secret);
    const cases = [
      "not json",
      "[]",
      "42",
      "{}",
      JSON.stringify({ ...env, reading: { ...r, co2: 1 } }),
      JSON.stringify({ ...env, reading: { ...r, seq: 1.5 } }),
      JSON.stringify({ ...env, sig: "0x00" }),
      JSON.stringify([env, { reading: null }, "x"]),
    ];
    for (const c of cases) await both(c, r.deviceId);
    await fc.assert(
      fc.asyncProperty(fc.jsonValue(), async (v) => {
        await both(JSON.stringify(v), r.deviceId);
        await both(JSON.stringify({ reading: v, sig: env.sig }), r.deviceId);
      }),
      { numRuns: 200 },
    );
  });
});

function connectClients(url: string, n: number, prefix: string): Promise<mqtt.MqttClient[]> {
  return Promise.all(
    Array.from({ length: n }, (_, i) => mqtt.connectAsync(url, { clientId: `${prefix}-${i}`, reconnectPeriod: 0 })),
  );
}

/** Publishes envelope i on client i mod n (QoS 1); `onAck` runs as each PUBACK arrives. */
async function publishRoundRobin(
  clients: mqtt.MqttClient[],
  envs: Envelope[],
  onAck: (e: Envelope, i: number) => void,
): Promise<void> {
  await Promise.all(
    envs.map((e, i) =>
      clients[i % clients.length]!.publishAsync(
        readingsTopic(e.reading.facilityId, e.reading.deviceId),
        JSON.stringify(e),
        { qos: 1 },
      ).then(() => onAck(e, i)),
    ),
  );
}

describe("group commit and the acknowledgement", { timeout: 120_000 }, () => {
  // both embedded endpoints: the ingest-only server (default) and aedes (mqtt.embedded)
  for (const embedded of ["ingest", "aedes"] as const) {
    test(`no PUBACK before the commit: every acknowledged reading is already readable from another connection (${embedded})`, async () => {
      const devices = Array.from({ length: 20 }, (_, i) => makeDevice(`ack-${embedded}-${i}`));
      const node = await testNode({
        devices: devices.map((d) => deviceInfo(d)),
        config: { storage: { synchronous: "FULL" }, mqtt: { embedded } },
      });
      const db = new DatabaseSync(join(node.dir, "oracle.db"), { readOnly: true });
      const seen = db.prepare("SELECT 1 FROM readings WHERE digest = ?");
      const clients = await connectClients(node.mqtt!.url, 4, "ack");
      try {
        const envs = Array.from({ length: 600 }, (_, i) => electricity(devices[i % devices.length]!));
        let missing = 0;
        await publishRoundRobin(clients, envs, (e) => {
          // the PUBACK has just arrived: the commit must be visible to any other reader now
          if (seen.get(readingDigestHex(e.reading)) === undefined) missing++;
        });
        assert.equal(missing, 0, "readings acknowledged before their commit");
        assert.equal(Number((db.prepare("SELECT COUNT(*) AS n FROM readings").get() as { n: number }).n), 600);
      } finally {
        await Promise.all(clients.map((c) => c.endAsync()));
        db.close();
        await node.close();
      }
    });

    test(`PUBACKs come in the order of the PUBLISHes on each connection (MQTT-4.6.0-2), with several verify workers (${embedded})`, async () => {
      const devices = Array.from({ length: 20 }, (_, i) => makeDevice(`order-${embedded}-${i}`));
      const node = await testNode({
        devices: devices.map((d) => deviceInfo(d)),
        // two workers validate one connection's readings at once and may finish them out of order
        config: { validation: { verifyWorkers: 2 }, mqtt: { embedded } },
      });
      const clients = await connectClients(node.mqtt!.url, 2, "order");
      try {
        const acked: number[][] = clients.map(() => []);
        const envs = Array.from({ length: 800 }, (_, i) => electricity(devices[i % devices.length]!));
        await publishRoundRobin(clients, envs, (_e, i) => acked[i % clients.length]!.push(i));
        for (const order of acked) {
          assert.equal(order.length, 400);
          assert.deepEqual(
            order,
            [...order].sort((a, b) => a - b),
            "a PUBACK came before the PUBACK of an earlier PUBLISH",
          );
        }
      } finally {
        await Promise.all(clients.map((c) => c.endAsync()));
        await node.close();
      }
    });
  }

  test("a failed group commit acknowledges nothing and the queue check is released", async () => {
    const tmp = tempDir();
    const notADir = join(tmp.dir, "file");
    writeFileSync(notADir, "");
    // a writer whose database cannot be opened (its folder is a file): every commit fails
    class BrokenWriterStorage extends SqliteStorage {
      override openIngestWriter(): IngestWriter {
        return new IngestWriter({ driver: "sqlite", path: join(notADir, "oracle.db"), synchronous: "FULL" });
      }
    }
    const storage = new BrokenWriterStorage(join(tmp.dir, "oracle.db"));
    const d = makeDevice("broken-1");
    const common = createCommon(parseConfig({ dataDir: tmp.dir }), {
      logger: pino({ level: "silent" }),
      defaultMetrics: false,
    });
    const ingestor = new Ingestor({
      common,
      storage,
      devices: new MemoryDeviceDirectory([deviceInfo(d)]),
      calculator: sdkCalculator(),
    });
    try {
      const env = electricity(d);
      const ctx = { source: "mqtt" as const, topic: { facilityId: d.facilityId, deviceId: d.deviceId } };
      await assert.rejects(ingestor.submitRaw(JSON.stringify(env), ctx, 1 << 20), (e: unknown) => {
        assert.ok(e instanceof IngestError);
        assert.equal(e.code, "STORAGE_FAILED");
        return true;
      });
      assert.equal(storage.hasReading(d.deviceId, env.reading.seq), false);
      // not taken for a replay when the device sends it again
      await assert.rejects(ingestor.submitRaw(JSON.stringify(env), ctx, 1 << 20), /could not store durably/);
    } finally {
      await ingestor.close();
      storage.close();
      tmp.cleanup();
    }
  });

  test("SIGKILL while readings stream in: every acknowledged reading is stored, and resending the rest stores each once", async () => {
    const tmp = tempDir();
    const devices = Array.from({ length: 10 }, (_, i) => makeDevice(`kill-dev-${i}`));
    writeFileSync(join(tmp.dir, "devices.json"), deviceFileJson(devices.map((d) => deviceInfo(d))));
    const mqttPort = await freePort();
    const httpPort = await freePort();
    const configFile = join(tmp.dir, "oracle.json");
    writeFileSync(
      configFile,
      JSON.stringify({
        dataDir: join(tmp.dir, "data"),
        log: { level: "warn" },
        http: { port: httpPort },
        mqtt: { port: mqttPort },
        devices: { source: "file", file: join(tmp.dir, "devices.json") },
        facilities: { "ktda-kangaita": { country: "KEN" } },
      }),
    );
    let child: ChildProcess | null = null;
    const start = async () => {
      const log = openSync(join(tmp.dir, "node.log"), "a");
      const c = spawn(
        process.execPath,
        ["--disable-warning=ExperimentalWarning", cli, "start", "--config", configFile],
        {
          stdio: ["ignore", log, log],
        },
      );
      closeSync(log);
      child = c;
      await waitFor(async () => (await fetch(`http://127.0.0.1:${httpPort}/health`)).ok, {
        timeoutMs: 60_000,
        intervalMs: 100,
        what: "node up",
      });
      return c;
    };
    const envs: Envelope[] = Array.from({ length: 3000 }, (_, i) => electricity(devices[i % devices.length]!));
    const digests = envs.map((e) => readingDigestHex(e.reading));
    const acked = new Set<number>();
    /** Publishes everything not yet acknowledged from 4 connections; `killAfter` acks, SIGKILLs the node. */
    const publishAll = async (killAfter?: number) => {
      const clients = await Promise.all(
        Array.from({ length: 4 }, (_, i) =>
          mqtt.connectAsync(`mqtt://127.0.0.1:${mqttPort}`, { clientId: `kill-${i}`, reconnectPeriod: 0 }),
        ),
      );
      for (const c of clients) c.on("error", () => {});
      let n = 0;
      await new Promise<void>((resolve) => {
        const todo = envs.map((_, i) => i).filter((i) => !acked.has(i));
        let open = todo.length;
        const done = () => --open === 0 && resolve();
        for (const i of todo) {
          const e = envs[i]!;
          clients[i % clients.length]!.publish(
            readingsTopic(e.reading.facilityId, e.reading.deviceId),
            JSON.stringify(e),
            { qos: 1 },
            (err) => {
              if (!err) {
                acked.add(i);
                if (++n === killAfter) child!.kill("SIGKILL");
              }
              done();
            },
          );
        }
        // after the kill the unacknowledged publishes never complete: the connections close
        for (const c of clients) c.once("close", () => resolve());
      });
      for (const c of clients) c.end(true);
    };
    try {
      let c = await start();
      await publishAll(400);
      await new Promise((r) => (c.exitCode !== null || c.signalCode !== null ? r(null) : c.once("exit", r)));
      assert.ok(acked.size >= 400 && acked.size < envs.length, `killed mid-stream (${acked.size} acknowledged)`);
      const db = new DatabaseSync(join(tmp.dir, "data/oracle.db"));
      const stored = new Set(
        (db.prepare("SELECT digest FROM readings").all() as { digest: string }[]).map((r) => r.digest),
      );
      db.close();
      const lost = [...acked].filter((i) => !stored.has(digests[i]!));
      assert.deepEqual(lost, [], "acknowledged readings missing after SIGKILL");

      // the devices resend what was not acknowledged (some of it may have been stored before the kill)
      c = await start();
      await publishAll();
      assert.equal(acked.size, envs.length);
      c.kill("SIGTERM");
      await new Promise((r) => c.once("exit", r));
      const db2 = new DatabaseSync(join(tmp.dir, "data/oracle.db"), { readOnly: true });
      const rows = db2.prepare("SELECT digest FROM readings").all() as { digest: string }[];
      db2.close();
      assert.equal(rows.length, envs.length, "each reading stored once");
      assert.deepEqual(new Set(rows.map((r) => r.digest)), new Set(digests));
    } finally {
      const c = child as ChildProcess | null;
      if (c && c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
      tmp.cleanup();
    }
  });
});
