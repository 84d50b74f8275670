/** Reads of readings for the report pages, by cursor (loadable by node's test runner: no "@/" paths). */
import type { ExplorerIndexer, Hex, ListPage, ReadingSummary } from "@carbonproof/subgraph/client";

/** The most rows `detailList` answers a read (it reads one more to see if there is a next page). */
const PAGE = 999;

/** Every reading of an attestation from its indexed bundle, by cursor; null when the backend indexes none. */
export async function readingsOfAttestation(ix: ExplorerIndexer, attestationId: Hex): Promise<ReadingSummary[] | null> {
  const out: ReadingSummary[] = [];
  for (let after: string | null = null; ;) {
    const page: ListPage<ReadingSummary> | null = await ix.detailList(
      "attestationReadings",
      { attestationId },
      after === null ? { first: PAGE } : { first: PAGE, after },
    );
    if (page === null) return null;
    out.push(...page.rows);
    if (page.next === null) return out;
    after = page.next;
  }
}
