/**
 * The one reducer of the embedded indexer: `applyEvent(db, event)` turns a decoded contract event
 * into rows of the derived tables. Events must come in chain order (block, log index). The
 * semantics mirror the subgraph mappings (subgraph/src/mappings, docs/subgraph.md "What the
 * numbers mean"), so both backends answer the explorer alike:
 *
 * - emission totals (facility, day, facility-day, overall) count what still stands: a revoked
 *   attestation stays in attestationCount, adds to revokedAttestationCount, and its readings and
 *   grams leave the totals; emission days are the days the attested periods start;
 * - activity days (issued, retired, sales, devices registered) are the days of the block;
 * - credits: issuedKg counts mints, retiredKg burns (retirement is the only burn), supply is the
 *   difference; holderCount counts accounts with a positive balance (the Marketplace's escrow too).
 */
import type { StatementSync } from "node:sqlite";
import type { Hex } from "@carbonproof/subgraph/client";
import {
  argBig,
  argBool,
  argHex,
  argList,
  argNum,
  argObj,
  argStr,
  type IndexedEvent,
  type JsonValue,
} from "./events.ts";
import { clearDerived, getMeta, setMeta, type Store } from "./store.ts";

const ZERO_ADDRESS = "0x0000000000000000000000000000000000000000";
const ZERO_ID = `0x${"0".repeat(64)}`;
const DEVICE_KINDS = ["FlueGas", "ElectricityMeter", "FuelMeter", "ManualEntry"] as const;
/** The row of `daily` that holds the protocol-wide totals (facility rows hold bytes32 ids). */
export const ALL_FACILITIES = "";

export const SECONDS_PER_DAY = 86_400;
export const dayOf = (timestamp: number | bigint): number => Math.floor(Number(timestamp) / SECONDS_PER_DAY);

const statements = new WeakMap<Store, Map<string, StatementSync>>();

/** A prepared statement, cached per database (the reducer runs the same few hundred over and over). */
export function stmt(db: Store, sql: string): StatementSync {
  let cache = statements.get(db);
  if (!cache) statements.set(db, (cache = new Map()));
  let s = cache.get(sql);
  if (!s) cache.set(sql, (s = db.prepare(sql)));
  return s;
}

/** The text of a bytes32 protocol id (docs/protocol.md), or null when the bytes are not one. */
export function protocolIdFromBytes32(hex: string): string | null {
  if (!/^0x[0-9a-f]{64}$/i.test(hex)) return null;
  let text = "";
  let ended = false;
  for (let i = 0; i < 32; i++) {
    const c = parseInt(hex.slice(2 + i * 2, 4 + i * 2), 16);
    if (c === 0) {
      ended = true;
      continue;
    }
    const letterOrDigit = (c >= 97 && c <= 122) || (c >= 48 && c <= 57);
    const punctuation = c === 46 || c === 95 || c === 45;
    if (ended || !(letterOrDigit || (i > 0 && punctuation))) return null;
    text += String.fromCharCode(c);
  }
  return text.length > 0 ? text : null;
}

/** ISO 3166-1 alpha-3 text of a bytes3, or null when zero or not three capitals. */
export function countryCodeFromBytes3(hex: string): string | null {
  if (!/^0x[0-9a-f]{6}$/i.test(hex)) return null;
  let text = "";
  for (let i = 0; i < 3; i++) {
    const c = parseInt(hex.slice(2 + i * 2, 4 + i * 2), 16);
    if (c < 65 || c > 90) return null;
    text += String.fromCharCode(c);
  }
  return text;
}

// ---------------------------------------------------------------- shared bookkeeping

function ensureFacility(db: Store, id: string, timestamp: number): void {
  stmt(db, "INSERT INTO facilities (id, code, first_seen_at) VALUES (?, ?, ?) ON CONFLICT (id) DO NOTHING").run(
    id,
    protocolIdFromBytes32(id),
    timestamp,
  );
}

function ensureAccount(db: Store, address: string): void {
  stmt(db, "INSERT INTO accounts (address) VALUES (?) ON CONFLICT DO NOTHING").run(address);
}

type DailyColumn =
  | "attestation_count"
  | "revoked_attestation_count"
  | "reading_count"
  | "fossil_g"
  | "biogenic_g"
  | "devices_registered"
  | "issued_kg"
  | "issuance_count"
  | "retired_kg"
  | "retirement_count"
  | "sale_count"
  | "sold_kg"
  | "issued_against_kg";

/** Adds `deltas` to the day's row of `facility` (ALL_FACILITIES for the protocol-wide row). */
function bumpDaily(db: Store, facility: string, day: number, deltas: Partial<Record<DailyColumn, bigint>>): void {
  const cols = Object.keys(deltas) as DailyColumn[];
  const sql =
    `INSERT INTO daily (facility, day, ${cols.join(", ")}) VALUES (?, ?, ${cols.map(() => "?").join(", ")}) ` +
    `ON CONFLICT (facility, day) DO UPDATE SET ${cols.map((c) => `${c} = ${c} + excluded.${c}`).join(", ")}`;
  stmt(db, sql).run(facility, day, ...cols.map((c) => deltas[c]!));
}

