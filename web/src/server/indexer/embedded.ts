/**
 * The embedded backend of the explorer's indexer: every read is SQL over the store the reducer
 * and the bundle indexer fill (store.ts). Lists are ordered by indexed columns (block, log index),
 * so a page costs the same at 100 attestations or 100,000 readings.
 *
 * Synchronisation is not this class's concern: `sync` (optional) is awaited before each read
 * (index.ts passes the chain sync's bounded catch-up), and `indexedBlock` is the sync cursor.
 */
import {
  checkDayRange,
  IndexerError,
  protocolIdKey,
  readPage,
  windowOf,
  type DetailListReaders,
  type Keyed,
  type KeyValue,
  type ListReaders,
  type Window,
} from "@carbonproof/subgraph/client";
import type {
  AttestationDetail,
  AttestationHeader,
  AttestationSummary,
  ChallengeState,
  ChallengeSummary,
  CreditDetail,
  DailyTotals,
  FacilityDailyTotals,
  DetailListName,
  DetailLists,
  DeviceDetail,
  DeviceHeader,
  DeviceHistoryEntry,
  DeviceKeyInfo,
  DeviceKind,
  DeviceStatus,
  DeviceSummary,
  ExplorerIndexer,
  FacilityDetail,
  FacilityRef,
  FacilitySummary,
  Hex,
  Holding,
  IssuanceSummary,
  ListName,
  ListPage,
  Lists,
  ListingStatus,
  ListingSummary,
  OracleNodeSummary,
  Page,
  ProjectSummary,
  ProtocolOverview,
  ReadingSummary,
  RetirementDetail,
  RetirementSummary,
  SaleSummary,
  SearchHit,
  SourceTotals,
  TransferSummary,
} from "@carbonproof/subgraph/client";
import { ALL_FACILITIES, protocolIdFromBytes32, stmt } from "./reducer.ts";
import { getMeta, type Store } from "./store.ts";

type Row = Record<string, unknown>;

const BYTES32 = /^0x[0-9a-fA-F]{64}$/;
const ADDRESS = /^0x[0-9a-fA-F]{40}$/;
/** CIDv1 in base32 (bafk…, bafy…) or CIDv0 (Qm…); a short one may also be a protocol id, and both are looked up. */
const CID = /^(b[a-z2-7]{7,120}|Qm[1-9A-HJ-NP-Za-km-z]{44})$/;
const DECIMAL = /^\d{1,78}$/;
const PROTOCOL_ID = /^[a-z0-9][a-z0-9._-]{0,31}$/;

/** What an event did, as the transaction search hit says it (the subgraph backend's words). */
const EVENT_PARTS: Record<string, string> = {
  AttestationSubmitted: "attestation submitted",
  AttestationChallenged: "attestation challenged",
  ChallengeResolved: "challenge resolved",
  AttestationRevoked: "attestation revoked",
  CorrectionRecorded: "correction recorded",
  ProjectRegistered: "project registered",
  BaselineSet: "baseline set",
  CreditsIssued: "credits issued",
  Listed: "listing created",
  PriceUpdated: "listing price changed",
  Bought: "credits bought",
  TransferSingle: "credits transferred",
  TransferBatch: "credits transferred",
  Retired: "credits retired",
  DeviceRegistered: "device registered",
  DeviceSuspended: "device suspended",
  DeviceReactivated: "device reactivated",
  DeviceKeyRotated: "device key rotated",
  DeviceRetired: "device retired",
  DeviceMetadataUpdated: "device metadata updated",
  OracleNodeRemoved: "oracle node removed",
  ThresholdChanged: "quorum threshold changed",
  Paused: "contract paused",
  Unpaused: "contract unpaused",
  FeeUpdated: "marketplace fee changed",
  RoleAdminChanged: "role admin changed",
  // RetirementCertificates: the certificate of a retirement (ERC-721 mint, ERC-5192 lock in the same call)
  Transfer: "certificate minted",
  Locked: "",
  Unlocked: "certificate unlocked",
};

function transactionPart(eventName: string, args: string): string {
  if (eventName === "OracleNodeAdded")
    return (JSON.parse(args) as { reactivated?: boolean }).reactivated
      ? "oracle node reactivated"
      : "oracle node added";
  // Any other event in words: RoleGranted → "role granted".
  return EVENT_PARTS[eventName] ?? eventName.replace(/([a-z0-9])([A-Z])/g, "$1 $2").toLowerCase();
}

const big = (v: unknown): bigint => (v === null || v === undefined ? 0n : BigInt(v as bigint));
const num = (v: unknown): number => Number(v ?? 0);
const bigOrNull = (v: unknown): bigint | null => (v === null || v === undefined ? null : BigInt(v as bigint));
const hex = (v: unknown): Hex => String(v) as Hex;
const ref = (id: unknown): FacilityRef => ({ id: hex(id), code: protocolIdFromBytes32(String(id)) });

function account(a: Hex, what = "an account"): string {
  if (!ADDRESS.test(a))
    throw new IndexerError("INDEXER_ARGUMENT_INVALID", `${what} is a 20-byte hex address, got ${a}`);
  return a.toLowerCase();
}

function bytes32(id: string, what: string): string {
  if (!BYTES32.test(id)) throw new IndexerError("INDEXER_ARGUMENT_INVALID", `${what} is a bytes32 hex, got ${id}`);
  return id.toLowerCase();
}

/** A token, listing or certificate id: an integer that SQLite's INTEGER columns hold (or text for certificates). */
function uintArg(v: bigint, what: string): bigint {
  if (typeof v !== "bigint" || v < 0n)
    throw new IndexerError("INDEXER_ARGUMENT_INVALID", `${what} must be a bigint ≥ 0`);
  return v;
}

/** Ids stored in INTEGER columns fit in 63 bits; a larger id cannot match any row. */
const fitsInteger = (v: bigint) => v < 1n << 63n;

type SqlParam = string | number | bigint;

/**
 * A list query's filters: its WHERE conditions, ANDed, with their parameters in order. `none`:
 * a filter no row can match (an id beyond SQLite's integers), so the list is empty.
 */
class Where {
  readonly conditions: string[] = [];
  readonly params: SqlParam[] = [];
  none = false;

  /** `condition`, its `?`s taking `params`. */
  add(condition: string, ...params: SqlParam[]): this {
    this.conditions.push(condition);
    this.params.push(...params);
    return this;
  }

  /** `column = id` for a token or listing id, when given (`what` names it in an error). */
  id(column: string, id: bigint | undefined, what: string): this {
    if (id === undefined) return this;
    if (!fitsInteger(uintArg(id, what))) this.none = true;
    return this.add(`${column} = ?`, id);
  }

