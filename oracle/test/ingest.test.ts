import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import mqtt from "mqtt";
import { readingDigestHex } from "../../sdk/src/index.ts";
import { createApiKey } from "../src/api/keys.ts";
import { readingsTopic } from "../src/ingest/mqtt.ts";
import { deviceInfo, electricity, flueGas, makeDevice, testNode } from "./fixtures.ts";

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

  test("an oversized MQTT payload is dead-lettered as oversized", async () => {
    const big = JSON.stringify({ reading: { pad: "x".repeat(300_000) } });
    await client.publishAsync(readingsTopic(meter.facilityId, meter.deviceId), big, { qos: 1 });
    const dl = node.storage.listDeadLetters({ limit: 1 })[0]!;
    assert.equal(dl.reason, "oversized");
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
