/** The one error type of the explorer indexer client. */

export type IndexerErrorCode =
  | "INDEXER_CONFIG_INVALID"
  | "INDEXER_HTTP_ERROR"
  | "INDEXER_UNREACHABLE"
  | "INDEXER_QUERY_FAILED"
  | "INDEXER_RESPONSE_INVALID"
  | "INDEXER_ARGUMENT_INVALID";

/**
 * An indexer failure: `code` says which kind, the message says what was wrong and what to do,
 * `cause` keeps the underlying error or response. See docs/subgraph.md.
 */
export class IndexerError extends Error {
  readonly code: IndexerErrorCode;
  readonly docsPath = "docs/subgraph.md";

  constructor(code: IndexerErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "IndexerError";
    this.code = code;
  }
}
