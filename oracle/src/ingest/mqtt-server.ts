import { createServer, type Server, type Socket } from "node:net";
import { isUtf8 } from "node:buffer";
import * as mqttPacket from "mqtt-packet";
import type { Logger } from "pino";

/**
 * The embedded MQTT endpoint for devices: an ingest-only MQTT 3.1 / 3.1.1 server.
 *
 * Devices only publish (docs/protocol.md); nothing in the node subscribes. aedes, a whole broker,
 * spent ~20 µs of the main thread on each message (parser debug calls, its publish pipeline and
 * topic matching for subscribers there are none of) and read a connection's next socket chunk
 * only once every message of the chunk was acknowledged, so readings went through verification
 * and commit in waves. This server frames PUBLISH packets itself, hands each to `onPublish` as
 * it arrives (up to a bounded number in flight per connection and overall, then the socket is
 * paused: TCP pushes back on the device), and writes the PUBACKs of a connection in the order of
 * its PUBLISHes ([MQTT-4.6.0-2]), each once its outcome is reported (`acks.settled`), i.e. the
 * reading or its dead letter is durable. Rare packets (CONNECT, SUBSCRIBE, UNSUBSCRIBE) are parsed by
 * mqtt-packet, the codec of mqtt.js and aedes. docs/oracle.md, "MQTT", has the measurements.
 *
 * What it does not do, as an ingest endpoint: deliver messages. SUBSCRIBE is answered with
 * failure return codes (0x80, §3.9.3); wills and the retain flag are accepted and ignored.
 * Set `mqtt.embedded: "aedes"` for a whole in-process broker, or use an external one.
 */

/** `keyHash`: the SHA-256 of the API key it connected with (as stored), to check it again later. */
export type MqttPrincipal = { scope: "facility" | "device" | "admin"; subject: string; keyHash?: string };

export interface IngestServerOptions {
  host: string;
  port: number;
  logger: Logger;
  /**
   * CONNECT: null accepts without a principal; a principal accepts with it; "bad-credentials"
   * answers CONNACK return code 4, "not-authorized" 5, and closes.
   */
  authenticate(
    clientId: string,
    username: string | undefined,
    password: Buffer | undefined,
  ): MqttPrincipal | null | "bad-credentials" | "not-authorized";
  /**
   * A PUBLISH to handle. Once its outcome is durable, `acks.settled(token, false)` acknowledges
   * it; `settled(token, true, err)` leaves it unacknowledged and closes the connection. (A sink
   * and a number, not a promise: a reading in flight then costs the main thread no promise,
   * closure or acknowledgement object; docs/oracle.md, "Benchmark".)
   */
  onPublish(topic: string, payload: Buffer, principal: MqttPrincipal | null, acks: AckSink, token: number): void;
  /** A PUBLISH larger than `maxPacketBytes`: not buffered; its first bytes and size are reported, then it is acknowledged as handled once this resolves. */
  onOversized(topic: string, head: Buffer, payloadBytes: number, principal: MqttPrincipal | null): Promise<void>;
  /** Largest packet buffered whole (its remaining length). */
  maxPacketBytes: number;
  /** Messages of one connection handed on and not yet acknowledged before its socket is paused. */
  maxInflightPerConnection?: number;
  /** The same over all connections. */
  maxInflight?: number;
  /** A connection must send CONNECT within this (ms). */
  connectTimeoutMs?: number;
}

/** Where a message's outcome is reported: its connection, with the message's `token` there. */
export interface AckSink {
  settled(token: number, failed: boolean, err?: unknown): void;
}

export interface IngestServer {
  readonly url: string;
  readonly port: number;
  /** Connections open now. */
  connectionCount(): number;
  /** The principals of the connections open now (logged in with one). */
  principals(): MqttPrincipal[];
  /** Closes the connections whose principal `drop` picks, saying `why` in the log; how many. */
  closeWhere(drop: (principal: MqttPrincipal) => boolean, why: string): number;
  close(): Promise<void>;
}

const PINGRESP = Buffer.from([0xd0, 0x00]);
const OVERSIZED_HEAD_BYTES = 4096;
/** Longest PUBLISH variable header: topic length, topic, packet id (§3.3.2). */
const PUBLISH_HEADER_MAX = 2 + 65_535 + 2;

/**
 * One acknowledgement a connection owes, in PUBLISH order, packed in a small integer: the packet
 * id (bits 0–15), the acknowledgement's packet type (16–19), settled and failed flags.
 */
