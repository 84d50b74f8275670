import { createServer, type Server } from "node:net";
import { readFileSync } from "node:fs";
import { Aedes } from "aedes";
import mqtt, { type IClientOptions, type IConnackPacket, type MqttClient } from "mqtt";
import { z } from "zod";
import type { Logger } from "pino";
import type { Common } from "../common.ts";
import type { Ingestor } from "./ingestor.ts";
import { HEARTBEAT_TOPIC_FILTER, type HeartbeatRecorder } from "./heartbeat.ts";
import type { Storage } from "../storage/types.ts";
import { authenticate as authenticateKey } from "../api/keys.ts";
import { startIngestServer, type MqttPrincipal } from "./mqtt-server.ts";
import { listenFailure } from "../listen.ts";
import { urlForMessages } from "../url-scrub.ts";
import { isValidId } from "../../../sdk/src/index.ts";

type AedesOptions = NonNullable<Parameters<typeof Aedes.createBroker>[0]>;
type AuthenticateHandler = NonNullable<AedesOptions["authenticate"]>;
type AuthorizePublishHandler = NonNullable<AedesOptions["authorizePublish"]>;

/** `carbonproof/v1/<facilityId>/<deviceId>/readings` (docs/protocol.md). */
export const READINGS_TOPIC_FILTER = "carbonproof/v1/+/+/readings";

/** Longest device topic: two ids of at most 32 characters (sdk ids.ts) and the longer channel. */
const MAX_DEVICE_TOPIC_LENGTH = "carbonproof/v1/".length + 32 + 1 + 32 + "/heartbeat".length;

type DeviceTopic = { facilityId: string; deviceId: string; channel: "readings" | "heartbeat" };

/**
 * A device topic (docs/protocol.md): `carbonproof/v1/<facilityId>/<deviceId>/readings`, or
 * `…/heartbeat` for device health, never attested, with valid ids. Null for any other topic.
 */
export function parseDeviceTopic(topic: string): DeviceTopic | null {
  const t = readDeviceTopic(topic);
  return typeof t === "string" ? null : t;
}

/**
 * `parseDeviceTopic`, or why the topic is not a device topic (its dead letter's detail). The ids
 * are checked here, at the edge: one that breaks the id rules would otherwise reach the device
 * lookup, whose `idToBytes32` throws, and the message would be failed and resent forever.
 */
function readDeviceTopic(topic: string): DeviceTopic | string {
  const expected = "expected carbonproof/v1/<facilityId>/<deviceId>/readings (or …/heartbeat)";
  if (topic.length > MAX_DEVICE_TOPIC_LENGTH) {
    return `a topic of ${topic.length} characters is longer than any device topic (${MAX_DEVICE_TOPIC_LENGTH}); ${expected}`;
  }
  const parts = topic.split("/");
  if (parts.length !== 5 || parts[0] !== "carbonproof" || parts[1] !== "v1") return `not a device topic; ${expected}`;
  const channel = parts[4];
  if (channel !== "readings" && channel !== "heartbeat") {
    return `channel ${JSON.stringify(channel)} is neither readings nor heartbeat; ${expected}`;
  }
  for (const [what, id] of [
    ["facility id", parts[2]!],
    ["device id", parts[3]!],
  ] as const) {
    if (!isValidId(id)) {
      return `${what} ${JSON.stringify(id)} is not a valid id: 1–32 characters of a-z, 0-9, '.', '_', '-', starting with a letter or digit`;
    }
  }
  return { facilityId: parts[2]!, deviceId: parts[3]!, channel };
}

/**
 * Device topics parsed, remembered for up to `max` of them (then forgotten all at once and
 * relearned). Only topics that parse are kept, and those are at most `MAX_DEVICE_TOPIC_LENGTH`
 * characters: distinct junk topics (up to 65,535 bytes each) once filled it with gigabytes.
 */
