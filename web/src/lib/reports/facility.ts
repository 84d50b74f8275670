/**
 * The facility of the dashboard and report pages (/dashboard/<facility>, /reports/<facility> and
 * its JSON), and whether it exists. A miss goes through the explorer's detail-page rule
 * (lib/explorer/detail.ts settleDetail, deciding with server/settlePresence.ts): absent (→ 404)
 * only once the indexer has read up to the chain's head as it was after the miss, so a facility
 * registered a block ago is "not indexed yet" (with both blocks), not "not found".
 */
import {
  IndexerError,
  type AttestationDetail,
  type AttestationSummary,
  type DetailLists,
  type DeviceSummary,
  type ExplorerIndexer,
  type FacilityDetail,
  type FacilitySummary,
  type ListPage,
  type ProjectSummary,
} from "@carbonproof/subgraph/client";
import { limiter } from "../../../../sdk/src/verify/cache.ts";
import { settleDetail, type DetailRoute, type PresenceLookup } from "../explorer/detail.ts";
import { type DayRange, rangeSeconds } from "./period.ts";
import { wellFormed } from "../explorer/notFound.ts";

/** The most rows `detailList` answers a read (it reads one more to see if there is a next page). */
const PAGE = 999;

/** Attestation details a report reads at once (on the subgraph backend, each an HTTP request). */
export const DETAIL_READS_AT_ONCE = 8;

/**
 * Details of the attestations of a facility whose period starts in `range` (revoked included),
 * read `DETAIL_READS_AT_ONCE` at a time (review: all at once, 17,500 requests for two years of
 * hourly batches, on a page anyone may load).
 */
export async function attestationDetails(
  ix: ExplorerIndexer,
  facility: { attestations: readonly AttestationSummary[] },
  range: DayRange,
): Promise<AttestationDetail[]> {
  const { fromTs, toTsExclusive } = rangeSeconds(range);
  const ids = facility.attestations.filter((a) => a.periodStart >= fromTs && a.periodStart < toTsExclusive);
  const slot = limiter(DETAIL_READS_AT_ONCE);
  const details = await Promise.all(ids.map((a) => slot(() => ix.attestation(a.id))));
  return details.filter((d): d is AttestationDetail => d !== undefined);
}

/**
 * A facility with every attestation whose period starts at or after `fromTs` (and the page of
 * older ones the last read reached), newest first, read by cursor: a subgraph refuses `skip` past
 * 5,000, which a facility attesting every minute passes in four days.
 */
export async function facilityWithAttestations(
  ix: ExplorerIndexer,
  id: string,
  fromTs: bigint,
): Promise<FacilityDetail | undefined> {
  const facility = await ix.facility(id, { first: PAGE });
  if (!facility) return undefined;
  if (facility.attestations.length < PAGE || facility.attestations.at(-1)!.periodStart < fromTs) return facility;
  return { ...facility, attestations: await attestationsDownTo(ix, id, fromTs) };
}

/** A facility's facts (no devices or projects: none is read) and its attestations, as facilityWithAttestations. */
export type FacilityWithAttestations = FacilitySummary & { attestations: AttestationSummary[] };

/**
 * The facility's facts (`facilityHeader`: its devices and projects are not read) with the
 * attestations facilityWithAttestations gives, read by cursor (the dashboard's and the report's
 * read): from the first period starting before `toTsExclusive` when given, else from the top.
 */
export async function facilityFactsWithAttestations(
  ix: ExplorerIndexer,
  id: string,
  fromTs: bigint,
  toTsExclusive?: bigint,
): Promise<FacilityWithAttestations | undefined> {
  const facility = await ix.facilityHeader(id);
  if (!facility) return undefined;
  return { ...facility, attestations: await attestationsDownTo(ix, id, fromTs, toTsExclusive) };
}

/**
 * A facility's attestations newest period first, by cursor, down to the page holding the first
 * older than `fromTs`; with `toTsExclusive`, from the first whose period starts before it (review:
 * a report of a past year read every attestation since, a facility attesting every minute half a
 * million of them, to keep the year's).
 */
async function attestationsDownTo(
  ix: ExplorerIndexer,
  id: string,
  fromTs: bigint,
  toTsExclusive?: bigint,
): Promise<AttestationSummary[]> {
  const attestations: AttestationSummary[] = [];
  const filter = toTsExclusive === undefined ? { facility: id } : { facility: id, periodStartBefore: toTsExclusive };
  for (let after: string | null = null; ;) {
    const page: ListPage<AttestationSummary> | null = await ix.detailList(
      "facilityAttestations",
      filter,
      after === null ? { first: PAGE } : { first: PAGE, after },
    );
    if (!page) break;
    attestations.push(...page.rows);
    if (page.next === null || !page.rows.length || page.rows.at(-1)!.periodStart < fromTs) break;
    after = page.next;
  }
  return attestations;
}

/**
 * A facility's devices, oldest registration first, read by cursor (`detailList("facilityDevices")`:
 * `facility(id).devices` holds the first 1,000 only), at most `max` (`capped`: there are more).
 * null when the backend does not hold the list.
 */
