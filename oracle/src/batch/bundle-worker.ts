import "../../../sdk/src/quiet-sqlite-warning.ts";
import { setPriority } from "node:os";
import { workerData } from "node:worker_threads";
import { serveRpc } from "../threads/rpc.ts";
import { nameThread, threadId, THREAD_NAMES } from "../threads/name.ts";
import type { Hex } from "../../../sdk/src/index.ts";
import { SqliteStorage } from "../storage/sqlite.ts";
import { openStorage, type StorageSpec } from "../storage/open.ts";
import type { Batch } from "../storage/types.ts";
import { buildSealedBundle, type BuiltBundle, type PostedBundleInputs } from "./bundle.ts";
import { WindowBundles } from "./window-bundles.ts";
import { MemoryDeviceDirectory, type DeviceInfo } from "../devices/directory.ts";
import { reviewCosign, reviewerCalculator, type CosignRequest, type PostedReviewer } from "../quorum/cosign.ts";

/**
 * Worker side of `WorkerBundleBuilder`: reads a sealed batch's readings on its own connection
 * (WAL: it never blocks the ingest writer) and builds its bundle. The bundle bytes are moved,
 * not copied, back to the main thread, which pins them. It also re-checks other oracle nodes'
 * bundles before this node co-signs them (`WorkerBundleBuilder.reviewCosign`).
 */
const { spec } = workerData as { spec: StorageSpec };
const BUNDLE_THREAD_NICE = 5;
// Below the ingest threads (Linux: a thread's nice value is its own; /proc/thread-self names it):
// the bundles of every facility's window are built at once each window, and on 2 cores that burst
// competed with verification and commits, whose latency devices wait on. A batch has seconds.
nameThread(THREAD_NAMES.bundle);
const tid = threadId();
try {
  if (tid !== null) setPriority(tid, BUNDLE_THREAD_NICE);
} catch {
  // not allowed: the default priority
}
const CHECKPOINT_INTERVAL_MS = 500;
const storage = openStorage(spec, { synchronous: "NORMAL" });
// This thread also checkpoints the write-ahead log, twice a second, PASSIVE (it never blocks the
// writer): on the ingest writer's connection a checkpoint ran inside a group commit and held up
// every reading waiting on that commit (storage/ingest-writer-worker.ts keeps a high backstop).
// (SQLite only: PostgreSQL checkpoints itself).
const checkpoints =
  storage instanceof SqliteStorage
    ? setInterval(() => {
        try {
          storage.checkpoint();
        } catch {
          // busy (another checkpoint running) or the database is closing: the next tick tries again
        }
      }, CHECKPOINT_INTERVAL_MS)
    : null;
// Open windows' bundles assembled as their readings are stored (batch/window-bundles.ts), so that
// sealing a window costs little more than writing its bytes.
const POLL_MS = 200;
const SWEEP_EVERY = 25;
const windows = new WindowBundles(storage);
let polls = 0;
const polling = setInterval(() => {
  try {
    windows.poll();
    if (++polls % SWEEP_EVERY === 0) windows.sweep();
  } catch {
    // the database is closing, or busy: the next tick reads from the same cursor
  }
}, POLL_MS);
type Job =
  | { batch: Batch; inputs: PostedBundleInputs; correctionOf?: Hex }
  | { cosign: CosignRequest; reviewer: PostedReviewer; devices: DeviceInfo[] };
serveRpc<Job>(
  (m) => {
    // another oracle node's bundle to re-check before co-signing (quorum/cosign.ts), with the
    // records of its devices looked up by the main thread
    if ("cosign" in m)
      return reviewCosign(m.cosign, {
        calculator: reviewerCalculator(m.reviewer),
        devices: new MemoryDeviceDirectory(m.devices),
      });
    const assembled = windows.take(m.batch, m.inputs, m.correctionOf);
    const built =
      assembled !== undefined
        ? assembled
        : buildSealedBundle(m.batch, storage.bundleReadingsOfBatch(m.batch.id), m.inputs, m.correctionOf);
    if (!built) return null;
    // the bundle bytes are moved, not copied: a view of part of a buffer is copied out first
    const whole = built.bytes.byteOffset === 0 && built.bytes.byteLength === built.bytes.buffer.byteLength;
    return { ...built, bytes: whole ? built.bytes : built.bytes.slice() };
  },
  () => {
    if (checkpoints) clearInterval(checkpoints);
    clearInterval(polling);
    storage.close();
  },
  (result) => (result && "bytes" in (result as object) ? [(result as BuiltBundle).bytes.buffer as ArrayBuffer] : []),
);
