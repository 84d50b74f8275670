/**
 * SQLite through `node:sqlite` (no native addon): the node's embedded storage. Its logic is
 * storage/sql-storage.ts; here are its connection, schema and migrations, and what only SQLite has
 * (WAL checkpoints, a second connection on a writer thread, synchronous = NORMAL for batch state).
 */
import { DatabaseSync, type StatementSync } from "node:sqlite";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { IngestWriter } from "./ingest-writer.ts";
import { digestKey, SqlStorage, type Row, type SqlArg, type SqlDriver } from "./sql-storage.ts";

export { digestKey };

const MIGRATION_1 = `
CREATE TABLE readings (
  digest TEXT PRIMARY KEY,
  device_id TEXT NOT NULL,
  facility_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  ts INTEGER NOT NULL,
  kind TEXT NOT NULL,
  canonical TEXT NOT NULL,
  sig TEXT NOT NULL,
  key_id TEXT,
  source TEXT NOT NULL,
  received_at_ms INTEGER NOT NULL,
  anomaly_score REAL,
  flagged INTEGER NOT NULL DEFAULT 0,
  fossil_mg INTEGER NOT NULL,
  biogenic_mg INTEGER NOT NULL,
  methodology_id TEXT NOT NULL,
  factor_set_id TEXT NOT NULL,
  result_json TEXT NOT NULL,
  batch_id INTEGER NOT NULL REFERENCES batches(id),
  UNIQUE (device_id, seq)
);
CREATE INDEX readings_batch ON readings(batch_id);
CREATE INDEX readings_facility_ts ON readings(facility_id, ts);

CREATE TABLE dead_letters (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  received_at_ms INTEGER NOT NULL,
  source TEXT NOT NULL,
  reason TEXT NOT NULL,
  detail TEXT NOT NULL,
  payload TEXT NOT NULL,
  device_id TEXT,
  seq INTEGER,
  digest TEXT
);
CREATE INDEX dead_letters_reason ON dead_letters(reason, id);
CREATE INDEX dead_letters_device ON dead_letters(device_id, id);

CREATE TABLE batches (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  facility_id TEXT NOT NULL,
  period_start INTEGER NOT NULL,
  period_end INTEGER NOT NULL,
  correction_of_batch INTEGER REFERENCES batches(id),
  state TEXT NOT NULL,
  reading_count INTEGER NOT NULL DEFAULT 0,
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
  tx_nonce INTEGER,
  tx_raw TEXT,
  tx_sent_at_ms INTEGER,
  tx_hashes TEXT NOT NULL DEFAULT '[]',
  block_number INTEGER,
  error TEXT,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at_ms INTEGER NOT NULL DEFAULT 0,
  created_at_ms INTEGER NOT NULL,
  updated_at_ms INTEGER NOT NULL
);
CREATE INDEX batches_state ON batches(state);
CREATE INDEX batches_facility_period ON batches(facility_id, period_start);
-- at most one regular batch per facility and period start, at most one open correction per regular batch
CREATE UNIQUE INDEX batches_regular ON batches(facility_id, period_start) WHERE correction_of_batch IS NULL;
CREATE UNIQUE INDEX batches_open_correction ON batches(correction_of_batch) WHERE correction_of_batch IS NOT NULL AND state = 'open';

CREATE TABLE api_keys (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  label TEXT NOT NULL,
  scope TEXT NOT NULL,
  subject TEXT NOT NULL,
  hash TEXT NOT NULL UNIQUE,
  created_at_ms INTEGER NOT NULL,
  revoked_at_ms INTEGER
);

CREATE TABLE evidence (
  sha256 TEXT PRIMARY KEY,
  cid TEXT NOT NULL,
  filename TEXT NOT NULL,
  media_type TEXT NOT NULL,
  size_bytes INTEGER NOT NULL,
  facility_id TEXT NOT NULL,
  created_at_ms INTEGER NOT NULL
);

CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
`;

