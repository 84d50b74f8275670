import { after, before, beforeEach, describe, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import mqtt from "mqtt";
import * as mqttPacket from "mqtt-packet";
import pino from "pino";
import { startIngestServer, type IngestServer, type MqttPrincipal } from "../src/ingest/mqtt-server.ts";
import { waitFor } from "./helpers.ts";
import { publish, RawClient } from "./mqtt-raw.ts";

/**
 * The ingest-only MQTT server (src/ingest/mqtt-server.ts) on loopback, driven by mqtt.js (what
 * the simulator uses) and by raw sockets with packets from mqtt-packet (mqtt-raw.ts), so that byte
 * order, framing across TCP chunks and protocol errors can be checked exactly.
 */

type Handed = { topic: string; payload: Buffer; principal: MqttPrincipal | null; settle: (err?: Error) => void };

describe("ingest-only MQTT server", { timeout: 60_000 }, () => {
  let server: IngestServer;
  let handed: Handed[] = [];
  let oversized: Array<{ topic: string; head: Buffer; payloadBytes: number }> = [];
  /** onPublish resolves at once unless a test holds it */
  let hold = false;
  /** onPublish throws on a payload "boom" (a handler's bug) */
  let throwing = false;
  const clients: (RawClient | mqtt.MqttClient)[] = [];
  const raw = () => {
    const c = new RawClient(server.port);
    clients.push(c);
    return c;
  };

  before(async () => {
    server = await startIngestServer({
      host: "127.0.0.1",
      port: 0,
      logger: pino({ level: "silent" }),
      maxPacketBytes: 70_000,
      maxInflightPerConnection: 8,
      maxInflight: 64,
      connectTimeoutMs: 1_000,
      authenticate(_id, username, password) {
        if (username === undefined) return null;
        if (username === "meter-1" && password?.toString() === "cpk_good")
          return { scope: "device", subject: "meter-1" };
        if (username === "nobody") return "not-authorized";
        return "bad-credentials";
      },
      onPublish(topic, payload, principal, acks, token) {
        if (throwing && payload.toString() === "boom") throw new Error("a bug in the handler");
        const h: Handed = {
          topic,
          payload: Buffer.from(payload),
          principal,
          settle: (err) => acks.settled(token, err !== undefined, err),
        };
        handed.push(h);
        // settled within onPublish when not held: the server must take an outcome that soon
        if (!hold) h.settle();
      },
      async onOversized(topic, head, payloadBytes) {
        oversized.push({ topic, head, payloadBytes });
      },
    });
  });
  beforeEach(() => {
    handed = [];
    oversized = [];
    hold = false;
    throwing = false;
  });
  after(async () => {
    for (const c of clients) c instanceof RawClient ? c.end() : c.end(true);
    await server.close();
  });

  test("mqtt.js publishes at QoS 0, 1 and 2; each is handed on once, with its topic and payload", async () => {
    const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${server.port}`, { clientId: "js-1", reconnectPeriod: 0 });
    clients.push(c);
    await c.publishAsync("carbonproof/v1/f/d/readings", "one", { qos: 1 });
    await c.publishAsync("carbonproof/v1/f/d/readings", "two", { qos: 2 });
    await c.publishAsync("carbonproof/v1/f/d/heartbeat", "three", { qos: 0 });
    await waitFor(() => handed.length === 3);
    assert.deepEqual(
      handed.map((h) => [h.topic, h.payload.toString()]),
      [
        ["carbonproof/v1/f/d/readings", "one"],
        ["carbonproof/v1/f/d/readings", "two"],
        ["carbonproof/v1/f/d/heartbeat", "three"],
      ],
    );
    await c.endAsync();
  });

  test("a PUBACK goes out only once its message is settled, and in PUBLISH order when settled out of order", async () => {
    hold = true;
    const c = raw();
    await c.connect({ clientId: "order" });
    c.write(publish(1, "a"), publish(2, "b"), publish(3, "c"));
    await waitFor(() => handed.length === 3);
    handed[2]!.settle();
    handed[1]!.settle();
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(c.acks(), [], "nothing acknowledged before the first message is settled");
    handed[0]!.settle();
    await waitFor(() => c.acks().length === 3);
    assert.deepEqual(c.acks(), [1, 2, 3]);
  });

  test("a message that is not stored is not acknowledged, nor any after it; the connection is closed", async () => {
    hold = true;
    const c = raw();
    await c.connect({ clientId: "fail" });
    c.write(publish(1, "a"), publish(2, "b"), publish(3, "c"));
    await waitFor(() => handed.length === 3);
    handed[0]!.settle();
    handed[2]!.settle();
    handed[1]!.settle(new Error("disk full"));
    await waitFor(() => c.closed, { what: "connection closed" });
    assert.deepEqual(c.acks(), [1]);
  });

  test("a handler that throws: its message is not acknowledged, nor any after it; the connection is closed", async () => {
    throwing = true;
    const c = raw();
    await c.connect({ clientId: "throws" });
    c.write(publish(1, "a"), publish(2, "boom"), publish(3, "c"));
    await waitFor(() => c.closed, { what: "connection closed" });
    assert.deepEqual(c.acks(), [1]);
    // what it held in flight was given back: a later connection gets all its acknowledgements
    const d = raw();
    await d.connect({ clientId: "after-throws" });
    for (let i = 1; i <= 100; i++) d.write(publish(i, `m${i}`));
    await waitFor(() => d.acks().length === 100, { what: "100 PUBACKs" });
  });

  test("QoS 2: PUBREC once settled, a resent PUBLISH of the same id is not handed on again, PUBREL gets PUBCOMP", async () => {
    const c = raw();
    await c.connect({ clientId: "qos2" });
    c.write(publish(7, "x", undefined, 2));
    await waitFor(() => c.acks("pubrec").length === 1);
    c.write({ ...publish(7, "x", undefined, 2), dup: true });
    await waitFor(() => c.acks("pubrec").length === 2);
    c.write({ cmd: "pubrel", messageId: 7 });
    await waitFor(() => c.acks("pubcomp").length === 1);
    assert.equal(handed.length, 1);
    assert.deepEqual(c.acks("pubcomp"), [7]);
  });

  test("packets split across TCP chunks at every byte, or many in one chunk, are framed the same", async () => {
    const c = raw();
    await c.connect({ clientId: "split" });
    const payloads = Array.from({ length: 40 }, (_, i) => randomBytes(i * 37 + 1).toString("base64"));
    // a two-byte remaining length, a three-byte one, and plenty of one-byte ones
    payloads.push("y".repeat(300), "z".repeat(20_000));
    const bytes = Buffer.concat(payloads.map((p, i) => mqttPacket.generate(publish(i + 1, p))));
    let at = 0;
    while (at < bytes.length) {
      const n = at < 200 ? 1 : 1 + Math.floor(Math.random() * 3000);
      c.socket.write(bytes.subarray(at, at + n));
      at += n;
      if (at < 200) await new Promise((r) => setImmediate(r));
    }
    await waitFor(() => c.acks().length === payloads.length, { timeoutMs: 20_000 });
    assert.deepEqual(
      handed.map((h) => h.payload.toString()),
      payloads,
    );
    assert.deepEqual(
      c.acks(),
      payloads.map((_, i) => i + 1),
    );
  });

  test("at most maxInflightPerConnection messages are handed on before earlier ones settle", async () => {
    hold = true;
    const c = raw();
    await c.connect({ clientId: "flow" });
    c.write(...Array.from({ length: 30 }, (_, i) => publish(i + 1, `m${i}`)));
    await waitFor(() => handed.length === 8);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(handed.length, 8, "the socket is paused at the limit");
    for (const h of handed.slice(0, 6)) h.settle();
    await waitFor(() => handed.length > 8);
    hold = false;
    for (const h of handed) h.settle();
    await waitFor(() => {
      for (const h of handed) h.settle();
      return c.acks().length === 30;
    });
    assert.deepEqual(
      handed.map((h) => h.payload.toString()),
      Array.from({ length: 30 }, (_, i) => `m${i}`),
    );
  });

  test("a PUBLISH larger than maxPacketBytes is reported with its first 4 KiB, acknowledged, and the stream goes on", async () => {
    const c = raw();
    await c.connect({ clientId: "big" });
    const big = Buffer.alloc(200_000, "q");
    c.write(publish(1, "before"), publish(2, big), publish(3, "after"));
    await waitFor(() => c.acks().length === 3);
    assert.deepEqual(c.acks(), [1, 2, 3]);
    assert.deepEqual(
      handed.map((h) => h.payload.toString()),
      ["before", "after"],
    );
    assert.equal(oversized.length, 1);
    assert.equal(oversized[0]!.payloadBytes, 200_000);
    assert.equal(oversized[0]!.head.length, 4096);
    assert.equal(oversized[0]!.topic, "carbonproof/v1/f/d/readings");
  });

  test("a PUBLISH larger than maxPacketBytes before CONNECT closes the connection; nothing is reported or acknowledged", async () => {
    const c = raw();
    // no CONNECT: the oversized branch once skipped the "first packet is CONNECT" check and
    // reported (dead-lettered) and acknowledged this for anyone
    c.write(publish(1, Buffer.alloc(200_000, "q")));
    await waitFor(() => c.closed, { what: "connection closed" });
    assert.deepEqual(c.acks(), []);
    assert.equal(oversized.length, 0);
    assert.equal(handed.length, 0);
  });

  test("PINGREQ gets PINGRESP; SUBSCRIBE is refused with 0x80; UNSUBSCRIBE gets UNSUBACK", async () => {
    const c = raw();
    await c.connect({ clientId: "ping" });
    c.write({ cmd: "pingreq" });
    await waitFor(() => c.packets.some((p) => p.cmd === "pingresp"));
    c.write({
      cmd: "subscribe",
      messageId: 5,
      subscriptions: [
        { topic: "carbonproof/#", qos: 1 },
        { topic: "a/b", qos: 0 },
      ],
    });
    const suback = (await waitFor(() => c.packets.find((p) => p.cmd === "suback"))) as mqttPacket.ISubackPacket;
    assert.equal(suback.messageId, 5);
    assert.deepEqual(suback.granted, [0x80, 0x80]);
    c.write({ cmd: "unsubscribe", messageId: 6, unsubscriptions: ["a/b"] });
    const unsuback = (await waitFor(() => c.packets.find((p) => p.cmd === "unsuback"))) as mqttPacket.IUnsubackPacket;
    assert.equal(unsuback.messageId, 6);
    assert.equal(c.closed, false);
  });

  test("a SUBSCRIBE without a topic filter closes that connection; the server goes on", async () => {
    const c = raw();
    await c.connect({ clientId: "empty-subscribe" });
    // type 8 with flags 0b0010, remaining length 2: the message id and no filter (found by the fuzz test)
    c.write(Buffer.from([0x82, 0x02, 0x00, 0x07]));
    await waitFor(() => c.closed);
    assert.equal(
      c.packets.some((p) => p.cmd === "suback"),
      false,
    );
    const ok = raw();
    await ok.connect({ clientId: "after-empty-subscribe" });
    ok.write({ cmd: "pingreq" });
    await waitFor(() => ok.packets.some((p) => p.cmd === "pingresp"));
  });

  test("CONNECT return codes: protocol level 5 → 1, empty id without clean session → 2, bad key → 4, not authorized → 5", async () => {
    const cases: Array<[Partial<mqttPacket.IConnectPacket> | Buffer, number]> = [
      [{ protocolVersion: 5, clientId: "v5" }, 1],
      // empty client id, clean session 0 (mqtt-packet will not write it)
      [Buffer.from([0x10, 12, 0, 4, 0x4d, 0x51, 0x54, 0x54, 4, 0x00, 0, 0, 0, 0]), 2],
      [{ clientId: "m", username: "meter-1", password: Buffer.from("cpk_bad") }, 4],
      [{ clientId: "n", username: "nobody", password: Buffer.from("x") }, 5],
      [{ clientId: "ok", username: "meter-1", password: Buffer.from("cpk_good") }, 0],
    ];
    for (const [extra, code] of cases) {
      const c = raw();
      const connack = await c.connect(extra);
      assert.equal(connack.returnCode, code, JSON.stringify(extra));
      if (code !== 0) await waitFor(() => c.closed, { what: `closed after return code ${code}` });
      else {
        c.write(publish(1, "p"));
        await waitFor(() => handed.length === 1);
        assert.deepEqual(handed[0]!.principal, { scope: "device", subject: "meter-1" });
      }
    }
  });

  test("protocol errors close the connection and hand nothing on", async () => {
    const bad: Array<[string, (c: RawClient) => void, boolean]> = [
      ["PUBLISH before CONNECT", (c) => c.write(publish(1, "x")), false],
      ["wildcard in a PUBLISH topic", (c) => c.write(publish(1, "x", "carbonproof/v1/+/d/readings")), true],
      ["$ topic", (c) => c.write(publish(1, "x", "$SYS/x")), true],
      ["QoS 3", (c) => c.write(Buffer.from([0x36, 0x05, 0x00, 0x01, 0x61, 0x00, 0x01])), true],
      ["packet id 0", (c) => c.write(Buffer.from([0x32, 0x05, 0x00, 0x01, 0x61, 0x00, 0x00])), true],
      ["topic not UTF-8", (c) => c.write(Buffer.from([0x30, 0x04, 0x00, 0x02, 0xc3, 0x28])), true],
      [
        "a second CONNECT",
        (c) =>
          c.write({
            cmd: "connect",
            protocolId: "MQTT",
            protocolVersion: 4,
            clientId: "again",
          } as mqttPacket.IConnectPacket),
        true,
      ],
      ["a reserved packet type", (c) => c.write(Buffer.from([0xf0, 0x00])), true],
      ["a five-byte remaining length", (c) => c.write(Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x7f])), true],
      ["a non-PUBLISH packet over maxPacketBytes", (c) => c.write(Buffer.from([0x82, 0xff, 0xff, 0x7f])), true],
    ];
    for (const [what, send, connectFirst] of bad) {
      const c = raw();
      if (connectFirst) await c.connect({ clientId: `bad-${what}` });
      send(c);
      await waitFor(() => c.closed, { what: `closed on ${what}` });
    }
    assert.equal(handed.length, 0);
  });

  test("no CONNECT within the connect timeout, or silence past 1.5 keep-alive periods, closes the connection", async () => {
    const silent = raw();
    const sleepy = raw();
    await sleepy.connect({ clientId: "sleepy", keepalive: 1 });
    const t0 = Date.now();
    await waitFor(() => silent.closed && sleepy.closed, { timeoutMs: 5_000 });
    assert.ok(Date.now() - t0 >= 900);
  });

  test("a second connection with the same client id takes over from the first", async () => {
    const first = raw();
    await first.connect({ clientId: "same" });
    const second = raw();
    await second.connect({ clientId: "same" });
    await waitFor(() => first.closed);
    second.write(publish(1, "still here"));
    await waitFor(() => second.acks().length === 1);
  });

  test("DISCONNECT: the acknowledgements owed still go out, then the server closes", async () => {
    hold = true;
    const c = raw();
    await c.connect({ clientId: "bye" });
    c.write(publish(1, "a"), publish(2, "b"));
    await waitFor(() => handed.length === 2);
    c.socket.write(mqttPacket.generate({ cmd: "disconnect" }));
    await new Promise((r) => setTimeout(r, 30));
    for (const h of handed) h.settle();
    await waitFor(() => c.closed);
    assert.deepEqual(c.acks(), [1, 2]);
  });

  test("fuzz: random and mutated bytes never crash the server; it still serves a well-behaved client", async () => {
    const valid = Buffer.concat([
      mqttPacket.generate({
        cmd: "connect",
        protocolId: "MQTT",
        protocolVersion: 4,
        clientId: "fz",
        clean: true,
        keepalive: 0,
      }),
      mqttPacket.generate(publish(1, "hello")),
      mqttPacket.generate({ cmd: "subscribe", messageId: 2, subscriptions: [{ topic: "a", qos: 1 }] }),
      mqttPacket.generate({ cmd: "pingreq" }),
    ]);
    for (let round = 0; round < 300; round++) {
      const c = raw();
      const bytes = Buffer.from(round % 3 === 0 ? randomBytes(1 + (round % 200)) : valid);
      if (round % 3 !== 0)
        for (let k = 0; k < 1 + (round % 5); k++)
          bytes[Math.floor(Math.random() * bytes.length)] = Math.floor(Math.random() * 256);
      c.socket.write(bytes);
      c.socket.end();
      if (round % 50 === 49) await waitFor(() => server.connectionCount() < 20, { timeoutMs: 5_000 });
    }
    for (const h of handed) h.settle();
    const ok = raw();
    await ok.connect({ clientId: "after-fuzz" });
    ok.write(publish(9, "fine"));
    await waitFor(() => ok.acks().includes(9));
  });
});
