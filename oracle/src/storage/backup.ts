/**
 * Backing up and restoring a node's SQLite database (`carbonproof-oracle backup` and `restore`).
 *
 * A backup is SQLite's `VACUUM INTO`: one read transaction, so the copy is a consistent snapshot
 * of every commit before it began, taken while the node runs (WAL readers do not block its
 * writer). It is written under a temporary name beside the target, synced (VACUUM INTO does not
 * sync), checked (`PRAGMA quick_check`), and only then renamed to the target: a backup cut short
 * by a crash or a full disk never stands under the target's name.
 *
 * A restore puts a backup back as `dataDir/oracle.db`, the node stopped. The database it replaces
 * is kept beside it with its `-wal` and `-shm` files, renamed together: a WAL file left behind
 * would be applied to the restored database at the next open and corrupt it, and it may hold
 * commits the main file does not.
 */
import {
  closeSync,
  existsSync,
  fsyncSync,
  openSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
  copyFileSync,
} from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { DatabaseSync } from "node:sqlite";

/** What a backup or a restore holds, counted in the copy itself. */
export type DatabaseCounts = {
  readings: number;
  batches: number;
  deadLetters: number;
  apiKeys: number;
  evidence: number;
};

/** The tables every node database has; a file without them is not one. */
const NODE_TABLES = ["readings", "batches", "dead_letters", "api_keys", "evidence", "meta"];

const SQLITE_MAGIC = "SQLite format 3\u0000";

/** Throws, saying what the file is, unless `file` starts like a SQLite database. */
function assertSqliteFile(file: string, what: string): void {
  const fd = openSync(file, "r");
  try {
    const head = Buffer.alloc(16);
    const n = readSync(fd, head, 0, 16, 0);
    if (n < 16 || head.toString("latin1") !== SQLITE_MAGIC)
      throw new Error(`${what} ${file} is not a SQLite database: give a node's database or a backup of one`);
  } finally {
    closeSync(fd);
  }
}

/**
 * Opens `file` read-only and checks it: SQLite's quick_check, and the node's tables; returns the
 * row counts. Throws, naming the file and what is wrong, otherwise.
 */
