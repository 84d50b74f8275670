/** The signed readings an explorer page lists (an attestation's, a device's), a page at a time. */
import Link from "next/link";
import type { ReactNode } from "react";
import type { ReadingSummary } from "@carbonproof/subgraph/client";
import { shortHash } from "@/lib/explorer/format.ts";
import { PAGE_SIZE } from "@/lib/explorer/lists.ts";
import { Pager } from "./Pager.tsx";
import { Table, type Column } from "./Table.tsx";

/** The reading's digest, leading to its audit trail. */
export const digestColumn: Column<ReadingSummary> = {
  label: "Digest",
  cell: (r) => (
    <Link href={`/audit/reading/${r.digest}`} className="mono" title={r.digest}>
      {shortHash(r.digest)}
    </Link>
  ),
};

/**
 * `readings` (one more than a page when there is a next page) as a table with its pager at
 * `path`; `notRead` when the indexer backend does not read evidence bundles (null), `none` when
 * the first page is empty.
 */
export function ReadingsTable({
  readings,
  page,
  path,
  caption,
  columns,
  notRead,
  none,
}: {
  readings: readonly ReadingSummary[] | null;
  page: number;
  path: string;
  caption: string;
  columns: readonly Column<ReadingSummary>[];
  notRead: ReactNode;
  none: string;
}) {
  if (readings === null) return <p>{notRead}</p>;
  if (readings.length === 0) return <p>{page > 1 ? `No readings on page ${page}.` : none}</p>;
  return (
    <>
      <Table
        testId="readings-table"
        caption={caption}
        columns={columns}
        rows={readings.slice(0, PAGE_SIZE)}
        rowKey={(r) => r.digest}
      />
      <Pager
        path={path}
        active={{}}
        page={page}
        hasNext={readings.length > PAGE_SIZE}
        shown={Math.min(readings.length, PAGE_SIZE)}
        pageSize={PAGE_SIZE}
        label="readings"
      />
    </>
  );
}
