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
const storage = new SqliteStorage(path, { synchronous: "NORMAL" });
type Job = { id: number; batch: Batch; inputs: PostedBundleInputs; correctionOf?: Hex };
parentPort!.on("message", (m: Job | { close: true }) => {
  if ("close" in m) {
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
