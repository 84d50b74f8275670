/**
 * `carbonproof-oracle backup` and `restore` on the node's real SQLite database: a backup taken
 * while readings arrive, restored under a stopped node that then starts from it.
 */
import { test, describe, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { readingDigestHex, type Envelope } from "../../sdk/src/index.ts";
import { createApiKey } from "../src/api/keys.ts";
import { deviceInfo, electricity, makeDevice, testNode } from "./fixtures.ts";
import { runOracleCli, tempDir } from "./helpers.ts";

/** The digests of the readings a SQLite file holds. */
function digestsIn(file: string): Set<string> {
  const db = new DatabaseSync(file, { readOnly: true });
  try {
    return new Set((db.prepare("SELECT digest FROM readings").all() as { digest: string }[]).map((r) => r.digest));
  } finally {
    db.close();
  }
}

describe("backup and restore of the SQLite database", { timeout: 180_000 }, () => {
  const tmp = tempDir();
  after(() => tmp.cleanup());
  const dataDir = join(tmp.dir, "data");
  const configFile = join(tmp.dir, "oracle.json");
  writeFileSync(configFile, JSON.stringify({ dataDir }));
  const cli = (...args: string[]) => runOracleCli([...args, "--config", configFile], {});
  const dev = makeDevice("kangaita-meter-7");
  // this test is about the SQLite file, whatever ORACLE_TEST_STORAGE says
  const start = () =>
    testNode({ dir: dataDir, devices: [deviceInfo(dev)], config: { storage: { driver: "sqlite", url: undefined } } });

  test("a backup taken while readings arrive is a snapshot; restored under the stopped node, the node starts from it, and the database it replaced is kept", async () => {
    let node = await start();
    const key = createApiKey(node.storage, { scope: "device", subject: dev.deviceId }).key;
    const post = async (n: number): Promise<Envelope[]> => {
      const envs = Array.from({ length: n }, () => electricity(dev));
      const res = await fetch(`${node.httpUrl}/v1/readings`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-api-key": key },
        body: JSON.stringify(envs),
      });
      assert.equal(res.status, 200, await res.clone().text());
      assert.equal(((await res.json()) as { accepted: number }).accepted, n);
      return envs;
    };
    const digests = (envs: Envelope[]) => envs.map((e) => readingDigestHex(e.reading));
    const before = digests(await post(300));

    // readings keep arriving while the backup runs
    let streaming = true;
    const during: string[] = [];
    const stream = (async () => {
      while (streaming) during.push(...digests(await post(25)));
    })();
    const backupFile = join(tmp.dir, "oracle-backup.db");
    const made = await cli("backup", backupFile);
    streaming = false;
    await stream;
    assert.equal(made.code, 0, made.stderr);
    assert.match(made.stderr, /^backing up .*oracle\.db \(\d+\.\d MiB\) to .*oracle-backup\.db…$/m);
    const report = JSON.parse(made.stdout) as { backup: string; readings: number; apiKeys: number; bytes: number };
    assert.equal(report.backup, backupFile);
    assert.equal(report.apiKeys, 1);
    assert.ok(report.bytes > 0);
    assert.ok(during.length > 0, "readings arrived during the backup");
    assert.deepEqual(
      readdirSync(tmp.dir).filter((f) => f.includes("partial")),
      [],
      "no temporary file left",
    );
    const inBackup = digestsIn(backupFile);
    assert.equal(inBackup.size, report.readings, "the report counts what the file holds");
    for (const d of before) assert.ok(inBackup.has(d), "every reading stored before the backup began is in it");
    const live = new Set([...before, ...during]);
    for (const d of inBackup) assert.ok(live.has(d), "the backup holds only readings the node stored");
    const later = digests(await post(40));

    // the same path again: refused without --force, replaced with it
    const again = await cli("backup", backupFile);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /oracle-backup\.db exists: give another path, or --force to replace it/);
    assert.equal(digestsIn(backupFile).size, inBackup.size, "the refused backup left the file as it was");
    const forced = await cli("backup", join(tmp.dir, "second.db"));
    assert.equal(forced.code, 0, forced.stderr);
    assert.equal(digestsIn(join(tmp.dir, "second.db")).size, live.size + later.length);
    assert.equal((await cli("backup", join(tmp.dir, "second.db"), "--force")).code, 0);

    // a restore under a running node is refused (its pid file names a live process: this one)
    writeFileSync(join(dataDir, "oracle.pid"), String(process.pid));
    const busy = await cli("restore", backupFile);
    assert.equal(busy.code, 1);
    assert.match(busy.stderr, new RegExp(`a node runs on .* \\(pid ${process.pid}\\): stop it first`));
    rmSync(join(dataDir, "oracle.pid"));

    await node.stop();
    const restored = await cli("restore", backupFile);
    assert.equal(restored.code, 0, restored.stderr);
    const r = JSON.parse(restored.stdout) as { database: string; previous: string[]; readings: number; next: string };
    assert.equal(r.database, join(dataDir, "oracle.db"));
    assert.equal(r.readings, inBackup.size);
    assert.match(r.next, /readings it accepted after the backup was made are not in it/);
    assert.match(r.previous[0]!, /oracle\.db\.replaced-\d{4}-\d\d-\d\dT[\d-]+Z$/);
    for (const f of r.previous) assert.ok(existsSync(f));
    assert.ok(
      !existsSync(join(dataDir, "oracle.db-wal")),
      "no WAL of the replaced database left beside the restored one",
    );
    const replaced = digestsIn(r.previous[0]!);
    for (const d of later)
      assert.ok(replaced.has(d), "the replaced database, kept, holds the readings after the backup");

    node = await start();
    try {
      for (const d of before) assert.ok(node.storage.getReading(d), "a reading of the backup is served");
      for (const d of later) assert.equal(node.storage.getReading(d), null, "a reading after the backup is not");
      // and the node goes on storing
      assert.equal((await post(5)).length, 5);
    } finally {
      await node.stop();
    }
  });

  test("refused, saying why: not a SQLite file, a SQLite file that is not a node's, no backup there, a PostgreSQL node", async () => {
    const text = join(tmp.dir, "notes.txt");
    writeFileSync(text, "not a database, long enough to have a header\n");
    const notSqlite = await cli("restore", text);
    assert.equal(notSqlite.code, 1);
    assert.match(notSqlite.stderr, /notes\.txt is not a SQLite database: give a node's database or a backup of one/);

    const other = join(tmp.dir, "other.db");
    const db = new DatabaseSync(other);
    db.exec("CREATE TABLE readings (x); CREATE TABLE t (y)");
    db.close();
    const notNode = await cli("restore", other);
    assert.equal(notNode.code, 1);
    assert.match(notNode.stderr, /other\.db is a SQLite database but not a node's: it has no batches, dead_letters/);

    const missing = await cli("restore", join(tmp.dir, "nope.db"));
    assert.match(missing.stderr, /no backup at .*nope\.db/);
    const noDir = await cli("backup", join(tmp.dir, "no-such-dir", "b.db"));
    assert.match(noDir.stderr, /no directory .*no-such-dir for the backup: create it first/);
    const self = await cli("backup", join(dataDir, "oracle.db-wal"));
    assert.match(self.stderr, /is the node's own database: give the backup another path/);

    const pgConfig = join(tmp.dir, "pg.json");
    writeFileSync(
      pgConfig,
      JSON.stringify({ dataDir, storage: { driver: "postgres", url: "postgres://oracle@127.0.0.1:1/oracle" } }),
    );
    const pg = await runOracleCli(["backup", join(tmp.dir, "pg.db"), "--config", pgConfig], {});
    assert.equal(pg.code, 1);
    assert.match(pg.stderr, /stores in PostgreSQL .*back it up with pg_dump/);
  });
});
