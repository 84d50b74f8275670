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

/** The most days one call of `daily`, `facilitiesDaily` or `sourceTotals` covers. */
export const MAX_DAYS_PER_CALL = 1000;

/**
 * The day range a per-day method is asked for, checked the same on every backend: integer days,
 * `fromDay ≤ toDay`, at most {@link MAX_DAYS_PER_CALL} of them; else INDEXER_ARGUMENT_INVALID naming
 * `method`.
 */
export function checkDayRange(method: string, range: { fromDay: number; toDay: number }): void {
  if (!Number.isInteger(range.fromDay) || !Number.isInteger(range.toDay) || range.toDay < range.fromDay)
    throw new IndexerError("INDEXER_ARGUMENT_INVALID", `${method}: need integer days with fromDay ≤ toDay`);
  if (range.toDay - range.fromDay >= MAX_DAYS_PER_CALL)
    throw new IndexerError("INDEXER_ARGUMENT_INVALID", `${method}: at most ${MAX_DAYS_PER_CALL} days per call`);
}
