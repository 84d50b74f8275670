/**
 * The facility of the dashboard and report pages (/dashboard/<facility>, /reports/<facility> and
 * its JSON), and whether it exists. A miss goes through the explorer's detail-page rule
 * (lib/explorer/detail.ts settleDetail, deciding with server/settlePresence.ts): absent (→ 404)
 * only once the indexer has read up to the chain's head as it was after the miss, so a facility
 * registered a block ago is "not indexed yet" (with both blocks), not "not found".
 */
import type { AttestationSummary, ExplorerIndexer, FacilityDetail, ListPage } from "@carbonproof/subgraph/client";
import { settleDetail, type DetailRoute, type PresenceLookup } from "../explorer/detail.ts";
import { wellFormed } from "../explorer/notFound.ts";

/** The most rows `detailList` answers a read (it reads one more to see if there is a next page). */
const PAGE = 999;

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
  const attestations: AttestationSummary[] = [];
  for (let after: string | null = null; ;) {
    const page: ListPage<AttestationSummary> | null = await ix.detailList(
      "facilityAttestations",
      { facility: id },
      after === null ? { first: PAGE } : { first: PAGE, after },
    );
    if (!page) break;
    attestations.push(...page.rows);
    if (page.next === null || !page.rows.length || page.rows.at(-1)!.periodStart < fromTs) break;
    after = page.next;
  }
  return { ...facility, attestations };
}

export type FacilityPresence =
  | { presence: "present"; facility: FacilityDetail }
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
  if (!wellFormed("facilities", id)) return { presence: "absent" };
  const route: DetailRoute<FacilityDetail | undefined> = {
    what: `facility ${id}`,
    read: (indexer) => facilityWithAttestations(indexer, id, fromTs),
    found: (f) => f !== undefined,
  };
  const detail = await settleDetail(route, await route.read(ix), presence);
  if (detail.presence !== "present") return detail;
  return { presence: "present", facility: detail.data! }; // found() saw it
}
