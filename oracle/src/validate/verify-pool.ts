import { Worker } from "node:worker_threads";
import { bytesToHex } from "../../../sdk/src/index.ts";
import { SignatureVerifier } from "../../../sdk/src/reading/nodeVerifier.ts";
import type { DeviceInfo } from "../devices/directory.ts";
import {
  preparePayload,
  prepareValue,
  unpackPrepared,
  type PostedDevice,
  type PostedMethodology,
  type PreparedPayload,
} from "./prepare.ts";

type Settle<T> = { resolve: (v: T) => void; reject: (e: unknown) => void };

/** Where `prepareTo` reports: the prepared payload, or why it could not be prepared (a worker died). */
export interface PrepareSink {
  prepared(p: PreparedPayload): void;
  failed(err: unknown): void;
}

/**
 * Heap limits of the verification workers. Their live heap is ~20 MB (code, key cache); left
 * alone, V8 let each grow to 100+ MB of garbage between full collections, which counted in the
 * node's resident memory (issue 6: < 1 GiB at saturation).
 */
const WORKER_LIMITS = { maxOldGenerationSizeMb: 96 };

/**
 * The CPU-bound part of validation off the main thread: `size` workers, each job batched with
 * the others of the same event-loop turn (one message per worker per turn), so the main thread
 * keeps receiving, storing and acknowledging while the other cores parse and verify.
 * `prepare` takes a raw MQTT/HTTP payload through JSON, the sdk schema, canonical bytes, digest
 * and signature in one round trip; `verify` checks one signature. Size 0: both inline.
 * With a methodology, `prepare` also gives each reading's plausibility and emissions, so that the
 * main thread neither parses the reading again nor builds its result (validate/prepare.ts).
 */
export class VerifyPool {
  readonly #workers: Worker[] = [];
  readonly #inline = new SignatureVerifier();
  readonly #verifying = new Map<number, Settle<boolean>>();
  readonly #preparing = new Map<number, PrepareSink>();
  /** one posted form per device record, so "already sent" is an identity check */
  readonly #posted = new WeakMap<DeviceInfo, PostedDevice>();
  /**
   * Per worker slot, the device records it already has: a payload then carries only the device
   * id (its keys are ~200 bytes to clone per payload otherwise). A new record of a device (a key
   * rotation, a status change) is a new object and is sent again; a replaced worker starts empty.
   */
  readonly #sent: Map<string, PostedDevice>[] = [];
  /**
   * Per worker slot, the ids of each message posted to it and not answered yet, oldest first (a
   * worker answers its messages in order): a worker that dies fails its own jobs only, not the
   * other workers' (review: one dying failed every payload in flight, node-wide).
   */
  readonly #inFlight: number[][][] = [];
  #verifyQueue: { id: number; bytes: Uint8Array; sig: string; keys: Uint8Array[] }[] = [];
  #prepareQueue: { id: number; payload: Uint8Array; device: PostedDevice | null }[] = [];
  #next = 0;
  #rr = 0;
  #scheduled = false;
  #closing = false;
  readonly #methodology: PostedMethodology | null;

  /** the worker's script: verify-worker.ts, but in a test of a worker that dies */
  readonly #script: URL;

  constructor(
    size: number,
    methodology: PostedMethodology | null = null,
    script = new URL("./verify-worker.ts", import.meta.url),
  ) {
    this.#methodology = methodology;
    this.#script = script;
    for (let i = 0; i < size; i++) this.#workers.push(this.#spawn(i));
  }