  /**
   * `column < ts` for a time in seconds, when given: none past the columns' INTEGER (every stored
   * time is below it, and node:sqlite refuses to bind it), nothing below the least INTEGER.
   */
  before(column: string, ts: bigint | undefined): this {
    if (ts === undefined || !fitsInteger(ts)) return this;
    if (ts < -(1n << 63n)) this.none = true;
    return this.none ? this : this.add(`${column} < ?`, ts);
  }

  /** `WHERE …`, or nothing without conditions. */
  get clause(): string {
    return this.conditions.length ? `WHERE ${this.conditions.join(" AND ")}` : "";
  }
}

const ATTESTATION_SUMMARY_COLUMNS = `a.id, a.facility, a.period_start, a.period_end, a.reading_count, a.fossil_g, a.biogenic_g,
  a.correction_of, a.revoked, a.challenge_state, a.submitted_at, a.issued_credit_id, a.submitted_block, a.submitted_log`;

/**
 * How a list is ordered: SQL columns (a table alias allowed), each ascending or descending, the
 * whole key unique. Its values are the list's cursor (keyset paging, the subgraph backend's
 * semantics): a page after a cursor is the rows past it in this order, served from the list's
 * index at any depth, where OFFSET would step over every row before it.
 */
type Sort = readonly (readonly [column: string, direction: "asc" | "desc"])[];

const NEWEST: Sort = [
  ["block_number", "desc"],
  ["log_index", "desc"],
];

const SORTS: Readonly<Record<ListName, Sort>> = {
  facilities: [
    ["fossil_g", "desc"],
    ["id", "asc"],
  ],
  devices: [
    ["registered_block", "desc"],
    ["registered_log", "desc"],
  ],
  oracles: [
    ["oracle_set", "asc"],
    ["idx", "asc"],
  ],
  attestations: [
    ["a.submitted_block", "desc"],
    ["a.submitted_log", "desc"],
  ],
  issuances: NEWEST,
  transfers: [...NEWEST, ["sub_index", "desc"]],
  listings: NEWEST,
  sales: NEWEST,
  retirements: NEWEST,
  challenges: [
    ["c.block_number", "desc"],
    ["c.log_index", "desc"],
  ],
};

/**
 * `w` over a list sorted by `sort`: the condition that keeps the rows past its cursor (to `where`),
 * the ORDER BY (reversed to read backwards from a `before` cursor), and how to key the rows read.
 */
function keyset(sort: Sort, w: Window, where: Where) {
  const backwards = w.before !== undefined;
  const cursor = w.after ?? w.before;
  const dir = (d: "asc" | "desc") => ((d === "desc") !== backwards ? "desc" : "asc");
  if (cursor) {
    // (c1 past v1) OR (c1 = v1 AND c2 past v2) OR …
    const branches = sort.map(([column, d], i) =>
      [...sort.slice(0, i).map(([c]) => `${c} = ?`), `${column} ${dir(d) === "desc" ? "<" : ">"} ?`].join(" AND "),
    );
    where.add(`(${branches.map((b) => `(${b})`).join(" OR ")})`, ...sort.flatMap((_, i) => cursor.slice(0, i + 1)));
    // The same bound on the first column alone (implied by the OR): SQLite seeks the list's index
    // to it, where the OR alone leaves it scanning every row before the cursor.
    const [first, d] = sort[0]!;
    where.add(`${first} ${dir(d) === "desc" ? "<=" : ">="} ?`, cursor[0]!);
  }
  const names = sort.map(([c]) => c.slice(c.indexOf(".") + 1));
  return {
    orderBy: sort.map(([c, d]) => `${c} ${dir(d).toUpperCase()}`).join(", "),
    keyed<R>(rows: Row[], map: (r: Row) => R): Keyed<R> {
      const read = {
        rows: rows.map(map),
        keys: rows.map((r) => names.map((n): KeyValue => (typeof r[n] === "number" ? (r[n] as number) : String(r[n])))),
      };
      return backwards ? { rows: read.rows.reverse(), keys: read.keys.reverse() } : read;
    },
  };
}

function readingSummary(r: Row): ReadingSummary {
  return {
    digest: hex(r.digest),
    attestationId: hex(r.attestation_id),
    facility: ref(r.facility),
    deviceId: String(r.device_id),
    seq: num(r.seq),
    ts: num(r.ts),
    kind: String(r.kind),
    source: String(r.source),
    fossilCo2eMg: big(r.fossil_mg),
    biogenicCo2Mg: big(r.biogenic_mg),
    leafIndex: num(r.leaf_index),
  };
}

/** One attestation's readings: in its bundle's (Merkle leaf) order, unique within it. */
const READINGS_IN_BUNDLE: Sort = [["r.leaf_index", "asc"]];

/**
 * Readings across attestations (of a device, of a facility): newest first; a reading is a row of an
 * attestation's bundle, so (attestation, leaf) makes the key unique where the same reading (digest)
 * is in a batch and in its correction.
 */
const READINGS_NEWEST: Sort = [
  ["r.ts", "desc"],
  ["r.device_id", "desc"],
  ["r.seq", "desc"],
  ["r.attestation_id", "desc"],
  ["r.leaf_index", "desc"],
];

/** One attestation's readings in bundle order; across attestations newest reading first. */
const readingsSort = (filter: { attestationId?: Hex }): Sort =>
  filter.attestationId !== undefined ? READINGS_IN_BUNDLE : READINGS_NEWEST;

/** The lists inside detail pages (ExplorerIndexer.detailList), keyed as the lists are. */
const DETAIL_SORTS: Readonly<Record<DetailListName, Sort>> = {
  // FacilityDetail.attestations' order: newest period first, then newest submission
  facilityAttestations: [
    ["a.period_start", "desc"],
    ["a.submitted_block", "desc"],
    ["a.submitted_log", "desc"],
  ],
  attestationReadings: READINGS_IN_BUNDLE,
  deviceReadings: READINGS_NEWEST,
  // an account holds one balance per token id
  accountHoldings: [
    ["b.amount_kg", "desc"],
    ["b.credit", "asc"],
  ],
  facilityDevices: [
    ["registered_block", "asc"],
    ["registered_log", "asc"],
  ],
  facilityProjects: [
    ["registered_block", "asc"],
    ["registered_log", "asc"],
  ],
  deviceKeys: [["idx", "asc"]],
  deviceHistory: [
    ["block_number", "asc"],
    ["log_index", "asc"],
  ],
  // by period, then in the order submitted (corrections of one attestation often share its period)
  attestationCorrections: [
    ["a.period_start", "asc"],
    ["a.submitted_block", "asc"],
    ["a.submitted_log", "asc"],
  ],
  facilityReadings: READINGS_NEWEST,
};

/** `facilitiesDaily`'s order: by day, then facility id (the subgraph's FacilityDailyStat id, facility id ++ day, within a day). */
const FACILITIES_DAILY: Sort = [
  ["day", "asc"],
  ["facility", "asc"],
];

