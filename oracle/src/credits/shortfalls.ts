/**
 * Records the node's own periods above their project's baseline on CarbonCredits
 * (`recordShortfall`, docs/credits.md): without it a project's credits can exceed its net
 * reduction until someone else records them. Anyone may; the node that attested the period is the
 * one that knows of it first and already pays for transactions.
 *
 * Every `everyMs` (and once at start), each confirmed regular batch of the last `lookbackDays` not
 * settled yet is asked with an `eth_call` of `recordShortfall(projectId, header)` (the project is
 * CarbonCredits' `projectOfScope(keccak256(abi.encode(facilityId, methodologyId)))`), which
 * succeeds exactly for a period above its baseline, its challenge window over, still unsettled.
 * For one that succeeds, the transaction is signed at the pipeline's next nonce, persisted (meta
 * `shortfalls.pending`) and broadcast; one at a time, followed like a batch's: re-broadcast, gas
 * bumped after `chain.gasBumpAfterMs`, done when mined or when its nonce went to another
 * transaction. A crash at any point is healed from the persisted transaction, and nothing is sent
 * twice: a period recorded meanwhile (by anyone) makes the call revert.
 */
import type { Logger } from "pino";
import {
  BaseError,
  ContractFunctionRevertedError,
  encodeAbiParameters,
  encodeFunctionData,
  keccak256,
  type PublicClient,
} from "viem";
import { z } from "zod";
import type { BatchHeader, Hex } from "../../../sdk/src/index.ts";
import type { Address, BatchPipeline, ChainPort } from "../batch/pipeline.ts";
import { headerFromJson } from "../batch/bundle.ts";
import { attestationRegistryAbi, carbonCreditsAbi } from "../chain/abi.ts";
import type { Common } from "../common.ts";
import type { BatchState, Storage } from "../storage/types.ts";

/** Meta key of the node's one unmined recordShortfall transaction. */
export const PENDING_META_KEY = "shortfalls.pending";
/** Meta key of the batch id up to which every confirmed batch is settled (not listed again). */
export const CURSOR_META_KEY = "shortfalls.settledThroughBatch";

const pendingShape = z.object({
  /** the account that signed it, and its chain: after a key rotation or on another chain it is not ours to follow */
  from: z.string(),
  chainId: z.number().int().positive(),
  /** recordShortfall of a period, or recordCorrection of a correction batch (absent: shortfall) */
  kind: z.enum(["shortfall", "correction"]).default("shortfall"),
  attestationId: z.string(),
  batchId: z.number().int().positive().optional(),
  projectId: z.number().int().positive(),
  nonce: z.number().int().nonnegative(),
  raw: z.string().regex(/^0x[0-9a-fA-F]+$/),
  hashes: z.array(z.string()).min(1),
  sentAtMs: z.number(),
});
type Pending = z.infer<typeof pendingShape>;

/** Reverts that settle the question for good: nothing to record, now or later. */
const FINAL_REVERTS = new Set([
  "CarbonCreditsNoShortfall", // at or below its baseline: issuable instead
  "CarbonCreditsAttestationUsed", // issued, recorded, or a correction
  "CarbonCreditsNoBaseline", // before the project's first baseline (segments only move forward)
  "CarbonCreditsCorrectionBacksNoIssuance",
  "CarbonCreditsWrongFacility",
  "CarbonCreditsWrongMethodology",
  "CarbonCreditsAttestationRevoked",
  "CarbonCreditsPeriodSpansVintages",
  "CarbonCreditsInvalidPeriod",
  "CarbonCreditsUnknownAttestation", // not on the registry CarbonCredits reads (another deployment)
]);

/** States a batch may leave for `confirmed` (failed ones by an operator's retry). */
const UNFINISHED: BatchState[] = ["open", "sealed", "pinned", "signed", "submitted", "failed"];
/** eth_calls of recordShortfall in one pass at most (after a restart, or a long pause, the rest wait). */
const MAX_CALLS_PER_PASS = 500;

export type ShortfallOutcome = { asked: number; sent: string | null; pending: string | null };

export class ShortfallRecorder {
  readonly #common: Common;
  readonly #log: Logger;
  readonly #storage: Pick<Storage, "listBatches" | "getBatch" | "getMeta" | "setMeta">;
  readonly #chain: ChainPort & { client: PublicClient };
  readonly #pipeline: Pick<BatchPipeline, "sendOther" | "setOtherInFlight">;
  readonly #credits: Address;
  /** ids of batches above the cursor settled for good (final revert, or recorded by this node) */
  readonly #done = new Set<number>();
  #pending: Pending | null;
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<unknown> | null = null;
  #stopped = false;

