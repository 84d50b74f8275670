import type { ReactNode } from "react";
import { exportHref, PAGE_SIZE, pageWindow, parsePage, toParams, type ListSpec } from "@/lib/explorer/lists.ts";
import { readExplorer } from "./data.ts";
import { FilterForm } from "./FilterForm.tsx";
import { Pager } from "./Pager.tsx";
import { IndexerStatus, IndexerUnavailable } from "./Status.tsx";
import styles from "./explorer.module.css";

/**
 * One explorer list: heading, filters (in the URL), the indexer's status, the rows of `?page=`,
 * previous/next links, an empty state, and the CSV export of the same filters.
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
  const page = parsePage(params.get("page"));
  const { filter, active, errors } = spec.parse(params);
  const read = await readExplorer((ix) => spec.read(ix, filter, pageWindow(page)));
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
      {!read.ok ? (
        <IndexerUnavailable failure={read} what={spec.plural} />
      ) : (
        <>
          <IndexerStatus status={read.status} />
          <div className={styles.toolbar}>
            <p role="status" data-testid="row-count">
              {read.data.length === 0
                ? page > 1
                  ? `No ${spec.plural} on page ${page}.`
                  : filtered
                    ? `No ${spec.plural} match these filters.`
                    : `No ${spec.plural} are indexed yet.`
                : `Showing ${Math.min(read.data.length, PAGE_SIZE)} ${read.data.length === 1 ? spec.singular : spec.plural}${filtered ? " matching the filters" : ""}.`}
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
          {read.data.length > 0 ? render(read.data.slice(0, PAGE_SIZE)) : null}
          <Pager
            path={path}
            active={active}
            page={page}
            hasNext={read.data.length > PAGE_SIZE}
            shown={Math.min(read.data.length, PAGE_SIZE)}
            pageSize={PAGE_SIZE}
            label={spec.plural}
          />
        </>
      )}
    </>
  );
}
