/**
 * `carbonproof-oracle copy-from-sqlite`: moves a node's embedded SQLite database into an empty
 * PostgreSQL database, the path from the local stack to DESIGN.md's production storage.
 *
 * - **All or nothing.** The whole copy is one PostgreSQL transaction holding the writers' advisory
 *   lock (`WRITE_LOCK_KEY`): a copy that fails, is interrupted or loses its connection leaves the
 *   target as it was, and can simply be run again. The SQLite file is only read, once brought
 *   to this node's schema as a start of the node would.
 * - **Nothing renumbered.** Every row keeps its key: batch ids (attestations and corrections point
 *   at them), a reading's `rowid` (commit order, which the bundle cursor follows) and the ids of
 *   dead letters, API keys and heartbeats. Each sequence then starts after the largest id SQLite
 *   ever gave (`sqlite_sequence`), so an id is never handed out twice.
 * - **Checked before it commits.** Row counts, and a SHA-256 over every row of every table read
 *   back from PostgreSQL, must equal the same taken from SQLite; any difference rolls it all back.
 * - **Columns matched by name, not by a list here:** every column PostgreSQL's schema has must be
 *   in SQLite's and the other way round (a reading's `rowid` is SQLite's implicit one), so a schema
 *   change that one of the two misses is refused, naming the column, instead of dropping data.
 */
import { DatabaseSync } from "node:sqlite";
import { createHash, type Hash } from "node:crypto";
import { existsSync } from "node:fs";
import { PgBridge } from "./pg-bridge.ts";
import { urlForMessages } from "../url-scrub.ts";
import { PostgresStorage, WRITE_LOCK_KEY } from "./postgres.ts";
import { SqliteStorage } from "./sqlite.ts";

export class CopyError extends Error {
  readonly code: "NO_SOURCE" | "NOT_EMPTY" | "SCHEMA_MISMATCH" | "MISMATCH" | "ROW_REJECTED";
  constructor(code: CopyError["code"], message: string, opts?: { cause?: unknown }) {
    super(message, opts);
    this.name = "CopyError";
    this.code = code;
  }
}

export type CopyPhase = "copy" | "verify";
export type CopyProgress = (p: { phase: CopyPhase; table: string; done: number; total: number }) => void;

export type CopyReport = {
  /** rows copied per table, in copy order */
  tables: Record<string, number>;
  /** SHA-256 over each table's rows, equal on both sides */
  sha256: Record<string, string>;
};

type Column = { name: string; type: string };
type TablePlan = { table: string; columns: Column[]; key: string; keyIsText: boolean; serial: boolean };

/** Rows per INSERT, and the bytes of text at which a chunk is sent early (evidence-sized payloads). */
const CHUNK_ROWS = 1000;
const CHUNK_BYTES = 8 * 1024 * 1024;
/** `batches` first: readings and corrections refer to batch ids (in id order a correction follows its batch). */
const FIRST = ["batches"];
const INTEGER_TYPES = new Set(["bigint", "integer", "smallint"]);

/**
 * One value in the form both sides agree on: integers as decimal text (SQLite gives bigints,
 * PostgreSQL BIGINT as text and INTEGER as a number), floats as JavaScript prints them, NULL apart.
 */
function canonical(type: string, v: unknown): string | null {
  if (v === null || v === undefined) return null;
  if (INTEGER_TYPES.has(type) && (typeof v === "bigint" || Number.isInteger(v) || /^-?[0-9]+$/.test(String(v))))
    return BigInt(v as bigint | number | string).toString();
  if (type === "double precision" || type === "real") return String(Number(v));
  return String(v);
}

function hashRow(hash: Hash, plan: TablePlan, row: Record<string, unknown>): void {
  hash.update(JSON.stringify(plan.columns.map((c) => canonical(c.type, row[c.name]))));
  hash.update("\n");
}

/**
 * Copies the SQLite database at `file` into the PostgreSQL database at `url`, which must hold no
 * CarbonProof rows (its schema is made if missing). Synchronous, as the storage is; `onProgress`
 * is called every chunk.
 */
