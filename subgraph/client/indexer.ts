/**
 * The explorer's indexer interface. Two backends implement it: the embedded indexer the web app
 * runs by default, and the subgraph backend (./subgraph.ts) for deployments that outgrow it.
 * Which one is chosen by configuration (./config.ts).
 */
import type {
  AttestationDetail,
  AttestationSummary,
  CreditDetail,
  DailyTotals,
  DeviceDetail,
  FacilityDetail,
  FacilitySummary,
  Hex,
  Holding,
  ListingStatus,
  ListingSummary,
  Page,
  ProtocolOverview,
  RetirementDetail,
} from "./types.ts";

export interface ExplorerIndexer {
  /** which backend answers: shown by the explorer next to its data */
  readonly backend: "subgraph" | "embedded";
  overview(): Promise<ProtocolOverview>;
  /** facilities, largest attested fossil emissions first */
  facilities(page?: Page): Promise<FacilitySummary[]>;
  /** `id`: protocol id text (ktda-kangaita) or its bytes32 hex */
  facility(id: string, page?: Page): Promise<FacilityDetail | undefined>;
  device(id: string): Promise<DeviceDetail | undefined>;
  /** attestations, newest submission first */
  attestations(filter?: { revoked?: boolean; isCorrection?: boolean }, page?: Page): Promise<AttestationSummary[]>;
  attestation(id: Hex): Promise<AttestationDetail | undefined>;
  credit(tokenId: bigint): Promise<CreditDetail | undefined>;
  /** listings, newest first */
  listings(filter?: { status?: ListingStatus; creditId?: bigint }, page?: Page): Promise<ListingSummary[]>;
  retirement(certificateId: bigint): Promise<RetirementDetail | undefined>;
  holdings(account: Hex): Promise<Holding[]>;
  /** daily totals for days [fromDay, toDay] (day numbers since 1970-01-01), of one facility if given */
  daily(range: { fromDay: number; toDay: number; facility?: string }): Promise<DailyTotals[]>;
}