/** What a detail method holds of each of its nested lists: the first 1,000 (`detailList` pages them all). */
const NESTED = { first: 1000 } as const;

const listWindow = (name: ListName, p: Page | undefined) => windowOf(p, SORTS[name].length);

const NONE: Keyed<never> = { rows: [], keys: [] };

function attestationSummary(r: Row): AttestationSummary {
  return {
    id: hex(r.id),
    facility: ref(r.facility),
    periodStart: big(r.period_start),
    periodEnd: big(r.period_end),
    readingCount: big(r.reading_count),
    fossilCo2eGrams: big(r.fossil_g),
    biogenicCo2Grams: big(r.biogenic_g),
    isCorrection: r.correction_of !== null,
    revoked: num(r.revoked) === 1,
    challengeState: r.challenge_state as ChallengeState,
    submittedAt: big(r.submitted_at),
    issuedCreditId: bigOrNull(r.issued_credit_id),
  };
}

function facilitySummary(r: Row): FacilitySummary {
  return {
    ...ref(r.id),
    deviceCount: num(r.device_count),
    activeDeviceCount: num(r.active_device_count),
    attestationCount: num(r.attestation_count),
    revokedAttestationCount: num(r.revoked_attestation_count),
    readingCount: big(r.reading_count),
    fossilCo2eGrams: big(r.fossil_g),
    biogenicCo2Grams: big(r.biogenic_g),
    attestedUntil: big(r.attested_until),
    creditsIssuedKg: big(r.credits_issued_kg),
    creditsRetiredKg: big(r.credits_retired_kg),
  };
}

function deviceHeader(d: Row): DeviceHeader {
  return {
    id: hex(d.id),
    code: (d.code as string | null) ?? null,
    kind: d.kind as DeviceKind,
    status: d.status as DeviceStatus,
    keyCount: num(d.key_count),
    registeredAt: big(d.registered_at),
    facility: ref(d.facility),
    statusReason: (d.status_reason as string | null) ?? null,
    metadataURI: String(d.metadata_uri),
  };
}

function projectSummary(r: Row): ProjectSummary {
  return {
    id: big(r.id),
    name: String(r.name),
    standard: String(r.standard),
    active: num(r.active) === 1,
    proponent: hex(r.proponent),
    issuedKg: big(r.issued_kg),
    retiredKg: big(r.retired_kg),
    // CarbonCredits' correctionDebtGrams, from the events that move it
    owedGrams: big(r.correction_g) + big(r.shortfall_g) - big(r.covered_g),
    shortfallGrams: big(r.shortfall_g),
  };
}

/** What a credit's page and the issuances list both show of an `issuances` row. */
function issuanceOf(r: Row): CreditDetail["issuances"][number] {
  return {
    attestationId: hex(r.attestation),
    amountKg: big(r.amount_kg),
    boundKg: big(r.bound_kg),
    timestamp: big(r.timestamp),
    transactionHash: hex(r.tx_hash),
  };
}

function listingSummary(r: Row): ListingSummary {
  return {
    id: big(r.id),
    seller: hex(r.seller),
    creditId: big(r.credit),
    amountKg: big(r.amount_kg),
    remainingKg: big(r.remaining_kg),
    paymentToken: hex(r.payment_token),
    unitPrice: BigInt(String(r.unit_price)),
    minFillKg: big(r.min_fill_kg),
    expiresAt: big(r.expires_at),
    status: r.status as ListingStatus,
  };
}

function dailyTotals(r: Row): DailyTotals {
  const day = num(r.day);
  return {
    day,
    date: BigInt(day) * 86_400n,
    attestationCount: num(r.attestation_count),
    revokedAttestationCount: num(r.revoked_attestation_count),
    readingCount: big(r.reading_count),
    fossilCo2eGrams: big(r.fossil_g),
    biogenicCo2Grams: big(r.biogenic_g),
    issuedKg: big(r.issued_kg),
    retiredKg: big(r.retired_kg),
    saleCount: num(r.sale_count),
    soldKg: big(r.sold_kg),
  };
}

export type EmbeddedIndexerOptions = {
  /** awaited before every read (the chain sync's bounded catch-up); reads still answer if it throws */
  sync?: () => Promise<void>;
};

export class EmbeddedIndexer implements ExplorerIndexer {
  readonly backend = "embedded" as const;
  readonly db: Store;
  readonly #sync: (() => Promise<void>) | undefined;

  constructor(db: Store, options: EmbeddedIndexerOptions = {}) {
    this.db = db;
    this.#sync = options.sync;
  }

  async #fresh(): Promise<void> {
    if (this.#sync) await this.#sync();
  }

