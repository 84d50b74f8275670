import type { Metadata } from "next";
import Link from "next/link";
import { redirect } from "next/navigation";
import { readExplorerDetail } from "@/components/explorer/data.ts";
import { SearchForm } from "@/components/explorer/SearchForm.tsx";
import { IndexerStatus, IndexerUnavailable } from "@/components/explorer/Status.tsx";
import { Table } from "@/components/explorer/Table.tsx";
import {
  ACCEPTED_FORMS,
  describeShape,
  HIT_KIND_LABEL,
  normaliseTerm,
  routeSearch,
  type SearchOutcome,
} from "@/lib/explorer/search.ts";
import { searchLagNote } from "./lag.ts";

export const metadata: Metadata = { title: "Search" };

type Props = { searchParams: Promise<Record<string, string | string[] | undefined>> };

export default async function SearchPage({ searchParams }: Props) {
  const raw = (await searchParams).q;
  const term = normaliseTerm(Array.isArray(raw) ? (raw[0] ?? "") : (raw ?? ""));
  if (term === "") {
    return (
      <>
        <h1>Search</h1>
        <SearchForm autoFocus />
        <AcceptedForms />
      </>
    );
  }
  // A miss is settled as the detail pages settle theirs (lib/explorer/detail.ts): an id created a
  // moment ago is found once the indexer reads it; "unknown" means the indexer stayed behind the head.
  const read = await readExplorerDetail({
    what: `search "${term}"`,
    read: (ix) => ix.search(term),
    found: (hits) => hits.length > 0,
  });
  const hits = read.ok && read.detail.presence === "present" ? read.detail.data : [];
  // redirect() throws to end the render: it stays outside any try/catch.
  const outcome: SearchOutcome | undefined = read.ok ? routeSearch(term, hits) : undefined;
  if (outcome?.kind === "redirect") redirect(outcome.href);
  const lag =
    read.ok && read.detail.presence === "unknown" ? searchLagNote(read.detail.indexedBlock, read.detail.head) : null;
  return (
    <>
      <h1>Search</h1>
      <SearchForm term={term} />
      {!read.ok ? (
        <IndexerUnavailable failure={read} what={`results for “${term}”`} />
      ) : (
        <>
          <IndexerStatus status={read.status} />
          {outcome?.kind === "many" ? (
            <>
              <p role="status" data-testid="search-count">
                “<span className="mono">{term}</span>” matches {outcome.hits.length} things:
              </p>
              <Table
                testId="search-results"
                caption="Everything the explorer knows under this value."
                columns={[
                  { label: "What", cell: (h) => HIT_KIND_LABEL[h.hit.kind] },
                  { label: "Found", cell: (h) => <Link href={h.href}>{h.hit.label}</Link> },
                ]}
                rows={outcome.hits}
                rowKey={(h) => h.href}
              />
            </>
          ) : outcome?.kind === "none" ? (
            <>
              <div
                role="status"
                className={lag ? "status status--pending" : "status status--bad"}
                data-testid="search-none"
              >
                <p>
                  Nothing indexed matches “<span className="mono">{term}</span>”{lag ? " yet" : ""}. It looks like{" "}
                  {describeShape(outcome.shape)}.
                </p>
                {lag ? (
                  <>
                    <p data-testid="search-lag">{lag}</p>
                    <p>
                      <a href={`/explorer/search?q=${encodeURIComponent(term)}`}>Search again</a>
                    </p>
                  </>
                ) : null}
              </div>
              <AcceptedForms />
            </>
          ) : null}
        </>
      )}
    </>
  );
}

function AcceptedForms() {
  return (
    <section aria-labelledby="forms-heading">
      <h2 id="forms-heading">What you can search for</h2>
      <p>Exact values only (no partial matches). The search accepts:</p>
      <ul>
        {ACCEPTED_FORMS.map((f) => (
          <li key={f.shape}>
            {f.form}, e.g. <span className="mono">{f.example}</span>
          </li>
        ))}
      </ul>
    </section>
  );
}
