import type { Logger } from "pino";
import type { Reading } from "../../../sdk/src/index.ts";
import type { Common } from "../common.ts";
import type { EmissionsCalculator } from "../compute/emissions.ts";
import {
  DEVICE_SYNC_WAIT_MS,
  inactiveAt,
  keysValidAt,
  type DeviceDirectory,
  type DeviceInfo,
} from "../devices/directory.ts";
import type {
  ApiKeyScope,
  IngestOutcome,
  IngestSource,
  NewDeadLetter,
  NewReading,
  RejectReason,
  Storage,
} from "../storage/types.ts";
import type { IngestCommit, IngestWriter } from "../storage/ingest-writer.ts";
import { AnomalyScorer } from "../validate/anomaly.ts";
import { SeenSeqs } from "./seen-seqs.ts";
import { VerifyPool, type PrepareSink } from "../validate/verify-pool.ts";
import { evaluate, safeStringify, type PreparedEnvelope, type PreparedPayload } from "../validate/prepare.ts";
import type { AckSink } from "./mqtt-server.ts";

export type IngestContext = {
  source: IngestSource;
  receivedAtMs?: number;
  /** MQTT: facility and device named by the topic; the reading must match them. */
  topic?: { facilityId: string; deviceId: string };
  /** HTTP: the API key's scope; a device key may only submit its device's readings, a facility key its facility's. */
  principal?: { scope: ApiKeyScope; subject: string };
};

/** Where a submission's outcome goes once durable: a promise's settle functions, or an MQTT message. */
interface OutcomeSink {
  resolve(o: IngestOutcome): void;
  reject(err: unknown): void;
}

type Pending =
  { kind: "reading"; row: NewReading; sink: OutcomeSink } | { kind: "dead"; row: NewDeadLetter; sink: OutcomeSink };

/** What validation decided: store the row, refuse with a reason, or check the signature under `verify` first. */
type Verdict =
  | { accept: NewReading; key: string }
  | { reason: RejectReason; detail: string; r?: { deviceId: string; seq: number }; digest?: string }
  | { verify: Uint8Array[] };

/** What an oversized payload's dead letter keeps of it (as the MQTT endpoint and the HTTP API keep). */
const OVERSIZED_HEAD_BYTES = 4096;

type DeviceTopic = { facilityId: string; deviceId: string };
export type Principal = { scope: ApiKeyScope; subject: string };

/**
 * One MQTT message in flight on the hot path (`Ingestor.submitMessage`): its context, where its
 * outcome goes, and its payload until it is prepared. One object per message where a chain of
 * async steps kept ~4 KB of promises, closures and their contexts alive on the main thread
 * (docs/oracle.md, "Benchmark": at saturation ~8,000 messages are in flight, and every young
 * collection copied what they held).
 */
class MqttMessage implements OutcomeSink, PrepareSink {
  readonly source = "mqtt" as const;
  readonly ingestor: Ingestor;
  readonly receivedAtMs: number;
  readonly topic: DeviceTopic;
  readonly principal: Principal | undefined;
  readonly device: DeviceInfo | null;
  /** until prepared (for a dead letter's text) */
  payload: Uint8Array | null;
  readonly acks: AckSink;
  readonly token: number;
  constructor(
    ingestor: Ingestor,
    receivedAtMs: number,
    topic: DeviceTopic,
    principal: Principal | undefined,
    device: DeviceInfo | null,
    payload: Uint8Array,
    acks: AckSink,
    token: number,
  ) {
    this.ingestor = ingestor;
    this.receivedAtMs = receivedAtMs;
    this.topic = topic;
    this.principal = principal;
    this.device = device;
    this.payload = payload;
    this.acks = acks;
    this.token = token;
  }
  prepared(p: PreparedPayload): void {
    this.ingestor.messagePrepared(this, p);
  }
  failed(err: unknown): void {
    this.reject(err);
  }
  resolve(): void {
    this.acks.settled(this.token, false);
  }
  reject(err: unknown): void {
    this.acks.settled(this.token, true, err);
  }
  /** Settles once `work` (the promise path) has: acknowledged, or left unacknowledged when it failed. */
  settleWhen(work: Promise<unknown>): void {
    work.then(
      () => this.resolve(),
      (err: unknown) => this.reject(err),
    );
  }
}