  #all(sql: string, ...params: (string | number | bigint | null)[]): Row[] {
    return stmt(this.db, sql).all(...params) as Row[];
  }

  #get(sql: string, ...params: (string | number | bigint | null)[]): Row | undefined {
    return stmt(this.db, sql).get(...params) as Row | undefined;
  }

  /**
   * One window of a list sorted by `sort`: `sql(clause, orderBy)` is its query without LIMIT, `where`
   * its filters (the cursor's condition is added to them), `before` parameters that come ahead of them.
   */
  #keyed<R>(
    sort: Sort,
    w: Window,
    where: Where,
    sql: (clause: string, orderBy: string) => string,
    map: (r: Row) => R,
    before: SqlParam[] = [],
  ): Keyed<R> {
    const k = keyset(sort, w, where);
    const rows = this.#all(
      `${sql(where.clause, k.orderBy)} LIMIT ? OFFSET ?`,
      ...before,
      ...where.params,
      w.first,
      w.skip,
    );
    return k.keyed(rows, map);
  }

  async list<K extends ListName>(name: K, filter: Lists[K]["filter"], p: Page): Promise<ListPage<Lists[K]["row"]>> {
    const read = (w: Window) => (this.#readers[name] as ListReaders[K])(filter, w);
    return readPage(p, SORTS[name].length, read);
  }

  async detailList<K extends DetailListName>(
    name: K,
    filter: DetailLists[K]["filter"],
    p: Page,
  ): Promise<ListPage<DetailLists[K]["row"]> | null> {
    const read = this.#detailReaders[name] as NonNullable<DetailListReaders[K]>;
    return readPage(p, DETAIL_SORTS[name].length, async (w) => {
      await this.#fresh();
      return read(filter, w);
    });
  }

  /** Each detail list's read in a window (`detailList`); the detail methods' nested lists read through them. */
  readonly #detailReaders: DetailListReaders = {
    facilityAttestations: async ({ facility, periodStartBefore }, w) =>
      this.#facilityAttestations(facility, w, periodStartBefore),
    attestationReadings: async (filter, w) => this.#readings(filter, w),
    deviceReadings: async (filter, w) => this.#readings(filter, w),
    accountHoldings: async ({ account }, w) => this.#holdings(account, w),
    facilityDevices: async ({ facility }, w) => this.#facilityDevices(protocolIdKey(facility), w),
    facilityProjects: async ({ facility }, w) => this.#facilityProjects(protocolIdKey(facility), w),
    deviceKeys: async ({ device }, w) => this.#deviceKeys(protocolIdKey(device), w),
    deviceHistory: async ({ device }, w) => this.#deviceHistory(protocolIdKey(device), w),
    attestationCorrections: async ({ attestationId }, w) =>
      this.#corrections(bytes32(attestationId, "an attestation id"), w),
    facilityReadings: async (filter, w) => this.#readings(filter, w),
  };

  /** Each list's read in a window (`list`). */
  readonly #readers: ListReaders = {
    facilities: (_, w) => this.#facilities(w),
    devices: (filter, w) => this.#devices(filter, w),
    oracles: (_, w) => this.#oracleNodes(w),
    attestations: (filter, w) => this.#attestations(filter, w),
    issuances: (filter, w) => this.#issuances(filter, w),
    transfers: (filter, w) => this.#transfers(filter, w),
    listings: (filter, w) => this.#listings(filter, w),
    sales: (filter, w) => this.#sales(filter, w),
    retirements: (filter, w) => this.#retirements(filter, w),
    challenges: (filter, w) => this.#challenges(filter, w),
  };

  /** The block the derived tables reflect (the sync cursor), null before the first sync. */
  indexedBlock(): number | null {
    const v = getMeta(this.db, "cursor");
    return v === null ? null : Number(v);
  }

  async overview(): Promise<ProtocolOverview> {
    await this.#fresh();
    const t =
      this.#get(
        `SELECT SUM(attestation_count) attestation_count, SUM(revoked_attestation_count) revoked_attestation_count,
           SUM(reading_count) reading_count, SUM(fossil_g) fossil_g, SUM(biogenic_g) biogenic_g, SUM(issued_kg) issued_kg,
           SUM(retired_kg) retired_kg, SUM(retirement_count) retirement_count, SUM(sale_count) sale_count,
           SUM(sold_kg) sold_kg FROM daily WHERE facility = ?`,
        ALL_FACILITIES,
      ) ?? {};
    const count = (table: string) => num(this.#get(`SELECT COUNT(*) n FROM ${table}`)?.n);
    return {
      facilityCount: count("facilities"),
      deviceCount: count("devices"),
      oracleNodeCount: count("oracle_nodes"),
      attestationCount: num(t.attestation_count),
      revokedAttestationCount: num(t.revoked_attestation_count),
      readingCount: big(t.reading_count),
      fossilCo2eGrams: big(t.fossil_g),
      biogenicCo2Grams: big(t.biogenic_g),
      projectCount: count("projects"),
      issuedKg: big(t.issued_kg),
      retiredKg: big(t.retired_kg),
      retirementCount: num(t.retirement_count),
      listingCount: count("listings"),
      saleCount: num(t.sale_count),
      soldKg: big(t.sold_kg),
      indexedBlock: this.indexedBlock(),
      indexingErrors: Number(getMeta(this.db, "indexing_errors") ?? 0) > 0,
    };
  }

  async facilities(p?: Page): Promise<FacilitySummary[]> {
    return (await this.#facilities(listWindow("facilities", p))).rows;
  }

  async #facilities(w: Window): Promise<Keyed<FacilitySummary>> {
    await this.#fresh();
    return this.#keyed(
      SORTS.facilities,
      w,
      new Where(),
      (clause, order) => `SELECT * FROM facilities ${clause} ORDER BY ${order}`,
      facilitySummary,
    );
  }

  async facility(id: string, p?: Page): Promise<FacilityDetail | undefined> {
    const key = protocolIdKey(id);
    const w = windowOf(p, DETAIL_SORTS.facilityAttestations.length);
    const f = await this.facilityHeader(key);
    if (!f) return undefined;
    return {
      ...f,
      devices: this.#facilityDevices(key, windowOf(NESTED, DETAIL_SORTS.facilityDevices.length)).rows,
      projects: this.#facilityProjects(key, windowOf(NESTED, DETAIL_SORTS.facilityProjects.length)).rows,
      attestations: this.#facilityAttestations(key, w).rows,
    };
  }

  async facilityHeader(id: string): Promise<FacilitySummary | undefined> {
    const key = protocolIdKey(id);
    await this.#fresh();
    const f = this.#get("SELECT * FROM facilities WHERE id = ?", key);
    return f ? facilitySummary(f) : undefined;
  }

  /** A facility's devices (`key`: bytes32), oldest registration first. */
  #facilityDevices(key: string, w: Window): Keyed<DeviceSummary> {
    return this.#keyed(
      DETAIL_SORTS.facilityDevices,
      w,
      new Where().add("facility = ?", key),
      (clause, order) => `SELECT * FROM devices ${clause} ORDER BY ${order}`,
      (d) => ({
        id: hex(d.id),
        code: (d.code as string | null) ?? null,
        kind: d.kind as DeviceKind,
        status: d.status as DeviceStatus,
        keyCount: num(d.key_count),
        registeredAt: big(d.registered_at),
      }),
    );
  }

  /** A facility's credit projects (`key`: bytes32), oldest registration first. */
  #facilityProjects(key: string, w: Window): Keyed<ProjectSummary> {
    return this.#keyed(
      DETAIL_SORTS.facilityProjects,
      w,
      new Where().add("facility = ?", key),
      (clause, order) => `SELECT * FROM projects ${clause} ORDER BY ${order}`,
      projectSummary,
    );
  }

  /** A device's signing keys (`id`: bytes32) by index. */
  #deviceKeys(id: string, w: Window): Keyed<DeviceKeyInfo> {
    return this.#keyed(
      DETAIL_SORTS.deviceKeys,
      w,
      new Where().add("device = ?", id),
      (clause, order) => `SELECT * FROM device_keys ${clause} ORDER BY ${order}`,
      (k) => ({
        index: num(k.idx),
        x: hex(k.x),
        y: hex(k.y),
        validFrom: big(k.valid_from),
        validUntil: bigOrNull(k.valid_until),
      }),
    );
  }

  /** A device's events (`id`: bytes32), oldest first. */
  #deviceHistory(id: string, w: Window): Keyed<DeviceHistoryEntry> {
    return this.#keyed(
      DETAIL_SORTS.deviceHistory,
      w,
      new Where().add("device = ?", id),
      (clause, order) => `SELECT * FROM device_events ${clause} ORDER BY ${order}`,
      (h) => ({
        kind: h.kind as DeviceHistoryEntry["kind"],
        reason: (h.reason as string | null) ?? null,
        timestamp: big(h.timestamp),
        transactionHash: hex(h.tx_hash),
      }),
    );
  }

  /** The correction batches of an attestation (`key`: bytes32, lower case), by period. */
  #corrections(key: string, w: Window): Keyed<AttestationSummary> {
    return this.#keyed(
      DETAIL_SORTS.attestationCorrections,
      w,
      new Where().add("a.correction_of = ?", key),
      (clause, order) => `SELECT ${ATTESTATION_SUMMARY_COLUMNS} FROM attestations a ${clause} ORDER BY ${order}`,
      attestationSummary,
    );
  }

  /** A facility's attestations (`key`: protocol id or bytes32), newest period first. */
  #facilityAttestations(key: string, w: Window, periodStartBefore?: bigint): Keyed<AttestationSummary> {
    const where = new Where().add("a.facility = ?", protocolIdKey(key)).before("a.period_start", periodStartBefore);
    if (where.none) return NONE;
    return this.#keyed(
      DETAIL_SORTS.facilityAttestations,
      w,
      where,
      (clause, order) => `SELECT ${ATTESTATION_SUMMARY_COLUMNS} FROM attestations a ${clause} ORDER BY ${order}`,
      attestationSummary,
    );
  }

  #deviceDetail(d: Row): DeviceDetail {
    const id = String(d.id);
    return {
      ...deviceHeader(d),
      keys: this.#deviceKeys(id, windowOf(NESTED, DETAIL_SORTS.deviceKeys.length)).rows,
      history: this.#deviceHistory(id, windowOf(NESTED, DETAIL_SORTS.deviceHistory.length)).rows,
    };
  }

  async device(id: string): Promise<DeviceDetail | undefined> {
    const key = protocolIdKey(id);
    await this.#fresh();
    const d = this.#get("SELECT * FROM devices WHERE id = ?", key);
    return d ? this.#deviceDetail(d) : undefined;
  }

  async deviceHeader(id: string): Promise<DeviceHeader | undefined> {
    const key = protocolIdKey(id);
    await this.#fresh();
    const d = this.#get("SELECT * FROM devices WHERE id = ?", key);
    return d ? deviceHeader(d) : undefined;
  }
  async devices(filter?: { facility?: string; status?: DeviceDetail["status"] }, p?: Page): Promise<DeviceHeader[]> {
    return (await this.#devices(filter, listWindow("devices", p))).rows;
  }

  /** A list row is the device's own row (as deviceHeader): its keys and history are not read. */
  async #devices(filter: Lists["devices"]["filter"] | undefined, w: Window): Promise<Keyed<DeviceHeader>> {
    const where = new Where();
    if (filter?.facility !== undefined) where.add("facility = ?", protocolIdKey(filter.facility));
    if (filter?.status !== undefined) where.add("status = ?", filter.status);
    await this.#fresh();
    return this.#keyed(
      SORTS.devices,
      w,
      where,
      (clause, order) => `SELECT * FROM devices ${clause} ORDER BY ${order}`,
      deviceHeader,
    );
  }

  async oracleNodes(p?: Page): Promise<OracleNodeSummary[]> {
    return (await this.#oracleNodes(listWindow("oracles", p))).rows;
  }

  async #oracleNodes(w: Window): Promise<Keyed<OracleNodeSummary>> {
    await this.#fresh();
    return this.#keyed(
      SORTS.oracles,
      w,
      new Where(),
      (clause, order) => `SELECT * FROM oracle_nodes ${clause} ORDER BY ${order}`,
      (n) => ({
        address: hex(n.address),
        index: num(n.idx),
        active: num(n.active) === 1,
        addedAt: big(n.added_at),
        removedAt: bigOrNull(n.removed_at),
        attestationsSigned: num(n.attestations_signed),
      }),
    );
  }

  async attestations(filter?: { revoked?: boolean; isCorrection?: boolean }, p?: Page): Promise<AttestationSummary[]> {
    return (await this.#attestations(filter, listWindow("attestations", p))).rows;
  }

  async #attestations(
    filter: Lists["attestations"]["filter"] | undefined,
    w: Window,
  ): Promise<Keyed<AttestationSummary>> {
    const where = new Where();
    if (filter?.revoked !== undefined) where.add(`a.revoked = ${filter.revoked ? 1 : 0}`);
    if (filter?.isCorrection !== undefined)
      where.add(filter.isCorrection ? "a.correction_of IS NOT NULL" : "a.correction_of IS NULL");
    await this.#fresh();
    return this.#keyed(
      SORTS.attestations,
      w,
      where,
      (clause, order) => `SELECT ${ATTESTATION_SUMMARY_COLUMNS} FROM attestations a ${clause} ORDER BY ${order}`,
      attestationSummary,
    );
  }

  async attestation(id: Hex): Promise<AttestationDetail | undefined> {
    const a = await this.attestationHeader(id);
    if (!a) return undefined;
    const key = bytes32(id, "an attestation id");
    const corrections = this.#corrections(key, windowOf(NESTED, DETAIL_SORTS.attestationCorrections.length)).rows;
    return { ...a, corrections: corrections.map((c) => c.id) };
  }

  async attestationHeader(id: Hex): Promise<AttestationHeader | undefined> {
    const key = bytes32(id, "an attestation id");
    await this.#fresh();
    const a = this.#get("SELECT * FROM attestations a WHERE a.id = ?", key);
    if (!a) return undefined;
    const revocation = this.#get("SELECT * FROM revocations WHERE attestation = ?", key);
    const challenge = this.#get("SELECT * FROM challenges WHERE attestation = ?", key);
    const issuance = this.#get("SELECT * FROM issuances WHERE attestation = ?", key);
    const shortfall = this.#get("SELECT * FROM shortfalls WHERE attestation = ?", key);
    return {
      ...attestationSummary(a),
      merkleRoot: hex(a.merkle_root),
      methodologyId: hex(a.methodology_id),
      factorSetId: hex(a.factor_set_id),
      bundleCid: String(a.bundle_cid),
      correctionOf: (a.correction_of as Hex | null) ?? null,
      signers: this.#all("SELECT idx, address FROM attestation_signers WHERE attestation = ? ORDER BY idx", key).map(
        (s) => ({ address: hex(s.address), index: num(s.idx) }),
      ),
      submitter: hex(a.submitter),
      transactionHash: hex(a.tx_hash),
      revocation: revocation
        ? {
            verifier: hex(revocation.verifier),
            reason: String(revocation.reason),
            timestamp: big(revocation.timestamp),
            byChallenge: num(revocation.by_challenge) === 1,
          }
        : null,
      challenge: challenge
        ? {
            challenger: hex(challenge.challenger),
            reason: String(challenge.reason),
            evidenceCid: String(challenge.evidence_cid),
            state: challenge.state as ChallengeState,
            note: (challenge.note as string | null) ?? null,
          }
        : null,
      issuance: issuance
        ? {
            creditId: big(issuance.credit),
            amountKg: big(issuance.amount_kg),
            boundKg: big(issuance.bound_kg),
            transactionHash: hex(issuance.tx_hash),
          }
        : null,
      shortfall: shortfall
        ? {
            projectId: big(shortfall.project),
            excessGrams: big(shortfall.excess_g),
            transactionHash: hex(shortfall.tx_hash),
          }
        : null,
    };
  }

  async credit(tokenId: bigint): Promise<CreditDetail | undefined> {
    uintArg(tokenId, "a credit token id");
    await this.#fresh();
    if (!fitsInteger(tokenId)) return undefined;
    const c = this.#get("SELECT * FROM credits WHERE token_id = ?", tokenId);
    if (!c) return undefined;
    const p = this.#get("SELECT * FROM projects WHERE id = ?", big(c.project));
    if (!p) return undefined; // a token of an unknown project cannot be minted by CarbonCredits
    return {
      tokenId: big(c.token_id),
      vintage: num(c.vintage),
      project: { ...projectSummary(p), facility: ref(p.facility) },
      issuedKg: big(c.issued_kg),
      retiredKg: big(c.retired_kg),
      supplyKg: big(c.supply_kg),
      holderCount: num(c.holder_count),
      retirementCount: num(c.retirement_count),
      issuances: this.#all(
        // an issuance of 0 kg minted none of this credit (the subgraph links it to no Credit)
        "SELECT * FROM issuances WHERE credit = ? AND amount_kg > 0 ORDER BY block_number, log_index LIMIT 1000",
        tokenId,
      ).map(issuanceOf),
    };
  }

  async listings(filter?: { status?: ListingStatus; creditId?: bigint }, p?: Page): Promise<ListingSummary[]> {
    return (await this.#listings(filter, listWindow("listings", p))).rows;
  }

  async #listings(filter: Lists["listings"]["filter"] | undefined, w: Window): Promise<Keyed<ListingSummary>> {
    const where = new Where();
    if (filter?.status !== undefined) where.add("status = ?", filter.status);
    if (where.id("credit", filter?.creditId, "creditId").none) return NONE;
    await this.#fresh();
    return this.#keyed(
      SORTS.listings,
      w,
      where,
      (clause, order) => `SELECT * FROM listings ${clause} ORDER BY ${order}`,
      listingSummary,
    );
  }

  async retirement(certificateId: bigint): Promise<RetirementDetail | undefined> {
    uintArg(certificateId, "a certificate id");
    await this.#fresh();
    const r = this.#get(
      `SELECT r.*, c.vintage, p.name project_name, p.facility project_facility, cert.locked
       FROM retirements r JOIN credits c ON c.token_id = r.credit LEFT JOIN projects p ON p.id = c.project
       LEFT JOIN certificates cert ON cert.certificate_id = r.certificate_id WHERE r.certificate_id = ?`,
      certificateId.toString(),
    );
    if (!r) return undefined;
    return {
      certificateId: BigInt(String(r.certificate_id)),
      creditId: big(r.credit),
      vintage: num(r.vintage),
      project: {
        id: big(r.project),
        name: String(r.project_name ?? ""),
        facility: ref(r.project_facility ?? r.facility ?? `0x${"0".repeat(64)}`),
      },
      beneficiary: hex(r.beneficiary),
      retiree: hex(r.retiree),
      holder: hex(r.holder),
      amountKg: big(r.amount_kg),
      beneficiaryName: String(r.beneficiary_name),
      reason: String(r.reason),
      consumptionCountry: (r.country_code as string | null) ?? null,
      consumptionStart: BigInt(String(r.consumption_start)),
      consumptionEnd: BigInt(String(r.consumption_end)),
      timestamp: big(r.timestamp),
      transactionHash: hex(r.tx_hash),
      locked: num(r.locked) === 1,
    };
  }

  async holdings(accountAddress: Hex): Promise<Holding[]> {
    const w = windowOf({ first: 1000 }, DETAIL_SORTS.accountHoldings.length);
    await this.#fresh();
    return this.#holdings(accountAddress, w).rows;
  }

  #holdings(accountAddress: Hex, w: Window): Keyed<Holding> {
    return this.#keyed(
      DETAIL_SORTS.accountHoldings,
      w,
      new Where().add("b.account = ?", account(accountAddress)).add("b.amount_kg > 0"),
      (clause, order) =>
        `SELECT b.credit, b.amount_kg, c.vintage, p.name FROM balances b JOIN credits c ON c.token_id = b.credit
         LEFT JOIN projects p ON p.id = c.project ${clause} ORDER BY ${order}`,
      (h) => ({
        creditId: big(h.credit),
        vintage: num(h.vintage),
        projectName: String(h.name ?? ""),
        amountKg: big(h.amount_kg),
      }),
    );
  }

  async daily(range: { fromDay: number; toDay: number; facility?: string }): Promise<DailyTotals[]> {
    checkDayRange("daily", range);
    const facility = range.facility === undefined ? ALL_FACILITIES : protocolIdKey(range.facility);
    await this.#fresh();
    return this.#all(
      "SELECT * FROM daily WHERE facility = ? AND day BETWEEN ? AND ? ORDER BY day",
      facility,
      range.fromDay,
      range.toDay,
    ).map(dailyTotals);
  }

  async facilitiesDaily(range: { fromDay: number; toDay: number }, p: Page): Promise<ListPage<FacilityDailyTotals>> {
    checkDayRange("facilitiesDaily", range);
    return readPage(p, FACILITIES_DAILY.length, async (w) => {
      await this.#fresh();
      return this.#keyed(
        FACILITIES_DAILY,
        w,
        new Where().add("facility <> ?", ALL_FACILITIES).add("day BETWEEN ? AND ?", range.fromDay, range.toDay),
        (clause, order) => `SELECT * FROM daily ${clause} ORDER BY ${order}`,
        (r) => ({ ...dailyTotals(r), facility: ref(r.facility), issuedAgainstKg: big(r.issued_against_kg) }),
      );
    });
  }

  async issuances(filter?: { creditId?: bigint; facility?: string }, p?: Page): Promise<IssuanceSummary[]> {
    return (await this.#issuances(filter, listWindow("issuances", p))).rows;
  }

  async #issuances(filter: Lists["issuances"]["filter"] | undefined, w: Window): Promise<Keyed<IssuanceSummary>> {
    const where = new Where().id("credit", filter?.creditId, "creditId");
    if (where.none) return NONE;
    if (filter?.facility !== undefined) where.add("facility = ?", protocolIdKey(filter.facility));
    await this.#fresh();
    return this.#keyed(
      SORTS.issuances,
      w,
      where,
      (clause, order) => `SELECT * FROM issuances ${clause} ORDER BY ${order}`,
      (i) => ({ ...issuanceOf(i), creditId: big(i.credit), facility: ref(i.facility), projectId: big(i.project) }),
    );
  }

  async transfers(filter?: { creditId?: bigint; account?: Hex }, p?: Page): Promise<TransferSummary[]> {
    return (await this.#transfers(filter, listWindow("transfers", p))).rows;
  }

  async #transfers(filter: Lists["transfers"]["filter"] | undefined, w: Window): Promise<Keyed<TransferSummary>> {
    const credit = new Where().id("credit", filter?.creditId, "creditId");
    if (credit.none) return NONE;
    let sql: (clause: string, order: string) => string;
    let params: SqlParam[] = [];
    let where = credit;
    if (filter?.account !== undefined) {
      // Two index range scans (from, to) instead of an OR the planner cannot serve from one index.
      const a = account(filter.account);
      const from = new Where().add("from_address = ?", a).id("credit", filter.creditId, "creditId");
      const to = new Where().add("to_address = ?", a).id("credit", filter.creditId, "creditId");
      sql = (clause, order) => `SELECT * FROM (SELECT * FROM transfers ${from.clause}
             UNION SELECT * FROM transfers ${to.clause}) ${clause} ORDER BY ${order}`;
      params = [...from.params, ...to.params];
      where = new Where();
    } else {
      sql = (clause, order) => `SELECT * FROM transfers ${clause} ORDER BY ${order}`;
    }
    await this.#fresh();
    return this.#keyed(
      SORTS.transfers,
      w,
      where,
      sql,
      (t) => ({
        id: String(t.id),
        creditId: big(t.credit),
        kind: t.kind as TransferSummary["kind"],
        operator: hex(t.operator),
        from: hex(t.from_address),
        to: hex(t.to_address),
        amountKg: big(t.amount_kg),
        timestamp: big(t.timestamp),
        blockNumber: big(t.block_number),
        transactionHash: hex(t.tx_hash),
      }),
      params,
    );
  }

  async sales(filter?: { creditId?: bigint; account?: Hex; listingId?: bigint }, p?: Page): Promise<SaleSummary[]> {
    return (await this.#sales(filter, listWindow("sales", p))).rows;
  }

  async #sales(filter: Lists["sales"]["filter"] | undefined, w: Window): Promise<Keyed<SaleSummary>> {
    const where = new Where().id("credit", filter?.creditId, "creditId");
    if (where.none || where.id("listing", filter?.listingId, "listingId").none) return NONE;
    if (filter?.account !== undefined) {
      const a = account(filter.account);
      where.add("(buyer = ? OR seller = ?)", a, a);
    }
    await this.#fresh();
    return this.#keyed(
      SORTS.sales,
      w,
      where,
      (clause, order) => `SELECT * FROM sales ${clause} ORDER BY ${order}`,
      (s) => ({
        id: String(s.id),
        listingId: big(s.listing),
        creditId: big(s.credit),
        buyer: hex(s.buyer),
        seller: hex(s.seller),
        amountKg: big(s.amount_kg),
        totalPrice: BigInt(String(s.total_price)),
        fee: BigInt(String(s.fee)),
        paymentToken: hex(s.payment_token),
        retired: num(s.retired) === 1,
        certificateId: s.certificate_id === null ? null : BigInt(String(s.certificate_id)),
        timestamp: big(s.timestamp),
        transactionHash: hex(s.tx_hash),
      }),
    );
  }

  async retirements(
    filter?: { creditId?: bigint; account?: Hex; facility?: string },
    p?: Page,
  ): Promise<RetirementSummary[]> {
    return (await this.#retirements(filter, listWindow("retirements", p))).rows;
  }

  async #retirements(filter: Lists["retirements"]["filter"] | undefined, w: Window): Promise<Keyed<RetirementSummary>> {
    const where = new Where().id("credit", filter?.creditId, "creditId");
    if (where.none) return NONE;
    if (filter?.facility !== undefined) where.add("facility = ?", protocolIdKey(filter.facility));
    if (filter?.account !== undefined) {
      const a = account(filter.account);
      // As the subgraph backend: the beneficiary or the retiree (the holder burned from may be the Marketplace).
      where.add("(beneficiary = ? OR retiree = ?)", a, a);
    }
    await this.#fresh();
    return this.#keyed(
      SORTS.retirements,
      w,
      where,
      (clause, order) => `SELECT * FROM retirements ${clause} ORDER BY ${order}`,
      (r) => ({
        certificateId: BigInt(String(r.certificate_id)),
        creditId: big(r.credit),
        facility: ref(r.facility ?? `0x${"0".repeat(64)}`),
        beneficiary: hex(r.beneficiary),
        beneficiaryName: String(r.beneficiary_name),
        retiree: hex(r.retiree),
        amountKg: big(r.amount_kg),
        reason: String(r.reason),
        timestamp: big(r.timestamp),
        transactionHash: hex(r.tx_hash),
      }),
    );
  }

  async challenges(filter?: { state?: ChallengeSummary["state"] }, p?: Page): Promise<ChallengeSummary[]> {
    return (await this.#challenges(filter, listWindow("challenges", p))).rows;
  }

  async #challenges(filter: Lists["challenges"]["filter"] | undefined, w: Window): Promise<Keyed<ChallengeSummary>> {
    const where = new Where();
    if (filter?.state !== undefined) where.add("c.state = ?", filter.state);
    await this.#fresh();
    return this.#keyed(
      SORTS.challenges,
      w,
      where,
      (clause, order) =>
        `SELECT c.*, a.facility FROM challenges c LEFT JOIN attestations a ON a.id = c.attestation ${clause} ORDER BY ${order}`,
      (c) => ({
        attestationId: hex(c.attestation),
        facility: ref(c.facility ?? `0x${"0".repeat(64)}`),
        challenger: hex(c.challenger),
        reason: String(c.reason),
        evidenceCid: String(c.evidence_cid),
        state: c.state as ChallengeState,
        challengedAt: big(c.challenged_at),
        resolvedAt: bigOrNull(c.resolved_at),
        note: (c.note as string | null) ?? null,
        transactionHash: hex(c.tx_hash),
      }),
    );
  }

  /**
   * Exact matches of `term`, hits in the order of SearchHit's kinds and labelled as the subgraph
   * backend labels them (subgraph/client/search.ts), plus reading digests from indexed bundles.
   */
  async search(term: string): Promise<SearchHit[]> {
    const q = term.trim();
    await this.#fresh();
    const hits: SearchHit[] = [];
    const name = (id: unknown) => protocolIdFromBytes32(String(id)) ?? String(id);
    const isoDate = (seconds: unknown) => new Date(num(seconds) * 1000).toISOString().slice(0, 10);
    const key = BYTES32.test(q) ? q.toLowerCase() : PROTOCOL_ID.test(q) ? protocolIdKey(q) : null;
    const hash = BYTES32.test(q) ? q.toLowerCase() : null;
    const address = ADDRESS.test(q) ? q.toLowerCase() : null;
    const n = DECIMAL.test(q) ? BigInt(q) : null;
    const integer = n !== null && fitsInteger(n) ? n : null;

    const f = key && this.#get("SELECT id FROM facilities WHERE id = ?", key);
    if (f) hits.push({ kind: "facility", id: hex(f.id), label: name(f.id) });
    const d = key && this.#get("SELECT id, facility FROM devices WHERE id = ?", key);
    if (d) hits.push({ kind: "device", id: hex(d.id), label: `${name(d.id)} at ${name(d.facility)}` });
    if (address)
      for (const node of this.#all("SELECT idx, active FROM oracle_nodes WHERE address = ? ORDER BY idx", address))
        hits.push({
          kind: "oracleNode",
          id: hex(address),
          label: `oracle node #${num(node.idx)}${num(node.active) === 1 ? "" : " (removed)"}`,
        });
    const a = hash && this.#get("SELECT id, facility, period_start FROM attestations WHERE id = ?", hash);
    if (a)
      hits.push({
        kind: "attestation",
        id: hex(a.id),
        label: `attestation of ${name(a.facility)}, period from ${isoDate(a.period_start)}`,
      });
    const c =
      integer !== null &&
      this.#get(
        "SELECT c.vintage, p.name FROM credits c LEFT JOIN projects p ON p.id = c.project WHERE c.token_id = ?",
        integer,
      );
    if (c && n !== null)
      hits.push({ kind: "credit", id: n, label: `${String(c.name ?? "")}, vintage ${num(c.vintage)}` });
    const l = integer !== null && this.#get("SELECT status FROM listings WHERE id = ?", integer);
    if (l && n !== null) hits.push({ kind: "listing", id: n, label: `listing #${n} (${String(l.status)})` });
    const r =
      n !== null &&
      this.#get("SELECT amount_kg, beneficiary_name FROM retirements WHERE certificate_id = ?", n.toString());
    if (r && n !== null)
      hits.push({
        kind: "retirement",
        id: n,
        label: `${big(r.amount_kg)} kg CO2e retired for ${String(r.beneficiary_name)}`,
      });
    // An account: any address the credits or certificates touched (accounts), or a project's proponent.
    const account =
      address &&
      (this.#get("SELECT 1 FROM accounts WHERE address = ?", address) ??
        this.#get("SELECT 1 FROM projects WHERE proponent = ? LIMIT 1", address));
    if (account && address) hits.push({ kind: "account", id: hex(address), label: `account ${address}` });
    if (hash) {
      const parts = [
        ...new Set(
          this.#all("SELECT event_name, args FROM events WHERE tx_hash = ? ORDER BY block_number, log_index", hash).map(
            (e) => transactionPart(String(e.event_name), String(e.args)),
          ),
        ),
      ].filter((part) => part !== "");
      if (parts.length) hits.push({ kind: "transaction", id: hex(hash), label: `transaction: ${parts.join(", ")}` });
      for (const reading of this.#all(
        `SELECT r.digest, r.attestation_id, r.device_id, r.seq FROM readings r
         WHERE r.digest = ? AND EXISTS (SELECT 1 FROM attestations a WHERE a.id = r.attestation_id) LIMIT 10`,
        hash,
      ))
        hits.push({
          kind: "reading",
          id: hex(reading.digest),
          label: `reading ${String(reading.device_id)} #${num(reading.seq)}`,
          attestationId: hex(reading.attestation_id),
        });
    }
    if (CID.test(q))
      for (const b of this.#all(
        "SELECT id, facility FROM attestations WHERE bundle_cid = ? ORDER BY submitted_block, submitted_log LIMIT 100",
        q,
      ))
        hits.push({
          kind: "bundle",
          id: q,
          label: `evidence bundle of an attestation of ${name(b.facility)}`,
          attestationId: hex(b.id),
        });
    return hits;
  }

  async readings(
    filter: { attestationId?: Hex; facility?: string; deviceId?: string },
    p?: Page,
  ): Promise<ReadingSummary[] | null> {
    const w = windowOf(p, readingsSort(filter).length);
    await this.#fresh();
    return this.#readings(filter, w).rows;
  }

  #readings(
    filter: { attestationId?: Hex; facility?: string; deviceId?: string; beforeTs?: bigint },
    w: Window,
  ): Keyed<ReadingSummary> {
    // readings of attestations a reorg removed stay in the table (keyed by attestation) but are not shown
    const where = new Where().add("EXISTS (SELECT 1 FROM attestations a WHERE a.id = r.attestation_id)");
    if (filter.attestationId !== undefined)
      where.add("r.attestation_id = ?", bytes32(filter.attestationId, "an attestation id"));
    if (filter.facility !== undefined) where.add("r.facility = ?", protocolIdKey(filter.facility));
    if (filter.deviceId !== undefined) where.add("r.device_id = ?", filter.deviceId);
    where.before("r.ts", filter.beforeTs);
    if (where.none) return NONE;
    return this.#keyed(
      readingsSort(filter),
      w,
      where,
      (clause, order) => `SELECT r.* FROM readings r ${clause} ORDER BY ${order}`,
      readingSummary,
    );
  }

  async sourceTotals(range: { fromDay: number; toDay: number; facility: string }): Promise<SourceTotals[] | null> {
    checkDayRange("sourceTotals", range);
    const facility = protocolIdKey(range.facility);
    await this.#fresh();
    // Readings of standing attestations only, like the emission totals (a revoked batch leaves them).
    return this.#all(
      `SELECT r.day, r.source, COUNT(*) n, SUM(r.fossil_mg) fossil, SUM(r.biogenic_mg) biogenic FROM readings r
       JOIN attestations a ON a.id = r.attestation_id AND a.revoked = 0
       WHERE r.facility = ? AND r.day BETWEEN ? AND ? GROUP BY r.day, r.source ORDER BY r.day, r.source`,
      facility,
      range.fromDay,
      range.toDay,
    ).map((r) => ({
      day: num(r.day),
      source: String(r.source),
      readingCount: num(r.n),
      fossilCo2eMg: big(r.fossil),
      biogenicCo2Mg: big(r.biogenic),
    }));
  }

  /** Where the evidence bundle of an attestation stands (embedded backend only). */
  bundleStatus(attestationId: Hex):
    | {
        cid: string;
        state: "pending" | "indexed" | "unavailable" | "invalid";
        attempts: number;
        error: string | null;
        readingCount: number | null;
      }
    | undefined {
    const b = this.#get("SELECT * FROM bundles WHERE attestation_id = ?", bytes32(attestationId, "an attestation id"));
    if (!b) return undefined;
    return {
      cid: String(b.cid),
      state: b.state as "pending" | "indexed" | "unavailable" | "invalid",
      attempts: num(b.attempts),
      error: (b.error as string | null) ?? null,
      readingCount: b.reading_count === null ? null : num(b.reading_count),
    };
  }
}
