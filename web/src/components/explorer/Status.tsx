import Link from "next/link";
import type { ReactNode } from "react";
import { notIndexedYet } from "@/lib/explorer/detail.ts";
import { formatCount } from "@/lib/explorer/format.ts";
import type { IndexerStatus as Status, ReadFailure } from "./data.ts";

const BACKEND_WORDS = { embedded: "the embedded indexer", subgraph: "the subgraph" } as const;

/** Where the data on the page comes from and how far the indexer has read the chain. */
export function IndexerStatus({ status }: { status: Status }) {
  return (
    <>
      <p className="muted" data-testid="indexer-status">
        Data from {BACKEND_WORDS[status.backend]}
        {status.indexedBlock !== null ? <>, indexed up to block {formatCount(status.indexedBlock)}</> : null}.
      </p>
      {status.indexingErrors ? (
        <p role="status" className="status status--pending">
          The indexer reports failed handlers: some data may be missing. Check its logs before relying on totals.
        </p>
      ) : null}
    </>
  );
}

/** The indexer could not answer: say so, and what to check, instead of showing partial data. */
export function IndexerUnavailable({ failure, what }: { failure: ReadFailure; what: string }) {
  const unreachable = failure.code === "INDEXER_UNREACHABLE" || failure.code === "INDEXER_HTTP_ERROR";
  return (
    <div role="alert" className="status status--bad" data-testid="indexer-error">
      <p>
        <strong>
          {unreachable ? "The explorer's indexer is unreachable" : "The explorer's indexer could not answer"}
        </strong>
        {failure.backend ? ` (${BACKEND_WORDS[failure.backend as Status["backend"]] ?? failure.backend})` : null}, so{" "}
        {what} cannot be shown.
      </p>
      <p>
        {failure.code ? <span className="mono">{failure.code}</span> : null} {failure.message}
      </p>
      <p>
        The embedded indexer reads the chain at <span className="mono">CARBONPROOF_SERVER_RPC_URL</span> (or{" "}
        <span className="mono">CARBONPROOF_RPC_URL</span>); the subgraph backend queries{" "}
        <span className="mono">CARBONPROOF_SUBGRAPH_URL</span> (docs/subgraph.md). Reload the page once it is back.
      </p>
    </div>
  );
}

/** A detail page for something the indexer does not know: say what was looked up. */
export function NotFound({ what, term, hint }: { what: string; term: string; hint?: string }) {
  return (
    <div role="status" className="status status--bad" data-testid="not-found">
      <p>
        No {what} “<span className="mono">{term}</span>” is indexed.
      </p>
      {hint ? <p>{hint}</p> : null}
      <p>
        Check the value, or <Link href={`/explorer/search?q=${encodeURIComponent(term)}`}>search for it</Link> across
        everything the explorer knows.
      </p>
    </div>
  );
}

/**
 * A detail page for something the indexer has not seen, while it is behind the chain (or the chain
 * or indexer cannot be read): the thing may exist, so not a 404 (docs/web.md). Says how far each
 * is, and links to this page again; `children` offers a view that reads the chain itself, if any.
 */
export function NotIndexedYet({
  what,
  term,
  href,
  indexedBlock,
  head,
  children,
}: {
  what: string;
  term: string;
  href: string;
  indexedBlock: number | null;
  head: bigint | null;
  children?: ReactNode;
}) {
  return (
    <div
      role="status"
      className="status status--pending"
      data-testid="not-indexed"
      data-indexed-block={indexedBlock ?? undefined}
      data-head={head?.toString()}
    >
      {/* a placeholder, not the page: kept out of search engines */}
      <meta name="robots" content="noindex" />
      <p>
        <strong>
          No {what} “<span className="mono">{term}</span>” is indexed yet.
        </strong>
      </p>
      <p>{notIndexedYet(what, indexedBlock, head)}</p>
      <p>
        <a href={href}>Reload this page</a>
      </p>
      {children}
    </div>
  );
}
