/**
 * The embedded indexer's SQLite store (node:sqlite, WAL): the raw decoded event log, the block
 * hashes the reorg check compares, the derived tables the explorer reads (built only by the
 * reducer, reducer.ts), and the readings of evidence bundles (bundles.ts).
 *
 * Amounts the explorer sums or sorts (grams, kilograms, milligrams, counts) are INTEGER columns:
 * SQLite's 64 bits hold 9.2e18 g CO2e, far beyond any facility. Values that need more (payment
 * token amounts, certificate ids = creditId << 64 | n, signer bitmaps) are decimal TEXT. Hex
 * values are lower case.
 */
import "../../../../sdk/src/quiet-sqlite-warning.ts";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { DatabaseSync } from "node:sqlite";

/**
 * Bumped whenever a table below changes shape, or the reducer writes other rows for the same events
 * (5: an issuance of 0 kg makes no credit; 6: `daily.issued_against_kg`; 7: a retirement's consumption
 * period as text, uint64): an older file is then
 * rebuilt from the chain.
 */
export const STORE_VERSION = 7;

const RAW_TABLES = /* sql */ `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS blocks (
  number INTEGER PRIMARY KEY, hash TEXT NOT NULL, timestamp INTEGER NOT NULL, has_events INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS events (
  block_number INTEGER NOT NULL, log_index INTEGER NOT NULL, block_hash TEXT NOT NULL, timestamp INTEGER NOT NULL,
  tx_hash TEXT NOT NULL, tx_from TEXT, contract TEXT NOT NULL, address TEXT NOT NULL, event_name TEXT NOT NULL,
  args TEXT NOT NULL,
  PRIMARY KEY (block_number, log_index)
);
CREATE INDEX IF NOT EXISTS events_tx ON events (tx_hash);
CREATE TABLE IF NOT EXISTS bundles (
  attestation_id TEXT PRIMARY KEY, cid TEXT NOT NULL, state TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL DEFAULT 0, error TEXT, source TEXT, reading_count INTEGER, updated_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS bundles_due ON bundles (state, next_attempt_at);
CREATE TABLE IF NOT EXISTS readings (
  attestation_id TEXT NOT NULL, leaf_index INTEGER NOT NULL, digest TEXT NOT NULL, facility TEXT NOT NULL,
  device_id TEXT NOT NULL, seq INTEGER NOT NULL, ts INTEGER NOT NULL, day INTEGER NOT NULL, kind TEXT NOT NULL,
  source TEXT NOT NULL, fossil_mg INTEGER NOT NULL, biogenic_mg INTEGER NOT NULL,
  PRIMARY KEY (attestation_id, leaf_index)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS readings_digest ON readings (digest);
CREATE INDEX IF NOT EXISTS readings_facility_ts ON readings (facility, ts DESC);
CREATE INDEX IF NOT EXISTS readings_device_ts ON readings (device_id, ts DESC);
CREATE INDEX IF NOT EXISTS readings_facility_day ON readings (facility, day, source, fossil_mg, biogenic_mg);
`;

/** Everything below is derived from `events` by the reducer and can be dropped and rebuilt. */
export const DERIVED_TABLES = [
  "facilities",
  "devices",
  "device_keys",
  "device_events",
  "oracle_nodes",
  "attestations",
  "attestation_signers",
  "revocations",
  "challenges",
  "projects",
  "shortfalls",
  "credits",
  "issuances",
  "balances",
  "transfers",
  "listings",
  "sales",
  "retirements",
  "certificates",
  "daily",
  "accounts",
] as const;

