import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { DatabaseSync } from "node:sqlite";
import { join } from "node:path";
import { deviceInfo, electricity, makeDevice, testNode } from "./fixtures.ts";
import { waitFor } from "./helpers.ts";

/**
 * /ready and storage on a real full disk: the data folder is a 16 MiB tmpfs (ENOSPC as on a full
 * disk, SQLITE_FULL for SQLite), filled while readings come in, then freed. Mounting needs root
 * (CI runs as root); elsewhere the test is skipped and says why.
 */
const dir = mkdtempSync(join(tmpdir(), "cp-ready-"));

/**
 * Writes `path` until the file system is full (ENOSPC), in 1 MiB and then 4 KiB pieces: the node
 * writes to the same disk meanwhile (its WAL, IPFS), so the free space read once beforehand may
 * be gone by the time a single write of that size lands.
 */
function fillDisk(path: string): void {
  const fd = openSync(path, "w");
  try {
    for (const size of [1 << 20, 4096]) {
      const piece = Buffer.alloc(size);
      try {
        for (;;) writeSync(fd, piece);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "ENOSPC") throw err;
      }
    }
  } finally {
    closeSync(fd);
  }
}
const mounted = spawnSync("mount", ["-t", "tmpfs", "-o", "size=16m", "tmpfs", dir]).status === 0;

test(
  "a full disk: /ready answers 503 naming storage while nothing can be written, and 200 once space is freed",
  { skip: mounted ? false : "mounting a small tmpfs needs root", timeout: 120_000 },
  async () => {
    const meter = makeDevice("kangaita-meter-1");
    const node = await testNode({
      dir,
      devices: [deviceInfo(meter)],
      config: { storage: { synchronous: "FULL" }, readiness: { probeMs: 50 } },
    });
    const filler = join(dir, "filler");
    const ready = async () => {
      const res = await fetch(`${node.httpUrl}/ready`);
      return { status: res.status, body: (await res.json()) as { parts: Record<string, boolean>; failing: string[] } };
    };
    try {
      assert.equal((await ready()).status, 200);
      fillDisk(filler);
      // readings until a group commit fails: the write-ahead log can grow no more
      let refused = false;
      for (let i = 0; i < 5000 && !refused; i++) {
        refused = await node.ingestor.submit(electricity(meter), { source: "http" }).then(
          () => false,
          () => true,
        );
      }
      assert.ok(refused, "the disk never filled");
      const down = await waitFor(
        async () => {
          const r = await ready();
          return r.status === 503 ? r : null;
        },
        { timeoutMs: 30_000, what: "/ready 503 on a full disk" },
      );
      assert.deepEqual(down.body.failing, ["storage"]);
      assert.equal((await fetch(`${node.httpUrl}/health`)).status, 200, "still alive: /health is liveness only");
      rmSync(filler);
      const up = await waitFor(
        async () => {
          const r = await ready();
          return r.status === 200 ? r : null;
        },
        { timeoutMs: 30_000, what: "/ready 200 once space is freed" },
      );
      assert.equal(up.body.parts.storage, true);
      const [o] = await node.ingestor.submit(electricity(meter), { source: "http" });
      assert.equal(o!.status, "stored", "and readings are stored again");
    } finally {
      await node.stop();
      spawnSync("umount", [dir]);
      rmSync(dir, { recursive: true, force: true });
    }
  },
);

test("another process holding SQLite's write lock: /ready names storage, the main thread keeps answering, and it recovers", async () => {
  const meter = makeDevice("kangaita-meter-2");
  const node = await testNode({ devices: [deviceInfo(meter)], config: { readiness: { probeMs: 50 } } });
  // a second connection, as a backup tool or a stray sqlite3 shell would open it
  const other = new DatabaseSync(join(node.dir, "oracle.db"));
  try {
    assert.equal((await fetch(`${node.httpUrl}/ready`)).status, 200);
    other.exec("BEGIN IMMEDIATE");
    // the probe waits on the writer thread (busy_timeout 5 s), then fails: not ready, naming storage.
    // Meanwhile the main thread must not wait with it: /health is timed all along.
    let slowestHealthMs = 0;
    const down = await waitFor(
      async () => {
        const t0 = performance.now();
        assert.equal((await fetch(`${node.httpUrl}/health`)).status, 200);
        slowestHealthMs = Math.max(slowestHealthMs, performance.now() - t0);
        const r = await fetch(`${node.httpUrl}/ready`);
        return r.status === 503 ? ((await r.json()) as { failing: string[] }) : null;
      },
      { timeoutMs: 30_000, what: "/ready 503 while the write lock is held" },
    );
    assert.deepEqual(down.failing, ["storage"]);
    assert.ok(
      slowestHealthMs < 2000,
      `/health took ${Math.round(slowestHealthMs)} ms: the probe blocked the main thread`,
    );
    other.exec("COMMIT");
    await waitFor(async () => ((await fetch(`${node.httpUrl}/ready`)).status === 200 ? true : null), {
      timeoutMs: 30_000,
      what: "/ready 200 once the lock is released",
    });
    const [o] = await node.ingestor.submit(electricity(meter), { source: "http" });
    assert.equal(o!.status, "stored");
  } finally {
    if (other.isTransaction) other.exec("ROLLBACK");
    other.close();
    await node.close();
  }
});