/** Device heartbeats (health data, never attested), for `GET /v1/devices/health`. */
const MIGRATION_2 = `
CREATE TABLE heartbeats (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  device_id TEXT NOT NULL,
  facility_id TEXT NOT NULL,
  received_at_ms INTEGER NOT NULL,
  ts INTEGER,
  last_seq INTEGER,
  buffer_depth INTEGER,
  dropped INTEGER,
  rssi_dbm INTEGER,
  uptime_s INTEGER,
  fw TEXT,
  faults TEXT NOT NULL DEFAULT '[]',
  verified INTEGER NOT NULL
);
CREATE INDEX heartbeats_device ON heartbeats(device_id, received_at_ms);
`;

/**
 * Readings keyed by digest without a unique index on the 66-character digest text. Every reading
 * inserted into that index wrote one random page of it per commit, which cost the writer thread
 * ~12 µs of CPU per reading (a third of its time) in a 600,000-reading micro-benchmark. The
 * lookup index is now on `digest_key`, the digest's first 52 bits as an integer (`digestKey`),
 * a quarter of the size; queries by digest match the key and then the text. The digest stays
 * unique without its own index: it is the SHA-256 of the canonical reading, which names its
 * (device, seq), and (device_id, seq) is unique. The table is rebuilt, rows in rowid order.
 */
const MIGRATION_3 = `
CREATE TABLE readings_v3 (
  digest TEXT NOT NULL,
  digest_key INTEGER NOT NULL,
  device_id TEXT NOT NULL,
  facility_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  ts INTEGER NOT NULL,
  kind TEXT NOT NULL,
  canonical TEXT NOT NULL,
  sig TEXT NOT NULL,
  key_id TEXT,
  source TEXT NOT NULL,
  received_at_ms INTEGER NOT NULL,
  anomaly_score REAL,
  flagged INTEGER NOT NULL DEFAULT 0,
  fossil_mg INTEGER NOT NULL,
  biogenic_mg INTEGER NOT NULL,
  methodology_id TEXT NOT NULL,
  factor_set_id TEXT NOT NULL,
  result_json TEXT NOT NULL,
  batch_id INTEGER NOT NULL REFERENCES batches(id),
  UNIQUE (device_id, seq)
);
INSERT INTO readings_v3 (rowid, digest, digest_key, device_id, facility_id, seq, ts, kind, canonical, sig, key_id,
  source, received_at_ms, anomaly_score, flagged, fossil_mg, biogenic_mg, methodology_id, factor_set_id, result_json, batch_id)
SELECT rowid, digest, carbonproof_digest_key(digest), device_id, facility_id, seq, ts, kind, canonical, sig, key_id,
  source, received_at_ms, anomaly_score, flagged, fossil_mg, biogenic_mg, methodology_id, factor_set_id, result_json, batch_id
FROM readings ORDER BY rowid;
DROP TABLE readings;
ALTER TABLE readings_v3 RENAME TO readings;
CREATE INDEX readings_batch ON readings(batch_id);
CREATE INDEX readings_facility_ts ON readings(facility_id, ts);
CREATE INDEX readings_digest_key ON readings(digest_key);
`;

/**
 * The account that sent a batch's transaction: after a key rotation a `submitted` batch may hold
 * a transaction of the old account, which the node must follow but never replace, and whose nonce
 * is not in the current account's nonce space (`maxTxNonce`). Existing rows get NULL; the batch
 * pipeline fills it from each stored raw transaction's signature before it sends anything.
 */
const MIGRATION_4 = `
ALTER TABLE batches ADD COLUMN tx_from TEXT;
`;

/**
 * How schemas before 5 marked an abandoned batch: its `error` was
 * "abandoned by the operator at <ISO time>: <the reason it failed>".
 */
const LEGACY_ABANDONED = /^abandoned by the operator at (\S+): ([\s\S]*)$/;
const LEGACY_ABANDONED_PREFIX = "abandoned by the operator";

/**
 * Abandonment as a recorded fact (`abandoned_at_ms`) instead of a prefix of the batch's `error`.
 * A row marked the old way gets the time its prefix names (else its `updated_at_ms`), and its
 * `error` loses the prefix and reads again as the reason the batch failed (null when the prefix
 * said there was none), as it does for a batch abandoned from schema 5 on.
 */
