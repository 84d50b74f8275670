import { Worker } from "node:worker_threads";
import type { IngestOutcome, NewDeadLetter, NewReading } from "./types.ts";

export type IngestCommit = { readings: IngestOutcome[]; deadLetterIds: number[] };

/**
 * Group commits of ingested readings on a thread of their own, with its own SQLite connection
 * to the same WAL database. `node:sqlite` is synchronous: on the main thread the fsync of every
 * commit (synchronous = FULL, ~5 ms on this kind of disk) stopped the MQTT broker, parsing and
 * acknowledging for as long. Here the main thread keeps working while the commit is written;
 * `commit` resolves only after SQLite's COMMIT returned, so an acknowledgement sent on it still
 * means "durable". Commits run one at a time, in the order they were asked for.
 */
export class IngestWriter {
  readonly #worker: Worker;
  readonly #pending = new Map<number, { resolve: (c: IngestCommit) => void; reject: (e: unknown) => void }>();
  #next = 0;
  #failed: Error | null = null;
  readonly #exited: Promise<void>;

  constructor(path: string, synchronous: "FULL" | "NORMAL") {
    this.#worker = new Worker(new URL("./ingest-writer-worker.ts", import.meta.url), {
      workerData: { path, synchronous },
    });
    this.#worker.on("message", (m: { id: number; out?: IngestCommit; error?: string; stack?: string }) => {
      const p = this.#pending.get(m.id);
      this.#pending.delete(m.id);
      if (!p) return;
      if (m.out) p.resolve(m.out);
      else p.reject(Object.assign(new Error(m.error ?? "ingest commit failed"), { stack: m.stack }));
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
    if (this.#failed) return Promise.reject(this.#failed);
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#worker.postMessage({ id, accepted, rejected, opts });
    });
  }

  /** Closes the writer's connection once the commits already asked for are done. */
  async close(): Promise<void> {
    this.#worker.postMessage({ close: true });
    await this.#exited;
  }
}