/**
 * Runs `run` on every item concurrently, except that an item repeating an earlier item's key
 * (a reading's `(device, seq)`; null: no key) starts only once that earlier item has its outcome.
 * Signature checks on several verification threads finish in any order; this keeps the first copy
 * of a reading in a payload (an HTTP batch, an MQTT array, a CSV file) the one stored and the later
 * copies the replays, whichever check ends first. Outcomes come back in the items' order.
 */
export function inSubmissionOrder<T, R>(
  items: readonly T[],
  key: (item: T) => string | null,
  run: (item: T) => Promise<R>,
): Promise<R[]> {
  const last = new Map<string, Promise<unknown>>();
  return Promise.all(
    items.map((item) => {
      const k = key(item);
      if (k === null) return run(item);
      const before = last.get(k);
      const go = () => run(item);
      const p = before ? before.then(go, go) : go();
      last.set(k, p);
      return p;
    }),
  );
}

/** The `(device, seq)` key of a prepared envelope, for `inSubmissionOrder`. */
const preparedKey = (p: PreparedEnvelope): string | null => (p.ok ? `${p.facts.deviceId}\u0000${p.facts.seq}` : null);

/**
 * True when `principal` may submit readings of `of`'s facility and device: an admin key any, a
 * device key its device's, a facility key its facility's; no principal (no login asked) any.
 */
export function principalMaySubmit(
  principal: Principal | undefined,
  of: { facilityId: string; deviceId: string },
): boolean {
  if (!principal || principal.scope === "admin") return true;
  return (principal.scope === "device" ? of.deviceId : of.facilityId) === principal.subject;
}

/**
 * Readings of devices the directory does not know, waiting at most for its next regular read of
 * the DeviceRegistry's events before they are refused (`#one`): past this many, refused at once.
 */
export const MAX_WAITING_FOR_REGISTRATION = 1_000;

export class IngestError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = "IngestError";
  }
}

/**
 * Validates signed reading envelopes in the order issue 6 lists, computes their emissions,
 * and stores them (or their rejection) durably in group-commit transactions. `submit`
 * resolves only once the outcome is committed: an MQTT PUBACK or HTTP 2xx sent after it
 * means the reading (or the record of why it was refused) survives a crash.
 */
export class Ingestor {
  readonly #common: Common;
  readonly #log: Logger;
  readonly #storage: Storage;
  readonly #devices: DeviceDirectory;
  readonly #calculator: EmissionsCalculator;
  readonly #verifier: VerifyPool;
  readonly #anomaly: AnomalyScorer;
  #queue: Pending[] = [];
  readonly #inQueue = new Set<string>();
  /** which (device, seq) are stored, from memory where it can (ingest/seen-seqs.ts) */
  readonly #seen: SeenSeqs;
  #timer: NodeJS.Timeout | null = null;
  #closed = false;
  /** Group commits on their own thread (SQLite); null: on this thread (`Storage.commitIngest`). */
  readonly #writer: IngestWriter | null;
  /** The group commit being written; the next group gathers meanwhile. */
  #committing: Promise<void> | null = null;

  /** closes the writer on close(): it opened it */
  readonly #ownsWriter: boolean;
  /** readings of unknown devices waiting for the directory's next poll (`#one`) */
  #waitingForRegistration = 0;
  /** readings refused as bad-signature waiting for the directory's next poll (a key rotated since: `#one`) */
  #waitingForKeys = 0;

  constructor(deps: {
    common: Common;
    storage: Storage;
    devices: DeviceDirectory;
    calculator: EmissionsCalculator;
    /** the group-commit thread, shared with the batch pipeline (closed by whoever opened it); default: opened here */
    writer?: IngestWriter | null;
  }) {
    this.#common = deps.common;
    this.#log = deps.common.logger.child({ part: "ingest" });
    this.#storage = deps.storage;
    this.#devices = deps.devices;
    this.#calculator = deps.calculator;
    this.#seen = new SeenSeqs(deps.storage);
    this.#anomaly = new AnomalyScorer(deps.common.config.validation.anomaly);
    // the sdk calculator's factor set and facility contexts go to the workers, which compute each
    // reading's emissions where they parse it; another calculator computes here
    this.#verifier = new VerifyPool(deps.common.config.validation.verifyWorkers, deps.calculator.posted?.() ?? null);
    this.#ownsWriter = deps.writer === undefined;
    this.#writer = deps.writer !== undefined ? deps.writer : (deps.storage.openIngestWriter?.() ?? null);
  }