export function checkNodeDatabase(file: string, what = "the database"): DatabaseCounts {
  assertSqliteFile(file, what);
  const db = new DatabaseSync(file, { readOnly: true });
  try {
    const check = db.prepare("PRAGMA quick_check").all() as { quick_check: string }[];
    const problems = check.map((r) => r.quick_check).filter((r) => r !== "ok");
    if (problems.length)
      throw new Error(`${what} ${file} fails SQLite's quick_check: ${problems.slice(0, 3).join("; ")}`);
    const tables = new Set(
      (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[]).map(
        (r) => r.name,
      ),
    );
    const missing = NODE_TABLES.filter((t) => !tables.has(t));
    if (missing.length)
      throw new Error(
        `${what} ${file} is a SQLite database but not a node's: it has no ${missing.join(", ")} table${missing.length > 1 ? "s" : ""}`,
      );
    const count = (table: string) =>
      Number((db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n);
    return {
      readings: count("readings"),
      batches: count("batches"),
      deadLetters: count("dead_letters"),
      apiKeys: count("api_keys"),
      evidence: count("evidence"),
    };
  } finally {
    db.close();
  }
}

/** Syncs a file's data, and a directory's entries (a rename is durable once its directory is synced). */
function fsyncPath(path: string): void {
  const fd = openSync(path, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export type BackupReport = DatabaseCounts & { backup: string; source: string; bytes: number; tookMs: number };

/**
 * A consistent copy of the node database `source` at `target` (see the module's comment). Refuses
 * a target that exists unless `force`, a target that is the source or one of its files, and a
 * target directory that does not exist.
 */
export function backupDatabase(opts: { source: string; target: string; force?: boolean }): BackupReport {
  const source = resolve(opts.source);
  const target = resolve(opts.target);
  const started = performance.now();
  if (!existsSync(source))
    throw new Error(`no database at ${source}: check dataDir (or --config), or start the node once to create it`);
  if ([source, `${source}-wal`, `${source}-shm`, `${source}-journal`].includes(target))
    throw new Error(`${target} is the node's own database: give the backup another path`);
  if (!existsSync(dirname(target))) throw new Error(`no directory ${dirname(target)} for the backup: create it first`);
  if (existsSync(target) && !opts.force)
    throw new Error(`${target} exists: give another path, or --force to replace it`);
  checkNodeDatabase(source, "the node's database");

  const temp = join(dirname(target), `.${basename(target)}.${process.pid}.partial`);
  rmSync(temp, { force: true });
  const db = new DatabaseSync(source);
  try {
    // a node's writer holds its lock for one group commit at a time; a backup waits for none
    // (it reads), but the first read of a WAL database may wait for a checkpoint's lock
    db.exec("PRAGMA busy_timeout = 10000");
    db.prepare("VACUUM INTO ?").run(temp);
  } catch (err) {
    rmSync(temp, { force: true });
    const e = err as NodeJS.ErrnoException & { errcode?: number };
    // SQLITE_FULL (13): the disk the backup goes to is full
    if (e.errcode === 13 || /full/i.test(e.message))
      throw new Error(`the disk of ${dirname(target)} is full: free space there, or back up to another disk`, {
        cause: err,
      });
    throw new Error(`the backup of ${source} failed: ${e.message}`, { cause: err });
  } finally {
    db.close();
  }
  let counts: DatabaseCounts;
  try {
    fsyncPath(temp);
    counts = checkNodeDatabase(temp, "the backup");
    renameSync(temp, target);
    fsyncPath(dirname(target));
  } catch (err) {
    rmSync(temp, { force: true });
    throw err;
  }
  return {
    backup: target,
    source,
    bytes: statSync(target).size,
    ...counts,
    tookMs: Math.round(performance.now() - started),
  };
}

export type RestoreReport = DatabaseCounts & { restored: string; database: string; previous: string[] };

/**
 * Puts the backup `backup` in place as the node database `database` (the node stopped: the caller
 * checks). The database it replaces, with its -wal and -shm files, is renamed to
 * `<name>.replaced-<time>` beside it, never deleted.
 */
export function restoreDatabase(opts: { backup: string; database: string; nowMs?: number }): RestoreReport {
  const backup = resolve(opts.backup);
  const database = resolve(opts.database);
  if (!existsSync(backup)) throw new Error(`no backup at ${backup}: give the file \`backup\` wrote`);
  if (backup === database) throw new Error(`${backup} is the node's own database: give a backup of it`);
  const counts = checkNodeDatabase(backup, "the backup");
  if (!existsSync(dirname(database))) throw new Error(`no data directory ${dirname(database)}: create it first`);

  // the copy first, under a temporary name: a full disk fails here, with the node's database untouched
  const temp = `${database}.restoring`;
  try {
    copyFileSync(backup, temp);
    fsyncPath(temp);
  } catch (err) {
    rmSync(temp, { force: true });
    throw new Error(`the restore of ${backup} failed, nothing replaced: ${(err as Error).message}`, { cause: err });
  }
  const stamp = new Date(opts.nowMs ?? Date.now()).toISOString().replace(/[:.]/g, "-");
  const moved: [from: string, to: string][] = [];
  try {
    for (const suffix of ["", "-wal", "-shm", "-journal"]) {
      const from = `${database}${suffix}`;
      if (!existsSync(from)) continue;
      const to = `${database}.replaced-${stamp}${suffix}`;
      renameSync(from, to);
      moved.push([from, to]);
    }
    renameSync(temp, database);
    fsyncPath(dirname(database));
  } catch (err) {
    // put back what was moved: the node's database as it was
    for (const [from, to] of moved.reverse()) if (!existsSync(from)) renameSync(to, from);
    rmSync(temp, { force: true });
    throw new Error(`the restore of ${backup} failed, nothing replaced: ${(err as Error).message}`, { cause: err });
  }
  return { restored: backup, database, previous: moved.map(([, to]) => to), ...counts };
}
