/**
 * PostgreSQL: the node's production storage (DESIGN.md), the same logic as SQLite
 * (storage/sql-storage.ts) over a synchronous bridge to the `pg` client (storage/pg-bridge.ts).
 *
 * - Writers are serialised by one transaction-level advisory lock (`pg_advisory_xact_lock`),
 *   taken first by every write transaction, as SQLite's write lock serialises them: the batch a
 *   reading joins is looked up and created in one step no other writer interleaves with, and a
 *   reading's `rowid` (a BIGSERIAL) grows in commit order, which the bundle cursor relies on
 *   (batch/window-bundles.ts).
 * - A commit returns once PostgreSQL has flushed it: every session sets `synchronous_commit = on`
 *   and `default_transaction_isolation = 'read committed'` (storage/pg-bridge-worker.ts) over what
 *   the server, database or role set, so an acknowledged reading is on the server's disk, and a
 *   writer reads what the writer before it committed. `storage.synchronous` is SQLite's and does
 *   not apply.
 * - Text sorted by the database (a batch's readings in digest order, which is its Merkle leaf
 *   order) uses the "C" collation, bytewise as in SQLite, whatever the database's locale.
 */
import { IngestWriter } from "./ingest-writer.ts";
import { PgBridge, PgError } from "./pg-bridge.ts";
import { urlForMessages } from "../url-scrub.ts";
import {
  READING_COLUMNS,
  readingValues,
  showNul,
  SqlStorage,
  type ReadingRow,
  type Row,
  type SqlArg,
  type SqlDriver,
} from "./sql-storage.ts";

/** The advisory lock key every writer of a CarbonProof database takes (ASCII "CPwr"). */
export const WRITE_LOCK_KEY = 0x43507772;