class TopicCache {
  readonly #parsed = new Map<string, DeviceTopic>();
  readonly max: number;
  constructor(max = 65_536) {
    this.max = max;
  }
  get(topic: string): DeviceTopic | null {
    let t: DeviceTopic | null | undefined = this.#parsed.get(topic);
    if (t === undefined) {
      t = parseDeviceTopic(topic);
      if (t === null) return null;
      if (this.#parsed.size >= this.max) this.#parsed.clear();
      this.#parsed.set(topic, t);
    }
    return t;
  }
  /** Topics remembered now. */
  get size(): number {
    return this.#parsed.size;
  }
}

export function readingsTopic(facilityId: string, deviceId: string): string {
  return `carbonproof/v1/${facilityId}/${deviceId}/readings`;
}

/** Either MQTT front end: the embedded broker or a subscription to an external one. */
export interface MqttIngest {
  readonly url: string;
  /** The embedded ingest endpoint: device topics it keeps parsed (bounded; for tests and debugging). */
  cachedTopics?(): number;
  close(): Promise<void>;
}

/**
 * Hands one MQTT message to the ingestor and resolves once its outcome is durable. A reading
 * that fails validation is dead-lettered (durably) and acknowledged: redelivering it would
 * not make it valid. Only a storage failure leaves the message unacknowledged.
 */
type Principal = MqttPrincipal;

/** CONNECT credentials (`mqtt.requireAuth`): the API key as password, its subject as user name (any for admin keys); null when they do not match. */
function principalOf(
  storage: Storage | undefined,
  username: string | undefined,
  password: Buffer | undefined,
): Principal | null {
  const key = storage ? authenticateKey(storage, password?.toString("utf8")) : null;
  // an oracle key (quorum) may only ask for co-signatures, never publish readings
  if (!key || key.scope === "oracle" || (key.scope !== "admin" && key.subject !== username)) return null;
  return { scope: key.scope as Principal["scope"], subject: key.subject, keyHash: key.hash };
}

/**
 * Checks the keys of the connections open now every `mqtt.keyRecheckMs` (with `requireAuth`), and
 * closes those whose key was revoked since they connected (`keys api-revoke` in another process,
 * or DELETE /v1/admin/api-keys/:id): a key is checked at CONNECT, and a connection could otherwise
 * go on publishing with a revoked one for as long as it stays up. One storage read a key, not one
 * a message. A stopper.
 */
function closeRevokedConnections(
  common: Common,
  storage: Storage | undefined,
  open: () => Principal[],
  close: (revoked: Set<string>) => number,
  log: Logger,
): () => void {
  if (!common.config.mqtt.requireAuth || !storage) return () => {};
  const timer = setInterval(() => {
    try {
      const revoked = new Set<string>();
      const asked = new Set<string>();
      for (const p of open()) {
        if (!p.keyHash || asked.has(p.keyHash)) continue;
        asked.add(p.keyHash);
        if (!storage.findApiKey(p.keyHash)) revoked.add(p.keyHash);
      }
      if (!revoked.size) return;
      const closed = close(revoked);
      log.warn({ connections: closed, keys: revoked.size }, "MQTT connections closed: their API key was revoked");
    } catch (err) {
      log.error({ err }, "could not check the API keys of open MQTT connections; checked again later");
    }
  }, common.config.mqtt.keyRecheckMs);
  timer.unref();
  return () => clearInterval(timer);
}

async function ingestMessage(
  ingestor: Ingestor,
  heartbeats: HeartbeatRecorder,
  common: Common,
  topic: string,
  payload: Buffer,
  principal?: Principal,
): Promise<void> {
  const t = readDeviceTopic(topic);
  if (typeof t !== "string" && t.channel === "heartbeat") return heartbeats.record(t, payload, principal);
  const receivedAtMs = common.clock.nowMs();
  if (typeof t === "string") {
    await ingestor.rejectMalformed(
      JSON.stringify({ topic, payload: payload.toString("utf8").slice(0, 4096) }),
      t,
      { source: "mqtt", receivedAtMs },
      "topic",
    );
    return;
  }
  await ingestor.submitRaw(
    payload,
    { source: "mqtt", receivedAtMs, topic: t, principal },
    common.config.mqtt.maxPayloadBytes,
  );
}

/**
 * The embedded MQTT endpoint on loopback (`mqtt.embedded`): the ingest-only server of
 * ingest/mqtt-server.ts by default, or a whole aedes broker.
 */
export async function startEmbeddedBroker(deps: {
  common: Common;
  ingestor: Ingestor;
  heartbeats: HeartbeatRecorder;
  storage?: Storage;
}): Promise<MqttIngest> {
  if (deps.common.config.mqtt.embedded === "aedes") return startAedesBroker(deps);
  const { common, ingestor, heartbeats, storage } = deps;
  const cfg = common.config.mqtt;
  const log: Logger = common.logger.child({ part: "mqtt" });
  // a device's topic is parsed once, not per message
  const topics = new TopicCache();
  const server = await startIngestServer({
    host: cfg.host,
    port: cfg.port,
    logger: log,
    // a payload up to the limit, its topic and packet id; a larger payload is dead-lettered without being held
    maxPacketBytes: cfg.maxPayloadBytes + 2 + 65_535 + 2,
    maxInflightPerConnection: cfg.maxInflightPerConnection,
    maxInflight: cfg.maxInflight,
    authenticate(_clientId, username, password) {
      if (!cfg.requireAuth) return null;
      return principalOf(storage, username, password) ?? "bad-credentials";
    },
    onPublish(topic, payload, principal, acks, token) {
      const t = topics.get(topic);
      if (t?.channel === "readings") {
        ingestor.submitMessage(payload, t, principal ?? undefined, cfg.maxPayloadBytes, acks, token);
        return;
      }
      ingestMessage(ingestor, heartbeats, common, topic, payload, principal ?? undefined).then(
        () => acks.settled(token, false),
        (err: unknown) => acks.settled(token, true, err),
      );
    },
    async onOversized(topic, head, payloadBytes, principal) {
      const t = parseDeviceTopic(topic);
      await ingestor.rejectOversized(
        head,
        payloadBytes,
        {
          source: "mqtt",
          receivedAtMs: common.clock.nowMs(),
          topic: t ? { facilityId: t.facilityId, deviceId: t.deviceId } : undefined,
          principal: principal ?? undefined,
        },
        cfg.maxPayloadBytes,
      );
    },
  }).catch((err: unknown) => {
    throw listenFailure("mqtt", cfg.host, cfg.port, err);
  });
  log.info({ url: server.url }, "embedded MQTT endpoint listening (ingest only)");
  const stopRecheck = closeRevokedConnections(
    common,
    storage,
    () => server.principals(),
    (revoked) => server.closeWhere((p) => p.keyHash !== undefined && revoked.has(p.keyHash), "its API key was revoked"),
    log,
  );
  return {
    url: server.url,
    cachedTopics: () => topics.size,
    close: () => (stopRecheck(), server.close()),
  };
}

/**
 * The in-process aedes broker on loopback. The PUBACK of a QoS 1 PUBLISH is written by
 * aedes only after `authorizePublish` calls back (node_modules/aedes/lib/handlers/publish.js:
 * authorizePublish, then enqueuePublish writes the PUBACK), so the hook waits for the
 * durable commit: a device that got its PUBACK may forget the reading.
 */
async function startAedesBroker(deps: {
  common: Common;
  ingestor: Ingestor;
  heartbeats: HeartbeatRecorder;
  storage?: Storage;
}): Promise<MqttIngest> {
  const { common, ingestor, heartbeats, storage } = deps;
  const principals = new WeakMap<object, Principal>();
  const authenticate: AuthenticateHandler = (client, username, password, done) => {
    if (!common.config.mqtt.requireAuth) return done(null, true);
    const principal = principalOf(storage, username, password);
    if (!principal) {
      const err = Object.assign(new Error("bad username or API key"), { returnCode: 4 as const });
      return done(err, false);
    }
    principals.set(client, principal);
    done(null, true);
  };
  const log: Logger = common.logger.child({ part: "mqtt" });
  // MQTT 3.1.1 [MQTT-4.6.0-2]: PUBACKs go out in the order the PUBLISHes came in. aedes handles
  // a socket chunk's packets at once and writes each PUBACK when its hook calls back; the verify
  // workers and group commits can finish a connection's readings out of order, so each callback
  // waits for those of the connection's earlier messages.
  const inOrder = new WeakMap<object, { queue: Pending[]; head: number }>();
  type Pending = { settled: boolean; err: Error | null; callback: (err: Error | null) => void };
  const release = (q: { queue: Pending[]; head: number }) => {
    while (q.head < q.queue.length && q.queue[q.head]!.settled) {
      const p = q.queue[q.head++]!;
      p.callback(p.err);
    }
    if (q.head === q.queue.length) {
      q.queue = [];
      q.head = 0;
    }
  };
  const authorizePublish: AuthorizePublishHandler = (client, packet, callback) => {
    if (packet.topic.startsWith("$SYS")) return callback(new Error("$SYS topics are reserved"));
    let q = client ? inOrder.get(client) : undefined;
    if (client && !q) inOrder.set(client, (q = { queue: [], head: 0 }));
    const pending: Pending = { settled: false, err: null, callback };
    q?.queue.push(pending);
    const settle = (err: Error | null) => {
      if (!q) return callback(err);
      pending.settled = true;
      pending.err = err;
      release(q);
    };
    ingestMessage(
      ingestor,
      heartbeats,
      common,
      packet.topic,
      packet.payload as Buffer,
      client ? principals.get(client) : undefined,
    ).then(
      () => settle(null),
      (err: unknown) => {
        log.error({ err, client: client?.id, topic: packet.topic }, "reading not stored; message left unacknowledged");
        settle(err as Error);
      },
    );
  };
  const broker = await Aedes.createBroker({ authenticate, authorizePublish, concurrency: 1000, queueLimit: 10_000 });
  const server: Server = createServer(broker.handle);
  await new Promise<void>((resolve, reject) => {
    server.once("error", (err) => {
      broker.close(); // nothing else of it was started
      reject(listenFailure("mqtt", common.config.mqtt.host, common.config.mqtt.port, err));
    });
    server.listen(common.config.mqtt.port, common.config.mqtt.host, () => resolve());
  });
  const addr = server.address();
  const port = typeof addr === "object" && addr ? addr.port : common.config.mqtt.port;
  const url = `mqtt://${common.config.mqtt.host}:${port}`;
  log.info({ url }, "embedded MQTT broker listening");
  // aedes keeps connected clients in `clients` (not in its typings)
  const connected = () =>
    Object.values((broker as unknown as { clients: Record<string, { close(): void }> }).clients).flatMap((c) => {
      const p = principals.get(c);
      return p ? [{ client: c, principal: p }] : [];
    });
  const stopRecheck = closeRevokedConnections(
    common,
    storage,
    () => connected().map((c) => c.principal),
    (revoked) => {
      const gone = connected().filter((c) => c.principal.keyHash !== undefined && revoked.has(c.principal.keyHash));
      for (const c of gone) c.client.close();
      return gone.length;
    },
    log,
  );
  return {
    url,
    async close() {
      stopRecheck();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        // aedes keeps connected clients in `clients` (not in its typings)
        const clients = (broker as unknown as { clients: Record<string, { close(): void }> }).clients;
        for (const id of Object.keys(clients)) clients[id]?.close();
      });
      await new Promise<void>((resolve) => broker.close(() => resolve()));
    },
  };
}

