/**
 * The node's durable state behind one interface: SQLite embedded (storage/sqlite.ts);
 * PostgreSQL can implement the same methods. Each method is one transaction.
 */
import type { IngestWriter } from "./ingest-writer.ts";

/** How a reading reached the node; `bundle`: taken back from an attested bundle after a restore (batch/pipeline.ts). */
export type IngestSource = "mqtt" | "http" | "csv" | "manual" | "sim" | "bundle";

/** Why a message went to the dead-letter table (docs/oracle.md lists them with examples). */
export const REJECT_REASONS = [
  "malformed", // not JSON, not an envelope
  "oversized", // payload larger than the configured limit
  "topic", // MQTT topic not carbonproof/v1/<facility>/<device>/readings, or not matching the reading
  "forbidden-principal", // a valid API key used for a facility or device other than its own
  "schema", // envelope or reading fails the sdk schema
  "unknown-device", // device not in the DeviceRegistry
  "device-inactive", // device suspended or revoked, or its facility differs
  "bad-signature", // P-256 signature invalid for every key valid at the reading's time
  "replay", // (deviceId, seq) already stored
  "future-timestamp", // ts beyond now + clock skew
  "implausible", // physical bounds per kind
  "too-late", // its period is behind the facility's attested frontier with no regular batch to correct
  "computation", // the methodology could not compute it (e.g. unknown fuel for the factor set)
  "evidence-mismatch", // a manual entry whose evidence file is not the one its reading signs (m.evidenceSha256)
] as const;
export type RejectReason = (typeof REJECT_REASONS)[number];

export type NewReading = {
  digest: string; // 0x + 64 hex, SHA-256 of the canonical bytes (sdk)
  deviceId: string;
  facilityId: string;
  seq: number;
  ts: number;
  kind: string;
  canonical: string; // the canonical JSON (RFC 8785) of the reading, as hashed
  sig: string; // 0x + 128 hex
  keyId: string | null;
  source: IngestSource;
  receivedAtMs: number;
  anomalyScore: number | null;
  flagged: boolean;
  fossilMg: bigint;
  biogenicMg: bigint;
  methodologyId: string;
  factorSetId: string;
  /** the sdk's per-reading result as stored: JSON, bigints as decimal strings (validate/prepare.ts `resultJson`) */
  resultJson: string;
};

export type StoredReading = Omit<NewReading, "fossilMg" | "biogenicMg" | "resultJson"> & {
  fossilMg: bigint;
  biogenicMg: bigint;
  resultJson: string;
  batchId: number | null;
};

/** A batch's readings of one device: how many, their first and last stamp, when the first arrived. */
export type BatchDeviceSpan = {
  deviceId: string;
  count: number;
  minTs: number;
  maxTs: number;
  firstReceivedAtMs: number;
};

/** A stored reading taken out of its batch (`Storage.setAside`), why, in a dead letter's terms. */
export type SetAside = { digest: string; reason: RejectReason; detail: string };

export type NewDeadLetter = {
  receivedAtMs: number;
  source: IngestSource;
  reason: RejectReason;
  detail: string;
  payload: string;
  deviceId?: string | null;
  seq?: number | null;
  digest?: string | null;
};
export type DeadLetter = NewDeadLetter & { id: number };

export type IngestOutcome =
  | { status: "stored"; digest: string; batchId: number }
  | { status: "rejected"; reason: RejectReason; detail: string; deadLetterId: number };

export const BATCH_STATES = ["open", "sealed", "pinned", "signed", "submitted", "confirmed", "failed"] as const;
export type BatchState = (typeof BATCH_STATES)[number];

/** A failed regular batch with readings holds back its facility's later ones until retried or abandoned. */
export function holdsLaterBatches(
  b: Pick<Batch, "state" | "correctionOfBatch" | "readingCount" | "abandonedAt">,
): boolean {
  return b.state === "failed" && b.correctionOfBatch === null && b.readingCount > 0 && b.abandonedAt === null;
}

