/**
 * Every list the explorer browses, defined once: its filters (read from the URL and checked here),
 * how it is read from the indexer, and its CSV columns. The list pages and the CSV export route
 * both use these definitions, so an export holds exactly the rows the page shows with the same
 * filters. CSV amounts are integers in chain units with the unit in the column name.
 */
import type {
  AttestationSummary,
  ChallengeSummary,
  DeviceDetail,
  DeviceHeader,
  ExplorerIndexer,
  FacilityRef,
  FacilitySummary,
  Hex,
  IssuanceSummary,
  ListName,
  ListPage,
  ListingSummary,
  OracleNodeSummary,
  Page,
  RetirementSummary,
  SaleSummary,
  TransferSummary,
} from "@carbonproof/subgraph/client";
import { csvHeader, csvRows, isoUtc, type CsvColumn } from "./csv.ts";
import type { ExportPage } from "./exportStream.ts";
import { isFacilityRef, parseUintId } from "../ids.ts";

/** Rows per page of every explorer list. */
export const PAGE_SIZE = 50;

/**
 * Where a list page, or the list inside a detail page, starts: `?after=<cursor>` (the rows after
 * that row), `?before=<cursor>` (the rows before it), or the top. A cursor is opaque text the previous page's links carried; text
 * that cannot be one is ignored (the top), and the indexer refuses one that is not of its list.
 */
export type ListCursor = { after?: string; before?: string };

const CURSOR = /^[A-Za-z0-9_-]{1,512}$/;

export function parseCursor(params: URLSearchParams): ListCursor {
  const after = params.get("after");
  if (after && CURSOR.test(after)) return { after };
  const before = params.get("before");
  if (before && CURSOR.test(before)) return { before };
  return {};
}

/** Next.js `searchParams` → URLSearchParams (repeated keys keep their first value). */
export function toParams(raw: Record<string, string | string[] | undefined>): URLSearchParams {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(raw)) {
    const value = Array.isArray(v) ? v[0] : v;
    if (value !== undefined) p.set(k, value);
  }
  return p;
}

export type FilterField = {
  name: string;
  label: string;
  options?: readonly { value: string; label: string }[];
  placeholder?: string;
};

export type ParsedFilter<F> = {
  filter: F;
  /** the valid filters, as URL parameters: for page links and the export link */
  active: Record<string, string>;
  /** one sentence per filter value that was not understood */
  errors: string[];
};

export type ListSpec<F, R> = {
  name: ListName;
  title: string;
  /** what a row is, and the rows are: "1 device", "no devices match these filters" */
  singular: string;
  plural: string;
  fields: readonly FilterField[];
  parse(params: URLSearchParams): ParsedFilter<F>;
  /** one page by cursor (ExplorerIndexer.list) */
  read(ix: ExplorerIndexer, filter: F, page: Page): Promise<ListPage<R>>;
  csv: readonly CsvColumn<R>[];
};

export type { ListName };

// ---------------------------------------------------------------- filter values

const ADDRESS = /^0x[0-9a-fA-F]{40}$/;

type Reader<T> = (params: URLSearchParams, out: ParsedFilter<Record<string, unknown>>) => T | undefined;

function field<T>(name: string, check: (v: string) => T | undefined, what: string): Reader<T> {
  return (params, out) => {
    const raw = params.get(name)?.trim();
    if (!raw) return undefined;
    const v = check(raw);
    if (v === undefined) {
      out.errors.push(`“${raw}” is not ${what}; that filter is not applied.`);
      return undefined;
    }
    out.active[name] = raw;
    return v;
  };
}

const creditIdField = (name = "credit") => field(name, parseUintId, "a credit token id (decimal digits)");
const listingIdField = (name = "listing") => field(name, parseUintId, "a listing id (decimal digits)");
const accountField = (name = "account") =>
  field(name, (v) => (ADDRESS.test(v) ? (v.toLowerCase() as Hex) : undefined), "an address (0x + 40 hex digits)");
const facilityField = (name = "facility") =>
  field(name, (v) => (isFacilityRef(v) ? v : undefined), "a facility id (e.g. ktda-kangaita) or its bytes32 key");
