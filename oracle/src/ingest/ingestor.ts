import type { Logger } from "pino";
import { canonicalBytes, envelopeSchema, formatIssues, readingDigestHex } from "../../../sdk/src/index.ts";
import type { Envelope, Reading } from "../../../sdk/src/index.ts";
import type { Common } from "../common.ts";
import type { EmissionsCalculator } from "../compute/emissions.ts";
import { keysValidAt, type DeviceDirectory } from "../devices/directory.ts";
import type {
  IngestOutcome,
  IngestSource,
  NewDeadLetter,
  NewReading,
  RejectReason,
  Storage,
} from "../storage/types.ts";
import { AnomalyScorer } from "../validate/anomaly.ts";
import { implausibility } from "../validate/plausibility.ts";
import { VerifyPool } from "../validate/verify-pool.ts";

export type IngestContext = {
  source: IngestSource;
  receivedAtMs?: number;
  /** MQTT: facility and device named by the topic; the reading must match them. */
  topic?: { facilityId: string; deviceId: string };
  /** HTTP: the API key's scope; a device key may only submit its device's readings, a facility key its facility's. */
  principal?: { scope: "facility" | "device" | "admin"; subject: string };
};

type Pending =
  | { kind: "reading"; row: NewReading; resolve: (o: IngestOutcome) => void; reject: (e: unknown) => void }
  | { kind: "dead"; row: NewDeadLetter; resolve: (o: IngestOutcome) => void; reject: (e: unknown) => void };

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
  #timer: NodeJS.Timeout | null = null;
  #closed = false;

  constructor(deps: { common: Common; storage: Storage; devices: DeviceDirectory; calculator: EmissionsCalculator }) {
    this.#common = deps.common;
    this.#log = deps.common.logger.child({ part: "ingest" });
    this.#storage = deps.storage;
    this.#devices = deps.devices;
    this.#calculator = deps.calculator;
    this.#anomaly = new AnomalyScorer(deps.common.config.validation.anomaly);
    this.#verifier = new VerifyPool(deps.common.config.validation.verifyWorkers);
  }

  /** Accepts one envelope or a JSON array of envelopes as raw bytes/text; one outcome per envelope. */
  async submitRaw(payload: string | Uint8Array, ctx: IngestContext, maxBytes: number): Promise<IngestOutcome[]> {
    const receivedAtMs = ctx.receivedAtMs ?? this.#common.clock.nowMs();
    const size = typeof payload === "string" ? Buffer.byteLength(payload) : payload.byteLength;
    const text = typeof payload === "string" ? payload : Buffer.from(payload).toString("utf8");
    if (size > maxBytes) {
      return [
        await this.#dead({
          receivedAtMs,
          source: ctx.source,
          reason: "oversized",
          detail: `${size} bytes > limit ${maxBytes}`,
          payload: text,
        }),
      ];
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      return [
        await this.#dead({
          receivedAtMs,
          source: ctx.source,
          reason: "malformed",
          detail: `not JSON: ${(err as Error).message}`,
          payload: text,
        }),
      ];
    }
    return this.submit(value, { ...ctx, receivedAtMs }, text);
  }

  /** Accepts parsed JSON: one envelope or an array of envelopes. */
  async submit(value: unknown, ctx: IngestContext, rawText?: string): Promise<IngestOutcome[]> {
    const receivedAtMs = ctx.receivedAtMs ?? this.#common.clock.nowMs();
    if (Array.isArray(value)) {
      if (value.length === 0) {
        return [
          await this.#dead({
            receivedAtMs,
            source: ctx.source,
            reason: "malformed",
            detail: "empty array",
            payload: rawText ?? "[]",
          }),
        ];
      }
      return Promise.all(value.map((v) => this.#one(v, { ...ctx, receivedAtMs })));
    }
    return [await this.#one(value, { ...ctx, receivedAtMs }, rawText)];
  }

  async #one(value: unknown, ctx: IngestContext & { receivedAtMs: number }, rawText?: string): Promise<IngestOutcome> {
    const raw = () => rawText ?? safeStringify(value);
    const reject = (reason: RejectReason, detail: string, env?: Envelope, digest?: string) =>
      this.#dead({
        receivedAtMs: ctx.receivedAtMs,
        source: ctx.source,
        reason,
        detail,
        payload: raw(),
        deviceId: env?.reading.deviceId ?? null,
        seq: env?.reading.seq ?? null,
        digest: digest ?? null,
      });

    if (typeof value !== "object" || value === null || !("reading" in value)) {
      return reject("malformed", "expected a signed envelope { reading, sig, keyId? }");
    }
    // 1. schema
    const parsed = envelopeSchema.safeParse(value);
    if (!parsed.success) {
      return reject(
        "schema",
        formatIssues(parsed.error)
          .map((i) => `${i.path}: ${i.message}`)
          .join("; "),
      );
    }
    const env = parsed.data;
    const r = env.reading;
    const bytes = canonicalBytes(r);
    const digest = readingDigestHex(r);
    if (ctx.topic && (ctx.topic.facilityId !== r.facilityId || ctx.topic.deviceId !== r.deviceId)) {
      return reject(
        "topic",
        `topic names ${ctx.topic.facilityId}/${ctx.topic.deviceId}, reading is ${r.facilityId}/${r.deviceId}`,
        env,
        digest,
      );
    }
    if (ctx.principal && ctx.principal.scope !== "admin") {
      const own = ctx.principal.scope === "device" ? r.deviceId : r.facilityId;
      if (own !== ctx.principal.subject) {
        return reject(
          "topic",
          `API key for ${ctx.principal.scope} ${ctx.principal.subject} cannot submit readings of ${r.facilityId}/${r.deviceId}`,
          env,
          digest,
        );
      }
    }
    // 2. device registered and active, in the facility the reading names
    const device = await this.#devices.get(r.deviceId);
    if (!device) return reject("unknown-device", `device ${r.deviceId} is not registered`, env, digest);
    if (device.status !== "active")
      return reject("device-inactive", `device ${r.deviceId} is ${device.status}`, env, digest);
    if (device.facilityId !== r.facilityId) {
      return reject(
        "device-inactive",
        `device ${r.deviceId} belongs to ${device.facilityId}, not ${r.facilityId}`,
        env,
        digest,
      );
    }
    // 3. signature against a key valid at the reading's time
    const keys = keysValidAt(device, r.ts);
    if (keys.length === 0)
      return reject("bad-signature", `no key of ${r.deviceId} is valid at ts ${r.ts}`, env, digest);
    if (
      !(await this.#verifier.verify(
        bytes,
        env.sig,
        keys.map((k) => k.publicKey),
      ))
    ) {
      return reject(
        "bad-signature",
        `signature does not verify under the ${keys.length} key(s) valid at ts ${r.ts}`,
        env,
        digest,
      );
    }
    // 4. (device, seq) never seen
    const dk = `${r.deviceId}\u0000${r.seq}`;
    if (this.#inQueue.has(dk) || this.#storage.hasReading(r.deviceId, r.seq)) {
      return reject("replay", `(${r.deviceId}, ${r.seq}) already received`, env, digest);
    }
    // 5. not in the future beyond the clock-skew allowance
    const nowS = Math.floor(this.#common.clock.nowMs() / 1000);
    if (r.ts > nowS + this.#common.config.validation.clockSkewS) {
      return reject(
        "future-timestamp",
        `ts ${r.ts} is ${r.ts - nowS} s ahead of the node's clock (allowance ${this.#common.config.validation.clockSkewS} s)`,
        env,
        digest,
      );
    }
    // 6. physical plausibility
    const why = implausibility(r);
    if (why) return reject("implausible", why, env, digest);
    // emissions (sdk methodology), then 7. anomaly score (flags only)
    let result;
    try {
      result = this.#calculator.compute(r);
    } catch (err) {
      return reject("computation", (err as Error).message, env, digest);
    }
    const rate = Number(result.fossilMg + result.biogenicMg) / r.intervalS;
    if (!this.#anomaly.has(r.deviceId)) this.#seedAnomaly(r.deviceId);
    const { score, flagged } = this.#anomaly.score(r.deviceId, rate);
    if (flagged) {
      this.#common.metrics.readingsFlagged.inc();
      this.#log.warn({ device: r.deviceId, seq: r.seq, digest, score }, "reading flagged by anomaly score");
    }
    const row: NewReading = {
      digest,
      deviceId: r.deviceId,
      facilityId: r.facilityId,
      seq: r.seq,
      ts: r.ts,
      kind: r.kind,
      canonical: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8"),
      sig: env.sig.toLowerCase(),
      keyId: env.keyId ?? null,
      source: ctx.source,
      receivedAtMs: ctx.receivedAtMs,
      anomalyScore: score,
      flagged,
      fossilMg: result.fossilMg,
      biogenicMg: result.biogenicMg,
      methodologyId: this.#calculator.methodologyId,
      factorSetId: this.#calculator.factorSetId,
      result: result.detail,
    };
    this.#inQueue.add(dk);
    return this.#enqueue({ kind: "reading", row });
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
    return this.#enqueue({ kind: "dead", row });
  }

  #enqueue(p: Omit<Pending, "resolve" | "reject">): Promise<IngestOutcome> {
    if (this.#closed) return Promise.reject(new IngestError("INGEST_CLOSED", "the node is shutting down; retry later"));
    return new Promise((resolve, reject) => {
      this.#queue.push({ ...p, resolve, reject } as Pending);
      this.#common.metrics.ingestQueue.set(this.#queue.length);
      if (this.#queue.length >= this.#common.config.storage.maxBatchSize) this.flush();
      else if (!this.#timer) {
        this.#timer = setTimeout(() => this.flush(), this.#common.config.storage.flushIntervalMs);
      }
    });
  }

  /** Commits everything queued in one transaction and settles each submitter. */
  flush(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    const items = this.#queue;
    if (items.length === 0) return;
    this.#queue = [];
    const readings = items.filter((p) => p.kind === "reading");
    const dead = items.filter((p) => p.kind === "dead");
    const end = this.#common.metrics.commitSeconds.startTimer();
    let out;
    try {
      out = this.#storage.commitIngest(
        readings.map((p) => p.row),
        dead.map((p) => p.row),
        { windowS: this.#common.config.batching.windowS, nowMs: this.#common.clock.nowMs() },
      );
    } catch (err) {
      this.#log.error(
        { err, readings: readings.length, dead: dead.length },
        "group commit failed; nothing acknowledged",
      );
      for (const p of readings) this.#inQueue.delete(`${p.row.deviceId}\u0000${p.row.seq}`);
      for (const p of items)
        p.reject(new IngestError("STORAGE_FAILED", "could not store durably; retry", { cause: err }));
      return;
    } finally {
      end();
      this.#common.metrics.ingestQueue.set(this.#queue.length);
    }
    readings.forEach((p, i) => {
      this.#inQueue.delete(`${p.row.deviceId}\u0000${p.row.seq}`);
      const o = out.readings[i]!;
      if (o.status === "stored") {
        this.#common.metrics.readingsAccepted.inc({ source: p.row.source });
        this.#log.debug(
          { device: p.row.deviceId, seq: p.row.seq, digest: p.row.digest, batch: o.batchId },
          "reading stored",
        );
      } else {
        this.#common.metrics.readingsRejected.inc({ reason: o.reason });
        this.#log.info(
          { device: p.row.deviceId, seq: p.row.seq, digest: p.row.digest, reason: o.reason },
          "reading rejected",
        );
      }
      p.resolve(o);
    });
    dead.forEach((p, i) => {
      this.#common.metrics.readingsRejected.inc({ reason: p.row.reason });
      this.#log.info(
        { device: p.row.deviceId, seq: p.row.seq, digest: p.row.digest, reason: p.row.reason, detail: p.row.detail },
        "message rejected",
      );
      p.resolve({
        status: "rejected",
        reason: p.row.reason,
        detail: p.row.detail,
        deadLetterId: out.deadLetterIds[i]!,
      });
    });
  }

  /** Stops accepting, commits what is queued, stops the verification workers. */
  close(): Promise<void> {
    this.#closed = true;
    this.flush();
    return this.#verifier.close();
  }
}

function safeStringify(v: unknown): string {
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v); // not JSON-serialisable (cyclic): keep what can be shown
  }
}
