/**
 * The explorer pages' one way to the indexer (server only). A read either succeeds, with the
 * indexer's status (backend, indexed block) to show beside the data, or fails with a message the
 * page shows instead of partial data.
 */
import { connection } from "next/server";
import { cache } from "react";
import type { ExplorerIndexer, ProtocolOverview } from "@carbonproof/subgraph/client";
import { getExplorerIndexer } from "@/server/indexer/index.ts";
import { runtimeConfig } from "@/lib/config.server.ts";
import { settleDetail, type Detail, type DetailRoute } from "@/lib/explorer/detail.ts";
import { indexedPresence } from "@/server/indexedPresence.ts";

export type IndexerStatus = {
  backend: ExplorerIndexer["backend"];
  indexedBlock: number | null;
  indexingErrors: boolean;
  overview: ProtocolOverview;
};

export type ReadFailure = { ok: false; backend: string | undefined; code: string | undefined; message: string };
export type Read<T> = { ok: true; data: T; status: IndexerStatus } | ReadFailure;

const overviewOnce = cache(async (ix: ExplorerIndexer) => ix.overview());

/** Runs `fn` against the configured indexer, with its status; failures become a value to show. */
export async function readExplorer<T>(fn: (ix: ExplorerIndexer) => Promise<T>): Promise<Read<T>> {
  // At request time only: the build's prerender of a page stops here (the layout is dynamic too),
  // instead of reading a chain that is not there and logging the failure during `npm install`.
  // Outside the try: Next.js stops a prerender by what connection() throws.
  await connection();
  let ix: ExplorerIndexer | undefined;
  try {
    ix = await getExplorerIndexer();
    const [overview, data] = await Promise.all([overviewOnce(ix), fn(ix)]);
    return { ok: true, data, status: statusOf(ix, overview) };
  } catch (error) {
    // Shown on the page (IndexerUnavailable) and logged with its cause for the operator.
    console.error("explorer: indexer read failed", error);
    const e = error as { code?: unknown; message?: unknown };
    return {
      ok: false,
      backend: ix?.backend,
      code: typeof e?.code === "string" ? e.code : undefined,
      message: typeof e?.message === "string" ? e.message : String(error),
    };
  }
}

function statusOf(ix: ExplorerIndexer, overview: ProtocolOverview): IndexerStatus {
  return {
    backend: ix.backend,
    indexedBlock: overview.indexedBlock,
    indexingErrors: overview.indexingErrors,
    overview,
  };
}

export type DetailRead<T> = { ok: true; detail: Detail<T>; status: IndexerStatus } | ReadFailure;

/**
 * A detail page's read (lib/explorer/detail.ts): a miss is settled (indexedPresence) before the page
 * answers 404, so an id created a moment ago opens, or gets the "not indexed yet" page.
 */
export async function readExplorerDetail<T>(route: DetailRoute<T>): Promise<DetailRead<T>> {
  const read = await readExplorer(route.read);
  if (!read.ok) return read;
  const detail = await settleDetail(route, read.data, indexedPresence);
  let status = read.status;
  if (detail.presence !== "present" || detail.settled) {
    // the indexer has read on since the first read: say how far, beside what the page now shows
    const ix = getExplorerIndexer();
    status = await ix.overview().then(
      (overview) => statusOf(ix, overview),
      (cause: unknown) => (console.error("explorer: indexer overview failed", cause), read.status),
    );
  }
  return { ok: true, detail, status };
}

/** Facility directory (names and countries are off-chain), read once per request. */
export const facilityDirectory = cache(() => runtimeConfig().facilities);

export const runtimeOnce = cache(() => runtimeConfig());