/** Adds the same deltas to the protocol-wide day and to the facility's day. */
function bumpDays(db: Store, facility: string | null, day: number, deltas: Partial<Record<DailyColumn, bigint>>): void {
  bumpDaily(db, ALL_FACILITIES, day, deltas);
  if (facility !== null) bumpDaily(db, facility, day, deltas);
}

/** Emission totals of a facility, its days and the protocol: `sign` +1 adds an attestation, −1 revokes it. */
function countEmissions(
  db: Store,
  facility: string,
  periodStart: number,
  readings: bigint,
  fossilG: bigint,
  biogenicG: bigint,
  revoke: boolean,
): void {
  const s = revoke ? -1n : 1n;
  const deltas = {
    attestation_count: revoke ? 0n : 1n,
    revoked_attestation_count: revoke ? 1n : 0n,
    reading_count: s * readings,
    fossil_g: s * fossilG,
    biogenic_g: s * biogenicG,
  };
  stmt(
    db,
    `UPDATE facilities SET attestation_count = attestation_count + ?, revoked_attestation_count = revoked_attestation_count + ?,
       reading_count = reading_count + ?, fossil_g = fossil_g + ?, biogenic_g = biogenic_g + ? WHERE id = ?`,
  ).run(
    deltas.attestation_count,
    deltas.revoked_attestation_count,
    deltas.reading_count,
    deltas.fossil_g,
    deltas.biogenic_g,
    facility,
  );
  bumpDays(db, facility, dayOf(periodStart), deltas);
}

function projectFacility(db: Store, projectId: bigint): string | null {
  const row = stmt(db, "SELECT facility FROM projects WHERE id = ?").get(projectId) as { facility: string } | undefined;
  return row ? row.facility : null;
}

// ---------------------------------------------------------------- DeviceRegistry

