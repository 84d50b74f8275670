/**
 * Choosing the explorer's indexer backend by configuration:
 *   CARBONPROOF_INDEXER=embedded (default) | subgraph
 *   CARBONPROOF_SUBGRAPH_URL=<graph-node query URL>     (required for subgraph)
 *   CARBONPROOF_SUBGRAPH_AUTH=<Authorization header>    (optional, e.g. "Bearer …" for a gateway)
 */
import { z } from "zod";
import { IndexerError } from "./errors.ts";
import type { ExplorerIndexer } from "./indexer.ts";
import { SubgraphIndexer } from "./subgraph.ts";

export type IndexerConfig =
  { backend: "embedded" } | { backend: "subgraph"; url: string; headers?: Record<string, string> };

const envSchema = z.object({
  CARBONPROOF_INDEXER: z.enum(["embedded", "subgraph"]).default("embedded"),
  CARBONPROOF_SUBGRAPH_URL: z.string().url().optional(),
  CARBONPROOF_SUBGRAPH_AUTH: z.string().min(1).optional(),
});

/** Reads the indexer configuration from environment variables (validated once, here). */
export function indexerConfigFromEnv(env: Record<string, string | undefined>): IndexerConfig {
  const parsed = envSchema.safeParse({
    CARBONPROOF_INDEXER: env.CARBONPROOF_INDEXER || undefined,
    CARBONPROOF_SUBGRAPH_URL: env.CARBONPROOF_SUBGRAPH_URL || undefined,
    CARBONPROOF_SUBGRAPH_AUTH: env.CARBONPROOF_SUBGRAPH_AUTH || undefined,
  });
  if (!parsed.success) {
    throw new IndexerError(
      "INDEXER_CONFIG_INVALID",
      `invalid indexer configuration: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`,
      { cause: parsed.error },
    );
  }
  const e = parsed.data;
  if (e.CARBONPROOF_INDEXER === "embedded") return { backend: "embedded" };
  if (!e.CARBONPROOF_SUBGRAPH_URL) {
    throw new IndexerError(
      "INDEXER_CONFIG_INVALID",
      "CARBONPROOF_INDEXER=subgraph needs CARBONPROOF_SUBGRAPH_URL (e.g. http://127.0.0.1:8000/subgraphs/name/carbonproof)",
    );
  }
  return {
    backend: "subgraph",
    url: e.CARBONPROOF_SUBGRAPH_URL,
    headers: e.CARBONPROOF_SUBGRAPH_AUTH ? { authorization: e.CARBONPROOF_SUBGRAPH_AUTH } : undefined,
  };
}

/**
 * The indexer for `config`. The embedded backend lives in the web app, which passes its factory;
 * this package only builds the subgraph backend.
 */
export function createIndexer(
  config: IndexerConfig,
  embedded?: () => ExplorerIndexer,
  fetchImpl?: typeof fetch,
): ExplorerIndexer {
  if (config.backend === "subgraph") {
    return new SubgraphIndexer({ url: config.url, headers: config.headers, fetch: fetchImpl });
  }
  if (!embedded) {
    throw new IndexerError(
      "INDEXER_CONFIG_INVALID",
      "the embedded indexer was chosen but none was provided: pass its factory, or set CARBONPROOF_INDEXER=subgraph",
    );
  }
  return embedded();
}
