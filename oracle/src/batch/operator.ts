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
import { chainFor, findRegularAttestation, type FoundAttestation } from "../chain/viem.ts";
import type { Hex } from "../../../sdk/src/index.ts";
import type { Batch, OperatorOutcome, Storage } from "../storage/types.ts";
import { headerFromJson } from "./bundle.ts";

/**
 * What the operator's `retry` reads of the configured AttestationRegistry: `attestedUntil(facility)`
 * (unix s), where the facility's next regular batch must start, and the regular attestation whose
 * period holds a given start (chain/viem.ts `findRegularAttestation`).
 */
export type RegistryReader = {
  attestedUntil(facility: Hex): Promise<bigint>;
  /** `signal`: once aborted, the search makes no further call (a call under way may still end) */
  findRegularAttestation(facility: Hex, periodStart: bigint, signal?: AbortSignal): Promise<FoundAttestation | null>;
};

/**
 * What {@link BatchOperator.retryMany} answers: the outcome of each retry made, in order, and the
 * batches not retried within the time budget, in order, for the next call. `cutShort`: the batch
 * whose registry search was under way when the budget ran out, stopped with nothing changed for
 * it (it is the first of `notTried`).
 */
export type RetryManyResult = { outcomes: OperatorResult[]; notTried: number[]; cutShort?: number };

/** A retry's or an abandon's outcome, with a warning when the registry could not be read (retried without that check). */
export type OperatorResult = OperatorOutcome & {
  warning?: string;
  /**
   * A regular batch the registry has attested past, retried because the registry holds an
   * attestation of exactly its period: the pipeline takes the batch as its record if its bundle
   * is in the node's IPFS store and holds every reading of the batch (else it fails again, saying why).
   */
  adopting?: { attestationId: Hex; bundleCid: string; readings: number };
};

/** The configured AttestationRegistry, read over chain.rpcUrl, or null when the node has no chain. */
export function registryReader(cfg: Config): RegistryReader | null {
  const address = cfg.chain.attestationRegistry as Hex | undefined;
  if (!cfg.chain.enabled || !address) return null;
  const client = createPublicClient({
    chain: chainFor(cfg.chain.chainId, cfg.chain.rpcUrl),
    transport: http(cfg.chain.rpcUrl, { timeout: 10_000, retryCount: 0 }),
  });
  return {
    attestedUntil: async (facility) =>
      BigInt(
        await client.readContract({
          address,
          abi: attestationRegistryAbi,
          functionName: "attestedUntil",
          args: [facility],
        }),
      ),
    findRegularAttestation: (facility, periodStart, signal) =>
      findRegularAttestation(client, address, facility, periodStart, signal),
  };
}

/** Retries and abandons failed batches in storage, after the checks both the CLI and the API need. */
export class BatchOperator {
  readonly #storage: Storage;
  readonly #registry: RegistryReader | null;
  readonly #nowMs: () => number;
  readonly #log: Logger;

