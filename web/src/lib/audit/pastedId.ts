/**
 * An id pasted into /verify, looked up on the chain. A bytes32 is an attestation id when the
 * AttestationRegistry has an AttestationSubmitted event for it, a reading digest otherwise; those
 * events are read as every other walk of the app reads them: from the deployment's first block
 * (CARBONPROOF_START_BLOCK) in ranges of CARBONPROOF_LOG_RANGE_BLOCKS, so a node that refuses the
 * whole chain in one eth_getLogs still answers.
 */
import type { Address, PublicClient } from "viem";
import { findSubmissions } from "../../../../sdk/src/verify/verifyAttestation.ts";
import type { RuntimeConfig } from "../config.ts";
import { runtimeEventReads, walkEventOptions } from "../chain/events.ts";
import { describeError } from "../errors.ts";
import { targetOfPastedId } from "./target.ts";

export type PastedTarget = Exclude<Awaited<ReturnType<typeof targetOfPastedId>>, string>;

/**
 * What `text` names, or a sentence saying why it names nothing: not an id, or the chain could not
 * be read (in words, with what to do). Never rejects.
 */
export async function lookUpPastedId(
  text: string,
  deps: {
    client: PublicClient;
    registry: Address | undefined;
    runtime: Pick<RuntimeConfig, "startBlock" | "logRangeBlocks">;
  },
): Promise<PastedTarget | string> {
  const { client, registry, runtime } = deps;
  try {
    return await targetOfPastedId(text, async (id) =>
      registry
        ? (
            await findSubmissions(
              { client, registry, source: noSource, ...walkEventOptions(runtimeEventReads(runtime)) },
              { id },
            )
          ).length > 0
        : false,
    );
  } catch (cause) {
    return `Could not look “${text.trim().slice(0, 80)}” up on the chain: ${describeError(cause).message}`;
  }
}

/** findSubmissions reads events only; it never touches the bundle source. */
const noSource = {
  describe: "none",
  byCid: false,
  get: async (): Promise<Uint8Array> => {
    throw new Error("no bundle source");
  },
};