/** Schema version N is PG_MIGRATIONS[0..N-1] applied in order (table `carbonproof_schema`). */
export const PG_MIGRATIONS: readonly string[] = [
  `
CREATE TABLE batches (
  id BIGSERIAL PRIMARY KEY,
  facility_id TEXT COLLATE "C" NOT NULL,
  period_start BIGINT NOT NULL,
  period_end BIGINT NOT NULL,
  correction_of_batch BIGINT REFERENCES batches(id),
  state TEXT NOT NULL,
  reading_count BIGINT NOT NULL DEFAULT 0,
  merkle_root TEXT,
  fossil_g TEXT,
  biogenic_g TEXT,
  methodology_id TEXT,
  factor_set_id TEXT,
  bundle_cid TEXT,
  header_json TEXT,
  attestation_id TEXT UNIQUE,
  signatures TEXT,
  tx_hash TEXT,
  tx_nonce BIGINT,
  tx_from TEXT,
  tx_raw TEXT,
  tx_sent_at_ms BIGINT,
  tx_hashes TEXT NOT NULL DEFAULT '[]',
  block_number BIGINT,
  error TEXT,
  abandoned_at_ms BIGINT,
  attempts BIGINT NOT NULL DEFAULT 0,
  next_attempt_at_ms BIGINT NOT NULL DEFAULT 0,
  created_at_ms BIGINT NOT NULL,
  updated_at_ms BIGINT NOT NULL
);
CREATE INDEX batches_state ON batches(state);
CREATE INDEX batches_facility_period ON batches(facility_id, period_start);
-- at most one regular batch per facility and period start, at most one open correction per regular batch
CREATE UNIQUE INDEX batches_regular ON batches(facility_id, period_start) WHERE correction_of_batch IS NULL;
CREATE UNIQUE INDEX batches_open_correction ON batches(correction_of_batch) WHERE correction_of_batch IS NOT NULL AND state = 'open';

CREATE TABLE readings (
  rowid BIGSERIAL PRIMARY KEY,
  digest TEXT COLLATE "C" NOT NULL UNIQUE,
  digest_key BIGINT NOT NULL,
  device_id TEXT COLLATE "C" NOT NULL,
  facility_id TEXT COLLATE "C" NOT NULL,
  seq BIGINT NOT NULL,
  ts BIGINT NOT NULL,
  kind TEXT NOT NULL,
  canonical TEXT NOT NULL,
  sig TEXT NOT NULL,
  key_id TEXT,
  source TEXT NOT NULL,
  received_at_ms BIGINT NOT NULL,
  anomaly_score DOUBLE PRECISION,
  flagged INTEGER NOT NULL DEFAULT 0,
  fossil_mg BIGINT NOT NULL,
  biogenic_mg BIGINT NOT NULL,
  methodology_id TEXT NOT NULL,
  factor_set_id TEXT NOT NULL,
  result_json TEXT NOT NULL,
  batch_id BIGINT NOT NULL REFERENCES batches(id),
  UNIQUE (device_id, seq)
);
CREATE INDEX readings_batch ON readings(batch_id);
CREATE INDEX readings_facility_ts ON readings(facility_id, ts);
CREATE INDEX readings_by_digest_key ON readings(digest_key);

CREATE TABLE dead_letters (
  id BIGSERIAL PRIMARY KEY,
  received_at_ms BIGINT NOT NULL,
  source TEXT NOT NULL,
  reason TEXT NOT NULL,
  detail TEXT NOT NULL,
  payload TEXT NOT NULL,
  device_id TEXT COLLATE "C",
  seq BIGINT,
  digest TEXT
);
CREATE INDEX dead_letters_reason ON dead_letters(reason, id);
CREATE INDEX dead_letters_device ON dead_letters(device_id, id);

CREATE TABLE api_keys (
  id BIGSERIAL PRIMARY KEY,
  label TEXT NOT NULL,
  scope TEXT NOT NULL,
  subject TEXT NOT NULL,
  hash TEXT NOT NULL UNIQUE,
  created_at_ms BIGINT NOT NULL,
  revoked_at_ms BIGINT
);

CREATE TABLE evidence (
  sha256 TEXT PRIMARY KEY,
  cid TEXT NOT NULL,
  filename TEXT NOT NULL,
  media_type TEXT NOT NULL,
  size_bytes BIGINT NOT NULL,
  facility_id TEXT NOT NULL,
  created_at_ms BIGINT NOT NULL
);

CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);

CREATE TABLE heartbeats (
  id BIGSERIAL PRIMARY KEY,
  device_id TEXT COLLATE "C" NOT NULL,
  facility_id TEXT COLLATE "C" NOT NULL,
  received_at_ms BIGINT NOT NULL,
  ts BIGINT,
  last_seq BIGINT,
  buffer_depth BIGINT,
  dropped BIGINT,
  rssi_dbm BIGINT,
  uptime_s BIGINT,
  fw TEXT,
  faults TEXT NOT NULL DEFAULT '[]',
  verified INTEGER NOT NULL
);
CREATE INDEX heartbeats_device ON heartbeats(device_id, received_at_ms);
`,
  // a heartbeat's held and heldDropped (SQLite's MIGRATION_6)
  `
ALTER TABLE heartbeats ADD COLUMN held BIGINT;
ALTER TABLE heartbeats ADD COLUMN held_dropped BIGINT;
`,
  // batches of a state in the order they last changed (SQLite's MIGRATION_7)
  `
CREATE INDEX batches_state_updated ON batches(state, updated_at_ms, id);
DROP INDEX IF EXISTS batches_state;
`,
  // the headers this node co-signed for other oracle nodes (SQLite's MIGRATION_8)
  `
CREATE TABLE cosigned (
  attestation_id TEXT COLLATE "C" PRIMARY KEY,
  facility_id TEXT COLLATE "C" NOT NULL,
  period_start BIGINT NOT NULL,
  period_end BIGINT NOT NULL,
  correction_of TEXT COLLATE "C" NOT NULL,
  bundle_cid TEXT NOT NULL,
  digests TEXT NOT NULL,
  signed_at_ms BIGINT NOT NULL
);
CREATE INDEX cosigned_period ON cosigned(facility_id, correction_of, period_start);
CREATE INDEX cosigned_correction_of ON cosigned(correction_of);
`,
  // the registry each header was co-signed for; NULL (every registry) in earlier records (SQLite's MIGRATION_9)
  `
ALTER TABLE cosigned ADD COLUMN chain_id BIGINT;
ALTER TABLE cosigned ADD COLUMN registry TEXT COLLATE "C";
`,
  // each co-signed correction's readings' deviceId#seq, a JSON array; NULL (unknown) in earlier
  // records (SQLite's MIGRATION_10): a column added, no row rewritten or parsed inside the
  // migration's transaction, `digests` left the array a node of schema 5 reads
  `
ALTER TABLE cosigned ADD COLUMN reading_keys TEXT;
`,
];