/**
 * A regular batch the operator retried to be taken as the record of its period's attestation (a
 * window sealed again after a restore; batch/operator.ts, pipeline `#periodPast`): `signed`
 * without signatures, since it is never sent. Its period is attested already, so it holds none of
 * its facility's later batches back.
 */
export function awaitsAdoption(b: Pick<Batch, "state" | "correctionOfBatch" | "signatures">): boolean {
  return b.state === "signed" && b.correctionOfBatch === null && b.signatures === null;
}

/**
 * Why an operator's `retry` or `abandon` did nothing: `unknown-batch` (the API answers 404), or
 * the batch is not in a state for it (409): `not-failed`, `no-readings`, `regular-failed` (a
 * correction whose regular batch failed: retry that one), `registry-past` (the AttestationRegistry
 * has the facility attested past the batch's start), `already-abandoned`; `registry-unreadable`
 * (503: the registry's events could not be searched, try again).
 */
export type OperatorRefusal =
  | "unknown-batch"
  | "not-failed"
  | "no-readings"
  | "regular-failed"
  | "registry-past"
  | "registry-unreadable"
  | "already-abandoned";

/**
 * What `retry` or `abandon` did to one batch (its state after, its readings, the corrections
 * retried along with it, when it was abandoned: null once retried), or why it did nothing.
 */
export type OperatorOutcome =
  | {
      batch: number;
      done: true;
      state: BatchState;
      readings: number;
      corrections: number[];
      abandonedAt: number | null;
    }
  | { batch: number; done: false; code: OperatorRefusal; reason: string };

export type Batch = {
  id: number;
  facilityId: string;
  periodStart: number;
  periodEnd: number;
  /** Local id of the regular batch this one corrects (null: a regular batch). */
  correctionOfBatch: number | null;
  state: BatchState;
  readingCount: number;
  merkleRoot: string | null;
  fossilCo2eGrams: string | null;
  biogenicCo2Grams: string | null;
  methodologyId: string | null;
  factorSetId: string | null;
  bundleCid: string | null;
  headerJson: string | null;
  attestationId: string | null;
  signatures: string | null;
  txHash: string | null;
  txNonce: number | null;
  /**
   * The account that signed and sent the transaction (`txRaw`); null when none, or when stored
   * before senders were recorded (the pipeline then reads it from `txRaw`). After a key rotation
   * it is another account than the node's: such a transaction is followed, never replaced.
   */
  txFrom: string | null;
  txRaw: string | null;
  txSentAtMs: number | null;
  txHashes: string[];
  blockNumber: number | null;
  /**
   * For a failed batch, the reason it failed (an abandoned one keeps it); on a batch on its way,
   * the last step's error.
   */
  error: string | null;
  /**
   * When the operator abandoned this failed batch (`abandon`; ms), or null: an abandoned batch
   * stays `failed` and no longer holds back its facility's later batches. `retry` clears it.
   */
  abandonedAt: number | null;
  attempts: number;
  nextAttemptAtMs: number;
  createdAtMs: number;
  updatedAtMs: number;
};

export type BatchPatch = Partial<
  Pick<
    Batch,
    | "readingCount"
    | "merkleRoot"
    | "fossilCo2eGrams"
    | "biogenicCo2Grams"
    | "methodologyId"
    | "factorSetId"
    | "bundleCid"
    | "headerJson"
    | "attestationId"
    | "signatures"
    | "txHash"
    | "txNonce"
    | "txFrom"
    | "txRaw"
    | "txSentAtMs"
    | "txHashes"
    | "blockNumber"
    | "error"
    | "attempts"
    | "nextAttemptAtMs"
    | "abandonedAt"
  >
>;

/**
 * The AttestationRegistry a header was co-signed for: the EIP-712 domain's `chainId` and
 * `verifyingContract` (this node's `chain.chainId` and `chain.attestationRegistry` when it
 * signed), the address in lowercase hex.
 */
