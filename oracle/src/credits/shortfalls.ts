/**
 * Records the node's own periods above their project's baseline on CarbonCredits
 * (`recordShortfall`, docs/credits.md): without it a project's credits can exceed its net
 * reduction until someone else records them. Anyone may; the node that attested the period is the
 * one that knows of it first and already pays for transactions.
 *
 * Every `everyMs` (and once at start), each confirmed batch is asked once its challenge window is
 * over, in the order batches were confirmed (a cursor in meta; the first time, from `lookbackDays`
 * back): a regular one with an `eth_call` of `recordShortfall(projectId, header)` (the project is
 * CarbonCredits' `projectOfScope(keccak256(abi.encode(facilityId, methodologyId)))`), which
 * succeeds exactly for a period above its baseline, its challenge window over, still unsettled; a
 * correction first with `recordCorrection`. One whose answer may change (a challenge pending) is
 * kept in meta and asked again at each pass, and so is one whose answer settles it (recorded,
 * issued) at the latest block but not yet at the block `chain.confirmations` deep: someone else's
 * transaction a reorg may take back. (An RPC node that cannot answer an eth_call that deep, a
 * pruned one, is asked at the latest block only: such an answer settles the batch once seen again
 * `chain.confirmations` - 1 blocks later, #unservedDeep.) A batch an operator retries is confirmed
 * later, and listed then: nothing holds the cursor back.
 * For one that succeeds, the transaction is signed at the pipeline's next nonce, at the node's fee
 * estimate or the fee cap (`chain.maxFeePerGas`) when that is lower, persisted (meta
 * `shortfalls.pending`) and broadcast; one at a time, followed like a batch's: re-broadcast, gas
 * bumped after `chain.gasBumpAfterMs` when it is the next to be mined, up to the fee cap
 * (`chain.maxFeePerGas`), done once mined `chain.confirmations` deep, as a batch is confirmed (a
 * receipt a reorg takes back before then leaves it unmined: sent again), or when its nonce went
 * to another transaction. A crash at any point is healed from the persisted transaction, and
 * nothing is sent twice: a period recorded meanwhile (by anyone) makes the call revert.
 */
import type { Logger } from "pino";
import { BaseError, encodeAbiParameters, encodeFunctionData, keccak256, type PublicClient } from "viem";
import { z } from "zod";
import { bytes32ToId, revertName, rpcTransportError, type BatchHeader, type Hex } from "../../../sdk/src/index.ts";
import {
  FEE_CAP_REACHED,
  confirmedBlock,
  feeCapOf,
  isDeepEnough,
  type Address,
  type BatchPipeline,
  type ChainPort,
  type TxReceipt,
} from "../batch/pipeline.ts";
import { headerFromJson } from "../batch/bundle.ts";
import { carbonCreditsAbi } from "../chain/abi.ts";
import { firstStampedFrom } from "../chain/viem.ts";
import type { Common } from "../common.ts";
import type { Batch, ConfirmedCursor, Storage } from "../storage/types.ts";

/** Meta key of the node's one unsettled recordShortfall transaction (unmined, or not yet `chain.confirmations` deep). */
export const PENDING_META_KEY = "shortfalls.pending";
/**
 * Meta key of the recorder's place in the order batches were confirmed (JSON `{ atMs, id }`: the
 * batch's `updatedAtMs` and id): every confirmed batch up to it has been asked, and those to ask
 * again are in `RECHECK_META_KEY`.
 */
export const CURSOR_META_KEY = "shortfalls.cursor";
/** Meta key of the ids of batches behind the cursor to ask again (JSON array). */
export const RECHECK_META_KEY = "shortfalls.recheck";
/**
 * The cursor of nodes before storage schema 7: every batch up to this id was settled. Read once,
 * at the first pass after the upgrade, then cleared.
 */
export const LEGACY_CURSOR_META_KEY = "shortfalls.settledThroughBatch";
const cursorShape = z.object({ atMs: z.number().int(), id: z.number().int().nonnegative() });
/**
 * Meta key of the recorder's following of CarbonCredits' `BaselineSet` events (JSON: `block`, the
 * last block whose events were taken; `rescans`, the facilities whose periods the cursor has passed
 * are to be asked again since a baseline segment of theirs changed).
 */
export const BASELINES_META_KEY = "shortfalls.baselines";
/**
 * The version of the follower's state: a state of another (older) one is followed again from the
 * start, `lookbackDays` back. 2: rescans ask corrections too, resuming at (period start, id); a
 * node's earlier rescans had passed its corrections over. Asking again is safe: CarbonCredits
 * refuses what was recorded already.
 */
const BASELINES_VERSION = 2;
const baselinesShape = z.object({
  version: z.number().int().optional(),
  /** the chain and CarbonCredits these events are of: on another, following starts over */
  chainId: z.number().int().positive(),
  credits: z.string(),
  /** the last block whose events were taken (-1: none yet, from genesis) */
  block: z.number().int().min(-1),
  rescans: z.array(
    z.object({
      /** the project whose baseline changed (for the log) */
      project: z.number().int().positive(),
      /** the facility's id in storage */
      facility: z.string(),
      /** the project's methodology: the facility's periods of another are another project's */
      methodology: z.string(),
      /** its batches of periods that start after this (unix s) are still to ask */
      afterS: z.number().int(),
      /**
       * and those of the period that starts at `afterS` with a higher id (a regular batch's
       * corrections share its period); absent: none of that period (as before corrections were asked)
       */
      afterId: z.number().int().nonnegative().optional(),
      /** only batches confirmed up to here: those after it are the cursor's to ask */
      until: cursorShape,
    }),
  ),
});
type Baselines = z.infer<typeof baselinesShape>;

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

