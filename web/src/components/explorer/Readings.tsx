/** The signed readings an explorer page lists (an attestation's, a device's), a page at a time by cursor. */
import Link from "next/link";
import type { ReactNode } from "react";
import type { ReadingSummary } from "@carbonproof/subgraph/client";
import type { DetailListRead } from "@/lib/explorer/detail.ts";
import { shortHash } from "@/lib/explorer/format.ts";
import { DetailList } from "./DetailList.tsx";
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
 * A page of `readings` as a table with its pager at `path` (under the `#readings` heading);
 * `notRead` when the indexer backend does not read evidence bundles, `none` when there are none.
 */
export function ReadingsTable({
  readings,
  path,
  caption,
  columns,
  notRead,
  none,
}: {
  readings: DetailListRead<ReadingSummary>;
  path: string;
  caption: string;
  columns: readonly Column<ReadingSummary>[];
  notRead: ReactNode;
  none: string;
}) {
  return (
    <DetailList
      read={readings}
      path={path}
      anchor="readings"
      label="readings"
      notRead={notRead}
      none={none}
      render={(rows) => (
        <Table
          testId="readings-table"
          caption={caption}
          columns={columns}
          rows={rows}
          rowKey={(r) => `${r.attestationId}-${r.leafIndex}`}
        />
      )}
    />
  );
}
