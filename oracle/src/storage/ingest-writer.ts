import { WorkerRpc } from "../threads/rpc.ts";
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
  "commitIngestPacked" | "sealDue" | "transition" | "patchBatch" | "addHeartbeat" | "pruneHeartbeats";

/**
 * Readings and outcomes cross to and from the writer thread as flat arrays of primitives, not as
 * objects: the structured clone of an object is generic, property by property, and a reading row
 * has 18 of them, so each took microseconds to serialize on the main thread and to rebuild on the
 * writer's; a flat array clones at a fraction of that (validate/prepare.ts `packPrepared` has the
 * figures). Field order is `packReadings`'.
 */
const READING_FIELDS = 18;

export function packReadings(rows: readonly NewReading[]): unknown[] {
  const f: unknown[] = new Array(rows.length * READING_FIELDS);
  let j = 0;
  for (const r of rows) {
    f[j++] = r.digest;
    f[j++] = r.deviceId;
    f[j++] = r.facilityId;
    f[j++] = r.seq;
    f[j++] = r.ts;
    f[j++] = r.kind;
    f[j++] = r.canonical;
    f[j++] = r.sig;
    f[j++] = r.keyId;
    f[j++] = r.source;
    f[j++] = r.receivedAtMs;
    f[j++] = r.anomalyScore;
    f[j++] = r.flagged;
    f[j++] = r.fossilMg;
    f[j++] = r.biogenicMg;
    f[j++] = r.methodologyId;
    f[j++] = r.factorSetId;
    f[j++] = r.resultJson;
  }
  return f;
}

/** `packReadings`' inverse. */
export function unpackReadings(f: readonly unknown[]): NewReading[] {
  const rows: NewReading[] = new Array(f.length / READING_FIELDS);
  for (let i = 0, j = 0; i < rows.length; i++, j += READING_FIELDS) {
    rows[i] = {
      digest: f[j] as string,
      deviceId: f[j + 1] as string,
      facilityId: f[j + 2] as string,
      seq: f[j + 3] as number,
      ts: f[j + 4] as number,
      kind: f[j + 5] as string,
      canonical: f[j + 6] as string,
      sig: f[j + 7] as string,
      keyId: f[j + 8] as string | null,
      source: f[j + 9] as NewReading["source"],
      receivedAtMs: f[j + 10] as number,
      anomalyScore: f[j + 11] as number | null,
      flagged: f[j + 12] as boolean,
      fossilMg: f[j + 13] as bigint,
      biogenicMg: f[j + 14] as bigint,
      methodologyId: f[j + 15] as string,
      factorSetId: f[j + 16] as string,
      resultJson: f[j + 17] as string,
    };
  }
  return rows;
}

/**
 * A commit's outcomes on the wire: per reading its batch id when stored (the digest is the row's,
 * which the main thread has), -1 when rejected, whose outcomes follow in order.
 */
export type PackedCommit = { batchIds: number[]; rejected: IngestOutcome[]; deadLetterIds: number[] };

export function packCommit(c: IngestCommit): PackedCommit {
  const batchIds = new Array<number>(c.readings.length);
  const rejected: IngestOutcome[] = [];
  c.readings.forEach((o, i) => {
    if (o.status === "stored") batchIds[i] = o.batchId;
    else {
      batchIds[i] = -1;
      rejected.push(o);
    }
  });
  return { batchIds, rejected, deadLetterIds: c.deadLetterIds };
}

/** `packCommit`'s inverse, with the rows the commit was asked for. */
export function unpackCommit(p: PackedCommit, rows: readonly NewReading[]): IngestCommit {
  let k = 0;
  const readings = p.batchIds.map((batchId, i): IngestOutcome =>
    batchId === -1 ? p.rejected[k++]! : { status: "stored", digest: rows[i]!.digest, batchId },
  );
  return { readings, deadLetterIds: p.deadLetterIds };
}

export class IngestWriter {
  readonly #rpc: WorkerRpc;

  constructor(path: string, synchronous: "FULL" | "NORMAL") {
    // A dead writer fails its commits in flight and every later one, so nothing is acknowledged.
    this.#rpc = new WorkerRpc(
      new URL("./ingest-writer-worker.ts", import.meta.url),
      {
        workerData: { path, synchronous },
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
    return this.#call<PackedCommit>("commitIngestPacked", [packReadings(accepted), rejected, opts]).then((p) =>
      unpackCommit(p, accepted),
    );
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
    return this.#rpc.call<T>({ method, args });
  }

  /** Closes the writer's connection once the commits already asked for are done. */
  close(): Promise<void> {
    return this.#rpc.close();
  }
}
