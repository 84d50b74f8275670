import { workerData } from "node:worker_threads";
import { nameThread, THREAD_NAMES } from "../threads/name.ts";
import { serveRpc } from "../threads/rpc.ts";
import type { WriterMethod } from "./ingest-writer.ts";
import { SqliteStorage } from "./sqlite.ts";

/**
 * Writer side of `IngestWriter`: each request is one `Storage` method (the same `commitIngest`
 * as on the main thread, the batch pipeline's state writes, heartbeats) on this thread's own
 * connection. Batch state commits at synchronous = NORMAL (`relaxBatchWrites`); reading commits
 * and those before a broadcast stay FULL.
 */
nameThread(THREAD_NAMES.writer);
const { path, synchronous } = workerData as { path: string; synchronous: "FULL" | "NORMAL" };
// WAL checkpoints are the bundle worker's job (batch/bundle-worker.ts): one run by this connection
// happens inside a group commit, which then stalls every reading waiting on it for as long. This
// high threshold is the backstop should that thread fall behind (256 MiB of WAL at 4 KiB pages).
const storage = new SqliteStorage(path, { synchronous, autocheckpoint: 65536 });
storage.relaxBatchWrites();
// Every reading inserts into two indexes keyed at random (the digest) or spread over all devices
// ((device_id, seq)), so each commit touches a page per reading in each: a 32 MiB page cache
// (default 2 MiB) keeps those pages in memory instead of re-reading them from the OS on every
// commit (bench:ingest: writer CPU per reading down, mostly system time).
storage.db.exec("PRAGMA cache_size = -32768");

const methods: Record<WriterMethod, (...args: never[]) => unknown> = {
  commitIngest: (...a: Parameters<SqliteStorage["commitIngest"]>) => storage.commitIngest(...a),
  sealDue: (...a: Parameters<SqliteStorage["sealDue"]>) => storage.sealDue(...a),
  transition: (...a: Parameters<SqliteStorage["transition"]>) => storage.transition(...a),
  patchBatch: (...a: Parameters<SqliteStorage["patchBatch"]>) => storage.patchBatch(...a),
  addHeartbeat: (...a: Parameters<SqliteStorage["addHeartbeat"]>) => storage.addHeartbeat(...a),
  pruneHeartbeats: (...a: Parameters<SqliteStorage["pruneHeartbeats"]>) => storage.pruneHeartbeats(...a),
  setMeta: (...a: Parameters<SqliteStorage["setMeta"]>) => storage.setMeta(...a),
};

serveRpc<{ method: WriterMethod; args: never[] }>(
  (m) => methods[m.method](...m.args), // a throw rolled the transaction back: the main thread acknowledges nothing of it
  () => storage.close(),
);
