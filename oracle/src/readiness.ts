import type { Logger } from "pino";
import type { Common } from "./common.ts";
import type { ChainPort } from "./batch/pipeline.ts";
import type { ContentStore } from "./ipfs/store.ts";
import type { SqlStorage } from "./storage/sql-storage.ts";

/**
 * A content store that remembers since when pinning has been failing: from the first failed
 * `addAndPin` after a success (or after the start) until the next one that succeeds, or a
 * readiness probe pin (`probe`). What the pipeline and the evidence uploads pin goes through it;
 * `get` and `isPinned` are passed on as they are (a read failing does not mean nothing can be
 * pinned).
 */
export class PinWatch implements ContentStore {
  readonly #inner: ContentStore;
  readonly #nowMs: () => number;
  #failingSinceMs: number | null = null;
  #failures = 0;

  constructor(inner: ContentStore, nowMs: () => number) {
    this.#inner = inner;
    this.#nowMs = nowMs;
  }
  get kind(): ContentStore["kind"] {
    return this.#inner.kind;
  }
  get searchesNetwork(): boolean {
    return this.#inner.searchesNetwork;
  }
  /** When the pins failing now began to fail; null while the last one succeeded. */
  get failingSinceMs(): number | null {
    return this.#failingSinceMs;
  }
  /** Pins failed since the last one that succeeded. */
  get failures(): number {
    return this.#failures;
  }

  async addAndPin(bytes: Uint8Array, opts?: { signal?: AbortSignal }): Promise<string> {
    try {
      const cid = await this.#inner.addAndPin(bytes, opts);
      this.#failingSinceMs = null;
      this.#failures = 0;
      return cid;
    } catch (err) {
      this.#failingSinceMs ??= this.#nowMs();
      this.#failures++;
      throw err;
    }
  }
  /**
   * Pins `bytes` for readiness only: when it succeeds, pinning works again and the failure ends as
   * with any pin that succeeds; when it fails, nothing changes (the failure still dates from the
   * first pin that failed, and `failures` counts the node's own pins only).
   */
  async probe(bytes: Uint8Array, opts?: { signal?: AbortSignal }): Promise<void> {
    await this.#inner.addAndPin(bytes, opts);
    this.#failingSinceMs = null;
    this.#failures = 0;
  }
  get(cid: string, opts?: { signal?: AbortSignal }): Promise<Uint8Array | null> {
    return this.#inner.get(cid, opts);
  }
  isPinned(cid: string, opts?: { signal?: AbortSignal }): Promise<boolean> {
    return this.#inner.isPinned(cid, opts);
  }
  close(): Promise<void> {
    return this.#inner.close();
  }
}

/** The parts /ready reports; each is false while it keeps the node from doing its work. */
export type ReadyParts = { storage: boolean; mqtt: boolean; pipeline: boolean; ipfs: boolean; chain: boolean };

/** A storage probe that has not committed after this long makes storage not ready (a stuck writer). */
export const STORAGE_PROBE_STALL_MS = 15_000;

/**
 * What GET /ready answers (`/health` is liveness only): the node is ready when
 * - storage: a small write commits (a `meta` row, every `readiness.probeMs`, on the writer
 *   thread's connection, queued behind the group commits of readings, so that it proves the path
 *   readings take and never blocks the main thread on SQLite's lock or an fsync), none has been
 *   waiting longer than `STORAGE_PROBE_STALL_MS`, and the writer thread is running;
 * - ipfs: pinning has not been failing for longer than `readiness.ipfsFailingForMs`. While it
 *   fails, a probe pins a block of a few bytes every `readiness.probeMs` (one at a time, within
 *   `ipfs.timeoutMs`), so that a store that is back is seen at once: otherwise only the next pin
 *   would clear the failure, and a node with nothing to pin (one evidence upload failed while Kubo
 *   restarted, the next batch sealed an hour later) would answer 503 meanwhile, taken out of
 *   service by its load balancer. Each probe's bytes name the time (a block the store holds
 *   already could be pinned again without writing anything, as on a full disk), so a store that
 *   heals keeps one such block per outage;
 * - chain (when the node submits): the RPC node answered `eth_blockNumber` within the last
 *   `readiness.chainSilentForMs` (probed every `readiness.probeMs`, one request at a time);
 * - mqtt and pipeline: started and not stopped.
 * The probes run in the background, so a request to /ready reads the last results and costs nothing.
 * A part that turns not ready, or ready again, is logged once, without the error's text (an RPC or
 * Kubo URL may carry a key).
 */
export class Readiness {
  readonly #common: Common;
  readonly #log: Logger;
  readonly #storage: SqlStorage;
  readonly #writerFailed: () => Error | null;
  readonly #pins: PinWatch | null;
  readonly #chain: ChainPort | null;
  readonly #mqtt: () => boolean;
  readonly #pipeline: () => boolean;
  readonly #storageWrite: (() => Promise<void>) | null;
  #storageOk = true;
  /** Clock time the pending storage probe was sent; null when none is pending. */
  #storageProbeSentMs: number | null = null;
  #chainAnsweredMs: number;
  #chainProbe: Promise<void> | null = null;
  #ipfsProbe: Promise<void> | null = null;
  /** aborts a pending IPFS probe at `stop` (the store closes after) */
  readonly #stopped = new AbortController();
  #timer: NodeJS.Timeout | null = null;
  #last: ReadyParts | null = null;

