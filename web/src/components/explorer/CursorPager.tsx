import Link from "next/link";
import type { ListPage } from "@carbonproof/subgraph/client";
import { listHref } from "@/lib/explorer/lists.ts";
import styles from "./explorer.module.css";

/**
 * A list's links by cursor: the first page, the previous and the next. A cursor says where a page
 * starts, not its number (the indexer gives no total or position), so no page number is shown.
 * `anchor`: the id of a list inside a detail page, so its links land on the list.
 */
export function CursorPager({
  path,
  active,
  page,
  pageSize,
  label,
  anchor,
}: {
  path: string;
  active: Record<string, string>;
  page: Pick<ListPage<unknown>, "next" | "previous">;
  pageSize: number;
  label: string;
  anchor?: string;
}) {
  if (page.previous === null && page.next === null) return null;
  return (
    <nav aria-label={`${label} pages`} className={styles.pager}>
      {page.previous !== null ? (
        <>
          <Link className="button secondary" href={listHref(path, active, {}, anchor)}>
            ⇤ First {pageSize}
          </Link>
          <Link
            className="button secondary"
            href={listHref(path, active, { before: page.previous }, anchor)}
            rel="prev"
          >
            ← Previous {pageSize}
          </Link>
        </>
      ) : null}
      {page.next !== null ? (
        <Link className="button secondary" href={listHref(path, active, { after: page.next }, anchor)} rel="next">
          Next {pageSize} →
        </Link>
      ) : null}
    </nav>
  );
}

/** What a list says when its page link's cursor was refused (not of this list): why, and its first page. */
export function CursorRefused({ message, href }: { message: string; href: string }) {
  return (
    <div role="alert" className="status status--bad">
      <p>
        This page&apos;s link does not point into this list ({message}).{" "}
        <Link href={href}>Start from the first page</Link>.
      </p>
    </div>
  );
}
