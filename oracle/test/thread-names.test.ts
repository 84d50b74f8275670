import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { WorkerBundleBuilder } from "../src/batch/bundle-builder.ts";
import { IngestWriter } from "../src/storage/ingest-writer.ts";
import { SqliteStorage } from "../src/storage/sqlite.ts";
import { THREAD_NAMES } from "../src/threads/name.ts";
import { VerifyPool } from "../src/validate/verify-pool.ts";
import { sdkCalculator } from "./fixtures.ts";

/** The names of this process's threads (Linux /proc), one entry per thread. */
function threadNames(): string[] {
  const out: string[] = [];
  for (const t of readdirSync("/proc/self/task")) {
    try {
      out.push(readFileSync(`/proc/self/task/${t}/comm`, "utf8").trim());
    } catch {
      // the thread ended
    }
  }
  return out;
}

const count = (names: string[], name: string) => names.filter((n) => n === name).length;

test(
  "the node's worker threads carry their role as the OS thread name (top -H, ps -L, bench:ingest)",
  { skip: existsSync("/proc/self/task") ? false : "no /proc (not Linux): threads keep their default name" },
  async () => {
    const dir = mkdtempSync(join(tmpdir(), "cp-threads-"));
    const path = join(dir, "oracle.db");
    new SqliteStorage(path).close(); // the schema, as the node creates it before its workers
    const before = threadNames();
    const mainBefore = readFileSync(`/proc/self/task/${process.pid}/comm`, "utf8").trim();
    const pool = new VerifyPool(2);
    const spec = { driver: "sqlite", path, synchronous: "FULL" } as const;
    const writer = new IngestWriter(spec);
    const bundles = new WorkerBundleBuilder(spec, sdkCalculator());
    try {
      const want = { [THREAD_NAMES.verify]: 2, [THREAD_NAMES.writer]: 1, [THREAD_NAMES.bundle]: 1 };
      let names = threadNames();
      // a worker names itself as its module starts; give the three a few seconds to get there
      for (let i = 0; i < 100 && Object.entries(want).some(([n, k]) => count(names, n) - count(before, n) < k); i++) {
        await sleep(100);
        names = threadNames();
      }
      for (const [name, k] of Object.entries(want))
        assert.equal(count(names, name) - count(before, name), k, `${name} threads in ${names.join(", ")}`);
      // the main thread keeps the process's name: pgrep, systemd and ps match on it
      assert.equal(readFileSync(`/proc/self/task/${process.pid}/comm`, "utf8").trim(), mainBefore);
    } finally {
      await Promise.all([pool.close(), writer.close(), bundles.close()]);
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
