/**
 * What the explorer reads from an indexer, backend-independent. Amounts are bigint with the unit
 * in the name (grams CO2e, kilograms of credits, payment-token base units); times are unix seconds.
 */

export type Hex = `0x${string}`;

/**
 * A window of a list: `first` rows (1–1000, default 100), from the top after `skip` rows, or right
 * after the row whose cursor is `after`, or right before the row whose cursor is `before`. Cursors
 * are opaque strings a `ListPage` gave, valid for the backend and list that gave them; they page
 * at any depth, `skip` does not on a subgraph (graph-node refuses skip > 5000, SUBGRAPH_MAX_SKIP).
 */
export type Page = { first?: number; skip?: number; after?: string; before?: string };

/** A page of a list read by cursor: its rows in the list's order and the cursors either side. */
export type ListPage<R> = {
  rows: R[];
  /** `after` this for the next page; null on the last page */
  next: string | null;
  /** `before` this for the previous page; null on the first page */
  previous: string | null;
};

export type FacilityRef = { id: Hex; code: string | null };

export type ProtocolOverview = {
  facilityCount: number;
  deviceCount: number;
  oracleNodeCount: number;
  attestationCount: number;
  revokedAttestationCount: number;
  readingCount: bigint;
  fossilCo2eGrams: bigint;
  biogenicCo2Grams: bigint;
  projectCount: number;
  issuedKg: bigint;
  retiredKg: bigint;
  retirementCount: number;
  listingCount: number;
  saleCount: number;
  soldKg: bigint;
  /** the last block the indexer has processed, when it says */
  indexedBlock: number | null;
  /** the indexer reports failed handlers: its data may be incomplete, show a warning */
  indexingErrors: boolean;
};

export type FacilitySummary = FacilityRef & {
  deviceCount: number;
  activeDeviceCount: number;
  attestationCount: number;
  revokedAttestationCount: number;
  readingCount: bigint;
  fossilCo2eGrams: bigint;
  biogenicCo2Grams: bigint;
  attestedUntil: bigint;
  creditsIssuedKg: bigint;
  creditsRetiredKg: bigint;
};

export type FacilityDetail = FacilitySummary & {
  devices: DeviceSummary[];
  projects: ProjectSummary[];
  /** newest period first */
  attestations: AttestationSummary[];
};

export type DeviceKind = "FlueGas" | "ElectricityMeter" | "FuelMeter" | "ManualEntry";
export type DeviceStatus = "Active" | "Suspended" | "Retired";

export type DeviceSummary = {
  id: Hex;
  code: string | null;
  kind: DeviceKind;
  status: DeviceStatus;
  keyCount: number;
  registeredAt: bigint;
};

export type DeviceKeyInfo = { index: number; x: Hex; y: Hex; validFrom: bigint; validUntil: bigint | null };

export type DeviceHistoryEntry = {
  kind: "Registered" | "Suspended" | "Reactivated" | "KeyRotated" | "Retired" | "MetadataUpdated";
  reason: string | null;
  timestamp: bigint;
  transactionHash: Hex;
};

/** A device's facts without its nested lists (`ExplorerIndexer.deviceHeader`). */
export type DeviceHeader = DeviceSummary & {
  facility: FacilityRef;
  statusReason: string | null;
  metadataURI: string;
};

export type DeviceDetail = DeviceHeader & {
  keys: DeviceKeyInfo[];
  history: DeviceHistoryEntry[];
};

export type ChallengeState = "None" | "Pending" | "Dismissed" | "Upheld";

export type AttestationSummary = {
  id: Hex;
  facility: FacilityRef;
  periodStart: bigint;
  periodEnd: bigint;
  readingCount: bigint;
  fossilCo2eGrams: bigint;
  biogenicCo2Grams: bigint;
  isCorrection: boolean;
  revoked: boolean;
  challengeState: ChallengeState;
  submittedAt: bigint;
  /**
   * the credit token id this attestation's issuance minted; null if not issued, or issued for 0 kg
   * (its reduction only paid the project's debt: nothing minted; the detail's `issuance` says so)
   */
  issuedCreditId: bigint | null;
};

/** An attestation's facts without its corrections (`ExplorerIndexer.attestationHeader`). */
export type AttestationHeader = AttestationSummary & {
  merkleRoot: Hex;
  methodologyId: Hex;
  factorSetId: Hex;
  bundleCid: string;
  correctionOf: Hex | null;
  signers: { address: Hex; index: number }[];
  submitter: Hex;
  transactionHash: Hex;
  revocation: { verifier: Hex; reason: string; timestamp: bigint; byChallenge: boolean } | null;
  challenge: {
    challenger: Hex;
    reason: string;
    evidenceCid: string;
    state: ChallengeState;
    note: string | null;
  } | null;
  /**
   * its issuance, if any; `creditId` is the token id of its project and vintage, minted only when
   * `amountKg` > 0 (an issuance of 0 kg paid the project's debt and minted nothing)
   */
  issuance: { creditId: bigint; amountKg: bigint; boundKg: bigint; transactionHash: Hex } | null;
  /**
   * set once CarbonCredits settled the period without issuing it (ShortfallRecorded): above its
   * project's baseline (recordShortfall, excessGrams > 0), or revoked and re-attested by its
   * corrections (excessGrams = their grams above the baseline, 0 when at or below it)
   */
  shortfall: { projectId: bigint; excessGrams: bigint; transactionHash: Hex } | null;
};

