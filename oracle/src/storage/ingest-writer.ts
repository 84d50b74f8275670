import { WorkerRpc } from "../threads/rpc.ts";
import type { StorageSpec } from "./open.ts";
import type {
  BatchPatch,
  BatchState,
  IngestOutcome,
  NewDeadLetter,
  NewHeartbeat,
  NewReading,
  Storage,
} from "./types.ts";

export type IngestCommit = { readings: IngestOutcome[]; deadLetterIds: number[] };

/**
 * Group commits of ingested readings on a thread of their own, with its own connection to the
 * same database (SQLite in WAL mode, or PostgreSQL). `node:sqlite` is synchronous: on the main thread the fsync of every
 * commit (synchronous = FULL, ~5 ms on this kind of disk) stopped the MQTT broker, parsing and
 * acknowledging for as long. Here the main thread keeps working while the commit is written;
 * `commit` resolves only after SQLite's COMMIT returned, so an acknowledgement sent on it still
 * means "durable". Commits run one at a time, in the order they were asked for.
 *
 * The batch pipeline's state writes (`sealDue`, `transition`, `patchBatch`, `adoptAttestation`,
 * `setAside`) and heartbeats run here too: on the main thread's connection they waited for
 * SQLite's write lock whenever a group commit held it, and SQLite's busy handler sleeps in steps
 * of milliseconds, stopping the broker meanwhile. Every request is one `Storage` method called on the writer's connection.
 */
export type WriterMethod =
  | "commitIngest"
  | "sealDue"
  | "transition"
  | "patchBatch"
  | "adoptAttestation"
  | "setAside"
  | "addHeartbeat"
  | "pruneHeartbeats"
  | "setMeta";

export class IngestWriter {
  readonly #rpc: WorkerRpc;

  constructor(spec: StorageSpec) {
    // A dead writer fails its commits in flight and every later one, so nothing is acknowledged.
    this.#rpc = new WorkerRpc(
      new URL("./ingest-writer-worker.ts", import.meta.url),
      {
        workerData: { spec },
        // live heap ~20 MB; without a limit V8 let garbage grow to 100+ MB between full collections
        resourceLimits: { maxOldGenerationSizeMb: 128 },
      },
      "ingest writer thread",
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
  transition(...args: Parameters<Storage["transition"]>): Promise<boolean> {
    return this.#call("transition", args);
  }
  patchBatch(id: number, state: BatchState, patch: BatchPatch): Promise<boolean> {
    return this.#call("patchBatch", [id, state, patch]);
  }
  adoptAttestation(...args: Parameters<Storage["adoptAttestation"]>): Promise<boolean> {
    return this.#call("adoptAttestation", args);
  }
  setAside(...args: Parameters<Storage["setAside"]>): Promise<number | null> {
    return this.#call("setAside", args);
  }

  addHeartbeat(h: NewHeartbeat): Promise<void> {
    return this.#call("addHeartbeat", [h]);
  }
  pruneHeartbeats(beforeMs: number, limit: number): Promise<number> {
    return this.#call("pruneHeartbeats", [beforeMs, limit]);
  }

  /** One `meta` row written and committed on the writer's connection: /ready's storage probe. */
  setMeta(key: string, value: string): Promise<void> {
    return this.#call("setMeta", [key, value]);
  }

  #call<T>(method: WriterMethod, args: unknown[]): Promise<T> {
    return this.#rpc.call<T>({ method, args });
  }

  /** Why the writer thread stopped answering (every later write fails); null while it runs. For /ready. */
  get failed(): Error | null {
    return this.#rpc.failed;
  }

  /** Closes the writer's connection once the commits already asked for are done. */
  close(): Promise<void> {
    return this.#rpc.close();
  }
}
