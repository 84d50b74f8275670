import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import mqtt from "mqtt";
import { canonicalBytes, generateDeviceKey, sha256Bytes, signDigest } from "../../sdk/src/index.ts";
import { readingsTopic } from "../src/ingest/mqtt.ts";
import type { DeviceHealth } from "../src/storage/types.ts";
import { deviceInfo, flueGas, makeDevice, quietLogger, testNode, type TestDevice } from "./fixtures.ts";
import { tempDir } from "./helpers.ts";
import { join } from "node:path";
import { createCommon } from "../src/common.ts";
import { parseConfig } from "../src/config/load.ts";
import { startHeartbeatRetention } from "../src/ingest/heartbeat.ts";
import { createApiKey } from "../src/api/keys.ts";
import { SqliteStorage } from "../src/storage/sqlite.ts";

/** A heartbeat as the firmware signs it (docs/protocol.md, "Device heartbeat"). */
function heartbeat(d: TestDevice, ts: number, over: Record<string, unknown> = {}, secretKey = d.secretKey) {
  const hb = {
    v: 1,
    kind: "heartbeat",
    deviceId: d.deviceId,
    facilityId: d.facilityId,
    ts,
    fw: "0.3.0",
    uptimeS: 3600,
    timeSet: true,
    lastSeq: d.seq,
    bufferDepth: 2,
    bufferBytes: 512,
    bufferCapacityBytes: 65536,
    dropped: 0,
    corrupt: 0,
    rssiDbm: -61,
    faults: [] as string[],
    ...over,
  };
  return JSON.stringify({ heartbeat: hb, sig: signDigest(sha256Bytes(canonicalBytes(hb)), secretKey) });
}