function enumField<T extends string>(name: string, values: readonly T[], what: string): Reader<T> {
  return field(name, (v) => (values.includes(v as T) ? (v as T) : undefined), what);
}
const yesNoField = (name: string) =>
  field(name, (v) => (v === "yes" ? true : v === "no" ? false : undefined), "yes or no");

function parser<F>(read: (params: URLSearchParams, out: ParsedFilter<Record<string, unknown>>) => F) {
  return (params: URLSearchParams): ParsedFilter<F> => {
    const out: ParsedFilter<Record<string, unknown>> = { filter: {}, active: {}, errors: [] };
    const filter = read(params, out);
    return { filter, active: out.active, errors: out.errors };
  };
}

const YES_NO = [
  { value: "", label: "Any" },
  { value: "yes", label: "Yes" },
  { value: "no", label: "No" },
] as const;

function options<T extends string>(values: readonly T[], anyLabel: string) {
  return [{ value: "", label: anyLabel }, ...values.map((v) => ({ value: v, label: v }))];
}

// ---------------------------------------------------------------- shared CSV columns

/** The facility's protocol id when it has one, else its bytes32 key: what its explorer URL takes. */
export function facilityKey(ref: FacilityRef): string {
  return ref.code ?? ref.id;
}

const facilityCols = <R>(get: (r: R) => FacilityRef): CsvColumn<R>[] => [
  { header: "facility_id", value: (r) => get(r).code },
  { header: "facility_key", value: (r) => get(r).id },
];

// ---------------------------------------------------------------- the lists

const DEVICE_STATUSES = ["Active", "Suspended", "Retired"] as const satisfies readonly DeviceDetail["status"][];
const LISTING_STATUSES = ["Open", "Filled", "Cancelled"] as const;
const CHALLENGE_STATES = ["Pending", "Dismissed", "Upheld"] as const satisfies readonly ChallengeSummary["state"][];

export const facilitiesList: ListSpec<Record<string, never>, FacilitySummary> = {
  name: "facilities",
  title: "Facilities",
  singular: "facility",
  plural: "facilities",
  fields: [],
  parse: parser(() => ({})),
  read: (ix, _f, page) => ix.list("facilities", {}, page),
  csv: [
    ...facilityCols<FacilitySummary>((r) => r),
    { header: "devices", value: (r) => r.deviceCount },
    { header: "active_devices", value: (r) => r.activeDeviceCount },
    { header: "attestations", value: (r) => r.attestationCount },
    { header: "revoked_attestations", value: (r) => r.revokedAttestationCount },
    { header: "readings", value: (r) => r.readingCount },
    { header: "fossil_co2e_g", value: (r) => r.fossilCo2eGrams },
    { header: "biogenic_co2_g", value: (r) => r.biogenicCo2Grams },
    { header: "attested_until_utc", value: (r) => (r.attestedUntil ? isoUtc(r.attestedUntil) : "") },
    { header: "credits_issued_kg", value: (r) => r.creditsIssuedKg },
    { header: "credits_retired_kg", value: (r) => r.creditsRetiredKg },
    { header: "credits_outstanding_kg", value: (r) => r.creditsIssuedKg - r.creditsRetiredKg },
  ],
};

type DeviceFilter = { facility?: string; status?: DeviceDetail["status"] };
export const devicesList: ListSpec<DeviceFilter, DeviceHeader> = {
  name: "devices",
  title: "Devices",
  singular: "device",
  plural: "devices",
  fields: [
    { name: "facility", label: "Facility id", placeholder: "ktda-kangaita" },
    { name: "status", label: "Status", options: options(DEVICE_STATUSES, "Any status") },
  ],
  parse: parser((p, out) => ({
    facility: facilityField()(p, out),
    status: enumField("status", DEVICE_STATUSES, "a device status (Active, Suspended, Retired)")(p, out),
  })),
  read: (ix, f, page) => ix.list("devices", f, page),
  csv: [
    { header: "device_id", value: (r) => r.code },
    { header: "device_key", value: (r) => r.id },
    ...facilityCols<DeviceHeader>((r) => r.facility),
    { header: "kind", value: (r) => r.kind },
    { header: "status", value: (r) => r.status },
    { header: "status_reason", value: (r) => r.statusReason },
    { header: "keys", value: (r) => r.keyCount },
    { header: "registered_at_utc", value: (r) => isoUtc(r.registeredAt) },
    { header: "metadata_uri", value: (r) => r.metadataURI },
  ],
};