const SETTLED = 1 << 20,
  FAILED = 1 << 21;
const owedId = (o: number) => o & 0xffff;
const owedAck = (o: number) => (o >> 16) & 0x0f;
/** A QoS 0 message: no acknowledgement owed. */
const NO_ACK = -1;

/** MQTT control packet types (§2.2.1). */
const CONNECT = 1,
  PUBLISH = 3,
  PUBACK = 4,
  PUBREC = 5,
  PUBREL = 6,
  PUBCOMP = 7,
  SUBSCRIBE = 8,
  UNSUBSCRIBE = 10,
  PINGREQ = 12,
  DISCONNECT = 14;

class ProtocolError extends Error {}

export async function startIngestServer(opts: IngestServerOptions): Promise<IngestServer> {
  const log = opts.logger;
  const perConnection = opts.maxInflightPerConnection ?? 256;
  const overall = opts.maxInflight ?? 8192;
  const connectTimeoutMs = opts.connectTimeoutMs ?? 10_000;
  const connections = new Set<Connection>();
  const byClientId = new Map<string, Connection>();
  let inflight = 0;
  /** Connections paused because the overall limit was reached. */
  const starved = new Set<Connection>();
  let warnedSubscribe = false;

  class Connection implements AckSink {
    readonly socket: Socket;
    clientId: string | null = null;
    principal: MqttPrincipal | null = null;
    closed = false;
    inflight = 0;
    paused = false;
    #pausedForWrite = false;
    /** Bytes of a packet not yet complete: chunks and their total length. */
    #chunks: Buffer[] = [];
    #buffered = 0;
    /** Bytes still to skip of an oversized PUBLISH, and what is kept of it. */
    #skip = 0;
    #skipHead: Buffer[] = [];
    #skipHeadBytes = 0;
    #skipInfo: { topic: string; payloadBytes: number; token: number } | null = null;
    /** Acknowledgements owed (packed, see SETTLED); `#owed[i]` is message token `#base + i`. */
    #owed: number[] = [];
    #base = 0;
    #head = 0;
    #flushScheduled = false;
    /** QoS 2 packet ids handed on whose PUBREL has not come (§4.3.3, method B). */
    readonly #awaitingRel = new Set<number>();
    #keepAlive: NodeJS.Timeout | null = null;
    /** DISCONNECT came: nothing more is read; the socket ends once the acknowledgements owed are out. */
    #disconnecting = false;

    constructor(socket: Socket) {
      this.socket = socket;
      socket.setNoDelay(true);
      this.#keepAlive = setTimeout(() => this.destroy("no CONNECT in time"), connectTimeoutMs);
      socket.on("data", (chunk: Buffer) => this.#onData(chunk));
      socket.on("error", (err) => log.debug({ err, client: this.clientId }, "MQTT connection error"));
      socket.on("close", () => this.#onClose());
      socket.on("drain", () => {
        this.#pausedForWrite = false;
        this.#updateFlow();
      });
    }

    destroy(reason: string): void {
      if (this.closed) return;
      log.debug({ client: this.clientId, reason }, "closing MQTT connection");
      this.closed = true;
      this.socket.destroy();
    }

    #onClose(): void {
      this.closed = true;
      if (this.#keepAlive) clearTimeout(this.#keepAlive);
      connections.delete(this);
      starved.delete(this);
      if (this.clientId !== null && byClientId.get(this.clientId) === this) byClientId.delete(this.clientId);
    }

    #onData(chunk: Buffer): void {
      if (this.closed || this.#disconnecting) return;
      if (this.clientId !== null) this.#keepAlive?.refresh();
      this.#guarded(() => this.#consume(chunk));
    }

    /** Runs a framing step; a protocol error closes the connection. */
    #guarded(step: () => void): void {
      try {
        step();
      } catch (err) {
        if (!(err instanceof ProtocolError)) throw err;
        log.warn({ client: this.clientId, err: err.message }, "MQTT protocol error; connection closed");
        this.destroy(err.message);
      }
    }

    /** Frames packets (§2.2.3 remaining length) out of the byte stream. */
    #consume(chunk: Buffer): void {
      if (this.#skip > 0) chunk = this.#skipBytes(chunk);
      if (chunk.length === 0) return;
      if (this.#buffered === 0) return this.#frame(chunk);
      this.#chunks.push(chunk);
      this.#buffered += chunk.length;
      if (this.#buffered >= this.#need()) this.#frameBuffered();
    }

    #frameBuffered(): void {
      const buf = this.#chunks.length === 1 ? this.#chunks[0]! : Buffer.concat(this.#chunks, this.#buffered);
      this.#chunks = [];
      this.#buffered = 0;
      this.#frame(buf);
    }

    /**
     * Hands on the whole packets at the start of `buf` and keeps the rest. Stops at the
     * in-flight limit (the socket is paused then), so that one large chunk cannot go past it.
     */
    #frame(buf: Buffer): void {
      let off = 0;
      while (off < buf.length && !this.closed && !this.#disconnecting && !this.paused) {
        if (buf.length - off < 2) break;
        const first = buf[off]!;
        let len = 0;
        let mult = 1;
        let i = off + 1;
        let complete = false;
        for (let n = 0; n < 4 && i < buf.length; n++) {
          const b = buf[i++]!;
          len += (b & 0x7f) * mult;
          mult *= 128;
          if ((b & 0x80) === 0) {
            complete = true;
            break;
          }
          if (n === 3) throw new ProtocolError("malformed remaining length");
        }
        if (!complete) break;
        if (len > opts.maxPacketBytes) {
          // as #packet does: nothing is taken from a connection that did not log in
          if (this.clientId === null && first >> 4 !== CONNECT) throw new ProtocolError("first packet is not CONNECT");
          if (first >> 4 !== PUBLISH) throw new ProtocolError(`packet of ${len} bytes`);
          // an oversized PUBLISH: once its header is here (topic ≤ 65,535 bytes), the rest is skipped
          if (buf.length - i < PUBLISH_HEADER_MAX) break;
          this.#startSkip(first, buf, i, len);
          off = buf.length;
          break;
        }
        if (buf.length - i < len) break;
        this.#packet(first, buf, off, i, i + len);
        off = i + len;
      }
      if (off < buf.length && !this.closed && !this.#disconnecting) {
        const rest = buf.subarray(off);
        this.#chunks = [rest];
        this.#buffered = rest.length;
      }
    }

    /** Bytes needed for the buffered packet to be complete, or its header readable. */
    #need(): number {
      const c = this.#chunks;
      while (c[0]!.length < 5 && c.length > 1) c.splice(0, 2, Buffer.concat([c[0]!, c[1]!]));
      const head = c[0]!;
      if (head.length < 2) return 2;
      let len = 0;
      let mult = 1;
      for (let i = 1; i < 5; i++) {
        if (i >= head.length) return head.length + 1;
        const b = head[i]!;
        len += (b & 0x7f) * mult;
        mult *= 128;
        if ((b & 0x80) === 0) {
          return i + 1 + (len > opts.maxPacketBytes ? PUBLISH_HEADER_MAX : len);
        }
      }
      return 0; // malformed: let the framer throw
    }

    #startSkip(first: number, buf: Buffer, start: number, len: number): void {
      const { topic, payloadStart } = this.#publishHeader(first, buf, start, start + len);
      const token = this.#owe(first, buf, payloadStart);
      const payloadBytes = start + len - payloadStart;
      this.#skipInfo = { topic, payloadBytes, token };
      this.#skipHead = [];
      this.#skipHeadBytes = 0;
      this.#skip = start + len - payloadStart;
      const rest = this.#skipBytes(buf.subarray(payloadStart));
      if (rest.length > 0) this.#consume(rest);
    }

    /** Consumes the oversized PUBLISH's payload from `chunk`; returns the bytes after it. */
    #skipBytes(chunk: Buffer): Buffer {
      const n = Math.min(this.#skip, chunk.length);
      if (this.#skipHeadBytes < OVERSIZED_HEAD_BYTES) {
        const keep = chunk.subarray(0, Math.min(n, OVERSIZED_HEAD_BYTES - this.#skipHeadBytes));
        this.#skipHead.push(Buffer.from(keep));
        this.#skipHeadBytes += keep.length;
      }
      this.#skip -= n;
      if (this.#skip === 0) {
        const info = this.#skipInfo!;
        this.#skipInfo = null;
        const head = Buffer.concat(this.#skipHead);
        this.#skipHead = [];
        const token = info.token;
        this.#started();
        opts.onOversized(info.topic, head, info.payloadBytes, this.principal).then(
          () => this.settled(token, false),
          (err: unknown) => this.settled(token, true, err),
        );
      }
      return chunk.subarray(n);
    }

    /** One whole packet: `buf[at]` is its first byte, `buf[start, end)` what follows its remaining length. */
    #packet(first: number, buf: Buffer, at: number, start: number, end: number): void {
      const type = first >> 4;
      if (this.clientId === null && type !== CONNECT) throw new ProtocolError("first packet is not CONNECT");
      switch (type) {
        case PUBLISH: {
          const { topic, payloadStart } = this.#publishHeader(first, buf, start, end);
          const token = this.#owe(first, buf, payloadStart);
          if (token !== NO_ACK) {
            const o = this.#owed[token - this.#base]!;
            if (owedAck(o) === PUBREC) {
              if (this.#awaitingRel.has(owedId(o))) {
                // a QoS 2 PUBLISH whose PUBREC is owed or went out: handed on once already (§4.3.3)
                this.#owed[token - this.#base] = o | SETTLED;
                this.#scheduleFlush();
                return;
              }
              this.#awaitingRel.add(owedId(o));
            }
          }
          this.#started();
          try {
            opts.onPublish(topic, buf.subarray(payloadStart, end), this.principal, this, token);
          } catch (err) {
            this.settled(token, true, err);
          }
          return;
        }
        case PUBREL: {
          if ((first & 0x0f) !== 0x02 || end - start !== 2) throw new ProtocolError("malformed PUBREL");
          const id = buf.readUInt16BE(start);
          this.#awaitingRel.delete(id);
          this.#owed.push(id | (PUBCOMP << 16) | SETTLED);
          this.#scheduleFlush();
          return;
        }
        case PINGREQ:
          this.#write(PINGRESP);
          return;
        case DISCONNECT:
          // a clean disconnect: the will is discarded (§3.14.4); acknowledgements still owed go out first
          this.#flush();
          this.#disconnecting = true;
          if (this.#head === this.#owed.length) this.socket.end();
          return;
        case PUBACK:
        case PUBREC:
        case PUBCOMP:
          // this server never publishes at QoS > 0, so no such packet can be owed to it
          throw new ProtocolError(`unexpected packet type ${type}`);
        case CONNECT:
        case SUBSCRIBE:
        case UNSUBSCRIBE:
          return this.#rare(type, buf.subarray(at, end), start - at);
        default:
          throw new ProtocolError(`packet type ${type} is not sent by clients`);
      }
    }

    /** PUBLISH variable header (§3.3.2): topic and, at QoS > 0, packet id. */
    #publishHeader(first: number, buf: Buffer, start: number, end: number): { topic: string; payloadStart: number } {
      const qos = (first >> 1) & 3;
      if (qos === 3) throw new ProtocolError("PUBLISH with QoS 3"); // [MQTT-3.3.1-4]
      if (end - start < 2) throw new ProtocolError("PUBLISH without a topic");
      const topicLen = buf.readUInt16BE(start);
      const topicEnd = start + 2 + topicLen;
      if (topicEnd + (qos > 0 ? 2 : 0) > end) throw new ProtocolError("PUBLISH shorter than its topic");
      const topicBytes = buf.subarray(start + 2, topicEnd);
      if (!isUtf8(topicBytes)) throw new ProtocolError("topic is not UTF-8"); // [MQTT-1.5.3-1]
      const topic = topicBytes.toString("utf8");
      if (topic.length === 0) throw new ProtocolError("empty topic"); // [MQTT-4.7.3-1]
      if (topic.includes("+") || topic.includes("#") || topic.includes("\u0000")) {
        throw new ProtocolError("wildcard or U+0000 in a PUBLISH topic"); // [MQTT-3.3.2-2], [MQTT-1.5.3-2]
      }
      if (topic.startsWith("$")) throw new ProtocolError("topics starting with $ are reserved to the server");
      return { topic, payloadStart: topicEnd + (qos > 0 ? 2 : 0) };
    }

    /** The acknowledgement a PUBLISH is owed, queued in order: its token, or NO_ACK at QoS 0. */
    #owe(first: number, buf: Buffer, payloadStart: number): number {
      const qos = (first >> 1) & 3;
      if (qos === 0) return NO_ACK;
      const id = buf.readUInt16BE(payloadStart - 2);
      if (id === 0) throw new ProtocolError("packet id 0"); // [MQTT-2.3.1-1]
      this.#owed.push(id | ((qos === 1 ? PUBACK : PUBREC) << 16));
      return this.#base + this.#owed.length - 1;
    }

    /** A message is handed on: counted in flight until `settled`. */
    #started(): void {
      this.inflight++;
      inflight++;
      this.#updateFlow();
    }

    /** AckSink: the outcome of message `token` is durable (or, failed, could not be stored). */
    settled(token: number, failed: boolean, err?: unknown): void {
      if (failed) log.error({ err, client: this.clientId }, "reading not stored; message left unacknowledged");
      this.inflight--;
      inflight--;
      if (token !== NO_ACK) {
        this.#owed[token - this.#base]! |= SETTLED | (failed ? FAILED : 0);
        this.#scheduleFlush();
      } else if (failed) this.destroy("a QoS 0 message was not stored");
      this.#updateFlow();
      if (inflight < (overall * 3) / 4 && starved.size > 0) {
        for (const c of starved) {
          starved.delete(c);
          c.#updateFlow();
        }
      }
    }

    #scheduleFlush(): void {
      if (this.#flushScheduled) return;
      this.#flushScheduled = true;
      // every message settled by one group commit resolves in the same turn: one write for all
      setImmediate(() => {
        this.#flushScheduled = false;
        this.#flush();
      });
    }

    /** Writes the acknowledgements owed at the head of the queue that are settled, in order. */
    #flush(): void {
      if (this.closed) return;
      const owed = this.#owed;
      let n = 0;
      let i = this.#head;
      while (i < owed.length && (owed[i]! & (SETTLED | FAILED)) === SETTLED) {
        i++;
        n++;
      }
      if (n > 0) {
        const out = Buffer.allocUnsafe(4 * n);
        for (let k = 0; k < n; k++) {
          const o = owed[this.#head + k]!;
          const ack = owedAck(o);
          out[4 * k] = ack === PUBCOMP ? 0x70 : ack << 4;
          out[4 * k + 1] = 2;
          out.writeUInt16BE(owedId(o), 4 * k + 2);
        }
        this.#head = i;
        this.#write(out);
      }
      if (i < owed.length && (owed[i]! & FAILED) !== 0) {
        // not stored: no acknowledgement for it or after it; the device resends after reconnecting
        this.destroy("a message was not stored");
        return;
      }
      if (this.#head === this.#owed.length) {
        this.#base += this.#owed.length;
        this.#owed = [];
        this.#head = 0;
        if (this.#disconnecting) this.socket.end();
      } else if (this.#head > 1024 && this.#head * 2 > this.#owed.length) {
        this.#base += this.#head;
        this.#owed = this.#owed.slice(this.#head);
        this.#head = 0;
      }
    }

    #write(bytes: Buffer): void {
      if (this.closed) return;
      if (!this.socket.write(bytes)) {
        // the client does not read its acknowledgements: stop reading its messages until it does
        this.#pausedForWrite = true;
        this.#updateFlow();
      }
    }

    #updateFlow(): void {
      if (this.closed) return;
      const overLimit = this.inflight >= perConnection || this.#pausedForWrite;
      const overallFull = inflight >= overall;
      if (overallFull && !overLimit) starved.add(this);
      const pause = overLimit || overallFull;
      if (pause && !this.paused) {
        this.paused = true;
        this.socket.pause();
      } else if (!pause && this.paused && this.inflight <= perConnection / 2) {
        this.paused = false;
        this.socket.resume();
        // packets read before the pause and not yet handed on; not from inside a settle
        if (this.#buffered > 0) {
          setImmediate(() => {
            if (!this.paused && !this.closed && this.#buffered > 0) this.#guarded(() => this.#frameBuffered());
          });
        }
      }
    }

    /** CONNECT, SUBSCRIBE and UNSUBSCRIBE, parsed whole by mqtt-packet. */
    #rare(type: number, packetBytes: Buffer, headerBytes: number): void {
      let packet: mqttPacket.Packet | null = null;
      let error: Error | null = null;
      const parser = mqttPacket.parser({ protocolVersion: 4 });
      parser.on("packet", (p: mqttPacket.Packet) => (packet = p));
      parser.on("error", (e: Error) => (error = e));
      parser.parse(packetBytes);
      if (type === CONNECT) {
        return this.#connect(packet as mqttPacket.IConnectPacket | null, error, packetBytes.subarray(headerBytes));
      }
      if (error || !packet)
        throw new ProtocolError(`malformed packet: ${(error as Error | null)?.message ?? "incomplete"}`);
      const p = packet as mqttPacket.ISubscribePacket | mqttPacket.IUnsubscribePacket;
      if (p.cmd === "subscribe") {
        // a SUBACK needs one code per filter: mqtt-packet throws outside ProtocolError on none
        if (!p.subscriptions.length) throw new ProtocolError("SUBSCRIBE without a topic filter"); // [MQTT-3.8.3-3]
        if (!warnedSubscribe) {
          warnedSubscribe = true;
          log.warn(
            { client: this.clientId },
            "SUBSCRIBE refused: the embedded MQTT endpoint only ingests (set mqtt.embedded to aedes, or use an external broker)",
          );
        }
        this.#write(
          mqttPacket.generate({
            cmd: "suback",
            messageId: p.messageId!,
            granted: p.subscriptions.map(() => 0x80),
          }),
        );
      } else {
        this.#write(mqttPacket.generate({ cmd: "unsuback", messageId: p.messageId!, granted: [] }));
      }
    }

    /** `body`: the CONNECT after its fixed header, to read the protocol name and level when mqtt-packet could not parse it. */
    #connect(packet: mqttPacket.IConnectPacket | null, error: Error | null, body: Buffer): void {
      if (this.clientId !== null) throw new ProtocolError("second CONNECT"); // [MQTT-3.1.0-2]
      if (error || !packet) {
        // protocol name and level (§3.1.2.1–2): an unsupported level is answered with return code 1
        const nameLen = body.length >= 2 ? body.readUInt16BE(0) : 0;
        const name = body.subarray(2, 2 + nameLen).toString("latin1");
        if ((name === "MQTT" || name === "MQIsdp") && body.length > 2 + nameLen) {
          return this.#refuse(1, `unsupported protocol level ${body[2 + nameLen]}`);
        }
        throw new ProtocolError(`malformed CONNECT: ${error?.message ?? "incomplete"}`);
      }
      const level = packet.protocolVersion;
      if (!((packet.protocolId === "MQTT" && level === 4) || (packet.protocolId === "MQIsdp" && level === 3))) {
        return this.#refuse(1, `unsupported protocol ${packet.protocolId} level ${level}`);
      }
      let clientId = packet.clientId ?? "";
      if (clientId === "") {
        // [MQTT-3.1.3-7/8]: an empty client id only with a clean session; the server names it
        if (!packet.clean) return this.#refuse(2, "empty client id without clean session");
        clientId = `auto-${Math.random().toString(36).slice(2)}-${Date.now().toString(36)}`;
      }
      const pw = packet.password === undefined ? undefined : Buffer.from(packet.password);
      const verdict = opts.authenticate(clientId, packet.username, pw);
      if (verdict === "bad-credentials") return this.#refuse(4, "bad user name or password");
      if (verdict === "not-authorized") return this.#refuse(5, "not authorized");
      this.principal = verdict;
      this.clientId = clientId;
      // [MQTT-3.1.4-2]: a second connection with the same client id takes over from the first
      const earlier = byClientId.get(clientId);
      if (earlier && earlier !== this) earlier.destroy("taken over by a new connection with its client id");
      byClientId.set(clientId, this);
      if (this.#keepAlive) clearTimeout(this.#keepAlive);
      this.#keepAlive = null;
      const keepaliveS = packet.keepalive ?? 0;
      if (keepaliveS > 0) {
        // [MQTT-3.1.2-24]: nothing received for one and a half keep-alive periods closes the connection
        this.#keepAlive = setTimeout(() => this.destroy("keep-alive expired"), keepaliveS * 1500);
        this.#keepAlive.unref();
      }
      // no session state is kept (nothing is delivered to clients), so session present is 0
      this.#write(Buffer.from([0x20, 0x02, 0x00, 0x00]));
    }

    #refuse(returnCode: number, reason: string): void {
      log.info({ reason }, "MQTT CONNECT refused");
      this.socket.end(Buffer.from([0x20, 0x02, 0x00, returnCode]));
      this.closed = true;
    }
  }

  const server: Server = createServer((socket) => {
    const c = new Connection(socket);
    connections.add(c);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, opts.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  server.on("error", (err) => log.error({ err }, "MQTT server error"));
  const addr = server.address();
  const port = typeof addr === "object" && addr ? addr.port : opts.port;
  return {
    url: `mqtt://${opts.host}:${port}`,
    port,
    connectionCount: () => connections.size,
    principals: () => [...connections].flatMap((c) => (c.principal ? [c.principal] : [])),
    closeWhere(drop, why) {
      let n = 0;
      for (const c of connections) if (c.principal && drop(c.principal)) (c.destroy(why), n++);
      return n;
    },
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const c of connections) c.destroy("server closing");
      await closed;
    },
  };
}