describe("device health: durable heartbeats, gaps and rejections", { timeout: 60_000 }, () => {
  const tmp = tempDir();
  const chimney = makeDevice("kangaita-chimney-1");
  const meter = makeDevice("kangaita-meter-1");
  const elsewhere = makeDevice("gitugi-chimney-1", "ktda-gitugi");
  const t0 = Date.now();
  let offsetMs = 0;
  const clock = { nowMs: () => t0 + offsetMs };
  let node: Awaited<ReturnType<typeof testNode>>;
  let client: mqtt.MqttClient;

  const start = async () => {
    node = await testNode({
      dir: tmp.dir,
      clock,
      devices: [deviceInfo(chimney), deviceInfo(meter), deviceInfo(elsewhere)],
    });
    client = await mqtt.connectAsync(node.mqtt!.url, { clientId: "health-test", reconnectPeriod: 0 });
  };
  const stop = async () => {
    await client.endAsync();
    await node.close();
  };
  before(start);
  after(async () => {
    await stop();
    tmp.cleanup();
  });

  const publishHeartbeat = (d: TestDevice, atOffsetS: number, payload?: string) => {
    offsetMs = atOffsetS * 1000;
    const ts = Math.floor(clock.nowMs() / 1000);
    // QoS 1 so the broker's PUBACK (sent after the hook, i.e. after the insert) orders the test
    return client.publishAsync(`carbonproof/v1/${d.facilityId}/${d.deviceId}/heartbeat`, payload ?? heartbeat(d, ts), {
      qos: 1,
    });
  };
  const health = async (query: string) => {
    const res = await fetch(`${node.httpUrl}/v1/devices/health?${query}`);
    assert.equal(res.status, 200);
    return (await res.json()) as { nowMs: number; gapS: number; devices: DeviceHealth[] };
  };

  test("records signed heartbeats and reports the gaps between them, the rejections and the last reading", async () => {
    const topic = readingsTopic(chimney.facilityId, chimney.deviceId);
    const env = flueGas(chimney, { ts: Math.floor(t0 / 1000) });
    await client.publishAsync(topic, JSON.stringify(env), { qos: 1 });
    await client.publishAsync(topic, JSON.stringify(env), { qos: 1 }); // replay
    const forged = flueGas(chimney, { ts: Math.floor(t0 / 1000) });
    forged.reading.seq = 999; // the signature no longer matches
    await client.publishAsync(topic, JSON.stringify(forged), { qos: 1 });

    for (const s of [0, 60, 120, 360, 420]) await publishHeartbeat(chimney, s); // one 240 s gap
    // a heartbeat signed by another key: stored, but not counted as the device being alive
    const stranger = generateDeviceKey();
    await publishHeartbeat(chimney, 900, heartbeat(chimney, Math.floor((t0 + 900_000) / 1000), {}, stranger.secretKey));
    await publishHeartbeat(chimney, 900, "not json"); // ignored, and not a dead letter
    await publishHeartbeat(
      meter,
      30,
      heartbeat(meter, Math.floor((t0 + 30_000) / 1000), {
        dropped: 4,
        held: 720,
        heldDropped: 15,
        faults: ["co2-timeout"],
      }),
    );
    // control characters in a device's text are stored as U+FFFD: a NUL would cut it on SQLite's reads
    await publishHeartbeat(
      elsewhere,
      30,
      heartbeat(elsewhere, Math.floor((t0 + 30_000) / 1000), { fw: "0.3.0\u0000-evil", faults: ["\u001b[2Jsd-full"] }),
    );

    const body = await health("facilityId=ktda-kangaita&sinceMs=0&gapS=180");
    assert.equal(body.gapS, 180);
    assert.deepEqual(
      body.devices.map((d) => d.deviceId),
      ["kangaita-chimney-1", "kangaita-meter-1"],
      "only the facility's devices",
    );
    const c = body.devices[0]!;
    assert.equal(c.facilityId, "ktda-kangaita");
    assert.equal(c.readingCount, 1);
    assert.equal(c.lastReadingTs, env.reading.ts);
    assert.equal(c.heartbeatCount, 5);
    assert.equal(c.unverifiedHeartbeatCount, 1);
    assert.equal(c.lastHeartbeatAtMs, t0 + 420_000, "the forged heartbeat does not move 'last seen'");
    assert.equal(c.maxHeartbeatGapMs, 240_000);
    assert.equal(c.heartbeatGapCount, 1);
    assert.deepEqual(c.heartbeatGaps, [{ fromMs: t0 + 120_000, toMs: t0 + 360_000 }]);
    assert.deepEqual(c.rejected, { replay: 1, "bad-signature": 1 });
    assert.equal(c.rejectedTotal, 2);
    assert.equal(c.lastHeartbeat?.bufferDepth, 2);

    const m = body.devices[1]!;
    assert.equal(m.readingCount, 0);
    assert.equal(m.heartbeatCount, 1);
    assert.equal(m.maxHeartbeatGapMs, null, "one heartbeat has no gap");
    assert.equal(m.lastHeartbeat?.dropped, 4);
    assert.equal(m.lastHeartbeat?.held, 720, "measurements held until the clock is set");
    assert.equal(m.lastHeartbeat?.heldDropped, 15, "and those discarded at the bound");
    assert.equal(c.lastHeartbeat?.heldDropped, null, "absent from the heartbeat: unknown, not 0");
    assert.deepEqual(m.lastHeartbeat?.faults, ["co2-timeout"]);

    assert.equal(node.storage.listDeadLetters({ limit: 100, reason: "malformed" }).length, 0);
    const all = await health("sinceMs=0");
    const gitugi = all.devices.find((d) => d.deviceId === "gitugi-chimney-1");
    assert.equal(gitugi?.lastHeartbeat?.fw, "0.3.0\ufffd-evil");
    assert.deepEqual(gitugi?.lastHeartbeat?.faults, ["\ufffd[2Jsd-full"]);
  });

  test("gaps are counted only since sinceMs, and a larger gapS lists none", async () => {
    const body = await health(`facilityId=ktda-kangaita&sinceMs=${t0 + 300_000}&gapS=180`);
    const c = body.devices.find((d) => d.deviceId === "kangaita-chimney-1")!;
    assert.equal(c.maxHeartbeatGapMs, 60_000);
    assert.equal(c.heartbeatGapCount, 0);
    const wide = await health("facilityId=ktda-kangaita&sinceMs=0&gapS=300");
    assert.equal(wide.devices[0]!.heartbeatGapCount, 0);
    assert.equal(wide.devices[0]!.maxHeartbeatGapMs, 240_000);
  });

  test("a page at a time: limit, then after=next, lists each device once and ends with next null", async () => {
    const all = await health("sinceMs=0");
    assert.ok(all.devices.length >= 3, `${all.devices.length} devices`);
    const seen: string[] = [];
    let after = "";
    for (let i = 0; i <= all.devices.length; i++) {
      const page = (await health(`sinceMs=0&limit=2${after}`)) as Awaited<ReturnType<typeof health>> & {
        next: string | null;
      };
      assert.ok(page.devices.length <= 2);
      seen.push(...page.devices.map((d) => d.deviceId));
      if (!page.next) break;
      assert.equal(page.next, page.devices[1]!.deviceId, "next is the page's last device");
      after = `&after=${encodeURIComponent(page.next)}`;
    }
    assert.deepEqual(
      seen,
      all.devices.map((d) => d.deviceId),
    );
  });

  test("heartbeats survive a restart of the node", async () => {
    await stop();
    await start();
    const body = await health("facilityId=ktda-kangaita&sinceMs=0&gapS=180");
    const c = body.devices.find((d) => d.deviceId === "kangaita-chimney-1")!;
    assert.equal(c.heartbeatCount, 5);
    assert.equal(c.lastHeartbeatAtMs, t0 + 420_000);
  });
});

/**
 * Heartbeats leave a row only for a device the node knows in the topic's facility, and only from a
 * connection whose key may publish for it (mqtt.requireAuth): made-up device ids or another
 * device's key would otherwise fill the device-health view, which needs no key to read.
 */