/** Why the node could not subscribe to the external broker, and what to change. */
export class MqttBrokerError extends Error {
  readonly code: "FILE" | "TLS" | "CLIENT_CERT" | "AUTH" | "UNREACHABLE" | "SUBSCRIBE" | "BROKER";
  constructor(code: MqttBrokerError["code"], message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "MqttBrokerError";
    this.code = code;
  }
}

/** A PEM file named in the config (`mqtt.caFile`, `certFile`, `keyFile`). */
function readPem(setting: "caFile" | "certFile" | "keyFile", path: string | undefined): Buffer | undefined {
  if (path === undefined) return undefined;
  try {
    return readFileSync(path);
  } catch (err) {
    throw new MqttBrokerError(
      "FILE",
      `mqtt.${setting}: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? String(err)}); set it to a readable PEM file`,
      { cause: err },
    );
  }
}

const UNTRUSTED_CERT = new Set([
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "CERT_SIGNATURE_FAILURE",
  "CERT_HAS_EXPIRED",
  "CERT_NOT_YET_VALID",
  "ERR_TLS_CERT_ALTNAME_INVALID",
]);

/** The first connection's failure as an error that names the broker (without credentials) and the setting to change. */
function connectError(err: unknown, safeUrl: string): MqttBrokerError {
  const e = err as { code?: string | number; message?: string };
  const what = (e.message ?? String(err)).trim();
  const at = `the MQTT broker at ${safeUrl}`;
  if (typeof e.code === "string" && UNTRUSTED_CERT.has(e.code))
    return new MqttBrokerError(
      "TLS",
      `${at} presented a TLS certificate this node does not trust (${what}): set mqtt.caFile to the PEM file of the CA that signed the broker's certificate, and name the broker in mqtt.url as its certificate does`,
      { cause: err },
    );
  if (typeof e.code === "string" && /CERTIFICATE_REQUIRED|HANDSHAKE_FAILURE|BAD_CERTIFICATE|UNKNOWN_CA/.test(e.code))
    return new MqttBrokerError(
      "CLIENT_CERT",
      `${at} refused this node's TLS client certificate (${what}): set mqtt.certFile and mqtt.keyFile to a certificate the broker's CA signed and its key`,
      { cause: err },
    );
  // CONNACK 4/5 (MQTT 3.1.1), reason codes 134/135 (MQTT 5)
  if (e.code === 4 || e.code === 5 || e.code === 134 || e.code === 135)
    return new MqttBrokerError(
      "AUTH",
      `${at} refused the credentials (${what}): check mqtt.username and mqtt.password (or the user:password in mqtt.url)`,
      { cause: err },
    );
  if (
    typeof e.code === "string" &&
    /^(ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|EHOSTUNREACH|ECONNRESET)$/.test(e.code)
  )
    return new MqttBrokerError(
      "UNREACHABLE",
      `could not reach ${at} (${what}): check mqtt.url and that the broker is running`,
      { cause: err },
    );
  return new MqttBrokerError("BROKER", `${at} failed the connection (${what}): check mqtt.url and the broker's log`, {
    cause: err,
  });
}

