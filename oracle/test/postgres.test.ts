/**
 * What only PostgreSQL storage has (storage/postgres.ts, storage/pg-bridge.ts), on a real server
 * (postgres-harness.ts). The storage logic itself runs on both drivers in storage.test.ts.
 */
import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { on } from "node:events";
import { createRequire } from "node:module";
import { chmodSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import pg from "pg";
import { numberPlaceholders, PG_MIGRATIONS, PostgresStorage, WRITE_LOCK_KEY } from "../src/storage/postgres.ts";
import { PgBridge, serverTimeouts } from "../src/storage/pg-bridge.ts";
import type { ReadingRow, Row } from "../src/storage/sql-storage.ts";
import { storedReading } from "./fixtures.ts";
import { postgresMissing, startPostgres, sweepOrphanServers, type PostgresServer } from "./postgres-harness.ts";
import { runOracleCli } from "./helpers.ts";

test("? placeholders are numbered $1, $2, … outside quoted text", () => {
  assert.equal(
    numberPlaceholders("SELECT ? AS a, '?' AS b, x || ' ? ' FROM t WHERE y = ? AND z IN (?,?)"),
    "SELECT $1 AS a, '?' AS b, x || ' ? ' FROM t WHERE y = $2 AND z IN ($3,$4)",
  );
});

/** A client of the tests' own on `url` (an administrator's session beside the node's). */
async function adminOf(url: string): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  return c;
}

/** Gives the database at `url` defaults of its own (`ALTER DATABASE … SET`), for the sessions opened after. */
async function alterDatabase(url: string, ...settings: string[]): Promise<void> {
  const admin = await adminOf(url);
  try {
    const name = new URL(url).pathname.slice(1);
    for (const setting of settings) await admin.query(`ALTER DATABASE ${name} SET ${setting}`);
  } finally {
    await admin.end();
  }
}