  constructor(deps: {
    common: Common;
    storage: SqlStorage;
    /** the ingest writer thread's `failed` (null while it runs); absent without a writer */
    writerFailed?: () => Error | null;
    /** the probe write on the writer thread (`IngestWriter.setMeta`); without a writer, on `storage` */
    storageWrite?: (key: string, value: string) => Promise<void>;
    pins: PinWatch | null;
    chain: ChainPort | null;
    mqtt: () => boolean;
    pipeline: () => boolean;
  }) {
    this.#common = deps.common;
    this.#log = deps.common.logger.child({ part: "readiness" });
    this.#storage = deps.storage;
    this.#writerFailed = deps.writerFailed ?? (() => null);
    const write = deps.storageWrite;
    this.#storageWrite = write ? () => write("readiness_probe_ms", String(deps.common.clock.nowMs())) : null;
    this.#pins = deps.pins;
    this.#chain = deps.chain;
    this.#mqtt = deps.mqtt;
    this.#pipeline = deps.pipeline;
    // silent since the start: not ready only once the whole threshold passed without an answer
    this.#chainAnsweredMs = deps.common.clock.nowMs();
  }

  /** Probes at once, then every `readiness.probeMs` until `stop`. */
  start(): void {
    const loop = () => {
      this.probe();
      this.parts(); // logs a part that turned not ready even when nobody asks /ready
      this.#timer = setTimeout(loop, this.#common.config.readiness.probeMs);
      this.#timer.unref();
    };
    loop();
  }

  #storageProbed(err: unknown): void {
    this.#storageProbeSentMs = null;
    if (err && this.#storageOk)
      this.#log.error({ code: (err as { code?: string }).code }, "storage probe write failed");
    this.#storageOk = !err;
  }

  /** The pending probe has waited too long: the writer is stuck (a hung disk, a lock never released). */
  #storageStalled(): boolean {
    const sent = this.#storageProbeSentMs;
    return sent !== null && this.#common.clock.nowMs() - sent > STORAGE_PROBE_STALL_MS;
  }

  stop(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    this.#stopped.abort();
  }

  /** One round of probes: the storage write now; the chain's answer, and while pins fail an IPFS pin's, when they come. */
  probe(): void {
    const write = this.#storageWrite;
    if (!write) {
      try {
        this.#storage.setMeta("readiness_probe_ms", String(this.#common.clock.nowMs()));
        this.#storageProbed(null);
      } catch (err) {
        this.#storageProbed(err);
      }
    } else if (this.#storageProbeSentMs === null) {
      // one at a time: a probe still queued behind the writer's commits is the stall check's business
      this.#storageProbeSentMs = this.#common.clock.nowMs();
      write().then(
        () => this.#storageProbed(null),
        (err: unknown) => this.#storageProbed(err),
      );
    }
    const chain = this.#chain;
    if (chain && !this.#chainProbe) {
      this.#chainProbe = chain
        .blockNumber()
        .then(
          () => {
            this.#chainAnsweredMs = this.#common.clock.nowMs();
          },
          () => undefined, // silence is what counts: #chainAnsweredMs stays where it was
        )
        .finally(() => {
          this.#chainProbe = null;
        });
    }
    const pins = this.#pins;
    if (pins && pins.failingSinceMs !== null && !this.#ipfsProbe && !this.#stopped.signal.aborted) {
      const bytes = new TextEncoder().encode(
        `carbonproof-oracle ${this.#common.config.nodeName}: readiness probe of IPFS pinning at ${new Date(this.#common.clock.nowMs()).toISOString()}\n`,
      );
      const signal = AbortSignal.any([this.#stopped.signal, AbortSignal.timeout(this.#common.config.ipfs.timeoutMs)]);
      this.#ipfsProbe = pins
        .probe(bytes, { signal })
        .catch(() => undefined) // still failing: the failure stands as the node's pins left it
        .finally(() => {
          this.#ipfsProbe = null;
        });
    }
  }

  /** The parts, each true when ready (what /ready and /v1/status show). */
  parts(): ReadyParts {
    const cfg = this.#common.config.readiness;
    const now = this.#common.clock.nowMs();
    const failingSince = this.#pins?.failingSinceMs ?? null;
    const parts: ReadyParts = {
      storage: this.#storageOk && !this.#storageStalled() && this.#writerFailed() === null,
      mqtt: this.#mqtt(),
      pipeline: this.#pipeline(),
      ipfs: failingSince === null || now - failingSince <= cfg.ipfsFailingForMs,
      chain: this.#chain === null || now - this.#chainAnsweredMs <= cfg.chainSilentForMs,
    };
    this.#logChanges(parts, now, failingSince);
    return parts;
  }

  #logChanges(parts: ReadyParts, now: number, failingSince: number | null): void {
    const last = this.#last;
    this.#last = parts;
    if (!last) return;
    for (const k of Object.keys(parts) as (keyof ReadyParts)[]) {
      if (parts[k] === last[k]) continue;
      if (parts[k]) this.#log.info({ readyPart: k }, "ready again");
      else
        this.#log.warn(
          {
            readyPart: k,
            ...(k === "ipfs" && failingSince !== null
              ? { failingForMs: now - failingSince, failures: this.#pins?.failures }
              : {}),
            ...(k === "chain" ? { silentForMs: now - this.#chainAnsweredMs } : {}),
            ...(k === "storage"
              ? {
                  writerThread: this.#writerFailed() ? "failed" : "running",
                  probePendingMs: this.#storageProbeSentMs === null ? null : now - this.#storageProbeSentMs,
                }
              : {}),
          },
          "not ready",
        );
    }
  }
}