  constructor(deps: {
    common: Common;
    storage: Pick<Storage, "listBatches" | "getBatch" | "getMeta" | "setMeta">;
    chain: ChainPort & { client: PublicClient };
    pipeline: Pick<BatchPipeline, "sendOther" | "setOtherInFlight">;
    carbonCredits: Address;
  }) {
    this.#common = deps.common;
    this.#log = deps.common.logger.child({ part: "shortfalls" });
    this.#storage = deps.storage;
    this.#chain = deps.chain;
    this.#pipeline = deps.pipeline;
    this.#credits = deps.carbonCredits;
    this.#pending = this.#readPending();
    this.#pipeline.setOtherInFlight(() => this.#pending?.nonce ?? null);
  }

  start(): void {
    const every = this.#common.config.shortfalls.everyMs;
    const loop = () => {
      if (this.#stopped) return;
      this.#running = this.pass()
        .catch((err: unknown) => this.#log.warn({ err }, "shortfall pass failed; retried at the next"))
        .finally(() => {
          this.#running = null;
          if (!this.#stopped) this.#timer = setTimeout(loop, every);
        });
    };
    this.#timer = setTimeout(loop, 0);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    await this.#running;
  }

  /** One pass: follow the pending transaction; if none is left, ask the batches and send the first found. */
  async pass(): Promise<ShortfallOutcome> {
    if (this.#pending && !(await this.#follow(this.#pending)))
      return { asked: 0, sent: null, pending: this.#pending.attestationId };
    const cfg = this.#common.config.shortfalls;
    const nowS = Math.floor(this.#common.clock.nowMs() / 1000);
    const cursor = Number(this.#storage.getMeta(CURSOR_META_KEY) ?? 0) || 0;
    const window = Number(
      await this.#chain.client.readContract({
        address: this.#credits,
        abi: carbonCreditsAbi,
        functionName: "challengeWindow",
      }),
    );
    // `lookbackDays` after the challenge window: a window of any length leaves that long to ask
    const batches = this.#storage.listBatches({
      states: ["confirmed"],
      afterId: cursor,
      periodEndFrom: nowS - window - cfg.lookbackDays * 86_400,
      // a correction has its original's (old) period: listed whatever its age, or the cursor would pass it
      correctionsOfAnyPeriod: true,
      limit: 100_000,
    });
    const projects = new Map<string, number>();
    const projectOf = async (header: BatchHeader): Promise<number> => {
      const scope = keccak256(
        encodeAbiParameters([{ type: "bytes32" }, { type: "bytes32" }], [header.facilityId, header.methodologyId]),
      );
      let projectId = projects.get(scope);
      if (projectId === undefined) {
        projectId = Number(
          await this.#chain.client.readContract({
            address: this.#credits,
            abi: carbonCreditsAbi,
            functionName: "projectOfScope",
            args: [scope],
          }),
        );
        projects.set(scope, projectId);
      }
      return projectId;
    };
    let asked = 0;
    /** the smallest id of a batch still to settle: the cursor stays below it */
    let firstOpen = Number.POSITIVE_INFINITY;
    const open = (id: number) => (firstOpen = Math.min(firstOpen, id));
    let sent: string | null = null;
    let halted = false; // paused, a transaction sent, or the pass's calls used up: the rest waits
    for (const b of batches) {
      if (this.#stopped) break;
      if (b.headerJson === null || b.attestationId === null || this.#done.has(b.id)) continue;
      // a correction adds its grams to its period while that is unissued (recordCorrection), which
      // may take the period over its baseline: the period it corrects is asked again
      const target = b.correctionOfBatch === null ? b : (this.#storage.getBatch(b.correctionOfBatch) ?? null);
      if (
        target === null ||
        target.state !== "confirmed" ||
        target.correctionOfBatch !== null ||
        target.headerJson === null ||
        target.attestationId === null
      ) {
        this.#done.add(b.id);
        continue;
      }
      const header = headerFromJson(target.headerJson);
      const projectId = await projectOf(header);
      // no project for this facility and methodology: nothing to record (one registered later with
      // a back-dated baseline is found by `carbonproof shortfalls` and the audit walk)
      if (projectId === 0) {
        this.#done.add(b.id);
        continue;
      }
      // its challenge window cannot be over yet (it began when the batch was submitted, before it
      // was confirmed): not asked, and the cursor waits for it
      if (halted || b.updatedAtMs / 1000 + window > nowS) {
        open(b.id);
        continue;
      }
      if (asked >= MAX_CALLS_PER_PASS) {
        halted = true;
        open(b.id);
        continue;
      }
      if (b !== target) {
        // a correction counts against its period only once recorded on CarbonCredits (anyone may):
        // charged to the project if the period was issued, else to the period before it is
        // a correction of a revoked period would be recorded and change nothing (docs/credits.md):
        // not sent, as the sdk's `projectShortfalls` does not list it
        asked++;
        const revoked = await this.#chain.client.readContract({
          address: this.#chain.domain.verifyingContract,
          abi: attestationRegistryAbi,
          functionName: "isRevoked",
          args: [target.attestationId as Hex],
        });
        if (revoked) {
          this.#done.add(b.id);
          continue;
        }
        const own = headerFromJson(b.headerJson);
        const recorded = await this.#ask("recordCorrection", [own]);
        if (recorded.kind === "halt" || recorded.kind === "later") {
          if (recorded.kind === "halt") halted = true;
          open(b.id);
          continue;
        }
        if (recorded.kind === "send") {
          open(b.id); // asked again once mined: then its period is
          const id = b.attestationId.toLowerCase();
          await this.#send({ kind: "correction", id, projectId, batchId: b.id, args: [own] });
          sent = id;
          halted = true;
          continue;
        }
        // recorded already (or nothing to record): on to the period it corrects
      }
      asked++;
      const answer = await this.#ask("recordShortfall", [projectId, header]);
      if (answer.kind === "final") {
        this.#done.add(b.id);
        continue;
      }
      open(b.id);
      if (answer.kind === "halt") halted = true;
      if (answer.kind !== "send") continue;
      // settled once its transaction is mined (#follow), asked again otherwise
      const id = target.attestationId.toLowerCase();
      await this.#send({
        kind: "shortfall",
        id,
        projectId,
        batchId: b.id,
        args: [projectId, header],
        excessGrams: answer.excessGrams,
      });
      sent = id;
      halted = true;
    }
    // Every batch up to just below the first open one is settled: not listed again, after a
    // restart too. A batch not confirmed yet holds it as well, and so does a failed regular one
    // with readings (an operator may retry it, abandoned or not).
    for (const u of this.#storage.listBatches({ states: UNFINISHED, afterId: cursor, limit: 10_000 }))
      if (u.state !== "failed" || (u.correctionOfBatch === null && u.readingCount > 0)) open(u.id);
    const listedMax = batches.reduce((m, b) => Math.max(m, b.id), cursor);
    const through = firstOpen === Number.POSITIVE_INFINITY ? listedMax : Math.min(listedMax, firstOpen - 1);
    if (through > cursor && !this.#stopped) {
      this.#storage.setMeta(CURSOR_META_KEY, String(through));
      for (const done of this.#done) if (done <= through) this.#done.delete(done);
    }
    return { asked, sent, pending: this.#pending?.attestationId ?? null };
  }

  /**
   * `fn(...args)` of CarbonCredits as an eth_call from this account: `send` (with the grams a
   * shortfall would charge), `final` when it reverts for a reason that stays, `later` for one that
   * may change, `halt` when CarbonCredits is paused (every other call would revert too). An RPC
   * failure throws.
   */
  async #ask(
    fn: "recordShortfall" | "recordCorrection",
    args: readonly unknown[],
  ): Promise<{ kind: "send"; excessGrams: bigint } | { kind: "final" | "later" | "halt" }> {
    try {
      const result = (await this.#chain.client.readContract({
        address: this.#credits,
        abi: carbonCreditsAbi,
        functionName: fn,
        args,
        account: this.#chain.signerAddress,
      } as never)) as unknown;
      return { kind: "send", excessGrams: Array.isArray(result) ? (result[1] as bigint) : 0n };
    } catch (err) {
      const name = revertName(err);
      if (name === null) throw err; // not an answer of the contract: the RPC; the pass is retried
      if (FINAL_REVERTS.has(name)) return { kind: "final" };
      if (name === "EnforcedPause") return { kind: "halt" };
      return { kind: "later" }; // window open, challenge pending, an unknown reason
    }
  }