  /**
   * Accepts one envelope or a JSON array of envelopes as raw bytes/text; one outcome per envelope.
   * The CPU-bound steps (JSON, schema, canonical bytes, digest and, for MQTT, the signature under
   * the keys of the device the topic names) run on the verification workers in one round trip.
   */
  async submitRaw(payload: string | Uint8Array, ctx: IngestContext, maxBytes: number): Promise<IngestOutcome[]> {
    const receivedAtMs = ctx.receivedAtMs ?? this.#common.clock.nowMs();
    const bytes = typeof payload === "string" ? Buffer.from(payload) : payload;
    const text = () => (typeof payload === "string" ? payload : Buffer.from(payload).toString("utf8"));
    if (bytes.byteLength > maxBytes) {
      // as an oversized PUBLISH the MQTT endpoint skips, or an HTTP body over its limit: its first
      // 4 KiB and its length, counted against the topic's device only for a sender that may publish for it
      return [
        await this.rejectOversized(
          bytes.subarray(0, OVERSIZED_HEAD_BYTES),
          bytes.byteLength,
          { ...ctx, receivedAtMs },
          maxBytes,
        ),
      ];
    }
    // looked up only for a sender that may publish for it: #check refuses the others first anyway
    // (forbidden-principal), and any key could otherwise have the node ask the chain for any id
    const topicDevice =
      ctx.topic && principalMaySubmit(ctx.principal, ctx.topic) ? await this.#lookUp(ctx.topic.deviceId) : null;
    const prepared = await this.#verifier.prepare(bytes, topicDevice);
    return this.#prepared(prepared, { ...ctx, receivedAtMs }, topicDevice, text);
  }

