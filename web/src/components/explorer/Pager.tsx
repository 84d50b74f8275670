import Link from "next/link";
import { listHref } from "@/lib/explorer/lists.ts";
import styles from "./explorer.module.css";

/** Previous / next page links that keep the filters; the indexer gives no total, so no page count. */
export function Pager({
  path,
  active,
  page,
  hasNext,
  shown,
  pageSize,
  label,
}: {
  path: string;
  active: Record<string, string>;
  page: number;
  hasNext: boolean;
  shown: number;
  pageSize: number;
  label: string;
}) {
  if (page === 1 && !hasNext) return null;
  const from = (page - 1) * pageSize + 1;
  return (
    <nav aria-label={`${label} pages`} className={styles.pager}>
      {page > 1 ? (
        <Link className="button secondary" href={listHref(path, active, page - 1)} rel="prev">
          ← Previous {pageSize}
        </Link>
      ) : null}
      <span>
        Page {page}: {label} {from}–{from + shown - 1}
      </span>
      {hasNext ? (
        <Link className="button secondary" href={listHref(path, active, page + 1)} rel="next">
          Next {pageSize} →
        </Link>
      ) : null}
    </nav>
  );
}
