/**
 * `carbonproof-oracle backup` and `restore` on the node's real SQLite database: a backup taken
 * while readings arrive, restored under a stopped node that then starts from it.
 */
import { test, describe, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import fs from "node:fs";
import { syncBuiltinESMExports } from "node:module";
import { dirname, join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { readingDigestHex, type Envelope } from "../../sdk/src/index.ts";
import { createApiKey } from "../src/api/keys.ts";
import { backupContent, writeDurably } from "../src/ipfs/content-backup.ts";
import { rawCid } from "../src/ipfs/store.ts";
import { lockDataDir } from "../src/pid.ts";
import { backupDatabase, restoreDatabase } from "../src/storage/backup.ts";
import { deviceInfo, electricity, makeDevice, postOldWindow, recordEvidence, testNode } from "./fixtures.ts";
import { runOracleCli, tempDir, waitFor } from "./helpers.ts";

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

    // readings keep arriving while the backup command runs
    let streaming = true;
    const during: string[] = [];
    const stream = (async () => {
      while (streaming) during.push(...digests(await post(25)));
    })();
    const backupFile = join(tmp.dir, "oracle-backup.db");
    // the temp file of a backup killed outright (its process gone) is removed; a live backup's is not
    const stale = join(tmp.dir, ".oracle-backup.db.4194305.partial");
    const live = join(tmp.dir, `.oracle-backup.db.${process.pid}.partial`);
    writeFileSync(stale, "cut short");
    writeFileSync(live, "in progress");
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
    assert.ok(!existsSync(stale), "a dead backup's temp file removed");
    assert.ok(existsSync(live), "a live backup's temp file kept");
    rmSync(live);
    assert.deepEqual(
      readdirSync(tmp.dir).filter((f) => f.includes("partial")),
      [],
      "no temporary file left",
    );
    const inBackup = digestsIn(backupFile);
    assert.equal(inBackup.size, report.readings, "the report counts what the file holds");
    for (const d of before) assert.ok(inBackup.has(d), "every reading stored before the backup began is in it");
    const stored = new Set([...before, ...during]);
    for (const d of inBackup) assert.ok(stored.has(d), "the backup holds only readings the node stored");
    const later = digests(await post(40));

    // the same path again: refused without --force, replaced with it
    const again = await cli("backup", backupFile);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /oracle-backup\.db exists: give another path, or --force to replace it/);
    assert.equal(digestsIn(backupFile).size, inBackup.size, "the refused backup left the file as it was");
    const second = join(tmp.dir, "second.db");
    const made2 = await cli("backup", second);
    assert.equal(made2.code, 0, made2.stderr);
    assert.equal(digestsIn(second).size, stored.size + later.length);
    const last = digests(await post(3));
    const forced = await cli("backup", second, "--force");
    assert.equal(forced.code, 0, forced.stderr);
    assert.equal(digestsIn(second).size, stored.size + later.length + last.length, "--force replaced it");

    // a restore under a running node is refused (this process holds the data dir's lock, as `start` does)
    const lock = lockDataDir(dataDir, "start");
    assert.ok(lock.ok);
    const busy = await cli("restore", backupFile);
    lock.release();
    assert.equal(busy.code, 1);
    assert.match(busy.stderr, new RegExp(`a node \\(pid ${process.pid}\\) runs on .*: stop it first`));

    await node.stop();
    const restored = await cli("restore", backupFile);
    assert.equal(restored.code, 0, restored.stderr);
    const r = JSON.parse(restored.stdout) as { database: string; previous: string; readings: number; next: string };
    assert.equal(r.database, join(dataDir, "oracle.db"));
    assert.equal(r.readings, inBackup.size);
    assert.match(r.next, /readings it accepted after the backup was made are not in it/);
    assert.match(r.previous, /oracle\.db\.replaced-\d{4}-\d\d-\d\dT[\d-]+Z$/);
    assert.ok(
      !existsSync(join(dataDir, "oracle.db-wal")),
      "no WAL of the replaced database left beside the restored one",
    );
    const replaced = digestsIn(r.previous);
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

  test("--content copies the bundle and evidence files a backup names, only those it lacks; restore puts them back, pinned, after checking every one", async () => {
    const dataDir = join(tmp.dir, "data-content");
    const configFile = join(tmp.dir, "oracle-content.json");
    writeFileSync(configFile, JSON.stringify({ dataDir }));
    const cli = (...args: string[]) => runOracleCli([...args, "--config", configFile], {});
    const meter = makeDevice("kangaita-meter-8");
    const start = () =>
      testNode({
        dir: dataDir,
        devices: [deviceInfo(meter)],
        config: { storage: { driver: "sqlite", url: undefined } },
      });
    let node = await start();
    // an evidence file (a manual entry's invoice), pinned and recorded as the evidence upload does
    const invoice = Buffer.from(`invoice KPLC-2026-11 ${randomBytes(8).toString("hex")}`);
    const evidenceCid = await recordEvidence(node, invoice, meter.facilityId);
    // readings of a window two hours ago: sealed at once, their bundle built and pinned
    await postOldWindow(node, meter, 3);
    const bundleCid = await waitFor(() => node.storage.listBatches({}).find((b) => b.bundleCid)?.bundleCid ?? null, {
      what: "the window's bundle pinned",
    });
    const bundle = (await node.content!.get(bundleCid))!;

    const backupFile = join(tmp.dir, "content-backup.db");
    const contentDir = join(tmp.dir, "content-backup");
    const made = await cli("backup", backupFile, "--content", contentDir); // the node running
    assert.equal(made.code, 0, made.stderr);
    const report = JSON.parse(made.stdout) as {
      content: { cids: number; copied: number; present: number; missing: unknown[] };
    };
    assert.deepEqual(
      { ...report.content, bytes: undefined, dir: undefined },
      { cids: 2, copied: 2, present: 0, missing: [], unreadable: [], bytes: undefined, dir: undefined },
    );
    assert.deepEqual(readdirSync(contentDir).sort(), [bundleCid, evidenceCid].sort(), "one file per CID, nothing else");
    assert.deepEqual(readFileSync(join(contentDir, evidenceCid)), invoice);
    assert.deepEqual(new Uint8Array(readFileSync(join(contentDir, bundleCid))), new Uint8Array(bundle));
    // again: nothing copied twice
    const again = await cli("backup", backupFile, "--force", "--content", contentDir);
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(
      [
        (JSON.parse(again.stdout) as typeof report).content.copied,
        (JSON.parse(again.stdout) as typeof report).content.present,
      ],
      [0, 2],
    );
    // a file the node's store never had: the database backup stands, the command fails naming it
    const lost = Buffer.from("a meter photo nobody pinned");
    const lostCid = await recordEvidence(node, lost, meter.facilityId, { pinned: false });
    const partial = await cli("backup", join(tmp.dir, "content-backup-2.db"), "--content", contentDir);
    assert.equal(partial.code, 1);
    assert.match(
      partial.stderr,
      new RegExp(
        `1 of the 3 files it names are not in the node's IPFS store \\(${lostCid}: not in the node's IPFS store\\)`,
      ),
    );
    assert.match(
      partial.stderr,
      /pin them again from a copy \(`carbonproof-oracle pin FILE`\) or any IPFS node that holds them, then run backup again/,
    );
    assert.ok(existsSync(join(tmp.dir, "content-backup-2.db")), "the database backup was written");
    await node.close();

    // the disk that held the node's IPFS store is lost
    rmSync(join(dataDir, "ipfs"), { recursive: true, force: true });
    // a file that is not the block its name says: nothing restored, the database untouched
    writeFileSync(join(contentDir, lostCid), "something else");
    const refused = await cli("restore", backupFile, "--content", contentDir);
    assert.equal(refused.code, 1);
    assert.match(
      refused.stderr,
      new RegExp(`${lostCid} \\(its bytes do not hash to the CID \\(corrupt or cut short\\)\\)`),
    );
    assert.match(refused.stderr, /Nothing was restored: move them out/);
    assert.ok(!readdirSync(dataDir).some((f) => f.startsWith("oracle.db.replaced-")), "the database was not replaced");
    rmSync(join(contentDir, lostCid));

    const restored = await cli("restore", backupFile, "--content", contentDir);
    assert.equal(restored.code, 0, restored.stderr);
    assert.deepEqual((JSON.parse(restored.stdout) as { content: { blocks: number; lacking: string[] } }).content, {
      ...(JSON.parse(restored.stdout) as { content: object }).content,
      blocks: 2,
      lacking: [],
    });
    assert.doesNotMatch(restored.stderr, /warning/);
    node = await start();
    try {
      assert.deepEqual(Buffer.from((await node.content!.get(evidenceCid))!), invoice);
      assert.deepEqual(new Uint8Array((await node.content!.get(bundleCid))!), new Uint8Array(bundle));
      assert.equal(await node.content!.isPinned(evidenceCid), true);
      assert.equal(await node.content!.isPinned(bundleCid), true);
    } finally {
      await node.close();
    }
  });

  test("pin puts files recovered elsewhere into the stopped node's store, pinned, and prints their CIDs; a running node, a missing path or a file its CID name belies stops it before anything is put", async () => {
    const dataDir = join(tmp.dir, "data-pin");
    const configFile = join(tmp.dir, "oracle-pin.json");
    writeFileSync(configFile, JSON.stringify({ dataDir }));
    const cli = (...args: string[]) => runOracleCli([...args, "--config", configFile], {});
    const start = () => testNode({ dir: dataDir, config: { storage: { driver: "sqlite", url: undefined } } });
    // a bundle as another node of the quorum would hand it over (any file: a raw block), and a
    // `backup --content` directory with an invoice named by its CID
    const files = join(tmp.dir, "recovered");
    mkdirSync(join(files, "content"), { recursive: true });
    const bundle = Buffer.from(`{"bundle":"${randomBytes(8).toString("hex")}"}`);
    const invoice = Buffer.from(`invoice ${randomBytes(8).toString("hex")}`);
    const [bundleCid, invoiceCid] = [rawCid(bundle), rawCid(invoice)];
    writeFileSync(join(files, "bundle.json"), bundle);
    writeFileSync(join(files, "content", invoiceCid), invoice);
    writeFileSync(join(files, "content", ".partial-skipped"), "a partial file backup left");

    let node = await start();
    // this process holds the data dir's lock, as `start` does
    const lock = lockDataDir(dataDir, "start");
    assert.ok(lock.ok);
    const running = await cli("pin", join(files, "bundle.json"));
    lock.release();
    assert.equal(running.code, 1);
    assert.match(
      running.stderr,
      new RegExp(
        `a node \\(pid ${process.pid}\\) runs on .*: stop it first: the embedded IPFS store is the node's while it runs`,
      ),
    );
    await node.close();

    // named by a CID it is not; a directory file not named by its CID (the wrong directory given);
    // the node's own database, by a link from elsewhere; a missing path: nothing put, not even the
    // good file given first
    const liar = join(tmp.dir, "liar");
    mkdirSync(liar);
    writeFileSync(join(liar, invoiceCid), "not the invoice");
    writeFileSync(join(liar, "notes.txt"), "not a block");
    const link = join(tmp.dir, "innocent.json");
    symlinkSync(join(dataDir, "oracle.db"), link);
    // and a copy of the database kept elsewhere, under an innocent name
    const copy = join(tmp.dir, "meter-photo.jpg");
    copyFileSync(join(dataDir, "oracle.db"), copy);
    const refused = await cli("pin", join(files, "bundle.json"), liar, link, copy, join(tmp.dir, "nowhere"));
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /5 path\(s\) cannot be pinned: /);
    assert.match(refused.stderr, /meter-photo\.jpg \(an SQLite database: never pinned/);
    assert.match(
      refused.stderr,
      /notes\.txt \(in a directory only files named by their CID, as `backup --content` writes them, are pinned/,
    );
    assert.match(refused.stderr, /innocent\.json \(inside the node's dataDir, where its database and keystore are/);
    assert.match(
      refused.stderr,
      new RegExp(`${invoiceCid} \\(named ${invoiceCid}, but its bytes do not hash to the CID`),
    );
    assert.match(refused.stderr, /nowhere \(no such file or directory\)/);
    assert.match(refused.stderr, /Nothing was pinned/);
    // the node's config file (it may hold secrets: storage.url, chain.rpcUrl, API keys), given by
    // name, by a link to it, and when --config itself is a link or comes from the environment
    const configLink = join(tmp.dir, "settings.json");
    symlinkSync(configFile, configLink);
    const configs = await cli("pin", join(files, "bundle.json"), configFile, configLink);
    assert.equal(configs.code, 1);
    assert.match(configs.stderr, /2 path\(s\) cannot be pinned: /);
    for (const name of ["oracle-pin\\.json", "settings\\.json"])
      assert.match(configs.stderr, new RegExp(`${name} \\(the node's config file, which may hold secrets`));
    assert.match(configs.stderr, /Nothing was pinned/);
    const fromEnv = await runOracleCli(["pin", configFile], { CARBONPROOF_ORACLE_CONFIG: configLink });
    assert.equal(fromEnv.code, 1);
    assert.match(fromEnv.stderr, /oracle-pin\.json \(the node's config file, which may hold secrets/);
    const none = await cli("pin");
    assert.equal(none.code, 2);
    assert.match(none.stderr, /`pin` needs the files to pin/);
    node = await start();
    try {
      assert.equal(await node.content!.isPinned(bundleCid), false, "nothing was put");
      assert.equal(await node.content!.isPinned(rawCid(readFileSync(configFile))), false, "nor the config file");
    } finally {
      await node.close();
    }

    const pinned = await cli("pin", join(files, "bundle.json"), join(files, "content"));
    assert.equal(pinned.code, 0, pinned.stderr);
    const report = JSON.parse(pinned.stdout) as {
      store: string;
      pinned: { file: string; cid: string; bytes: number }[];
    };
    assert.equal(report.store, "helia");
    assert.deepEqual(
      report.pinned.map((p) => [p.file, p.cid, p.bytes]),
      [
        [join(files, "bundle.json"), bundleCid, bundle.length],
        [join(files, "content", invoiceCid), invoiceCid, invoice.length],
      ],
    );
    assert.match(pinned.stderr, /2 file\(s\) pinned; a batch that failed for want of one of them: `retry ID`/);
    node = await start();
    try {
      assert.deepEqual(Buffer.from((await node.content!.get(bundleCid))!), bundle);
      assert.deepEqual(Buffer.from((await node.content!.get(invoiceCid))!), invoice);
      assert.equal(await node.content!.isPinned(bundleCid), true);
      assert.equal(await node.content!.isPinned(invoiceCid), true);
    } finally {
      await node.close();
    }
  });

  test("a database with commits still in its WAL (a node killed outright): the restore keeps them in the replaced file, and a backup with a WAL of its own is restored whole", async () => {
    // a crashed node's files: the main file and a WAL that holds a commit the main file lacks
    // (made with SQLite itself: a connection that never checkpoints, copied before it closes)
    const crashed = join(tmp.dir, "crashed");
    mkdirSync(crashed);
    const walImage = (from: string, to: string, marker: string) => {
      copyFileSync(from, to);
      const db = new DatabaseSync(to);
      db.exec("PRAGMA journal_mode = WAL; PRAGMA wal_autocheckpoint = 0");
      db.prepare("INSERT INTO meta (key, value) VALUES (?, 'in the WAL only')").run(marker);
      copyFileSync(to, `${to}.image`);
      copyFileSync(`${to}-wal`, `${to}.image-wal`);
      db.close();
      rmSync(to);
      renameSync(`${to}.image`, to);
      renameSync(`${to}.image-wal`, `${to}-wal`);
      assert.ok(statSync(`${to}-wal`).size > 0);
    };
    const metaIn = (file: string, marker: string) => {
      const db = new DatabaseSync(file, { readOnly: true });
      try {
        return db.prepare("SELECT value FROM meta WHERE key = ?").get(marker) !== undefined;
      } finally {
        db.close();
      }
    };
    const backupFile = join(tmp.dir, "oracle-backup.db");
    walImage(backupFile, join(crashed, "oracle.db"), "crashed-commit");
    const withWal = join(tmp.dir, "with-wal.db");
    walImage(backupFile, withWal, "backup-commit");

    const crashedConfig = join(tmp.dir, "crashed.json");
    writeFileSync(crashedConfig, JSON.stringify({ dataDir: crashed }));
    const restored = await runOracleCli(["restore", withWal, "--config", crashedConfig], {});
    assert.equal(restored.code, 0, restored.stderr);
    const { previous } = JSON.parse(restored.stdout) as { previous: string };
    assert.ok(metaIn(previous, "crashed-commit"), "the replaced database kept the commit its WAL held");
    assert.ok(!existsSync(`${previous}-wal`) || statSync(`${previous}-wal`).size === 0);
    const db = join(crashed, "oracle.db");
    assert.ok(!existsSync(`${db}-wal`), "no WAL beside the restored database");
    assert.ok(metaIn(db, "backup-commit"), "the backup's own WAL was restored with it");
    assert.ok(!metaIn(db, "crashed-commit"), "and nothing of the replaced database");
    assert.deepEqual(
      readdirSync(crashed).filter((f) => f.includes("restoring")),
      [],
      "no temporary file left",
    );
  });

  test("restore onto a fresh host makes the data dir, as start does, and puts the backup in it; a backup path given wrong makes nothing", async () => {
    const fresh = join(tmp.dir, "fresh-host", "srv", "oracle");
    const freshConfig = join(tmp.dir, "fresh.json");
    writeFileSync(freshConfig, JSON.stringify({ dataDir: fresh }));
    const restore = (backup: string) => runOracleCli(["restore", backup, "--config", freshConfig], {});

    const typo = await restore(join(tmp.dir, "oracle-bakup.db"));
    assert.equal(typo.code, 1);
    assert.match(typo.stderr, /no backup at .*oracle-bakup\.db: give the file `backup` wrote/);
    assert.ok(!existsSync(join(tmp.dir, "fresh-host")), "no data dir made for a backup that is not there");

    const backupFile = join(tmp.dir, "oracle-backup.db"); // the first test's
    const r = await restore(backupFile);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`made the data directory ${fresh}`));
    const report = JSON.parse(r.stdout) as { database: string; previous: string | null; readings: number };
    assert.equal(report.database, join(fresh, "oracle.db"));
    assert.equal(report.previous, null, "nothing replaced");
    assert.deepEqual(digestsIn(join(fresh, "oracle.db")), digestsIn(backupFile));
    // the mode `start` gives it: owner-only, whatever the umask; its parents the umask's
    assert.equal(statSync(fresh).mode & 0o777, 0o700);
    const probe = join(tmp.dir, "mode-probe");
    mkdirSync(probe);
    assert.equal(statSync(dirname(fresh)).mode & 0o777, statSync(probe).mode & 0o777);
    assert.deepEqual(
      readdirSync(fresh).filter((f) => f.includes("restoring")),
      [],
      "no temporary file left",
    );
    // the node's own commands take it as its data dir
    const status = await runOracleCli(["status", "--config", freshConfig], {});
    assert.equal(status.code, 0, status.stderr);
    assert.equal((JSON.parse(status.stdout) as { storage: string }).storage, join(fresh, "oracle.db"));
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

  test("on a file system without hard links (an SMB share, some FUSE mounts) backup and restore fall back to rename and copy", () => {
    // Stands for such a mount, which cannot be mounted here: link(2) answers EPERM, as those do.
    // The modules import linkSync by name; syncBuiltinESMExports carries the patch to them.
    const link = fs.linkSync;
    fs.linkSync = () => {
      throw Object.assign(new Error("EPERM: operation not permitted, link"), { code: "EPERM" });
    };
    syncBuiltinESMExports();
    try {
      const source = join(tmp.dir, "oracle-backup.db"); // the first test's backup: a node's database
      const share = join(tmp.dir, "share");
      mkdirSync(share);
      const target = join(share, "nightly.db");
      const made = backupDatabase({ source, target });
      assert.equal(made.readings, digestsIn(source).size);
      assert.deepEqual(digestsIn(target), digestsIn(source));
      assert.throws(() => backupDatabase({ source, target }), /nightly\.db exists: give another path, or --force/);
      assert.deepEqual(readdirSync(share), ["nightly.db"], "no temporary file left");

      const node = join(tmp.dir, "no-links");
      mkdirSync(node);
      const database = join(node, "oracle.db");
      const old = new DatabaseSync(database);
      old.exec("CREATE TABLE readings (digest TEXT); INSERT INTO readings VALUES ('0xold')");
      old.close();
      const r = restoreDatabase({ backup: target, database });
      assert.ok(r.previous, "the replaced database is kept");
      assert.notEqual(statSync(r.previous).ino, statSync(database).ino);
      assert.deepEqual(digestsIn(r.previous), new Set(["0xold"]), "kept as a copy");
      assert.deepEqual(digestsIn(database), digestsIn(source), "the backup is in place");
    } finally {
      fs.linkSync = link;
      syncBuiltinESMExports();
    }
  });
});

describe("backup --content on a disk that fills up", () => {
  const tmp = tempDir();
  const dir = join(tmp.dir, "small-disk");
  mkdirSync(dir);
  // a real full disk: a 1 MiB tmpfs answers write(2) as a full disk does, writing what fits (a
  // short write) and ENOSPC at the next call. Mounting needs root (CI runs as root)
  const mounted = spawnSync("mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", dir]).status === 0;
  after(() => {
    if (mounted) spawnSync("umount", ["-l", dir]);
    tmp.cleanup();
  });

  test(
    "a file cut short by the full disk is not put in place nor counted: the error says what to do, and once there is room the next backup copies it whole",
    { skip: mounted ? false : "mounting a small tmpfs needs root" },
    async () => {
      const small = randomBytes(100_000);
      const large = randomBytes(1_500_000); // more than the disk holds: the first write(2) writes part of it
      const blocks = new Map([small, large].map((b) => [rawCid(b), b]));
      const content = join(dir, "content");
      const backup = () => backupContent({ cids: [...blocks.keys()], dir: content, read: async (c) => blocks.get(c)! });
      await assert.rejects(backup(), (err: Error) => {
        assert.match(
          err.message,
          new RegExp(
            `cannot write ${join(content, rawCid(large))} \\(ENOSPC.*\\): free space on the disk of ${content} and run backup again \\(the 1 file\\(s\\) copied before it stay, and are not copied again\\)`,
          ),
        );
        return true;
      });
      assert.deepEqual(
        readdirSync(content),
        [rawCid(small)],
        "the cut-short file is not there, nor its temporary file",
      );
      assert.deepEqual(readFileSync(join(content, rawCid(small))), small);

      spawnSync("mount", ["-o", "remount,size=4m", dir]);
      const report = await backup();
      assert.deepEqual([report.copied, report.present, report.missing], [1, 1, []]);
      assert.deepEqual(readFileSync(join(content, rawCid(large))), large);
    },
  );

  test("a write that writes part of what it is given (as write(2) may) is called again for the rest", () => {
    // stands for write(2) on a disk filling up, where it writes what fits: a wrapper of the real
    // writeSync that writes at most 1,000 bytes a call
    const bytes = randomBytes(10_500);
    const file = join(tmp.dir, "short-writes");
    let calls = 0;
    writeDurably(file, bytes, (fd, b, at, n) => (calls++, fs.writeSync(fd, b, at, Math.min(n, 1000))));
    assert.equal(calls, 11);
    assert.deepEqual(readFileSync(file), bytes);
  });
});