/** `?` placeholders numbered `$1`, `$2`, … as PostgreSQL takes them (none appear inside quoted text here). */
export function numberPlaceholders(sql: string): string {
  let n = 0;
  let out = "";
  let quoted = false;
  for (const ch of sql) {
    if (ch === "'") quoted = !quoted;
    out += ch === "?" && !quoted ? `$${++n}` : ch;
  }
  return out;
}

/** PostgreSQL's type of each of READING_COLUMNS (its array is cast to this). */
const READING_TYPES: readonly string[] = [
  "text",
  "bigint",
  "text",
  "text",
  "bigint",
  "bigint",
  "text",
  "text",
  "text",
  "text",
  "text",
  "bigint",
  "double precision",
  "integer",
  "bigint",
  "bigint",
  "text",
  "text",
  "text",
  "bigint",
];

/**
 * A value as `pg` sends it: a bigint as decimal text (PostgreSQL casts it to BIGINT); a string
 * with its NUL characters written as `\u0000` (`showNul`), which PostgreSQL's text cannot hold:
 * a look-up for such text (a query string's device id, say) finds nothing instead of failing, as on
 * SQLite, and what is stored is what dead letters store on both.
 */
const toPgValue = (a: SqlArg): unknown =>
  typeof a === "bigint" ? a.toString() : typeof a === "string" && a.includes("\u0000") ? showNul(a) : a;

/** Values as `pg` sends them (`toPgValue`). */
function toPg(args: readonly SqlArg[]): unknown[] {
  return args.map(toPgValue);
}

class PgDriver implements SqlDriver {
  readonly bridge: PgBridge;
  readonly #sql = new Map<string, string>();
  #inTx = false;

  constructor(bridge: PgBridge) {
    this.bridge = bridge;
  }

  #q(sql: string, args: readonly SqlArg[]): { rows: Row[]; rowCount: number } {
    let text = this.#sql.get(sql);
    if (text === undefined) this.#sql.set(sql, (text = numberPlaceholders(sql)));
    return this.bridge.query(text, toPg(args));
  }
  get(sql: string, args: readonly SqlArg[] = []): Row | undefined {
    return this.#q(sql, args).rows[0];
  }
  all(sql: string, args: readonly SqlArg[] = []): Row[] {
    return this.#q(sql, args).rows;
  }
  run(sql: string, args: readonly SqlArg[] = []): number {
    return this.#q(sql, args).rowCount;
  }
  #within<T>(begin: string, lock: boolean, fn: () => T): T {
    if (this.#inTx) return fn();
    this.#inTx = true;
    try {
      // in the try: a BEGIN that failed, or timed out, is followed by a ROLLBACK too (answered at
      // once when there is no connection left to hold a transaction)
      this.bridge.query(begin);
      if (lock) this.bridge.query(`SELECT pg_advisory_xact_lock(${WRITE_LOCK_KEY})`);
      const out = fn();
      this.bridge.query("COMMIT");
      return out;
    } catch (err) {
      try {
        this.bridge.query("ROLLBACK");
      } catch {
        // the connection is gone: the server rolled the transaction back
      }
      throw err;
    } finally {
      this.#inTx = false;
    }
  }
  // Read committed, named here as well as set for the session: each statement after the advisory
  // lock reads what the writer before this one committed; a snapshot (repeatable read) would be
  // taken by the lock's statement, before the lock was granted, and miss it.
  tx<T>(fn: () => T): T {
    return this.#within("BEGIN ISOLATION LEVEL READ COMMITTED", true, fn);
  }
  write<T>(fn: () => T): T {
    return this.#within("BEGIN ISOLATION LEVEL READ COMMITTED", true, fn);
  }
  read<T>(fn: () => T): T {
    return this.#within("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", false, fn);
  }
  /** Every commit is flushed: each session sets `synchronous_commit = on` (storage/pg-bridge-worker.ts). */
  durable<T>(fn: () => T): T {
    return fn();
  }
  get isOpen(): boolean {
    return this.bridge.isOpen;
  }
  close(): void {
    this.bridge.close();
  }
}

