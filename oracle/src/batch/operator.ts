/**
 * The operator's decisions on failed batches, written once for the CLI (`retry`, `abandon`) and
 * the admin HTTP API (`POST /v1/admin/batches/…`), so that the two cannot drift: which batches
 * `retry --all` takes and in what order, the check against the AttestationRegistry's frontier,
 * and the storage transaction that does it (storage `retryFailedBatch`, `abandonFailedBatch`).
 *
 * Both only write storage: a running node's pipeline reads every unfinished batch from storage at
 * each tick, so a retried batch is picked up at the next one (the CLI writes through a connection
 * of its own, the API through the node's).
 */
import type { Logger } from "pino";
import { createPublicClient, http } from "viem";
import type { Config } from "../config/schema.ts";
import { attestationRegistryAbi } from "../chain/abi.ts";
import { chainFor } from "../chain/viem.ts";
import type { Batch, OperatorOutcome, Storage } from "../storage/types.ts";
import { headerFromJson } from "./bundle.ts";

/** The AttestationRegistry's `attestedUntil(facility)` (unix s): where the facility's next regular batch must start. */
export type RegistryFrontier = (facility: `0x${string}`) => Promise<bigint>;

/** A retry's or an abandon's outcome, with a warning when the registry could not be read (retried without that check). */
export type OperatorResult = OperatorOutcome & { warning?: string };

/** `attestedUntil` of the configured AttestationRegistry, or null when the node has no chain. */
export function registryFrontier(cfg: Config): RegistryFrontier | null {
  const address = cfg.chain.attestationRegistry as `0x${string}` | undefined;
  if (!cfg.chain.enabled || !address) return null;
  const client = createPublicClient({
    chain: chainFor(cfg.chain.chainId, cfg.chain.rpcUrl),
    transport: http(cfg.chain.rpcUrl, { timeout: 10_000, retryCount: 0 }),
  });
  return async (facility) =>
    BigInt(
      await client.readContract({
        address,
        abi: attestationRegistryAbi,
        functionName: "attestedUntil",
        args: [facility],
      }),
    );
}

/** Retries and abandons failed batches in storage, after the checks both the CLI and the API need. */
export class BatchOperator {
  readonly #storage: Storage;
  readonly #frontier: RegistryFrontier | null;
  readonly #nowMs: () => number;
  readonly #log: Logger;

  constructor(deps: {
    storage: Storage;
    /** null: no chain configured, no frontier check */
    frontier: RegistryFrontier | null;
    nowMs: () => number;
    /** one line per retry or abandon (batch id, what was done or why not) */
    logger: Logger;
  }) {
    this.#storage = deps.storage;
    this.#frontier = deps.frontier;
    this.#nowMs = deps.nowMs;
    this.#log = deps.logger;
  }

  /**
   * What `retry --all` takes, in period order: every failed batch with readings that was not
   * abandoned, except corrections of a failed regular batch (that one takes them along).
   */
  retryable(): number[] {
    const failedRegular = (b: Batch | null) => b?.state === "failed" && b.correctionOfBatch === null;
    return this.#storage
      .listBatches({ states: ["failed"], limit: 1_000_000 })
      .filter(
        (b) =>
          b.readingCount > 0 &&
          b.abandonedAt === null &&
          (b.correctionOfBatch === null || !failedRegular(this.#storage.getBatch(b.correctionOfBatch))),
      )
      .map((b) => b.id);
  }

  /**
   * Retries the batches `ids` (null: {@link retryable}), one after the other in period order: the
   * registry takes a facility's periods only in order, and a regular batch before its corrections.
   */
  async retryMany(ids: number[] | null, by: string): Promise<OperatorResult[]> {
    const order =
      ids === null
        ? this.retryable()
        : [...new Set(ids)].sort(
            (x, y) =>
              (this.#storage.getBatch(x)?.periodStart ?? 0) - (this.#storage.getBatch(y)?.periodStart ?? 0) || x - y,
          );
    const out: OperatorResult[] = [];
    for (const id of order) out.push(await this.retry(id, by));
    return out;
  }

  /**
   * Puts failed batch `id` back into the pipeline (storage `retryFailedBatch`). A regular batch is
   * first checked against the registry's frontier: one that starts before it would only revert
   * again (period overlap), and is refused with what to do instead. When the registry cannot be
   * read the batch is retried without that check, with a warning (the chain may be the failure
   * being fixed; a batch sent too early fails again with the registry's reason).
   */
  async retry(id: number, by: string): Promise<OperatorResult> {
    const b = this.#storage.getBatch(id);
    let warning: string | undefined;
    if (this.#frontier && b?.state === "failed" && b.correctionOfBatch === null && b.headerJson) {
      try {
        const until = await this.#frontier(headerFromJson(b.headerJson).facilityId);
        if (until > BigInt(b.periodStart)) {
          const reason =
            `batch ${id} starts at ${b.periodStart} but the AttestationRegistry has facility ${b.facilityId} attested up to ${until}: it would reject the batch again (period overlap), and its ${b.readingCount} readings cannot be attested as a regular batch; ` +
            (b.abandonedAt === null
              ? `\`carbonproof-oracle abandon ${id}\` (or POST /v1/admin/batches/${id}/abandon) stops it holding back later batches`
              : "it stays abandoned");
          return this.#logged("retry", by, { batch: id, done: false, code: "registry-past", reason });
        }
      } catch (err) {
        warning = `could not read the registry's frontier for batch ${id} from chain.rpcUrl (${(err as Error).message.split("\n")[0]}); retried without that check`;
      }
    }
    const out: OperatorResult = this.#storage.retryFailedBatch(id, this.#nowMs());
    if (warning) out.warning = warning;
    return this.#logged("retry", by, out);
  }

  /** Gives failed batch `id` up (storage `abandonFailedBatch`): it stays failed and holds nothing back. */
  abandon(id: number, by: string): OperatorResult {
    return this.#logged("abandon", by, this.#storage.abandonFailedBatch(id, this.#nowMs()));
  }

  /** `by`: who asked (`cli`, `api key <id>` or `admin token`), for the log; never a secret. */
  #logged(op: "retry" | "abandon", by: string, out: OperatorResult): OperatorResult {
    if (out.done) {
      this.#log.info(
        {
          by,
          batch: out.batch,
          state: out.state,
          readings: out.readings,
          corrections: out.corrections,
          warning: out.warning,
        },
        op === "retry" ? "failed batch retried by the operator" : "failed batch abandoned by the operator",
      );
    } else {
      this.#log.warn({ by, batch: out.batch, code: out.code, why: out.reason }, `${op} of a batch refused`);
    }
    return out;
  }
}