/** Waits until `done()` holds, checking every 100 ms; fails after `ms`. */
async function until(what: string, done: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await done())) {
    if (Date.now() > deadline) assert.fail(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The sessions on `admin`'s database other than its own that run a statement or sit inside a transaction. */
async function busySessions(admin: pg.Client): Promise<{ pid: number; state: string; query: string }[]> {
  const { rows } = await admin.query(
    `SELECT pid, state, query FROM pg_stat_activity
      WHERE datname = current_database() AND pid <> pg_backend_pid()
        AND (state = 'active' OR state LIKE 'idle in transaction%')`,
  );
  return rows as { pid: number; state: string; query: string }[];
}

/** The advisory locks held or waited for on `admin`'s server (the writers' lock among them). */
async function advisoryLocks(admin: pg.Client): Promise<number> {
  const { rows } = await admin.query(`SELECT COUNT(*)::int AS n FROM pg_locks WHERE locktype = 'advisory'`);
  return (rows[0] as { n: number }).n;
}

/** PostgreSQL storage whose connection (bridge) a test may reach, as the storage's own statements use it. */
class ReachableStorage extends PostgresStorage {
  get bridge(): PgBridge {
    return (this.sql as unknown as { bridge: PgBridge }).bridge;
  }
}

describe("PostgreSQL storage on a real server", { skip: postgresMissing ?? false }, () => {
  let server: PostgresServer;
  before(async () => {
    server = await startPostgres();
  });
  after(async () => {
    await server?.stop();
  });

  test("a server that refuses the connection: a clear error naming the server without its password, and what to do", async () => {
    const url = (await server.createDatabase()).replace("postgres@", "postgres:s3cret@").replace(
      `:${server.port}/`,
      ":1/", // nothing listens on port 1
    );
    assert.throws(
      () => new PostgresStorage(url, { connectTimeoutMs: 3_000 }),
      (err: Error) => {
        assert.match(err.message, /^cannot connect to PostgreSQL at postgres:\/\/127\.0\.0\.1:1\/…: /);
        assert.match(err.message, /ECONNREFUSED|connect/);
        assert.match(err.message, /set storage\.url \(CARBONPROOF_ORACLE__STORAGE__URL\)/);
        assert.ok(!err.message.includes("s3cret"));
        return true;
      },
    );
  });

  test("sslmode=require on a server without TLS: refused, saying to turn ssl on at the server or drop sslmode", async () => {
    const url = `${await server.createDatabase()}?sslmode=require`;
    assert.throws(
      () => new PostgresStorage(url, { connectTimeoutMs: 3_000 }),
      (err: Error) => {
        assert.match(err.message, /does not support SSL/);
        assert.match(
          err.message,
          /The server does not take TLS connections: turn ssl on at the server, or remove sslmode/,
        );
        return true;
      },
    );
  });

  test("a test process killed outright leaves its server behind; the next start stops it and removes its files", async () => {
    // a test process of its own starts a server, then dies by SIGKILL (as a runner's timeout kills it)
    // in a temp root of its own, so that no other test file's start sweeps it first
    const root = mkdtempSync(join(tmpdir(), "cp-orphans-"));
    chmodSync(root, 0o755); // the server, as the postgres account, reaches its dir through it
    const harness = new URL("./postgres-harness.ts", import.meta.url).pathname;
    const child = spawn(
      process.execPath,
      [
        "--input-type=module",
        "-e",
        `const { startPostgres } = await import(${JSON.stringify(harness)});
         const s = await startPostgres();
         console.log(JSON.stringify({ port: s.port }));
         setInterval(() => {}, 1000);`,
      ],
      { stdio: ["ignore", "pipe", "inherit"], env: { ...process.env, TMPDIR: root } },
    );
    const port = await new Promise<number>((resolve, reject) => {
      let out = "";
      child.stdout!.on("data", (d: Buffer) => {
        out += d.toString();
        const m = /\{"port":(\d+)\}/.exec(out);
        if (m) resolve(Number(m[1]));
      });
      child.once("exit", (code) => reject(new Error(`the test process exited (${code}) before its server was up`)));
    });
    const connect = async () => {
      const c = new pg.Client({ host: "127.0.0.1", port, user: "postgres", database: "postgres" });
      try {
        await c.connect();
        return true;
      } catch {
        return false;
      } finally {
        await c.end().catch(() => {});
      }
    };
    const died = new Promise((r) => child.once("exit", r));
    child.kill("SIGKILL");
    await died;
    assert.equal(await connect(), true, "its server outlives it");
    const removed = sweepOrphanServers(root);
    assert.equal(removed.length, 1, "its server's dir is swept");
    for (const dir of removed) assert.ok(!existsSync(dir), `${dir} removed`);
    assert.equal(await connect(), false, "its server stopped");
    rmSync(root, { recursive: true, force: true });
    // this file's own server, whose process lives, is left alone by the sweep of the shared temp dir
    sweepOrphanServers();
    assert.equal((await server.createDatabase()).startsWith("postgres://"), true);
  });

  test("the schema is made once, by whichever connection comes first, and a newer schema is refused", async () => {
    const url = await server.createDatabase();
    // three connections at once, as a node's main thread, writer and bundle worker open it
    const opened = [new PostgresStorage(url), new PostgresStorage(url), new PostgresStorage(url)];
    for (const s of opened) assert.deepEqual(s.batchStateCounts().open, 0);
    for (const s of opened) s.close();
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const { rows } = await client.query("SELECT version FROM carbonproof_schema");
      assert.deepEqual(rows, [{ version: PG_MIGRATIONS.length }]);
      await client.query("UPDATE carbonproof_schema SET version = version + 1");
    } finally {
      await client.end();
    }
    assert.throws(
      () => new PostgresStorage(url),
      new RegExp(
        `database schema ${PG_MIGRATIONS.length + 1} at .* is newer than this node \\(${PG_MIGRATIONS.length}\\): upgrade the node`,
      ),
    );
  });

  test("two writers on their own threads and connections: every reading stored once, one regular batch per window, counts exact", async () => {
    const url = await server.createDatabase();
    new PostgresStorage(url).close(); // the schema, as the node makes it before its threads
    const COMMITS = 40;
    const PER = 25;
    const run = (device: string) =>
      new Promise<{ stored: number }>((resolve, reject) => {
        const w = new Worker(new URL("./pg-writer-worker.ts", import.meta.url), {
          workerData: { url, device, commits: COMMITS, perCommit: PER },
        });
        w.once("message", resolve);
        w.once("error", reject);
      });
    const [a, b] = await Promise.all([run("wa"), run("wb")]);
    assert.deepEqual([a.stored, b.stored], [COMMITS * PER, COMMITS * PER]);
    const s = new PostgresStorage(url);
    try {
      const batches = s.listBatches({ limit: 100_000 });
      const periods = batches.map((x) => x.periodStart);
      assert.equal(new Set(periods).size, periods.length, "one regular batch per window");
      assert.ok(batches.every((x) => x.correctionOfBatch === null && x.periodEnd - x.periodStart === 60));
      // each device's readings are 20 s apart from 20 s on: 3 a window, both devices share every window
      assert.equal(batches.length, Math.ceil(((COMMITS * PER + 1) * 20) / 60));
      assert.equal(
        batches.reduce((n, x) => n + x.readingCount, 0),
        2 * COMMITS * PER,
        "every batch's count is its readings'",
      );
      for (const x of batches) assert.equal(s.readingsOfBatch(x.id).length, x.readingCount);
      assert.equal(s.maxSeq("wa"), COMMITS * PER);
      assert.equal(s.backlog(), 2 * COMMITS * PER);
      // the bundle cursor's promise: rowids grow in commit order, so a reading read past is never missed
      const after = s.bundleReadingsAfter(0, 100_000);
      assert.equal(after.length, 2 * COMMITS * PER);
      assert.ok(after.every((r, i) => i === 0 || r.rowid > after[i - 1]!.rowid));
    } finally {
      s.close();
    }
  });

  test("the server restarted between two calls: the next call reconnects; a transaction cut by it stores nothing", async () => {
    const url = await server.createDatabase();
    const s = new PostgresStorage(url);
    try {
      s.commitIngest([storedReading("r1", 1, 10)], [], { windowS: 60, nowMs: 0 });
      await server.restart({ downMs: 200 });
      // the connection was lost while idle: this call's first statement runs on a new one
      const out = s.commitIngest([storedReading("r1", 2, 20)], [], { windowS: 60, nowMs: 0 });
      assert.deepEqual(
        out.readings.map((r) => r.status),
        ["stored"],
      );
      assert.equal(s.maxSeq("r1"), 2);
      assert.equal(s.backlog(), 2);
    } finally {
      s.close();
    }
  });

  test("a statement prepared before another session added a column to its table (a newer node's or CLI's migration) is prepared again, not refused until the node restarts", async () => {
    const url = await server.createDatabase();
    const s = new PostgresStorage(url);
    const record = {
      attestationId: `0x${"ab".repeat(32)}`,
      facilityId: "ktda-kangaita",
      periodStart: 3600,
      periodEnd: 7200,
      correctionOf: `0x${"00".repeat(32)}`,
      bundleCid: "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy",
      digests: [],
      signedAtMs: 1,
    };
    try {
      assert.equal(s.recordCosign(record).outcome, "recorded");
      // SELECT * FROM cosigned …, prepared on the node's connection
      assert.deepEqual(
        s.listCosigns().map((c) => c.attestationId),
        [record.attestationId],
      );
      const admin = await adminOf(url);
      try {
        await admin.query("ALTER TABLE cosigned ADD COLUMN added_by_a_newer_node TEXT");
      } finally {
        await admin.end();
      }
      // PostgreSQL refuses the old plan ("cached plan must not change result type", 0A000)
      assert.deepEqual(
        s.listCosigns().map((c) => c.attestationId),
        [record.attestationId],
      );
      assert.equal(s.getCosign(record.attestationId)?.facilityId, "ktda-kangaita");
    } finally {
      s.close();
    }
  });

  test("while the server is down calls fail with its refusal, at most one attempt a second; once it is back they work again", async () => {
    const url = await server.createDatabase();
    const s = new PostgresStorage(url);
    try {
      s.commitIngest([storedReading("o1", 1, 10)], [], { windowS: 60, nowMs: 0 });
      await server.down();
      const t0 = performance.now();
      assert.throws(() => s.commitIngest([storedReading("o1", 2, 20)], [], { windowS: 60, nowMs: 0 }), /ECONNREFUSED/);
      for (let i = 0; i < 20; i++) assert.throws(() => s.maxSeq("o1"), /ECONNREFUSED/);
      assert.ok(performance.now() - t0 < 900, "the calls after the first refusal are told at once");
      await server.up();
      await new Promise((r) => setTimeout(r, 1000)); // past the second after the last refusal
      const out = s.commitIngest([storedReading("o1", 2, 20)], [], { windowS: 60, nowMs: 0 });
      assert.equal(out.readings[0]!.status, "stored");
      assert.equal(s.maxSeq("o1"), 2, "the refused commit stored nothing; the resend did");
    } finally {
      s.close();
    }
  });

  test("each session sets what durability and the writers' order rest on, whatever the database's defaults: synchronous_commit on, read committed, the server's own timeouts", async () => {
    const url = await server.createDatabase();
    await alterDatabase(
      url,
      "synchronous_commit = off",
      "default_transaction_isolation = 'repeatable read'",
      "statement_timeout = 0",
    );
    const seen: Row[] = [];
    const settings = `SELECT current_setting('synchronous_commit') AS sync, current_setting('transaction_isolation') AS isolation`;
    // what a group commit's own transaction runs with, read between its statements
    class Probe extends PostgresStorage {
      protected override insertReadings(rows: readonly ReadingRow[]): boolean[] {
        seen.push(this.sql.get(settings)!);
        return super.insertReadings(rows);
      }
    }
    const s = new Probe(url);
    try {
      const out = s.commitIngest([storedReading("d1", 1, 10)], [], { windowS: 60, nowMs: 0 });
      assert.equal(out.readings[0]!.status, "stored");
      assert.deepEqual(seen, [{ sync: "on", isolation: "read committed" }], "inside a durable group commit");
    } finally {
      s.close();
    }
    const bridge = new PgBridge(url);
    try {
      const { rows } = bridge.query(
        `${settings}, current_setting('statement_timeout') AS statement, current_setting('idle_in_transaction_session_timeout') AS idle`,
      );
      // outside a transaction too; the bridge's default timeout is 60 s
      assert.deepEqual(rows, [{ sync: "on", isolation: "read committed", statement: "55s", idle: "1min" }]);
    } finally {
      bridge.close();
    }
    assert.deepEqual(serverTimeouts(1000), { statementTimeoutMs: 800, idleInTxTimeoutMs: 1000 });
    assert.deepEqual(serverTimeouts(600_000), { statementTimeoutMs: 595_000, idleInTxTimeoutMs: 600_000 });
  });

  test("a writer that waited for the writers' lock reads what the writer before it committed, whatever the database's default isolation: its reading joins the batch opened meanwhile", async () => {
    const url = await server.createDatabase();
    await alterDatabase(url, "default_transaction_isolation = 'repeatable read'");
    const s = new PostgresStorage(url, { timeoutMs: 10_000 });
    // the writer before it, on a thread of its own (this one waits in the group commit): it holds
    // the lock until the group commit waits for it, then opens the window's batch and lets it go
    const before = new Worker(
      `const { workerData, parentPort } = require("node:worker_threads");
       const pg = require(workerData.pg);
       (async () => {
         const c = new pg.Client({ connectionString: workerData.url });
         await c.connect();
         await c.query("SELECT pg_advisory_lock($1)", [workerData.key]);
         parentPort.postMessage("locked");
         while ((await c.query("SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")).rows.length === 0)
           await new Promise((r) => setTimeout(r, 50));
         const { rows } = await c.query("INSERT INTO batches (facility_id, period_start, period_end, state, created_at_ms, updated_at_ms) VALUES ('f1', 0, 60, 'open', 0, 0) RETURNING id");
         await c.query("SELECT pg_advisory_unlock($1)", [workerData.key]);
         await c.end();
         parentPort.postMessage({ batch: Number(rows[0].id) });
       })().catch((err) => parentPort.postMessage({ error: String(err) }));`,
      { eval: true, workerData: { url, key: WRITE_LOCK_KEY, pg: createRequire(import.meta.url).resolve("pg") } },
    );
    try {
      const messages = on(before, "message");
      assert.equal((await messages.next()).value[0], "locked");
      const out = s.commitIngest([storedReading("w1", 1, 20)], [], { windowS: 60, nowMs: 0 });
      const opened = (await messages.next()).value[0] as { batch?: number; error?: string };
      assert.equal(opened.error, undefined);
      assert.equal(out.readings[0]!.status, "stored");
      assert.deepEqual(
        s.listBatches({}).map((b) => [b.id, b.readingCount]),
        [[opened.batch, 1]],
        "the batch opened while it waited, no second one",
      );
    } finally {
      s.close();
      await before.terminate();
    }
  });

  test("a transaction whose connection is lost fails to its end, COMMIT included; after its ROLLBACK a new connection is made", async () => {
    const url = await server.createDatabase();
    new PostgresStorage(url).close();
    const bridge = new PgBridge(url);
    try {
      bridge.query("BEGIN");
      bridge.query("INSERT INTO meta (key, value) VALUES ('k', 'v')");
      await server.restart({ downMs: 100 });
      assert.throws(
        () => bridge.query("INSERT INTO meta (key, value) VALUES ('k2', 'v')"),
        /lost inside a transaction/,
      );
      assert.throws(() => bridge.query("COMMIT"), /lost inside a transaction/, "never taken for committed");
      bridge.query("ROLLBACK");
      assert.deepEqual(bridge.query("SELECT COUNT(*)::int AS n FROM meta").rows, [{ n: 0 }], "nothing of it stored");
    } finally {
      bridge.close();
    }
  });

  test("a statement slower than the timeout is cancelled by the server just before it (statement_timeout): a group commit behind another session's lock fails, leaves no session running or inside a transaction, and the next one runs", async () => {
    const url = await server.createDatabase();
    const s = new PostgresStorage(url, { timeoutMs: 1000 });
    const admin = await adminOf(url);
    try {
      // another session holds the writers' lock past the group commit's timeout
      await admin.query("SELECT pg_advisory_lock($1)", [WRITE_LOCK_KEY]);
      assert.throws(
        () => s.commitIngest([storedReading("t1", 1, 10)], [], { windowS: 60, nowMs: 0 }),
        (err: Error) => {
          assert.match(
            err.message,
            /^PostgreSQL at postgres:\/\/127\.0\.0\.1:\d+\/… cancelled a statement still running after 800 ms \(statement_timeout, set just under this connection's timeout of 1 s\): the server is overloaded, or another session holds a lock it waited for \(see pg_stat_activity\)$/,
          );
          assert.equal((err as Error & { code?: string }).code, "57014");
          return true;
        },
      );
      // no lock request left waiting, no transaction left open to take the lock once it is free
      assert.deepEqual(await busySessions(admin), []);
      await admin.query("SELECT pg_advisory_unlock($1)", [WRITE_LOCK_KEY]);
      assert.equal(await advisoryLocks(admin), 0, "the writers' lock is free");
      const t0 = performance.now();
      assert.equal(
        s.commitIngest([storedReading("t1", 1, 10)], [], { windowS: 60, nowMs: 0 }).readings[0]!.status,
        "stored",
      );
      assert.ok(performance.now() - t0 < 1000, "the next group commit runs at once");
    } finally {
      s.close();
      await admin.end();
    }
    // outside a transaction: the connection stays, and answers the next call at once
    const bridge = new PgBridge(url, { timeoutMs: 300 });
    try {
      const before = bridge.query("SELECT pg_backend_pid() AS pid").rows[0]!.pid;
      assert.throws(
        () => bridge.query("SELECT pg_sleep(2) AS slow"),
        /cancelled a statement still running after 240 ms/,
      );
      const t0 = performance.now();
      assert.deepEqual(bridge.query("SELECT 2 AS two, pg_backend_pid() AS pid").rows, [{ two: 2, pid: before }]);
      assert.ok(performance.now() - t0 < 1000, "answered at once, on the same connection");
    } finally {
      bridge.close();
    }
  });

  test("a server that stops answering inside a transaction: past the timeout its connection is closed and the transaction lost (its COMMIT fails, and ends it, as a ROLLBACK not answered does), the next call runs at once on a new connection, and the stopped session's lock is freed once it runs again", async () => {
    const url = await server.createDatabase();
    new PostgresStorage(url).close();
    const bridge = new PgBridge(url, { timeoutMs: 1000 });
    const admin = await adminOf(url);
    let stopped = 0;
    try {
      const pid = bridge.query("SELECT pg_backend_pid() AS pid").rows[0]!.pid as number;
      bridge.query("BEGIN");
      bridge.query(`SELECT pg_advisory_xact_lock(${WRITE_LOCK_KEY})`);
      bridge.query("INSERT INTO meta (key, value) VALUES ('k1', 'v')");
      // its session hangs (as a server that stopped answering, or a network that dropped it)
      process.kill(pid, "SIGSTOP");
      stopped = pid;
      assert.throws(
        () => bridge.query("INSERT INTO meta (key, value) VALUES ('k2', 'v')"),
        /did not answer within 1 s: the connection was closed, and the next call makes a new one/,
      );
      assert.throws(
        () => bridge.query("COMMIT"),
        /lost inside a transaction .*no answer within 1000 ms/,
        "never taken for committed",
      );
      const t0 = performance.now();
      const next = bridge.query("SELECT pg_backend_pid() AS pid").rows[0]!.pid as number;
      assert.notEqual(next, pid, "a new connection");
      assert.ok(performance.now() - t0 < 1000, "not queued behind the stopped statement");
      process.kill(pid, "SIGCONT");
      stopped = 0;
      // running again, the session finds its client gone and ends, rolling its transaction back
      await until(
        "the stopped session ends",
        async () => (await admin.query("SELECT 1 FROM pg_stat_activity WHERE pid = $1", [pid])).rows.length === 0,
      );
      assert.equal(await advisoryLocks(admin), 0, "the writers' lock is free");
      bridge.query("BEGIN");
      bridge.query(`SELECT pg_advisory_xact_lock(${WRITE_LOCK_KEY})`);
      bridge.query("INSERT INTO meta (key, value) VALUES ('k3', 'v')");
      bridge.query("COMMIT");
      assert.deepEqual(
        bridge.query("SELECT key FROM meta ORDER BY key").rows,
        [{ key: "k3" }],
        "nothing of the lost one",
      );
      // a ROLLBACK the server does not answer ends the transaction too
      const pid2 = bridge.query("SELECT pg_backend_pid() AS pid").rows[0]!.pid as number;
      bridge.query("BEGIN");
      process.kill(pid2, "SIGSTOP");
      stopped = pid2;
      assert.throws(() => bridge.query("ROLLBACK"), /did not answer within 1 s/);
      assert.notEqual(bridge.query("SELECT pg_backend_pid() AS pid").rows[0]!.pid, pid2, "a new connection");
      process.kill(pid2, "SIGCONT");
      stopped = 0;
    } finally {
      if (stopped) process.kill(stopped, "SIGCONT");
      bridge.close();
      await admin.end();
    }
  });

  test("a transaction cut while its statement and ROLLBACK waited (its session terminated under them) ends with them: the next calls and group commits of that connection run", async () => {
    const url = await server.createDatabase();
    const s = new ReachableStorage(url, { timeoutMs: 1000 });
    const admin = await adminOf(url);
    try {
      const bridge = s.bridge;
      const pid = bridge.query("SELECT pg_backend_pid() AS pid").rows[0]!.pid as number;
      // as a group commit: BEGIN, the writers' lock, then a statement slower than the timeout and
      // the ROLLBACK its caller sends after it
      bridge.query("BEGIN");
      bridge.query(`SELECT pg_advisory_xact_lock(${WRITE_LOCK_KEY})`);
      assert.throws(() => bridge.query("SELECT pg_sleep(3)"));
      try {
        bridge.query("ROLLBACK");
      } catch {
        // as PgDriver's: a ROLLBACK that fails is left
      }
      // the operator restarts the server, or terminates the session
      await admin.query("SELECT pg_terminate_backend($1)", [pid]);
      await new Promise((r) => setTimeout(r, 300));
      assert.deepEqual(bridge.query("SELECT 1 AS one").rows, [{ one: 1 }]);
      const out = s.commitIngest([storedReading("x1", 1, 10)], [], { windowS: 60, nowMs: 0 });
      assert.equal(out.readings[0]!.status, "stored");
      assert.equal(s.maxSeq("x1"), 1);
    } finally {
      s.close();
      await admin.end();
    }
  });

  test("carbonproof-oracle status reads a PostgreSQL database; an unreachable one is an error that says what to set, without the password", async () => {
    const url = await server.createDatabase();
    const s = new PostgresStorage(url);
    s.commitIngest([storedReading("c1", 1, 10), storedReading("c1", 2, 20)], [], { windowS: 60, nowMs: 0 });
    s.close();
    const env = {
      CARBONPROOF_ORACLE__STORAGE__DRIVER: "postgres",
      CARBONPROOF_ORACLE__DATA_DIR: "/nonexistent-data-dir",
    };
    const ok = await runOracleCli(["status"], { ...env, CARBONPROOF_ORACLE__STORAGE__URL: url });
    assert.equal(ok.code, 0, ok.stderr);
    const status = JSON.parse(ok.stdout) as { backlog: number; batches: Record<string, number>; storage: string };
    assert.deepEqual([status.backlog, status.batches.open], [2, 1]);
    // named as every message names a configured URL: its path (the database) and user info may not be shown
    assert.equal(status.storage, `postgres://127.0.0.1:${new URL(url).port}/…`, "the database status read");
    const down = await runOracleCli(["status"], {
      ...env,
      CARBONPROOF_ORACLE__STORAGE__URL: `postgres://postgres:s3cret@127.0.0.1:1/nothing`,
    });
    assert.notEqual(down.code, 0);
    assert.match(down.stderr, /cannot connect to PostgreSQL at postgres:\/\/127\.0\.0\.1:1\/…: /);
    assert.match(down.stderr, /set storage\.url \(CARBONPROOF_ORACLE__STORAGE__URL\)/);
    assert.ok(!(down.stdout + down.stderr).includes("s3cret"));
  });

  test("batch bookkeeping that SQLite keeps as numbers comes back as numbers (BIGINT columns)", async () => {
    const s = new PostgresStorage(await server.createDatabase());
    try {
      const big = 1_700_000_000_123;
      s.commitIngest([{ ...storedReading("n1", 9_007_199_254, 1_700_000_000), fossilMg: 2n ** 62n }], [], {
        windowS: 60,
        nowMs: big,
      });
      const [b] = s.listBatches({});
      assert.equal(typeof b!.id, "number");
      assert.equal(b!.createdAtMs, big);
      assert.equal(b!.periodStart, 1_699_999_980);
      const r = s.getReadingByDeviceSeq("n1", 9_007_199_254)!;
      assert.equal(r.seq, 9_007_199_254);
      assert.equal(r.fossilMg, 2n ** 62n, "a BIGINT beyond 2^53 kept exactly");
      assert.ok(s.transition(b!.id, ["open"], "sealed", { txNonce: 7, txHashes: ["0xaa"] }));
      const again = s.getBatch(b!.id)!;
      assert.deepEqual([again.txNonce, again.txHashes, again.state], [7, ["0xaa"], "sealed"]);
    } finally {
      s.close();
    }
  });
});

describe("PostgreSQL over TLS (a server that takes TLS connections only)", { skip: postgresMissing ?? false }, () => {
  let server: Awaited<ReturnType<typeof startPostgres>>;
  before(async () => {
    server = await startPostgres({ tls: true });
  });
  after(async () => {
    await server?.stop();
  });
  const tlsUrl = (db: string, ca: string) => `${db}?sslmode=verify-full&sslrootcert=${encodeURIComponent(ca)}`;

  test("sslmode=verify-full with the CA that signed the server's certificate: readings stored and read over an encrypted connection, by the CLI too", async () => {
    const url = tlsUrl(await server.createDatabase(), server.caFile!);
    const s = new PostgresStorage(url);
    try {
      const out = s.commitIngest([storedReading("tls-1", 1, 10), storedReading("tls-1", 2, 20)], [], {
        windowS: 60,
        nowMs: 0,
      });
      assert.deepEqual(
        out.readings.map((r) => r.status),
        ["stored", "stored"],
      );
      assert.equal(s.getReadingByDeviceSeq("tls-1", 2)!.ts, 20);
    } finally {
      s.close();
    }
    const bridge = new PgBridge(url);
    try {
      const { rows } = bridge.query("SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()");
      assert.equal(rows[0]!.ssl, true, "the session is encrypted");
      assert.match(String(rows[0]!.version), /^TLSv1\.[23]$/);
    } finally {
      bridge.close();
    }
    const status = await runOracleCli(["status"], {
      CARBONPROOF_ORACLE__STORAGE__DRIVER: "postgres",
      CARBONPROOF_ORACLE__DATA_DIR: "/nonexistent-data-dir",
      CARBONPROOF_ORACLE__STORAGE__URL: url.replace("postgres@", "postgres:s3cret@"),
    });
    assert.equal(status.code, 0, status.stderr);
    assert.ok(!status.stdout.includes("s3cret"), "status names the database without its password");
    assert.match(status.stdout, /"storage": "postgres:\/\/127\.0\.0\.1:\d+\/…"/);
    assert.equal((JSON.parse(status.stdout) as { backlog: number }).backlog, 2);
  });

  test("a role that signs in with a password: the right one connects; a wrong one is refused saying to set them in storage.url, never shown", async () => {
    const db = await server.createDatabase();
    const admin = new pg.Client({ connectionString: tlsUrl(db, server.caFile!) });
    await admin.connect();
    try {
      await admin.query("CREATE ROLE oracle_pw LOGIN PASSWORD 'right-pw-1'");
      await admin.query(`ALTER DATABASE ${new URL(db).pathname.slice(1)} OWNER TO oracle_pw`);
    } finally {
      await admin.end();
    }
    const withPassword = (pw: string) => tlsUrl(db.replace("postgres@", `oracle_pw:${pw}@`), server.caFile!);
    const s = new PostgresStorage(withPassword("right-pw-1"));
    try {
      s.commitIngest([storedReading("pw-1", 1, 10)], [], { windowS: 60, nowMs: 0 });
      assert.equal(s.backlog(), 1);
    } finally {
      s.close();
    }
    assert.throws(
      () => new PostgresStorage(withPassword("wrong-pw-2"), { connectTimeoutMs: 5_000 }),
      (err: Error) => {
        assert.match(err.message, /^cannot connect to PostgreSQL at postgres:\/\/127\.0\.0\.1:\d+\/…: /);
        assert.match(err.message, /password authentication failed for user "oracle_pw"/);
        assert.match(err.message, /The user or password was refused: set the right ones in storage\.url/);
        assert.ok(!err.message.includes("wrong-pw-2"), "the password is never shown");
        return true;
      },
    );
  });

  test("refused, each saying what to change in storage.url: no TLS, a CA that did not sign the certificate, a CA file that is not there", async () => {
    const db = await server.createDatabase();
    const refusal = (url: string) => {
      try {
        new PostgresStorage(url, { connectTimeoutMs: 5_000 }).close();
      } catch (err) {
        return (err as Error).message;
      }
      assert.fail(`${url} was accepted`);
    };
    const plain = refusal(db);
    assert.match(
      plain,
      /^cannot connect to PostgreSQL at postgres:\/\/127\.0\.0\.1:\d+\/…: .*pg_hba\.conf.*no encryption/,
    );
    assert.match(
      plain,
      /The server refused a connection without TLS: add \?sslmode=verify-full&sslrootcert=\/path\/to\/ca\.pem to storage\.url/,
    );
    const wrongCa = refusal(tlsUrl(db, server.otherCaFile!));
    assert.match(wrongCa, /certificate/i);
    assert.match(
      wrongCa,
      /The server's certificate was not accepted: give the CA that signed it as sslrootcert in storage\.url/,
    );
    const noDb = refusal(tlsUrl(db.replace(/\/cp_test_\w+$/, "/no_such_db"), server.caFile!));
    assert.match(noDb, /database "no_such_db" does not exist\. The database does not exist: create it \(createdb\)/);
    const noCa = refusal(tlsUrl(db, "/nonexistent/ca.pem"));
    assert.match(noCa, /ENOENT.*\/nonexistent\/ca\.pem/);
    assert.match(
      noCa,
      /A file named in storage\.url \(CARBONPROOF_ORACLE__STORAGE__URL\) \(sslrootcert, sslcert or sslkey\) cannot be read/,
    );
  });
});