/** PostgreSQL storage at `url` (`postgres://user:password@host:port/database`); creates or upgrades its schema. */
export class PostgresStorage extends SqlStorage {
  readonly url: string;
  readonly #driver: PgDriver;

  constructor(url: string, opts: { timeoutMs?: number; connectTimeoutMs?: number; heapLimitMb?: number } = {}) {
    const driver = new PgDriver(new PgBridge(url, opts));
    super(driver);
    this.url = url;
    this.#driver = driver;
    try {
      this.#migrate();
    } catch (err) {
      driver.close();
      throw err;
    }
  }

  /**
   * A group commit's readings in one statement (`unnest` of one array a column): one round trip
   * instead of one a reading. A row not inserted met a stored (device, seq), or an earlier row of
   * the same statement; the digests it returns say which rows went in.
   */
  protected override insertReadings(rows: readonly ReadingRow[]): boolean[] {
    if (rows.length === 0) return [];
    const values = rows.map(readingValues);
    const columns = READING_COLUMNS.map((_, c) => values.map((v) => toPgValue(v[c]!)));
    const sql = `INSERT INTO readings (${READING_COLUMNS.join(", ")})
      SELECT * FROM unnest(${READING_TYPES.map((t) => `?::${t}[]`).join(", ")})
      ON CONFLICT DO NOTHING RETURNING digest`;
    const went = new Set(this.sql.all(sql, columns as unknown as SqlArg[]).map((r) => r.digest as string));
    return rows.map((r) => went.delete(r.reading.digest));
  }

  /** The ingest group commits and batch state writes on a thread (and connection) of their own. */
  openIngestWriter(): IngestWriter {
    return new IngestWriter({ driver: "postgres", url: this.url });
  }

  #migrate(): void {
    const where = urlForMessages(this.url, "storage.url");
    this.#driver.tx(() => {
      this.#driver.run(`CREATE TABLE IF NOT EXISTS carbonproof_schema (version INTEGER NOT NULL)`);
      const row = this.#driver.get(`SELECT version FROM carbonproof_schema`);
      const version = row ? Number(row.version) : 0;
      if (version > PG_MIGRATIONS.length)
        throw new PgError(
          `database schema ${version} at ${where} is newer than this node (${PG_MIGRATIONS.length}): upgrade the node`,
        );
      for (let v = version; v < PG_MIGRATIONS.length; v++) this.#driver.bridge.query(PG_MIGRATIONS[v]!, [], true);
      if (!row) this.#driver.run(`INSERT INTO carbonproof_schema (version) VALUES (?)`, [PG_MIGRATIONS.length]);
      else if (version < PG_MIGRATIONS.length)
        this.#driver.run(`UPDATE carbonproof_schema SET version = ?`, [PG_MIGRATIONS.length]);
    });
  }
}
