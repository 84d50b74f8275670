import { parentPort, workerData } from "node:worker_threads";
import { SqliteStorage } from "./sqlite.ts";
import type { NewDeadLetter, NewReading } from "./types.ts";

/** Writer side of `IngestWriter`: the same `commitIngest` as on the main thread, on its own connection. */
const { path, synchronous } = workerData as { path: string; synchronous: "FULL" | "NORMAL" };
const storage = new SqliteStorage(path, { synchronous });
type Job = { id: number; accepted: NewReading[]; rejected: NewDeadLetter[]; opts: { windowS: number; nowMs: number } };
parentPort!.on("message", (m: Job | { close: true }) => {
  if ("close" in m) {
    storage.close();
    parentPort!.close();
    return;
  }
  try {
    parentPort!.postMessage({ id: m.id, out: storage.commitIngest(m.accepted, m.rejected, m.opts) });
  } catch (err) {
    // the transaction was rolled back; the main thread leaves these messages unacknowledged
    const e = err instanceof Error ? err : new Error(String(err));
    parentPort!.postMessage({ id: m.id, error: e.message, stack: e.stack });
  }
});