export type CosignRegistry = { chainId: number; address: string };

/**
 * A batch header this node co-signed for another oracle node (quorum/cosigner.ts), kept so that it
 * never signs an alternative to it on the same registry: another regular header for an
 * overlapping period of the same facility, or another correction of the same original with one of
 * the same readings (the same `(deviceId, seq)`, as the auditor's verifier compares them).
 * `correctionOf`: the original's attestation id, zero (`0x00…00`) for a regular header; `digests`
 * and `keys`: the reading digests of a correction and their `deviceId#seq` keys, in the bundle's
 * order (empty for a regular header, not needed there).
 */
export type CosignRecord = {
  attestationId: string;
  /** the header's `facilityId` (bytes32 hex) */
  facilityId: string;
  periodStart: number;
  periodEnd: number;
  correctionOf: string;
  bundleCid: string;
  digests: readonly string[];
  /**
   * `deviceId#seq` of each of `digests` (the sdk verifier's key for "a reading attested once"):
   * two readings of a device with one seq (a re-signed reading, or equivocation) have two
   * digests but one key. Kept in a column of their own (`reading_keys`), `digests` staying the
   * array it was. Absent when unknown: a correction recorded before SQLite schema 10 (PostgreSQL
   * 6), or by a node from before still running on the upgraded database, or given without keys;
   * the co-signer learns them from its bundle (`setCosignKeys`) before it signs another
   * correction of the same original; a record without keys is compared by digest.
   */
  keys?: readonly string[];
  signedAtMs: number;
  /**
   * The registry it was co-signed for: a header is an alternative only to records of the same
   * registry (after a redeploy, the new registry's headers are not the old one's alternatives).
   * Absent in a record made before SQLite schema 9 (PostgreSQL schema 5), which did not store it:
   * such a record holds against every registry, as every record did. A record to check or record
   * without one is likewise checked against every registry's records.
   */
  registry?: CosignRegistry;
};

/**
 * `recordCosign`'s answer: `recorded` (first time), `again` (this very attestation id was
 * co-signed before: signing it again gives the requester nothing new), or `conflict` with the
 * header already co-signed that this one would be an alternative to (and, for a correction, a
 * reading both hold: `key`, its `deviceId#seq` when `with` knows its keys, and `digest`, its
 * digest in `with`, which may differ from the one in the header checked).
 */
export type CosignOutcome =
  { outcome: "recorded" | "again" } | { outcome: "conflict"; with: CosignRecord; digest?: string; key?: string };

/** `oracle`: another oracle node of the quorum; it may only ask for co-signatures (POST /v1/quorum/cosign). */
export type ApiKeyScope = "facility" | "device" | "admin" | "oracle";
export type ApiKey = {
  id: number;
  label: string;
  scope: ApiKeyScope;
  subject: string;
  hash: string;
  createdAtMs: number;
  revokedAtMs: number | null;
};

export type Evidence = {
  sha256: string;
  cid: string;
  filename: string;
  mediaType: string;
  sizeBytes: number;
  facilityId: string;
  createdAtMs: number;
};

/** A device heartbeat as received (docs/protocol.md, "Device heartbeat"); `verified`: its P-256 signature checked out. */
export type NewHeartbeat = {
  deviceId: string;
  facilityId: string;
  receivedAtMs: number;
  ts: number | null;
  lastSeq: number | null;
  bufferDepth: number | null;
  dropped: number | null;
  /** flue-gas measurements the device holds in RAM until its clock is set (firmware 0.4 on) */
  held: number | null;
  /** held measurements the device discarded at its bound (lost at the device, never signed) */
  heldDropped: number | null;
  rssiDbm: number | null;
  uptimeS: number | null;
  fw: string | null;
  faults: string[];
  verified: boolean;
};

/** One device's health as this node saw it: readings, verified heartbeats, rejections. */
/** Most devices one `deviceHealth` page holds (and its default). */
export const DEVICE_HEALTH_MAX_LIMIT = 1000;

