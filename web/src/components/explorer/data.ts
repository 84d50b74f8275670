/**
 * The explorer pages' one way to the indexer (server only). A read either succeeds, with the
 * indexer's status (backend, indexed block) to show beside the data, or fails with a message the
 * page shows instead of partial data.
 */
import { cache } from "react";
import type { ExplorerIndexer, ProtocolOverview } from "@carbonproof/subgraph/client";
import { getExplorerIndexer } from "@/server/indexer/index.ts";
import { runtimeConfig } from "@/lib/config.server.ts";

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
  let ix: ExplorerIndexer | undefined;
  try {
    ix = await getExplorerIndexer();
    const [overview, data] = await Promise.all([overviewOnce(ix), fn(ix)]);
    return {
      ok: true,
      data,
      status: {
        backend: ix.backend,
        indexedBlock: overview.indexedBlock,
        indexingErrors: overview.indexingErrors,
        overview,
      },
    };
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

/** Facility directory (names and countries are off-chain), read once per request. */
export const facilityDirectory = cache(() => runtimeConfig().facilities);

export const runtimeOnce = cache(() => runtimeConfig());