/**
 * Subscriber connections of `mqtt.mode: external` (`mqtt.subscribers`): 16 by default with a
 * shared group, 1 without (the config refuses more than 1 without one).
 */
export function externalSubscriberCount(cfg: Common["config"]["mqtt"]): number {
  return cfg.subscribers ?? (cfg.sharedGroup ? 16 : 1);
}

/** The `meta` row holding the client ids the external subscriber opened persistent sessions with (JSON array). */
export const SUBSCRIBER_IDS_META_KEY = "mqtt_subscriber_client_ids";
/** The broker (`brokerIdentity`) whose sessions `SUBSCRIBER_IDS_META_KEY` names; absent before it was recorded. */
export const SUBSCRIBER_BROKER_META_KEY = "mqtt_subscriber_broker";
/** Client ids remembered at brokers the node no longer uses, `{ broker: ids }`, drained if it points back at one. */
export const PREVIOUS_BROKERS_META_KEY = "mqtt_previous_brokers";

const DEFAULT_PORTS: Record<string, string> = {
  "mqtt:": "1883",
  "tcp:": "1883",
  "mqtts:": "8883",
  "ssl:": "8883",
  "ws:": "80",
  "wss:": "443",
};

/**
 * Which broker a URL names, for remembering sessions per broker: scheme, host, port (the scheme's
 * default made explicit) and path; no credentials, no query. Never holds a password.
 */
