import Link from "next/link";
import type { ListPage } from "@carbonproof/subgraph/client";
import { listHref } from "@/lib/explorer/lists.ts";
import styles from "./explorer.module.css";

/**
 * A list's links by cursor: the first page, the previous and the next. A cursor says where a page
 * starts, not its number (the indexer gives no total or position), so no page number is shown.
 */
export function CursorPager({
  path,
  active,
  page,
  pageSize,
  label,
}: {
  path: string;
  active: Record<string, string>;
  page: Pick<ListPage<unknown>, "next" | "previous">;
  pageSize: number;
  label: string;
}) {
  if (page.previous === null && page.next === null) return null;
  return (
    <nav aria-label={`${label} pages`} className={styles.pager}>
      {page.previous !== null ? (
        <>
          <Link className="button secondary" href={listHref(path, active)}>
            ⇤ First {pageSize}
          </Link>
          <Link className="button secondary" href={listHref(path, active, { before: page.previous })} rel="prev">
            ← Previous {pageSize}
          </Link>
        </>
      ) : null}
      {page.next !== null ? (
        <Link className="button secondary" href={listHref(path, active, { after: page.next })} rel="next">
          Next {pageSize} →
        </Link>
      ) : null}
    </nav>
  );
}
