/**
 * The node's storage logic once, over any SQL database with a synchronous driver (`SqlDriver`):
 * SQLite embedded (storage/sqlite.ts) and PostgreSQL in production (storage/postgres.ts). The
 * statements are written in the dialect both share: `?` placeholders (the PostgreSQL driver
 * numbers them), `INSERT … ON CONFLICT DO NOTHING`, `RETURNING id`, and a `rowid` column on
 * `readings` (SQLite's own; a BIGSERIAL in PostgreSQL). Writers are serialised by the driver
 * (SQLite's write lock; a PostgreSQL advisory lock), so a reading's rowid grows in commit order.
 */
import type {
  ApiKey,
  CosignOutcome,
  CosignRecord,
  Batch,
  BatchDeviceSpan,
  BatchPatch,
  BatchState,
  ConfirmedCursor,
  ListBatchesQuery,
  DeadLetter,
  DeviceHealth,
  Evidence,
  FailedBatches,
  IngestOutcome,
  NewDeadLetter,
  NewHeartbeat,
  NewReading,
  OperatorOutcome,
  OperatorRefusal,
  SetAside,
  Storage,
  StoredReading,
} from "./types.ts";
import { BATCH_STATES, DEVICE_HEALTH_MAX_LIMIT } from "./types.ts";
import type { IngestWriter } from "./ingest-writer.ts";

export type SqlArg = string | number | bigint | null;
export type Row = Record<string, unknown>;

/**
 * A synchronous connection to one database. Every write, in `tx` or `write`, is serialised with
 * every other writer of the database (other connections and processes included), as SQLite's
 * `BEGIN IMMEDIATE` does; `read` sees one snapshot; `durable` runs its commits flushed to disk
 * whatever the connection's usual setting.
 */
export interface SqlDriver {
  get(sql: string, args?: readonly SqlArg[]): Row | undefined;
  all(sql: string, args?: readonly SqlArg[]): Row[];
  /** Runs a statement; the number of rows it changed. */
  run(sql: string, args?: readonly SqlArg[]): number;
  /** `fn` in one write transaction (inside one already: just `fn`). */
  tx<T>(fn: () => T): T;
  /** A single write statement's `fn`: on its own it commits as one serialised transaction. */
  write<T>(fn: () => T): T;
  /** `fn`'s reads in one snapshot (inside a transaction already: just `fn`). */
  read<T>(fn: () => T): T;
  durable<T>(fn: () => T): T;
  readonly isOpen: boolean;
  close(): void;
}

/** types.ts `holdsLaterBatches` as SQL over the batches row `t` (a table alias, no user input). */
const holdsLaterSql = (t: string) =>
  `(${t}.state = 'failed' AND ${t}.correction_of_batch IS NULL AND ${t}.reading_count > 0 AND ${t}.abandoned_at_ms IS NULL)`;

const DIGEST_RE = /^0x[0-9a-f]{64}$/;

/**
 * The lookup key of a reading digest (`0x` + 64 lowercase hex): its first 13 hex digits (52
 * bits) as an integer, exact in a JS number and in SQLite's INTEGER. Null for anything else.
 */
export function digestKey(digest: string): number | null {
  return DIGEST_RE.test(digest) ? parseInt(digest.slice(2, 15), 16) : null;
}

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
  abandonedAt: "abandoned_at_ms",
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

/** A reading to insert: its batch, its digest's key, and where its outcome goes. */
export type ReadingRow = { reading: NewReading; digestKey: number; batchId: number; at: number };

/** The columns a reading is inserted with, in the order of `readingValues`. */
export const READING_COLUMNS = [
  "digest",
  "digest_key",
  "device_id",
  "facility_id",
  "seq",
  "ts",
  "kind",
  "canonical",
  "sig",
  "key_id",
  "source",
  "received_at_ms",
  "anomaly_score",
  "flagged",
  "fossil_mg",
  "biogenic_mg",
  "methodology_id",
  "factor_set_id",
  "result_json",
  "batch_id",
] as const;

export function readingValues({ reading: a, digestKey: dkey, batchId }: ReadingRow): SqlArg[] {
  return [
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
  ];
}

/** Largest raw payload kept in a dead letter; the rest is cut (the reason says so). */
const MAX_DEAD_PAYLOAD = 65_536;

/**
 * A dead letter's text with each NUL character (U+0000) written as the six characters `\u0000`.
 * A raw payload may hold NULs (a device's, or an attacker's, bytes as received); PostgreSQL's text
 * cannot hold one (the insert, and with it the whole group commit, would fail) and SQLite's reads
 * stop at the first. Written out, the dead letter keeps the whole payload on both, and shows it.
 */
export const showNul = (text: string): string =>
  text.includes("\u0000") ? text.replaceAll("\u0000", "\\u0000") : text;

/**
 * Every `Storage` method over a `SqlDriver`; the drivers' classes (SqliteStorage,
 * PostgresStorage) open the connection and its schema.
 */
export class SqlStorage implements Storage {
  protected readonly sql: SqlDriver;

  constructor(driver: SqlDriver) {
    this.sql = driver;
  }

  /** A connection of its own on a writer thread for the ingest commits; null: commits run on the caller's. */
  openIngestWriter(): IngestWriter | null {
    return null;
  }

