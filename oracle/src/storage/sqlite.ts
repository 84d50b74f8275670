import { DatabaseSync, type StatementSync } from "node:sqlite";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import type {
  ApiKey,
  Batch,
  BatchPatch,
  BatchState,
  DeadLetter,
  DeviceHealth,
  Evidence,
  IngestOutcome,
  NewDeadLetter,
  NewHeartbeat,
  NewReading,
  OperatorOutcome,
  OperatorRefusal,
  Storage,
  StoredReading,
} from "./types.ts";
import { BATCH_STATES } from "./types.ts";
import { IngestWriter } from "./ingest-writer.ts";

/** types.ts `holdsLaterBatches` as SQL over the batches row `t` (a table alias, no user input). */
const holdsLaterSql = (t: string) =>
  `(${t}.state = 'failed' AND ${t}.correction_of_batch IS NULL AND ${t}.reading_count > 0 AND ${t}.abandoned_at_ms IS NULL)`;

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

/** Schema version N is MIGRATIONS[0..N-1] applied in order (`PRAGMA user_version` = N). */
export const MIGRATIONS: readonly string[] = [MIGRATION_1, MIGRATION_2, MIGRATION_3, MIGRATION_4, MIGRATION_5];
const SCHEMA_VERSION = MIGRATIONS.length;

const DIGEST_RE = /^0x[0-9a-f]{64}$/;

/**
 * The lookup key of a reading digest (`0x` + 64 lowercase hex): its first 13 hex digits (52
 * bits) as an integer, exact in a JS number and in SQLite's INTEGER. Null for anything else.
 */
export function digestKey(digest: string): number | null {
  return DIGEST_RE.test(digest) ? parseInt(digest.slice(2, 15), 16) : null;
}

type Row = Record<string, unknown>;

function toReading(r: Row): StoredReading {
  return {
    digest: r.digest as string,
    deviceId: r.device_id as string,
    facilityId: r.facility_id as string,
    seq: Number(r.seq),
    ts: Number(r.ts),
    kind: r.kind as string,
    canonical: r.canonical as string,
    sig: r.sig as string,
    keyId: (r.key_id as string | null) ?? null,
    source: r.source as StoredReading["source"],
    receivedAtMs: Number(r.received_at_ms),
    anomalyScore: r.anomaly_score === null ? null : Number(r.anomaly_score),
    flagged: Number(r.flagged) === 1,
    fossilMg: BigInt(r.fossil_mg as number | bigint),
    biogenicMg: BigInt(r.biogenic_mg as number | bigint),
    methodologyId: r.methodology_id as string,
    factorSetId: r.factor_set_id as string,
    resultJson: r.result_json as string,
    batchId: r.batch_id === null ? null : Number(r.batch_id),
  };
}

function toBatch(r: Row): Batch {
  const n = (v: unknown) => (v === null || v === undefined ? null : Number(v));
  const s = (v: unknown) => (v === null || v === undefined ? null : String(v));
  return {
    id: Number(r.id),
    facilityId: r.facility_id as string,
    periodStart: Number(r.period_start),
    periodEnd: Number(r.period_end),
    correctionOfBatch: n(r.correction_of_batch),
    state: r.state as BatchState,
    readingCount: Number(r.reading_count),
    merkleRoot: s(r.merkle_root),
    fossilCo2eGrams: s(r.fossil_g),
    biogenicCo2Grams: s(r.biogenic_g),
    methodologyId: s(r.methodology_id),
    factorSetId: s(r.factor_set_id),
    bundleCid: s(r.bundle_cid),
    headerJson: s(r.header_json),
    attestationId: s(r.attestation_id),
    signatures: s(r.signatures),
    txHash: s(r.tx_hash),
    txNonce: n(r.tx_nonce),
    txFrom: s(r.tx_from),
    txRaw: s(r.tx_raw),
    txSentAtMs: n(r.tx_sent_at_ms),
    txHashes: JSON.parse((r.tx_hashes as string) ?? "[]") as string[],
    blockNumber: n(r.block_number),
    error: s(r.error),
    abandonedAt: n(r.abandoned_at_ms),
    attempts: Number(r.attempts),
    nextAttemptAtMs: Number(r.next_attempt_at_ms),
    createdAtMs: Number(r.created_at_ms),
    updatedAtMs: Number(r.updated_at_ms),
  };
}

const PATCH_COLUMNS: Record<keyof BatchPatch, string> = {
  readingCount: "reading_count",
  merkleRoot: "merkle_root",
  fossilCo2eGrams: "fossil_g",
  biogenicCo2Grams: "biogenic_g",
  methodologyId: "methodology_id",
  factorSetId: "factor_set_id",
  bundleCid: "bundle_cid",
  headerJson: "header_json",
  attestationId: "attestation_id",
  signatures: "signatures",
  txHash: "tx_hash",
  txNonce: "tx_nonce",
  txFrom: "tx_from",
  txRaw: "tx_raw",
  txSentAtMs: "tx_sent_at_ms",
  txHashes: "tx_hashes",
  blockNumber: "block_number",
  error: "error",
  attempts: "attempts",
  nextAttemptAtMs: "next_attempt_at_ms",
};

