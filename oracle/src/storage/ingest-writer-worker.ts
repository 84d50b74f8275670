import "../../../sdk/src/quiet-sqlite-warning.ts";
import { workerData } from "node:worker_threads";
import { nameThread, THREAD_NAMES } from "../threads/name.ts";
import { serveRpc } from "../threads/rpc.ts";
import type { WriterMethod } from "./ingest-writer.ts";
import type { StorageSpec } from "./open.ts";
import { PostgresStorage } from "./postgres.ts";
import type { SqlStorage } from "./sql-storage.ts";
import { SqliteStorage } from "./sqlite.ts";

/**
 * Writer side of `IngestWriter`: each request is one `Storage` method (the same `commitIngest`
 * as on the main thread, the batch pipeline's state writes, heartbeats) on this thread's own
 * connection. On SQLite, batch state commits at synchronous = NORMAL (`relaxBatchWrites`);
 * reading commits and those before a broadcast stay FULL.
 */
nameThread(THREAD_NAMES.writer);
const { spec } = workerData as { spec: StorageSpec };
const storage: SqlStorage =
  spec.driver === "sqlite"
    ? // WAL checkpoints are the bundle worker's job (batch/bundle-worker.ts): one run by this
      // connection happens inside a group commit, which then stalls every reading waiting on it for
      // as long. This high threshold is the backstop should that thread fall behind (256 MiB of WAL
      // at 4 KiB pages).
      new SqliteStorage(spec.path, { synchronous: spec.synchronous, autocheckpoint: 65536 })
    : // its client thread holds one group commit at a time (at most storage.maxBatchSize readings):
      // a heap limit keeps V8 from letting garbage grow to hundreds of MiB between collections
      new PostgresStorage(spec.url, { heapLimitMb: 128 });
if (storage instanceof SqliteStorage) {
  storage.relaxBatchWrites();
  // Every reading inserts into two indexes keyed at random (the digest) or spread over all devices
  // ((device_id, seq)), so each commit touches a page per reading in each: a 32 MiB page cache
  // (default 2 MiB) keeps those pages in memory instead of re-reading them from the OS on every
  // commit (bench:ingest: writer CPU per reading down, mostly system time).
  storage.cacheKib(32768);
}

const methods: Record<WriterMethod, (...args: never[]) => unknown> = {
  commitIngest: (...a: Parameters<SqlStorage["commitIngest"]>) => storage.commitIngest(...a),
  sealDue: (...a: Parameters<SqlStorage["sealDue"]>) => storage.sealDue(...a),
  transition: (...a: Parameters<SqlStorage["transition"]>) => storage.transition(...a),
  patchBatch: (...a: Parameters<SqlStorage["patchBatch"]>) => storage.patchBatch(...a),
  adoptAttestation: (...a: Parameters<SqlStorage["adoptAttestation"]>) => storage.adoptAttestation(...a),
  setAside: (...a: Parameters<SqlStorage["setAside"]>) => storage.setAside(...a),
  addHeartbeat: (...a: Parameters<SqlStorage["addHeartbeat"]>) => storage.addHeartbeat(...a),
  pruneHeartbeats: (...a: Parameters<SqlStorage["pruneHeartbeats"]>) => storage.pruneHeartbeats(...a),
  setMeta: (...a: Parameters<SqlStorage["setMeta"]>) => storage.setMeta(...a),
};

serveRpc<{ method: WriterMethod; args: never[] }>(
  (m) => methods[m.method](...m.args), // a throw rolled the transaction back: the main thread acknowledges nothing of it
  () => storage.close(),
);
