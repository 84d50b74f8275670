/**
 * `carbonproof-oracle copy-from-sqlite` (storage/copy-to-postgres.ts): a node's SQLite database
 * into PostgreSQL, on a real server (postgres-harness.ts), with the real CLI.
 */
import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { lockDataDir } from "../src/pid.ts";
import { PgBridge } from "../src/storage/pg-bridge.ts";
import { PostgresStorage } from "../src/storage/postgres.ts";
import { SqliteStorage } from "../src/storage/sqlite.ts";
import { SqlStorage } from "../src/storage/sql-storage.ts";
import { CopyError, copySqliteToPostgres } from "../src/storage/copy-to-postgres.ts";
import { storedReading } from "./fixtures.ts";
import { postgresMissing, startPostgres, type PostgresServer } from "./postgres-harness.ts";
import { runOracleCli } from "./helpers.ts";

const WINDOW_S = 60;
const reading = (device: string, seq: number, ts: number, facility: string) => {
  const r = storedReading(device, seq, ts, facility);
  // a result and a score that differ per reading, so that a column copied from the wrong row shows
  return {
    ...r,
    fossilMg: BigInt(seq) * 1_000n + 7n,
    anomalyScore: seq % 3 === 0 ? seq / 7 : null,
    flagged: seq % 5 === 0,
  };
};

/**
 * A node's database as a run leaves it: readings in several windows and facilities, batches in
 * every kind of state (one confirmed, one failed and abandoned, a correction), dead letters (one
 * with a NUL and quotes in its payload), API keys (one revoked), evidence, heartbeats of which the
 * oldest were pruned (so SQLite's sequence is beyond the largest id left), and meta.
 */
function populate(file: string): void {
  const s = new SqliteStorage(file);
  try {
    const batch: ReturnType<typeof reading>[] = [];
    for (let seq = 1; seq <= 2_400; seq++) {
      const device = `dev-${seq % 4}`;
      batch.push(reading(device, seq, 1_700_000_000 + seq, seq % 2 ? "f1" : "f2"));
      if (batch.length === 500) s.commitIngest(batch.splice(0), [], { windowS: WINDOW_S, nowMs: 1 });
    }
    s.commitIngest(
      batch.splice(0),
      [
        {
          receivedAtMs: 5,
          source: "mqtt",
          reason: "schema",
          detail: 'payload is not JSON: unexpected "\\u0000"',
          payload: 'bad\u0000"payload" \\ with ∑ unicode',
          deviceId: "dev-1",
          seq: 99,
        },
      ],
      { windowS: WINDOW_S, nowMs: 1 },
    );
    s.addDeadLetter({ receivedAtMs: 6, source: "http", reason: "bad-signature", detail: "forged", payload: "{}" });
    // seal every window ended by now, then walk some batches on
    const sealed = s.sealDue(1_700_000_000_000 + 3_000_000, 0);
    assert.ok(sealed.length >= 4, `${sealed.length} batches sealed`);
    const [a, b, c] = sealed;
    assert.ok(
      s.transition(a!, ["sealed"], "pinned", { headerJson: '{"h":1}', bundleCid: "bafyA", merkleRoot: "0xab" }),
    );
    assert.ok(s.transition(a!, ["pinned"], "signed", { attestationId: `0x${"ab".repeat(32)}`, signatures: '["0x1"]' }));
    assert.ok(
      s.transition(a!, ["signed"], "submitted", { txHash: `0x${"22".repeat(32)}`, txNonce: 3, txHashes: ["0x22"] }),
    );
    assert.ok(s.transition(a!, ["submitted"], "confirmed", { blockNumber: 12 }));
    assert.ok(s.transition(b!, ["sealed"], "failed", { error: "the registry is paused" }));
    assert.ok("done" in s.abandonFailedBatch(b!, 77));
    assert.ok(s.transition(c!, ["sealed"], "pinned", { bundleCid: "bafyC" }));
    // a late reading for a sealed window: a correction batch
    const late = s.commitIngest([reading("dev-1", 5_001, 1_700_000_001, "f1")], [], { windowS: WINDOW_S, nowMs: 2 });
    assert.equal(late.readings[0]!.status, "stored");
    s.addApiKey({ label: "gateway", scope: "device", subject: "dev-1", hash: "h1", createdAtMs: 1 });
    const revoked = s.addApiKey({ label: "old", scope: "facility", subject: "f1", hash: "h2", createdAtMs: 2 });
    s.revokeApiKey(revoked, 3);
    s.putEvidence({
      sha256: "ee".repeat(32),
      cid: "bafyEvidence",
      filename: "invoice 'march'.pdf",
      mediaType: "application/pdf",
      sizeBytes: 12_345,
      facilityId: "f1",
      createdAtMs: 4,
    });
    for (let i = 0; i < 6; i++)
      s.addHeartbeat({
        deviceId: `dev-${i % 2}`,
        facilityId: "f1",
        receivedAtMs: 1_000 * (i + 1),
        ts: i,
        lastSeq: i,
        bufferDepth: i === 5 ? null : i,
        held: i === 4 ? 3 : null,
        heldDropped: i === 4 ? 1 : null,
        dropped: 0,
        rssiDbm: -60 - i,
        uptimeS: 100 * i,
        fw: i % 2 ? "1.2.0" : null,
        faults: i === 4 ? ["sensor-timeout"] : [],
        verified: i % 2 === 0,
      });
    assert.equal(s.pruneHeartbeats(2_500, 100), 2);
    // headers co-signed for another node: the record that keeps the node from signing alternatives
    for (const [n, correctionOf, digests] of [
      [1, "0x" + "0".repeat(64), []],
      [2, "0x" + "1".repeat(64), ["0x" + "d".repeat(64)]],
    ] as const)
      s.recordCosign({
        attestationId: "0x" + String(n).repeat(64),
        facilityId: "0x" + "f".repeat(64),
        periodStart: 3600,
        periodEnd: 7200,
        correctionOf,
        bundleCid: `bafyCosigned${n}`,
        digests,
        signedAtMs: 5 + n,
      });
    s.setMeta("bundle.cursor", "1234");
  } finally {
    s.close();
  }
}