export function copySqliteToPostgres(opts: {
  file: string;
  url: string;
  onProgress?: CopyProgress;
  chunkRows?: number;
  /** copy and check everything, then roll back: a rehearsal that leaves the target as it was */
  dryRun?: boolean;
}): CopyReport {
  const where = urlForMessages(opts.url, "storage.url");
  if (!existsSync(opts.file)) throw new CopyError("NO_SOURCE", `no SQLite database at ${opts.file}`);
  // brings the file to this node's schema (as a start of the node would), then only reads it
  try {
    new SqliteStorage(opts.file).close();
  } catch (err) {
    throw new CopyError(
      "NO_SOURCE",
      `${opts.file} cannot be opened as a node's SQLite database (${(err as Error).message}): give the old node's dataDir/oracle.db`,
      { cause: err },
    );
  }
  new PostgresStorage(opts.url).close();
  const db = new DatabaseSync(opts.file, { readOnly: true });
  const pg = new PgBridge(opts.url, { applicationName: "carbonproof-oracle copy-from-sqlite", timeoutMs: 600_000 });
  // A sequence's setval is not undone by ROLLBACK (nor is nextval): each sequence's state before
  // the copy, put back by setval when the copy rolls back (a dry run, a failure), so that the
  // target is left as it was and its first ids are not those after SQLite's. A failed statement
  // aborts the transaction, so a failure goes back to the savepoint taken after the sequences
  // were read (the advisory lock, taken before it, still held) and puts them back from there.
  let sequences: { name: string; lastValue: string; isCalled: boolean }[] = [];
  let saved = false;
  const putSequencesBack = () => {
    for (const q of sequences) pg.query(`SELECT setval($1::regclass, $2, $3)`, [q.name, q.lastValue, q.isCalled]);
  };
  try {
    pg.query("BEGIN");
    try {
      pg.query(`SELECT pg_advisory_xact_lock(${WRITE_LOCK_KEY})`);
      const plans = plan(db, pg);
      for (const p of plans) {
        const rows = pg.query(`SELECT 1 AS one FROM ${p.table} LIMIT 1`).rows;
        if (rows.length > 0)
          throw new CopyError(
            "NOT_EMPTY",
            `${where} already holds CarbonProof data (table ${p.table} has rows): copy into an empty database, or drop and recreate this one`,
          );
      }
      sequences = plans
        .filter((p) => p.serial)
        .map((p) => {
          const name = String(
            pg.query(`SELECT pg_get_serial_sequence($1, $2) AS name`, [p.table, p.key]).rows[0]!.name,
          );
          // the name PostgreSQL gives is quoted where it must be
          const state = pg.query(`SELECT last_value::text AS last_value, is_called FROM ${name}`).rows[0]!;
          return { name, lastValue: String(state.last_value), isCalled: state.is_called === true };
        });
      pg.query("SAVEPOINT carbonproof_copy_sequences");
      saved = true;
      // SQLite's side is read in one read transaction: a consistent snapshot, even of a WAL file
      db.exec("BEGIN");
      const report: CopyReport = { tables: {}, sha256: {} };
      try {
        for (const p of plans) {
          const copied = copyTable(db, pg, p, opts.chunkRows ?? CHUNK_ROWS, opts.onProgress);
          const back = readBack(pg, p, opts.chunkRows ?? CHUNK_ROWS, copied.count, opts.onProgress);
          if (back.count !== copied.count || back.sha256 !== copied.sha256)
            throw new CopyError(
              "MISMATCH",
              `table ${p.table}: PostgreSQL holds ${back.count} rows (SHA-256 ${back.sha256.slice(0, 16)}…) after ${copied.count} were copied from SQLite (${copied.sha256.slice(0, 16)}…): nothing was committed`,
            );
          if (p.serial) setSequence(db, pg, p);
          report.tables[p.table] = copied.count;
          report.sha256[p.table] = copied.sha256;
        }
      } finally {
        db.exec("COMMIT");
      }
      if (opts.dryRun) {
        putSequencesBack();
        pg.query("ROLLBACK");
      } else pg.query("COMMIT");
      return report;
    } catch (err) {
      try {
        if (saved) {
          pg.query("ROLLBACK TO SAVEPOINT carbonproof_copy_sequences");
          putSequencesBack();
        }
      } catch (seqErr) {
        // the connection is gone: the sequences stay where the copy set them, which a later copy
        // sets again; only a node started on the empty target would begin its ids after SQLite's
        if (err instanceof Error)
          err.message += `; the target's id sequences could not be put back as they were (${(seqErr as Error).message}): a copy run again sets them`;
      }
      try {
        pg.query("ROLLBACK");
      } catch {
        // the connection is gone: the server rolled the transaction back
      }
      throw err;
    }
  } finally {
    pg.close();
    db.close();
  }
}