export async function facilityDevicesUpTo(
  ix: ExplorerIndexer,
  facility: string,
  max: number,
): Promise<{ list: DeviceSummary[]; capped: boolean } | null> {
  return facilityListUpTo(ix, "facilityDevices", facility, max);
}

/** A facility's list (devices or projects, oldest registration first) by cursor, at most `max`. */
async function facilityListUpTo<K extends "facilityDevices" | "facilityProjects">(
  ix: ExplorerIndexer,
  name: K,
  facility: string,
  max: number,
): Promise<{ list: DetailLists[K]["row"][]; capped: boolean } | null> {
  const list: DetailLists[K]["row"][] = [];
  for (let after: string | null = null; ;) {
    const first = Math.min(PAGE, max - list.length);
    const page: ListPage<DetailLists[K]["row"]> | null = await ix.detailList(
      name,
      { facility },
      after === null ? { first } : { first, after },
    );
    if (page === null) return null;
    list.push(...page.rows);
    if (page.next === null) return { list, capped: false };
    if (list.length >= max) return { list, capped: true };
    after = page.next;
  }
}

/**
 * Devices and projects a report lists of its facility at most, each read by cursor: past either,
 * the report says at its top and in its JSON that it lists only that many (`CbamReport.omissions`).
 * Every device id is printed in the report, so the cap bounds its size, not what it counts.
 */
export const MAX_REPORT_DEVICES = 10_000;
export const MAX_REPORT_PROJECTS = 10_000;

/** The devices and projects of a report's installation, and the cap each stopped at (null: all of them). */
export type ReportFacilityLists = {
  devices: DeviceSummary[];
  projects: ProjectSummary[];
  devicesCappedAt: number | null;
  projectsCappedAt: number | null;
};

/**
 * A facility's devices and projects for its report, read by cursor (`detailList`: `facility(id)`
 * nests the first 1,000 of each only, which the report took for all of them) up to `max` each.
 */
export async function facilityListsForReport(
  ix: ExplorerIndexer,
  facility: string,
  max: { devices: number; projects: number } = { devices: MAX_REPORT_DEVICES, projects: MAX_REPORT_PROJECTS },
): Promise<ReportFacilityLists> {
  const [devices, projects] = await Promise.all([
    facilityListUpTo(ix, "facilityDevices", facility, max.devices),
    facilityListUpTo(ix, "facilityProjects", facility, max.projects),
  ]);
  if (devices === null || projects === null)
    throw new IndexerError(
      "INDEXER_RESPONSE_INVALID",
      `the ${ix.backend} indexer does not list a facility's ${devices === null ? "devices" : "projects"}: a report cannot name them (use a backend that does: docs/subgraph.md)`,
    );
  return {
    devices: devices.list,
    projects: projects.list,
    devicesCappedAt: devices.capped ? max.devices : null,
    projectsCappedAt: projects.capped ? max.projects : null,
  };
}

export type FacilityPresence<F = FacilityDetail> =
  | { presence: "present"; facility: F }
  | { presence: "absent" }
  | { presence: "unknown"; indexedBlock: number | null; head: bigint | null };

/**
 * The facility `id` (a protocol id such as ktda-kangaita, or its bytes32 key) with its attestations
 * from `fromTs` on, as the pages read it from `ix`; on a miss, what `presence` (indexedPresence on
 * the pages) decides. An id of another form is absent without asking: nothing can be registered
 * under it. Throws when the first read fails (the page says the indexer could not be read).
 */
export async function lookUpFacility(
  ix: ExplorerIndexer,
  id: string,
  fromTs: bigint,
  presence: PresenceLookup,
): Promise<FacilityPresence> {
  return lookUp(ix, id, presence, (indexer) => facilityWithAttestations(indexer, id, fromTs));
}

/**
 * lookUpFacility without the facility's devices and projects (facilityFactsWithAttestations), its
 * attestations those of the periods starting in `span` (and the page of older ones the read
 * reached): the dashboard, which reads the devices by cursor (facilityDevicesUpTo) and shows no
 * projects, and the report, which reads both by cursor (facilityListsForReport).
 */
export async function lookUpFacilityFacts(
  ix: ExplorerIndexer,
  id: string,
  span: { fromTs: bigint; toTsExclusive: bigint },
  presence: PresenceLookup,
): Promise<FacilityPresence<FacilityWithAttestations>> {
  return lookUp(ix, id, presence, (indexer) =>
    facilityFactsWithAttestations(indexer, id, span.fromTs, span.toTsExclusive),
  );
}

async function lookUp<F>(
  ix: ExplorerIndexer,
  id: string,
  presence: PresenceLookup,
  read: (ix: ExplorerIndexer) => Promise<F | undefined>,
): Promise<FacilityPresence<F>> {
  if (!wellFormed("facilities", id)) return { presence: "absent" };
  const route: DetailRoute<F | undefined> = {
    what: `facility ${id}`,
    read,
    found: (f) => f !== undefined,
  };
  const detail = await settleDetail(route, await route.read(ix), presence);
  if (detail.presence !== "present") return detail;
  return { presence: "present", facility: detail.data! }; // found() saw it
}