const DERIVED_DDL = /* sql */ `
CREATE TABLE IF NOT EXISTS facilities (
  id TEXT PRIMARY KEY, code TEXT, device_count INTEGER NOT NULL DEFAULT 0, active_device_count INTEGER NOT NULL DEFAULT 0,
  attestation_count INTEGER NOT NULL DEFAULT 0, revoked_attestation_count INTEGER NOT NULL DEFAULT 0,
  reading_count INTEGER NOT NULL DEFAULT 0, fossil_g INTEGER NOT NULL DEFAULT 0, biogenic_g INTEGER NOT NULL DEFAULT 0,
  attested_until INTEGER NOT NULL DEFAULT 0, credits_issued_kg INTEGER NOT NULL DEFAULT 0,
  credits_retired_kg INTEGER NOT NULL DEFAULT 0, first_seen_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS facilities_fossil ON facilities (fossil_g DESC, id);
CREATE INDEX IF NOT EXISTS facilities_code ON facilities (code);
CREATE TABLE IF NOT EXISTS devices (
  id TEXT PRIMARY KEY, code TEXT, facility TEXT NOT NULL, kind TEXT NOT NULL, status TEXT NOT NULL, status_reason TEXT,
  metadata_uri TEXT NOT NULL, registered_at INTEGER NOT NULL, registered_block INTEGER NOT NULL,
  registered_log INTEGER NOT NULL, status_changed_at INTEGER NOT NULL, key_count INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS devices_newest ON devices (registered_block DESC, registered_log DESC);
CREATE INDEX IF NOT EXISTS devices_facility ON devices (facility, registered_block DESC, registered_log DESC);
CREATE TABLE IF NOT EXISTS device_keys (
  device TEXT NOT NULL, idx INTEGER NOT NULL, x TEXT NOT NULL, y TEXT NOT NULL, valid_from INTEGER NOT NULL,
  valid_until INTEGER, added_at INTEGER NOT NULL, tx_hash TEXT NOT NULL, PRIMARY KEY (device, idx)
);
CREATE TABLE IF NOT EXISTS device_events (
  device TEXT NOT NULL, kind TEXT NOT NULL, reason TEXT, metadata_uri TEXT, timestamp INTEGER NOT NULL,
  block_number INTEGER NOT NULL, log_index INTEGER NOT NULL, tx_hash TEXT NOT NULL,
  PRIMARY KEY (device, block_number, log_index)
);
CREATE TABLE IF NOT EXISTS oracle_nodes (
  oracle_set TEXT NOT NULL, idx INTEGER NOT NULL, address TEXT NOT NULL, active INTEGER NOT NULL,
  added_at INTEGER NOT NULL, removed_at INTEGER, attestations_signed INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (oracle_set, idx)
);
CREATE INDEX IF NOT EXISTS oracle_nodes_address ON oracle_nodes (address);
CREATE TABLE IF NOT EXISTS attestations (
  id TEXT PRIMARY KEY, facility TEXT NOT NULL, period_start INTEGER NOT NULL, period_end INTEGER NOT NULL,
  merkle_root TEXT NOT NULL, reading_count INTEGER NOT NULL, fossil_g INTEGER NOT NULL, biogenic_g INTEGER NOT NULL,
  methodology_id TEXT NOT NULL, factor_set_id TEXT NOT NULL, bundle_cid TEXT NOT NULL, correction_of TEXT,
  signer_bitmap TEXT NOT NULL, signer_count INTEGER NOT NULL, submitter TEXT NOT NULL, submitted_at INTEGER NOT NULL,
  submitted_block INTEGER NOT NULL, submitted_log INTEGER NOT NULL, tx_hash TEXT NOT NULL,
  revoked INTEGER NOT NULL DEFAULT 0, challenge_state TEXT NOT NULL DEFAULT 'None', issued_credit_id INTEGER,
  pending_correction_g INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS attestations_newest ON attestations (submitted_block DESC, submitted_log DESC);
CREATE INDEX IF NOT EXISTS attestations_facility ON attestations (facility, period_start DESC);
CREATE INDEX IF NOT EXISTS attestations_cid ON attestations (bundle_cid);
CREATE INDEX IF NOT EXISTS attestations_tx ON attestations (tx_hash);
CREATE INDEX IF NOT EXISTS attestations_correction ON attestations (correction_of);
CREATE TABLE IF NOT EXISTS attestation_signers (
  attestation TEXT NOT NULL, idx INTEGER NOT NULL, address TEXT NOT NULL, PRIMARY KEY (attestation, idx)
);
CREATE TABLE IF NOT EXISTS revocations (
  attestation TEXT PRIMARY KEY, verifier TEXT NOT NULL, reason TEXT NOT NULL, by_challenge INTEGER NOT NULL,
  timestamp INTEGER NOT NULL, tx_hash TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS challenges (
  attestation TEXT PRIMARY KEY, challenger TEXT NOT NULL, reason TEXT NOT NULL, evidence_cid TEXT NOT NULL,
  challenged_at INTEGER NOT NULL, block_number INTEGER NOT NULL, log_index INTEGER NOT NULL, tx_hash TEXT NOT NULL,
  state TEXT NOT NULL, arbiter TEXT, note TEXT, resolved_at INTEGER, resolved_tx TEXT
);
CREATE INDEX IF NOT EXISTS challenges_newest ON challenges (block_number DESC, log_index DESC);
CREATE TABLE IF NOT EXISTS projects (
  id INTEGER PRIMARY KEY, facility TEXT NOT NULL, methodology_id TEXT NOT NULL, proponent TEXT NOT NULL,
  name TEXT NOT NULL, standard TEXT NOT NULL, active INTEGER NOT NULL, registered_at INTEGER NOT NULL,
  registered_block INTEGER NOT NULL, registered_log INTEGER NOT NULL, tx_hash TEXT NOT NULL,
  baseline_count INTEGER NOT NULL DEFAULT 0, issued_kg INTEGER NOT NULL DEFAULT 0, retired_kg INTEGER NOT NULL DEFAULT 0,
  correction_g INTEGER NOT NULL DEFAULT 0, shortfall_g INTEGER NOT NULL DEFAULT 0, covered_g INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS projects_facility ON projects (facility);
CREATE TABLE IF NOT EXISTS shortfalls (
  attestation TEXT PRIMARY KEY, project INTEGER NOT NULL, excess_g INTEGER NOT NULL, recorder TEXT NOT NULL,
  timestamp INTEGER NOT NULL, tx_hash TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS credits (
  token_id INTEGER PRIMARY KEY, project INTEGER NOT NULL, vintage INTEGER NOT NULL,
  issued_kg INTEGER NOT NULL DEFAULT 0, retired_kg INTEGER NOT NULL DEFAULT 0, supply_kg INTEGER NOT NULL DEFAULT 0,
  retirement_count INTEGER NOT NULL DEFAULT 0, holder_count INTEGER NOT NULL DEFAULT 0, uri TEXT
);
CREATE TABLE IF NOT EXISTS issuances (
  attestation TEXT PRIMARY KEY, credit INTEGER NOT NULL, project INTEGER NOT NULL, facility TEXT NOT NULL,
  to_address TEXT NOT NULL, amount_kg INTEGER NOT NULL, bound_kg INTEGER NOT NULL, correction_g INTEGER NOT NULL,
  issuer TEXT, timestamp INTEGER NOT NULL, block_number INTEGER NOT NULL, log_index INTEGER NOT NULL,
  tx_hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS issuances_newest ON issuances (block_number DESC, log_index DESC);
CREATE INDEX IF NOT EXISTS issuances_credit ON issuances (credit, block_number DESC);
CREATE INDEX IF NOT EXISTS issuances_facility ON issuances (facility, block_number DESC);
CREATE TABLE IF NOT EXISTS balances (
  account TEXT NOT NULL, credit INTEGER NOT NULL, amount_kg INTEGER NOT NULL, updated_at INTEGER NOT NULL,
  PRIMARY KEY (account, credit)
);
CREATE TABLE IF NOT EXISTS transfers (
  id TEXT PRIMARY KEY, credit INTEGER NOT NULL, kind TEXT NOT NULL, operator TEXT NOT NULL, from_address TEXT NOT NULL,
  to_address TEXT NOT NULL, amount_kg INTEGER NOT NULL, timestamp INTEGER NOT NULL, block_number INTEGER NOT NULL,
  log_index INTEGER NOT NULL, sub_index INTEGER NOT NULL, tx_hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS transfers_newest ON transfers (block_number DESC, log_index DESC, sub_index DESC);
CREATE INDEX IF NOT EXISTS transfers_credit ON transfers (credit, block_number DESC);
CREATE INDEX IF NOT EXISTS transfers_from ON transfers (from_address, block_number DESC);
CREATE INDEX IF NOT EXISTS transfers_to ON transfers (to_address, block_number DESC);
CREATE TABLE IF NOT EXISTS listings (
  id INTEGER PRIMARY KEY, seller TEXT NOT NULL, credit INTEGER NOT NULL, amount_kg INTEGER NOT NULL,
  remaining_kg INTEGER NOT NULL, payment_token TEXT NOT NULL, unit_price TEXT NOT NULL, min_fill_kg INTEGER NOT NULL,
  expires_at INTEGER NOT NULL, status TEXT NOT NULL, created_at INTEGER NOT NULL, block_number INTEGER NOT NULL,
  log_index INTEGER NOT NULL, tx_hash TEXT NOT NULL, cancelled_at INTEGER, amount_returned_kg INTEGER,
  sold_kg INTEGER NOT NULL DEFAULT 0, sale_count INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS listings_newest ON listings (block_number DESC, log_index DESC);
CREATE INDEX IF NOT EXISTS listings_credit ON listings (credit, status);
CREATE INDEX IF NOT EXISTS listings_seller ON listings (seller);
CREATE TABLE IF NOT EXISTS sales (
  id TEXT PRIMARY KEY, listing INTEGER NOT NULL, credit INTEGER NOT NULL, buyer TEXT NOT NULL, seller TEXT NOT NULL,
  amount_kg INTEGER NOT NULL, total_price TEXT NOT NULL, fee TEXT NOT NULL, payment_token TEXT NOT NULL,
  retired INTEGER NOT NULL, certificate_id TEXT, timestamp INTEGER NOT NULL, block_number INTEGER NOT NULL,
  log_index INTEGER NOT NULL, tx_hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS sales_newest ON sales (block_number DESC, log_index DESC);
CREATE INDEX IF NOT EXISTS sales_credit ON sales (credit);
CREATE INDEX IF NOT EXISTS sales_buyer ON sales (buyer);
CREATE INDEX IF NOT EXISTS sales_seller ON sales (seller);
CREATE INDEX IF NOT EXISTS sales_listing ON sales (listing);
CREATE TABLE IF NOT EXISTS retirements (
  certificate_id TEXT PRIMARY KEY, credit INTEGER NOT NULL, facility TEXT, project INTEGER NOT NULL,
  beneficiary TEXT NOT NULL, retiree TEXT NOT NULL, holder TEXT NOT NULL, amount_kg INTEGER NOT NULL,
  beneficiary_name TEXT NOT NULL, reason TEXT NOT NULL, country_code TEXT, consumption_start TEXT NOT NULL,
  consumption_end TEXT NOT NULL, timestamp INTEGER NOT NULL, block_number INTEGER NOT NULL,
  log_index INTEGER NOT NULL, tx_hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS retirements_newest ON retirements (block_number DESC, log_index DESC);
CREATE INDEX IF NOT EXISTS retirements_credit ON retirements (credit);
CREATE INDEX IF NOT EXISTS retirements_facility ON retirements (facility);
CREATE INDEX IF NOT EXISTS retirements_beneficiary ON retirements (beneficiary);
CREATE INDEX IF NOT EXISTS retirements_retiree ON retirements (retiree);
CREATE TABLE IF NOT EXISTS certificates (
  certificate_id TEXT PRIMARY KEY, owner TEXT NOT NULL, locked INTEGER NOT NULL, minted_at INTEGER NOT NULL,
  tx_hash TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS daily (
  facility TEXT NOT NULL, day INTEGER NOT NULL, attestation_count INTEGER NOT NULL DEFAULT 0,
  revoked_attestation_count INTEGER NOT NULL DEFAULT 0, reading_count INTEGER NOT NULL DEFAULT 0,
  fossil_g INTEGER NOT NULL DEFAULT 0, biogenic_g INTEGER NOT NULL DEFAULT 0,
  devices_registered INTEGER NOT NULL DEFAULT 0, issued_kg INTEGER NOT NULL DEFAULT 0,
  issuance_count INTEGER NOT NULL DEFAULT 0, retired_kg INTEGER NOT NULL DEFAULT 0,
  retirement_count INTEGER NOT NULL DEFAULT 0, sale_count INTEGER NOT NULL DEFAULT 0, sold_kg INTEGER NOT NULL DEFAULT 0,
  -- a facility's rows only: credits issued against its attestations whose period starts that day, less revoked ones
  issued_against_kg INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (facility, day)
) WITHOUT ROWID;
-- facilitiesDaily (the leaderboard) reads every facility's days in a range, by day then facility
CREATE INDEX IF NOT EXISTS daily_day ON daily (day, facility);
CREATE TABLE IF NOT EXISTS accounts (address TEXT PRIMARY KEY) WITHOUT ROWID;
`;