/** The tables to copy, their columns as PostgreSQL types them, and the key each is read in order of. */
function plan(db: DatabaseSync, pg: PgBridge): TablePlan[] {
  const pgTables = pg
    .query(
      `SELECT table_name FROM information_schema.tables
       WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' AND table_name <> 'carbonproof_schema'`,
    )
    .rows.map((r) => String(r.table_name));
  const sqliteTables = (
    db
      .prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`)
      .all() as { name: string }[]
  ).map((r) => r.name);
  const onlyPg = pgTables.filter((t) => !sqliteTables.includes(t));
  const onlySqlite = sqliteTables.filter((t) => !pgTables.includes(t));
  if (onlyPg.length > 0 || onlySqlite.length > 0)
    throw new CopyError(
      "SCHEMA_MISMATCH",
      `the two schemas differ: ${[...onlySqlite.map((t) => `table ${t} only in SQLite`), ...onlyPg.map((t) => `table ${t} only in PostgreSQL`)].join(", ")}; nothing was copied`,
    );
  const ordered = [...FIRST.filter((t) => pgTables.includes(t)), ...pgTables.filter((t) => !FIRST.includes(t)).sort()];
  return ordered.map((table) => {
    const columns = pg
      .query(
        `SELECT column_name, data_type FROM information_schema.columns
         WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position`,
        [table],
      )
      .rows.map((r) => ({ name: String(r.column_name), type: String(r.data_type) }));
    const inSqlite = new Set(
      (db.prepare(`SELECT name FROM pragma_table_info(?)`).all(table) as { name: string }[]).map((r) => r.name),
    );
    const missing = columns.filter((c) => !inSqlite.has(c.name) && c.name !== "rowid").map((c) => c.name);
    const extra = [...inSqlite].filter((n) => !columns.some((c) => c.name === n));
    if (missing.length > 0 || extra.length > 0)
      throw new CopyError(
        "SCHEMA_MISMATCH",
        `table ${table}: ${[...missing.map((c) => `column ${c} only in PostgreSQL`), ...extra.map((c) => `column ${c} only in SQLite`)].join(", ")}; nothing was copied`,
      );
    const pk = pg.query(
      `SELECT a.attname AS name, pg_get_serial_sequence($1, a.attname) IS NOT NULL AS serial
       FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
       WHERE i.indrelid = $1::regclass AND i.indisprimary`,
      [table],
    ).rows;
    if (pk.length !== 1) throw new CopyError("SCHEMA_MISMATCH", `table ${table} has no single-column primary key`);
    const key = String(pk[0]!.name);
    const keyType = columns.find((c) => c.name === key)!.type;
    return { table, columns, key, keyIsText: !INTEGER_TYPES.has(keyType), serial: pk[0]!.serial === true };
  });
}

function copyTable(
  db: DatabaseSync,
  pg: PgBridge,
  p: TablePlan,
  chunkRows: number,
  onProgress?: CopyProgress,
): { count: number; sha256: string } {
  const total = Number((db.prepare(`SELECT COUNT(*) AS n FROM ${p.table}`).get() as { n: number }).n);
  const select = db.prepare(
    `SELECT ${p.columns.map((c) => (c.name === "rowid" ? "rowid AS rowid" : c.name)).join(", ")} FROM ${p.table} ORDER BY ${p.key}`,
  );
  select.setReadBigInts(true);
  const insert = `INSERT INTO ${p.table} (${p.columns.map((c) => c.name).join(", ")})
    SELECT * FROM unnest(${p.columns.map((c, i) => `$${i + 1}::${c.type}[]`).join(", ")})`;
  const hash = createHash("sha256");
  let chunk: Record<string, unknown>[] = [];
  let bytes = 0;
  let count = 0;
  const flush = () => {
    if (chunk.length === 0) return;
    const arrays = p.columns.map((c) =>
      chunk.map((r) => {
        const v = r[c.name];
        return typeof v === "bigint" ? v.toString() : (v ?? null);
      }),
    );
    let inserted: number;
    try {
      inserted = pg.query(insert, arrays).rowCount;
    } catch (err) {
      const first = chunk[0]![p.key];
      throw new CopyError(
        "ROW_REJECTED",
        `PostgreSQL refused rows of table ${p.table} from ${p.key} ${String(first)} on: ${(err as Error).message}; nothing was committed`,
        { cause: err },
      );
    }
    if (inserted !== chunk.length)
      throw new CopyError(
        "MISMATCH",
        `table ${p.table}: ${inserted} of ${chunk.length} rows inserted: nothing was committed`,
      );
    count += chunk.length;
    chunk = [];
    bytes = 0;
    onProgress?.({ phase: "copy", table: p.table, done: count, total });
  };
  for (const row of select.iterate() as Iterable<Record<string, unknown>>) {
    hashRow(hash, p, row);
    chunk.push(row);
    for (const c of p.columns) {
      const v = row[c.name];
      if (typeof v === "string") bytes += v.length;
    }
    if (chunk.length >= chunkRows || bytes >= CHUNK_BYTES) flush();
  }
  flush();
  if (total === 0) onProgress?.({ phase: "copy", table: p.table, done: 0, total });
  return { count, sha256: hash.digest("hex") };
}

/** Every row of the table as PostgreSQL now holds it, in key order (bytewise for text, as SQLite). */
function readBack(
  pg: PgBridge,
  p: TablePlan,
  chunkRows: number,
  total: number,
  onProgress?: CopyProgress,
): { count: number; sha256: string } {
  const hash = createHash("sha256");
  const order = p.keyIsText ? `${p.key} COLLATE "C"` : p.key;
  const cursor = `carbonproof_copy_${p.table}`;
  pg.query(
    `DECLARE ${cursor} NO SCROLL CURSOR FOR SELECT ${p.columns.map((c) => c.name).join(", ")} FROM ${p.table} ORDER BY ${order}`,
    [],
    true,
  );
  let count = 0;
  for (;;) {
    const rows = pg.query(`FETCH ${chunkRows} FROM ${cursor}`, [], true).rows;
    for (const row of rows) hashRow(hash, p, row);
    count += rows.length;
    if (rows.length > 0) onProgress?.({ phase: "verify", table: p.table, done: count, total });
    if (rows.length < chunkRows) break;
  }
  pg.query(`CLOSE ${cursor}`, [], true);
  return { count, sha256: hash.digest("hex") };
}

/** The table's sequence continues after the largest id SQLite gave (kept in sqlite_sequence for AUTOINCREMENT). */
function setSequence(db: DatabaseSync, pg: PgBridge, p: TablePlan): void {
  const bigint = (sql: string, ...args: string[]): bigint => {
    const st = db.prepare(sql);
    st.setReadBigInts(true);
    return (st.get(...args) as { n: bigint | null } | undefined)?.n ?? 0n;
  };
  const largest = bigint(`SELECT MAX(${p.key}) AS n FROM ${p.table}`);
  // sqlite_sequence exists once a table with AUTOINCREMENT does
  const given = db.prepare(`SELECT 1 FROM sqlite_master WHERE name = 'sqlite_sequence'`).get()
    ? bigint(`SELECT seq AS n FROM sqlite_sequence WHERE name = ?`, p.table)
    : 0n;
  const last = largest > given ? largest : given;
  // is_called false with 1: the next id is 1, as on a new table
  pg.query(`SELECT setval(pg_get_serial_sequence($1, $2), $3, $4)`, [
    p.table,
    p.key,
    last > 0n ? last.toString() : "1",
    last > 0n,
  ]);
}