export function brokerIdentity(url: string): string {
  if (!URL.canParse(url)) return "(mqtt.url, not a URL)";
  const u = new URL(url);
  const port = u.port || DEFAULT_PORTS[u.protocol] || "";
  const path = u.pathname === "/" ? "" : u.pathname;
  return `${u.protocol}//${u.hostname.toLowerCase()}${port ? `:${port}` : ""}${path}`;
}

/**
 * How long a drain waits (`drainSession`). The defaults are `DEFAULT_DRAIN_TIMINGS`; tests pass
 * shorter ones through `startExternalSubscriber` (they are not a config key: no operator has
 * needed to change them).
 */
export type DrainTimings = {
  /**
   * A drained session is left once no message has come for this long. A broker resuming a session
   * sends its queued messages right after CONNACK, each as soon as the one before is acknowledged
   * (mqtt.js acknowledges one at a time), so a gap this long with nothing in flight means the
   * queue is empty; it is counted from the last acknowledgement, so a slow commit does not end it.
   */
  quietMs: number;
  /** Longest a drain stays subscribed waiting for a quiet period (see `drainSession`). */
  subscribedMaxMs: number;
  /** A drain whose broker does not answer CONNECT within this gives up (and the id is kept for the next start). */
  connectTimeoutMs: number;
};
export const DEFAULT_DRAIN_TIMINGS: Readonly<DrainTimings> = {
  quietMs: 2_000,
  subscribedMaxMs: 60_000,
  connectTimeoutMs: 10_000,
};
const DRAIN_POLL_MS = 100;

/**
 * Takes every message queued in the broker's persistent session of `clientId` (a subscriber
 * connection a previous start opened and this one does not) through `ingest`, acknowledging each
 * only once `ingest` resolved, then unsubscribes and ends the session so that the broker stops
 * giving it a share of the group: MQTT 5 by DISCONNECT with session expiry 0, MQTT 3.1.1 by
 * connecting again with clean session. Resolves with the number of readings it delivered;
 * rejects when it cannot connect, a reading is not stored (left unacknowledged, the session
 * kept) or `signal` aborts.
 */
