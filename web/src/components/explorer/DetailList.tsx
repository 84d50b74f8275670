import type { ReactNode } from "react";
import { linkParamsOf, type DetailListRead } from "@/lib/explorer/detail.ts";
import { listHref, PAGE_SIZE } from "@/lib/explorer/lists.ts";
import { CursorPager, CursorRefused } from "./CursorPager.tsx";

/**
 * A list inside a detail page (a facility's attestations, devices and projects, an attestation's
 * or a device's readings, …), paged by cursor as the list pages are (`?after=` / `?before=` on the
 * detail page's URL, links landing on `#anchor`): a refused cursor's notice above the first page,
 * `notRead` when the indexer backend does not hold the list, `none` when it is empty, the rows and
 * their pager. `list`: the list's name for every list of the page but its first; its links carry
 * `list=<list>` beside the cursor (lib/explorer/detail.ts, DetailCursor), so they page this list
 * and show the page's other lists from the top.
 */
export function DetailList<R>({
  read,
  path,
  anchor,
  list,
  label,
  notRead,
  none,
  render,
}: {
  read: DetailListRead<R>;
  path: string;
  anchor: string;
  list?: string;
  label: string;
  notRead?: ReactNode;
  none: string;
  render: (rows: R[]) => ReactNode;
}) {
  if (read.page === null) return <p>{notRead}</p>;
  return (
    <>
      {read.refused !== null ? <CursorRefused message={read.refused} href={listHref(path, {}, {}, anchor)} /> : null}
      {read.page.rows.length ? render(read.page.rows) : <p>{read.paged ? `No more ${label} this way.` : none}</p>}
      <CursorPager
        path={path}
        active={linkParamsOf(list)}
        page={read.page}
        pageSize={PAGE_SIZE}
        label={label}
        anchor={anchor}
      />
    </>
  );
}