/** Everything the storage API shows of a database, for comparing the two sides. */
function snapshot(s: SqlStorage, digests: string[]) {
  return {
    readings: digests.map((d) => s.getReading(d)),
    cursor: s.readingCursor(),
    batches: s.listBatches({ limit: 10_000 }),
    counts: s.batchStateCounts(),
    backlog: s.backlog(),
    deadLetters: s.listDeadLetters({ limit: 100 }),
    apiKeys: s.listApiKeys(),
    evidence: s.getEvidence("ee".repeat(32)),
    cosigned: [s.getCosign("0x" + "1".repeat(64)), s.getCosign("0x" + "2".repeat(64))],
    health: s.deviceHealth({ sinceMs: 0, gapMs: 10_000 }),
    meta: s.getMeta("bundle.cursor"),
  };
}

function digestsOf(file: string): string[] {
  const db = new DatabaseSync(file, { readOnly: true });
  try {
    return (db.prepare("SELECT digest FROM readings ORDER BY rowid").all() as { digest: string }[]).map(
      (r) => r.digest,
    );
  } finally {
    db.close();
  }
}

/** Each id sequence of the database at `url` as PostgreSQL shows it (last_value null: none given yet). */
function sequencesOf(url: string): Record<string, unknown>[] {
  const pg = new PgBridge(url, { applicationName: "carbonproof-test", timeoutMs: 10_000 });
  try {
    return pg.query(
      `SELECT sequencename, last_value::text AS last_value FROM pg_sequences
       WHERE schemaname = current_schema() ORDER BY sequencename`,
    ).rows;
  } finally {
    pg.close();
  }
}