const MIGRATION_5 = `
ALTER TABLE batches ADD COLUMN abandoned_at_ms INTEGER;
UPDATE batches SET abandoned_at_ms = carbonproof_legacy_abandoned_at(error, updated_at_ms),
  error = carbonproof_legacy_abandoned_error(error)
WHERE state = 'failed' AND substr(error, 1, ${LEGACY_ABANDONED_PREFIX.length}) = '${LEGACY_ABANDONED_PREFIX}';
`;

/**
 * A heartbeat's `held` and `heldDropped` (docs/protocol.md): flue-gas measurements a device holds
 * until its clock is set, and those it discarded at its bound. Earlier heartbeats have NULL.
 */
const MIGRATION_6 = `
ALTER TABLE heartbeats ADD COLUMN held INTEGER;
ALTER TABLE heartbeats ADD COLUMN held_dropped INTEGER;
`;

/**
 * Batches of a state in the order they last changed, for the shortfall recorder's cursor on
 * confirmed ones (`listConfirmedSince`): before it, each of its passes read every confirmed batch
 * after its cursor, ~1 s for 100,000 (docs/oracle.md, "Periods above the baseline"). It replaces
 * the index on `state` alone, its prefix.
 */
const MIGRATION_7 = `
CREATE INDEX batches_state_updated ON batches(state, updated_at_ms, id);
DROP INDEX IF EXISTS batches_state;
`;

/**
 * The headers this node co-signed for other oracle nodes (quorum/cosigner.ts), so that it never
 * signs an alternative to one: another regular header for an overlapping period of the same
 * facility, another correction of the same original with one of the same readings (`digests`, a
 * JSON array; `[]` for a regular header). `correction_of` is zero for a regular header.
 */
const MIGRATION_8 = `
CREATE TABLE cosigned (
  attestation_id TEXT PRIMARY KEY,
  facility_id TEXT NOT NULL,
  period_start INTEGER NOT NULL,
  period_end INTEGER NOT NULL,
  correction_of TEXT NOT NULL,
  bundle_cid TEXT NOT NULL,
  digests TEXT NOT NULL,
  signed_at_ms INTEGER NOT NULL
);
CREATE INDEX cosigned_period ON cosigned(facility_id, correction_of, period_start);
CREATE INDEX cosigned_correction_of ON cosigned(correction_of);
`;

/**
 * The registry each header was co-signed for (`chain_id`, and `registry`: the AttestationRegistry's
 * address, lowercase hex), so that a header is an alternative only to records of its own registry
 * (after a redeploy, the new registry's first headers were refused with 409 against the old one's
 * records). A record made before has NULL in both, which the checks take as "every registry": the
 * registry it was signed for is not known here (a node's storage is opened without its config,
 * and the config may have moved to a new registry since), and a guess could let a header
 * conflicting with it on its own registry be signed. `cosigned release` frees such a record.
 */
const MIGRATION_9 = `
ALTER TABLE cosigned ADD COLUMN chain_id INTEGER;
ALTER TABLE cosigned ADD COLUMN registry TEXT;
`;

/**
 * Each co-signed correction's readings named by `deviceId#seq` besides their digests, as the
 * auditor's verifier compares a facility's attestations (a device's two readings with one seq have
 * two digests and one key): `reading_keys`, a JSON array with one key for each of `digests`, in
 * order (`[]` for a regular header). NULL when unknown: a record made before (its keys are not in
 * the table), or by a node of schema 9 still running on the database, whose keys the co-signer
 * reads from the correction's bundle (`setCosignKeys`) before it signs another correction of the
 * same original. A column added, no row rewritten: as quick on a large table as on an empty one,
 * and `digests` stays the array a node of schema 9 reads. A command that opens the database
 * (`cosigned list`, beside a running node) migrates it under that node, which goes on reading and
 * recording co-signs as before.
 */
const MIGRATION_10 = `
ALTER TABLE cosigned ADD COLUMN reading_keys TEXT;
`;