export const oraclesList: ListSpec<Record<string, never>, OracleNodeSummary> = {
  name: "oracles",
  title: "Oracle nodes",
  singular: "oracle node",
  plural: "oracle nodes",
  fields: [],
  parse: parser(() => ({})),
  read: (ix, _f, page) => ix.list("oracles", {}, page),
  csv: [
    { header: "address", value: (r) => r.address },
    { header: "signer_index", value: (r) => r.index },
    { header: "active", value: (r) => r.active },
    { header: "added_at_utc", value: (r) => isoUtc(r.addedAt) },
    { header: "removed_at_utc", value: (r) => isoUtc(r.removedAt) },
    { header: "attestations_signed", value: (r) => r.attestationsSigned },
  ],
};

type AttestationFilter = { revoked?: boolean; isCorrection?: boolean };
export const attestationsList: ListSpec<AttestationFilter, AttestationSummary> = {
  name: "attestations",
  title: "Attestations",
  singular: "attestation",
  plural: "attestations",
  fields: [
    { name: "revoked", label: "Revoked", options: YES_NO },
    { name: "correction", label: "Correction of another", options: YES_NO },
  ],
  parse: parser((p, out) => ({
    revoked: yesNoField("revoked")(p, out),
    isCorrection: yesNoField("correction")(p, out),
  })),
  read: (ix, f, page) => ix.list("attestations", f, page),
  csv: [
    { header: "attestation_id", value: (r) => r.id },
    ...facilityCols<AttestationSummary>((r) => r.facility),
    { header: "period_start_utc", value: (r) => isoUtc(r.periodStart) },
    { header: "period_end_utc", value: (r) => isoUtc(r.periodEnd) },
    { header: "readings", value: (r) => r.readingCount },
    { header: "fossil_co2e_g", value: (r) => r.fossilCo2eGrams },
    { header: "biogenic_co2_g", value: (r) => r.biogenicCo2Grams },
    { header: "correction", value: (r) => r.isCorrection },
    { header: "revoked", value: (r) => r.revoked },
    { header: "challenge_state", value: (r) => r.challengeState },
    { header: "submitted_at_utc", value: (r) => isoUtc(r.submittedAt) },
    { header: "issued_credit_id", value: (r) => r.issuedCreditId },
  ],
};

type IssuanceFilter = { creditId?: bigint; facility?: string };
export const issuancesList: ListSpec<IssuanceFilter, IssuanceSummary> = {
  name: "issuances",
  title: "Issuances",
  singular: "issuance",
  plural: "issuances",
  fields: [
    { name: "credit", label: "Credit token id", placeholder: "65538" },
    { name: "facility", label: "Facility id", placeholder: "ktda-kangaita" },
  ],
  parse: parser((p, out) => ({ creditId: creditIdField()(p, out), facility: facilityField()(p, out) })),
  read: (ix, f, page) => ix.list("issuances", f, page),
  csv: [
    { header: "credit_id", value: (r) => r.creditId },
    { header: "attestation_id", value: (r) => r.attestationId },
    ...facilityCols<IssuanceSummary>((r) => r.facility),
    { header: "project_id", value: (r) => r.projectId },
    { header: "amount_kg", value: (r) => r.amountKg },
    { header: "bound_kg", value: (r) => r.boundKg },
    { header: "timestamp_utc", value: (r) => isoUtc(r.timestamp) },
    { header: "tx_hash", value: (r) => r.transactionHash },
  ],
};

