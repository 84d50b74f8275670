/**
 * Backing up and restoring a node's SQLite database (`carbonproof-oracle backup` and `restore`).
 *
 * A backup is SQLite's `VACUUM INTO` on a read-only connection: one read transaction, so the copy
 * is a consistent snapshot of every commit before it began, taken while the node runs (a WAL
 * reader blocks no writer). It is written under a temporary name beside the target, synced
 * (VACUUM INTO does not sync), checked (`PRAGMA quick_check`), and only then put under the
 * target's name: a backup cut short by a crash or a full disk never stands there.
 *
 * A restore puts a backup back as `dataDir/oracle.db`, the node stopped. The copy is made first,
 * beside it, by VACUUM INTO from the backup (so a backup with a WAL of its own is copied whole)
 * and checked. The database it replaces is checkpointed into its main file (its WAL emptied and
 * removed), kept under `oracle.db.replaced-TIME` by a hard link (a copy where the file system has
 * none), and then the copy is renamed over
 * `oracle.db` in one step: at every moment `oracle.db` is either the old database or the
 * restored one, and no WAL of the old one is ever left beside the new one (SQLite would apply it
 * at the next open and corrupt the file).
 */
import {
  closeSync,
  constants as fsConstants,
  copyFileSync,
  existsSync,
  fsyncSync,
  linkSync,
  openSync,
  readdirSync,
  readSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  unlinkSync,
} from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { processAlive } from "../pid.ts";

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

/** SQLite's result code for a full disk (its own, or its temporary directory's). */
const SQLITE_FULL = 13;

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
 * Checks `file` read-only: a SQLite file with the node's tables, and (`quickCheck`) SQLite's
 * quick_check; returns its row counts. Throws, naming the file and what is wrong, otherwise.
 */
