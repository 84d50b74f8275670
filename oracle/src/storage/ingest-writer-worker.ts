import { parentPort, workerData } from "node:worker_threads";
import { SqliteStorage } from "./sqlite.ts";
import type { NewDeadLetter, NewReading } from "./types.ts";

/**
 * Writer side of `IngestWriter`: the same `commitIngest` as on the main thread, and the batch
 * pipeline's state writes, on its own connection. Batch state commits at synchronous = NORMAL
 * (`relaxBatchWrites`); reading commits and those before a broadcast stay FULL.
 */
const { path, synchronous } = workerData as { path: string; synchronous: "FULL" | "NORMAL" };
const storage = new SqliteStorage(path, { synchronous });
storage.relaxBatchWrites();
// Every reading inserts into two indexes keyed at random (the digest) or spread over all devices
// ((device_id, seq)), so each commit touches a page per reading in each: a 32 MiB page cache
// (default 2 MiB) keeps those pages in memory instead of re-reading them from the OS on every
// commit (bench:ingest: writer CPU per reading down, mostly system time).
storage.db.exec("PRAGMA cache_size = -32768");
type Job = { id: number; accepted: NewReading[]; rejected: NewDeadLetter[]; opts: { windowS: number; nowMs: number } };
type Call =
  | { id: number; call: "sealDue"; args: Parameters<SqliteStorage["sealDue"]> }
  | { id: number; call: "transition"; args: Parameters<SqliteStorage["transition"]> }
  | { id: number; call: "patchBatch"; args: Parameters<SqliteStorage["patchBatch"]> }
  | { id: number; call: "addHeartbeat"; args: Parameters<SqliteStorage["addHeartbeat"]> };
parentPort!.on("message", (m: Job | Call | { close: true }) => {
  if ("close" in m) {
    storage.close();
    parentPort!.close();
    return;
  }
  try {
    if ("call" in m) {
      const result =
        m.call === "sealDue"
          ? storage.sealDue(...m.args)
          : m.call === "transition"
            ? storage.transition(...m.args)
            : m.call === "patchBatch"
              ? storage.patchBatch(...m.args)
              : storage.addHeartbeat(...m.args);
      parentPort!.postMessage({ id: m.id, result });
      return;
    }
    parentPort!.postMessage({ id: m.id, out: storage.commitIngest(m.accepted, m.rejected, m.opts) });
  } catch (err) {
    // the transaction was rolled back; the main thread leaves these messages unacknowledged
    const e = err instanceof Error ? err : new Error(String(err));
    parentPort!.postMessage({ id: m.id, error: e.message, stack: e.stack });
  }
});