describe("device health: whose heartbeats are stored", { timeout: 60_000 }, () => {
  const meter = makeDevice("kangaita-meter-1");
  const other = makeDevice("kangaita-meter-2");
  let node: Awaited<ReturnType<typeof testNode>>;
  before(async () => {
    node = await testNode({
      devices: [deviceInfo(meter), deviceInfo(other)],
      config: { mqtt: { requireAuth: true } },
    });
  });
  after(() => node.close());

  test("an unknown device's, one of another facility's topic and one sent with another device's key leave no row", async () => {
    const key = createApiKey(node.storage, { scope: "device", subject: meter.deviceId }).key;
    const client = await mqtt.connectAsync(node.mqtt!.url, {
      clientId: "hb-scope",
      username: meter.deviceId,
      password: key,
      reconnectPeriod: 0,
    });
    try {
      const ts = Math.floor(Date.now() / 1000);
      const send = (facilityId: string, deviceId: string, payload: string) =>
        client.publishAsync(`carbonproof/v1/${facilityId}/${deviceId}/heartbeat`, payload, { qos: 1 });
      const ghost = makeDevice("ghost-meter-9");
      await send(ghost.facilityId, ghost.deviceId, heartbeat(ghost, ts)); // not a device of this node
      await send("ktda-gitugi", meter.deviceId, heartbeat({ ...meter, facilityId: "ktda-gitugi" }, ts)); // not its facility
      await send(other.facilityId, other.deviceId, heartbeat(other, ts)); // signed by it, sent with meter's key
      await send(meter.facilityId, meter.deviceId, heartbeat(meter, ts)); // its own
      const res = await fetch(`${node.httpUrl}/v1/devices/health?sinceMs=0`);
      const { devices } = (await res.json()) as { devices: DeviceHealth[] };
      assert.deepEqual(
        devices.map((d) => [d.deviceId, d.facilityId, d.heartbeatCount, d.unverifiedHeartbeatCount]),
        [[meter.deviceId, meter.facilityId, 1, 0]],
      );
    } finally {
      await client.endAsync();
    }
  });
});

describe("heartbeat retention", { timeout: 60_000 }, () => {
  const tmp = tempDir();
  after(() => tmp.cleanup());
  const DAY = 86_400_000;

  test("deletes heartbeats older than retentionDays in steps, at start and on each tick; keeps the rest", async () => {
    const storage = new SqliteStorage(join(tmp.dir, "hb.db"));
    try {
      const now = Date.UTC(2026, 11, 1);
      const hb = (deviceId: string, receivedAtMs: number) =>
        storage.addHeartbeat({
          deviceId,
          facilityId: "ktda-kangaita",
          receivedAtMs,
          ts: Math.floor(receivedAtMs / 1000),
          lastSeq: 1,
          bufferDepth: 0,
          dropped: 0,
          held: null,
          heldDropped: null,
          rssiDbm: -60,
          uptimeS: 1,
          fw: "0.3.0",
          faults: [],
          verified: true,
        });
      // two devices, one heartbeat each every 30 min over the last 40 days: 3,840 rows
      const times: number[] = [];
      for (let t = now - 40 * DAY; t < now; t += 1_800_000) times.push(t);
      for (const t of times) {
        hb("kangaita-chimney-1", t);
        hb("kangaita-meter-1", t);
      }
      let clockMs = now;
      const common = createCommon(parseConfig({ dataDir: tmp.dir, heartbeats: { retentionDays: 30 } }), {
        logger: quietLogger(),
        clock: { nowMs: () => clockMs },
        defaultMetrics: false,
      });
      const calls: number[] = [];
      const retention = startHeartbeatRetention({
        common,
        prune: (beforeMs, limit) => {
          const n = storage.pruneHeartbeats(beforeMs, limit);
          calls.push(n);
          return n;
        },
        everyMs: 100,
        step: 250,
      });
      const count = () =>
        storage.deviceHealth({ sinceMs: 0, gapMs: DAY }).reduce((sum, d) => sum + d.heartbeatCount, 0);
      const kept = (cutoff: number) => 2 * times.filter((t) => t >= cutoff).length;
      try {
        await retention.settled();
        assert.equal(count(), kept(now - 30 * DAY));
        // 960 rows past 30 days, in steps of 250 (the last one short)
        assert.deepEqual(calls.slice(0, 4), [250, 250, 250, 210]);
        const oldest = storage.deviceHealth({ sinceMs: 0, gapMs: DAY });
        assert.equal(oldest.length, 2);
        // a day later, the next tick deletes that day's 96 rows
        clockMs = now + DAY;
        const ticks = calls.length;
        while (calls.length === ticks) await new Promise((r) => setTimeout(r, 20));
        await retention.settled();
        assert.equal(count(), kept(now - 29 * DAY));
      } finally {
        await retention.stop();
      }
    } finally {
      storage.close();
    }
  });
});