export function checkNodeDatabase(file: string, what = "the database", quickCheck = true): DatabaseCounts {
  assertSqliteFile(file, what);
  const db = new DatabaseSync(file, { readOnly: true });
  try {
    if (quickCheck) {
      const check = db.prepare("PRAGMA quick_check").all() as { quick_check: string }[];
      const problems = check.map((r) => r.quick_check).filter((r) => r !== "ok");
      if (problems.length)
        throw new Error(`${what} ${file} fails SQLite's quick_check: ${problems.slice(0, 3).join("; ")}`);
    }
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

/** Syncs a file's data, or a directory's entries (a rename is durable once its directory is synced). */
export function fsyncPath(path: string): void {
  const fd = openSync(path, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Syncs the parent of each directory from `dir` up to `made` (the first directory `mkdirSync`
 * with `recursive` made): a directory is on disk once its entry in its parent is.
 */
export function fsyncMadeDirs(dir: string, made: string): void {
  for (let d = resolve(dir); ; d = dirname(d)) {
    fsyncPath(dirname(d));
    if (d === resolve(made) || dirname(d) === d) break;
  }
}

/** A path with its directory's symbolic links resolved (the file itself need not exist). */
function realPath(path: string): string {
  return join(realpathSync(dirname(path)), basename(path));
}

/** Whether `a` and `b` name the same file: the same real path, or the same inode. */
function sameFile(a: string, b: string): boolean {
  if (realPath(a) === realPath(b)) return true;
  if (!existsSync(a) || !existsSync(b)) return false;
  const sa = statSync(a);
  const sb = statSync(b);
  return sa.dev === sb.dev && sa.ino === sb.ino;
}

/** A temporary file beside `file` that belongs to this process: `.NAME.PID.TAG`. */
function tempBeside(file: string, tag: string): string {
  return join(dirname(file), `.${basename(file)}.${process.pid}.${tag}`);
}

/**
 * Removes the temporary files (`.NAME.PID.TAG`, with their -journal) beside `file` whose process
 * is gone (killed outright: a scheduled backup would otherwise leave one a run) or is this one;
 * leaves a live process's alone.
 */
function removeStaleTemps(file: string, tag: string): void {
  const prefix = `.${basename(file)}.`;
  for (const name of readdirSync(dirname(file))) {
    if (!name.startsWith(prefix)) continue;
    const m = /^(\d+)\.([a-z]+)(-journal)?$/.exec(name.slice(prefix.length));
    if (!m || m[2] !== tag) continue;
    const pid = Number(m[1]);
    if (pid === process.pid || !processAlive(pid)) rmSync(join(dirname(file), name), { force: true });
  }
}

/** VACUUM INTO `to` from the database `from` (read-only); a full disk says so. */
function vacuumInto(from: string, to: string, what: string): void {
  const db = new DatabaseSync(from, { readOnly: true });
  try {
    // the first read of a WAL database may wait for a checkpoint's lock
    db.exec("PRAGMA busy_timeout = 10000");
    db.prepare("VACUUM INTO ?").run(to);
  } catch (err) {
    rmSync(to, { force: true });
    const e = err as Error & { errcode?: number };
    if (e.errcode === SQLITE_FULL)
      throw new Error(
        `${what} failed: a disk is full (SQLITE_FULL), the one of ${dirname(to)} or SQLite's temporary directory; free space, or write to another disk`,
        { cause: err },
      );
    throw new Error(`${what} failed: ${e.message}`, { cause: err });
  } finally {
    db.close();
  }
}

/**
 * A synced and checked VACUUM INTO copy of `from`, in this process's temporary file beside
 * `beside` (the stale ones of dead processes removed first); the copy removed if anything fails.
 */
function checkedCopy(
  from: string,
  beside: string,
  tag: string,
  what: string,
  checkedAs: string,
): { temp: string; counts: DatabaseCounts } {
  removeStaleTemps(beside, tag);
  const temp = tempBeside(beside, tag);
  vacuumInto(from, temp, what);
  try {
    fsyncPath(temp);
    return { temp, counts: checkNodeDatabase(temp, checkedAs) };
  } catch (err) {
    rmSync(temp, { force: true });
    throw err;
  }
}

export type BackupReport = DatabaseCounts & { backup: string; source: string; bytes: number; tookMs: number };

/**
 * A consistent copy of the node database `source` at `target` (see the module's comment). Refuses
 * a target that exists unless `force`, a target that is the source or one of its files (through
 * a symbolic link too), and a target directory that does not exist.
 */
export function backupDatabase(opts: { source: string; target: string; force?: boolean }): BackupReport {
  const source = resolve(opts.source);
  const target = resolve(opts.target);
  const started = performance.now();
  if (!existsSync(source))
    throw new Error(`no database at ${source}: check dataDir (or --config), or start the node once to create it`);
  if (!existsSync(dirname(target))) throw new Error(`no directory ${dirname(target)} for the backup: create it first`);
  if (["", "-wal", "-shm", "-journal"].some((s) => sameFile(`${source}${s}`, target)))
    throw new Error(`${target} is the node's own database: give the backup another path`);
  if (existsSync(target) && !opts.force)
    throw new Error(`${target} exists: give another path, or --force to replace it`);
  // the source's tables only: its quick_check would read it all twice; the copy is checked
  checkNodeDatabase(source, "the node's database", false);

  const { temp, counts } = checkedCopy(source, target, "partial", `the backup of ${source}`, "the backup");
  try {
    if (opts.force) renameSync(temp, target);
    else {
      // a link fails if the target appeared meanwhile: never replaced without --force
      const taken = (cause?: unknown) =>
        new Error(`${target} exists: give another path, or --force to replace it`, { cause });
      try {
        linkSync(temp, target);
        unlinkSync(temp);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "EEXIST") throw taken(err);
        if (!noHardLinks(err)) throw err;
        // a share without hard links (SMB, some FUSE mounts): checked, then renamed
        if (existsSync(target)) throw taken();
        renameSync(temp, target);
      }
    }
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

/** Whether a `link` failed because the file system has no hard links (not because the name is taken). */
function noHardLinks(err: unknown): boolean {
  return ["EPERM", "ENOTSUP", "EOPNOTSUPP", "ENOSYS", "EMLINK"].includes((err as NodeJS.ErrnoException).code ?? "");
}

/**
 * Keeps `file` under the new name `kept` as well: a hard link, or a synced copy (same mode) where
 * the file system has none (some FUSE and SMB mounts answer EPERM or ENOTSUP); a copy cut short
 * is removed. Backups and `keys rotate` keep the old file so.
 */
export function keepAs(file: string, kept: string): void {
  try {
    linkSync(file, kept);
  } catch (err) {
    if (!noHardLinks(err)) throw err;
    try {
      copyFileSync(file, kept, fsConstants.COPYFILE_EXCL);
      fsyncPath(kept);
    } catch (copyErr) {
      // a copy cut short is no copy (a name already taken is not this copy's to remove)
      if ((copyErr as NodeJS.ErrnoException).code !== "EEXIST") rmSync(kept, { force: true });
      throw copyErr;
    }
  }
}

export type RestoreReport = DatabaseCounts & { restored: string; database: string; previous: string | null };

/**
 * Puts the backup `backup` in place as the node database `database` (the node stopped: the caller
 * checks); see the module's comment. The database it replaces is kept as
 * `<name>.replaced-<time>`, never deleted.
 */
export function restoreDatabase(opts: { backup: string; database: string; nowMs?: number }): RestoreReport {
  const backup = resolve(opts.backup);
  const database = resolve(opts.database);
  if (!existsSync(backup)) throw new Error(`no backup at ${backup}: give the file \`backup\` wrote`);
  if (!existsSync(dirname(database))) throw new Error(`no data directory ${dirname(database)}: create it first`);
  if (["", "-wal", "-shm", "-journal"].some((s) => sameFile(`${database}${s}`, backup)))
    throw new Error(`${backup} is the node's own database: give a backup of it`);
  checkNodeDatabase(backup, "the backup", false);

  // 1. the copy, beside the database: a full disk fails here, the database untouched
  const { temp, counts } = checkedCopy(
    backup,
    database,
    "restoring",
    `the copy of ${backup}`,
    "the copy of the backup",
  );

  // 2. the database it replaces: its WAL checkpointed into its main file, then kept by a hard link
  let previous: string | null = null;
  try {
    if (existsSync(database)) {
      const old = new DatabaseSync(database);
      try {
        old.exec("PRAGMA busy_timeout = 10000");
        const r = old.prepare("PRAGMA wal_checkpoint(TRUNCATE)").get() as { busy: number } | undefined;
        if (r && r.busy !== 0)
          throw new Error(
            `${database} is in use by another connection (its WAL cannot be checkpointed): stop every process that has it open`,
          );
      } finally {
        old.close(); // the last connection: SQLite removes the emptied -wal and -shm
      }
      for (const s of ["-wal", "-journal"])
        if (existsSync(`${database}${s}`) && statSync(`${database}${s}`).size > 0)
          throw new Error(
            `${database}${s} still holds changes after the checkpoint: stop every process that has the database open`,
          );
      const stamp = new Date(opts.nowMs ?? Date.now()).toISOString().replace(/[:.]/g, "-");
      previous = `${database}.replaced-${stamp}`;
      keepAs(database, previous);
      fsyncPath(dirname(database));
    }
  } catch (err) {
    rmSync(temp, { force: true });
    throw new Error(`the restore of ${backup} failed, nothing replaced: ${(err as Error).message}`, { cause: err });
  }

  // 3. one rename puts the copy in place; an empty -wal or -shm of the old database goes with it
  renameSync(temp, database);
  for (const s of ["-wal", "-shm"]) rmSync(`${database}${s}`, { force: true });
  try {
    fsyncPath(dirname(database));
  } catch (err) {
    throw new Error(
      `${backup} is in place as ${database}, but its directory could not be synced (${(err as Error).message}): a power cut now could undo the restore; run it again`,
      { cause: err },
    );
  }
  return { restored: backup, database, previous, ...counts };
}