function deviceEvent(db: Store, e: IndexedEvent, device: string, kind: string, reason: string | null, uri?: string) {
  stmt(
    db,
    `INSERT INTO device_events (device, kind, reason, metadata_uri, timestamp, block_number, log_index, tx_hash)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
  ).run(device, kind, reason, uri ?? null, e.timestamp, e.blockNumber, e.logIndex, e.transactionHash);
}

function setDeviceStatus(db: Store, e: IndexedEvent, status: string, reason: string | null): string | null {
  const id = argHex(e.args, "id");
  const d = stmt(db, "SELECT status, facility FROM devices WHERE id = ?").get(id) as
    { status: string; facility: string } | undefined;
  if (!d) return null; // the registry reverts for unknown devices: nothing to index
  stmt(db, "UPDATE devices SET status = ?, status_reason = ?, status_changed_at = ? WHERE id = ?").run(
    status,
    reason,
    e.timestamp,
    id,
  );
  const wasActive = d.status === "Active";
  const isActive = status === "Active";
  if (wasActive !== isActive)
    stmt(db, "UPDATE facilities SET active_device_count = active_device_count + ? WHERE id = ?").run(
      isActive ? 1 : -1,
      d.facility,
    );
  return id;
}

function deviceRegistry(db: Store, e: IndexedEvent): void {
  const a = e.args;
  switch (e.eventName) {
    case "DeviceRegistered": {
      const id = argHex(a, "id");
      const facility = argHex(a, "facilityId");
      ensureFacility(db, facility, e.timestamp);
      const kind = argNum(a, "kind");
      // A kind added to the contract later shows as ManualEntry until the explorer learns it (as in the subgraph).
      const kindName = DEVICE_KINDS[kind] ?? "ManualEntry";
      stmt(
        db,
        "INSERT INTO device_keys (device, idx, x, y, valid_from, valid_until, added_at, tx_hash) VALUES (?, 0, ?, ?, 0, NULL, ?, ?)",
      ).run(id, argHex(a, "keyX"), argHex(a, "keyY"), e.timestamp, e.transactionHash);
      stmt(
        db,
        `INSERT INTO devices (id, code, facility, kind, status, status_reason, metadata_uri, registered_at, registered_block,
           registered_log, status_changed_at, key_count) VALUES (?, ?, ?, ?, 'Active', NULL, ?, ?, ?, ?, ?, 1)`,
      ).run(
        id,
        protocolIdFromBytes32(id),
        facility,
        kindName,
        argStr(a, "metadataURI"),
        e.timestamp,
        e.blockNumber,
        e.logIndex,
        e.timestamp,
      );
      stmt(
        db,
        "UPDATE facilities SET device_count = device_count + 1, active_device_count = active_device_count + 1 WHERE id = ?",
      ).run(facility);
      deviceEvent(db, e, id, "Registered", null, argStr(a, "metadataURI"));
      bumpDays(db, facility, dayOf(e.timestamp), { devices_registered: 1n });
      return;
    }
    case "DeviceSuspended": {
      const id = setDeviceStatus(db, e, "Suspended", argStr(a, "reason"));
      if (id) deviceEvent(db, e, id, "Suspended", argStr(a, "reason"));
      return;
    }
    case "DeviceReactivated": {
      const id = setDeviceStatus(db, e, "Active", null);
      if (id) deviceEvent(db, e, id, "Reactivated", null);
      return;
    }
    case "DeviceRetired": {
      const id = setDeviceStatus(db, e, "Retired", argStr(a, "reason"));
      if (id) deviceEvent(db, e, id, "Retired", argStr(a, "reason"));
      return;
    }
    case "DeviceKeyRotated": {
      const id = argHex(a, "id");
      const d = stmt(db, "SELECT key_count FROM devices WHERE id = ?").get(id) as { key_count: bigint } | undefined;
      if (!d) return;
      const index = argNum(a, "keyIndex");
      const validFrom = argBig(a, "validFrom");
      stmt(db, "UPDATE device_keys SET valid_until = ? WHERE device = ? AND idx = ?").run(
        validFrom,
        id,
        Number(d.key_count) - 1,
      );
      stmt(
        db,
        "INSERT INTO device_keys (device, idx, x, y, valid_from, valid_until, added_at, tx_hash) VALUES (?, ?, ?, ?, ?, NULL, ?, ?)",
      ).run(id, index, argHex(a, "x"), argHex(a, "y"), validFrom, e.timestamp, e.transactionHash);
      stmt(db, "UPDATE devices SET key_count = ? WHERE id = ?").run(index + 1, id);
      deviceEvent(db, e, id, "KeyRotated", null);
      return;
    }
    case "DeviceMetadataUpdated": {
      const id = argHex(a, "id");
      const uri = argStr(a, "metadataURI");
      const r = stmt(db, "UPDATE devices SET metadata_uri = ? WHERE id = ?").run(uri, id);
      if (Number(r.changes) > 0) deviceEvent(db, e, id, "MetadataUpdated", null, uri);
      return;
    }
  }
}

// ---------------------------------------------------------------- OracleSet

function oracleSet(db: Store, e: IndexedEvent): void {
  const a = e.args;
  if (e.eventName === "OracleNodeAdded") {
    stmt(
      db,
      `INSERT INTO oracle_nodes (oracle_set, idx, address, active, added_at, removed_at) VALUES (?, ?, ?, 1, ?, NULL)
       ON CONFLICT (oracle_set, idx) DO UPDATE SET active = 1, added_at = excluded.added_at, removed_at = NULL`,
    ).run(e.address, argNum(a, "index"), argHex(a, "node"), e.timestamp);
  } else if (e.eventName === "OracleNodeRemoved") {
    stmt(db, "UPDATE oracle_nodes SET active = 0, removed_at = ? WHERE oracle_set = ? AND idx = ?").run(
      e.timestamp,
      e.address,
      argNum(a, "index"),
    );
  }
}

// ---------------------------------------------------------------- AttestationRegistry

/** Set bits of a signer bitmap (uint128), lowest first. */
export function signerIndices(bitmap: bigint): number[] {
  const out: number[] = [];
  for (let i = 0; i < 128 && bitmap > 0n; i++, bitmap >>= 1n) if (bitmap & 1n) out.push(i);
  return out;
}

function attestationRegistry(db: Store, e: IndexedEvent): void {
  const a = e.args;
  if (e.eventName === "AttestationSubmitted") {
    const id = argHex(a, "id");
    const facility = argHex(a, "facilityId");
    const h = argObj(a, "header");
    ensureFacility(db, facility, e.timestamp);
    const bitmap = argBig(a, "signerBitmap");
    const indices = signerIndices(bitmap);
    const correctionOf = argHex(h, "correctionOf");
    const isCorrection = correctionOf !== ZERO_ID;
    const periodStart = argNum(h, "periodStart");
    const periodEnd = argBig(h, "periodEnd");
    const readings = argBig(h, "readingCount");
    const fossil = argBig(h, "fossilCo2eGrams");
    const biogenic = argBig(h, "biogenicCo2Grams");
    stmt(
      db,
      `INSERT INTO attestations (id, facility, period_start, period_end, merkle_root, reading_count, fossil_g, biogenic_g,
         methodology_id, factor_set_id, bundle_cid, correction_of, signer_bitmap, signer_count, submitter, submitted_at,
         submitted_block, submitted_log, tx_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      id,
      facility,
      periodStart,
      periodEnd,
      argHex(h, "merkleRoot"),
      readings,
      fossil,
      biogenic,
      argHex(h, "methodologyId"),
      argHex(h, "factorSetId"),
      argStr(h, "bundleCid"),
      isCorrection ? correctionOf : null,
      bitmap.toString(),
      indices.length,
      e.transactionFrom ?? ZERO_ADDRESS,
      e.timestamp,
      e.blockNumber,
      e.logIndex,
      e.transactionHash,
    );
    for (const index of indices) {
      // Bitmap bits name nodes of the OracleSet (there is one per deployment).
      const node = stmt(
        db,
        "SELECT oracle_set, address FROM oracle_nodes WHERE idx = ? ORDER BY oracle_set LIMIT 1",
      ).get(index) as { oracle_set: string; address: string } | undefined;
      if (!node) continue; // a bit always names a known node; defensive only (as in the subgraph)
      stmt(db, "INSERT INTO attestation_signers (attestation, idx, address) VALUES (?, ?, ?)").run(
        id,
        index,
        node.address,
      );
      stmt(
        db,
        "UPDATE oracle_nodes SET attestations_signed = attestations_signed + 1 WHERE oracle_set = ? AND idx = ?",
      ).run(node.oracle_set, index);
    }
    countEmissions(db, facility, periodStart, readings, fossil, biogenic, false);
    if (!isCorrection)
      stmt(db, "UPDATE facilities SET attested_until = MAX(attested_until, ?) WHERE id = ?").run(periodEnd, facility);
    // Its evidence bundle is fetched apart (bundles.ts), never in the way of event indexing.
    stmt(
      db,
      `INSERT INTO bundles (attestation_id, cid, state, updated_at) VALUES (?, ?, 'pending', ?)
       ON CONFLICT (attestation_id) DO NOTHING`,
    ).run(id, argStr(h, "bundleCid"), Date.now());
    return;
  }
  if (e.eventName === "AttestationRevoked") {
    const id = argHex(a, "id");
    const att = stmt(
      db,
      "SELECT facility, period_start, reading_count, fossil_g, biogenic_g, revoked FROM attestations WHERE id = ?",
    ).get(id) as
      | {
          facility: string;
          period_start: bigint;
          reading_count: bigint;
          fossil_g: bigint;
          biogenic_g: bigint;
          revoked: bigint;
        }
      | undefined;
    if (!att || att.revoked) return; // the registry reverts for unknown or revoked ids
    stmt(db, "UPDATE attestations SET revoked = 1 WHERE id = ?").run(id);
    // CarbonCredits revokes in the transaction that upholds a challenge; ChallengeResolved may come after.
    const challenge = stmt(db, "SELECT state FROM challenges WHERE attestation = ?").get(id) as
      { state: string } | undefined;
    stmt(
      db,
      "INSERT INTO revocations (attestation, verifier, reason, by_challenge, timestamp, tx_hash) VALUES (?, ?, ?, ?, ?, ?)",
    ).run(
      id,
      argHex(a, "verifier"),
      argStr(a, "reason"),
      challenge?.state === "Upheld" ? 1 : 0,
      e.timestamp,
      e.transactionHash,
    );
    countEmissions(db, att.facility, Number(att.period_start), att.reading_count, att.fossil_g, att.biogenic_g, true);
    // its credits no longer count for its period (CarbonCredits issues nothing against a revoked one)
    const issued = stmt(db, "SELECT COALESCE(SUM(amount_kg), 0) AS kg FROM issuances WHERE attestation = ?").get(
      id,
    ) as {
      kg: bigint;
    };
    if (issued.kg !== 0n)
      bumpDaily(db, att.facility, dayOf(Number(att.period_start)), { issued_against_kg: -issued.kg });
  }
}