  #insertDead(d: NewDeadLetter): number {
    const payload =
      d.payload.length > MAX_DEAD_PAYLOAD
        ? `${d.payload.slice(0, MAX_DEAD_PAYLOAD)}…[cut, ${d.payload.length} chars]`
        : d.payload;
    const text = (v: string | null | undefined) => (v == null ? null : showNul(v));
    const r = this.sql.get(
      `INSERT INTO dead_letters (received_at_ms, source, reason, detail, payload, device_id, seq, digest) VALUES (?,?,?,?,?,?,?,?) RETURNING id`,
      [
        d.receivedAtMs,
        d.source,
        d.reason,
        showNul(d.detail),
        showNul(payload),
        text(d.deviceId),
        d.seq ?? null,
        text(d.digest),
      ],
    );
    return Number(r!.id);
  }

  /** Inserts an open batch; its id. */
  #newBatch(facilityId: string, start: number, end: number, correctionOf: number | null, nowMs: number): number {
    const r = this.sql.get(
      `INSERT INTO batches (facility_id, period_start, period_end, correction_of_batch, state, created_at_ms, updated_at_ms) VALUES (?,?,?,?, 'open', ?, ?) RETURNING id`,
      [facilityId, start, end, correctionOf, nowMs, nowMs],
    );
    return Number(r!.id);
  }

  /**
   * Finds the batch a reading joins, creating it when needed (docs/protocol.md, the no-double-attestation
   * rule): the open regular batch of its period; if that period's regular batch is sealed or later, the
   * open correction of it; if there is no regular batch, a new one for its window (never overlapping
   * another), unless a regular batch at or after that window was already sent ("too-late", null: the
   * registry would reject a regular batch that starts before its frontier). A later batch sealed but
   * not sent yet does not make it too late: it waits for this earlier one (pipeline
   * `#blockedByEarlier`, and `transition`'s `afterEarlier` guard when it is sent).
   * Also too late, with why (a string): a window whose regular batch failed (docs/oracle.md), and
   * a period whose regular batch was pinned with another
   * methodology than the reading's (a node upgraded since). The registry takes a correction only
   * of its original's methodology (`AttestationRegistryMethodologyMismatch`: CarbonCredits scopes a
   * project by facility and methodology), and this node computes with its own only.
   */
  #batchFor(
    facilityId: string,
    ts: number,
    methodologyId: string,
    windowS: number,
    nowMs: number,
  ): { id: number; start: number; end: number } | string | null {
    const regular = this.sql.get(
      `SELECT id, state, period_start, period_end, methodology_id FROM batches WHERE facility_id = ? AND correction_of_batch IS NULL AND period_start <= ? AND period_end > ? LIMIT 1`,
      [facilityId, ts, ts],
    );
    if (regular) {
      const start = Number(regular.period_start);
      const end = Number(regular.period_end);
      const regularId = Number(regular.id);
      if (regular.state === "open") return { id: regularId, start, end };
      if (regular.state === "failed")
        return `its window's regular batch ${regularId} (${start}..${end}) failed: a reading of a failed window is not accepted (see \`carbonproof-oracle status\`; \`retry\` or \`abandon\` the batch)`;
      const attestedWith = regular.methodology_id === null ? null : String(regular.methodology_id);
      if (attestedWith !== null && attestedWith.toLowerCase() !== methodologyId.toLowerCase())
        return `period ${start}..${end} of ${facilityId} was attested with methodology ${attestedWith} (batch ${regularId}); this node computes with ${methodologyId}, and a correction keeps its original's methodology`;
      const corr = this.sql.get(`SELECT id FROM batches WHERE correction_of_batch = ? AND state = 'open'`, [regularId]);
      if (corr) return { id: Number(corr.id), start, end };
      return { id: this.#newBatch(facilityId, start, end, regularId, nowMs), start, end };
    }
    // the window, cut where the regular batches next to it end and begin (after a change of
    // windowS between runs they need not be aligned with it): periods never overlap
    const before = this.sql.get(
      `SELECT MAX(period_end) AS e FROM batches WHERE facility_id = ? AND correction_of_batch IS NULL AND period_end <= ?`,
      [facilityId, ts],
    )!;
    const after = this.sql.get(
      `SELECT MIN(period_start) AS s FROM batches WHERE facility_id = ? AND correction_of_batch IS NULL AND period_start > ?`,
      [facilityId, ts],
    )!;
    const windowStart = Math.floor(ts / windowS) * windowS;
    const periodStart = before.e === null ? windowStart : Math.max(windowStart, Number(before.e));
    const periodEnd = after.s === null ? windowStart + windowS : Math.min(windowStart + windowS, Number(after.s));
    // the registry's frontier once the transactions in flight are mined; also those of a batch
    // handed back to `pinned` or `signed` to be sent again (a previous key's transaction, or a
    // nonce taken elsewhere: pipeline #handOver), which may still be mined (review: a batch
    // opened behind it could then never go on-chain, and held its facility)
    const frontier = this.sql.get(
      `SELECT MAX(period_end) AS f FROM batches WHERE facility_id = ? AND correction_of_batch IS NULL
         AND (state IN ('submitted', 'confirmed') OR (state IN ('pinned', 'signed') AND tx_hashes <> '[]'))`,
      [facilityId],
    )!;
    if (frontier.f !== null && Number(frontier.f) > periodStart) return null;
    return { id: this.#newBatch(facilityId, periodStart, periodEnd, null, nowMs), start: periodStart, end: periodEnd };
  }

  commitIngest(
    accepted: NewReading[],
    rejected: NewDeadLetter[],
    opts: { windowS: number; nowMs: number },
  ): { readings: IngestOutcome[]; deadLetterIds: number[] } {
    return this.sql.durable(() => this.sql.tx(() => this.#ingestTx(accepted, rejected, opts)));
  }

  #ingestTx(
    accepted: NewReading[],
    rejected: NewDeadLetter[],
    opts: { windowS: number; nowMs: number },
  ): { readings: IngestOutcome[]; deadLetterIds: number[] } {
    const deadLetterIds = rejected.map((d) => this.#insertDead(d));
    const added = new Map<number, number>();
    // per facility and window, the batch last found (its period may be cut shorter than the window)
    const cache = new Map<string, { id: number; start: number; end: number }>();
    const readings: (IngestOutcome | null)[] = [];
    const reject = (a: NewReading, reason: "replay" | "too-late", detail: string): IngestOutcome => {
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
    // each reading's batch first (a too-late one is rejected here), then the rows inserted together
    const rows: ReadingRow[] = [];
    for (const a of accepted) {
      const key = `${a.facilityId}\u0000${Math.floor(a.ts / opts.windowS)}`;
      let batch = cache.get(key) ?? null;
      if (!batch || a.ts < batch.start || a.ts >= batch.end) {
        // a too-late answer is not cached: it can depend on where in the window ts lies (the
        // readings of one call share one methodology, the node's: it is not in the key)
        const found = this.#batchFor(a.facilityId, a.ts, a.methodologyId, opts.windowS, opts.nowMs);
        if (typeof found === "string") {
          readings.push(reject(a, "too-late", found));
          continue;
        }
        batch = found;
        if (batch) cache.set(key, batch);
      }
      if (batch === null) {
        readings.push(
          reject(
            a,
            "too-late",
            `period of ts ${a.ts} is behind the attested frontier of ${a.facilityId} and has no regular batch`,
          ),
        );
        continue;
      }
      const dkey = digestKey(a.digest);
      if (dkey === null) throw new Error(`reading digest ${a.digest} is not 0x + 64 lowercase hex`);
      rows.push({ reading: a, digestKey: dkey, batchId: batch.id, at: readings.length });
      readings.push(null);
    }
    const inserted = this.insertReadings(rows);
    for (let k = 0; k < rows.length; k++) {
      const { reading: a, batchId, at } = rows[k]!;
      if (!inserted[k]) {
        const same = this.sql.get(`SELECT digest FROM readings WHERE device_id = ? AND seq = ?`, [a.deviceId, a.seq]);
        readings[at] = reject(
          a,
          "replay",
          same?.digest === a.digest
            ? `(${a.deviceId}, ${a.seq}) already stored with the same digest (a redelivery or a replay)`
            : `(${a.deviceId}, ${a.seq}) already stored with a different digest ${String(same?.digest ?? "(same digest, other seq)")}`,
        );
        continue;
      }
      added.set(batchId, (added.get(batchId) ?? 0) + 1);
      readings[at] = { status: "stored", digest: a.digest, batchId };
    }
    for (const [batchId, n] of added)
      this.sql.run(`UPDATE batches SET reading_count = reading_count + ? WHERE id = ?`, [n, batchId]);
    return { readings: readings as IngestOutcome[], deadLetterIds };
  }

  /**
   * Inserts readings, each unless its (device, seq) is stored already (an earlier one of `rows`
   * included); for each row, whether it was inserted. One statement a row here (SQLite's are
   * prepared and local); PostgreSQL inserts them all in one (storage/postgres.ts).
   */
  protected insertReadings(rows: readonly ReadingRow[]): boolean[] {
    const insert = `INSERT INTO readings (${READING_COLUMNS.join(", ")})
        VALUES (${READING_COLUMNS.map(() => "?").join(",")}) ON CONFLICT DO NOTHING`;
    return rows.map((r) => this.sql.run(insert, readingValues(r)) === 1);
  }

  hasReading(deviceId: string, seq: number): boolean {
    return this.sql.get(`SELECT 1 AS one FROM readings WHERE device_id = ? AND seq = ?`, [deviceId, seq]) !== undefined;
  }
  maxSeq(deviceId: string): number | null {
    const r = this.sql.get(`SELECT MAX(seq) AS m FROM readings WHERE device_id = ?`, [deviceId])!;
    return r.m === null ? null : Number(r.m);
  }
  getReading(digest: string): StoredReading | null {
    const d = digest.toLowerCase();
    const key = digestKey(d);
    if (key === null) return null;
    const r = this.sql.get(`SELECT * FROM readings WHERE digest_key = ? AND digest = ?`, [key, d]);
    return r ? toReading(r) : null;
  }
  getReadingByDeviceSeq(deviceId: string, seq: number): StoredReading | null {
    const r = this.sql.get(`SELECT * FROM readings WHERE device_id = ? AND seq = ?`, [deviceId, seq]);
    return r ? toReading(r) : null;
  }
  readingsOfBatch(batchId: number): StoredReading[] {
    return this.sql.all(`SELECT * FROM readings WHERE batch_id = ? ORDER BY digest`, [batchId]).map(toReading);
  }
  bundleReadingsOfBatch(batchId: number): BundleRow[] {
    return this.sql
      .all(
        `SELECT digest, canonical, sig, key_id, flagged, anomaly_score FROM readings WHERE batch_id = ? ORDER BY digest`,
        [batchId],
      )
      .map(toBundleRow);
  }
  /**
   * The newest reading's rowid and the newest batch's id, read together (one snapshot): a batch
   * with a greater id has every reading after that rowid (batch/window-bundles.ts).
   */
  readingCursor(): { rowid: number; batchId: number } {
    return this.sql.read(() => ({
      rowid: Number(this.sql.get(`SELECT COALESCE(MAX(rowid), 0) AS m FROM readings`)!.m),
      batchId: Number(this.sql.get(`SELECT COALESCE(MAX(id), 0) AS m FROM batches`)!.m),
    }));
  }
  /** Up to `limit` readings stored after rowid `after`, in rowid order, with what a bundle needs of them. */
  bundleReadingsAfter(after: number, limit: number): (BundleRow & { rowid: number; batchId: number })[] {
    const rows = this.sql.all(
      `SELECT rowid, batch_id, digest, canonical, sig, key_id, flagged, anomaly_score FROM readings WHERE rowid > ? ORDER BY rowid LIMIT ?`,
      [after, limit],
    );
    return rows.map((r) => Object.assign(toBundleRow(r), { rowid: Number(r.rowid), batchId: Number(r.batch_id) }));
  }
  /** A batch's readings stored after rowid `after` and how many it has in all, read together. */
  bundleReadingsOfBatchAfter(batchId: number, after: number): { rows: BundleRow[]; count: number } {
    return this.sql.read(() => ({
      rows: this.sql
        .all(
          `SELECT digest, canonical, sig, key_id, flagged, anomaly_score FROM readings WHERE batch_id = ? AND rowid > ? ORDER BY rowid`,
          [batchId, after],
        )
        .map(toBundleRow),
      count: Number(this.sql.get(`SELECT COUNT(*) AS n FROM readings WHERE batch_id = ?`, [batchId])!.n),
    }));
  }
  listReadings(q: { facilityId?: string; deviceId?: string; limit: number; afterTs?: number }): StoredReading[] {
    const where: string[] = [];
    const args: (string | number)[] = [];
    if (q.facilityId) (where.push("facility_id = ?"), args.push(q.facilityId));
    if (q.deviceId) (where.push("device_id = ?"), args.push(q.deviceId));
    if (q.afterTs !== undefined) (where.push("ts > ?"), args.push(q.afterTs));
    const sql = `SELECT * FROM readings ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY ts DESC, seq DESC LIMIT ?`;
    return this.sql.all(sql, [...args, q.limit]).map(toReading);
  }
  recentValues(deviceId: string, limit: number): string[] {
    return this.sql
      .all(`SELECT canonical FROM readings WHERE device_id = ? ORDER BY seq DESC LIMIT ?`, [deviceId, limit])
      .map((r) => r.canonical as string)
      .reverse();
  }
  addDeadLetter(d: NewDeadLetter): number {
    return this.sql.durable(() => this.sql.write(() => this.#insertDead(d)));
  }
  listDeadLetters(q: { limit: number; beforeId?: number; reason?: string; deviceId?: string }): DeadLetter[] {
    const where: string[] = [];
    const args: (string | number)[] = [];
    if (q.beforeId !== undefined) (where.push("id < ?"), args.push(q.beforeId));
    if (q.reason) (where.push("reason = ?"), args.push(q.reason));
    if (q.deviceId) (where.push("device_id = ?"), args.push(q.deviceId));
    const sql = `SELECT * FROM dead_letters ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY id DESC LIMIT ?`;
    return this.sql.all(sql, [...args, q.limit]).map((r) => ({
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
    return Number(this.sql.get(`SELECT COUNT(*) AS n FROM dead_letters`)!.n);
  }

  sealDue(nowMs: number, graceS: number): number[] {
    return this.sql.tx(() => {
      const nowS = Math.floor(nowMs / 1000);
      const due = this.sql.all(
        `SELECT id FROM batches WHERE state = 'open' AND correction_of_batch IS NULL AND period_end + ? <= ? ORDER BY period_start`,
        [graceS, nowS],
      );
      const corr = this.sql.all(
        `SELECT c.id FROM batches c JOIN batches r ON r.id = c.correction_of_batch
         WHERE c.state = 'open' AND r.state = 'confirmed' AND c.created_at_ms + ? <= ?`,
        [graceS * 1000, nowMs],
      );
      const ids = [...due, ...corr].map((r) => Number(r.id));
      for (const id of ids)
        this.sql.run(`UPDATE batches SET state = 'sealed', updated_at_ms = ? WHERE id = ? AND state = 'open'`, [
          nowMs,
          id,
        ]);
      // a correction of a failed regular batch can never be attested (the registry takes a
      // correction only of an attestation it holds): fail it too, so that `status` and /metrics
      // show its readings instead of an open batch waiting forever
      this.sql.run(
        `UPDATE batches SET state = 'failed', updated_at_ms = ?,
           error = 'regular batch ' || correction_of_batch || ' failed: its correction cannot be attested; resolve the regular batch first'
         WHERE state = 'open' AND correction_of_batch IN (SELECT id FROM batches WHERE state = 'failed' AND correction_of_batch IS NULL)`,
        [nowMs],
      );
      return ids;
    });
  }
  getBatch(id: number): Batch | null {
    const r = this.sql.get(`SELECT * FROM batches WHERE id = ?`, [id]);
    return r ? toBatch(r) : null;
  }
  getBatchByAttestation(attestationId: string): Batch | null {
    const r = this.sql.get(`SELECT * FROM batches WHERE attestation_id = ?`, [attestationId.toLowerCase()]);
    return r ? toBatch(r) : null;
  }
  listBatches(q: ListBatchesQuery): Batch[] {
    const where: string[] = [];
    const args: (string | number)[] = [];
    if (q.states?.length) (where.push(`state IN (${q.states.map(() => "?").join(",")})`), args.push(...q.states));
    if (q.facilityId) (where.push("facility_id = ?"), args.push(q.facilityId));
    if (q.afterId !== undefined) (where.push("id > ?"), args.push(q.afterId));
    if (q.afterPeriodStart !== undefined) (where.push("period_start > ?"), args.push(q.afterPeriodStart));
    if (q.after)
      (where.push("(period_start > ? OR (period_start = ? AND id > ?))"),
        args.push(q.after.periodStart, q.after.periodStart, q.after.id));
    const sql = `SELECT * FROM batches ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY period_start, id LIMIT ?`;
    return this.sql.all(sql, [...args, q.limit ?? 1000]).map(toBatch);
  }
  adoptAttestation(
    id: number,
    from: BatchState[],
    readings: NewReading[],
    patch: BatchPatch & { readingCount: number },
    leftovers: readonly string[] = [],
  ): boolean {
    return this.sql.durable(() =>
      this.sql.tx(() => {
        const row = this.sql.get(`SELECT state, facility_id, period_start, period_end FROM batches WHERE id = ?`, [id]);
        if (!row || !from.includes(row.state as BatchState)) return false;
        if (leftovers.length) {
          // the batch's readings the attestation lacks: into its open correction (the one a late
          // reading opened, or a new one), sealed once this batch is confirmed (sealDue)
          const open = this.sql.get(`SELECT id FROM batches WHERE correction_of_batch = ? AND state = 'open'`, [id]);
          const correction = open
            ? Number(open.id)
            : this.#newBatch(String(row.facility_id), Number(row.period_start), Number(row.period_end), id, Date.now());
          for (const digest of leftovers) {
            const key = digestKey(digest);
            if (key === null) throw new Error(`reading digest ${digest} is not 0x + 64 lowercase hex`);
            const moved = this.sql.run(
              `UPDATE readings SET batch_id = ? WHERE digest_key = ? AND digest = ? AND batch_id = ?`,
              [correction, key, digest, id],
            );
            if (moved !== 1) throw new Error(`reading ${digest} is not one of batch ${id}'s: not adopted`);
          }
          this.sql.run(`UPDATE batches SET reading_count = reading_count + ?, updated_at_ms = ? WHERE id = ?`, [
            leftovers.length,
            Date.now(),
            correction,
          ]);
        }
        const rows: ReadingRow[] = readings.map((reading, at) => {
          const key = digestKey(reading.digest);
          if (key === null) throw new Error(`reading digest ${reading.digest} is not 0x + 64 lowercase hex`);
          return { reading, digestKey: key, batchId: id, at };
        });
        // every one stored, and the batch then holds exactly the attested readings: else its proofs
        // would not lead to the attested root, and the throw rolls it all back
        const inserted = this.insertReadings(rows);
        const skipped = rows.filter((_, k) => !inserted[k]);
        if (skipped.length)
          throw new Error(
            `${skipped[0]!.reading.deviceId}#${skipped[0]!.reading.seq} is stored already (${skipped.length} reading(s) of the attestation): not adopted`,
          );
        const count = Number(this.sql.get(`SELECT COUNT(*) AS n FROM readings WHERE batch_id = ?`, [id])!.n);
        if (count !== patch.readingCount)
          throw new Error(`the batch would hold ${count} readings, the attestation ${patch.readingCount}: not adopted`);
        const { sets, args } = this.#patchSql(patch);
        // attested: whatever was given up on it before (an abandoned batch retried for this) no longer holds
        this.sql.run(
          `UPDATE batches SET state = 'confirmed', updated_at_ms = ?, abandoned_at_ms = NULL, ${sets.join(", ")} WHERE id = ?`,
          [Date.now(), ...args, id],
        );
        return true;
      }),
    );
  }
  batchDevices(batchId: number): BatchDeviceSpan[] {
    return this.sql
      .all(
        `SELECT device_id, COUNT(*) AS n, MIN(ts) AS lo, MAX(ts) AS hi, MIN(received_at_ms) AS first
         FROM readings WHERE batch_id = ? GROUP BY device_id ORDER BY device_id`,
        [batchId],
      )
      .map((r) => ({
        deviceId: String(r.device_id),
        count: Number(r.n),
        minTs: Number(r.lo),
        maxTs: Number(r.hi),
        firstReceivedAtMs: Number(r.first),
      }));
  }
  readingsOfBatchDevice(batchId: number, deviceId: string): StoredReading[] {
    return this.sql
      .all(`SELECT * FROM readings WHERE batch_id = ? AND device_id = ? ORDER BY ts, seq`, [batchId, deviceId])
      .map(toReading);
  }
  setAside(id: number, from: BatchState[], aside: readonly SetAside[], error: string, nowMs: number): number | null {
    return this.sql.durable(() =>
      this.sql.tx(() => {
        const row = this.sql.get(
          `SELECT state, facility_id, period_start, period_end, correction_of_batch FROM batches WHERE id = ?`,
          [id],
        );
        if (!row || !from.includes(row.state as BatchState)) return null;
        if (aside.length === 0) return id;
        const held = Number(this.sql.get(`SELECT COUNT(*) AS n FROM readings WHERE batch_id = ?`, [id])!.n);
        const correctionOf = row.correction_of_batch === null ? null : Number(row.correction_of_batch);
        // a correction left with none of its readings fails itself (a failed correction holds
        // nothing back); else the readings go to a failed correction of their own (a regular batch
        // left empty is then never attested, and holds nothing back either: batch/pipeline.ts #pin)
        let target = id;
        if (correctionOf === null || held > aside.length) {
          target = Number(
            this.sql.get(
              `INSERT INTO batches (facility_id, period_start, period_end, correction_of_batch, state, reading_count, error, created_at_ms, updated_at_ms)
               VALUES (?,?,?,?, 'failed', ?, ?, ?, ?) RETURNING id`,
              [
                String(row.facility_id),
                Number(row.period_start),
                Number(row.period_end),
                correctionOf ?? id,
                aside.length,
                error,
                nowMs,
                nowMs,
              ],
            )!.id,
          );
        }
        for (const a of aside) {
          const key = digestKey(a.digest);
          if (key === null) throw new Error(`reading digest ${a.digest} is not 0x + 64 lowercase hex`);
          const r = this.sql.get(
            `SELECT device_id, seq, canonical, sig, key_id, source, received_at_ms FROM readings WHERE digest_key = ? AND digest = ? AND batch_id = ?`,
            [key, a.digest, id],
          );
          if (!r) throw new Error(`reading ${a.digest} is not one of batch ${id}'s: nothing set aside`);
          if (target !== id)
            this.sql.run(`UPDATE readings SET batch_id = ? WHERE digest_key = ? AND digest = ?`, [
              target,
              key,
              a.digest,
            ]);
          // set aside once before (a failed correction retried and checked again): on record already
          const recorded = this.sql.get(
            `SELECT 1 AS found FROM dead_letters WHERE device_id = ? AND digest = ? AND reason = ? LIMIT 1`,
            [String(r.device_id), a.digest, a.reason],
          );
          if (recorded) continue;
          // the envelope as the device sent it (the canonical text is the reading's JSON)
          const keyId = r.key_id === null ? "" : `,"keyId":${JSON.stringify(r.key_id)}`;
          this.#insertDead({
            receivedAtMs: Number(r.received_at_ms),
            source: r.source as NewDeadLetter["source"],
            reason: a.reason,
            detail: `${a.detail}; accepted before the node knew it, set aside from batch ${id} into failed batch ${target}`,
            payload: `{"reading":${String(r.canonical)},"sig":${JSON.stringify(r.sig)}${keyId}}`,
            deviceId: String(r.device_id),
            seq: Number(r.seq),
            digest: a.digest,
          });
        }
        if (target === id) {
          this.sql.run(`UPDATE batches SET state = 'failed', error = ?, updated_at_ms = ? WHERE id = ?`, [
            error,
            nowMs,
            id,
          ]);
        } else {
          this.sql.run(`UPDATE batches SET reading_count = ?, updated_at_ms = ? WHERE id = ?`, [
            held - aside.length,
            nowMs,
            id,
          ]);
        }
        return target;
      }),
    );
  }
  listConfirmedSince(q: { after: ConfirmedCursor; toMs: number; limit: number }): Batch[] {
    // `state = 'confirmed'` as written here with the row comparison: an index range of batches_state_updated
    return this.sql
      .all(
        `SELECT * FROM batches WHERE state = 'confirmed' AND (updated_at_ms, id) > (?, ?) AND updated_at_ms <= ?
         ORDER BY updated_at_ms, id LIMIT ?`,
        [q.after.atMs, q.after.id, q.toMs, q.limit],
      )
      .map(toBatch);
  }
  #patchSql(patch: BatchPatch): { sets: string[]; args: SqlArg[] } {
    const sets: string[] = [];
    const args: SqlArg[] = [];
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
    // unfinished (or failed and holding, types.ts holdsLaterBatches). Checked here, in a write
    // serialised with the one that creates batches, so that one created for an earlier window since
    // the pipeline looked (#batchFor) is never overtaken by a transaction that would make it too late.
    // One awaiting adoption (signed, no signatures: types.ts awaitsAdoption) has its period attested: it holds nothing.
    const guard = opts.afterEarlier
      ? ` AND (correction_of_batch IS NOT NULL OR NOT EXISTS (SELECT 1 FROM batches o
            WHERE o.facility_id = batches.facility_id AND o.correction_of_batch IS NULL AND o.period_start < batches.period_start
              AND ((o.state IN ('open', 'sealed', 'pinned', 'signed', 'submitted')
                  AND NOT (o.state = 'signed' AND o.signatures IS NULL))
                OR ${holdsLaterSql("o")})))`
      : "";
    // a confirmed batch is abandoned by no one (one retried to be taken as a record had been)
    if (to === "confirmed" && patch.abandonedAt === undefined) sets.push("abandoned_at_ms = NULL");
    const sql = `UPDATE batches SET state = ?, updated_at_ms = ?${sets.length ? `, ${sets.join(", ")}` : ""}
      WHERE id = ? AND state IN (${from.map(() => "?").join(",")})${guard}`;
    const run = () => this.sql.write(() => this.sql.run(sql, [to, Date.now(), ...args, id, ...from]));
    // a transaction is broadcast right after this commit: it and every state before it must be on disk
    return (patch.txRaw ? this.sql.durable(run) : run()) === 1;
  }
  patchBatch(id: number, state: BatchState, patch: BatchPatch): boolean {
    const { sets, args } = this.#patchSql(patch);
    if (!sets.length) return false;
    const sql = `UPDATE batches SET updated_at_ms = ?, ${sets.join(", ")} WHERE id = ? AND state = ?`;
    const run = () => this.sql.write(() => this.sql.run(sql, [Date.now(), ...args, id, state]));
    return (patch.txRaw ? this.sql.durable(run) : run()) === 1;
  }
  batchStateCounts(): Record<BatchState, number> {
    const out = Object.fromEntries(BATCH_STATES.map((s) => [s, 0])) as Record<BatchState, number>;
    for (const r of this.sql.all(`SELECT state, COUNT(*) AS n FROM batches GROUP BY state`)) {
      out[r.state as BatchState] = Number(r.n);
    }
    return out;
  }
  backlog(): number {
    return Number(
      this.sql.get(`SELECT COALESCE(SUM(reading_count), 0) AS n FROM batches WHERE state NOT IN ('confirmed')`)!.n,
    );
  }
  maxTxNonce(sender: string): number | null {
    // in flight only: a confirmed batch's nonce is below the account's count on its chain, and
    // counting it would open a nonce gap if the node is pointed at a fresh chain; and of `sender`
    // only: another account's nonces (before a key rotation) would open one just the same
    const r = this.sql.get(
      `SELECT MAX(tx_nonce) AS n FROM batches WHERE state = 'submitted' AND (tx_from IS NULL OR lower(tx_from) = lower(CAST(? AS TEXT)))`,
      [sender],
    )!;
    return r.n === null ? null : Number(r.n);
  }

  retryFailedBatch(id: number, nowMs: number, opts: { adopt?: boolean } = {}): OperatorOutcome {
    return this.sql.durable(() =>
      this.sql.tx((): OperatorOutcome => {
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
        const adopt = opts.adopt === true && b.correctionOfBatch === null && b.headerJson !== null;
        const was = `${b.error ?? "no reason recorded"}${b.abandonedAt === null ? "" : `; abandoned at ${new Date(b.abandonedAt).toISOString()}`}`;
        const note = adopt
          ? `retried by the operator at ${new Date(nowMs).toISOString()} to be taken as the record of its period's attestation (was: ${was})`
          : `retried by the operator at ${new Date(nowMs).toISOString()} (was: ${was})`;
        const state = this.#restart(b, note, nowMs, adopt);
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
        return {
          batch: id,
          done: true,
          state,
          readings: b.readingCount,
          corrections,
          abandonedAt: adopt ? b.abandonedAt : null,
        };
      }),
    );
  }

  /**
   * A failed batch back to where its next attempt starts: `pinned` when its bundle was pinned (a
   * reverted submission: signed again, at a new nonce), else `sealed` (a regular batch) or `open`
   * (a correction failed with its regular batch: sealed once that one is confirmed).
   */
  #restart(b: Batch, note: string, nowMs: number, adopt = false): BatchState {
    // adopt: never sent, so never signed; whether it holds later batches stays as it was
    const state: BatchState = adopt
      ? "signed"
      : b.bundleCid
        ? "pinned"
        : b.correctionOfBatch === null
          ? "sealed"
          : "open";
    this.sql.run(
      `UPDATE batches SET state = ?, updated_at_ms = ?, signatures = NULL, tx_hash = NULL, tx_nonce = NULL,
         tx_from = NULL, tx_raw = NULL, tx_sent_at_ms = NULL, tx_hashes = '[]', block_number = NULL,
         attempts = 0, next_attempt_at_ms = 0, error = ?${adopt ? "" : ", abandoned_at_ms = NULL"}
       WHERE id = ? AND state = 'failed'`,
      [state, nowMs, note, b.id],
    );
    return state;
  }

  countAwaitingAdoption(): number {
    return Number(
      this.sql.get(
        `SELECT COUNT(*) AS n FROM batches WHERE state = 'signed' AND correction_of_batch IS NULL AND signatures IS NULL`,
      )!.n,
    );
  }

  countHoldingBatches(): number {
    return Number(this.sql.get(`SELECT COUNT(*) AS n FROM batches WHERE ${holdsLaterSql("batches")}`)!.n);
  }

  failedBatches(limit: { holding: number; others: number }): FailedBatches {
    const holds = holdsLaterSql("batches");
    // the newest failures first: nothing changes a failed batch but `abandon` (those are not listed)
    // and `retry` (it leaves the state), so updated_at_ms is when it failed (index batches_state_updated)
    const newest = `ORDER BY updated_at_ms DESC, id DESC LIMIT ?`;
    return this.sql.read(() => {
      const c = this.sql.get(
        `SELECT COUNT(*) AS n, COALESCE(SUM(CASE WHEN ${holds} THEN 1 ELSE 0 END), 0) AS holding,
           COALESCE(SUM(CASE WHEN abandoned_at_ms IS NOT NULL THEN 1 ELSE 0 END), 0) AS abandoned
         FROM batches WHERE state = 'failed'`,
      )!;
      const holding = Number(c.holding);
      const abandoned = Number(c.abandoned);
      return {
        holding: this.sql.all(`SELECT * FROM batches WHERE ${holds} ${newest}`, [limit.holding]).map(toBatch),
        others: this.sql
          .all(`SELECT * FROM batches WHERE state = 'failed' AND abandoned_at_ms IS NULL AND NOT ${holds} ${newest}`, [
            limit.others,
          ])
          .map(toBatch),
        counts: { holding, others: Number(c.n) - holding - abandoned, abandoned },
      };
    });
  }

  abandonFailedBatch(id: number, nowMs: number): OperatorOutcome {
    return this.sql.durable(() =>
      this.sql.tx((): OperatorOutcome => {
        const b = this.getBatch(id);
        const refuse = (code: OperatorRefusal, reason: string) => refusal(id, code, reason);
        if (!b) return refuse("unknown-batch", noBatch(id));
        if (b.state !== "failed") {
          return refuse("not-failed", `batch ${id} is ${b.state}: only a failed batch is abandoned`);
        }
        if (b.abandonedAt !== null) {
          return refuse(
            "already-abandoned",
            `batch ${id} was abandoned at ${new Date(b.abandonedAt).toISOString()} already: it holds nothing back; retry ${id} takes it back while the registry has no later period of its facility (or to be taken as the record of an attestation of exactly its period)`,
          );
        }
        this.sql.run(`UPDATE batches SET updated_at_ms = ?, abandoned_at_ms = ? WHERE id = ? AND state = 'failed'`, [
          nowMs,
          nowMs,
          id,
        ]);
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
    return this.sql.durable(() =>
      this.sql.write(() => {
        const r = this.sql.get(
          `INSERT INTO api_keys (label, scope, subject, hash, created_at_ms) VALUES (?,?,?,?,?) RETURNING id`,
          [k.label, k.scope, k.subject, k.hash, k.createdAtMs],
        );
        return Number(r!.id);
      }),
    );
  }
  findApiKey(hash: string): ApiKey | null {
    const r = this.sql.get(`SELECT * FROM api_keys WHERE hash = ? AND revoked_at_ms IS NULL`, [hash]);
    return r ? toKey(r) : null;
  }
  listApiKeys(): ApiKey[] {
    return this.sql.all(`SELECT * FROM api_keys ORDER BY id`).map(toKey);
  }
  revokeApiKey(id: number, nowMs: number): boolean {
    const sql = `UPDATE api_keys SET revoked_at_ms = ? WHERE id = ? AND revoked_at_ms IS NULL`;
    return this.sql.durable(() => this.sql.write(() => this.sql.run(sql, [nowMs, id]))) === 1;
  }
  putEvidence(e: Evidence): void {
    this.sql.durable(() =>
      this.sql.write(() =>
        this.sql.run(
          `INSERT INTO evidence (sha256, cid, filename, media_type, size_bytes, facility_id, created_at_ms) VALUES (?,?,?,?,?,?,?) ON CONFLICT DO NOTHING`,
          [e.sha256, e.cid, e.filename, e.mediaType, e.sizeBytes, e.facilityId, e.createdAtMs],
        ),
      ),
    );
  }
  recordCosign(c: CosignRecord): CosignOutcome {
    return this.sql.durable(() =>
      this.sql.tx(() => {
        const found = this.checkCosign(c);
        if (found.outcome !== "recorded") return found;
        this.sql.run(
          `INSERT INTO cosigned (attestation_id, facility_id, period_start, period_end, correction_of, bundle_cid, digests, reading_keys, signed_at_ms, chain_id, registry) VALUES (?,?,?,?,?,?,?,?,?,?,?)`,
          [
            c.attestationId,
            c.facilityId,
            c.periodStart,
            c.periodEnd,
            c.correctionOf,
            c.bundleCid,
            JSON.stringify(c.digests),
            c.keys ? JSON.stringify(c.keys) : null,
            c.signedAtMs,
            c.registry?.chainId ?? null,
            c.registry?.address.toLowerCase() ?? null,
          ],
        );
        return found;
      }),
    );
  }
  checkCosign(c: CosignRecord): CosignOutcome {
    // only records of the header's registry count, and those that name none (made before SQLite
    // schema 9, PostgreSQL 5: their registry unknown, they hold against every one); a header
    // naming none meets them all
    const [ofRegistry, registryArgs] = c.registry
      ? [
          ` AND (registry IS NULL OR (chain_id = ? AND registry = ?))`,
          [c.registry.chainId, c.registry.address.toLowerCase()],
        ]
      : [``, []];
    return this.sql.read(() => {
      if (this.getCosign(c.attestationId)) return { outcome: "again" };
      if (/^0x0{64}$/.test(c.correctionOf)) {
        // a regular header: another one of the facility whose period overlaps
        const r = this.sql.get(
          `SELECT * FROM cosigned WHERE facility_id = ? AND correction_of = ? AND period_start < ? AND period_end > ?${ofRegistry} ORDER BY period_start LIMIT 1`,
          [c.facilityId, c.correctionOf, c.periodEnd, c.periodStart, ...registryArgs],
        );
        return r ? { outcome: "conflict", with: toCosign(r) } : { outcome: "recorded" };
      }
      // a correction: another correction of the same original holding one of its readings (the
      // corrections of one original are few: its late readings), by (deviceId, seq) and by
      // digest, as the auditor's verifier compares a facility's attestations: a device's two
      // readings with one seq (re-signed, or equivocation) have two digests, one key
      const keys = c.keys ? new Set(c.keys) : null;
      const digests = new Set(c.digests);
      for (const r of this.sql.all(
        `SELECT * FROM cosigned WHERE correction_of = ?${ofRegistry} ORDER BY signed_at_ms`,
        [c.correctionOf, ...registryArgs],
      )) {
        const other = toCosign(r);
        // a record without keys (before SQLite schema 10, PostgreSQL 6) is compared by digest
        let i = keys && other.keys ? other.keys.findIndex((k) => keys.has(k)) : -1;
        if (i < 0) i = other.digests.findIndex((d) => digests.has(d));
        if (i < 0) continue;
        const key = other.keys?.[i];
        return { outcome: "conflict", with: other, digest: other.digests[i]!, ...(key ? { key } : {}) };
      }
      return { outcome: "recorded" };
    });
  }
  cosignsWithoutKeys(correctionOf: string): CosignRecord[] {
    const sql = `SELECT * FROM cosigned WHERE correction_of = ? AND reading_keys IS NULL ORDER BY signed_at_ms, attestation_id`;
    return this.sql.all(sql, [correctionOf]).map(toCosign);
  }
  setCosignKeys(attestationId: string, keys: readonly string[]): boolean {
    return this.sql.durable(() =>
      this.sql.tx(() => {
        const c = this.getCosign(attestationId);
        if (!c || c.keys) return false;
        if (keys.length !== c.digests.length)
          throw new Error(
            `co-sign record ${attestationId} holds ${c.digests.length} reading digests, and ${keys.length} keys were given for them`,
          );
        const sql = `UPDATE cosigned SET reading_keys = ? WHERE attestation_id = ? AND reading_keys IS NULL`;
        return this.sql.run(sql, [JSON.stringify(keys), attestationId]) === 1;
      }),
    );
  }
  getCosign(attestationId: string): CosignRecord | null {
    const r = this.sql.get(`SELECT * FROM cosigned WHERE attestation_id = ?`, [attestationId]);
    return r ? toCosign(r) : null;
  }
  listCosigns(q: { facilityId?: string; limit?: number } = {}): CosignRecord[] {
    const limit = q.limit ?? 10_000;
    const order = `ORDER BY facility_id, period_start, signed_at_ms, attestation_id LIMIT ?`;
    const rows =
      q.facilityId === undefined
        ? this.sql.all(`SELECT * FROM cosigned ${order}`, [limit])
        : this.sql.all(`SELECT * FROM cosigned WHERE lower(facility_id) = ? ${order}`, [
            q.facilityId.toLowerCase(),
            limit,
          ]);
    return rows.map(toCosign);
  }
  releaseCosign(attestationId: string): boolean {
    const sql = `DELETE FROM cosigned WHERE attestation_id = ?`;
    return this.sql.durable(() => this.sql.write(() => this.sql.run(sql, [attestationId]))) === 1;
  }
  getEvidence(sha256: string): Evidence | null {
    const r = this.sql.get(`SELECT * FROM evidence WHERE sha256 = ?`, [sha256]);
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
    return this.sql.write(() =>
      this.sql.run(
        `DELETE FROM heartbeats WHERE id IN (SELECT id FROM heartbeats ORDER BY id LIMIT ?) AND received_at_ms < ?`,
        [limit, beforeMs],
      ),
    );
  }

  addHeartbeat(h: NewHeartbeat): void {
    this.sql.write(() =>
      this.sql.run(
        `INSERT INTO heartbeats (device_id, facility_id, received_at_ms, ts, last_seq, buffer_depth, dropped, held, held_dropped, rssi_dbm, uptime_s, fw, faults, verified) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
        [
          h.deviceId,
          h.facilityId,
          h.receivedAtMs,
          h.ts,
          h.lastSeq,
          h.bufferDepth,
          h.dropped,
          h.held,
          h.heldDropped,
          h.rssiDbm,
          h.uptimeS,
          h.fw,
          JSON.stringify(h.faults),
          h.verified ? 1 : 0,
        ],
      ),
    );
  }
  deviceHealth(q: {
    facilityId?: string;
    sinceMs: number;
    gapMs: number;
    limit?: number;
    afterDeviceId?: string;
  }): DeviceHealth[] {
    const byDevice = new Map<string, DeviceHealth>();
    // One page of devices, by id: the first `limit` ids after `afterDeviceId` of the union of the
    // readings', heartbeats' and (without a facility) dead letters' ids. Each query below is then
    // kept to the id range (after, last of the page], which holds exactly the page's ids: a node
    // that has dead-lettered a million made-up ids still reads one page of them per request.
    const limit = q.limit ?? DEVICE_HEALTH_MAX_LIMIT;
    const after = q.afterDeviceId ?? "";
    const firstIds = (table: string, facility: boolean) =>
      `SELECT * FROM (SELECT DISTINCT device_id FROM ${table} WHERE device_id IS NOT NULL AND device_id > ?${
        facility ? " AND facility_id = ?" : ""
      } ORDER BY device_id LIMIT ?) AS ${table}_ids`;
    const idArgs = (facility: boolean): (string | number)[] => [after, ...(facility ? [q.facilityId!] : []), limit];
    const sources = [firstIds("readings", !!q.facilityId), firstIds("heartbeats", !!q.facilityId)];
    const sourceArgs = [...idArgs(!!q.facilityId), ...idArgs(!!q.facilityId)];
    if (!q.facilityId) {
      sources.push(firstIds("dead_letters", false));
      sourceArgs.push(...idArgs(false));
    }
    const page = this.sql.all(`SELECT device_id FROM (${sources.join(" UNION ")}) AS ids ORDER BY device_id LIMIT ?`, [
      ...sourceArgs,
      limit,
    ]);
    if (!page.length) return [];
    const last = page[page.length - 1]!.device_id as string;
    const range = "device_id > ? AND device_id <= ?";
    const rangeArgs = [after, last];
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
    const fac = q.facilityId ? `WHERE ${range} AND facility_id = ?` : `WHERE ${range}`;
    const facArgs = q.facilityId ? [...rangeArgs, q.facilityId] : rangeArgs;
    const readings = this.sql.all(
      `SELECT device_id, MAX(facility_id) AS facility_id, COUNT(*) AS n, MAX(ts) AS last_ts, MAX(received_at_ms) AS last_rx
       FROM readings ${fac} GROUP BY device_id`,
      facArgs,
    );
    for (const r of readings) {
      const e = entry(r.device_id as string, r.facility_id as string);
      e.readingCount = Number(r.n);
      e.lastReadingTs = Number(r.last_ts);
      e.lastReadingReceivedAtMs = Number(r.last_rx);
    }
    const hbCounts = this.sql.all(
      `SELECT device_id, MAX(facility_id) AS facility_id, SUM(verified) AS ok, SUM(1 - verified) AS bad,
         MAX(CASE WHEN verified = 1 THEN id END) AS last_id
       FROM heartbeats ${fac} GROUP BY device_id`,
      facArgs,
    );
    for (const r of hbCounts) {
      const e = entry(r.device_id as string, r.facility_id as string);
      e.heartbeatCount = Number(r.ok);
      e.unverifiedHeartbeatCount = Number(r.bad);
      if (r.last_id === null) continue;
      const h = this.sql.get(`SELECT * FROM heartbeats WHERE id = ?`, [r.last_id as number])!;
      const n = (v: unknown) => (v === null ? null : Number(v));
      e.lastHeartbeatAtMs = Number(h.received_at_ms);
      e.lastHeartbeat = {
        receivedAtMs: Number(h.received_at_ms),
        ts: n(h.ts),
        lastSeq: n(h.last_seq),
        bufferDepth: n(h.buffer_depth),
        dropped: n(h.dropped),
        held: n(h.held),
        heldDropped: n(h.held_dropped),
        rssiDbm: n(h.rssi_dbm),
        uptimeS: n(h.uptime_s),
        fw: (h.fw as string | null) ?? null,
        faults: JSON.parse(h.faults as string) as string[],
      };
    }
    // consecutive verified heartbeats of a device since sinceMs; a gap is the time between two of
    // them. Counted and measured in SQL, and at most 20 of a device's listed: 30 days of heartbeats
    // are ~43,000 rows a device, not to be read into the node's memory for one request.
    const gapsSince = `WITH g AS (
         SELECT device_id, received_at_ms AS to_ms,
           LAG(received_at_ms) OVER (PARTITION BY device_id ORDER BY received_at_ms, id) AS from_ms
         FROM heartbeats WHERE verified = 1 AND received_at_ms >= ? AND ${range} ${q.facilityId ? "AND facility_id = ?" : ""}
       )`;
    const gapArgs = [q.sinceMs, ...facArgs];
    const gapStats = this.sql.all(
      `${gapsSince}
       SELECT device_id, MAX(to_ms - from_ms) AS max_gap, SUM(CASE WHEN to_ms - from_ms > ? THEN 1 ELSE 0 END) AS n
       FROM g WHERE from_ms IS NOT NULL GROUP BY device_id`,
      [...gapArgs, q.gapMs],
    );
    for (const g of gapStats) {
      const e = entry(g.device_id as string, null);
      e.maxHeartbeatGapMs = Number(g.max_gap);
      e.heartbeatGapCount = Number(g.n);
    }
    const listed = this.sql.all(
      `${gapsSince}, r AS (
         SELECT device_id, from_ms, to_ms, ROW_NUMBER() OVER (PARTITION BY device_id ORDER BY to_ms DESC) AS k
         FROM g WHERE from_ms IS NOT NULL AND to_ms - from_ms > ?
       )
       SELECT device_id, from_ms, to_ms FROM r WHERE k <= 20 ORDER BY device_id, to_ms DESC`,
      [...gapArgs, q.gapMs],
    );
    for (const g of listed)
      entry(g.device_id as string, null).heartbeatGaps.push({ fromMs: Number(g.from_ms), toMs: Number(g.to_ms) });
    // dead letters carry a device id only; a facility's are those of the devices seen in it
    const dead = this.sql.all(
      `SELECT device_id, reason, COUNT(*) AS n FROM dead_letters WHERE device_id IS NOT NULL AND ${range} GROUP BY device_id, reason`,
      rangeArgs,
    );
    for (const d of dead) {
      const id = d.device_id as string;
      if (q.facilityId && !byDevice.has(id)) continue;
      const e = entry(id, null);
      e.rejected[d.reason as keyof DeviceHealth["rejected"]] = Number(d.n);
      e.rejectedTotal += Number(d.n);
    }
    // in the database's order of ids, the order `afterDeviceId` pages by
    return page.map((r) => byDevice.get(r.device_id as string)!).filter(Boolean);
  }
  getMeta(key: string): string | null {
    const r = this.sql.get(`SELECT value FROM meta WHERE key = ?`, [key]);
    return r ? (r.value as string) : null;
  }
  setMeta(key: string, value: string): void {
    this.sql.durable(() =>
      this.sql.write(() =>
        this.sql.run(
          `INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value`,
          [key, value],
        ),
      ),
    );
  }
  close(): void {
    if (this.sql.isOpen) this.sql.close();
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

function toCosign(r: Row): CosignRecord {
  return {
    attestationId: r.attestation_id as string,
    facilityId: r.facility_id as string,
    periodStart: Number(r.period_start),
    periodEnd: Number(r.period_end),
    correctionOf: r.correction_of as string,
    bundleCid: r.bundle_cid as string,
    digests: JSON.parse(r.digests as string) as string[],
    // NULL: unknown (a record from before SQLite schema 10, PostgreSQL 6, or made by a node from before)
    ...(r.reading_keys === null ? {} : { keys: JSON.parse(r.reading_keys as string) as string[] }),
    signedAtMs: Number(r.signed_at_ms),
    ...(r.registry === null ? {} : { registry: { chainId: Number(r.chain_id), address: r.registry as string } }),
  };
}

function toKey(r: Row): ApiKey {
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
