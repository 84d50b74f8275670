import type { ReactNode } from "react";
import { exportHref, listHref, PAGE_SIZE, parseCursor, toParams, type ListSpec } from "@/lib/explorer/lists.ts";
import { CursorPager, CursorRefused } from "./CursorPager.tsx";
import { readExplorer } from "./data.ts";
import { FilterForm } from "./FilterForm.tsx";
import { IndexerStatus, IndexerUnavailable } from "./Status.tsx";
import styles from "./explorer.module.css";

/**
 * One explorer list: heading, filters (in the URL), the indexer's status, the rows from the top or
 * from `?after=` / `?before=` (a cursor: any depth, on either backend), first/previous/next links,
 * an empty state, and the CSV export of the same filters.
 */
export async function ListPage<F, R>({
  spec,
  path,
  searchParams,
  intro,
  render,
}: {
  spec: ListSpec<F, R>;
  path: string;
  searchParams: Record<string, string | string[] | undefined>;
  intro: ReactNode;
  render: (rows: R[]) => ReactNode;
}) {
  const params = toParams(searchParams);
  const cursor = parseCursor(params);
  const paged = cursor.after !== undefined || cursor.before !== undefined;
  const { filter, active, errors } = spec.parse(params);
  const read = await readExplorer((ix) => spec.read(ix, filter, { first: PAGE_SIZE, ...cursor }));
  const filtered = Object.keys(active).length > 0;
  return (
    <>
      <h1>{spec.title}</h1>
      <p>{intro}</p>
      <FilterForm path={path} fields={spec.fields} values={params} label={spec.plural} />
      {errors.length ? (
        <div role="alert" className="status status--bad">
          <ul>
            {errors.map((e) => (
              <li key={e}>{e}</li>
            ))}
          </ul>
        </div>
      ) : null}
      {!read.ok && paged && read.code === "INDEXER_ARGUMENT_INVALID" ? (
        <CursorRefused message={read.message} href={listHref(path, active)} />
      ) : !read.ok ? (
        <IndexerUnavailable failure={read} what={spec.plural} />
      ) : (
        <>
          <IndexerStatus status={read.status} />
          <div className={styles.toolbar}>
            <p role="status" data-testid="row-count">
              {read.data.rows.length === 0
                ? paged
                  ? `No more ${spec.plural} this way.`
                  : filtered
                    ? `No ${spec.plural} match these filters.`
                    : `No ${spec.plural} are indexed yet.`
                : `Showing ${read.data.rows.length} ${read.data.rows.length === 1 ? spec.singular : spec.plural}${filtered ? " matching the filters" : ""}.`}
            </p>
            <a className="button secondary" href={exportHref(spec.name, active)} download>
              Download CSV
              <span className="visually-hidden">
                {" "}
                of all {spec.plural}
                {filtered ? " matching the filters" : ""}
              </span>
            </a>
          </div>
          {read.data.rows.length > 0 ? render(read.data.rows) : null}
          <CursorPager path={path} active={active} page={read.data} pageSize={PAGE_SIZE} label={spec.plural} />
        </>
      )}
    </>
  );
}
