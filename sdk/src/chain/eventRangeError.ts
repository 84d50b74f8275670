import { SdkError } from "../errors.ts";

/**
 * The names a caller's users know the two settings of its event reads by, for the message of an
 * {@link EventRangeError}: the sdk's options by default, `--log-range` / `--from-block` in the CLI,
 * environment variables in the web app.
 */
export type EventReadSettingNames = {
  /** The blocks-per-query setting (default "the logRangeBlocks option"). */
  range: string;
  /** The first-block setting (default "the fromBlock option"). */
  start: string;
  /** Where the settings are documented (default docs/sdk.md; none: no "Docs:" line). */
  docsPath?: string;
};

export const SDK_EVENT_READ_SETTINGS: EventReadSettingNames = {
  range: "the logRangeBlocks option",
  start: "the fromBlock option",
  docsPath: "docs/sdk.md",
};

/**
 * One range of a ranged event read failed (the node refused it, often for spanning too many
 * blocks, or the request failed): which range, and which settings bound it, to lower the one.
 */
export class EventRangeError extends SdkError {
  override name = "EventRangeError";
  readonly fromBlock: bigint;
  readonly toBlock: bigint;

  constructor(o: {
    /** What was read, e.g. "CreditsIssued (0x…)". */
    what: string;
    fromBlock: bigint;
    toBlock: bigint;
    /** The read's blocks per query and first block. */
    rangeBlocks: bigint;
    startBlock: bigint;
    settings?: EventReadSettingNames;
    cause: unknown;
  }) {
    const settings = o.settings ?? SDK_EVENT_READ_SETTINGS;
    // viem's short message ("Request exceeds defined limit.") and the node's own words
    const e = o.cause as { shortMessage?: string; details?: string; message?: string } | null;
    const short = (e?.shortMessage ?? e?.message ?? String(o.cause)).replace(/\.$/, "");
    const reason = e?.details && e.details !== short ? `${short} (${e.details})` : short;
    super(
      `The node refused or failed the ${o.what} event query over blocks ${o.fromBlock}–${o.toBlock} (${o.toBlock - o.fromBlock + 1n} blocks): ${reason}. ` +
        `If its eth_getLogs allows fewer blocks per query, set ${settings.range} below ${o.rangeBlocks}; ` +
        `reads start at block ${o.startBlock}, the deployment's (${settings.start}).`,
      {
        code: "EVENT_RANGE_FAILED",
        cause: o.cause,
        ...(settings.docsPath ? { docsPath: settings.docsPath } : {}),
        details: { fromBlock: o.fromBlock, toBlock: o.toBlock },
      },
    );
    this.fromBlock = o.fromBlock;
    this.toBlock = o.toBlock;
  }
}