async function drainSession(opts: {
  connect: (clientId: string, extra: IClientOptions) => MqttClient;
  clientId: string;
  protocolVersion: 4 | 5;
  filters: string[];
  ingest: (topic: string, payload: Buffer) => Promise<void>;
  signal: AbortSignal;
  safeUrl: string;
  timings: DrainTimings;
}): Promise<number> {
  const { clientId, signal, timings } = opts;
  const client = opts.connect(clientId, {
    clean: false,
    reconnectPeriod: 0,
    connectTimeout: timings.connectTimeoutMs,
    // kept while draining: a node that dies mid-drain leaves the unacknowledged messages queued
    ...(opts.protocolVersion === 5 ? { properties: { sessionExpiryInterval: 0xffffffff } } : {}),
  });
  let failed: unknown = null;
  let pending = 0;
  let readings = 0;
  let lastActivityMs = performance.now();
  const fail = (err: unknown) => {
    failed ??= err;
    client.end(true);
  };
  client.on("error", fail);
  client.on("close", () => fail(new Error(`the connection of ${clientId} closed while draining`)));
  // the connection is ended once what is in flight is acknowledged (see the `catch` below): a
  // reading stored and left unacknowledged would come again at the next start, a replay
  const abort = () => (failed ??= signal.reason);
  if (signal.aborted) abort();
  signal.addEventListener("abort", abort);
  client.handleMessage = (packet, callback) => {
    // failed or stopping: not taken, the message stays queued in the session for the next start
    if (failed !== null) return;
    pending++;
    lastActivityMs = performance.now();
    if (parseDeviceTopic(packet.topic)?.channel !== "heartbeat") readings++;
    opts.ingest(packet.topic, packet.payload as Buffer).then(
      () => {
        pending--;
        lastActivityMs = performance.now();
        callback();
      },
      (err: unknown) => {
        pending--;
        // not acknowledged: the message stays queued in the session, which the next start drains
        fail(err);
      },
    );
  };
  // real time, not common.clock: the quiet period is the broker's, on the wire
  const until = async (done: () => boolean) => {
    while (!done()) {
      if (failed !== null) throw failed;
      await new Promise((resolve) => setTimeout(resolve, DRAIN_POLL_MS));
    }
    if (failed !== null) throw failed;
  };
  try {
    let connack: IConnackPacket | null = null;
    client.once("connect", (packet) => (connack = packet));
    await until(() => connack !== null);
    if (connack!.sessionPresent) {
      const quiet = () => pending === 0 && performance.now() - lastActivityMs >= timings.quietMs;
      // still in the group, the session gets its share of new readings too, and a steady stream
      // may never leave a quiet period: past `subscribedMaxMs` it unsubscribes anyway and
      // takes what the broker still holds for it (MQTT 5 3.10.4 lets a broker deliver what it had
      // buffered; Mosquitto 2.0.11 does: a session unsubscribed with 29 of 50 messages still
      // queued got all 50, checked by hand)
      const subscribedMs = performance.now();
      await until(() => quiet() || (pending === 0 && performance.now() - subscribedMs >= timings.subscribedMaxMs));
      await client.unsubscribeAsync(opts.filters);
      lastActivityMs = performance.now(); // what the broker still delivers may come after its UNSUBACK
      await until(quiet);
    }
    signal.removeEventListener("abort", abort);
    client.removeAllListeners("close");
    if (opts.protocolVersion === 5) await client.endAsync(false, { properties: { sessionExpiryInterval: 0 } });
    else {
      await client.endAsync();
      const clean = opts.connect(clientId, {
        clean: true,
        reconnectPeriod: 0,
        connectTimeout: timings.connectTimeoutMs,
      });
      try {
        await new Promise<void>((resolve, reject) => {
          clean.once("connect", () => resolve());
          clean.on("error", reject);
        });
      } finally {
        await clean.endAsync(true);
      }
    }
    return readings;
  } catch (err) {
    signal.removeEventListener("abort", abort);
    while (pending > 0 && client.connected) await new Promise((resolve) => setTimeout(resolve, DRAIN_POLL_MS));
    await client.endAsync(true);
    throw connectErrorOf(err, opts.safeUrl);
  }
}

/** A failure of a drain as logged: broker errors as `connectError` words them, others as they are. */
function connectErrorOf(err: unknown, safeUrl: string): unknown {
  const code = (err as { code?: unknown } | null)?.code;
  return code === undefined ? err : connectError(err, safeUrl);
}

/**
 * Subscribes to an external broker (Mosquitto, EMQX) with persistent sessions, QoS 1.
 * mqtt.js sends the PUBACK of an incoming message when `handleMessage`'s callback runs, so
 * the callback waits for the durable commit; unacknowledged messages are redelivered by the
 * broker after a crash. With `sharedGroup` (MQTT 5), several oracle nodes split the stream.
 * mqtt.js handles a connection's messages one at a time (the next waits for the PUBACK of the
 * one before), so one connection gives the group commit one reading at a time, one fsync each;
 * `mqtt.subscribers` connections in the shared group keep that many in flight and a commit takes
 * them together. The URL is logged and put in errors without its credentials (`urlForMessages`).
 *
 * The client ids are remembered in `meta`; a start that no longer opens one (fewer `subscribers`,
 * another `clientId`) drains its session alongside the live subscribers and then ends it
 * (`drainSession`), since the broker would keep queueing that session's share of the group's
 * readings, acknowledged to the devices and never read. A drain that fails keeps the id for the
 * next start; `close` cuts drains short the same way. `close` takes no new message and ends each
 * connection once what it has in flight is stored and acknowledged: a reading stored and not
 * acknowledged would be redelivered at the next start and rejected there as a replay.
 */
