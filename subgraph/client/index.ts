/** The explorer's indexer interface and its subgraph backend (fetch-based, no chain library). */
export type { ExplorerIndexer } from "./indexer.ts";
export type * from "./types.ts";
export { checkDayRange, IndexerError, type IndexerErrorCode } from "./errors.ts";
export { SUBGRAPH_MAX_SKIP, SubgraphIndexer, type SubgraphIndexerOptions } from "./subgraph.ts";
export { createIndexer, indexerConfigFromEnv, type IndexerConfig } from "./config.ts";
export { protocolIdKey } from "./ids.ts";
export {
  decodeCursor,
  encodeCursor,
  listPageOf,
  readPage,
  windowOf,
  type Keyed,
  type KeyValue,
  type DetailListReaders,
  type ListReaders,
  type Window,
} from "./cursor.ts";
export * as queries from "./queries.ts";