/** The target's schema, made as the node makes it, with ids given and the rows gone (a node that ran once, emptied). */
function usedOnce(url: string): void {
  new PostgresStorage(url).close();
  const pg = new PgBridge(url, { applicationName: "carbonproof-test", timeoutMs: 10_000 });
  try {
    pg.query("SELECT nextval('heartbeats_id_seq'), nextval('heartbeats_id_seq'), nextval('dead_letters_id_seq')");
  } finally {
    pg.close();
  }
}

describe("copy-from-sqlite on a real PostgreSQL server", { skip: postgresMissing ?? false }, () => {
  let server: PostgresServer;
  let dir: string;
  before(async () => {
    server = await startPostgres();
    dir = mkdtempSync(join(tmpdir(), "cp-copy-"));
  });
  after(async () => {
    await server?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test("the CLI copies every table with its ids; the node's view is the same on both; new ids continue after the old ones", async () => {
    const file = join(dir, "node-a", "oracle.db");
    populate(file);
    const url = await server.createDatabase();
    const env = {
      CARBONPROOF_ORACLE__DATA_DIR: join(dir, "pg-node"),
      CARBONPROOF_ORACLE__STORAGE__DRIVER: "postgres",
      CARBONPROOF_ORACLE__STORAGE__URL: url,
    };
    // a rehearsal first: everything copied and checked, then rolled back
    const dry = await runOracleCli(["copy-from-sqlite", file, "--dry-run"], env);
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stderr, /dry run: every row copied and checked, then rolled back/);
    const rehearsed = JSON.parse(dry.stdout) as { dryRun: boolean; rows: Record<string, number> };
    assert.equal(rehearsed.dryRun, true);
    assert.equal(rehearsed.rows.readings, 2_401);
    const untouched = new PostgresStorage(url);
    try {
      assert.equal(untouched.listBatches({ limit: 1 }).length, 0, "the dry run left the target empty");
    } finally {
      untouched.close();
    }
    const r = await runOracleCli(["copy-from-sqlite", file], env);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual((JSON.parse(r.stdout) as { rows: unknown }).rows, rehearsed.rows);
    const out = JSON.parse(r.stdout) as { rows: Record<string, number>; sha256: Record<string, string>; to: string };
    assert.deepEqual(out.rows, {
      batches: out.rows.batches,
      api_keys: 2,
      cosigned: 2,
      dead_letters: 2,
      evidence: 1,
      heartbeats: 4,
      meta: out.rows.meta,
      readings: 2_401,
    });
    assert.ok(out.rows.batches! >= 6, `${out.rows.batches} batches`);
    assert.equal(Object.keys(out.rows)[0], "batches", "batches go first: readings and corrections refer to them");
    assert.match(r.stderr, /copy-from-sqlite: done; start the node with this config/);
    assert.doesNotMatch(r.stderr, /ExperimentalWarning/);

    const digests = digestsOf(file);
    const sqlite = new SqliteStorage(file);
    const pg = new PostgresStorage(url);
    try {
      const before = snapshot(sqlite, digests);
      assert.ok(
        before.batches.some((b) => b.correctionOfBatch !== null),
        "a correction batch is among those copied",
      );
      assert.ok(before.batches.some((b) => b.abandonedAt !== null));
      assert.ok(
        before.deadLetters.some((d) => d.payload.includes("bad\\u0000")),
        "a NUL in a dead letter's payload",
      );
      assert.deepEqual(snapshot(pg, digests), before);

      // the sequences go on after SQLite's: a new batch, reading, dead letter and heartbeat get new ids
      const maxBatch = Math.max(...before.batches.map((b) => b.id));
      const next = pg.commitIngest([reading("dev-9", 1, 1_800_000_000, "f3")], [], { windowS: WINDOW_S, nowMs: 9 });
      assert.equal(next.readings[0]!.status, "stored");
      assert.ok((next.readings[0] as { batchId: number }).batchId > maxBatch);
      assert.ok(pg.readingCursor().rowid > before.cursor.rowid);
      const deadId = pg.addDeadLetter({ receivedAtMs: 9, source: "http", reason: "schema", detail: "x", payload: "y" });
      assert.ok(deadId > Math.max(...before.deadLetters.map((d) => d.id)));
      // SQLite gave heartbeat ids 1..6 and pruned 1 and 2: the next is 7, never one it gave before
      const db = new DatabaseSync(file, { readOnly: true });
      const sqliteSeq = Number(
        (db.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'heartbeats'").get() as { seq: number }).seq,
      );
      db.close();
      assert.equal(sqliteSeq, 6);
    } finally {
      sqlite.close();
      pg.close();
    }

    // the target now holds data: a second copy is refused and changes nothing
    const again = await runOracleCli(["copy-from-sqlite", file], env);
    assert.equal(again.code, 1);
    assert.match(
      again.stderr,
      /already holds CarbonProof data \(table batches has rows\): copy into an empty database/,
    );
    assert.ok(!again.stderr.includes("Error:"), again.stderr);
    const pg2 = new PostgresStorage(url);
    try {
      assert.equal(pg2.countDeadLetters(), 3);
    } finally {
      pg2.close();
    }
  });

  test("a dry run leaves the target's id sequences where they were; a copy after it gives the ids a copy without it gives", async () => {
    const file = join(dir, "node-e", "oracle.db");
    populate(file);
    const rehearsed = await server.createDatabase();
    const direct = await server.createDatabase();
    usedOnce(rehearsed);
    usedOnce(direct);
    const before = sequencesOf(rehearsed);
    assert.ok(
      before.some((q) => q.last_value === "2"),
      JSON.stringify(before),
    );
    const dry = await runOracleCli(["copy-from-sqlite", file, "--dry-run"], {
      CARBONPROOF_ORACLE__DATA_DIR: join(dir, "pg-node-e"),
      CARBONPROOF_ORACLE__STORAGE__DRIVER: "postgres",
      CARBONPROOF_ORACLE__STORAGE__URL: rehearsed,
    });
    assert.equal(dry.code, 0, dry.stderr);
    assert.deepEqual(sequencesOf(rehearsed), before, "the dry run left every sequence as it was");

    copySqliteToPostgres({ file, url: rehearsed });
    copySqliteToPostgres({ file, url: direct });
    assert.deepEqual(sequencesOf(rehearsed), sequencesOf(direct));
    const nextIds = (url: string) => {
      const pg = new PostgresStorage(url);
      try {
        const stored = pg.commitIngest([reading("dev-9", 1, 1_800_000_000, "f3")], [], { windowS: WINDOW_S, nowMs: 9 });
        return {
          batch: (stored.readings[0] as { batchId: number }).batchId,
          rowid: pg.readingCursor().rowid,
          deadLetter: pg.addDeadLetter({
            receivedAtMs: 9,
            source: "http",
            reason: "schema",
            detail: "x",
            payload: "y",
          }),
          apiKey: pg.addApiKey({ label: "new", scope: "device", subject: "dev-9", hash: "h9", createdAtMs: 9 }),
        };
      } finally {
        pg.close();
      }
    };
    assert.deepEqual(nextIds(rehearsed), nextIds(direct));
  });

  test("a row PostgreSQL refuses part-way: an error naming the table and row, and the target left empty", async () => {
    const file = join(dir, "node-b", "oracle.db");
    populate(file);
    // heartbeats are copied after batches, API keys, dead letters and evidence
    const db = new DatabaseSync(file);
    db.exec("UPDATE heartbeats SET rssi_dbm = 'strong' WHERE id = 5");
    db.close();
    const url = await server.createDatabase();
    usedOnce(url);
    const sequences = sequencesOf(url);
    assert.throws(
      () => copySqliteToPostgres({ file, url, chunkRows: 2 }),
      (err: Error) => {
        assert.ok(err instanceof CopyError && err.code === "ROW_REJECTED", String(err));
        assert.match(
          err.message,
          /PostgreSQL refused rows of table heartbeats from id 5 on: .*strong.*; nothing was committed/,
        );
        return true;
      },
    );
    const pg = new PostgresStorage(url);
    try {
      assert.equal(pg.listBatches({ limit: 10 }).length, 0);
      assert.equal(pg.countDeadLetters(), 0);
      assert.equal(pg.listApiKeys().length, 0);
    } finally {
      pg.close();
    }
    // the sequences of the tables copied before heartbeats were set, and are put back
    assert.deepEqual(sequencesOf(url), sequences, "the failed copy left every sequence as it was");
    // fixed in SQLite, the same copy goes through (small chunks: many statements per table)
    const fix = new DatabaseSync(file);
    fix.exec("UPDATE heartbeats SET rssi_dbm = -70 WHERE id = 5");
    fix.close();
    const phases = new Set<string>();
    const report = copySqliteToPostgres({
      file,
      url,
      chunkRows: 97,
      onProgress: (p) => phases.add(`${p.phase} ${p.table}`),
    });
    assert.equal(report.tables.readings, 2_401);
    assert.ok(phases.has("copy readings") && phases.has("verify readings"), [...phases].join(", "));
    assert.match(report.sha256.readings!, /^[0-9a-f]{64}$/);
  });

  test("a schema that differs is refused before anything is copied, naming the column", async () => {
    const file = join(dir, "node-c", "oracle.db");
    populate(file);
    const db = new DatabaseSync(file);
    db.exec("ALTER TABLE evidence ADD COLUMN notes TEXT");
    db.close();
    const url = await server.createDatabase();
    assert.throws(
      () => copySqliteToPostgres({ file, url }),
      /table evidence: column notes only in SQLite; nothing was copied/,
    );
  });

  test("refused with what to do: a SQLite config, a missing file, a node still running on the database", async () => {
    const file = join(dir, "node-d", "oracle.db");
    new SqliteStorage(file).close();
    const url = await server.createDatabase();
    const env = {
      CARBONPROOF_ORACLE__DATA_DIR: join(dir, "pg-node-d"),
      CARBONPROOF_ORACLE__STORAGE__DRIVER: "postgres",
      CARBONPROOF_ORACLE__STORAGE__URL: url,
    };
    const onSqlite = await runOracleCli(["copy-from-sqlite", file], { CARBONPROOF_ORACLE__DATA_DIR: join(dir, "x") });
    assert.equal(onSqlite.code, 1);
    assert.match(
      onSqlite.stderr,
      /copy-from-sqlite copies into the node's PostgreSQL database: set storage\.driver to postgres and storage\.url/,
    );

    const missing = await runOracleCli(["copy-from-sqlite", join(dir, "nowhere.db")], env);
    assert.equal(missing.code, 1);
    assert.match(
      missing.stderr,
      /no SQLite database at .*nowhere\.db: give the old node's database file, dataDir\/oracle\.db/,
    );

    const notDb = join(dir, "notes.txt");
    writeFileSync(notDb, "these are not the readings you are looking for\n".repeat(100));
    const wrong = await runOracleCli(["copy-from-sqlite", notDb], env);
    assert.equal(wrong.code, 1);
    assert.match(
      wrong.stderr,
      /notes\.txt cannot be opened as a node's SQLite database \(.*not a database.*\): give the old node's dataDir\/oracle\.db/,
    );

    const noFile = await runOracleCli(["copy-from-sqlite"], env);
    assert.equal(noFile.code, 2);
    assert.match(noFile.stderr, /`copy-from-sqlite` needs the SQLite database to copy/);

    // this test's own process stands in for a node running on the database's directory (it holds its lock)
    const lock = lockDataDir(join(dir, "node-d"), "start");
    assert.ok(lock.ok);
    const running = await runOracleCli(["copy-from-sqlite", file], env);
    lock.release();
    assert.equal(running.code, 1);
    assert.match(running.stderr, new RegExp(`a node \\(pid ${process.pid}\\) runs on .*node-d: stop it first`));
    const pg = new PostgresStorage(url);
    try {
      assert.equal(pg.listBatches({ limit: 1 }).length, 0);
    } finally {
      pg.close();
    }
  });
});
