import { parentPort, workerData } from "node:worker_threads";
import type { Hex } from "../../../sdk/src/index.ts";
import { SqliteStorage } from "../storage/sqlite.ts";
import type { Batch } from "../storage/types.ts";
import { buildSealedBundle, type PostedBundleInputs } from "./bundle.ts";

/**
 * Worker side of `WorkerBundleBuilder`: reads a sealed batch's readings on its own connection
 * (WAL: it never blocks the ingest writer) and builds its bundle. The bundle bytes are moved,
 * not copied, back to the main thread, which pins them.
 */
const { path } = workerData as { path: string };
const CHECKPOINT_INTERVAL_MS = 500;
const storage = new SqliteStorage(path, { synchronous: "NORMAL" });
// This thread also checkpoints the write-ahead log, twice a second, PASSIVE (it never blocks the
// writer): on the ingest writer's connection a checkpoint ran inside a group commit and held up
// every reading waiting on that commit (storage/ingest-writer-worker.ts keeps a high backstop).
const checkpoints = setInterval(() => {
  try {
    storage.checkpoint();
  } catch {
    // busy (another checkpoint running) or the database is closing: the next tick tries again
  }
}, CHECKPOINT_INTERVAL_MS);
type Job = { id: number; batch: Batch; inputs: PostedBundleInputs; correctionOf?: Hex };
parentPort!.on("message", (m: Job | { close: true }) => {
  if ("close" in m) {
    clearInterval(checkpoints);
    storage.close();
    parentPort!.close();
    return;
  }
  try {
    const built = buildSealedBundle(m.batch, storage.bundleReadingsOfBatch(m.batch.id), m.inputs, m.correctionOf);
    if (!built) return parentPort!.postMessage({ id: m.id, built: null });
    const whole = built.bytes.byteOffset === 0 && built.bytes.byteLength === built.bytes.buffer.byteLength;
    const bytes = whole ? built.bytes : built.bytes.slice();
    parentPort!.postMessage({ id: m.id, built: { ...built, bytes } }, [bytes.buffer as ArrayBuffer]);
  } catch (err) {
    const e = err instanceof Error ? err : new Error(String(err));
    parentPort!.postMessage({ id: m.id, error: e.message, stack: e.stack });
  }
});