  /**
   * One worker. A worker that dies (an uncaught error, or running out of its heap limit) fails
   * the jobs posted to it and not answered yet, so those messages stay unacknowledged and are
   * redelivered, and is replaced, so later jobs are never posted to a dead thread.
   */
  #spawn(slot: number): Worker {
    const w = new Worker(this.#script, {
      resourceLimits: WORKER_LIMITS,
      workerData: { methodology: this.#methodology },
    });
    w.on(
      "message",
      (
        m: { type: "verified"; ids: number[]; ok: Uint8Array } | { type: "prepared"; ids: number[]; flat: unknown[] },
      ) => {
        this.#inFlight[slot]?.shift();
        if (m.type === "verified") {
          m.ids.forEach((id, k) => {
            const p = this.#verifying.get(id);
            this.#verifying.delete(id);
            p?.resolve(m.ok[k] === 1);
          });
        } else {
          const out = unpackPrepared(m.flat, m.ids.length);
          m.ids.forEach((id, k) => {
            const p = this.#preparing.get(id);
            this.#preparing.delete(id);
            p?.prepared(out[k]!);
          });
        }
      },
    );
    const fail = (err: Error) => {
      const posted = this.#inFlight[slot] ?? [];
      this.#inFlight[slot] = [];
      for (const ids of posted)
        for (const id of ids) {
          const v = this.#verifying.get(id);
          if (v) {
            this.#verifying.delete(id);
            v.reject(err);
          }
          const p = this.#preparing.get(id);
          if (p) {
            this.#preparing.delete(id);
            p.failed(err);
          }
        }
    };
    w.on("error", fail);
    w.once("exit", (code) => {
      fail(new Error(`verification worker exited (code ${code})`));
      if (!this.#closing && this.#workers[slot] === w) {
        this.#sent[slot] = new Map();
        this.#workers[slot] = this.#spawn(slot);
      }
    });
    return w;
  }

  /** True when `sig` over `bytes` verifies under one of `keys`. */
  verify(bytes: Uint8Array, sig: string, keys: Uint8Array[]): Promise<boolean> | boolean {
    if (this.#workers.length === 0) return keys.some((k) => this.#inline.verify(bytes, sig, k));
    const id = this.#next++;
    this.#verifyQueue.push({ id, bytes, sig, keys });
    this.#schedule();
    return new Promise((resolve, reject) => this.#verifying.set(id, { resolve, reject }));
  }

  /**
   * Parses and checks a raw payload (validate/prepare.ts). `device`: the device the MQTT topic
   * names, whose keys the signature is checked against when the reading names the same device.
   */
  prepare(payload: Uint8Array, device: DeviceInfo | null): Promise<PreparedPayload> | PreparedPayload {
    if (this.#workers.length === 0) return this.#prepareInline(payload, device);
    return new Promise((prepared, failed) => this.prepareTo(payload, device, { prepared, failed }));
  }

  /**
   * `prepare`, reported to `sink` instead of a promise (the MQTT hot path keeps one object per
   * message in flight). Without workers, reported before it returns.
   */
  prepareTo(payload: Uint8Array, device: DeviceInfo | null, sink: PrepareSink): void {
    if (this.#workers.length === 0) {
      let p: PreparedPayload;
      try {
        p = this.#prepareInline(payload, device);
      } catch (err) {
        return sink.failed(err);
      }
      return sink.prepared(p);
    }
    const id = this.#next++;
    this.#prepareQueue.push({ id, payload, device: device ? this.#post(device) : null });
    this.#preparing.set(id, sink);
    this.#schedule();
  }

  #prepareInline(payload: Uint8Array, device: DeviceInfo | null): PreparedPayload {
    const posted = device ? this.#post(device) : null;
    return preparePayload(Buffer.from(payload).toString("utf8"), posted, this.#inline, this.#methodology);
  }

  /** `prepare` for JSON already parsed (HTTP bodies, CSV rows), on this thread; the signature is left to `verify`. */
  prepareValue(value: unknown): PreparedPayload {
    return prepareValue(value, null, this.#inline, this.#methodology);
  }

  #post(device: DeviceInfo): PostedDevice {
    let posted = this.#posted.get(device);
    if (posted) return posted;
    posted = {
      deviceId: device.deviceId,
      keys: device.keys.map((k) => ({
        publicKeyHex: bytesToHex(k.publicKey),
        validFrom: k.validFrom,
        validUntil: k.validUntil,
      })),
    };
    this.#posted.set(device, posted);
    return posted;
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => this.#dispatch());
  }

  #dispatch(): void {
    this.#scheduled = false;
    const n = this.#workers.length;
    const vq = this.#verifyQueue;
    this.#verifyQueue = [];
    const vper = Math.ceil(vq.length / n);
    for (let i = 0; i < vq.length; i += vper) {
      const slot = this.#rr++ % n;
      const jobs = vq.slice(i, i + vper);
      (this.#inFlight[slot] ??= []).push(jobs.map((j) => j.id));
      this.#workers[slot]!.postMessage({ type: "verify", jobs });
    }
    const pq = this.#prepareQueue;
    this.#prepareQueue = [];
    const pper = Math.ceil(pq.length / n);
    for (let i = 0; i < pq.length; i += pper) {
      const part = pq.slice(i, i + pper);
      // one buffer for the part, moved (not copied) to the worker
      let size = 0;
      for (const j of part) size += j.payload.byteLength;
      const buf = new Uint8Array(size);
      const ends = new Uint32Array(part.length);
      let at = 0;
      part.forEach((j, k) => {
        buf.set(j.payload, at);
        at += j.payload.byteLength;
        ends[k] = at;
      });
      const slot = this.#rr++ % n;
      const sent = (this.#sent[slot] ??= new Map());
      const devices = part.map((j): PostedDevice | string | null => {
        const d = j.device;
        if (d === null) return null;
        if (sent.get(d.deviceId) === d) return d.deviceId;
        sent.set(d.deviceId, d);
        return d;
      });
      const ids = part.map((j) => j.id);
      (this.#inFlight[slot] ??= []).push(ids);
      this.#workers[slot]!.postMessage({ type: "prepare", ids, buf: buf.buffer, ends, devices }, [buf.buffer]);
    }
  }

  async close(): Promise<void> {
    this.#closing = true;
    await Promise.all(this.#workers.map((w) => w.terminate()));
  }
}
