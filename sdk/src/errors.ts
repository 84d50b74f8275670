/**
 * The one error type of the sdk (viem style): a stable `code` a caller can switch on,
 * a message that says what was wrong and what to do, the `cause`, and a `docsPath`
 * into the repository's docs.
 */
export type SdkErrorCode =
  | "INVALID_ID"
  | "INVALID_HEX"
  | "INVALID_READING"
  | "NON_INTEGER"
  | "INVALID_SIGNATURE"
  | "INVALID_KEY"
  | "MERKLE_EMPTY"
  | "MERKLE_LEAF_NOT_FOUND"
  | "MERKLE_INVALID_PROOF"
  | "INVALID_HEADER"
  | "UNKNOWN_FACTOR"
  | "INVALID_FACTOR_SET"
  | "INVALID_ACTIVITY"
  | "INVALID_BUNDLE"
  | "INVALID_CSV"
  | "EVENT_RANGE_FAILED"
  | "INVALID_IGNITION_JOURNAL";

export type SdkErrorOptions = {
  code: SdkErrorCode;
  cause?: unknown;
  docsPath?: string;
  details?: Record<string, unknown>;
};

export class SdkError extends Error {
  override name = "SdkError";
  readonly code: SdkErrorCode;
  readonly docsPath: string | undefined;
  readonly details: Record<string, unknown> | undefined;

  constructor(message: string, options: SdkErrorOptions) {
    super(
      options.docsPath ? `${message}\n\nDocs: ${options.docsPath}` : message,
      options.cause === undefined ? undefined : { cause: options.cause },
    );
    this.code = options.code;
    this.docsPath = options.docsPath;
    this.details = options.details;
  }
}
