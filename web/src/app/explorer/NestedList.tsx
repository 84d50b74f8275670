import type { ReactNode } from "react";
import { CursorPager, CursorRefused } from "@/components/explorer/CursorPager.tsx";
import type { DetailListRead } from "@/lib/explorer/detail.ts";
import { listHref, PAGE_SIZE } from "@/lib/explorer/lists.ts";

/**
 * A list of a detail page besides its first (a facility's devices and projects, a device's keys
 * and history, an attestation's corrections), paged by cursor as DetailList pages the first: its
 * links carry `list=<anchor>` beside the cursor (lib/explorer/detail.ts, DetailCursor), so they
 * page this list and show the page's other lists from the top. Both backends hold these lists.
 */
export function NestedList<R>({
  read,
  path,
  anchor,
  label,
  none,
  render,
}: {
  read: DetailListRead<R>;
  path: string;
  anchor: string;
  label: string;
  none: string;
  render: (rows: R[]) => ReactNode;
}) {
  if (read.page === null) return <p>{none}</p>;
  return (
    <>
      {read.refused !== null ? <CursorRefused message={read.refused} href={listHref(path, {}, {}, anchor)} /> : null}
      {read.page.rows.length ? render(read.page.rows) : <p>{read.paged ? `No more ${label} this way.` : none}</p>}
      <CursorPager
        path={path}
        active={{ list: anchor }}
        page={read.page}
        pageSize={PAGE_SIZE}
        label={label}
        anchor={anchor}
      />
    </>
  );
}
