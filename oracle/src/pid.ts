import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";

/** Whether process `pid` exists (EPERM: it does, as another user's). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** What holds a data dir: its pid and what it does ("start", "restore", "keys rotate"), as `oracle.pid` says. */
export type DataDirHolder = { pid: number | null; purpose: string | null };

/** The connections that hold this process's data dir locks: a lock lasts as long as its connection. */
const held = new Map<string, DatabaseSync>();

/** `dir`'s holder as its pid file names it (first line the pid, second what it does); nulls when unreadable. */
function holderIn(dir: string): DataDirHolder {
  try {
    const [pid, purpose] = readFileSync(join(dir, "oracle.pid"), "utf8").split("\n");
    const n = Number(pid?.trim());
    return { pid: Number.isInteger(n) && n > 0 ? n : null, purpose: purpose?.trim() || null };
  } catch {
    return { pid: null, purpose: null };
  }
}

/**
 * Takes the lock of the data dir `dir` for `purpose`, or returns who holds it. The lock is an
 * exclusive SQLite lock on `dir/oracle.lock` (a POSIX record lock underneath), so the kernel drops
 * it when its process ends, however it ends: a node killed outright leaves no stale lock, and no
 * pid can be reused to fake one. Once it holds the lock, the process writes its pid and purpose
 * to `dir/oracle.pid`, for the messages of those refused. A process refused never writes there.
 *
 * `release` gives the lock back and removes the pid file; a process that exits releases it too.
 * Two locks of one dir in one process exclude each other as well (SQLite tracks its own locks).
 */
export function lockDataDir(
  dir: string,
  purpose: string,
): { ok: true; release: () => void } | { ok: false; holder: DataDirHolder } {
  const file = join(dir, "oracle.lock");
  let db: DatabaseSync;
  try {
    db = new DatabaseSync(file, { timeout: 0 });
  } catch (err) {
    // no such directory, or one this user cannot write: SQLite says only "unable to open database file"
    throw new Error(
      `cannot take the lock ${file} (${(err as Error).message}): check that ${dir} exists and that this user can write it (dataDir in the config)`,
      { cause: err },
    );
  }
  try {
    db.exec("PRAGMA locking_mode = EXCLUSIVE"); // a lock once written is kept until the connection closes
    db.exec("BEGIN EXCLUSIVE");
    db.exec("CREATE TABLE IF NOT EXISTS taken (pid INTEGER NOT NULL, purpose TEXT NOT NULL, at_ms INTEGER NOT NULL)");
    db.prepare("INSERT INTO taken (pid, purpose, at_ms) VALUES (?, ?, ?)").run(process.pid, purpose, Date.now());
    db.exec("DELETE FROM taken WHERE rowid < (SELECT max(rowid) FROM taken)");
    db.exec("COMMIT");
  } catch (err) {
    db.close();
    const code = (err as { errcode?: number }).errcode;
    // SQLITE_BUSY (5), SQLITE_LOCKED (6): another connection holds the lock
    if (code === 5 || code === 6 || /database is locked|busy/i.test((err as Error).message))
      return { ok: false, holder: holderIn(dir) };
    throw new Error(`cannot take the lock ${file} (${(err as Error).message}): check that this user can write ${dir}`, {
      cause: err,
    });
  }
  held.set(file, db);
  writeFileSync(join(dir, "oracle.pid"), `${process.pid}\n${purpose}\n`);
  let released = false;
  return {
    ok: true,
    release: () => {
      if (released) return;
      released = true;
      if (holderIn(dir).pid === process.pid) rmSync(join(dir, "oracle.pid"), { force: true });
      held.delete(file);
      db.close();
    },
  };
}

/** "a node (pid 123)", "`restore` (pid 123)": who holds a data dir, for a refusal's message. */
export function describeHolder(h: DataDirHolder): string {
  const what = h.purpose === "start" ? "a node" : h.purpose ? `\`${h.purpose}\`` : "a process";
  return h.pid === null ? `${what} (pid unknown)` : `${what} (pid ${h.pid})`;
}