// ---------------------------------------------------------------- CarbonCredits

function ensureCredit(db: Store, tokenId: bigint): void {
  stmt(db, "INSERT INTO credits (token_id, project, vintage) VALUES (?, ?, ?) ON CONFLICT DO NOTHING").run(
    tokenId,
    tokenId >> 16n,
    Number(tokenId & 0xffffn),
  );
}

function applyBalance(db: Store, account: string, tokenId: bigint, amount: bigint, incoming: boolean, ts: number) {
  ensureAccount(db, account);
  const row = stmt(db, "SELECT amount_kg FROM balances WHERE account = ? AND credit = ?").get(account, tokenId) as
    { amount_kg: bigint } | undefined;
  const before = row?.amount_kg ?? 0n;
  let after = incoming ? before + amount : before - amount;
  // The token reverts transfers above the balance: below zero means a missed event; clamp (as the subgraph).
  if (after < 0n) after = 0n;
  stmt(
    db,
    `INSERT INTO balances (account, credit, amount_kg, updated_at) VALUES (?, ?, ?, ?)
     ON CONFLICT (account, credit) DO UPDATE SET amount_kg = excluded.amount_kg, updated_at = excluded.updated_at`,
  ).run(account, tokenId, after, ts);
  const holderDelta = before === 0n && after !== 0n ? 1 : before !== 0n && after === 0n ? -1 : 0;
  if (holderDelta !== 0)
    stmt(db, "UPDATE credits SET holder_count = holder_count + ? WHERE token_id = ?").run(holderDelta, tokenId);
}