/** Schema version N is MIGRATIONS[0..N-1] applied in order (`PRAGMA user_version` = N). */
export const MIGRATIONS: readonly string[] = [
  MIGRATION_1,
  MIGRATION_2,
  MIGRATION_3,
  MIGRATION_4,
  MIGRATION_5,
  MIGRATION_6,
  MIGRATION_7,
  MIGRATION_8,
  MIGRATION_9,
  MIGRATION_10,
];
const SCHEMA_VERSION = MIGRATIONS.length;

/**
 * One `node:sqlite` connection as a `SqlDriver`: statements prepared once and kept; a write
 * transaction is `BEGIN IMMEDIATE` (SQLite's write lock, which serialises writers across
 * connections and processes); a lone write statement commits on its own, under that lock too.
 */
class SqliteDriver implements SqlDriver {
  readonly db: DatabaseSync;
  readonly #st = new Map<string, StatementSync>();
  /** this connection runs at synchronous = NORMAL while an ingest writer commits readings at FULL */
  relaxed = false;

  constructor(db: DatabaseSync) {
    this.db = db;
  }

  #s(sql: string): StatementSync {
    let st = this.#st.get(sql);
    if (!st) this.#st.set(sql, (st = this.db.prepare(sql)));
    return st;
  }
  get(sql: string, args: readonly SqlArg[] = []): Row | undefined {
    return this.#s(sql).get(...args) as Row | undefined;
  }
  all(sql: string, args: readonly SqlArg[] = []): Row[] {
    return this.#s(sql).all(...args) as Row[];
  }
  run(sql: string, args: readonly SqlArg[] = []): number {
    return Number(this.#s(sql).run(...args).changes);
  }
  tx<T>(fn: () => T): T {
    if (this.db.isTransaction) return fn();
    this.db.exec("BEGIN IMMEDIATE");
    try {
      const out = fn();
      this.db.exec("COMMIT");
      return out;
    } catch (err) {
      this.db.exec("ROLLBACK");
      throw err;
    }
  }
  write<T>(fn: () => T): T {
    return fn();
  }
  /** `fn` in a read transaction: its statements see one snapshot of the database (WAL: the writer goes on). */
  read<T>(fn: () => T): T {
    if (this.db.isTransaction) return fn();
    this.db.exec("BEGIN");
    try {
      return fn();
    } finally {
      this.db.exec("COMMIT");
    }
  }
  /** Runs `fn` with synchronous = FULL on this connection (SqliteStorage.relaxBatchWrites). */
  durable<T>(fn: () => T): T {
    if (!this.relaxed) return fn();
    this.db.exec("PRAGMA synchronous = FULL");
    try {
      return fn();
    } finally {
      this.db.exec("PRAGMA synchronous = NORMAL");
    }
  }
  get isOpen(): boolean {
    return this.db.isOpen;
  }
  close(): void {
    this.db.close();
  }
}

/**
 * SQLite through `node:sqlite` (no native addon). WAL so readers (HTTP API) never block the
 * ingest writer; `synchronous` from config (FULL by default: an acknowledged reading survives
 * power loss, the fsync cost is shared by every reading of a group commit).
 */
export class SqliteStorage extends SqlStorage {
  readonly db: DatabaseSync;
  readonly #driver: SqliteDriver;
  readonly #path: string;
  readonly #synchronous: "FULL" | "NORMAL";

  constructor(path: string, opts: { synchronous?: "FULL" | "NORMAL"; autocheckpoint?: number } = {}) {
    if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
    const synchronous = opts.synchronous ?? "FULL";
    const db = new DatabaseSync(path);
    const driver = new SqliteDriver(db);
    super(driver);
    this.db = db;
    this.#driver = driver;
    this.#path = path;
    this.#synchronous = synchronous;
    // A checkpoint every 16,000 WAL pages (~64 MB) rather than 4,000: fewer passes copying the
    // same hot index pages back into the database, ~4 µs less writer CPU per reading in a
    // 600,000-reading micro-benchmark; after each checkpoint the WAL file is rewritten from its start.
    this.db.exec(`PRAGMA journal_mode = WAL; PRAGMA synchronous = ${this.#synchronous};
      PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000; PRAGMA wal_autocheckpoint = ${opts.autocheckpoint ?? 16000};`);
    this.#migrate();
  }