export type DeviceHealth = {
  deviceId: string;
  facilityId: string | null;
  readingCount: number;
  lastReadingTs: number | null;
  lastReadingReceivedAtMs: number | null;
  heartbeatCount: number;
  unverifiedHeartbeatCount: number;
  lastHeartbeatAtMs: number | null;
  lastHeartbeat: Omit<NewHeartbeat, "deviceId" | "facilityId" | "verified"> | null;
  /** longest time between two consecutive verified heartbeats since `sinceMs` (ms) */
  maxHeartbeatGapMs: number | null;
  /** gaps longer than `gapMs` since `sinceMs`, newest first (at most 20 per device) */
  heartbeatGaps: { fromMs: number; toMs: number }[];
  heartbeatGapCount: number;
  rejected: Partial<Record<RejectReason, number>>;
  rejectedTotal: number;
};

/** Batches in period order (then id): of these states, this facility, ids above `afterId`. */
export type ListBatchesQuery = {
  states?: BatchState[];
  facilityId?: string;
  afterId?: number;
  /** only batches whose period starts after this (unix s) */
  afterPeriodStart?: number;
  /** only batches after this place in the order (period start, then id) */
  after?: { periodStart: number; id: number };
  limit?: number;
};

/** The failed batches `carbonproof-oracle status` lists ({@link Storage.failedBatches}). */
export type FailedBatches = {
  /** those that hold back later ones ({@link holdsLaterBatches}), most recently failed first */
  holding: Batch[];
  /** the other failed ones not abandoned (corrections, batches without readings), most recently failed first */
  others: Batch[];
  /** how many failed batches there are of each kind, listed or not, and abandoned (never listed) */
  counts: { holding: number; others: number; abandoned: number };
};

/** A place in the order of confirmation: `updated_at_ms` of a confirmed batch, then its id. */
export type ConfirmedCursor = { atMs: number; id: number };

export interface Storage {
  /** Stores validated readings (or records their rejection) in one transaction; outcome per input, same order. */
  commitIngest(
    accepted: NewReading[],
    rejected: NewDeadLetter[],
    opts: { windowS: number; nowMs: number },
  ): { readings: IngestOutcome[]; deadLetterIds: number[] };
  /** The same commits on a thread of their own (`IngestWriter`), or null: then `commitIngest` on the caller's. */
  openIngestWriter?(): IngestWriter | null;
  hasReading(deviceId: string, seq: number): boolean;
  /** Highest `seq` stored for the device, or null. */
  maxSeq(deviceId: string): number | null;
  getReading(digest: string): StoredReading | null;
  getReadingByDeviceSeq(deviceId: string, seq: number): StoredReading | null;
  readingsOfBatch(batchId: number): StoredReading[];
  /** The fields of a batch's readings that go into its evidence bundle, in digest order. */
  bundleReadingsOfBatch(
    batchId: number,
  ): Pick<StoredReading, "digest" | "canonical" | "sig" | "keyId" | "flagged" | "anomalyScore">[];
  listReadings(q: { facilityId?: string; deviceId?: string; limit: number; afterTs?: number }): StoredReading[];
  recentValues(deviceId: string, limit: number): string[];
  addDeadLetter(d: NewDeadLetter): number;
  listDeadLetters(q: { limit: number; beforeId?: number; reason?: string; deviceId?: string }): DeadLetter[];
  countDeadLetters(): number;