type TransferFilter = { creditId?: bigint; account?: Hex };
export const transfersList: ListSpec<TransferFilter, TransferSummary> = {
  name: "transfers",
  title: "Transfers",
  singular: "transfer",
  plural: "transfers",
  fields: [
    { name: "credit", label: "Credit token id", placeholder: "65538" },
    { name: "account", label: "Account (from or to)", placeholder: "0x…" },
  ],
  parse: parser((p, out) => ({ creditId: creditIdField()(p, out), account: accountField()(p, out) })),
  read: (ix, f, page) => ix.list("transfers", f, page),
  csv: [
    { header: "transfer_id", value: (r) => r.id },
    { header: "credit_id", value: (r) => r.creditId },
    { header: "kind", value: (r) => r.kind },
    { header: "operator", value: (r) => r.operator },
    { header: "from", value: (r) => r.from },
    { header: "to", value: (r) => r.to },
    { header: "amount_kg", value: (r) => r.amountKg },
    { header: "timestamp_utc", value: (r) => isoUtc(r.timestamp) },
    { header: "block", value: (r) => r.blockNumber },
    { header: "tx_hash", value: (r) => r.transactionHash },
  ],
};

type ListingFilter = { status?: ListingSummary["status"]; creditId?: bigint };
export const listingsList: ListSpec<ListingFilter, ListingSummary> = {
  name: "listings",
  title: "Listings",
  singular: "listing",
  plural: "listings",
  fields: [
    { name: "status", label: "Status", options: options(LISTING_STATUSES, "Any status") },
    { name: "credit", label: "Credit token id", placeholder: "65538" },
  ],
  parse: parser((p, out) => ({
    status: enumField("status", LISTING_STATUSES, "a listing status (Open, Filled, Cancelled)")(p, out),
    creditId: creditIdField()(p, out),
  })),
  read: (ix, f, page) => ix.list("listings", f, page),
  csv: [
    { header: "listing_id", value: (r) => r.id },
    { header: "seller", value: (r) => r.seller },
    { header: "credit_id", value: (r) => r.creditId },
    { header: "amount_kg", value: (r) => r.amountKg },
    { header: "remaining_kg", value: (r) => r.remainingKg },
    { header: "payment_token", value: (r) => r.paymentToken },
    { header: "unit_price_token_base_units_per_kg", value: (r) => r.unitPrice },
    { header: "min_fill_kg", value: (r) => r.minFillKg },
    { header: "expires_at_utc", value: (r) => isoUtc(r.expiresAt) },
    { header: "status", value: (r) => r.status },
  ],
};

type SaleFilter = { creditId?: bigint; account?: Hex; listingId?: bigint };
export const salesList: ListSpec<SaleFilter, SaleSummary> = {
  name: "sales",
  title: "Sales",
  singular: "sale",
  plural: "sales",
  fields: [
    { name: "credit", label: "Credit token id", placeholder: "65538" },
    { name: "account", label: "Account (buyer or seller)", placeholder: "0x…" },
    { name: "listing", label: "Listing id", placeholder: "1" },
  ],
  parse: parser((p, out) => ({
    creditId: creditIdField()(p, out),
    account: accountField()(p, out),
    listingId: listingIdField()(p, out),
  })),
  read: (ix, f, page) => ix.list("sales", f, page),
  csv: [
    { header: "sale_id", value: (r) => r.id },
    { header: "listing_id", value: (r) => r.listingId },
    { header: "credit_id", value: (r) => r.creditId },
    { header: "buyer", value: (r) => r.buyer },
    { header: "seller", value: (r) => r.seller },
    { header: "amount_kg", value: (r) => r.amountKg },
    { header: "total_price_token_base_units", value: (r) => r.totalPrice },
    { header: "fee_token_base_units", value: (r) => r.fee },
    { header: "payment_token", value: (r) => r.paymentToken },
    { header: "retired", value: (r) => r.retired },
    { header: "certificate_id", value: (r) => r.certificateId },
    { header: "timestamp_utc", value: (r) => isoUtc(r.timestamp) },
    { header: "tx_hash", value: (r) => r.transactionHash },
  ],
};