/** eth_calls of recordShortfall and recordCorrection in one pass at most (the rest wait for the next). */
const MAX_CALLS_PER_PASS = 500;
/** Confirmed batches listed in one pass at most. */
const LIST_LIMIT = 2_000;
/** Batches kept to ask again at most; past it, newer batches wait (the cursor does not pass them). */
const MAX_RECHECK = 10_000;
/**
 * Whether `err` says the RPC node gave no answer (the sdk's rpcTransportError: unreachable, timed
 * out, an HTTP error status such as 429), or JSON-RPC's "limit exceeded" (-32005), a rate limit
 * answered in the body, as opposed to an answer that it cannot do the call (a pruned node's
 * "missing trie node", a historical-call cap).
 */
function noAnswer(err: unknown): boolean {
  if (rpcTransportError(err)) return true;
  for (let e = err, depth = 0; e instanceof Error && depth < 10; e = e.cause, depth++)
    if ((e as { code?: unknown }).code === -32005) return true;
  return false;
}

/**
 * Whether this process has warned that its RPC node cannot answer an eth_call
 * `chain.confirmations` deep (#unservedDeep): once is enough, every pass would say it again.
 */
let warnedUnservedDeep = false;
/**
 * A batch is listed once confirmed at least this long ago, whatever the challenge window. Batches
 * are confirmed by one writer, one commit after another, so their `updatedAtMs` grow in the order
 * they become visible; this second only keeps a listing clear of the commit under way and of a
 * small step back of the wall clock.
 */
const SETTLE_MS = 1_000;
/** A pass that left work for the next (calls used up, a full listing) is followed after this. */
const CATCH_UP_MS = 1_000;
/** Blocks per `eth_getLogs` of `BaselineSet` (many RPC nodes cap ranges at 10,000), and ranges per pass at most. */
const EVENT_RANGE = 5_000n;
const EVENT_RANGES_PER_PASS = 20;
/** Facilities being asked again at most; past it, later `BaselineSet` events wait for them. */
const MAX_RESCANS = 100;
/** Batches of a facility listed at a time when it is asked again, and listings a pass at most. */
const RESCAN_LIST = 200;
const RESCAN_LISTINGS_PER_PASS = 20;
/** The longest window (24 h): a period that starts this long before a baseline segment may end in it. */
const LONGEST_WINDOW_S = 86_400;

/** Whether regular batch `b`'s stored header is of `methodology` (0x…, lower case); an unreadable one is not. */
const ofMethodology = (b: Batch, methodology: string): boolean => {
  try {
    return b.headerJson !== null && headerFromJson(b.headerJson).methodologyId.toLowerCase() === methodology;
  } catch {
    return false;
  }
};

/** Whether batch `b` comes after `c` in the order of confirmation. */
const after = (b: Batch, c: ConfirmedCursor): boolean =>
  b.updatedAtMs > c.atMs || (b.updatedAtMs === c.atMs && b.id > c.id);

/** What `/v1/status` says of the recorder (`shortfalls`). */
export type ShortfallStatus = {
  /** when the last pass ended (ms), null before the first */
  lastPassAtMs: number | null;
  /** the last pass asked every batch due (nothing left for the next but new ones) */
  caughtUp: boolean;
  /** batches asked again at each pass */
  recheck: number;
  /** facilities whose settled periods are being asked again: a baseline segment of theirs changed */
  rescans: number;
  /** the node's recordShortfall or recordCorrection not yet mined `chain.confirmations` deep, if any */
  pending: { kind: "shortfall" | "correction"; attestationId: string; nonce: number } | null;
  /** why the last pass failed (an RPC error), null when it did not */
  lastError: string | null;
};

/** `more`: the pass stopped with batches due still to ask; the next follows within a second. */
export type ShortfallOutcome = { asked: number; sent: string | null; pending: string | null; more: boolean };
/** `callsUpTo`: the calls this part of the pass may have made in all (`asked`) before it stops. */
type PassContext = { asked: number; callsUpTo: number; sent: string | null; projects: Map<string, number> };
type Verdict = "settled" | "recheck" | "sent" | "halt" | "budget";

/** The chain the recorder reads and signs with: the pipeline's (whose nonces it takes). */
export type ShortfallChain = ChainPort & { client: PublicClient };

