import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import mqtt from "mqtt";
import { readingDigestHex } from "../../sdk/src/index.ts";
import { createApiKey } from "../src/api/keys.ts";
import { readingsTopic } from "../src/ingest/mqtt.ts";
import type { AckSink } from "../src/ingest/mqtt-server.ts";
import { deviceInfo, electricity, flueGas, makeDevice, testNode } from "./fixtures.ts";
import { waitFor } from "./helpers.ts";
import { publish, RawClient } from "./mqtt-raw.ts";

describe("ingest over MQTT and HTTP", { timeout: 60_000 }, () => {
  const chimney = makeDevice("kangaita-chimney-1");
  const meter = makeDevice("kangaita-meter-1");
  const suspended = makeDevice("kangaita-meter-2");
  let node: Awaited<ReturnType<typeof testNode>>;
  let key: string;
  let client: mqtt.MqttClient;

  before(async () => {
    node = await testNode({ devices: [deviceInfo(chimney), deviceInfo(meter), deviceInfo(suspended, "suspended")] });
    key = createApiKey(node.storage, { scope: "facility", subject: "ktda-kangaita" }).key;
    client = await mqtt.connectAsync(node.mqtt!.url, { clientId: "test-device", reconnectPeriod: 0 });
  });
  after(async () => {
    await client.endAsync();
    await node.close();
  });

  const post = (body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${node.httpUrl}/v1/readings`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-api-key": key, ...headers },
      body: typeof body === "string" ? body : JSON.stringify(body),
    });

  test("a QoS 1 reading is durably stored by the time its PUBACK arrives", async () => {
    const env = flueGas(chimney);
    await client.publishAsync(readingsTopic(chimney.facilityId, chimney.deviceId), JSON.stringify(env), { qos: 1 });
    const stored = node.storage.getReading(readingDigestHex(env.reading));
    assert.ok(stored, "stored before PUBACK");
    assert.equal(stored.seq, env.reading.seq);
    assert.equal(stored.source, "mqtt");
  });

  test("a JSON array of envelopes in one message stores each", async () => {
    const envs = [flueGas(chimney), flueGas(chimney), flueGas(chimney)];
    await client.publishAsync(readingsTopic(chimney.facilityId, chimney.deviceId), JSON.stringify(envs), { qos: 1 });
    for (const e of envs) assert.ok(node.storage.getReading(readingDigestHex(e.reading)));
  });

  test("rejects a replayed (device, seq) over MQTT into the dead letters", async () => {
    const env = flueGas(chimney);
    const topic = readingsTopic(chimney.facilityId, chimney.deviceId);
    await client.publishAsync(topic, JSON.stringify(env), { qos: 1 });
    await client.publishAsync(topic, JSON.stringify(env), { qos: 1 });
    const dl = node.storage.listDeadLetters({ limit: 1, reason: "replay" });
    assert.equal(dl[0]?.seq, env.reading.seq);
  });

  test("rejects a reading whose topic names another device", async () => {
    const env = flueGas(chimney);
    await client.publishAsync(readingsTopic("ktda-kangaita", "someone-else"), JSON.stringify(env), { qos: 1 });
    assert.equal(node.storage.listDeadLetters({ limit: 1 })[0]?.reason, "topic");
    assert.equal(node.storage.getReading(readingDigestHex(env.reading)), null);
  });

  test("a device heartbeat is not dead-lettered; an unknown topic is", async () => {
    const before = node.storage.listDeadLetters({ limit: 10_000 }).length;
    const heartbeat = { heartbeat: { v: 1, kind: "heartbeat", deviceId: chimney.deviceId, dropped: 3 }, sig: "0x00" };
    const topic = `carbonproof/v1/${chimney.facilityId}/${chimney.deviceId}/heartbeat`;
    await client.publishAsync(topic, JSON.stringify(heartbeat), { qos: 1 });
    assert.equal(node.storage.listDeadLetters({ limit: 10_000 }).length, before);
    await client.publishAsync(`carbonproof/v1/${chimney.facilityId}/${chimney.deviceId}/other`, "{}", { qos: 1 });
    assert.equal(node.storage.listDeadLetters({ limit: 10_000 }).length, before + 1);
  });

  test("distinct long or unparsable topics are acknowledged and dead-lettered as topic; the topic cache keeps none of them", async () => {
    const cachedBefore = node.mqtt!.cachedTopics!();
    const deadBefore = node.storage.listDeadLetters({ limit: 10_000 }).length;
    // each distinct: the cache once kept every topic, parsed or not, up to 65,536 of them (65,536
    // topics of 65,535 bytes held ~4 GiB)
    const topics = [
      ...Array.from({ length: 40 }, (_, i) => `carbonproof/v1/ktda-kangaita/${"x".repeat(20_000)}-${i}/readings`),
      ...Array.from({ length: 20 }, (_, i) => `carbonproof/v1/ktda-kangaita/kangaita-meter-1/other-${i}`),
      ...Array.from({ length: 20 }, (_, i) => `carbonproof/v1/ktda-kangaita/Meter-${i}/readings`),
    ];
    await Promise.all(topics.map((t) => client.publishAsync(t, "{}", { qos: 1 })));
    const dead = node.storage.listDeadLetters({ limit: 10_000 });
    assert.equal(dead.length, deadBefore + topics.length, "one dead letter each, before its PUBACK");
    const mine = dead.slice(0, topics.length);
    assert.ok(mine.every((d) => d.reason === "topic" && d.deviceId === null));
    assert.deepEqual(
      new Set(mine.map((d) => (JSON.parse(d.payload) as { topic: string }).topic)),
      new Set(topics),
      "each with its topic",
    );
    assert.ok(mine.some((d) => /longer than any device topic/.test(d.detail)));
    assert.equal(node.mqtt!.cachedTopics!(), cachedBefore, "no unparsable topic is cached");
    // a device topic is cached (parsed once, not per message)
    const heartbeat = `carbonproof/v1/${suspended.facilityId}/${suspended.deviceId}/heartbeat`;
    await client.publishAsync(heartbeat, "{}", { qos: 1 });
    await client.publishAsync(heartbeat, "{}", { qos: 1 });
    assert.equal(node.mqtt!.cachedTopics!(), cachedBefore + 1);
  });

  test("a topic whose device id breaks the id rules is acknowledged and dead-lettered naming the id; the connection stays open", async () => {
    const c = new RawClient(Number(new URL(node.mqtt!.url).port));
    try {
      await c.connect({ clientId: "invalid-id" });
      // an uppercase id: on a chain directory its lookup threw (idToBytes32: INVALID_ID), the
      // message was failed as not stored, the connection closed and the device resent it forever
      c.write(publish(1, JSON.stringify(electricity(meter)), `carbonproof/v1/${meter.facilityId}/Dev-A/readings`));
      await waitFor(() => c.acks().includes(1), { what: "PUBACK of the invalid topic" });
      const dl = node.storage.listDeadLetters({ limit: 1 })[0]!;
      assert.equal(dl.reason, "topic");
      assert.match(dl.detail, /device id "Dev-A" is not a valid id/);
      assert.equal(dl.deviceId, null);
      const env = electricity(meter);
      c.write(publish(2, JSON.stringify(env), readingsTopic(meter.facilityId, meter.deviceId)));
      await waitFor(() => c.acks().includes(2), { what: "PUBACK of the next reading" });
      assert.equal(c.closed, false);
      assert.ok(node.storage.getReading(readingDigestHex(env.reading)));
    } finally {
      c.end();
    }
  });

  test("a single valid envelope over HTTP answers 201 with its digest", async () => {
    const env = electricity(meter);
    const res = await post(env);
    assert.equal(res.status, 201);
    const body = (await res.json()) as { status: string; digest: string };
    assert.equal(body.status, "stored");
    assert.equal(body.digest, readingDigestHex(env.reading));
  });

  test("HTTP ingest needs an API key of the facility", async () => {
    assert.equal((await post(electricity(meter), { "x-api-key": "cpk_wrong" })).status, 401);
    const other = createApiKey(node.storage, { scope: "facility", subject: "other-facility" }).key;
    const res = await post(electricity(meter), { "x-api-key": other });
    assert.equal(res.status, 422);
  });

  const cases: Array<[string, () => unknown, string]> = [
    [
      "schema",
      () => ({ reading: { ...electricity(meter).reading, m: { energyWh: 1.5 } }, sig: "0x" + "00".repeat(64) }),
      "schema",
    ],
    ["unknown device", () => electricity(makeDevice("ghost-meter")), "unknown-device"],
    ["suspended device", () => electricity(suspended), "device-inactive"],
    [
      "forged signature",
      () => {
        const a = electricity(meter);
        const b = electricity(meter, { energyWh: 999 });
        return { reading: a.reading, sig: b.sig };
      },
      "bad-signature",
    ],
    [
      "signature by another device's key",
      () => ({ ...electricity({ ...makeDevice("kangaita-meter-1") }) }),
      "bad-signature",
    ],
    ["future timestamp", () => electricity(meter, { ts: Math.floor(Date.now() / 1000) + 3600 }), "future-timestamp"],
    ["implausible value", () => flueGas(chimney, { co2Ppm: 900_000 }), "implausible"],
    ["not an envelope", () => ({ hello: "world" }), "malformed"],
  ];
  for (const [name, make, reason] of cases) {
    test(`rejects ${name} as ${reason} with the raw payload kept`, async () => {
      const body = make();
      const res = await post(body);
      assert.equal(res.status, 422);
      const out = (await res.json()) as { status: string; reason: string; deadLetterId: number };
      assert.equal(out.reason, reason);
      const dl = node.storage.listDeadLetters({ limit: 1 })[0]!;
      assert.equal(dl.id, out.deadLetterId);
      assert.equal(dl.reason, reason);
      assert.deepEqual(JSON.parse(dl.payload), body);
    });
  }

  test("rejects a replay over HTTP after the reading was stored", async () => {
    const env = electricity(meter);
    assert.equal((await post(env)).status, 201);
    const res = await post(env);
    assert.equal(res.status, 422);
    assert.equal(((await res.json()) as { reason: string }).reason, "replay");
  });

  test("malformed JSON is dead-lettered with its raw text", async () => {
    const res = await post("{not json");
    assert.equal(res.status, 422);
    const dl = node.storage.listDeadLetters({ limit: 1 })[0]!;
    assert.equal(dl.reason, "malformed");
    assert.equal(dl.payload, "{not json");
  });

  test("an oversized MQTT payload is dead-lettered as oversized, with its first 4 KiB and length, against its device", async () => {
    // over maxPayloadBytes (256 KiB) but within the packets the endpoint reads whole: the same
    // record as for one it skips unread (the tests of mqtt.requireAuth below)
    const big = JSON.stringify({ reading: { pad: "x".repeat(300_000) } });
    await client.publishAsync(readingsTopic(meter.facilityId, meter.deviceId), big, { qos: 1 });
    const dl = node.storage.listDeadLetters({ limit: 1 })[0]!;
    assert.equal(dl.reason, "oversized");
    assert.equal(dl.deviceId, meter.deviceId);
    assert.equal(dl.payload, big.slice(0, 4096));
    assert.match(dl.detail, new RegExp(`^${big.length} bytes > limit 262144; the first 4096 bytes are kept$`));
  });

  test("an oversized HTTP body is refused with 413 and dead-lettered with its first 4 KiB and length", async () => {
    const body = JSON.stringify({ pad: "x".repeat(1_100_000) });
    const res = await post(body);
    assert.equal(res.status, 413);
    assert.match(((await res.json()) as { message: string }).message, /over the limit/);
    const dl = node.storage.listDeadLetters({ limit: 1 })[0]!;
    assert.equal(dl.reason, "oversized");
    assert.equal(dl.source, "http");
    assert.equal(dl.payload, body.slice(0, 4096));
    assert.match(dl.detail, new RegExp(`^${body.length} bytes > limit`));
  });

  test("an oversized body sent without a length (chunked) is dead-lettered too", async () => {
    const chunk = new TextEncoder().encode("x".repeat(64 * 1024));
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(c) {
        if (sent++ < 20) c.enqueue(chunk);
        else c.close();
      },
    });
    const res = await fetch(`${node.httpUrl}/v1/readings`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-api-key": key },
      body: stream,
      duplex: "half",
    } as RequestInit);
    assert.equal(res.status, 413);
    const dl = node.storage.listDeadLetters({ limit: 1 })[0]!;
    assert.equal(dl.reason, "oversized");
    assert.equal(dl.payload, "x".repeat(4096));
  });

  test("a batch of envelopes over HTTP answers per envelope", async () => {
    const good = electricity(meter);
    const res = await post([good, electricity(makeDevice("ghost-2"))]);
    assert.equal(res.status, 200);
    const body = (await res.json()) as {
      accepted: number;
      rejected: number;
      results: Array<{ status: string; reason?: string }>;
    };
    assert.equal(body.accepted, 1);
    assert.equal(body.results[1]!.reason, "unknown-device");
  });

  test("a rotated key verifies readings made before the rotation, not after", async () => {
    const dev = makeDevice("kangaita-meter-9");
    const next = makeDevice("kangaita-meter-9");
    const rotatedAt = Math.floor(Date.now() / 1000) - 100;
    node.devices.set({
      deviceId: dev.deviceId,
      facilityId: dev.facilityId,
      status: "active",
      keys: [
        { publicKey: dev.publicKey, validFrom: 0, validUntil: rotatedAt },
        { publicKey: next.publicKey, validFrom: rotatedAt, validUntil: null },
      ],
    });
    assert.equal((await post(electricity(dev, { ts: rotatedAt - 10 }))).status, 201, "old key, old reading");
    const late = await post(electricity(dev, { ts: rotatedAt + 10 }));
    assert.equal(((await late.json()) as { reason: string }).reason, "bad-signature", "old key after rotation");
    next.seq = dev.seq;
    assert.equal((await post(electricity(next, { ts: rotatedAt + 20 }))).status, 201, "new key after rotation");
  });

  test("GET /v1/dead-letters lists rejections by reason", async () => {
    const res = await fetch(`${node.httpUrl}/v1/dead-letters?reason=replay&limit=5`);
    const body = (await res.json()) as { deadLetters: Array<{ reason: string }> };
    assert.ok(body.deadLetters.length >= 1);
    assert.ok(body.deadLetters.every((d) => d.reason === "replay"));
  });

  test("answers CORS preflights and sets the allow-origin header for browsers", async () => {
    const pre = await fetch(`${node.httpUrl}/v1/readings`, {
      method: "OPTIONS",
      headers: { origin: "http://localhost:3000", "access-control-request-method": "POST" },
    });
    assert.equal(pre.status, 204);
    assert.equal(pre.headers.get("access-control-allow-origin"), "*");
    const get = await fetch(`${node.httpUrl}/v1/status`, { headers: { origin: "http://localhost:3000" } });
    assert.equal(get.headers.get("access-control-allow-origin"), "*");
  });

  test("/health, /ready, /metrics and /docs answer", async () => {
    assert.equal((await fetch(`${node.httpUrl}/health`)).status, 200);
    assert.equal((await fetch(`${node.httpUrl}/ready`)).status, 200);
    const metrics = await (await fetch(`${node.httpUrl}/metrics`)).text();
    assert.match(metrics, /carbonproof_oracle_readings_accepted_total\{source="mqtt"\} \d+/);
    assert.match(metrics, /carbonproof_oracle_readings_rejected_total\{reason="replay"\} \d+/);
    const openapi = (await (await fetch(`${node.httpUrl}/docs/json`)).json()) as { paths: Record<string, unknown> };
    assert.ok(openapi.paths["/v1/readings"]);
    assert.ok(openapi.paths["/v1/readings/{digest}"]);
  });
});

describe("embedded broker with mqtt.requireAuth", { timeout: 60_000 }, () => {
  const meter = makeDevice("kangaita-meter-1");
  let node: Awaited<ReturnType<typeof testNode>>;
  before(async () => {
    node = await testNode({ devices: [deviceInfo(meter)], config: { mqtt: { requireAuth: true } } });
  });
  after(async () => node.close());

  test("refuses a connection without a valid API key", async () => {
    await assert.rejects(
      mqtt.connectAsync(node.mqtt!.url, { reconnectPeriod: 0, username: meter.deviceId, password: "cpk_nope" }),
    );
  });

  test("accepts the device with its key, and dead-letters what it publishes for another device", async () => {
    const key = createApiKey(node.storage, { scope: "device", subject: meter.deviceId }).key;
    const c = await mqtt.connectAsync(node.mqtt!.url, { reconnectPeriod: 0, username: meter.deviceId, password: key });
    try {
      const env = electricity(meter);
      await c.publishAsync(readingsTopic(meter.facilityId, meter.deviceId), JSON.stringify(env), { qos: 1 });
      assert.ok(node.storage.getReading(readingDigestHex(env.reading)));
      const other = makeDevice("kangaita-meter-2");
      node.devices.set(deviceInfo(other));
      await c.publishAsync(readingsTopic(other.facilityId, other.deviceId), JSON.stringify(electricity(other)), {
        qos: 1,
      });
      assert.equal(node.storage.listDeadLetters({ limit: 1 })[0]?.reason, "forbidden-principal");
    } finally {
      await c.endAsync();
    }
  });

  test("a device another key names is not looked up: refused for the key first, over MQTT and HTTP", async () => {
    // the node's device directory, watched: with devices.source chain each lookup is an eth_call
    // the sender would choose
    const asked: string[] = [];
    const real = node.devices.get.bind(node.devices);
    node.devices.get = (id: string) => (asked.push(id), real(id));
    try {
      const key = createApiKey(node.storage, { scope: "device", subject: meter.deviceId }).key;
      const c = await mqtt.connectAsync(node.mqtt!.url, {
        reconnectPeriod: 0,
        username: meter.deviceId,
        password: key,
      });
      try {
        const ghost = makeDevice("ghost-meter-7");
        await c.publishAsync(readingsTopic(ghost.facilityId, ghost.deviceId), JSON.stringify(electricity(ghost)), {
          qos: 1,
        });
        assert.equal(node.storage.listDeadLetters({ limit: 1 })[0]?.reason, "forbidden-principal");
      } finally {
        await c.endAsync();
      }
      const facilityKey = createApiKey(node.storage, { scope: "facility", subject: meter.facilityId }).key;
      const elsewhere = makeDevice("gitugi-meter-7", "ktda-gitugi");
      const res = await fetch(`${node.httpUrl}/v1/readings`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-api-key": facilityKey },
        body: JSON.stringify(electricity(elsewhere)),
      });
      assert.equal(res.status, 422);
      assert.equal(((await res.json()) as { reason: string }).reason, "forbidden-principal");
      assert.deepEqual(asked, [], "no lookup of a device the key may not publish for");
    } finally {
      node.devices.get = real;
    }
  });
});

describe("an oversized PUBLISH on the embedded endpoint with mqtt.requireAuth", { timeout: 60_000 }, () => {
  const meter = makeDevice("kangaita-meter-1");
  let node: Awaited<ReturnType<typeof testNode>>;
  let port: number;
  const clients: RawClient[] = [];
  const raw = () => {
    const c = new RawClient(port);
    clients.push(c);
    return c;
  };
  /** above mqtt.maxPayloadBytes plus the largest topic: skipped as it comes, not held */
  const big = Buffer.alloc(400_000, "q");
  before(async () => {
    node = await testNode({ devices: [deviceInfo(meter)], config: { mqtt: { requireAuth: true } } });
    port = Number(new URL(node.mqtt!.url).port);
  });
  after(async () => {
    for (const c of clients) c.end();
    await node.close();
  });

  test("as the first packet, before CONNECT: the connection is closed, nothing is dead-lettered or acknowledged", async () => {
    const c = raw();
    c.write(publish(1, big, readingsTopic(meter.facilityId, meter.deviceId)));
    await waitFor(() => c.closed, { what: "connection closed" });
    assert.deepEqual(c.acks(), []);
    assert.equal(node.storage.listDeadLetters({ limit: 10 }).length, 0);
  });

  test("for a device the key may not publish for: dead-lettered and acknowledged, not counted against that device", async () => {
    const key = createApiKey(node.storage, { scope: "device", subject: meter.deviceId }).key;
    const c = raw();
    const connack = await c.connect({ clientId: "big-sender", username: meter.deviceId, password: Buffer.from(key) });
    assert.equal(connack.returnCode, 0);
    c.write(publish(1, big, readingsTopic(meter.facilityId, "kangaita-meter-2")));
    await waitFor(() => c.acks().includes(1), { what: "PUBACK of the other device's" });
    const other = node.storage.listDeadLetters({ limit: 1 })[0]!;
    assert.equal(other.reason, "oversized");
    assert.equal(other.deviceId, null);
    assert.match(other.detail, /not counted against device kangaita-meter-2/);
    assert.equal(node.storage.listDeadLetters({ limit: 10, deviceId: "kangaita-meter-2" }).length, 0);
    // its own device's: counted against it, as before
    c.write(publish(2, big, readingsTopic(meter.facilityId, meter.deviceId)));
    await waitFor(() => c.acks().includes(2), { what: "PUBACK of its own" });
    const own = node.storage.listDeadLetters({ limit: 1 })[0]!;
    assert.equal(own.reason, "oversized");
    assert.equal(own.deviceId, meter.deviceId);
    assert.equal(c.closed, false);
  });
});

for (const embedded of ["ingest", "aedes"] as const)
  describe(`embedded ${embedded} endpoint: a key revoked while its connection is open`, { timeout: 60_000 }, () => {
    const meter = makeDevice("kangaita-meter-1");
    const other = makeDevice("kangaita-meter-2");
    let node: Awaited<ReturnType<typeof testNode>>;
    before(async () => {
      node = await testNode({
        devices: [deviceInfo(meter), deviceInfo(other)],
        config: { mqtt: { requireAuth: true, embedded, keyRecheckMs: 200 } },
      });
    });
    after(async () => node.close());

    test("closes that connection within a recheck, and only that one", async () => {
      const revoked = createApiKey(node.storage, { scope: "device", subject: meter.deviceId });
      const kept = createApiKey(node.storage, { scope: "device", subject: other.deviceId }).key;
      const a = await mqtt.connectAsync(node.mqtt!.url, {
        clientId: `revoked-${embedded}`,
        reconnectPeriod: 0,
        username: meter.deviceId,
        password: revoked.key,
      });
      const b = await mqtt.connectAsync(node.mqtt!.url, {
        clientId: `kept-${embedded}`,
        reconnectPeriod: 0,
        username: other.deviceId,
        password: kept,
      });
      try {
        const env = electricity(meter);
        await a.publishAsync(readingsTopic(meter.facilityId, meter.deviceId), JSON.stringify(env), { qos: 1 });
        assert.ok(node.storage.getReading(readingDigestHex(env.reading)), "taken while its key is valid");
        let closedAt = 0;
        a.on("close", () => (closedAt ||= Date.now()));
        // as `keys api-revoke` does from another process: only the database changes
        const t0 = Date.now();
        assert.ok(node.storage.revokeApiKey(revoked.id, t0));
        await waitFor(() => closedAt > 0, { timeoutMs: 5_000, what: "the revoked key's connection closed" });
        assert.ok(closedAt - t0 < 2_000, `closed ${closedAt - t0} ms after the revocation`);
        const late = electricity(other);
        await b.publishAsync(readingsTopic(other.facilityId, other.deviceId), JSON.stringify(late), { qos: 1 });
        assert.ok(node.storage.getReading(readingDigestHex(late.reading)), "the other key's connection goes on");
        assert.equal(b.connected, true);
        // and it cannot come back with that key
        await assert.rejects(
          mqtt.connectAsync(node.mqtt!.url, { reconnectPeriod: 0, username: meter.deviceId, password: revoked.key }),
        );
      } finally {
        await Promise.all([a.endAsync(true), b.endAsync()]);
      }
    });
  });

describe("a storage error while a reading is checked on the MQTT hot path", { timeout: 60_000 }, () => {
  // One verification thread: messages handed on in one event-loop turn are prepared in one worker
  // batch, and the worker's answer is taken message by message in its `message` listener.
  const a = makeDevice("kangaita-meter-1");
  const b = makeDevice("kangaita-meter-2");
  const c = makeDevice("kangaita-meter-3");
  const d = makeDevice("kangaita-meter-4");
  let node: Awaited<ReturnType<typeof testNode>>;
  before(async () => {
    node = await testNode({
      config: { validation: { verifyWorkers: 1 } },
      devices: [deviceInfo(a), deviceInfo(b), deviceInfo(c), deviceInfo(d)],
    });
  });
  after(() => node.close());

  /**
   * The node's real SQLite storage, but `method` throws once for `deviceId`: it stands for storage
   * failing for one call (a PostgreSQL connection reset during a blip, SQLITE_IOERR).
   */
  function failOnce(method: "maxSeq" | "listReadings", deviceId: string): { failures: () => number } {
    const storage = node.storage as unknown as Record<string, (...args: unknown[]) => unknown>;
    const real = storage[method]!.bind(node.storage);
    let failures = 0;
    storage[method] = (...args: unknown[]) => {
      const id = typeof args[0] === "string" ? args[0] : (args[0] as { deviceId?: string }).deviceId;
      if (id === deviceId && failures === 0) {
        failures++;
        throw new Error(`stand-in: the storage connection was reset during ${method}`);
      }
      return real(...args);
    };
    return { failures: () => failures };
  }

  test("fails only that message of the worker batch; the others are stored and acknowledged, the node goes on", async () => {
    // a's first reading: its highest stored seq is looked up (maxSeq) for the replay step
    const blip = failOnce("maxSeq", a.deviceId);
    const outcomes = new Map<number, { failed: boolean; err?: unknown }>();
    const acks: AckSink = { settled: (token, failed, err) => outcomes.set(token, { failed, err }) };
    const envs = [electricity(a), electricity(b), electricity(c)];
    const max = node.common.config.mqtt.maxPayloadBytes;
    // in one turn: one worker batch, a's message first in it
    envs.forEach((env, i) =>
      node.ingestor.submitMessage(Buffer.from(JSON.stringify(env)), env.reading, undefined, max, acks, i + 1),
    );
    await waitFor(() => outcomes.size === 3, { what: "every message of the batch settled" });
    assert.equal(blip.failures(), 1);
    assert.equal(outcomes.get(1)!.failed, true, "a's message is not acknowledged");
    assert.match(String((outcomes.get(1)!.err as Error).message), /could not check the reading against storage/);
    assert.equal(outcomes.get(2)!.failed, false);
    assert.equal(outcomes.get(3)!.failed, false);
    assert.equal(node.storage.getReading(readingDigestHex(envs[0]!.reading)), null);
    assert.ok(node.storage.getReading(readingDigestHex(envs[1]!.reading)));
    assert.ok(node.storage.getReading(readingDigestHex(envs[2]!.reading)));
    // resent, a's reading is stored: nothing lost
    const resent = new Map<number, boolean>();
    node.ingestor.submitMessage(
      Buffer.from(JSON.stringify(envs[0])),
      envs[0]!.reading,
      undefined,
      max,
      { settled: (token, failed) => resent.set(token, failed) },
      1,
    );
    await waitFor(() => resent.has(1));
    assert.equal(resent.get(1), false);
    assert.ok(node.storage.getReading(readingDigestHex(envs[0]!.reading)));
  });

  test("over MQTT: the message is not acknowledged and its connection is closed; resent, it is stored once", async () => {
    // d's first reading seeds its anomaly window from its stored readings (listReadings)
    const blip = failOnce("listReadings", d.deviceId);
    const port = Number(new URL(node.mqtt!.url).port);
    const env = electricity(d);
    const first = new RawClient(port);
    try {
      await first.connect({ clientId: "blip" });
      first.write(publish(1, JSON.stringify(env), readingsTopic(d.facilityId, d.deviceId)));
      await waitFor(() => first.closed, { what: "connection closed" });
      assert.deepEqual(first.acks(), []);
      assert.equal(blip.failures(), 1);
      assert.equal(node.storage.getReading(readingDigestHex(env.reading)), null);
    } finally {
      first.end();
    }
    const again = new RawClient(port);
    try {
      await again.connect({ clientId: "blip" });
      again.write(publish(1, JSON.stringify(env), readingsTopic(d.facilityId, d.deviceId)));
      await waitFor(() => again.acks().includes(1), { what: "PUBACK of the resent reading" });
      assert.ok(node.storage.getReading(readingDigestHex(env.reading)));
      assert.equal(node.storage.listDeadLetters({ limit: 10, deviceId: d.deviceId }).length, 0, "no replay");
    } finally {
      again.end();
    }
  });
});

describe("a payload that repeats a reading", { timeout: 60_000 }, () => {
  // Two verification threads, so the signature checks of one HTTP batch run in two halves that
  // answer in either order (a single thread would answer in the batch's order and hide the race).
  const meter = makeDevice("kangaita-meter-1");
  let node: Awaited<ReturnType<typeof testNode>>;
  let key: string;
  before(async () => {
    node = await testNode({ config: { validation: { verifyWorkers: 2 } }, devices: [deviceInfo(meter)] });
    key = createApiKey(node.storage, { scope: "facility", subject: "ktda-kangaita" }).key;
  });
  after(() => node.close());

  test("an HTTP batch stores the first copy and reports the later one as the replay, every time", async () => {
    for (let round = 0; round < 24; round++) {
      const batch = Array.from({ length: 10 }, () => electricity(meter));
      // the repeat goes last: its half of the batch is the shorter one, so without ordering its
      // signature check would often finish first and it would be the copy stored
      batch.push(batch[0]!);
      const res = await fetch(`${node.httpUrl}/v1/readings`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-api-key": key },
        body: JSON.stringify(batch),
      });
      assert.equal(res.status, 200);
      const body = (await res.json()) as { accepted: number; results: Array<{ status: string; reason?: string }> };
      assert.equal(body.accepted, 10, `round ${round}`);
      assert.equal(body.results[0]!.status, "stored", `round ${round}: the first copy is stored`);
      assert.equal(body.results[10]!.reason, "replay", `round ${round}: the repeat is the replay`);
    }
  });
});
