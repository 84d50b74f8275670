/**
 * The explorer's indexer interface. Two backends implement it: the embedded indexer the web app
 * runs by default, and the subgraph backend (./subgraph.ts) for deployments that outgrow it.
 * Which one is chosen by configuration (./config.ts).
 */
import type {
  AttestationDetail,
  AttestationHeader,
  AttestationSummary,
  ChallengeSummary,
  CreditDetail,
  DailyTotals,
  FacilityDailyTotals,
  DetailListName,
  DetailLists,
  DeviceDetail,
  DeviceHeader,
  FacilityDetail,
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
  ProtocolOverview,
  ReadingSummary,
  RetirementDetail,
  RetirementSummary,
  SaleSummary,
  SearchHit,
  SourceTotals,
  TransferSummary,
} from "./types.ts";

export interface ExplorerIndexer {
  /** which backend answers: shown by the explorer next to its data */
  readonly backend: "subgraph" | "embedded";
  overview(): Promise<ProtocolOverview>;
  /** facilities, largest attested fossil emissions first */
  facilities(page?: Page): Promise<FacilitySummary[]>;
  /**
   * `id`: protocol id text (ktda-kangaita) or its bytes32 hex; its devices and projects: the first
   * 1,000 of each (`detailList("facilityDevices" | "facilityProjects")` pages them all)
   */
  facility(id: string, page?: Page): Promise<FacilityDetail | undefined>;
  /**
   * `facility(id)`'s facts without its nested lists (devices, projects, attestations: none is read),
   * for a page that reads those by `detailList` or does not show them
   */
  facilityHeader(id: string): Promise<FacilitySummary | undefined>;
  /** its keys and history: the first 1,000 of each (`detailList("deviceKeys" | "deviceHistory")` pages them all) */
  device(id: string): Promise<DeviceDetail | undefined>;
  /** `device(id)`'s facts without its keys and history (neither is read) */
  deviceHeader(id: string): Promise<DeviceHeader | undefined>;
  /** attestations, newest submission first */
  attestations(filter?: { revoked?: boolean; isCorrection?: boolean }, page?: Page): Promise<AttestationSummary[]>;
  /** its corrections: the first 1,000 (`detailList("attestationCorrections")` pages them all) */
  attestation(id: Hex): Promise<AttestationDetail | undefined>;
  /** `attestation(id)`'s facts without its corrections (not read) */
  attestationHeader(id: Hex): Promise<AttestationHeader | undefined>;
  credit(tokenId: bigint): Promise<CreditDetail | undefined>;
  /** listings, newest first */
  listings(filter?: { status?: ListingStatus; creditId?: bigint }, page?: Page): Promise<ListingSummary[]>;
  retirement(certificateId: bigint): Promise<RetirementDetail | undefined>;
  /** an account's positive balances, largest first (the first 1000; `detailList("accountHoldings")` pages them all) */
  holdings(account: Hex): Promise<Holding[]>;
  /** daily totals for days [fromDay, toDay] (day numbers since 1970-01-01), of one facility if given */
  daily(range: { fromDay: number; toDay: number; facility?: string }): Promise<DailyTotals[]>;
  /**
   * Every facility's totals of each day in [fromDay, toDay] (at most 1000 days) where it has any,
   * by day then facility id, by cursor as `list` (days × facilities rows can exceed a page): the
   * rows `daily({ …, facility })` gives for each facility, in one read for all of them.
   */
  facilitiesDaily(range: { fromDay: number; toDay: number }, page: Page): Promise<ListPage<FacilityDailyTotals>>;

  /**
   * devices of every facility, newest registration first: each device's facts as `deviceHeader`
   * gives them (its keys and history are not read; `keyCount` is the device's own count)
   */
  devices(filter?: { facility?: string; status?: DeviceDetail["status"] }, page?: Page): Promise<DeviceHeader[]>;
  /** oracle nodes of the current OracleSet, by index */
  oracleNodes(page?: Page): Promise<OracleNodeSummary[]>;
  /** issuances, newest first */
  issuances(filter?: { creditId?: bigint; facility?: string }, page?: Page): Promise<IssuanceSummary[]>;
  /** ERC-1155 transfers (mints and burns included), newest first */
  transfers(filter?: { creditId?: bigint; account?: Hex }, page?: Page): Promise<TransferSummary[]>;
  /** marketplace sales, newest first */
  sales(filter?: { creditId?: bigint; account?: Hex; listingId?: bigint }, page?: Page): Promise<SaleSummary[]>;
  /** retirements, newest first */
  retirements(
    filter?: { creditId?: bigint; account?: Hex; facility?: string },
    page?: Page,
  ): Promise<RetirementSummary[]>;
  /** challenges, newest first */
  challenges(filter?: { state?: ChallengeSummary["state"] }, page?: Page): Promise<ChallengeSummary[]>;
  /**
   * One page of a list, by cursor (`page.after` / `page.before` from an earlier ListPage) or from
   * the top: the same rows, order and filters as the list's own method, at any depth.
   */
  list<K extends ListName>(name: K, filter: Lists[K]["filter"], page: Page): Promise<ListPage<Lists[K]["row"]>>;
  /**
   * One page of a list inside a detail page (`DetailLists`: a facility's attestations, devices and
   * projects, a device's keys, history and readings, an attestation's corrections and readings, an
   * account's holdings, a facility's readings), by cursor as `list`: the rows and order of the
   * detail method's nested list (`facility(id).devices`, `device(id).keys`, …, which hold the first
   * 1,000), `readings(filter)` and `holdings(account)`, at any depth. `null` where the backend does
   * not hold the list, as `readings` answers (readings on the subgraph backend).
   */
  detailList<K extends DetailListName>(
    name: K,
    filter: DetailLists[K]["filter"],
    page: Page,
  ): Promise<ListPage<DetailLists[K]["row"]> | null>;
  /**
   * What `term` is: a protocol id, a bytes32 (attestation id, reading digest, facility or device key),
   * a transaction hash, an address, a token/certificate/listing id (decimal), a CID. Exact matches only.
   */
  search(term: string): Promise<SearchHit[]>;
  /**
   * Readings from indexed evidence bundles. The embedded backend indexes bundles; the subgraph
   * backend does not read IPFS and answers `null` ("not available from this backend").
   */
  readings(
    filter: { attestationId?: Hex; facility?: string; deviceId?: string },
    page?: Page,
  ): Promise<ReadingSummary[] | null>;
  /** emissions per day and source of a facility, from indexed readings; `null` from backends without them */
  sourceTotals(range: { fromDay: number; toDay: number; facility: string }): Promise<SourceTotals[] | null>;
}