function creditTransfer(
  db: Store,
  e: IndexedEvent,
  subIndex: number,
  id: string,
  operator: string,
  from: string,
  to: string,
  tokenId: bigint,
  amount: bigint,
) {
  ensureCredit(db, tokenId);
  const mint = from === ZERO_ADDRESS;
  const burn = !mint && to === ZERO_ADDRESS;
  if (mint) stmt(db, "UPDATE credits SET issued_kg = issued_kg + ? WHERE token_id = ?").run(amount, tokenId);
  else applyBalance(db, from, tokenId, amount, false, e.timestamp);
  if (burn) {
    stmt(
      db,
      "UPDATE credits SET retired_kg = retired_kg + ?, retirement_count = retirement_count + 1 WHERE token_id = ?",
    ).run(amount, tokenId);
    // A burn is a retirement (RetirementCertificates is the only burner): count it where the explorer sums.
    const facility = projectFacility(db, tokenId >> 16n);
    if (facility !== null) {
      stmt(db, "UPDATE projects SET retired_kg = retired_kg + ? WHERE id = ?").run(amount, tokenId >> 16n);
      stmt(db, "UPDATE facilities SET credits_retired_kg = credits_retired_kg + ? WHERE id = ?").run(amount, facility);
      bumpDays(db, facility, dayOf(e.timestamp), { retired_kg: amount, retirement_count: 1n });
    }
  } else applyBalance(db, to, tokenId, amount, true, e.timestamp);
  stmt(db, "UPDATE credits SET supply_kg = issued_kg - retired_kg WHERE token_id = ?").run(tokenId);
  stmt(
    db,
    `INSERT INTO transfers (id, credit, kind, operator, from_address, to_address, amount_kg, timestamp, block_number,
       log_index, sub_index, tx_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  ).run(
    id,
    tokenId,
    mint ? "Mint" : burn ? "Burn" : "Transfer",
    operator,
    from,
    to,
    amount,
    e.timestamp,
    e.blockNumber,
    e.logIndex,
    subIndex,
    e.transactionHash,
  );
}

/** Id of the record an event makes: transaction hash ++ log index (++ entry of a batch). */
export function eventRecordId(e: Pick<IndexedEvent, "transactionHash" | "logIndex">, sub?: number): string {
  return `${e.transactionHash}-${e.logIndex}${sub === undefined ? "" : `-${sub}`}`;
}

function carbonCredits(db: Store, e: IndexedEvent): void {
  const a = e.args;
  switch (e.eventName) {
    case "ProjectRegistered": {
      const facility = argHex(a, "facilityId");
      ensureFacility(db, facility, e.timestamp);
      stmt(
        db,
        `INSERT INTO projects (id, facility, methodology_id, proponent, name, standard, active, registered_at,
           registered_block, registered_log, tx_hash) VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?)`,
      ).run(
        argBig(a, "projectId"),
        facility,
        argHex(a, "methodologyId"),
        argHex(a, "proponent"),
        argStr(a, "name"),
        argStr(a, "standard"),
        e.timestamp,
        e.blockNumber,
        e.logIndex,
        e.transactionHash,
      );
      return;
    }
    case "BaselineSet":
      stmt(db, "UPDATE projects SET baseline_count = baseline_count + 1 WHERE id = ?").run(argBig(a, "projectId"));
      return;
    case "ProjectActiveSet":
      stmt(db, "UPDATE projects SET active = ? WHERE id = ?").run(argBool(a, "active") ? 1 : 0, argBig(a, "projectId"));
      return;
    case "ProjectProponentChanged":
      stmt(db, "UPDATE projects SET proponent = ? WHERE id = ?").run(argHex(a, "proponent"), argBig(a, "projectId"));
      return;
    case "AttestationChallenged": {
      const id = argHex(a, "attestationId");
      stmt(
        db,
        `INSERT OR REPLACE INTO challenges (attestation, challenger, reason, evidence_cid, challenged_at, block_number,
           log_index, tx_hash, state) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'Pending')`,
      ).run(
        id,
        argHex(a, "challenger"),
        argStr(a, "reason"),
        argStr(a, "evidenceCid"),
        e.timestamp,
        e.blockNumber,
        e.logIndex,
        e.transactionHash,
      );
      stmt(db, "UPDATE attestations SET challenge_state = 'Pending' WHERE id = ?").run(id);
      return;
    }
    case "ChallengeResolved": {
      const id = argHex(a, "attestationId");
      const state = argBool(a, "upheld") ? "Upheld" : "Dismissed";
      const r = stmt(
        db,
        "UPDATE challenges SET state = ?, arbiter = ?, note = ?, resolved_at = ?, resolved_tx = ? WHERE attestation = ?",
      ).run(state, argHex(a, "arbiter"), argStr(a, "note"), e.timestamp, e.transactionHash, id);
      if (Number(r.changes) === 0) return; // the contract reverts unless a challenge is pending
      stmt(db, "UPDATE attestations SET challenge_state = ? WHERE id = ?").run(state, id);
      if (state === "Upheld")
        stmt(db, "UPDATE revocations SET by_challenge = 1 WHERE attestation = ? AND tx_hash = ?").run(
          id,
          e.transactionHash,
        );
      return;
    }
    case "CorrectionRecorded": {
      const projectId = argBig(a, "projectId");
      if (projectId !== 0n)
        stmt(db, "UPDATE projects SET correction_g = correction_g + ? WHERE id = ?").run(
          argBig(a, "fossilCo2eGrams"),
          projectId,
        );
      // the corrected period is not issued yet: its issuance covers these grams (CarbonCredits adds
      // them to the attestation, not to a project's debt)
      else
        stmt(db, "UPDATE attestations SET pending_correction_g = pending_correction_g + ? WHERE id = ?").run(
          argBig(a, "fossilCo2eGrams"),
          argHex(a, "originalId"),
        );
      return;
    }
    case "ShortfallRecorded": {
      // a settlement, not always an excess: recordShortfall (excess > 0), or the first correction of a
      // revoked period, whose excess may be 0 (kept: the row is what says the period is settled), as the subgraph
      const projectId = argBig(a, "projectId");
      const excess = argBig(a, "excessGrams");
      const r = stmt(db, "UPDATE projects SET shortfall_g = shortfall_g + ? WHERE id = ?").run(excess, projectId);
      if (Number(r.changes) === 0) return;
      stmt(
        db,
        `INSERT INTO shortfalls (attestation, project, excess_g, recorder, timestamp, tx_hash) VALUES (?, ?, ?, ?, ?, ?)
           ON CONFLICT DO NOTHING`,
      ).run(
        argHex(a, "attestationId"),
        projectId,
        excess,
        e.transactionFrom ?? ZERO_ADDRESS, // the sync fetches it (SENDER_NEEDED); a raw log of an older store may lack it
        e.timestamp,
        e.transactionHash,
      );
      return;
    }
    case "CreditsIssued": {
      const projectId = argBig(a, "projectId");
      const facility = projectFacility(db, projectId);
      if (facility === null) return;
      const tokenId = argBig(a, "tokenId");
      const attestation = argHex(a, "attestationId");
      const amount = argBig(a, "amount");
      // 0 kg (the reduction only paid the project's debt) mints nothing: no credit for a token id that
      // may never be minted; the issuance keeps the token id, and the attestation no credit (as the subgraph)
      const mints = amount > 0n;
      if (mints) ensureCredit(db, tokenId);
      stmt(
        db,
        `INSERT INTO issuances (attestation, credit, project, facility, to_address, amount_kg, bound_kg, correction_g, issuer,
           timestamp, block_number, log_index, tx_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ).run(
        attestation,
        tokenId,
        projectId,
        facility,
        argHex(a, "to"),
        amount,
        argBig(a, "boundKg"),
        argBig(a, "correctionGramsCovered"),
        e.transactionFrom,
        e.timestamp,
        e.blockNumber,
        e.logIndex,
        e.transactionHash,
      );
      if (mints) stmt(db, "UPDATE attestations SET issued_credit_id = ? WHERE id = ?").run(tokenId, attestation);
      // correctionGramsCovered is the project's debt covered plus the attestation's own pending
      // corrections (CarbonCredits.issue): only the first lowers the debt
      const pending = stmt(db, "SELECT pending_correction_g AS g FROM attestations WHERE id = ?").get(attestation) as
        { g: bigint } | undefined;
      const coveredDebt = argBig(a, "correctionGramsCovered") - (pending?.g ?? 0n);
      stmt(db, "UPDATE projects SET issued_kg = issued_kg + ?, covered_g = covered_g + ? WHERE id = ?").run(
        amount,
        coveredDebt > 0n ? coveredDebt : 0n,
        projectId,
      );
      stmt(db, "UPDATE facilities SET credits_issued_kg = credits_issued_kg + ? WHERE id = ?").run(amount, facility);
      bumpDays(db, facility, dayOf(e.timestamp), { issued_kg: amount, issuance_count: 1n });
      // the day its attestation's period starts, of the attestation's facility (the leaderboard's credits)
      const backing = stmt(db, "SELECT facility, period_start FROM attestations WHERE id = ?").get(attestation) as
        { facility: string; period_start: bigint } | undefined;
      if (backing && amount !== 0n)
        bumpDaily(db, backing.facility, dayOf(Number(backing.period_start)), { issued_against_kg: amount });
      return;
    }
    case "TransferSingle":
      creditTransfer(
        db,
        e,
        0,
        eventRecordId(e),
        argHex(a, "operator"),
        argHex(a, "from"),
        argHex(a, "to"),
        argBig(a, "id"),
        argBig(a, "value"),
      );
      return;
    case "TransferBatch": {
      const ids = argList(a, "ids");
      const values = argList(a, "values");
      for (let i = 0; i < ids.length; i++)
        creditTransfer(
          db,
          e,
          i,
          eventRecordId(e, i),
          argHex(a, "operator"),
          argHex(a, "from"),
          argHex(a, "to"),
          BigInt(ids[i] as string),
          BigInt(values[i] as string),
        );
      return;
    }
    case "URI": {
      const tokenId = argBig(a, "id");
      ensureCredit(db, tokenId);
      stmt(db, "UPDATE credits SET uri = ? WHERE token_id = ?").run(argStr(a, "value"), tokenId);
      return;
    }
  }
}