/** An operator command on batch `id` refused, with why (storage retryFailedBatch, abandonFailedBatch). */
const refusal = (id: number, code: OperatorRefusal, reason: string): OperatorOutcome => ({
  batch: id,
  done: false,
  code,
  reason,
});
/** An operator's refusal of an unknown batch id, the same for the CLI and the HTTP API. */
const noBatch = (id: number) =>
  `no batch ${id}: \`carbonproof-oracle status\` or GET /v1/batches?state=failed lists the failed ones`;

/** Largest raw payload kept in a dead letter; the rest is cut (the reason says so). */
const MAX_DEAD_PAYLOAD = 65_536;

/**
 * SQLite through `node:sqlite` (no native addon). WAL so readers (HTTP API) never block the
 * ingest writer; `synchronous` from config (FULL by default: an acknowledged reading survives
 * power loss, the fsync cost is shared by every reading of a group commit).
 */
export class SqliteStorage implements Storage {
  readonly db: DatabaseSync;
  readonly #st: Record<string, StatementSync> = {};
  readonly #path: string;
  readonly #synchronous: "FULL" | "NORMAL";
  /** this connection runs at synchronous = NORMAL while an ingest writer commits readings at FULL */
  #relaxed = false;

  constructor(path: string, opts: { synchronous?: "FULL" | "NORMAL"; autocheckpoint?: number } = {}) {
    if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
    this.#path = path;
    this.#synchronous = opts.synchronous ?? "FULL";
    this.db = new DatabaseSync(path);
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
    const writer = new IngestWriter(this.#path, this.#synchronous);
    this.relaxBatchWrites();
    return writer;
  }

  /**
   * Batch state and heartbeats commit at synchronous = NORMAL on this connection; readings
   * (`commitIngest`) and the writes after which something leaves the node or nothing else
   * follows (a transaction about to be broadcast, dead letters, API keys, evidence, meta) stay
   * FULL (#durable). In WAL mode a FULL commit syncs the log up to itself, so a NORMAL commit is
   * on disk by the next FULL one; a process crash loses none (a power cut can lose the last
   * ones), and every pipeline step is idempotent, redone from the state storage shows. No-op
   * when `synchronous` is NORMAL already. Called on both connections of a node (this one and
   * the writer thread's).
   */
  relaxBatchWrites(): void {
    if (this.#synchronous !== "FULL" || this.#relaxed) return;
    this.db.exec("PRAGMA synchronous = NORMAL");
    this.#relaxed = true;
  }

  /** Runs `fn` with synchronous = FULL on this connection (see relaxBatchWrites). */
  #durable<T>(fn: () => T): T {
    if (!this.#relaxed) return fn();
    this.db.exec("PRAGMA synchronous = FULL");
    try {
      return fn();
    } finally {
      this.db.exec("PRAGMA synchronous = NORMAL");
    }
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
      this.#tx(() => {
        this.db.exec(MIGRATIONS[v]!);
        this.db.exec(`PRAGMA user_version = ${v + 1}`);
      });
    }
  }

  #s(sql: string): StatementSync {
    return (this.#st[sql] ??= this.db.prepare(sql));
  }

  #tx<T>(fn: () => T): T {
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

  #insertDead(d: NewDeadLetter): number {
    const payload =
      d.payload.length > MAX_DEAD_PAYLOAD
        ? `${d.payload.slice(0, MAX_DEAD_PAYLOAD)}…[cut, ${d.payload.length} chars]`
        : d.payload;
    const r = this.#s(
      `INSERT INTO dead_letters (received_at_ms, source, reason, detail, payload, device_id, seq, digest) VALUES (?,?,?,?,?,?,?,?)`,
    ).run(d.receivedAtMs, d.source, d.reason, d.detail, payload, d.deviceId ?? null, d.seq ?? null, d.digest ?? null);
    return Number(r.lastInsertRowid);
  }

  /**
   * Finds the batch a reading joins, creating it when needed (docs/protocol.md, the no-double-attestation
   * rule): the open regular batch of its period; if that period's regular batch is sealed or later, the
   * open correction of it; if there is no regular batch, a new one for its window (never overlapping
   * another), unless a regular batch at or after that window was already sent ("too-late", null: the
   * registry would reject a regular batch that starts before its frontier). A later batch sealed but
   * not sent yet does not make it too late: it waits for this earlier one (pipeline
   * `#blockedByEarlier`, and `transition`'s `afterEarlier` guard when it is sent).
   */
  #batchFor(
    facilityId: string,
    ts: number,
    windowS: number,
    nowMs: number,
  ): { id: number; start: number; end: number } | null {
    const regular = this.#s(
      `SELECT id, state, period_start, period_end FROM batches WHERE facility_id = ? AND correction_of_batch IS NULL AND period_start <= ? AND period_end > ? LIMIT 1`,
    ).get(facilityId, ts, ts) as Row | undefined;
    if (regular) {
      const start = Number(regular.period_start);
      const end = Number(regular.period_end);
      if (regular.state === "open") return { id: Number(regular.id), start, end };
      if (regular.state === "failed") return null;
      const corr = this.#s(`SELECT id FROM batches WHERE correction_of_batch = ? AND state = 'open'`).get(
        regular.id as number,
      ) as Row | undefined;
      if (corr) return { id: Number(corr.id), start, end };
      const r = this.#s(
        `INSERT INTO batches (facility_id, period_start, period_end, correction_of_batch, state, created_at_ms, updated_at_ms) VALUES (?,?,?,?, 'open', ?, ?)`,
      ).run(facilityId, start, end, regular.id as number, nowMs, nowMs);
      return { id: Number(r.lastInsertRowid), start, end };
    }
    // the window, cut where the regular batches next to it end and begin (after a change of
    // windowS between runs they need not be aligned with it): periods never overlap
    const before = this.#s(
      `SELECT MAX(period_end) AS e FROM batches WHERE facility_id = ? AND correction_of_batch IS NULL AND period_end <= ?`,
    ).get(facilityId, ts) as Row;
    const after = this.#s(
      `SELECT MIN(period_start) AS s FROM batches WHERE facility_id = ? AND correction_of_batch IS NULL AND period_start > ?`,
    ).get(facilityId, ts) as Row;
    const windowStart = Math.floor(ts / windowS) * windowS;
    const periodStart = before.e === null ? windowStart : Math.max(windowStart, Number(before.e));
    const periodEnd = after.s === null ? windowStart + windowS : Math.min(windowStart + windowS, Number(after.s));
    // the registry's frontier once the transactions in flight are mined
    const frontier = this.#s(
      `SELECT MAX(period_end) AS f FROM batches WHERE facility_id = ? AND correction_of_batch IS NULL AND state IN ('submitted', 'confirmed')`,
    ).get(facilityId) as Row;
    if (frontier.f !== null && Number(frontier.f) > periodStart) return null;
    const r = this.#s(
      `INSERT INTO batches (facility_id, period_start, period_end, correction_of_batch, state, created_at_ms, updated_at_ms) VALUES (?,?,?, NULL, 'open', ?, ?)`,
    ).run(facilityId, periodStart, periodEnd, nowMs, nowMs);
    return { id: Number(r.lastInsertRowid), start: periodStart, end: periodEnd };
  }

  commitIngest(
    accepted: NewReading[],
    rejected: NewDeadLetter[],
    opts: { windowS: number; nowMs: number },
  ): { readings: IngestOutcome[]; deadLetterIds: number[] } {
    return this.#durable(() => this.#ingestTx(accepted, rejected, opts));
  }

  #ingestTx(
    accepted: NewReading[],
    rejected: NewDeadLetter[],
    opts: { windowS: number; nowMs: number },
  ): { readings: IngestOutcome[]; deadLetterIds: number[] } {
    return this.#tx(() => {
      const deadLetterIds = rejected.map((d) => this.#insertDead(d));
      const insert = this
        .#s(`INSERT OR IGNORE INTO readings (digest, digest_key, device_id, facility_id, seq, ts, kind, canonical, sig, key_id, source,
        received_at_ms, anomaly_score, flagged, fossil_mg, biogenic_mg, methodology_id, factor_set_id, result_json, batch_id)
        VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`);
      const bump = this.#s(`UPDATE batches SET reading_count = reading_count + ? WHERE id = ?`);
      const added = new Map<number, number>();
      // per facility and window, the batch last found (its period may be cut shorter than the window)
      const cache = new Map<string, { id: number; start: number; end: number }>();
      const readings: IngestOutcome[] = [];
      for (const a of accepted) {
        const reject = (reason: "replay" | "too-late", detail: string): IngestOutcome => {
          const id = this.#insertDead({
            receivedAtMs: a.receivedAtMs,
            source: a.source,
            reason,
            detail,
            payload: JSON.stringify({ reading: JSON.parse(a.canonical), sig: a.sig, keyId: a.keyId ?? undefined }),
            deviceId: a.deviceId,
            seq: a.seq,
            digest: a.digest,
          });
          return { status: "rejected", reason, detail, deadLetterId: id };
        };
        const key = `${a.facilityId}\u0000${Math.floor(a.ts / opts.windowS)}`;
        let batch = cache.get(key) ?? null;
        if (!batch || a.ts < batch.start || a.ts >= batch.end) {
          // a too-late answer is not cached: it can depend on where in the window ts lies
          batch = this.#batchFor(a.facilityId, a.ts, opts.windowS, opts.nowMs);
          if (batch) cache.set(key, batch);
        }
        const batchId = batch?.id ?? null;
        if (batchId === null) {
          readings.push(
            reject(
              "too-late",
              `period of ts ${a.ts} is behind the attested frontier of ${a.facilityId} and has no regular batch`,
            ),
          );
          continue;
        }
        const dkey = digestKey(a.digest);
        if (dkey === null) throw new Error(`reading digest ${a.digest} is not 0x + 64 lowercase hex`);
        const r = insert.run(
          a.digest,
          dkey,
          a.deviceId,
          a.facilityId,
          a.seq,
          a.ts,
          a.kind,
          a.canonical,
          a.sig,
          a.keyId,
          a.source,
          a.receivedAtMs,
          a.anomalyScore,
          a.flagged ? 1 : 0,
          a.fossilMg,
          a.biogenicMg,
          a.methodologyId,
          a.factorSetId,
          a.resultJson,
          batchId,
        );
        if (Number(r.changes) === 0) {
          const same = this.#s(`SELECT digest FROM readings WHERE device_id = ? AND seq = ?`).get(a.deviceId, a.seq) as
            Row | undefined;
          readings.push(
            reject(
              "replay",
              same?.digest === a.digest
                ? `(${a.deviceId}, ${a.seq}) already stored with the same digest (a redelivery or a replay)`
                : `(${a.deviceId}, ${a.seq}) already stored with a different digest ${String(same?.digest ?? "(same digest, other seq)")}`,
            ),
          );
          continue;
        }
        added.set(batchId, (added.get(batchId) ?? 0) + 1);
        readings.push({ status: "stored", digest: a.digest, batchId });
      }
      for (const [batchId, n] of added) bump.run(n, batchId);
      return { readings, deadLetterIds };
    });
  }

  hasReading(deviceId: string, seq: number): boolean {
    return this.#s(`SELECT 1 FROM readings WHERE device_id = ? AND seq = ?`).get(deviceId, seq) !== undefined;
  }
  maxSeq(deviceId: string): number | null {
    const r = this.#s(`SELECT MAX(seq) AS m FROM readings WHERE device_id = ?`).get(deviceId) as Row;
    return r.m === null ? null : Number(r.m);
  }
  getReading(digest: string): StoredReading | null {
    const d = digest.toLowerCase();
    const key = digestKey(d);
    if (key === null) return null;
    const r = this.#s(`SELECT * FROM readings WHERE digest_key = ? AND digest = ?`).get(key, d) as Row | undefined;
    return r ? toReading(r) : null;
  }
  getReadingByDeviceSeq(deviceId: string, seq: number): StoredReading | null {
    const r = this.#s(`SELECT * FROM readings WHERE device_id = ? AND seq = ?`).get(deviceId, seq) as Row | undefined;
    return r ? toReading(r) : null;
  }
  readingsOfBatch(batchId: number): StoredReading[] {
    return (this.#s(`SELECT * FROM readings WHERE batch_id = ? ORDER BY digest`).all(batchId) as Row[]).map(toReading);
  }
  bundleReadingsOfBatch(batchId: number): BundleRow[] {
    const rows = this.#s(
      `SELECT digest, canonical, sig, key_id, flagged, anomaly_score FROM readings WHERE batch_id = ? ORDER BY digest`,
    ).all(batchId) as Row[];
    return rows.map(toBundleRow);
  }
  /**
   * The newest reading's rowid and the newest batch's id, read together (one snapshot): a batch
   * with a greater id has every reading after that rowid (batch/window-bundles.ts).
   */
  readingCursor(): { rowid: number; batchId: number } {
    return this.#read(() => ({
      rowid: Number((this.#s(`SELECT COALESCE(MAX(rowid), 0) AS m FROM readings`).get() as Row).m),
      batchId: Number((this.#s(`SELECT COALESCE(MAX(id), 0) AS m FROM batches`).get() as Row).m),
    }));
  }
  /** Up to `limit` readings stored after rowid `after`, in rowid order, with what a bundle needs of them. */
  bundleReadingsAfter(after: number, limit: number): (BundleRow & { rowid: number; batchId: number })[] {
    const rows = this.#s(
      `SELECT rowid, batch_id, digest, canonical, sig, key_id, flagged, anomaly_score FROM readings WHERE rowid > ? ORDER BY rowid LIMIT ?`,
    ).all(after, limit) as Row[];
    return rows.map((r) => Object.assign(toBundleRow(r), { rowid: Number(r.rowid), batchId: Number(r.batch_id) }));
  }
  /** A batch's readings stored after rowid `after` and how many it has in all, read together. */
  bundleReadingsOfBatchAfter(batchId: number, after: number): { rows: BundleRow[]; count: number } {
    return this.#read(() => ({
      rows: (
        this.#s(
          `SELECT digest, canonical, sig, key_id, flagged, anomaly_score FROM readings WHERE batch_id = ? AND rowid > ? ORDER BY rowid`,
        ).all(batchId, after) as Row[]
      ).map(toBundleRow),
      count: Number((this.#s(`SELECT COUNT(*) AS n FROM readings WHERE batch_id = ?`).get(batchId) as Row).n),
    }));
  }
  /** `fn` in a read transaction: its statements see one snapshot of the database (WAL: the writer goes on). */
  #read<T>(fn: () => T): T {
    if (this.db.isTransaction) return fn();
    this.db.exec("BEGIN");
    try {
      return fn();
    } finally {
      this.db.exec("COMMIT");
    }
  }
  listReadings(q: { facilityId?: string; deviceId?: string; limit: number; afterTs?: number }): StoredReading[] {
    const where: string[] = [];
    const args: (string | number)[] = [];
    if (q.facilityId) (where.push("facility_id = ?"), args.push(q.facilityId));
    if (q.deviceId) (where.push("device_id = ?"), args.push(q.deviceId));
    if (q.afterTs !== undefined) (where.push("ts > ?"), args.push(q.afterTs));
    const sql = `SELECT * FROM readings ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY ts DESC, seq DESC LIMIT ?`;
    return (this.db.prepare(sql).all(...args, q.limit) as Row[]).map(toReading);
  }
  recentValues(deviceId: string, limit: number): string[] {
    return (
      this.#s(`SELECT canonical FROM readings WHERE device_id = ? ORDER BY seq DESC LIMIT ?`).all(
        deviceId,
        limit,
      ) as Row[]
    )
      .map((r) => r.canonical as string)
      .reverse();
  }
  addDeadLetter(d: NewDeadLetter): number {
    return this.#durable(() => this.#insertDead(d));
  }
  listDeadLetters(q: { limit: number; beforeId?: number; reason?: string; deviceId?: string }): DeadLetter[] {
    const where: string[] = [];
    const args: (string | number)[] = [];
    if (q.beforeId !== undefined) (where.push("id < ?"), args.push(q.beforeId));
    if (q.reason) (where.push("reason = ?"), args.push(q.reason));
    if (q.deviceId) (where.push("device_id = ?"), args.push(q.deviceId));
    const sql = `SELECT * FROM dead_letters ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY id DESC LIMIT ?`;
    return (this.db.prepare(sql).all(...args, q.limit) as Row[]).map((r) => ({
      id: Number(r.id),
      receivedAtMs: Number(r.received_at_ms),
      source: r.source as DeadLetter["source"],
      reason: r.reason as DeadLetter["reason"],
      detail: r.detail as string,
      payload: r.payload as string,
      deviceId: (r.device_id as string | null) ?? null,
      seq: r.seq === null ? null : Number(r.seq),
      digest: (r.digest as string | null) ?? null,
    }));
  }
  countDeadLetters(): number {
    return Number((this.#s(`SELECT COUNT(*) AS n FROM dead_letters`).get() as Row).n);
  }

  sealDue(nowMs: number, graceS: number): number[] {
    return this.#tx(() => {
      const nowS = Math.floor(nowMs / 1000);
      const due = this.#s(
        `SELECT id FROM batches WHERE state = 'open' AND correction_of_batch IS NULL AND period_end + ? <= ? ORDER BY period_start`,
      ).all(graceS, nowS) as Row[];
      const corr = this.#s(
        `SELECT c.id FROM batches c JOIN batches r ON r.id = c.correction_of_batch
         WHERE c.state = 'open' AND r.state = 'confirmed' AND c.created_at_ms + ? <= ?`,
      ).all(graceS * 1000, nowMs) as Row[];
      const ids = [...due, ...corr].map((r) => Number(r.id));
      const upd = this.#s(`UPDATE batches SET state = 'sealed', updated_at_ms = ? WHERE id = ? AND state = 'open'`);
      for (const id of ids) upd.run(nowMs, id);
      // a correction of a failed regular batch can never be attested (the registry takes a
      // correction only of an attestation it holds): fail it too, so that `status` and /metrics
      // show its readings instead of an open batch waiting forever
      this.#s(
        `UPDATE batches SET state = 'failed', updated_at_ms = ?,
           error = 'regular batch ' || correction_of_batch || ' failed: its correction cannot be attested; resolve the regular batch first'
         WHERE state = 'open' AND correction_of_batch IN (SELECT id FROM batches WHERE state = 'failed' AND correction_of_batch IS NULL)`,
      ).run(nowMs);
      return ids;
    });
  }
  getBatch(id: number): Batch | null {
    const r = this.#s(`SELECT * FROM batches WHERE id = ?`).get(id) as Row | undefined;
    return r ? toBatch(r) : null;
  }
  getBatchByAttestation(attestationId: string): Batch | null {
    const r = this.#s(`SELECT * FROM batches WHERE attestation_id = ?`).get(attestationId.toLowerCase()) as
      Row | undefined;
    return r ? toBatch(r) : null;
  }
  listBatches(q: { states?: BatchState[]; facilityId?: string; limit?: number }): Batch[] {
    const where: string[] = [];
    const args: (string | number)[] = [];
    if (q.states?.length) (where.push(`state IN (${q.states.map(() => "?").join(",")})`), args.push(...q.states));
    if (q.facilityId) (where.push("facility_id = ?"), args.push(q.facilityId));
    const sql = `SELECT * FROM batches ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY period_start, id LIMIT ?`;
    return (this.db.prepare(sql).all(...args, q.limit ?? 1000) as Row[]).map(toBatch);
  }
  #patchSql(patch: BatchPatch): { sets: string[]; args: (string | number | null)[] } {
    const sets: string[] = [];
    const args: (string | number | null)[] = [];
    for (const [k, v] of Object.entries(patch) as [keyof BatchPatch, unknown][]) {
      if (v === undefined) continue;
      sets.push(`${PATCH_COLUMNS[k]} = ?`);
      args.push(k === "txHashes" ? JSON.stringify(v) : (v as string | number | null));
    }
    return { sets, args };
  }
  transition(
    id: number,
    from: BatchState[],
    to: BatchState,
    patch: BatchPatch = {},
    opts: { afterEarlier?: boolean } = {},
  ): boolean {
    const { sets, args } = this.#patchSql(patch);
    // afterEarlier: a regular batch moves only while no earlier regular batch of its facility is
    // unfinished (or failed and holding, types.ts holdsLaterBatches). Checked here, on the thread that
    // also creates batches, so that one created for an earlier window since the pipeline looked
    // (storage #batchFor) is never overtaken by a transaction that would make it too late.
    const guard = opts.afterEarlier
      ? ` AND (correction_of_batch IS NOT NULL OR NOT EXISTS (SELECT 1 FROM batches o
            WHERE o.facility_id = batches.facility_id AND o.correction_of_batch IS NULL AND o.period_start < batches.period_start
              AND (o.state IN ('open', 'sealed', 'pinned', 'signed', 'submitted')
                OR ${holdsLaterSql("o")})))`
      : "";
    const sql = `UPDATE batches SET state = ?, updated_at_ms = ?${sets.length ? `, ${sets.join(", ")}` : ""}
      WHERE id = ? AND state IN (${from.map(() => "?").join(",")})${guard}`;
    const run = () => this.#s(sql).run(to, Date.now(), ...args, id, ...from);
    // a transaction is broadcast right after this commit: it and every state before it must be on disk
    const r = patch.txRaw ? this.#durable(run) : run();
    return Number(r.changes) === 1;
  }
  patchBatch(id: number, state: BatchState, patch: BatchPatch): boolean {
    const { sets, args } = this.#patchSql(patch);
    if (!sets.length) return false;
    const sql = `UPDATE batches SET updated_at_ms = ?, ${sets.join(", ")} WHERE id = ? AND state = ?`;
    const run = () => this.#s(sql).run(Date.now(), ...args, id, state);
    const r = patch.txRaw ? this.#durable(run) : run();
    return Number(r.changes) === 1;
  }
  batchStateCounts(): Record<BatchState, number> {
    const out = Object.fromEntries(BATCH_STATES.map((s) => [s, 0])) as Record<BatchState, number>;
    for (const r of this.#s(`SELECT state, COUNT(*) AS n FROM batches GROUP BY state`).all() as Row[]) {
      out[r.state as BatchState] = Number(r.n);
    }
    return out;
  }
  backlog(): number {
    return Number(
      (
        this.#s(
          `SELECT COALESCE(SUM(reading_count), 0) AS n FROM batches WHERE state NOT IN ('confirmed')`,
        ).get() as Row
      ).n,
    );
  }
  maxTxNonce(sender: string): number | null {
    // in flight only: a confirmed batch's nonce is below the account's count on its chain, and
    // counting it would open a nonce gap if the node is pointed at a fresh chain; and of `sender`
    // only: another account's nonces (before a key rotation) would open one just the same
    const r = this.#s(
      `SELECT MAX(tx_nonce) AS n FROM batches WHERE state = 'submitted' AND (tx_from IS NULL OR lower(tx_from) = lower(?))`,
    ).get(sender) as Row;
    return r.n === null ? null : Number(r.n);
  }

  retryFailedBatch(id: number, nowMs: number): OperatorOutcome {
    return this.#durable(() =>
      this.#tx((): OperatorOutcome => {
        const b = this.getBatch(id);
        const refuse = (code: OperatorRefusal, reason: string) => refusal(id, code, reason);
        if (!b) return refuse("unknown-batch", noBatch(id));
        if (b.state !== "failed")
          return refuse("not-failed", `batch ${id} is ${b.state}: only a failed batch is retried`);
        if (b.readingCount === 0) {
          return refuse("no-readings", `batch ${id} has no readings: there is nothing to attest`);
        }
        if (b.correctionOfBatch !== null) {
          const regular = this.getBatch(b.correctionOfBatch);
          if (regular?.state === "failed") {
            return refuse(
              "regular-failed",
              `batch ${id} corrects regular batch ${b.correctionOfBatch}, which failed: retry ${b.correctionOfBatch}, which takes its corrections along`,
            );
          }
        }
        const was = `${b.error ?? "no reason recorded"}${b.abandonedAt === null ? "" : `; abandoned at ${new Date(b.abandonedAt).toISOString()}`}`;
        const note = `retried by the operator at ${new Date(nowMs).toISOString()} (was: ${was})`;
        const state = this.#restart(b, note, nowMs);
        const corrections: number[] = [];
        if (b.correctionOfBatch === null) {
          for (const c of this.listBatches({ facilityId: b.facilityId, states: ["failed"] })) {
            if (c.correctionOfBatch !== id || c.readingCount === 0) continue;
            this.#restart(
              c,
              `retried with regular batch ${id} at ${new Date(nowMs).toISOString()} (was: ${c.error ?? "no reason recorded"})`,
              nowMs,
            );
            corrections.push(c.id);
          }
        }
        return { batch: id, done: true, state, readings: b.readingCount, corrections, abandonedAt: null };
      }),
    );
  }

  /**
   * A failed batch back to where its next attempt starts: `pinned` when its bundle was pinned (a
   * reverted submission: signed again, at a new nonce), else `sealed` (a regular batch) or `open`
   * (a correction failed with its regular batch: sealed once that one is confirmed).
   */
  #restart(b: Batch, note: string, nowMs: number): BatchState {
    const state: BatchState = b.bundleCid ? "pinned" : b.correctionOfBatch === null ? "sealed" : "open";
    this.#s(
      `UPDATE batches SET state = ?, updated_at_ms = ?, signatures = NULL, tx_hash = NULL, tx_nonce = NULL,
         tx_from = NULL, tx_raw = NULL, tx_sent_at_ms = NULL, tx_hashes = '[]', block_number = NULL,
         attempts = 0, next_attempt_at_ms = 0, error = ?, abandoned_at_ms = NULL
       WHERE id = ? AND state = 'failed'`,
    ).run(state, nowMs, note, b.id);
    return state;
  }

  countHoldingBatches(): number {
    const r = this.#s(`SELECT COUNT(*) AS n FROM batches WHERE ${holdsLaterSql("batches")}`).get() as Row;
    return Number(r.n);
  }

  abandonFailedBatch(id: number, nowMs: number): OperatorOutcome {
    return this.#durable(() =>
      this.#tx((): OperatorOutcome => {
        const b = this.getBatch(id);
        const refuse = (code: OperatorRefusal, reason: string) => refusal(id, code, reason);
        if (!b) return refuse("unknown-batch", noBatch(id));
        if (b.state !== "failed") {
          return refuse("not-failed", `batch ${id} is ${b.state}: only a failed batch is abandoned`);
        }
        if (b.abandonedAt !== null) {
          return refuse(
            "already-abandoned",
            `batch ${id} was abandoned at ${new Date(b.abandonedAt).toISOString()} already: it holds nothing back; retry ${id} takes it back while the registry has no later period of its facility`,
          );
        }
        this.#s(`UPDATE batches SET updated_at_ms = ?, abandoned_at_ms = ? WHERE id = ? AND state = 'failed'`).run(
          nowMs,
          nowMs,
          id,
        );
        return {
          batch: id,
          done: true,
          state: "failed",
          readings: b.readingCount,
          corrections: [],
          abandonedAt: nowMs,
        };
      }),
    );
  }

  addApiKey(k: Omit<ApiKey, "id" | "revokedAtMs">): number {
    return this.#durable(() => {
      const r = this.#s(`INSERT INTO api_keys (label, scope, subject, hash, created_at_ms) VALUES (?,?,?,?,?)`).run(
        k.label,
        k.scope,
        k.subject,
        k.hash,
        k.createdAtMs,
      );
      return Number(r.lastInsertRowid);
    });
  }
  #toKey(r: Row): ApiKey {
    return {
      id: Number(r.id),
      label: r.label as string,
      scope: r.scope as ApiKey["scope"],
      subject: r.subject as string,
      hash: r.hash as string,
      createdAtMs: Number(r.created_at_ms),
      revokedAtMs: r.revoked_at_ms === null ? null : Number(r.revoked_at_ms),
    };
  }
  findApiKey(hash: string): ApiKey | null {
    const r = this.#s(`SELECT * FROM api_keys WHERE hash = ? AND revoked_at_ms IS NULL`).get(hash) as Row | undefined;
    return r ? this.#toKey(r) : null;
  }
  listApiKeys(): ApiKey[] {
    return (this.#s(`SELECT * FROM api_keys ORDER BY id`).all() as Row[]).map((r) => this.#toKey(r));
  }
  revokeApiKey(id: number, nowMs: number): boolean {
    const sql = `UPDATE api_keys SET revoked_at_ms = ? WHERE id = ? AND revoked_at_ms IS NULL`;
    return this.#durable(() => Number(this.#s(sql).run(nowMs, id).changes) === 1);
  }
  putEvidence(e: Evidence): void {
    return this.#durable(() => {
      this.#s(
        `INSERT OR IGNORE INTO evidence (sha256, cid, filename, media_type, size_bytes, facility_id, created_at_ms) VALUES (?,?,?,?,?,?,?)`,
      ).run(e.sha256, e.cid, e.filename, e.mediaType, e.sizeBytes, e.facilityId, e.createdAtMs);
    });
  }
  getEvidence(sha256: string): Evidence | null {
    const r = this.#s(`SELECT * FROM evidence WHERE sha256 = ?`).get(sha256) as Row | undefined;
    if (!r) return null;
    return {
      sha256: r.sha256 as string,
      cid: r.cid as string,
      filename: r.filename as string,
      mediaType: r.media_type as string,
      sizeBytes: Number(r.size_bytes),
      facilityId: r.facility_id as string,
      createdAtMs: Number(r.created_at_ms),
    };
  }
  pruneHeartbeats(beforeMs: number, limit: number): number {
    // heartbeats are inserted as they arrive, so the oldest have the lowest ids: look only at the
    // first `limit` rows (a bounded scan, also when there is nothing to delete)
    const r = this.#s(
      `DELETE FROM heartbeats WHERE id IN (SELECT id FROM heartbeats ORDER BY id LIMIT ?) AND received_at_ms < ?`,
    ).run(limit, beforeMs);
    return Number(r.changes);
  }

  addHeartbeat(h: NewHeartbeat): void {
    this.#s(
      `INSERT INTO heartbeats (device_id, facility_id, received_at_ms, ts, last_seq, buffer_depth, dropped, rssi_dbm, uptime_s, fw, faults, verified) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)`,
    ).run(
      h.deviceId,
      h.facilityId,
      h.receivedAtMs,
      h.ts,
      h.lastSeq,
      h.bufferDepth,
      h.dropped,
      h.rssiDbm,
      h.uptimeS,
      h.fw,
      JSON.stringify(h.faults),
      h.verified ? 1 : 0,
    );
  }
  deviceHealth(q: { facilityId?: string; sinceMs: number; gapMs: number }): DeviceHealth[] {
    const byDevice = new Map<string, DeviceHealth>();
    const entry = (deviceId: string, facilityId: string | null): DeviceHealth => {
      let e = byDevice.get(deviceId);
      if (!e) {
        e = {
          deviceId,
          facilityId,
          readingCount: 0,
          lastReadingTs: null,
          lastReadingReceivedAtMs: null,
          heartbeatCount: 0,
          unverifiedHeartbeatCount: 0,
          lastHeartbeatAtMs: null,
          lastHeartbeat: null,
          maxHeartbeatGapMs: null,
          heartbeatGaps: [],
          heartbeatGapCount: 0,
          rejected: {},
          rejectedTotal: 0,
        };
        byDevice.set(deviceId, e);
      }
      e.facilityId ??= facilityId;
      return e;
    };
    const fac = q.facilityId ? "WHERE facility_id = ?" : "";
    const facArgs = q.facilityId ? [q.facilityId] : [];
    const readings = this.db
      .prepare(
        `SELECT device_id, MAX(facility_id) AS facility_id, COUNT(*) AS n, MAX(ts) AS last_ts, MAX(received_at_ms) AS last_rx
         FROM readings ${fac} GROUP BY device_id`,
      )
      .all(...facArgs) as Row[];
    for (const r of readings) {
      const e = entry(r.device_id as string, r.facility_id as string);
      e.readingCount = Number(r.n);
      e.lastReadingTs = Number(r.last_ts);
      e.lastReadingReceivedAtMs = Number(r.last_rx);
    }
    const hbCounts = this.db
      .prepare(
        `SELECT device_id, MAX(facility_id) AS facility_id, SUM(verified) AS ok, SUM(1 - verified) AS bad,
           MAX(CASE WHEN verified = 1 THEN id END) AS last_id
         FROM heartbeats ${fac} GROUP BY device_id`,
      )
      .all(...facArgs) as Row[];
    const lastRow = this.#s(`SELECT * FROM heartbeats WHERE id = ?`);
    for (const r of hbCounts) {
      const e = entry(r.device_id as string, r.facility_id as string);
      e.heartbeatCount = Number(r.ok);
      e.unverifiedHeartbeatCount = Number(r.bad);
      if (r.last_id === null) continue;
      const h = lastRow.get(r.last_id as number) as Row;
      const n = (v: unknown) => (v === null ? null : Number(v));
      e.lastHeartbeatAtMs = Number(h.received_at_ms);
      e.lastHeartbeat = {
        receivedAtMs: Number(h.received_at_ms),
        ts: n(h.ts),
        lastSeq: n(h.last_seq),
        bufferDepth: n(h.buffer_depth),
        dropped: n(h.dropped),
        rssiDbm: n(h.rssi_dbm),
        uptimeS: n(h.uptime_s),
        fw: (h.fw as string | null) ?? null,
        faults: JSON.parse(h.faults as string) as string[],
      };
    }
    // consecutive verified heartbeats of a device since sinceMs; a gap is the time between two of them
    const gaps = this.db
      .prepare(
        `SELECT device_id, prev, received_at_ms FROM (
           SELECT device_id, received_at_ms,
             LAG(received_at_ms) OVER (PARTITION BY device_id ORDER BY received_at_ms, id) AS prev
           FROM heartbeats WHERE verified = 1 AND received_at_ms >= ? ${q.facilityId ? "AND facility_id = ?" : ""}
         ) WHERE prev IS NOT NULL ORDER BY received_at_ms DESC`,
      )
      .all(q.sinceMs, ...facArgs) as Row[];
    for (const g of gaps) {
      const e = entry(g.device_id as string, null);
      const fromMs = Number(g.prev);
      const toMs = Number(g.received_at_ms);
      e.maxHeartbeatGapMs = Math.max(e.maxHeartbeatGapMs ?? 0, toMs - fromMs);
      if (toMs - fromMs > q.gapMs) {
        e.heartbeatGapCount++;
        if (e.heartbeatGaps.length < 20) e.heartbeatGaps.push({ fromMs, toMs });
      }
    }
    // dead letters carry a device id only; a facility's are those of the devices seen in it
    const dead = this.db
      .prepare(
        `SELECT device_id, reason, COUNT(*) AS n FROM dead_letters WHERE device_id IS NOT NULL GROUP BY device_id, reason`,
      )
      .all() as Row[];
    for (const d of dead) {
      const id = d.device_id as string;
      if (q.facilityId && !byDevice.has(id)) continue;
      const e = entry(id, null);
      e.rejected[d.reason as keyof DeviceHealth["rejected"]] = Number(d.n);
      e.rejectedTotal += Number(d.n);
    }
    return [...byDevice.values()].sort((a, b) => a.deviceId.localeCompare(b.deviceId));
  }
  getMeta(key: string): string | null {
    const r = this.#s(`SELECT value FROM meta WHERE key = ?`).get(key) as Row | undefined;
    return r ? (r.value as string) : null;
  }
  setMeta(key: string, value: string): void {
    return this.#durable(() => {
      this.#s(`INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value`).run(
        key,
        value,
      );
    });
  }
  close(): void {
    if (this.db.isOpen) this.db.close();
  }
}

/** The stored fields of a reading that go into a bundle. */
type BundleRow = Pick<StoredReading, "digest" | "canonical" | "sig" | "keyId" | "flagged" | "anomalyScore">;

function toBundleRow(r: Row): BundleRow {
  return {
    digest: r.digest as string,
    canonical: r.canonical as string,
    sig: r.sig as string,
    keyId: (r.key_id as string | null) ?? null,
    flagged: Number(r.flagged) === 1,
    anomalyScore: r.anomaly_score === null ? null : Number(r.anomaly_score),
  };
}