export class ShortfallRecorder {
  readonly #common: Common;
  readonly #log: Logger;
  readonly #storage: Pick<Storage, "listConfirmedSince" | "listBatches" | "getBatch" | "getMeta" | "setMeta">;
  readonly #chain: ShortfallChain;
  readonly #pipeline: Pick<BatchPipeline, "sendOther" | "setOtherInFlight">;
  readonly #credits: Address;
  #pending: Pending | null;
  /**
   * Final answers the RPC node could not be asked `chain.confirmations` deep (#unservedDeep), by
   * `fn:attestationId`: the head block when the latest block first gave one, and its revert. In
   * memory (a restart only restarts the wait), {@link MAX_RECHECK} at most, the oldest dropped.
   */
  readonly #finalSince = new Map<string, { head: bigint; reason: string }>();
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<unknown> | null = null;
  #stopped = false;
  #status: Omit<ShortfallStatus, "pending"> = {
    lastPassAtMs: null,
    caughtUp: false,
    recheck: 0,
    rescans: 0,
    lastError: null,
  };

  constructor(deps: {
    common: Common;
    storage: Pick<Storage, "listConfirmedSince" | "listBatches" | "getBatch" | "getMeta" | "setMeta">;
    chain: ShortfallChain;
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
      let next = every;
      this.#running = this.pass()
        .then((o) => {
          if (o.more) next = CATCH_UP_MS;
          this.#status.lastError = null;
        })
        .catch((err: unknown) => {
          this.#log.warn({ err }, "shortfall pass failed; retried at the next");
          // shown on /v1/status: an error's first line may quote a URL (a provider's key in it)
          this.#status.lastError = this.#common.scrub(err instanceof Error ? err.message.split("\n")[0]! : String(err));
          this.#status.caughtUp = false;
          this.#common.metrics.shortfallsBehind.set(1);
        })
        .finally(() => {
          this.#running = null;
          if (!this.#stopped) this.#timer = setTimeout(loop, next);
        });
    };
    this.#timer = setTimeout(loop, 0);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    await this.#running;
  }

  /** The recorder's state for `/v1/status`. */
  status(): ShortfallStatus {
    const p = this.#pending;
    return { ...this.#status, pending: p ? { kind: p.kind, attestationId: p.attestationId, nonce: p.nonce } : null };
  }

  /**
   * One pass: follow the pending transaction; if none is left, ask again the batches kept for it,
   * then those confirmed since the cursor whose challenge window is over, and send the first found.
   */
  async pass(): Promise<ShortfallOutcome> {
    if (this.#pending && !(await this.#follow(this.#pending))) {
      this.#status.lastPassAtMs = this.#common.clock.nowMs();
      return { asked: 0, sent: null, pending: this.#pending.attestationId, more: false };
    }
    const nowMs = this.#common.clock.nowMs();
    const window = Number(
      await this.#chain.client.readContract({
        address: this.#credits,
        abi: carbonCreditsAbi,
        functionName: "challengeWindow",
      }),
    );
    // a batch's challenge window began when it was submitted, before it was confirmed: one confirmed
    // that long ago is due
    const dueToMs = Math.min(nowMs - window * 1000, nowMs - SETTLE_MS);
    const cursorBefore = this.#readCursor(dueToMs);
    let cursor = cursorBefore;
    const recheck = this.#readRecheck();
    const recheckBefore = JSON.stringify([...recheck]);
    let baselines = this.#readBaselines();
    const baselinesBefore = JSON.stringify(baselines);
    const legacy = Number(this.#storage.getMeta(LEGACY_CURSOR_META_KEY) || Number.NaN);
    if (Number.isSafeInteger(legacy) && legacy >= 0) {
      // the first pass after the upgrade starts `lookbackDays` back: a batch the old cursor had not
      // settled that was confirmed before that (a correction of any age, one still asked again) is
      // kept to ask again instead of being passed over
      for (const b of this.#storage.listBatches({ states: ["confirmed"], afterId: legacy, limit: MAX_RECHECK }))
        if (!after(b, cursorBefore) && recheck.size < MAX_RECHECK) recheck.add(b.id);
    }
    // batches to ask again first, with half the pass's calls at most (each asked goes to the back of
    // the list, so that the next pass begins with the others), then those confirmed since the cursor
    const ctx: PassContext = { asked: 0, callsUpTo: MAX_CALLS_PER_PASS / 2, sent: null, projects: new Map() };
    let halted = false; // paused, or a transaction sent: the rest waits for the next pass
    let more = false;
    let caughtUp = false;
    // what was asked is kept whatever ends the pass (an RPC failure throws out of it): the next
    // pass goes on from there instead of asking it all again
    const save = () => {
      if (this.#stopped) return;
      if (cursor !== cursorBefore || this.#storage.getMeta(CURSOR_META_KEY) !== JSON.stringify(cursor))
        this.#storage.setMeta(CURSOR_META_KEY, JSON.stringify(cursor));
      const recheckAfter = JSON.stringify([...recheck]);
      if (recheckAfter !== recheckBefore) this.#storage.setMeta(RECHECK_META_KEY, recheckAfter);
      if (!Number.isNaN(legacy)) this.#storage.setMeta(LEGACY_CURSOR_META_KEY, "");
      if (baselines && JSON.stringify(baselines) !== baselinesBefore)
        this.#storage.setMeta(BASELINES_META_KEY, JSON.stringify(baselines));
    };
    let rescansLeft = false;
    try {
      const events = await this.#takeBaselineEvents(baselines, cursorBefore, nowMs);
      baselines = events.state;
      rescansLeft = !events.caughtUp;
      for (const id of [...recheck]) {
        if (this.#stopped) return this.#outcome(ctx, false);
        const b = this.#storage.getBatch(id);
        if (!b || b.state !== "confirmed" || after(b, cursorBefore)) {
          // no longer confirmed (an operator's retry, after a restore), or confirmed again since
          // the cursor: listed again once its window is over
          recheck.delete(id);
          continue;
        }
        // behind the cursor but not due (the window raised since, the wall clock stepped back): kept
        if (b.updatedAtMs > dueToMs) continue;
        const verdict = await this.#consider(b, ctx);
        if (verdict === "budget") break;
        recheck.delete(id);
        if (verdict !== "settled") recheck.add(id);
        if (verdict === "halt" || verdict === "sent") {
          halted = true;
          break;
        }
      }
      // then the periods settled under a baseline that changed since, with a quarter of the calls
      // of their own (the batches to ask again may have used their half)
      if (!halted) {
        ctx.callsUpTo = Math.min(ctx.asked + MAX_CALLS_PER_PASS / 4, MAX_CALLS_PER_PASS);
        const r = await this.#rescan(baselines, recheck, ctx);
        if (r === null) return this.#outcome(ctx, false);
        halted = r.halted;
        // facilities left to ask: followed within a second only while they move on
        rescansLeft ||= r.progressed && baselines.rescans.length > 0;
      }
      ctx.callsUpTo = MAX_CALLS_PER_PASS;
      const fresh = halted ? [] : this.#storage.listConfirmedSince({ after: cursor, toMs: dueToMs, limit: LIST_LIMIT });
      more = fresh.length === LIST_LIMIT || (rescansLeft && !halted);
      caughtUp = !halted && !more; // every batch due asked, unless the loop below stops early
      for (const b of fresh) {
        if (this.#stopped) return this.#outcome(ctx, false);
        if (recheck.size >= MAX_RECHECK) {
          this.#log.warn({ recheck: recheck.size }, "too many batches to ask again; newer ones wait");
          more = caughtUp = false;
          break;
        }
        const verdict = await this.#consider(b, ctx);
        if (verdict === "halt" || verdict === "budget") {
          more = verdict === "budget";
          caughtUp = false;
          break;
        }
        if (verdict !== "settled") recheck.add(b.id);
        cursor = { atMs: b.updatedAtMs, id: b.id };
        if (verdict === "sent") {
          more = false; // the next pass follows the transaction first
          caughtUp = caughtUp && b === fresh[fresh.length - 1];
          break;
        }
      }
    } finally {
      save();
    }
    if (this.#stopped) return this.#outcome(ctx, false);
    this.#status = {
      lastPassAtMs: this.#common.clock.nowMs(),
      caughtUp,
      recheck: recheck.size,
      rescans: baselines.rescans.length,
      lastError: null,
    };
    this.#common.metrics.shortfallsRecheck.set(recheck.size);
    this.#common.metrics.shortfallsBehind.set(caughtUp ? 0 : 1);
    // a full listing, or the calls used up before its end: the next pass follows at once (catching up)
    return this.#outcome(ctx, more);
  }

  /**
   * Takes CarbonCredits' `BaselineSet` events since the last pass, to `chain.confirmations` deep: a
   * segment added to a project's baseline (`setBaseline`, for periods not yet issued) or a project
   * registered (its first segment, which may be back-dated). Either can take a period the recorder
   * settled as under its baseline, or as having no project, over it: the project's facility is
   * then asked again (`rescans`), its regular periods of the project's methodology from a day
   * before the segment's start (a window is 24 h at most) among the batches the cursor has passed,
   * with their corrections (one settled unrecorded for want of a project is recorded then).
   * The first time (and on another chain or CarbonCredits), from the first block of
   * `lookbackDays` back, as far as the first pass of the cursor goes. `caughtUp`: no event range
   * is left for the next pass.
   */
  async #takeBaselineEvents(
    prior: Baselines | null,
    cursor: ConfirmedCursor,
    nowMs: number,
  ): Promise<{ state: Baselines; caughtUp: boolean }> {
    const head = await this.#chain.blockNumber();
    const safe = confirmedBlock(head, this.#common.config.chain.confirmations);
    const chainId = this.#chain.domain.chainId;
    const credits = this.#credits.toLowerCase();
    let state = prior;
    if (
      !state ||
      state.version !== BASELINES_VERSION ||
      state.chainId !== chainId ||
      state.credits !== credits ||
      BigInt(state.block) > head
    ) {
      if (state && state.version !== BASELINES_VERSION)
        this.#log.info(
          { version: state.version ?? 1 },
          "baseline follower upgraded (corrections asked again too): following again from lookbackDays back",
        );
      const from = BigInt(Math.floor(nowMs / 1000) - this.#common.config.shortfalls.lookbackDays * 86_400);
      const first = await firstStampedFrom(this.#chain.client, from, 0n, head);
      // the last block taken: the one before (-1 from genesis)
      state = { version: BASELINES_VERSION, chainId, credits, block: Number(first) - 1, rescans: [] };
    }
    let from = BigInt(state.block) + 1n;
    for (let n = 0; from <= safe && n < EVENT_RANGES_PER_PASS; n++) {
      if (state.rescans.length >= MAX_RESCANS) {
        this.#log.warn(
          { rescans: state.rescans.length },
          "too many facilities to ask again; later baseline changes wait",
        );
        return { state, caughtUp: false };
      }
      const to = from + EVENT_RANGE - 1n < safe ? from + EVENT_RANGE - 1n : safe;
      const logs = await this.#chain.client.getContractEvents({
        address: this.#credits,
        abi: carbonCreditsAbi,
        eventName: "BaselineSet",
        fromBlock: from,
        toBlock: to,
      });
      for (const log of logs) {
        const project = Number(log.args.projectId);
        const { facilityId, methodologyId } = await this.#chain.client.readContract({
          address: this.#credits,
          abi: carbonCreditsAbi,
          functionName: "getProject",
          args: [project],
        });
        let facility: string;
        try {
          facility = bytes32ToId(facilityId);
        } catch {
          continue; // not an id a node names its facilities by: none of this node's
        }
        const methodology = methodologyId.toLowerCase();
        const afterS = Number(log.args.effectiveFrom) - LONGEST_WINDOW_S - 1;
        const same = state.rescans.find((r) => r.facility === facility && r.methodology === methodology);
        if (same) {
          if (afterS < same.afterS) {
            same.afterS = afterS;
            delete same.afterId;
          }
          same.until = cursor;
        } else state.rescans.push({ project, facility, methodology, afterS, until: cursor });
        this.#log.info(
          { project, facility, effectiveFrom: Number(log.args.effectiveFrom), block: Number(log.blockNumber) },
          "a project's baseline changed: its facility's settled periods are asked again",
        );
      }
      state.block = Number(to);
      from = to + 1n;
    }
    return { state, caughtUp: from > safe };
  }

  /**
   * Asks again the batches (regular periods and their corrections) of each facility in `baselines.rescans` (of the project's
   * methodology, confirmed up to its `until`), in period order, while the pass's calls last and
   * for {@link RESCAN_LISTINGS_PER_PASS} listings at most; a facility is done (removed) once listed
   * to its end. `halted`: paused, or a transaction sent (the rest waits for the next pass);
   * `progressed`: a period was passed. Null when the recorder stopped.
   */
  async #rescan(
    baselines: Baselines,
    recheck: Set<number>,
    ctx: PassContext,
  ): Promise<{ halted: boolean; progressed: boolean } | null> {
    let listings = 0;
    let progressed = false;
    for (const r of [...baselines.rescans]) {
      let finished = false;
      let stop = false;
      while (!stop) {
        if (listings++ >= RESCAN_LISTINGS_PER_PASS) return { halted: false, progressed };
        const list = this.#storage.listBatches({
          facilityId: r.facility,
          states: ["confirmed"],
          ...(r.afterId === undefined
            ? { afterPeriodStart: r.afterS }
            : { after: { periodStart: r.afterS, id: r.afterId } }),
          limit: RESCAN_LIST,
        });
        for (const b of list) {
          if (this.#stopped) return null;
          // corrections too: one confirmed while the facility had no project was settled unrecorded,
          // and its grams count against its period once recorded (#consider)
          if (!after(b, r.until) && !recheck.has(b.id) && ofMethodology(b, r.methodology)) {
            if (recheck.size >= MAX_RECHECK) {
              stop = true;
              break;
            }
            const verdict = await this.#consider(b, ctx);
            if (verdict === "halt") return { halted: true, progressed };
            if (verdict === "budget") {
              stop = true;
              break;
            }
            if (verdict !== "settled") recheck.add(b.id);
            r.afterS = b.periodStart;
            r.afterId = b.id;
            progressed = true;
            if (verdict === "sent") return { halted: true, progressed };
          } else {
            r.afterS = b.periodStart;
            r.afterId = b.id;
            progressed = true;
          }
        }
        if (!stop && list.length < RESCAN_LIST) {
          finished = true;
          stop = true;
        }
      }
      if (!finished) return { halted: false, progressed };
      baselines.rescans.splice(baselines.rescans.indexOf(r), 1);
      progressed = true;
    }
    return { halted: false, progressed };
  }

  #readBaselines(): Baselines | null {
    const raw = this.#storage.getMeta(BASELINES_META_KEY);
    if (raw === null || raw === "") return null;
    try {
      return baselinesShape.parse(JSON.parse(raw));
    } catch (err) {
      this.#log.error(
        { err },
        `meta ${BASELINES_META_KEY} is not the baseline follower's state; following again from lookbackDays back`,
      );
      return null;
    }
  }

  #outcome(ctx: PassContext, more: boolean): ShortfallOutcome {
    return { asked: ctx.asked, sent: ctx.sent, pending: this.#pending?.attestationId ?? null, more };
  }

  /**
   * Asks CarbonCredits about one confirmed batch: `settled` for good (nothing to record, now or
   * ever, or not this node's to ask), `recheck` (ask again at the next pass: a challenge pending,
   * a reason that may change), `sent` (a transaction is on its way: asked again once mined),
   * `halt` (paused: the pass ends) or `budget` (its calls used up: not asked).
   */
  async #consider(b: Batch, ctx: PassContext): Promise<Verdict> {
    if (b.headerJson === null || b.attestationId === null) return "settled";
    // a correction adds its grams to its period while that is unissued (recordCorrection), which
    // may take the period over its baseline: the period it corrects is asked again
    const target = b.correctionOfBatch === null ? b : (this.#storage.getBatch(b.correctionOfBatch) ?? null);
    if (
      target === null ||
      target.state !== "confirmed" ||
      target.correctionOfBatch !== null ||
      target.headerJson === null ||
      target.attestationId === null
    )
      return "settled";
    let header: BatchHeader;
    let own: BatchHeader;
    try {
      header = headerFromJson(target.headerJson);
      own = b === target ? header : headerFromJson(b.headerJson);
    } catch (err) {
      // a stored header that does not parse cannot be asked about, now or later
      this.#log.error({ err, batch: b.id }, "stored batch header unreadable; not asked about shortfalls");
      return "settled";
    }
    const projectId = await this.#projectOf(header, ctx.projects);
    // no project for this facility and methodology: nothing to record (one registered later is
    // followed by its BaselineSet event: #takeBaselineEvents)
    if (projectId === 0) return "settled";
    // begun only with room for every eth_call it may make (#ask: two for an answer that settles,
    // when confirmations > 1), so that the pass's budget is a bound, not a mark to pass
    const perAsk = this.#common.config.chain.confirmations > 1 ? 2 : 1;
    if (ctx.asked + perAsk * (b === target ? 1 : 2) > ctx.callsUpTo) return "budget";
    if (b !== target) {
      // a correction counts against its period only once recorded on CarbonCredits (anyone may):
      // charged to the project if the period was issued, else to the period before it is. One of
      // a revoked period re-attests it: recording it settles the period, its excess over the
      // baseline charged to the project (docs/credits.md); its recordShortfall then reverts
      // AttestationRevoked, a final answer
      const recorded = await this.#ask("recordCorrection", b.attestationId, [own], ctx);
      if (recorded.kind === "halt") return "halt";
      // a final answer not yet deep (recorded by someone else in a block a reorg may take back):
      // neither sent (it would revert) nor passed, its period asked with it at a later pass
      if (recorded.kind === "later" || recorded.kind === "shallow") return "recheck";
      if (recorded.kind === "send") {
        const id = b.attestationId.toLowerCase();
        await this.#send({ kind: "correction", id, projectId, batchId: b.id, args: [own] });
        ctx.sent = id;
        return "sent"; // asked again once mined: then its period is
      }
      // recorded already (or nothing to record): on to the period it corrects
    }
    const answer = await this.#ask("recordShortfall", target.attestationId, [projectId, header], ctx);
    // `shallow`: recorded (or issued) by someone else in a block a reorg may take back; asked again
    // until that holds deep, and sent then if it no longer does
    if (answer.kind !== "send")
      return answer.kind === "final" ? "settled" : answer.kind === "halt" ? "halt" : "recheck";
    // settled once its transaction is mined `chain.confirmations` deep (#follow) and the next ask
    // says so, asked again otherwise
    const id = target.attestationId.toLowerCase();
    await this.#send({
      kind: "shortfall",
      id,
      projectId,
      batchId: b.id,
      args: [projectId, header],
      excessGrams: answer.excessGrams,
    });
    ctx.sent = id;
    return "sent";
  }

  /** CarbonCredits' project of a period's facility and methodology (0: none), once per pass each. */
  async #projectOf(header: BatchHeader, projects: Map<string, number>): Promise<number> {
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
  }

  /**
   * Where the last pass left off; at the first, `lookbackDays` before the batches now due. An
   * unreadable value is logged and read as the first.
   */
  #readCursor(dueToMs: number): ConfirmedCursor {
    const raw = this.#storage.getMeta(CURSOR_META_KEY);
    if (raw !== null && raw !== "") {
      try {
        return cursorShape.parse(JSON.parse(raw));
      } catch (err) {
        this.#log.error({ err, raw }, `meta ${CURSOR_META_KEY} is not a cursor; starting lookbackDays back`);
      }
    }
    return { atMs: dueToMs - this.#common.config.shortfalls.lookbackDays * 86_400_000, id: 0 };
  }

  #readRecheck(): Set<number> {
    const raw = this.#storage.getMeta(RECHECK_META_KEY);
    if (raw === null || raw === "") return new Set();
    try {
      return new Set(z.array(z.number().int().positive()).parse(JSON.parse(raw)));
    } catch (err) {
      this.#log.error({ err }, `meta ${RECHECK_META_KEY} is not a list of batch ids; ignored`);
      return new Set();
    }
  }

  /**
   * `fn(...args)` of CarbonCredits as an eth_call from this account at the latest block: `send`
   * (with the grams a shortfall would charge), `final` when it reverts for a reason that stays, and
   * for the same one at the block `chain.confirmations` deep (confirmedBlock), `shallow` when it
   * does so at the latest block only, `later` for a reason that may change, `halt` when
   * CarbonCredits is paused (every other call would revert too). Each eth_call is counted in
   * `ctx.asked`. An RPC failure of the call at the latest block throws; one of the call deep falls
   * back to a rule that needs no state of past blocks (#unservedDeep).
   *
   * Only a final answer is read again deep: it alone settles the batch for good, and one caused by
   * a transaction of someone else (the period recorded, issued) that a reorg takes back would leave
   * the period unrecorded for ever. The others conclude nothing that a reorg could make wrong:
   * `send` leads to a transaction, which runs at the head whatever the call saw and is followed to
   * `chain.confirmations` deep before its batch is asked again (#follow); `later` and `halt` only
   * leave the batch to ask at a later pass.
   */
  async #ask(
    fn: "recordShortfall" | "recordCorrection",
    attestationId: string,
    args: readonly unknown[],
    ctx: PassContext,
  ): Promise<{ kind: "send"; excessGrams: bigint } | { kind: "final" | "shallow" | "later" | "halt" }> {
    const confirmations = this.#common.config.chain.confirmations;
    const key = `${fn}:${attestationId.toLowerCase()}`;
    // a final answer waiting on the fallback rule: the head read before the call, which then sees
    // this block or a later one (read after, the head may have moved past the block it saw)
    const headBefore = confirmations > 1 && this.#finalSince.has(key) ? await this.#chain.blockNumber() : null;
    const answer = await this.#call(fn, args, ctx);
    if (answer.kind !== "final" || confirmations <= 1) {
      this.#finalSince.delete(key); // no longer final: its wait, if it comes back, starts over
      return answer;
    }
    // read after the call: the block it saw is this one or an earlier one
    const head = await this.#chain.blockNumber();
    const at = confirmedBlock(head, confirmations);
    // an error that is not a revert of CarbonCredits (#call throws only then): the RPC node did not
    // answer at that depth. The exact read stays the first asked at every pass: it may answer later
    const deep = await this.#call(fn, args, ctx, at).catch((err: unknown) => {
      // no answer at all (unreachable, timed out, HTTP 429 or 5xx, a rate limit): a passing
      // failure to ask, as one at the latest block is; the pass fails and is retried, not taken
      // for a node that keeps no state that deep
      if (noAnswer(err)) throw err;
      return { kind: "unserved" as const, err };
    });
    if (deep.kind === "unserved")
      return this.#unservedDeep({ key, fn, reason: answer.reason, head, headBefore, at, err: deep.err });
    // the same revert, not any final one: there another may mean only that the block is too early
    // (UnknownAttestation: the attestation not that deep, when the batch was confirmed at fewer
    // confirmations before a restart). The two agree once the block read deep reaches the state
    // the latest one showed
    if (deep.kind === "final" && deep.reason === answer.reason) {
      this.#finalSince.delete(key);
      return deep;
    }
    this.#log.debug(
      { fn, reason: answer.reason, block: Number(at), deep: deep.kind },
      `${fn} would revert at the latest block but not ${confirmations} blocks deep; asked again at a later pass`,
    );
    return { kind: "shallow" };
  }

  /**
   * The answer of {@link #ask} when the RPC node failed the call `chain.confirmations` deep: a
   * pruned node keeps the state of recent blocks only (geth's full node about 128: fewer than a
   * `chain.confirmations` of 256, as a chain that reorgs deep like Polygon may be given), a provider
   * may cap historical eth_calls, and
   * a block before CarbonCredits was deployed answers no data. Throwing would fail the pass, and
   * every pass after it (the batch is the first asked again): the recorder would record nothing
   * more. Instead the final answer `reason` settles the batch once the latest block gives it
   * again at a later pass whose head, read before its call, is `chain.confirmations` - 1 blocks
   * past the head at which it was first given (#finalSince): the transaction behind it (someone
   * else's record, an issuance) was mined by then, so as deep as a confirmed batch. Until then
   * `shallow`, asked again. Weaker than the exact read: a reorg that takes that transaction back
   * and mines it again later between two passes is not seen.
   */
  #unservedDeep(o: {
    key: string;
    fn: "recordShortfall" | "recordCorrection";
    reason: string;
    head: bigint;
    headBefore: bigint | null;
    at: bigint;
    err: unknown;
  }): { kind: "final"; reason: string } | { kind: "shallow" } {
    const confirmations = this.#common.config.chain.confirmations;
    if (!warnedUnservedDeep) {
      warnedUnservedDeep = true;
      this.#log.warn(
        // the RPC node's own words (viem's details), scrubbed, not the whole error: that quotes the
        // URL (a key in it), the request and the contract's ABI
        {
          fn: o.fn,
          block: Number(o.at),
          head: Number(o.head),
          confirmations,
          error: this.#common.scrub(
            (o.err instanceof BaseError ? o.err.details || o.err.shortMessage : String(o.err)).split("\n")[0]!,
          ),
        },
        `the RPC node (chain.rpcUrl) did not answer an eth_call ${confirmations - 1} blocks below the head ` +
          `(chain.confirmations ${confirmations}): a pruned node keeps recent state only, some providers cap ` +
          `historical calls, and a block before CarbonCredits was deployed has no code. Meanwhile a batch whose ` +
          `recordShortfall or recordCorrection reverts for good (recorded or issued already, by someone else) is ` +
          `settled once the latest block still says so ${confirmations - 1} blocks later, without reading the ` +
          `state that deep; for the exact check use an archive RPC node, or lower chain.confirmations to a depth ` +
          `the node serves`,
      );
    }
    const since = this.#finalSince.get(o.key);
    if (
      since !== undefined &&
      since.reason === o.reason &&
      o.headBefore !== null &&
      o.headBefore >= since.head + BigInt(confirmations - 1)
    ) {
      this.#finalSince.delete(o.key);
      return { kind: "final", reason: o.reason };
    }
    if (since === undefined || since.reason !== o.reason) {
      // another reason is another transaction behind it: its wait starts now
      this.#finalSince.delete(o.key);
      if (this.#finalSince.size >= MAX_RECHECK) this.#finalSince.delete(this.#finalSince.keys().next().value!);
      this.#finalSince.set(o.key, { head: o.head, reason: o.reason });
    }
    this.#log.debug(
      { fn: o.fn, reason: o.reason, block: Number(o.at), firstAt: Number(this.#finalSince.get(o.key)!.head) },
      `${o.fn} would revert at the latest block, which the RPC node cannot check ${confirmations} blocks deep; asked again at a later pass`,
    );
    return { kind: "shallow" };
  }

  /** One eth_call of {@link #ask}, at `blockNumber` (absent: the latest block). */
  async #call(
    fn: "recordShortfall" | "recordCorrection",
    args: readonly unknown[],
    ctx: PassContext,
    blockNumber?: bigint,
  ): Promise<{ kind: "send"; excessGrams: bigint } | { kind: "final"; reason: string } | { kind: "later" | "halt" }> {
    ctx.asked++;
    try {
      const result = (await this.#chain.client.readContract({
        address: this.#credits,
        abi: carbonCreditsAbi,
        functionName: fn,
        args,
        account: this.#chain.signerAddress,
        ...(blockNumber === undefined ? {} : { blockNumber }),
      } as never)) as unknown;
      return { kind: "send", excessGrams: Array.isArray(result) ? (result[1] as bigint) : 0n };
    } catch (err) {
      const name = revertName(err, carbonCreditsAbi);
      if (name === null) throw err; // not an answer of the contract: the RPC; the pass is retried
      if (FINAL_REVERTS.has(name)) return { kind: "final", reason: name };
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
      // capped as the pipeline caps a batch's first signing: a fee spike now is no reason to bid past the cap
      const tx = await chain.prepareCall(this.#credits, data as Hex, nonce, feeCapOf(this.#common.config));
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

  /**
   * Follows the pending transaction; true once it is settled: mined `chain.confirmations` deep
   * (counted as the pipeline counts a batch's, from the receipt read again at each pass: one a
   * reorg took back is gone, one mined again elsewhere counts from its new block), or its nonce
   * used by another transaction. Until then it stays pending (persisted, its nonce held): a
   * receipt that a reorg takes back leaves it unmined, re-broadcast and bumped as before.
   */
  async #follow(p: Pending): Promise<boolean> {
    const chain = this.#chain;
    const fn = p.kind === "shortfall" ? "recordShortfall" : "recordCorrection";
    const mined = await this.#mined(p);
    if (mined) {
      const { hash, rc } = mined;
      const head = await chain.blockNumber();
      // not deep enough: neither re-broadcast (it is mined) nor bumped; asked again at the next pass
      if (!isDeepEnough(head, rc.blockNumber, this.#common.config.chain.confirmations)) return false;
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
        // its batch is asked again at the next pass: a shortfall's then settles, and a correction's
        // period is asked
      }
      // reverted: recorded by someone else first (or issued meanwhile); the next pass asks again
      else this.#log.warn({ attestation: p.attestationId, tx: hash }, `${fn} reverted; asked again`);
      this.#setPending(null);
      return true;
    }
    const { latest } = await chain.nonces();
    if (latest > p.nonce) {
      // mined since its receipts were read (the nonce is read after them): its confirmations are
      // counted at the next pass, as the pipeline does, rather than its batch asked at once
      if (await this.#mined(p)) return false;
      // another transaction of ours took the nonce (a batch's, after the RPC node lost this one)
      this.#log.warn(
        { attestation: p.attestationId, nonce: p.nonce },
        `${fn}'s nonce used by another transaction; asked again`,
      );
      this.#setPending(null);
      return true;
    }
    const now = this.#common.clock.nowMs();
    // bumped as the pipeline bumps a batch's (#bump): only when it is the next to be mined (behind a
    // lower nonce the chain has not taken, more fees would buy nothing), up to the fee cap, and the
    // new copy kept as the one to follow only once the RPC node took it
    if (now - p.sentAtMs >= this.#common.config.chain.gasBumpAfterMs && latest === p.nonce) {
      let tx: { hash: Hex; raw: Hex; cappedAt?: bigint } | null = null;
      try {
        tx = await chain.prepareReplacement(p.raw as Hex, feeCapOf(this.#common.config));
      } catch (err) {
        if ((err as { code?: string }).code !== FEE_CAP_REACHED) throw err;
        this.#log.warn(
          { attestation: p.attestationId, nonce: p.nonce, err: (err as Error).message },
          `${fn} gas bump capped: the transaction already bids the fee cap`,
        );
        this.#setPending({ ...p, sentAtMs: now }); // not tried again for gasBumpAfterMs
      }
      if (tx) {
        if (tx.cappedAt !== undefined)
          this.#log.warn(
            { attestation: p.attestationId, tx: tx.hash, maxFeePerGas: tx.cappedAt.toString() },
            `${fn} gas bump capped`,
          );
        // its hash is followed from before the broadcast (once sent it may be mined)
        const hashes = [...p.hashes, tx.hash];
        this.#setPending({ ...p, hashes });
        try {
          await chain.broadcast(tx.raw);
        } catch (refused) {
          // refused (insufficient funds, the node's own cap): the copy it took is sent again
          this.#log.warn(
            { attestation: p.attestationId, tx: tx.hash, err: (refused as Error).message },
            `${fn} gas bump refused by the RPC node; the accepted copy is sent again`,
          );
          await chain.broadcast(p.raw as Hex);
          return false;
        }
        this.#setPending({ ...p, hashes, raw: tx.raw, sentAtMs: now });
        this.#log.warn(
          { attestation: p.attestationId, tx: tx.hash, nonce: p.nonce },
          `${fn} gas bumped and re-broadcast`,
        );
        return false;
      }
    }
    await chain.broadcast(p.raw as Hex); // the RPC node may have lost it: the same bytes are harmless
    return false;
  }

  /** The receipt of whichever copy of `p` (its first signing, or a bump) is mined, null while none is. */
  async #mined(p: Pending): Promise<{ hash: Hex; rc: TxReceipt } | null> {
    for (const hash of p.hashes) {
      const rc = await this.#chain.receipt(hash as Hex);
      if (rc) return { hash: hash as Hex, rc };
    }
    return null;
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