// ---------------------------------------------------------------- Marketplace

function marketplace(db: Store, e: IndexedEvent): void {
  const a = e.args;
  switch (e.eventName) {
    case "Listed": {
      const seller = argHex(a, "seller");
      ensureAccount(db, seller);
      const amount = argBig(a, "amount");
      stmt(
        db,
        `INSERT INTO listings (id, seller, credit, amount_kg, remaining_kg, payment_token, unit_price, min_fill_kg, expires_at,
           status, created_at, block_number, log_index, tx_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'Open', ?, ?, ?, ?)`,
      ).run(
        argBig(a, "listingId"),
        seller,
        argBig(a, "tokenId"),
        amount,
        amount,
        argHex(a, "paymentToken"),
        argStr(a, "unitPrice"),
        argBig(a, "minFill"),
        argBig(a, "expiresAt"),
        e.timestamp,
        e.blockNumber,
        e.logIndex,
        e.transactionHash,
      );
      return;
    }
    case "PriceUpdated":
      stmt(db, "UPDATE listings SET unit_price = ? WHERE id = ?").run(argStr(a, "unitPrice"), argBig(a, "listingId"));
      return;
    case "Cancelled":
      stmt(
        db,
        "UPDATE listings SET status = 'Cancelled', remaining_kg = 0, cancelled_at = ?, amount_returned_kg = ? WHERE id = ?",
      ).run(e.timestamp, argBig(a, "amountReturned"), argBig(a, "listingId"));
      return;
    case "Bought": {
      const listingId = argBig(a, "listingId");
      const l = stmt(db, "SELECT seller, remaining_kg, payment_token FROM listings WHERE id = ?").get(listingId) as
        { seller: string; remaining_kg: bigint; payment_token: string } | undefined;
      if (!l) return;
      const amount = argBig(a, "amount");
      let remaining = l.remaining_kg - amount;
      if (remaining < 0n) remaining = 0n;
      stmt(
        db,
        "UPDATE listings SET remaining_kg = ?, sold_kg = sold_kg + ?, sale_count = sale_count + 1, status = ? WHERE id = ?",
      ).run(remaining, amount, remaining === 0n ? "Filled" : "Open", listingId);
      const buyer = argHex(a, "buyer");
      ensureAccount(db, buyer);
      const tokenId = argBig(a, "tokenId");
      const retired = argBool(a, "retired");
      stmt(
        db,
        `INSERT INTO sales (id, listing, credit, buyer, seller, amount_kg, total_price, fee, payment_token, retired,
           certificate_id, timestamp, block_number, log_index, tx_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ).run(
        eventRecordId(e),
        listingId,
        tokenId,
        buyer,
        l.seller,
        amount,
        argStr(a, "totalPrice"),
        argStr(a, "fee"),
        l.payment_token,
        retired ? 1 : 0,
        retired ? argStr(a, "certificateId") : null,
        e.timestamp,
        e.blockNumber,
        e.logIndex,
        e.transactionHash,
      );
      const credit = stmt(db, "SELECT project FROM credits WHERE token_id = ?").get(tokenId) as
        { project: bigint } | undefined;
      const facility = credit ? projectFacility(db, credit.project) : null;
      bumpDays(db, facility, dayOf(e.timestamp), { sale_count: 1n, sold_kg: amount });
      return;
    }
  }
}

// ---------------------------------------------------------------- RetirementCertificates

function ensureCertificate(db: Store, e: IndexedEvent, certificateId: string, owner: string): void {
  ensureAccount(db, owner);
  stmt(
    db,
    `INSERT INTO certificates (certificate_id, owner, locked, minted_at, tx_hash) VALUES (?, ?, 0, ?, ?)
     ON CONFLICT DO NOTHING`,
  ).run(certificateId, owner, e.timestamp, e.transactionHash);
}

function retirementCertificates(db: Store, e: IndexedEvent): void {
  const a = e.args;
  switch (e.eventName) {
    case "Transfer": {
      // Mint (from zero) creates the certificate; a soulbound token never moves after that.
      const id = argStr(a, "tokenId");
      const to = argHex(a, "to");
      ensureCertificate(db, e, id, to);
      if (to !== ZERO_ADDRESS) stmt(db, "UPDATE certificates SET owner = ? WHERE certificate_id = ?").run(to, id);
      return;
    }
    case "Locked":
    case "Unlocked":
      stmt(db, "UPDATE certificates SET locked = ? WHERE certificate_id = ?").run(
        e.eventName === "Locked" ? 1 : 0,
        argStr(a, "tokenId"),
      );
      return;
    case "Retired": {
      const certificateId = argStr(a, "certificateId");
      const beneficiary = argHex(a, "beneficiary");
      const retiree = argHex(a, "retiree");
      const creditId = argBig(a, "creditId");
      ensureCertificate(db, e, certificateId, beneficiary);
      ensureAccount(db, retiree);
      stmt(
        db,
        `INSERT INTO retirements (certificate_id, credit, facility, project, beneficiary, retiree, holder, amount_kg,
           beneficiary_name, reason, country_code, consumption_start, consumption_end, timestamp, block_number, log_index,
           tx_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ).run(
        certificateId,
        creditId,
        projectFacility(db, creditId >> 16n),
        creditId >> 16n,
        beneficiary,
        retiree,
        argHex(a, "holder"),
        argBig(a, "amount"),
        argStr(a, "beneficiaryName"),
        argStr(a, "reason"),
        countryCodeFromBytes3(argHex(a, "consumptionCountry")),
        // uint64, as text: anyone retiring may write up to 2^64 − 1, past SQLite's INTEGER
        argStr(a, "consumptionStart"),
        argStr(a, "consumptionEnd"),
        e.timestamp,
        e.blockNumber,
        e.logIndex,
        e.transactionHash,
      );
      return;
    }
  }
}

// ---------------------------------------------------------------- entry points

const HANDLERS: Record<IndexedEvent["contract"], (db: Store, e: IndexedEvent) => void> = {
  DeviceRegistry: deviceRegistry,
  OracleSet: oracleSet,
  AttestationRegistry: attestationRegistry,
  CarbonCredits: carbonCredits,
  Marketplace: marketplace,
  RetirementCertificates: retirementCertificates,
};

/**
 * Applies one event to the derived tables. Events the explorer does not show (roles, pause,
 * fees, approvals…) change nothing here; they stay in the raw log.
 */
export function applyEvent(db: Store, event: IndexedEvent): void {
  HANDLERS[event.contract](db, event);
}

export type ReducerLog = (line: string, fields?: Record<string, unknown>) => void;

/**
 * Applies `event` in a savepoint: a handler that throws (data the reducer cannot hold, a bug)
 * leaves no half-applied rows, is logged with the event's coordinates and counted, and the
 * explorer then shows that its data may be incomplete (`overview().indexingErrors`).
 */
export function applyEventSafely(db: Store, event: IndexedEvent, log: ReducerLog = () => {}): boolean {
  db.exec("SAVEPOINT apply_event");
  try {
    applyEvent(db, event);
    db.exec("RELEASE apply_event");
    return true;
  } catch (cause) {
    db.exec("ROLLBACK TO apply_event");
    db.exec("RELEASE apply_event");
    setMeta(db, "indexing_errors", String(Number(getMeta(db, "indexing_errors") ?? 0) + 1));
    log("indexer: an event could not be applied; its effects are missing from the explorer", {
      block: event.blockNumber,
      logIndex: event.logIndex,
      tx: event.transactionHash,
      event: `${event.contract}.${event.eventName}`,
      error: (cause as Error).message,
    });
    return false;
  }
}

/** Reads the raw log back in chain order. */
export function storedEvents(db: Store, fromBlock = 0): IndexedEvent[] {
  const rows = stmt(
    db,
    `SELECT block_number, log_index, block_hash, timestamp, tx_hash, tx_from, contract, address, event_name, args
     FROM events WHERE block_number >= ? ORDER BY block_number, log_index`,
  ).all(fromBlock) as {
    block_number: bigint;
    log_index: bigint;
    block_hash: string;
    timestamp: bigint;
    tx_hash: string;
    tx_from: string | null;
    contract: IndexedEvent["contract"];
    address: string;
    event_name: string;
    args: string;
  }[];
  return rows.map((r) => ({
    blockNumber: Number(r.block_number),
    logIndex: Number(r.log_index),
    blockHash: r.block_hash as Hex,
    timestamp: Number(r.timestamp),
    transactionHash: r.tx_hash as Hex,
    transactionFrom: r.tx_from as Hex | null,
    contract: r.contract,
    address: r.address as Hex,
    eventName: r.event_name,
    args: JSON.parse(r.args) as { [key: string]: JsonValue },
  }));
}

/** Appends `event` to the raw log (once: the same (block, log index) again is ignored) and applies it. */
export function recordEvent(db: Store, event: IndexedEvent, log?: ReducerLog): void {
  const r = stmt(
    db,
    `INSERT INTO events (block_number, log_index, block_hash, timestamp, tx_hash, tx_from, contract, address, event_name, args)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
  ).run(
    event.blockNumber,
    event.logIndex,
    event.blockHash,
    event.timestamp,
    event.transactionHash,
    event.transactionFrom,
    event.contract,
    event.address,
    event.eventName,
    JSON.stringify(event.args),
  );
  if (Number(r.changes) === 0) return;
  applyEventSafely(db, event, log);
}

/** Drops the derived tables and replays the whole raw log through the reducer (after a reorg). */
export function rebuildDerived(db: Store, log?: ReducerLog): number {
  clearDerived(db);
  setMeta(db, "indexing_errors", "0");
  const events = storedEvents(db);
  for (const e of events) applyEventSafely(db, e, log);
  return events.length;
}