  /**
   * Copies what the write-ahead log holds back into the database without waiting for readers or
   * writers (`wal_checkpoint(PASSIVE)`); for a background thread, so that the committing
   * connection seldom has to (`autocheckpoint`). Returns the WAL's frames and those copied.
   */
  checkpoint(): { walFrames: number; checkpointed: number } {
    const r = this.db.prepare("PRAGMA wal_checkpoint(PASSIVE)").get() as { log: number; checkpointed: number };
    return { walFrames: r.log, checkpointed: r.checkpointed };
  }

  /**
   * A second connection on a thread of its own for the ingest group commits and the batch
   * state writes (same database, same `synchronous`), so their fsyncs and lock waits do not stop
   * the main thread; this connection's own rare writes are then relaxed (`relaxBatchWrites`).
   * None for `:memory:`, which a second connection cannot share.
   */
  openIngestWriter(): IngestWriter | null {
    if (this.#path === ":memory:") return null;
    const writer = new IngestWriter({ driver: "sqlite", path: this.#path, synchronous: this.#synchronous });
    this.relaxBatchWrites();
    return writer;
  }

  /**
   * Batch state and heartbeats commit at synchronous = NORMAL on this connection; readings
   * (`commitIngest`) and the writes after which something leaves the node or nothing else
   * follows (a transaction about to be broadcast, dead letters, API keys, evidence, meta) stay
   * FULL (`SqlDriver.durable`). In WAL mode a FULL commit syncs the log up to itself, so a NORMAL
   * commit is on disk by the next FULL one; a process crash loses none (a power cut can lose the
   * last ones), and every pipeline step is idempotent, redone from the state storage shows. No-op
   * when `synchronous` is NORMAL already. Called on both connections of a node (this one and
   * the writer thread's).
   */
  relaxBatchWrites(): void {
    if (this.#synchronous !== "FULL" || this.#driver.relaxed) return;
    this.db.exec("PRAGMA synchronous = NORMAL");
    this.#driver.relaxed = true;
  }

  /** Sets SQLite's page cache of this connection (KiB); the writer thread's is larger. */
  cacheKib(kib: number): void {
    this.db.exec(`PRAGMA cache_size = -${Math.floor(kib)}`);
  }

  #migrate(): void {
    const version = Number((this.db.prepare("PRAGMA user_version").get() as Row).user_version);
    if (version > SCHEMA_VERSION) {
      throw new Error(`database schema ${version} is newer than this node (${SCHEMA_VERSION}): upgrade the node`);
    }
    if (version < MIGRATIONS.length) {
      // MIGRATION_3 computes each stored digest's key (digestKey) in SQL
      this.db.function("carbonproof_digest_key", { deterministic: true }, (d) => {
        const k = typeof d === "string" ? digestKey(d) : null;
        if (k === null) throw new Error(`stored reading digest ${String(d)} is not 0x + 64 lowercase hex`);
        return k;
      });
      // MIGRATION_5 reads the time and the reason out of an old "abandoned by the operator" error
      this.db.function("carbonproof_legacy_abandoned_at", { deterministic: true }, (error, updatedAtMs) => {
        const m = LEGACY_ABANDONED.exec(String(error));
        const at = m ? Date.parse(m[1]!) : NaN;
        return Number.isFinite(at) ? at : Number(updatedAtMs);
      });
      this.db.function("carbonproof_legacy_abandoned_error", { deterministic: true }, (error) => {
        const m = LEGACY_ABANDONED.exec(String(error));
        if (!m) return String(error);
        return m[2] === "no reason recorded" ? null : m[2]!;
      });
    }
    for (let v = version; v < MIGRATIONS.length; v++) {
      this.#driver.tx(() => {
        this.db.exec(MIGRATIONS[v]!);
        this.db.exec(`PRAGMA user_version = ${v + 1}`);
      });
    }
  }
}