export async function startExternalSubscriber(deps: {
  common: Common;
  ingestor: Ingestor;
  heartbeats: HeartbeatRecorder;
  /** where the client ids subscribed with are remembered (`meta`), to drain those a later start no longer opens */
  storage: Pick<Storage, "getMeta" | "setMeta">;
  /** the ingest writer thread, when there is one: the `meta` write goes there, not on the main thread's connection */
  writes?: { setMeta(key: string, value: string): Promise<void> } | null;
  /** how long a drain waits; `DEFAULT_DRAIN_TIMINGS` for what is not given (tests shorten them) */
  drain?: Partial<DrainTimings>;
}): Promise<MqttIngest> {
  const { common, ingestor, heartbeats } = deps;
  const cfg = common.config.mqtt;
  const log = common.logger.child({ part: "mqtt" });
  const rawUrl = cfg.url ?? `mqtt://${cfg.host}:${cfg.port}`;
  const url = urlForMessages(rawUrl, "mqtt.url");
  const tls = {
    ca: readPem("caFile", cfg.caFile),
    cert: readPem("certFile", cfg.certFile),
    key: readPem("keyFile", cfg.keyFile),
  };
  const count = externalSubscriberCount(cfg);
  const baseId = cfg.clientId ?? `carbonproof-oracle-${common.config.nodeName}`;
  const shared = (f: string) => (cfg.sharedGroup ? `$share/${cfg.sharedGroup}/${f}` : f);
  const filter = shared(READINGS_TOPIC_FILTER);
  const protocolVersion = cfg.sharedGroup ? 5 : 4;
  const connect = (clientId: string, extra: IClientOptions) =>
    mqtt.connect(rawUrl, {
      clientId,
      protocolVersion,
      username: cfg.username,
      password: cfg.password,
      ...tls,
      ...extra,
    });
  // one connection keeps the session id of a single subscriber (`clientId` itself)
  const ids = Array.from({ length: count }, (_, i) => (count === 1 ? baseId : `${baseId}-${i}`));
  const setMeta = async (key: string, value: string) => {
    if (deps.writes) await deps.writes.setMeta(key, value);
    else deps.storage.setMeta(key, value);
  };
  const remember = (list: string[]) => setMeta(SUBSCRIBER_IDS_META_KEY, JSON.stringify(list));
  // the remembered ids are sessions at one broker: pointed at another, the node cannot drain them
  // there, so they are kept apart (and drained if it points back), and the operator is told
  const broker = brokerIdentity(rawUrl);
  const known = rememberedSessions(deps.storage, broker, log);
  // sessions of earlier starts this one does not open (fewer subscribers, another clientId): still
  // in the group, the broker queues their share of readings, so each is drained, then ended
  const stale = known.here.filter((id) => !ids.includes(id));
  for (const [elsewhere, clientIds] of Object.entries(known.elsewhere)) {
    // a warning at the start that changed brokers; later starts only note it
    (known.moved ? log.warn.bind(log) : log.info.bind(log))(
      { url, previousBroker: elsewhere, clientIds },
      "sessions of this node's subscribers at a broker it no longer uses are not drained: readings queued there for them were acknowledged to the devices; point mqtt.url back at that broker once to drain them, or remove the sessions there",
    );
  }
  // remembered before any connection opens: a node that dies during the start still knows them
  await setMeta(PREVIOUS_BROKERS_META_KEY, JSON.stringify(known.elsewhere));
  await setMeta(SUBSCRIBER_BROKER_META_KEY, broker);
  await remember([...ids, ...stale]);
  const stopping = new AbortController();
  const timings: DrainTimings = {
    quietMs: deps.drain?.quietMs ?? DEFAULT_DRAIN_TIMINGS.quietMs,
    subscribedMaxMs: deps.drain?.subscribedMaxMs ?? DEFAULT_DRAIN_TIMINGS.subscribedMaxMs,
    connectTimeoutMs: deps.drain?.connectTimeoutMs ?? DEFAULT_DRAIN_TIMINGS.connectTimeoutMs,
  };
  const drained = drainStale({
    stale,
    log,
    url,
    drain: (clientId) =>
      drainSession({
        connect,
        clientId,
        protocolVersion,
        // every filter the session may hold: this group's or, from a start without one, unshared
        filters: [...new Set([filter, shared(HEARTBEAT_TOPIC_FILTER), READINGS_TOPIC_FILTER, HEARTBEAT_TOPIC_FILTER])],
        ingest: (topic, payload) => ingestMessage(ingestor, heartbeats, common, topic, payload),
        signal: stopping.signal,
        safeUrl: url,
        timings,
      }),
    remember: (kept) => remember([...ids, ...kept]),
  });
  const clients = ids.map((clientId) =>
    connect(clientId, {
      clean: false,
      reconnectPeriod: 1000,
      ...(cfg.sharedGroup ? { properties: { sessionExpiryInterval: 0xffffffff } } : {}),
    }),
  );
  let closing = false;
  // at most one per connection (mqtt.js hands over the next after the PUBACK); `close` waits for them
  const inFlight = new Set<Promise<void>>();
  clients.forEach((client, i) => {
    client.handleMessage = (packet, callback) => {
      // stopping: not taken, the broker keeps the message in the session for the next start
      if (closing) return;
      const taken = ingestMessage(ingestor, heartbeats, common, packet.topic, packet.payload as Buffer).then(
        () => callback(),
        (err: unknown) => {
          // not acknowledged: drop this connection so the broker redelivers on reconnect
          log.error(
            { err, topic: packet.topic, subscriber: i },
            "reading not stored; reconnecting without acknowledging",
          );
          if (!closing) client.end(true, () => client.reconnect());
        },
      );
      inFlight.add(taken);
      void taken.then(() => inFlight.delete(taken));
    };
  });
  const subscribed = (client: MqttClient, i: number) =>
    new Promise<void>((resolve, reject) => {
      client.once("connect", () => {
        // heartbeats on the first connection only, so that a non-shared one is not stored N times;
        // they are QoS 0 from the device (docs/protocol.md): health data, nothing to redeliver
        const filters: Record<string, { qos: 0 | 1 }> = { [filter]: { qos: 1 } };
        if (i === 0) filters[shared(HEARTBEAT_TOPIC_FILTER)] = { qos: 0 };
        client.subscribe(filters, (err, granted) => {
          const refused = granted?.find((g) => g.qos > 2);
          if (err || refused)
            reject(
              new MqttBrokerError(
                "SUBSCRIBE",
                `the MQTT broker at ${url} refused the subscription to ${refused?.topic ?? filter}: allow this node's user to subscribe to it in the broker's ACL`,
                { cause: err },
              ),
            );
          else resolve();
        });
      });
      client.once("error", (err) => reject(connectError(err, url)));
    });
  try {
    await Promise.all(clients.map(subscribed));
  } catch (err) {
    // stop reconnecting in the background, those connected too: the node does not start
    stopping.abort(new Error("the node did not start"));
    await Promise.all([drained, ...clients.map((c) => c.endAsync(true))]);
    throw err;
  }
  clients.forEach((client, i) =>
    client.on("error", (err) => log.error({ err, url, subscriber: i }, "MQTT client error")),
  );
  log.info({ url, filter, subscribers: count }, "subscribed to external MQTT broker");
  return {
    url,
    async close() {
      // a drain cut short leaves its session (and what is unacknowledged) for the next start
      closing = true;
      stopping.abort(new Error("the node is stopping"));
      // what is in flight is stored, then acknowledged before the connection ends: a reading
      // stored and left unacknowledged would be redelivered at the next start, a replay
      const ended = Promise.all(inFlight).then(() => Promise.all(clients.map((c) => c.endAsync())));
      await Promise.all([drained, ended]);
    },
  };
}