  constructor(deps: {
    storage: Storage;
    /** null: no chain configured, no frontier check */
    registry: RegistryReader | null;
    nowMs: () => number;
    /** one line per retry or abandon (batch id, what was done or why not) */
    logger: Logger;
  }) {
    this.#storage = deps.storage;
    this.#registry = deps.registry;
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
   * Each retry of a batch the registry has attested past searches its events, so many of them can
   * take minutes. With `budgetMs`, no retry is started once that long has passed since the first
   * began (the first always is), and a retry whose registry search is under way then is cut short
   * (`cutShort`), nothing changed for it: its search makes no further call, and the answer does not
   * wait for the call under way. The batches not reached, that one first, are `notTried`, in order,
   * for the next call. A retry past its search (storage only) is never cut.
   */
  async retryMany(
    ids: number[] | null,
    by: string,
    opts: { budgetMs?: number; progress?(done: number, total: number): void } = {},
  ): Promise<RetryManyResult> {
    let order: number[];
    if (ids === null) order = this.retryable();
    else {
      // one read a batch (on PostgreSQL each is a round trip), not two a comparison
      const start = new Map([...new Set(ids)].map((id) => [id, this.#storage.getBatch(id)?.periodStart ?? 0]));
      order = [...start.keys()].sort((x, y) => start.get(x)! - start.get(y)! || x - y);
    }
    const outcomes: OperatorResult[] = [];
    const started = performance.now();
    const budget = new AbortController();
    const timer =
      opts.budgetMs === undefined ? undefined : setTimeout(() => budget.abort(new BudgetSpent()), opts.budgetMs);
    try {
      for (const [i, id] of order.entries()) {
        if (i > 0 && opts.budgetMs !== undefined && performance.now() - started >= opts.budgetMs) {
          this.#log.warn(
            { by, tried: i, notTried: order.length - i, budgetMs: opts.budgetMs },
            "retry of many batches stopped at its time budget",
          );
          return { outcomes, notTried: order.slice(i) };
        }
        opts.progress?.(i, order.length);
        try {
          outcomes.push(await this.retry(id, by, { signal: budget.signal }));
        } catch (err) {
          if (!(err instanceof BudgetSpent)) throw err;
          this.#log.warn(
            { by, batch: id, tried: i, notTried: order.length - i, budgetMs: opts.budgetMs },
            "retry of many batches cut short at its time budget, during a registry search; nothing changed for the batch",
          );
          return { outcomes, notTried: order.slice(i), cutShort: id };
        }
      }
    } finally {
      clearTimeout(timer);
    }
    opts.progress?.(order.length, order.length);
    return { outcomes, notTried: [] };
  }

  /**
   * `retry --all` as the admin HTTP API takes it (`POST /v1/admin/batches/retry-all`): every batch
   * {@link retryable} takes, or, with `ids` (a previous answer's `notTried`), those of them it
   * still takes, the others (retried or abandoned meanwhile, not failed, unknown) `skipped` and
   * left alone; within `budgetMs` as {@link retryMany}.
   */
  async retryAll(
    ids: number[] | null,
    by: string,
    opts: { budgetMs?: number } = {},
  ): Promise<RetryManyResult & { skipped?: number[] }> {
    if (ids === null) return this.retryMany(null, by, opts);
    const retryable = new Set(this.retryable());
    const asked = [...new Set(ids)];
    const taken = asked.filter((id) => retryable.has(id));
    const skipped = asked.filter((id) => !retryable.has(id));
    return { ...(taken.length ? await this.retryMany(taken, by, opts) : { outcomes: [], notTried: [] }), skipped };
  }

  /**
   * Puts failed batch `id` back into the pipeline (storage `retryFailedBatch`). A regular batch is
   * first checked against the registry's frontier: one that starts before it would only revert
   * again (period overlap). It is still retried when the registry holds a regular, unrevoked
   * attestation of exactly its period (a window sealed again after a restore whose bundle could
   * not be read then): it goes to `signed` without signatures (storage `awaitsAdoption`: never
   * sent, holding nothing back, abandoned or not as it was) and the pipeline tries again to take
   * it as that attestation's record (`adopting` says which), failing it again, saying why, if its
   * bundle is still not in the node's IPFS store. Otherwise it is refused with what to do instead
   * (`registry-unreadable` when the search failed: nothing changed, try again). When the registry cannot
   * be read the batch is retried without that check, with a warning (the chain may be the failure
   * being fixed; a batch sent too early fails again with the registry's reason). `signal`: aborted
   * while the registry is read, the retry throws its reason at once, nothing changed for the batch.
   */
  async retry(id: number, by: string, opts: { signal?: AbortSignal } = {}): Promise<OperatorResult> {
    const { signal } = opts;
    const b = this.#storage.getBatch(id);
    let warning: string | undefined;
    let adopting: OperatorResult["adopting"];
    if (this.#registry && b?.state === "failed" && b.correctionOfBatch === null && b.headerJson) {
      const facility = headerFromJson(b.headerJson).facilityId;
      let until: bigint | null = null;
      try {
        // one call, bounded by the reader's timeout: not cut at the budget, so that a registry that
        // does not answer gives the warning below, as without a budget
        until = await this.#registry.attestedUntil(facility);
      } catch (err) {
        warning = `could not read the registry's frontier for batch ${id} from chain.rpcUrl (${firstLine(err)}); retried without that check`;
      }
      if (until !== null && until > BigInt(b.periodStart)) {
        const past = `batch ${id} starts at ${b.periodStart} but the AttestationRegistry has facility ${b.facilityId} attested up to ${until}: it would reject the batch again (period overlap), and its ${b.readingCount} readings cannot be attested as a regular batch`;
        const refuse = (why: string) =>
          this.#logged("retry", by, {
            batch: id,
            done: false,
            code: "registry-past",
            reason:
              `${past}; ${why}; ` +
              (b.abandonedAt === null
                ? `\`carbonproof-oracle abandon ${id}\` (or POST /v1/admin/batches/${id}/abandon) stops it holding back later batches`
                : "it stays abandoned"),
          });
        let found: FoundAttestation | null;
        try {
          found = await untilAborted(
            this.#registry.findRegularAttestation(facility, BigInt(b.periodStart), signal),
            signal,
          );
        } catch (err) {
          if (signal?.aborted) throw signal.reason;
          if ((err as { code?: string }).code === "SEARCH_BOUND")
            return refuse(`the attestation of its period was not found where it was looked for: ${firstLine(err)}`);
          return this.#logged("retry", by, {
            batch: id,
            done: false,
            code: "registry-unreadable",
            reason: `${past}, unless the registry holds an attestation of exactly its period, and looking for it failed (${firstLine(err)}): nothing was changed; run retry again when chain.rpcUrl answers`,
          });
        }
        if (!found) return refuse("no regular attestation of its period was found in the registry's events");
        if (found.header.periodStart !== BigInt(b.periodStart) || found.header.periodEnd !== BigInt(b.periodEnd))
          return refuse(
            `attestation ${found.id} that covers its start is of another period (${found.header.periodStart}–${found.header.periodEnd}), so it cannot be taken as that attestation's record`,
          );
        if (found.revoked)
          return refuse(`attestation ${found.id} of its period was revoked, so it cannot be taken as its record`);
        adopting = {
          attestationId: found.id,
          bundleCid: found.header.bundleCid,
          readings: found.header.readingCount,
        };
      }
    }
    const out: OperatorResult = this.#storage.retryFailedBatch(id, this.#nowMs(), { adopt: adopting !== undefined });
    if (warning) out.warning = warning;
    if (adopting && out.done) out.adopting = adopting;
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
          adopting: out.adopting?.attestationId,
        },
        op === "retry" ? "failed batch retried by the operator" : "failed batch abandoned by the operator",
      );
    } else {
      this.#log.warn({ by, batch: out.batch, code: out.code, why: out.reason }, `${op} of a batch refused`);
    }
    return out;
  }
}

/** The reason {@link BatchOperator.retryMany} aborts a retry's registry search with. */
class BudgetSpent extends Error {
  constructor() {
    super("the time budget of a retry of many batches ran out");
  }
}

/** `p`, or its rejection with `signal`'s reason as soon as that is aborted (`p` is left to end unheard). */
function untilAborted<T>(p: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return p;
  if (signal.aborted) {
    p.catch(() => {}); // started already: its rejection is not heard, and must not go unhandled
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    p.then(
      (v) => (signal.removeEventListener("abort", onAbort), resolve(v)),
      (e) => (signal.removeEventListener("abort", onAbort), reject(e)),
    );
  });
}

/** The first line of an error's message (viem's run over many). */
function firstLine(err: unknown): string {
  return (err as Error).message.split("\n")[0]!;
}
