/**
 * A second writer of one PostgreSQL database, on a thread of its own (postgres.test.ts): as the
 * node's main thread, ingest writer and bundle worker each have their own connection. It commits
 * `commits` group commits of `perCommit` readings of one facility, its device's seq in order.
 */
import { parentPort, workerData } from "node:worker_threads";
import { PostgresStorage } from "../src/storage/postgres.ts";
import { storedReading } from "./fixtures.ts";

const { url, device, commits, perCommit } = workerData as {
  url: string;
  device: string;
  commits: number;
  perCommit: number;
};
const storage = new PostgresStorage(url);
let seq = 0;
let stored = 0;
for (let c = 0; c < commits; c++) {
  const rows = Array.from({ length: perCommit }, () => {
    seq++;
    // 20 s apart, so that the two writers' readings share windows of 60 s and open them in turn
    return storedReading(device, seq, seq * 20);
  });
  const out = storage.commitIngest(rows, [], { windowS: 60, nowMs: Date.now() });
  stored += out.readings.filter((r) => r.status === "stored").length;
}
storage.close();
parentPort!.postMessage({ stored });
