import { Worker } from "node:worker_threads";
import type { BatchPatch, BatchState, IngestOutcome, NewDeadLetter, NewHeartbeat, NewReading } from "./types.ts";

export type IngestCommit = { readings: IngestOutcome[]; deadLetterIds: number[] };

/**
 * Group commits of ingested readings on a thread of their own, with its own SQLite connection
 * to the same WAL database. `node:sqlite` is synchronous: on the main thread the fsync of every
 * commit (synchronous = FULL, ~5 ms on this kind of disk) stopped the MQTT broker, parsing and
 * acknowledging for as long. Here the main thread keeps working while the commit is written;
 * `commit` resolves only after SQLite's COMMIT returned, so an acknowledgement sent on it still
 * means "durable". Commits run one at a time, in the order they were asked for.
 *
 * The batch pipeline's state writes (`sealDue`, `transition`, `patchBatch`) and heartbeats run
 * here too: on the main thread's connection they waited for SQLite's write lock whenever a group
 * commit held it, and SQLite's busy handler sleeps in steps of milliseconds, stopping the broker
 * meanwhile. Every request is one `Storage` method called on the writer's connection.
 */
export type WriterMethod =
  "commitIngest" | "sealDue" | "transition" | "patchBatch" | "addHeartbeat" | "pruneHeartbeats";

export class IngestWriter {
  readonly #worker: Worker;
  readonly #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: unknown) => void }>();
  #next = 0;
  #failed: Error | null = null;
  readonly #exited: Promise<void>;

  constructor(path: string, synchronous: "FULL" | "NORMAL") {
    this.#worker = new Worker(new URL("./ingest-writer-worker.ts", import.meta.url), {
      workerData: { path, synchronous },
      // live heap ~20 MB; without a limit V8 let garbage grow to 100+ MB between full collections
      resourceLimits: { maxOldGenerationSizeMb: 128 },
    });
    this.#worker.on("message", (m: { id: number; result?: unknown; error?: string; stack?: string }) => {
      const p = this.#pending.get(m.id);
      this.#pending.delete(m.id);
      if (!p) return;
      if (m.error !== undefined) p.reject(Object.assign(new Error(m.error), { stack: m.stack }));
      else p.resolve(m.result);
    });
    const fail = (err: Error) => {
      // a dead writer must not strand its commits: fail them, so nothing is acknowledged
      this.#failed = err;
      for (const [id, p] of this.#pending) {
        this.#pending.delete(id);
        p.reject(err);
      }
    };
    this.#worker.on("error", fail);
    this.#exited = new Promise((resolve) =>
      this.#worker.once("exit", (code) => {
        fail(new Error(`ingest writer thread exited (code ${code})`));
        resolve();
      }),
    );
  }

  /** Stores validated readings and dead letters in one transaction (`Storage.commitIngest`), off the main thread. */
  commit(
    accepted: NewReading[],
    rejected: NewDeadLetter[],
    opts: { windowS: number; nowMs: number },
  ): Promise<IngestCommit> {
    return this.#call("commitIngest", [accepted, rejected, opts]);
  }

  sealDue(nowMs: number, graceS: number): Promise<number[]> {
    return this.#call("sealDue", [nowMs, graceS]);
  }
  transition(id: number, from: BatchState[], to: BatchState, patch: BatchPatch = {}): Promise<boolean> {
    return this.#call("transition", [id, from, to, patch]);
  }
  patchBatch(id: number, state: BatchState, patch: BatchPatch): Promise<boolean> {
    return this.#call("patchBatch", [id, state, patch]);
  }

  addHeartbeat(h: NewHeartbeat): Promise<void> {
    return this.#call("addHeartbeat", [h]);
  }
  pruneHeartbeats(beforeMs: number, limit: number): Promise<number> {
    return this.#call("pruneHeartbeats", [beforeMs, limit]);
  }

  #call<T>(method: WriterMethod, args: unknown[]): Promise<T> {
    if (this.#failed) return Promise.reject(this.#failed);
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.#worker.postMessage({ id, method, args });
    });
  }

  /** Closes the writer's connection once the commits already asked for are done. */
  async close(): Promise<void> {
    this.#worker.postMessage({ close: true });
    await this.#exited;
  }
}