/**
 * The sessions remembered in `meta`: those at `broker` (to drain the ones a start no longer opens)
 * and those at other brokers, by broker. Ids stored before their broker was recorded count as at
 * `broker`, as they did then.
 */
function rememberedSessions(
  storage: Pick<Storage, "getMeta">,
  broker: string,
  log: Logger,
): { here: string[]; elsewhere: Record<string, string[]>; moved: boolean } {
  const ids = metaJson(storage, SUBSCRIBER_IDS_META_KEY, z.array(z.string().min(1)), log) ?? [];
  const elsewhere =
    metaJson(storage, PREVIOUS_BROKERS_META_KEY, z.record(z.string(), z.array(z.string().min(1))), log) ?? {};
  const last = storage.getMeta(SUBSCRIBER_BROKER_META_KEY) ?? broker;
  if (last !== broker && ids.length) elsewhere[last] = [...new Set([...(elsewhere[last] ?? []), ...ids])];
  const here = [...new Set([...(last === broker ? ids : []), ...(elsewhere[broker] ?? [])])];
  delete elsewhere[broker];
  return { here, elsewhere, moved: last !== broker };
}

/** A `meta` value as JSON of a shape, or null (absent; unreadable ones are logged and read as absent). */
function metaJson<T>(storage: Pick<Storage, "getMeta">, key: string, shape: z.ZodType<T>, log: Logger): T | null {
  const raw = storage.getMeta(key);
  if (raw === null) return null;
  let err: unknown;
  try {
    const parsed = shape.safeParse(JSON.parse(raw));
    if (parsed.success) return parsed.data;
    err = parsed.error;
  } catch (notJson) {
    err = notJson;
  }
  log.warn(
    { key, value: raw, err },
    "remembered MQTT sessions unreadable: none drained from it, this start's remembered instead",
  );
  return null;
}

/**
 * Drains every stale session at once, alongside the live subscribers (a reading both deliver is
 * stored once: a replayed (device, seq) is rejected), then remembers the live ids and those whose
 * drain failed, for the next start to try again. Never rejects: failures are logged.
 */
async function drainStale(opts: {
  stale: string[];
  log: Logger;
  url: string;
  drain: (clientId: string) => Promise<number>;
  remember: (kept: string[]) => Promise<void>;
}): Promise<void> {
  const { log, url } = opts;
  if (opts.stale.length === 0) return;
  const kept = await Promise.all(
    opts.stale.map(async (clientId) => {
      try {
        const readings = await opts.drain(clientId);
        log.info({ url, clientId, readings }, "drained and ended the broker session of a subscriber no longer opened");
        return [];
      } catch (err) {
        log.warn(
          { err, url, clientId },
          "could not drain the broker session of a subscriber no longer opened: its share of readings stays queued there; the id is kept and the next start tries again",
        );
        return [clientId];
      }
    }),
  );
  try {
    await opts.remember(kept.flat());
  } catch (err) {
    log.error({ err, url }, "could not record the drained MQTT client ids; the next start drains them again");
  }
}
