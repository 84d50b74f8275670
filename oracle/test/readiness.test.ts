import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { DatabaseSync } from "node:sqlite";
import { join } from "node:path";
import { createApiKey } from "../src/api/keys.ts";
import { HeliaStore } from "../src/ipfs/helia.ts";
import { SwitchedStore } from "./switched-store.ts";
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

test("one evidence pin failed while IPFS restarted and nothing else to pin: a probe pin clears the failure, so /ready stays 200; while IPFS stays down it turns 503", async () => {
  const meter = makeDevice("kangaita-meter-3");
  const dir = mkdtempSync(join(tmpdir(), "cp-ready-ipfs-"));
  const store = new SwitchedStore(await HeliaStore.open(join(dir, "ipfs")));
  const failingForMs = 1500;
  const node = await testNode({
    devices: [deviceInfo(meter)],
    parts: { content: store, chain: null },
    // an hour's window: no batch is sealed, so nothing else would pin during the test
    config: { batching: { windowS: 3600 }, readiness: { probeMs: 50, ipfsFailingForMs: failingForMs } },
  });
  const key = createApiKey(node.storage, { scope: "facility", subject: meter.facilityId }).key;
  /** An evidence upload while IPFS is down: refused with 503, naming IPFS (its pin failed). */
  const failedUpload = async () => {
    const form = new FormData();
    form.append("file", new Blob([Buffer.from(`invoice ${Date.now()}`)], { type: "application/pdf" }), "invoice.pdf");
    const res = await fetch(`${node.httpUrl}/v1/evidence`, {
      method: "POST",
      headers: { "x-api-key": key },
      body: form,
    });
    // nothing stored, and the same upload later may succeed: 503 with Retry-After (it was a bare 500)
    assert.equal(res.status, 503);
    assert.ok(Number(res.headers.get("retry-after")) > 0, "Retry-After");
    const body = (await res.json()) as { error: string; message: string };
    assert.equal(body.error, "IPFS_UNAVAILABLE");
    assert.match(body.message, /could not be pinned to IPFS .*nothing was stored; retry later/);
  };
  const ready = async () => {
    const res = await fetch(`${node.httpUrl}/ready`);
    return { status: res.status, body: (await res.json()) as { parts: Record<string, boolean>; failing: string[] } };
  };
  const probes = () => store.pinned.filter((p) => p.includes("readiness probe of IPFS pinning")).length;
  try {
    assert.equal((await ready()).status, 200);
    assert.equal(store.pinned.length, 0, "no probe while nothing has failed");

    // Kubo restarts: one upload fails, then it is back and nothing else is pinned
    store.down = true;
    await failedUpload();
    store.down = false;
    const t0 = Date.now();
    // past the threshold, /ready never answers 503: a probe pin cleared the failure
    while (Date.now() - t0 < 2 * failingForMs) {
      const r = await ready();
      assert.equal(r.status, 200, `/ready ${r.status} (failing: ${r.body.failing.join(", ")}) with IPFS back`);
      await new Promise((go) => setTimeout(go, 100));
    }
    assert.equal(probes(), 1, "one probe pinned: the probes stop once the failure is cleared");
    assert.equal(store.pinned.length, 1, "and the node pinned nothing else");

    // IPFS stays down: failing probes do not clear the failure, /ready names ipfs once it passes the threshold
    store.down = true;
    await failedUpload();
    const down = await waitFor(
      async () => {
        const r = await ready();
        return r.status === 503 ? r : null;
      },
      { timeoutMs: 30_000, what: "/ready 503 while IPFS stays down" },
    );
    assert.deepEqual(down.body.failing, ["ipfs"]);
    assert.ok(store.failures > 2, "the probes kept trying");
    // back: ready again at the next probe, with still nothing of the node's own to pin
    store.down = false;
    await waitFor(async () => ((await ready()).status === 200 ? true : null), {
      timeoutMs: 30_000,
      what: "/ready 200 once IPFS is back",
    });
    assert.equal(probes(), 2);
    assert.equal(store.pinned.length, 2);
  } finally {
    await node.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