export type Store = DatabaseSync;

/**
 * Opens (creating when missing) the store at `path` (":memory:" for tests). Integers are read as
 * bigint; callers convert counts with Number().
 */
export function openStore(path: string): Store {
  if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
  const db = new DatabaseSync(path, { readBigInts: true });
  db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000;");
  const version = (() => {
    db.exec(RAW_TABLES);
    return getMeta(db, "store_version");
  })();
  if (version !== null && Number(version) !== STORE_VERSION) {
    // An older layout: start over (the chain is the source of truth; bundles are fetched again).
    for (const t of [...DERIVED_TABLES, "events", "blocks", "meta", "bundles", "readings"])
      db.exec(`DROP TABLE IF EXISTS ${t}`);
    db.exec(RAW_TABLES);
  }
  db.exec(DERIVED_DDL);
  setMeta(db, "store_version", String(STORE_VERSION));
  return db;
}

export function getMeta(db: Store, key: string): string | null {
  const row = db.prepare("SELECT value FROM meta WHERE key = ?").get(key) as { value: string } | undefined;
  return row ? row.value : null;
}

export function setMeta(db: Store, key: string, value: string): void {
  db.prepare("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value").run(
    key,
    value,
  );
}

/** Runs `fn` inside one transaction (BEGIN IMMEDIATE … COMMIT), rolling back if it throws. */
export function inTransaction<T>(db: Store, fn: () => T): T {
  db.exec("BEGIN IMMEDIATE");
  try {
    const out = fn();
    db.exec("COMMIT");
    return out;
  } catch (cause) {
    db.exec("ROLLBACK");
    throw cause;
  }
}

/** Drops every derived row (the raw log, blocks, bundles and readings stay). */
export function clearDerived(db: Store): void {
  for (const t of DERIVED_TABLES) db.exec(`DELETE FROM ${t}`);
}

/** Deletes everything indexed from the chain (used when the chain or the deployment changed). */
export function clearAll(db: Store): void {
  clearDerived(db);
  for (const t of ["events", "blocks", "bundles", "readings"]) db.exec(`DELETE FROM ${t}`);
  db.exec("DELETE FROM meta WHERE key <> 'store_version'");
}