  /** Seals open regular batches whose period ended `graceS` ago, and open corrections whose regular batch is confirmed. */
  sealDue(nowMs: number, graceS: number): number[];
  getBatch(id: number): Batch | null;
  getBatchByAttestation(attestationId: string): Batch | null;
  listBatches(q: ListBatchesQuery): Batch[];
  /**
   * Confirmed batches in the order they were confirmed (`updatedAtMs`, then id), after `after` and
   * confirmed at or before `toMs`, at most `limit` (an index of confirmed batches only: a query
   * costs the rows it returns, not the table).
   */
  listConfirmedSince(q: { after: ConfirmedCursor; toMs: number; limit: number }): Batch[];
  /**
   * Makes batch `id`, while in one of `from`, the confirmed record of an attestation made of a
   * superset of its readings (a window sealed again after a restore, attested before it): the
   * attested bundle's `readings` this database lacks inserted into it and `patch` (the attested
   * header, id, root, CID, totals, reading count, transaction) applied, in one durable transaction.
   * `leftovers`, digests of the batch's readings the attestation lacks (accepted after the restore
   * into the window sealed again), move in the same transaction to the batch's open correction,
   * opened if need be: they are attested as a correction of the adopted attestation, once each.
   * False when the batch was not in `from`; throws, changing nothing, when a reading is stored
   * already, a leftover is not the batch's, or the batch would not then hold `patch.readingCount`
   * readings.
   */
  adoptAttestation(
    id: number,
    from: BatchState[],
    readings: NewReading[],
    patch: BatchPatch & { readingCount: number },
    leftovers?: readonly string[],
  ): boolean;
  /** A batch's readings per device (the pipeline's screen before pinning, batch/pipeline.ts). */
  batchDevices(batchId: number): BatchDeviceSpan[];
  /** One device's readings in a batch, by stamp. */
  readingsOfBatchDevice(batchId: number, deviceId: string): StoredReading[];
  /**
   * Takes `aside`, readings the node accepted before it learnt it must not count them (their
   * device suspended or its key rotated at their time, read from the DeviceRegistry after they
   * were stored), out of batch `id` while it is in one of `from`, in one durable transaction. They
   * stay stored, so their (device, seq) is still taken and a replay is still refused, in a `failed`
   * correction of the regular batch with `error` (a correction losing all of its readings fails
   * itself instead), and each gets a dead letter with its reason, detail and envelope. Returns the
   * failed batch's id; null, changing nothing, when batch `id` was not in `from`; throws, changing
   * nothing, when a digest is not one of the batch's.
   */
  setAside(id: number, from: BatchState[], aside: readonly SetAside[], error: string, nowMs: number): number | null;
  /**
   * Moves a batch from one of `from` to `to` and applies `patch`; false when it was not in `from`
   * (idempotent), or, with `afterEarlier`, when it is a regular batch and an earlier regular batch of
   * its facility is unfinished or holding (`holdsLaterBatches`).
   */
  transition(
    id: number,
    from: BatchState[],
    to: BatchState,
    patch?: BatchPatch,
    opts?: { afterEarlier?: boolean },
  ): boolean;
  /** Updates fields without changing state (retry bookkeeping, gas bumps). */
  patchBatch(id: number, state: BatchState, patch: BatchPatch): boolean;
  batchStateCounts(): Record<BatchState, number>;
  /** Readings stored but not in a confirmed batch. */
  backlog(): number;
  /**
   * Highest nonce of a transaction of `sender` still in flight (batch `submitted`), for the nonce
   * manager. Transactions of other accounts (sent before a key rotation) are in their own nonce
   * space and do not count; those whose sender is not recorded yet (null) do.
   */
  maxTxNonce(sender: string): number | null;
  /**
   * Operator's `retry`: a failed batch goes back to the step its next attempt starts from
   * (`pinned` when it has a bundle, to be signed and sent again; else `sealed`, or `open` for a
   * correction), with its transaction forgotten and `abandonedAt` cleared; a regular batch takes
   * its failed corrections along. The registry's frontier is not checked here (batch/operator.ts).
   * `adopt`: a regular batch whose period is attested by another batch goes to `signed` without
   * signatures instead ({@link awaitsAdoption}), its `abandonedAt` kept, for the pipeline to take
   * it as that attestation's record.
   */
  retryFailedBatch(id: number, nowMs: number, opts?: { adopt?: boolean }): OperatorOutcome;
  /** Failed batches for which {@link holdsLaterBatches} is true. */
  countHoldingBatches(): number;
  /**
   * The failed batches as `carbonproof-oracle status` lists them, read in one snapshot: at most
   * `limit.holding` of those that hold later ones back and `limit.others` of the others not
   * abandoned, each most recently failed first, with the counts. Abandoned batches stay failed for
   * ever, so a list in period order would soon show only them and hide a new failure.
   */
  failedBatches(limit: { holding: number; others: number }): FailedBatches;
  /** Batches for which {@link awaitsAdoption} is true (shown as `signed`, never sent). */
  countAwaitingAdoption(): number;
  /**
   * Operator's `abandon`: a failed batch stays failed, its `abandonedAt` set, so that it no longer
   * holds back later batches; refused (`already-abandoned`) when it is set already.
   */
  abandonFailedBatch(id: number, nowMs: number): OperatorOutcome;