  async #send(t: {
    kind: "shortfall" | "correction";
    id: string;
    projectId: number;
    batchId: number;
    args: readonly unknown[];
    excessGrams?: bigint;
  }): Promise<void> {
    const fn = t.kind === "shortfall" ? "recordShortfall" : "recordCorrection";
    const data = encodeFunctionData({ abi: carbonCreditsAbi, functionName: fn, args: t.args } as never);
    await this.#pipeline.sendOther(async (chain, nonce) => {
      if (!chain.prepareCall) throw new Error("this chain port cannot sign other calls");
      const tx = await chain.prepareCall(this.#credits, data as Hex, nonce);
      // persisted before it is broadcast: after a crash the same bytes are followed, not a second call
      this.#setPending({
        from: chain.signerAddress.toLowerCase(),
        chainId: chain.domain.chainId,
        kind: t.kind,
        attestationId: t.id,
        batchId: t.batchId,
        projectId: t.projectId,
        nonce,
        raw: tx.raw,
        hashes: [tx.hash],
        sentAtMs: this.#common.clock.nowMs(),
      });
      await chain.broadcast(tx.raw);
      this.#log.info(
        {
          batch: t.batchId,
          attestation: t.id,
          project: t.projectId,
          ...(t.excessGrams === undefined ? {} : { excessGrams: t.excessGrams.toString() }),
          tx: tx.hash,
          nonce,
        },
        t.kind === "shortfall"
          ? "period above the project's baseline: recordShortfall sent"
          : "correction batch: recordCorrection sent",
      );
    });
  }

  /** Follows the pending transaction; true once it is settled (mined, or its nonce consumed). */
  async #follow(p: Pending): Promise<boolean> {
    const chain = this.#chain;
    const fn = p.kind === "shortfall" ? "recordShortfall" : "recordCorrection";
    for (const hash of p.hashes) {
      const rc = await chain.receipt(hash as Hex);
      if (!rc) continue;
      if (rc.status === "success") {
        this.#log.info(
          { attestation: p.attestationId, project: p.projectId, tx: hash, block: Number(rc.blockNumber) },
          p.kind === "shortfall"
            ? "shortfall recorded: the project owes the period's excess"
            : "correction recorded: its grams count against the period it corrects",
        );
        (p.kind === "shortfall"
          ? this.#common.metrics.shortfallsRecorded
          : this.#common.metrics.correctionsRecorded
        ).inc();
        // a recorded correction's batch stays open: the period it corrects is asked next
        if (p.kind === "shortfall" && p.batchId !== undefined) this.#done.add(p.batchId);
      }
      // reverted: recorded by someone else first (or issued meanwhile); the next pass asks again
      else this.#log.warn({ attestation: p.attestationId, tx: hash }, `${fn} reverted; asked again`);
      this.#setPending(null);
      return true;
    }
    const { latest } = await chain.nonces();
    if (latest > p.nonce) {
      // another transaction of ours took the nonce (a batch's, after the RPC node lost this one)
      this.#log.warn(
        { attestation: p.attestationId, nonce: p.nonce },
        `${fn}'s nonce used by another transaction; asked again`,
      );
      this.#setPending(null);
      return true;
    }
    const now = this.#common.clock.nowMs();
    if (now - p.sentAtMs >= this.#common.config.chain.gasBumpAfterMs) {
      const tx = await chain.prepareReplacement(p.raw as Hex);
      this.#setPending({ ...p, raw: tx.raw, hashes: [...p.hashes, tx.hash], sentAtMs: now });
      await chain.broadcast(tx.raw);
      this.#log.warn(
        { attestation: p.attestationId, tx: tx.hash, nonce: p.nonce },
        `${fn} gas bumped and re-broadcast`,
      );
      return false;
    }
    await chain.broadcast(p.raw as Hex); // the RPC node may have lost it: the same bytes are harmless
    return false;
  }

  #readPending(): Pending | null {
    const raw = this.#storage.getMeta(PENDING_META_KEY);
    if (raw === null || raw === "") return null;
    let p: Pending;
    try {
      p = pendingShape.parse(JSON.parse(raw));
    } catch (err) {
      this.#log.error({ err }, `meta ${PENDING_META_KEY} is not a pending transaction; ignored`);
      return null;
    }
    if (p.from !== this.#chain.signerAddress.toLowerCase() || p.chainId !== this.#chain.domain.chainId) {
      // another key's (rotated since) or another chain's: its nonce means nothing to this account,
      // and if it is mined after all, the period is recorded once either way
      this.#log.warn(
        { attestation: p.attestationId, from: p.from, chainId: p.chainId, nonce: p.nonce },
        "a recordShortfall transaction of another account or chain was pending; no longer followed",
      );
      this.#storage.setMeta(PENDING_META_KEY, "");
      return null;
    }
    return p;
  }

  #setPending(p: Pending | null): void {
    this.#storage.setMeta(PENDING_META_KEY, p === null ? "" : JSON.stringify(p));
    this.#pending = p;
  }
}

/** The custom error a contract call reverted with, or null when it did not revert (RPC failure). */
function revertName(err: unknown): string | null {
  if (!(err instanceof BaseError)) return null;
  const reverted = err.walk((e) => e instanceof ContractFunctionRevertedError);
  if (!(reverted instanceof ContractFunctionRevertedError)) return null;
  return reverted.data?.errorName ?? reverted.reason ?? "unknown revert";
}