export type AttestationDetail = AttestationHeader & {
  /** its correction batches' ids, by period: the first 1,000 */
  corrections: Hex[];
};

export type ProjectSummary = {
  id: bigint;
  name: string;
  standard: string;
  active: boolean;
  proponent: Hex;
  issuedKg: bigint;
  retiredKg: bigint;
  /**
   * the contract's correctionDebtGrams: corrections of issued periods and periods above the
   * baseline (shortfalls), less what issuances covered; the project's next credits cover it first
   */
  owedGrams: bigint;
  /** grams of settled periods above the baseline, all time */
  shortfallGrams: bigint;
};

export type CreditDetail = {
  tokenId: bigint;
  vintage: number;
  project: ProjectSummary & { facility: FacilityRef };
  issuedKg: bigint;
  retiredKg: bigint;
  supplyKg: bigint;
  holderCount: number;
  retirementCount: number;
  /**
   * The credit's first 1,000 issuances, oldest first: a page of them, not all of a credit of
   * hourly attestations. `list("issuances", { creditId }, page)` reads every one by cursor.
   */
  issuances: { attestationId: Hex; amountKg: bigint; boundKg: bigint; timestamp: bigint; transactionHash: Hex }[];
};

export type ListingStatus = "Open" | "Filled" | "Cancelled";

export type ListingSummary = {
  id: bigint;
  seller: Hex;
  creditId: bigint;
  amountKg: bigint;
  remainingKg: bigint;
  paymentToken: Hex;
  unitPrice: bigint;
  minFillKg: bigint;
  expiresAt: bigint;
  status: ListingStatus;
};

export type RetirementDetail = {
  certificateId: bigint;
  creditId: bigint;
  vintage: number;
  project: { id: bigint; name: string; facility: FacilityRef };
  beneficiary: Hex;
  retiree: Hex;
  holder: Hex;
  amountKg: bigint;
  beneficiaryName: string;
  reason: string;
  consumptionCountry: string | null;
  consumptionStart: bigint;
  consumptionEnd: bigint;
  timestamp: bigint;
  transactionHash: Hex;
  locked: boolean;
};

export type Holding = { creditId: bigint; vintage: number; projectName: string; amountKg: bigint };

export type DailyTotals = {
  day: number;
  date: bigint;
  attestationCount: number;
  revokedAttestationCount: number;
  readingCount: bigint;
  fossilCo2eGrams: bigint;
  biogenicCo2Grams: bigint;
  issuedKg: bigint;
  retiredKg: bigint;
  saleCount: number;
  soldKg: bigint;
};

/**
 * One facility's totals of one day (`ExplorerIndexer.facilitiesDaily`), and `issuedAgainstKg`: the
 * credits issued against its attestations whose period starts that day, less those of the
 * attestations revoked since (whenever they were issued; `issuedKg` counts what was issued that day).
 */
export type FacilityDailyTotals = DailyTotals & { facility: FacilityRef; issuedAgainstKg: bigint };

// ---------------------------------------------------------------- lists the explorer browses (issue 8)

export type OracleNodeSummary = {
  address: Hex;
  /** the index a signer bitmap uses */
  index: number;
  active: boolean;
  addedAt: bigint;
  removedAt: bigint | null;
  attestationsSigned: number;
};

export type IssuanceSummary = {
  /** the token id of its project and vintage; nothing of it minted when `amountKg` is 0 */
  creditId: bigint;
  attestationId: Hex;
  facility: FacilityRef;
  projectId: bigint;
  amountKg: bigint;
  boundKg: bigint;
  timestamp: bigint;
  transactionHash: Hex;
};

export type TransferKind = "Mint" | "Transfer" | "Burn";

export type TransferSummary = {
  /** transaction hash ++ log index: unique */
  id: string;
  creditId: bigint;
  kind: TransferKind;
  operator: Hex;
  from: Hex;
  to: Hex;
  amountKg: bigint;
  timestamp: bigint;
  blockNumber: bigint;
  transactionHash: Hex;
};

export type SaleSummary = {
  id: string;
  listingId: bigint;
  creditId: bigint;
  buyer: Hex;
  seller: Hex;
  amountKg: bigint;
  totalPrice: bigint;
  fee: bigint;
  paymentToken: Hex;
  retired: boolean;
  certificateId: bigint | null;
  timestamp: bigint;
  transactionHash: Hex;
};

export type RetirementSummary = {
  certificateId: bigint;
  creditId: bigint;
  facility: FacilityRef;
  beneficiary: Hex;
  beneficiaryName: string;
  retiree: Hex;
  amountKg: bigint;
  reason: string;
  timestamp: bigint;
  transactionHash: Hex;
};

export type ChallengeSummary = {
  attestationId: Hex;
  facility: FacilityRef;
  challenger: Hex;
  reason: string;
  evidenceCid: string;
  state: ChallengeState;
  challengedAt: bigint;
  resolvedAt: bigint | null;
  note: string | null;
  transactionHash: Hex;
};