  addApiKey(k: Omit<ApiKey, "id" | "revokedAtMs">): number;
  findApiKey(hash: string): ApiKey | null;
  listApiKeys(): ApiKey[];
  revokeApiKey(id: number, nowMs: number): boolean;

  putEvidence(e: Evidence): void;
  getEvidence(sha256: string): Evidence | null;

  /** Records one heartbeat (its own transaction; heartbeats are health data, not readings). */
  addHeartbeat(h: NewHeartbeat): void;
  /**
   * Deletes heartbeats received before `beforeMs`, at most `limit` of them, oldest first (their
   * retention, `heartbeats.retentionDays`); returns how many were deleted.
   */
  pruneHeartbeats(beforeMs: number, limit: number): number;
  /** Health of every device seen (readings, heartbeats, dead letters), or of one facility's devices. */
  /** one page of devices by id: at most `limit` (default and most {@link DEVICE_HEALTH_MAX_LIMIT}) after `afterDeviceId` */
  deviceHealth(q: {
    facilityId?: string;
    sinceMs: number;
    gapMs: number;
    limit?: number;
    afterDeviceId?: string;
  }): DeviceHealth[];

  /**
   * Records, durably, that this node co-signs `c` (before it hands the signature out), unless it
   * would be an alternative to a header co-signed before (`CosignOutcome`): a regular header whose
   * period overlaps one of the same facility with another id, or a correction holding a reading
   * of another correction of the same original: one with the same `deviceId#seq` (when both
   * records know their keys) or the same digest, as the auditor's verifier compares them; only
   * records of `c.registry`, and those without a registry (made before SQLite schema 9,
   * PostgreSQL 5), count. Check and record are one transaction.
   */
  recordCosign(c: CosignRecord): CosignOutcome;
  /** What `recordCosign` would answer, without recording anything. */
  checkCosign(c: CosignRecord): CosignOutcome;
  /**
   * The co-signed corrections of `correctionOf` (any registry) whose reading keys are unknown
   * (recorded before SQLite schema 10, PostgreSQL 6, or by a node from before), oldest first.
   */
  cosignsWithoutKeys(correctionOf: string): CosignRecord[];
  /**
   * Sets the `deviceId#seq` keys of a co-sign record that has none, one for each of its digests
   * in order (the co-signer read them from its bundle). False when there is no such record, or it
   * has keys already (they are never changed).
   */
  setCosignKeys(attestationId: string, keys: readonly string[]): boolean;
  getCosign(attestationId: string): CosignRecord | null;
  /**
   * The co-sign records, of one facility (its `facilityId`, bytes32 hex, any case) or all, by
   * facility, period and time signed; at most `limit` (default 10,000).
   */
  listCosigns(q?: { facilityId?: string; limit?: number }): CosignRecord[];
  /**
   * Forgets that this node co-signed `attestationId` (the operator's `cosigned release`): an
   * alternative to it is then signed. True when there was such a record.
   */
  releaseCosign(attestationId: string): boolean;

  getMeta(key: string): string | null;
  setMeta(key: string, value: string): void;
  close(): void;
}