type RetirementFilter = { creditId?: bigint; account?: Hex; facility?: string };
export const retirementsList: ListSpec<RetirementFilter, RetirementSummary> = {
  name: "retirements",
  title: "Retirements",
  singular: "retirement",
  plural: "retirements",
  fields: [
    { name: "credit", label: "Credit token id", placeholder: "65538" },
    { name: "account", label: "Account (beneficiary or retiree)", placeholder: "0x…" },
    { name: "facility", label: "Facility id", placeholder: "ktda-kangaita" },
  ],
  parse: parser((p, out) => ({
    creditId: creditIdField()(p, out),
    account: accountField()(p, out),
    facility: facilityField()(p, out),
  })),
  read: (ix, f, page) => ix.list("retirements", f, page),
  csv: [
    { header: "certificate_id", value: (r) => r.certificateId },
    { header: "credit_id", value: (r) => r.creditId },
    ...facilityCols<RetirementSummary>((r) => r.facility),
    { header: "beneficiary", value: (r) => r.beneficiary },
    { header: "beneficiary_name", value: (r) => r.beneficiaryName },
    { header: "retiree", value: (r) => r.retiree },
    { header: "amount_kg", value: (r) => r.amountKg },
    { header: "reason", value: (r) => r.reason },
    { header: "timestamp_utc", value: (r) => isoUtc(r.timestamp) },
    { header: "tx_hash", value: (r) => r.transactionHash },
  ],
};

type ChallengeFilter = { state?: ChallengeSummary["state"] };
export const challengesList: ListSpec<ChallengeFilter, ChallengeSummary> = {
  name: "challenges",
  title: "Challenges",
  singular: "challenge",
  plural: "challenges",
  fields: [{ name: "state", label: "State", options: options(CHALLENGE_STATES, "Any state") }],
  parse: parser((p, out) => ({
    state: enumField("state", CHALLENGE_STATES, "a challenge state (Pending, Dismissed, Upheld)")(p, out),
  })),
  read: (ix, f, page) => ix.list("challenges", f, page),
  csv: [
    { header: "attestation_id", value: (r) => r.attestationId },
    ...facilityCols<ChallengeSummary>((r) => r.facility),
    { header: "challenger", value: (r) => r.challenger },
    { header: "state", value: (r) => r.state },
    { header: "reason", value: (r) => r.reason },
    { header: "evidence_cid", value: (r) => r.evidenceCid },
    { header: "note", value: (r) => r.note },
    { header: "challenged_at_utc", value: (r) => isoUtc(r.challengedAt) },
    { header: "resolved_at_utc", value: (r) => isoUtc(r.resolvedAt) },
    { header: "tx_hash", value: (r) => r.transactionHash },
  ],
};

// ---------------------------------------------------------------- CSV export of any list

/** A list as the export route sees it: its rows only as CSV text. */
export type CsvExport = {
  name: ListName;
  parse(params: URLSearchParams): { active: Record<string, string>; errors: string[] };
  header(): string;
  /** one page of rows (from the top, or `after` a cursor) as CSV records, how many, and the next page's cursor */
  page(ix: ExplorerIndexer, params: URLSearchParams, page: Page): Promise<ExportPage>;
};

function exporter<F, R>(spec: ListSpec<F, R>): CsvExport {
  return {
    name: spec.name,
    parse: (params) => spec.parse(params),
    header: () => csvHeader(spec.csv),
    async page(ix, params, page) {
      const read = await spec.read(ix, spec.parse(params).filter, page);
      return { rows: read.rows.length, text: csvRows(spec.csv, read.rows), next: read.next };
    },
  };
}

export const CSV_EXPORTS: Readonly<Record<ListName, CsvExport>> = {
  facilities: exporter(facilitiesList),
  devices: exporter(devicesList),
  oracles: exporter(oraclesList),
  attestations: exporter(attestationsList),
  issuances: exporter(issuancesList),
  transfers: exporter(transfersList),
  listings: exporter(listingsList),
  sales: exporter(salesList),
  retirements: exporter(retirementsList),
  challenges: exporter(challengesList),
};

/** `/explorer/export/<list>?<the filters that applied>` */
export function exportHref(name: ListName | "totals", active: Record<string, string>): string {
  const q = new URLSearchParams(active).toString();
  return `/explorer/export/${name}${q ? `?${q}` : ""}`;
}

/**
 * A list's URL with its filters and where it starts (a cursor; the top is left out), and the
 * `anchor` of a list inside a detail page, so its page links land on the list.
 */
export function listHref(path: string, active: Record<string, string>, at: ListCursor = {}, anchor?: string): string {
  const p = new URLSearchParams(active);
  if (at.after) p.set("after", at.after);
  else if (at.before) p.set("before", at.before);
  const q = p.toString();
  return `${path}${q ? `?${q}` : ""}${anchor ? `#${anchor}` : ""}`;
}
