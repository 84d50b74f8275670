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

/**
 * A facility's readings timed in [fromTs, toTsExclusive), newest first (the dashboard's device
 * activity): read by cursor from the period's end down to the first older than `fromTs`, at most
 * `max` of the period's readings, its newest (`capped`: it stopped there first). null when the
 * backend indexes none. (Review: the read began at the facility's newest reading and counted the
 * readings after the period against `max`, so a past period showed none, "capped".)
 */
export async function facilityReadingsInRange(
  ix: ExplorerIndexer,
  facility: string,
  fromTs: bigint,
  toTsExclusive: bigint,
  max: number,
): Promise<{ list: ReadingSummary[]; capped: boolean } | null> {
  const list: ReadingSummary[] = [];
  for (let after: string | null = null; ;) {
    const first = Math.min(PAGE, max - list.length);
    const page: ListPage<ReadingSummary> | null = await ix.detailList(
      "facilityReadings",
      { facility, beforeTs: toTsExclusive },
      after === null ? { first } : { first, after },
    );
    if (page === null) return null;
    for (const r of page.rows) if (BigInt(r.ts) >= fromTs && BigInt(r.ts) < toTsExclusive) list.push(r);
    // newest first: past the period's start, or the end of the list
    const last = page.rows.at(-1);
    if (page.next === null || (last && BigInt(last.ts) < fromTs)) return { list, capped: false };
    if (list.length >= max) return { list, capped: true };
    after = page.next;
  }
}