/** What a search term turned out to be; the explorer maps each kind to its page. */
export type SearchHit =
  | { kind: "facility"; id: Hex; label: string }
  | { kind: "device"; id: Hex; label: string }
  | { kind: "oracleNode"; id: Hex; label: string }
  | { kind: "attestation"; id: Hex; label: string }
  | { kind: "credit"; id: bigint; label: string }
  | { kind: "listing"; id: bigint; label: string }
  | { kind: "retirement"; id: bigint; label: string }
  | { kind: "account"; id: Hex; label: string }
  | { kind: "transaction"; id: Hex; label: string }
  /** a reading digest found in an indexed evidence bundle; id = digest, attestationId = its batch */
  | { kind: "reading"; id: Hex; label: string; attestationId: Hex }
  /** an evidence bundle CID named by an attestation */
  | { kind: "bundle"; id: string; label: string; attestationId: Hex };

/** One reading as indexed from an evidence bundle (embedded backend only: The Graph does not read IPFS). */
export type ReadingSummary = {
  digest: Hex;
  attestationId: Hex;
  facility: FacilityRef;
  deviceId: string;
  seq: number;
  ts: number;
  kind: string;
  /** emissions source for dashboards: "flue-gas" | "electricity-grid" | "electricity-onsite-renewable" | "fuel" | … */
  source: string;
  fossilCo2eMg: bigint;
  biogenicCo2Mg: bigint;
  leafIndex: number;
};

/** Emissions per day and source, from the readings of indexed bundles. */
export type SourceTotals = {
  day: number;
  source: string;
  readingCount: number;
  fossilCo2eMg: bigint;
  biogenicCo2Mg: bigint;
};

/** Every list the explorer browses by cursor (`ExplorerIndexer.list`): its filter and its row. */
export type Lists = {
  facilities: { filter: Record<string, never>; row: FacilitySummary };
  /** a device's facts without its keys and history (as `deviceHeader`) */
  devices: { filter: { facility?: string; status?: DeviceStatus }; row: DeviceHeader };
  oracles: { filter: Record<string, never>; row: OracleNodeSummary };
  attestations: { filter: { revoked?: boolean; isCorrection?: boolean }; row: AttestationSummary };
  issuances: { filter: { creditId?: bigint; facility?: string }; row: IssuanceSummary };
  transfers: { filter: { creditId?: bigint; account?: Hex }; row: TransferSummary };
  listings: { filter: { status?: ListingStatus; creditId?: bigint }; row: ListingSummary };
  sales: { filter: { creditId?: bigint; account?: Hex; listingId?: bigint }; row: SaleSummary };
  retirements: { filter: { creditId?: bigint; account?: Hex; facility?: string }; row: RetirementSummary };
  challenges: { filter: { state?: ChallengeSummary["state"] }; row: ChallengeSummary };
};
export type ListName = keyof Lists;

/**
 * The lists inside the explorer's detail pages, read by cursor (`ExplorerIndexer.detailList`) as
 * the browsable lists are: the filter naming whose list it is, and the row.
 */
export type DetailLists = {
  /**
   * a facility's attestations, newest period first: `FacilityDetail.attestations` at any depth;
   * `periodStartBefore`: only those whose period starts before it (a past range's read starts at its end)
   */
  facilityAttestations: { filter: { facility: string; periodStartBefore?: bigint }; row: AttestationSummary };
  /** an attestation's readings in bundle (Merkle leaf) order: `readings({ attestationId })` */
  attestationReadings: { filter: { attestationId: Hex }; row: ReadingSummary };
  /** a device's readings, newest first: `readings({ deviceId })` */
  deviceReadings: { filter: { deviceId: string }; row: ReadingSummary };
  /** an account's credits held, largest first: `holdings(account)` */
  accountHoldings: { filter: { account: Hex }; row: Holding };
  /** a facility's devices, oldest registration first: `FacilityDetail.devices` */
  facilityDevices: { filter: { facility: string }; row: DeviceSummary };
  /** a facility's credit projects, oldest registration first: `FacilityDetail.projects` */
  facilityProjects: { filter: { facility: string }; row: ProjectSummary };
  /** a device's signing keys by index (`device`: protocol id or bytes32): `DeviceDetail.keys` */
  deviceKeys: { filter: { device: string }; row: DeviceKeyInfo };
  /** a device's registration, key rotations and status changes, oldest first: `DeviceDetail.history` */
  deviceHistory: { filter: { device: string }; row: DeviceHistoryEntry };
  /** the correction batches of an attestation, by period: `AttestationDetail.corrections` (their ids) */
  attestationCorrections: { filter: { attestationId: Hex }; row: AttestationSummary };
  /**
   * a facility's readings, newest first: `readings({ facility })` (the dashboard's device activity);
   * `beforeTs`: only those timed before it (a past period's read starts at its end)
   */
  facilityReadings: { filter: { facility: string; beforeTs?: bigint }; row: ReadingSummary };
};
export type DetailListName = keyof DetailLists;