  /** What follows `prepare` for a raw payload: its dead letter, or each envelope's validation. */
  async #prepared(
    prepared: PreparedPayload,
    ctx: IngestContext & { receivedAtMs: number },
    topicDevice: DeviceInfo | null,
    text: () => string,
  ): Promise<IngestOutcome[]> {
    if (!prepared.ok) {
      return [
        await this.#dead({
          receivedAtMs: ctx.receivedAtMs,
          source: ctx.source,
          reason: "malformed",
          detail: prepared.detail,
          payload: text(),
        }),
      ];
    }
    const items = prepared.items;
    // one envelope per message is the common case: no array of promises for it
    if (items.length === 1) return [await this.#one(items[0]!, ctx, topicDevice, items[0]!.raw ?? text)];
    return inSubmissionOrder(items, preparedKey, (p) =>
      this.#one(p, ctx, topicDevice, p.raw === undefined ? text : () => p.raw!),
    );
  }

  /**
   * The MQTT hot path: a message on a device's readings topic (`topic`, already parsed),
   * validated and stored as `submitRaw` would, its outcome reported with
   * `acks.settled(token, …)` once durable: stored or dead-lettered (not failed), or not stored
   * (failed). A single envelope of a device at hand in the directory's cache goes through with
   * one object in flight; anything else takes `submitRaw`'s path.
   */
  submitMessage(
    payload: Buffer,
    topic: DeviceTopic,
    principal: Principal | undefined,
    maxBytes: number,
    acks: AckSink,
    token: number,
  ): void {
    const receivedAtMs = this.#common.clock.nowMs();
    const device = this.#devices.peek?.(topic.deviceId);
    const m = new MqttMessage(this, receivedAtMs, topic, principal, device ?? null, payload, acks, token);
    if (device === undefined || payload.byteLength > maxBytes) {
      // not at hand (a device's first message, or its cache entry expired), or oversized
      m.settleWhen(this.submitRaw(payload, { source: "mqtt", receivedAtMs, topic, principal }, maxBytes));
      return;
    }
    this.#verifier.prepareTo(payload, device, m);
  }

  /** For `MqttMessage` only: its payload is prepared; validate and queue it. */
  messagePrepared(m: MqttMessage, prepared: PreparedPayload): void {
    const payload = m.payload!;
    m.payload = null;
    const text = () => Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString("utf8");
    const p = prepared.ok && prepared.items.length === 1 ? prepared.items[0]! : null;
    let v: Verdict | null = null;
    try {
      v = p ? this.#check(p, m, m.device, p.ok ? p.sigOk : null) : null;
    } catch (err) {
      // storage failing under the replay or anomaly step (maxSeq, hasReading, listReadings). This
      // runs in a verification worker's message listener, once per message of its batch: thrown
      // on, it would end the process and leave the batch's later messages unsettled. Failed, the
      // message is not acknowledged and the device resends it.
      m.reject(new IngestError("STORAGE_FAILED", "could not check the reading against storage; retry", { cause: err }));
      return;
    }
    if (!p || !v || "verify" in v || this.#mayBeStale(v)) {
      // a malformed payload, an array of envelopes, a signature the worker did not check, or a
      // device refused as not active by a record that may predate its reactivation
      m.settleWhen(this.#prepared(prepared, m, m.device, text));
      return;
    }
    this.#apply(v, m, p.raw ?? text, m);
  }

  /**
   * A message too large to be held whole (the MQTT endpoint skips its bytes): dead-lettered as
   * oversized with its first bytes, so that it is on record, not silently dropped.
   */
  rejectOversized(head: Uint8Array, totalBytes: number, ctx: IngestContext, maxBytes: number): Promise<IngestOutcome> {
    // counted against the topic's device only when the sender may publish for it (the principal
    // step of #check): otherwise any key could charge 'oversized' rejections to any device
    const mine = ctx.topic !== undefined && principalMaySubmit(ctx.principal, ctx.topic);
    const notMine =
      ctx.topic && !mine
        ? `; not counted against device ${ctx.topic.deviceId}: the API key for ${ctx.principal!.scope} ${ctx.principal!.subject} cannot submit its readings`
        : "";
    return this.#dead({
      receivedAtMs: ctx.receivedAtMs ?? this.#common.clock.nowMs(),
      source: ctx.source,
      reason: "oversized",
      detail: `${totalBytes} bytes > limit ${maxBytes}; the first ${head.byteLength} bytes are kept${notMine}`,
      payload: Buffer.from(head.buffer, head.byteOffset, head.byteLength).toString("utf8"),
      deviceId: mine ? ctx.topic!.deviceId : null,
    });
  }

  /**
   * A payload refused before it could be read as envelopes (a CSV row with more cells than its
   * header names, an MQTT message on a topic that is not a device's): dead-lettered as malformed
   * (or `reason`) with its text, so that it is on record.
   */
  rejectMalformed(
    payload: string,
    detail: string,
    ctx: IngestContext,
    reason: Extract<RejectReason, "malformed" | "schema" | "evidence-mismatch" | "topic"> = "malformed",
  ): Promise<IngestOutcome> {
    return this.#dead({
      receivedAtMs: ctx.receivedAtMs ?? this.#common.clock.nowMs(),
      source: ctx.source,
      reason,
      detail,
      payload,
    });
  }

  /** Accepts parsed JSON: one envelope or an array of envelopes. */
  async submit(value: unknown, ctx: IngestContext, rawText?: string): Promise<IngestOutcome[]> {
    const receivedAtMs = ctx.receivedAtMs ?? this.#common.clock.nowMs();
    const prepared = this.#verifier.prepareValue(value);
    if (!prepared.ok) {
      return [
        await this.#dead({
          receivedAtMs,
          source: ctx.source,
          reason: "malformed",
          detail: prepared.detail,
          payload: rawText ?? "[]",
        }),
      ];
    }
    const c = { ...ctx, receivedAtMs };
    const raw = () => rawText ?? safeStringify(value);
    return inSubmissionOrder(prepared.items, preparedKey, (p) =>
      this.#one(p, c, null, p.raw === undefined ? raw : () => p.raw!),
    );
  }

  /**
   * The validation steps in issue 6's order on a prepared envelope (validate/prepare.ts did the
   * schema, canonical bytes, digest and maybe the signature), then its row or dead letter queued
   * for the next group commit. `topicDevice`: the device the MQTT topic names, looked up before
   * preparing; the signature was checked against its keys.
   */
  async #one(
    p: PreparedEnvelope,
    ctx: IngestContext & { receivedAtMs: number },
    topicDevice: DeviceInfo | null,
    raw: string | (() => string),
  ): Promise<IngestOutcome> {
    let device =
      p.ok && !ctx.topic
        ? principalMaySubmit(ctx.principal, p.facts)
          ? await this.#lookUp(p.facts.deviceId)
          : null // refused by #check for the principal before the device is asked about
        : topicDevice;
    let v = this.#check(p, ctx, device, p.ok ? p.sigOk : null);
    if (this.#mayBeReactivated(v) && p.ok) {
      // the record that refuses it read again from the registry (unless it was just now): a device
      // reactivated less than a poll ago is active there, and its readings are taken, not refused.
      // The registry out of reach: refused by the record held, as before.
      const fresh = await this.#devices.refresh!(p.facts.deviceId, this.#common.config.chain.pollMs).catch(
        () => device,
      );
      if (fresh !== device) v = this.#check(p, ctx, (device = fresh), null);
    } else if (this.#mayBeUnpolled(v) && p.ok && ctx.source !== "csv") {
      // a device registered less than a poll ago is not in the directory yet: the reading waits for
      // its next regular read of the registry's events (no call made for it: a flood of made-up
      // ids costs the RPC node nothing), which drops a cached "not registered" answer of any id
      // registered before now; looked up again, it is then taken. The registry out of reach: refused.
      // Not for a CSV import (history, of devices registered long ago): a file of an unregistered
      // device's rows would take a poll interval per thousand rows, and a rejected row can be
      // imported again.
      const waits = this.#common.metrics.registrationWaits;
      if (this.#waitingForRegistration >= MAX_WAITING_FOR_REGISTRATION) waits.inc({ outcome: "full" });
      else {
        this.#waitingForRegistration++;
        try {
          const timeoutMs = this.#common.config.chain.pollMs + DEVICE_SYNC_WAIT_MS;
          if (await this.#devices.syncedAfter!(Date.now(), timeoutMs, false)) {
            const fresh = await this.#devices.get(p.facts.deviceId).catch(() => null);
            if (fresh) v = this.#check(p, ctx, (device = fresh), null);
            waits.inc({ outcome: fresh ? "registered" : "unknown" });
          } else waits.inc({ outcome: "unread" });
        } finally {
          this.#waitingForRegistration--;
        }
      }
    }
    if ("verify" in v && p.ok) {
      v = this.#check(p, ctx, device, await this.#verifier.verify(Buffer.from(p.canonical), p.sig, v.verify));
    }
    if (this.#mayBeRotated(v) && p.ok && ctx.source !== "csv" && this.#waitingForKeys < MAX_WAITING_FOR_REGISTRATION) {
      // a key rotated on-chain less than a poll ago is not in the record held yet (review: a
      // device that signs with its new key at once had its readings refused as bad-signature
      // until the directory's next poll, and senders do not send a refused reading again). The
      // reading waits for the directory's next regular read of the registry's events begun after
      // it came (no call made for it: forged signatures cost the RPC node nothing), which drops
      // the record of a device whose key changed; looked up again and checked against the new
      // record's keys. Not for a CSV import (history: its keys were rotated long ago).
      this.#waitingForKeys++;
      try {
        const timeoutMs = this.#common.config.chain.pollMs + DEVICE_SYNC_WAIT_MS;
        if (await this.#devices.syncedAfter!(ctx.receivedAtMs, timeoutMs, false)) {
          const fresh = await this.#devices.get(p.facts.deviceId).catch(() => device);
          if (fresh !== device) {
            v = this.#check(p, ctx, (device = fresh), null);
            if ("verify" in v)
              v = this.#check(p, ctx, device, await this.#verifier.verify(Buffer.from(p.canonical), p.sig, v.verify));
          }
        }
      } finally {
        this.#waitingForKeys--;
      }
    }
    const verdict = v;
    return new Promise((resolve, reject) => this.#apply(verdict, ctx, raw, { resolve, reject }));
  }

  /**
   * The device's record; a directory that cannot answer now (the DeviceRegistry's RPC node out of
   * reach) is an `IngestError` the sender retries (HTTP 503; over MQTT the message is not
   * acknowledged), not a refusal of the reading.
   */
  async #lookUp(deviceId: string): Promise<DeviceInfo | null> {
    try {
      return await this.#devices.get(deviceId);
    } catch (err) {
      // its first line and the URL it called, scrubbed by whoever shows it (common.scrub)
      let url: string | undefined;
      for (let e: unknown = err; e instanceof Error && !url; e = e.cause) {
        const at = (e as { url?: unknown }).url;
        if (typeof at === "string") url = at;
      }
      const why = ((err as { shortMessage?: string }).shortMessage ?? (err as Error).message).split("\n")[0];
      throw new IngestError(
        "DEVICE_LOOKUP_FAILED",
        `could not look device ${deviceId} up in the device directory (${why}${url ? ` ${url}` : ""}): is the RPC node out of reach? retry`,
        { cause: err },
      );
    }
  }

  /**
   * A refusal as not active by a directory that can read the device again (`refresh`), or as not
   * registered by one that follows the registry's events (`syncedAfter`).
   */
  #mayBeStale(v: Verdict): boolean {
    return this.#mayBeReactivated(v) || this.#mayBeUnpolled(v);
  }

  /** A refusal as not active by a directory that can read the device again. */
  #mayBeReactivated(v: Verdict): boolean {
    return "reason" in v && v.reason === "device-inactive" && this.#devices.refresh !== undefined;
  }

  /** A refusal of the signature by a directory that follows the registry's events (a key rotated since it read the device). */
  #mayBeRotated(v: Verdict): boolean {
    return "reason" in v && v.reason === "bad-signature" && this.#devices.syncedAfter !== undefined;
  }

  /** A refusal as not registered by a directory that follows the registry's events. */
  #mayBeUnpolled(v: Verdict): boolean {
    return "reason" in v && v.reason === "unknown-device" && this.#devices.syncedAfter !== undefined;
  }

  /**
   * Steps 0–7 on a prepared envelope whose device (the topic's, or the one the reading names) is
   * looked up. `sigOk`: the signature's verdict under the device's keys valid at the reading's
   * time, null when not yet checked (then the verdict asks for it, before any step with an
   * effect: the anomaly window, the metrics).
   */
  #check(
    p: PreparedEnvelope,
    ctx: IngestContext & { receivedAtMs: number },
    device: DeviceInfo | null,
    sigOk: boolean | null,
  ): Verdict {
    // 0. an envelope at all, 1. schema
    if (!p.ok) return { reason: p.reason, detail: p.detail };
    const r = p.facts;
    const digest = p.digest;
    if (ctx.topic && (ctx.topic.facilityId !== r.facilityId || ctx.topic.deviceId !== r.deviceId)) {
      return {
        reason: "topic",
        detail: `topic names ${ctx.topic.facilityId}/${ctx.topic.deviceId}, reading is ${r.facilityId}/${r.deviceId}`,
        r,
        digest,
      };
    }
    if (!principalMaySubmit(ctx.principal, r)) {
      return {
        reason: "forbidden-principal",
        detail: `API key for ${ctx.principal!.scope} ${ctx.principal!.subject} cannot submit readings of ${r.facilityId}/${r.deviceId}`,
        r,
        digest,
      };
    }
    // 2. device registered and active, in the facility the reading names (the topic's device when
    // there is a topic: the reading names the same device, checked just above)
    if (!device) return { reason: "unknown-device", detail: `device ${r.deviceId} is not registered`, r, digest };
    if (device.status !== "active") {
      return { reason: "device-inactive", detail: `device ${r.deviceId} is ${device.status}`, r, digest };
    }
    // active now, but maybe suspended when the reading was made (a buffer flushed after a reactivation)
    const suspended = inactiveAt(device, r.ts);
    if (suspended !== null) return { reason: "device-inactive", detail: suspended, r, digest };
    if (device.facilityId !== r.facilityId) {
      return {
        reason: "device-inactive",
        detail: `device ${r.deviceId} belongs to ${device.facilityId}, not ${r.facilityId}`,
        r,
        digest,
      };
    }
    // 3. signature against a key valid at the reading's time (already checked by the worker
    // against this same device record when it came with the topic)
    const keys = keysValidAt(device, r.ts);
    if (keys.length === 0) {
      return { reason: "bad-signature", detail: `no key of ${r.deviceId} is valid at ts ${r.ts}`, r, digest };
    }
    if (sigOk === null) return { verify: keys.map((k) => k.publicKey) };
    if (!sigOk) {
      return {
        reason: "bad-signature",
        detail: `signature does not verify under the ${keys.length} key(s) valid at ts ${r.ts}`,
        r,
        digest,
      };
    }
    // 4. (device, seq) never seen
    const key = `${r.deviceId}\u0000${r.seq}`;
    if (this.#inQueue.has(key) || this.#seen.has(r.deviceId, r.seq)) {
      return { reason: "replay", detail: `(${r.deviceId}, ${r.seq}) already received`, r, digest };
    }
    // 5. not in the future beyond the clock-skew allowance
    const nowS = Math.floor(this.#common.clock.nowMs() / 1000);
    if (r.ts > nowS + this.#common.config.validation.clockSkewS) {
      return {
        reason: "future-timestamp",
        detail: `ts ${r.ts} is ${r.ts - nowS} s ahead of the node's clock (allowance ${this.#common.config.validation.clockSkewS} s)`,
        r,
        digest,
      };
    }
    // 6. physical plausibility, then emissions (sdk methodology), computed where the reading was
    // parsed (validate/prepare.ts `evaluate`) or here
    const ev = p.evaluated ?? evaluate(JSON.parse(p.canonical) as Reading, (x) => this.#calculator.compute(x));
    if ("implausible" in ev) return { reason: "implausible", detail: ev.implausible, r, digest };
    if ("computeError" in ev) return { reason: "computation", detail: ev.computeError, r, digest };
    // 7. anomaly score (flags only)
    const rate = Number(ev.fossilMg + ev.biogenicMg) / r.intervalS;
    if (!this.#anomaly.has(r.deviceId)) this.#seedAnomaly(r.deviceId);
    const { score, flagged } = this.#anomaly.score(r.deviceId, rate);
    if (flagged) {
      this.#common.metrics.readingsFlagged.inc();
      this.#log.warn({ device: r.deviceId, seq: r.seq, digest, score }, "reading flagged by anomaly score");
    }
    return {
      key,
      accept: {
        digest,
        deviceId: r.deviceId,
        facilityId: r.facilityId,
        seq: r.seq,
        ts: r.ts,
        kind: r.kind,
        canonical: p.canonical,
        sig: p.sig,
        keyId: p.keyId,
        source: ctx.source,
        receivedAtMs: ctx.receivedAtMs,
        anomalyScore: score,
        flagged,
        fossilMg: ev.fossilMg,
        biogenicMg: ev.biogenicMg,
        methodologyId: this.#calculator.methodologyId,
        factorSetId: this.#calculator.factorSetId,
        resultJson: ev.resultJson,
      },
    };
  }

  /** Queues a verdict's row, or its dead letter with the raw payload, for the next group commit. */
  #apply(
    v: Verdict,
    ctx: IngestContext & { receivedAtMs: number },
    raw: string | (() => string),
    sink: OutcomeSink,
  ): void {
    if ("verify" in v) throw new Error("a reading's signature was left unchecked");
    if ("accept" in v) {
      if (!this.#closed) this.#inQueue.add(v.key);
      return this.#enqueue({ kind: "reading", row: v.accept, sink });
    }
    this.#enqueue({
      kind: "dead",
      sink,
      row: {
        receivedAtMs: ctx.receivedAtMs,
        source: ctx.source,
        reason: v.reason,
        detail: v.detail,
        payload: typeof raw === "string" ? raw : raw(),
        deviceId: v.r?.deviceId ?? null,
        seq: v.r?.seq ?? null,
        digest: v.digest ?? null,
      },
    });
  }

  #seedAnomaly(deviceId: string): void {
    // emission rates of the device's latest stored readings, so a restart does not reset the window
    const rows = this.#storage.listReadings({ deviceId, limit: this.#common.config.validation.anomaly.window });
    const values = rows
      .reverse()
      .map((s) => Number(s.fossilMg + s.biogenicMg) / (JSON.parse(s.canonical) as Reading).intervalS);
    this.#anomaly.seed(deviceId, values);
  }

  #dead(row: NewDeadLetter): Promise<IngestOutcome> {
    return new Promise((resolve, reject) => this.#enqueue({ kind: "dead", row, sink: { resolve, reject } }));
  }

  /** Queues a row for the next group commit; its sink hears once it is durable (or could not be stored). */
  #enqueue(p: Pending): void {
    if (this.#closed) return p.sink.reject(new IngestError("INGEST_CLOSED", "the node is shutting down; retry later"));
    this.#queue.push(p);
    this.#common.metrics.ingestQueue.set(this.#queue.length);
    if (this.#queue.length >= this.#common.config.storage.maxBatchSize) this.flush();
    else if (!this.#timer) {
      this.#timer = setTimeout(() => this.flush(), this.#common.config.storage.flushIntervalMs);
    }
  }

  /**
   * Commits everything queued in one transaction and settles each submitter once it is durable.
   * With a writer thread, one commit is written at a time: what arrives meanwhile waits and goes
   * into the next one as soon as it returns (group commit sized by the commit's own duration).
   */
  flush(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    if (this.#committing || this.#queue.length === 0) return;
    const items = this.#queue;
    this.#queue = [];
    this.#common.metrics.ingestQueue.set(0);
    const readings = items.filter((p) => p.kind === "reading");
    const dead = items.filter((p) => p.kind === "dead");
    const end = this.#common.metrics.commitSeconds.startTimer();
    const rows = readings.map((p) => p.row);
    const deadRows = dead.map((p) => p.row);
    const opts = { windowS: this.#common.config.batching.windowS, nowMs: this.#common.clock.nowMs() };
    if (!this.#writer) {
      let out: IngestCommit;
      try {
        out = this.#storage.commitIngest(rows, deadRows, opts);
      } catch (err) {
        this.#failed(items, readings, err);
        return;
      } finally {
        end();
      }
      this.#settle(out, readings, dead);
      return;
    }
    this.#committing = this.#writer.commit(rows, deadRows, opts).then(
      (out) => {
        end();
        this.#committing = null;
        this.#settle(out, readings, dead);
        this.flush();
      },
      (err: unknown) => {
        end();
        this.#committing = null;
        this.#failed(items, readings, err);
        this.flush();
      },
    );
  }

  #failed(items: Pending[], readings: Extract<Pending, { kind: "reading" }>[], err: unknown): void {
    this.#common.metrics.commitFailures.inc();
    this.#log.error(
      { err, readings: readings.length, dead: items.length - readings.length },
      "group commit failed; nothing acknowledged",
    );
    for (const p of readings) this.#inQueue.delete(`${p.row.deviceId}\u0000${p.row.seq}`);
    for (const p of items)
      p.sink.reject(new IngestError("STORAGE_FAILED", "could not store durably; retry", { cause: err }));
  }

  #settle(
    out: IngestCommit,
    readings: Extract<Pending, { kind: "reading" }>[],
    dead: Extract<Pending, { kind: "dead" }>[],
  ): void {
    // per source, counted once per group commit (a labelled inc() hashes its labels on every call)
    const accepted = new Map<IngestSource, number>();
    const debug = this.#log.isLevelEnabled("debug");
    readings.forEach((p, i) => {
      this.#inQueue.delete(`${p.row.deviceId}\u0000${p.row.seq}`);
      const o = out.readings[i]!;
      if (o.status === "stored") {
        this.#seen.add(p.row.deviceId, p.row.seq);
        accepted.set(p.row.source, (accepted.get(p.row.source) ?? 0) + 1);
        if (debug) {
          this.#log.debug(
            { device: p.row.deviceId, seq: p.row.seq, digest: p.row.digest, batch: o.batchId },
            "reading stored",
          );
        }
      } else {
        this.#common.metrics.readingsRejected.inc({ reason: o.reason });
        this.#log.info(
          { device: p.row.deviceId, seq: p.row.seq, digest: p.row.digest, reason: o.reason },
          "reading rejected",
        );
      }
      p.sink.resolve(o);
    });
    for (const [source, n] of accepted) this.#common.metrics.readingsAccepted.inc({ source }, n);
    dead.forEach((p, i) => {
      this.#common.metrics.readingsRejected.inc({ reason: p.row.reason });
      this.#log.info(
        { device: p.row.deviceId, seq: p.row.seq, digest: p.row.digest, reason: p.row.reason, detail: p.row.detail },
        "message rejected",
      );
      p.sink.resolve({
        status: "rejected",
        reason: p.row.reason,
        detail: p.row.detail,
        deadLetterId: out.deadLetterIds[i]!,
      });
    });
  }

  /** Stops accepting, commits what is queued, stops the verification workers. */
  async close(): Promise<void> {
    this.#closed = true;
    this.flush();
    while (this.#committing) {
      await this.#committing;
      this.flush();
    }
    if (this.#ownsWriter) await this.#writer?.close();
    await this.#verifier.close();
  }
}
