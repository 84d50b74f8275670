import type { Logger } from "pino";
import { collectCosignatures } from "../quorum/cosign.ts";
import { QUORUM_REFUSALS, submitRevertName } from "../chain/revert.ts";
import {
  bundleCid,
  bundleHeader,
  canonicalJson,
  checkBundle,
  decodeBundle,
  defaultSignatureVerifier,
  hashBatchHeader,
  hexToBytes,
  packQuorumSignatures,
  type BatchHeader,
  type Hex,
} from "../../../sdk/src/index.ts";
import type { Common } from "../common.ts";
import type { EmissionsCalculator } from "../compute/emissions.ts";
import { CorruptBlockError, IpfsError, type ContentStore } from "../ipfs/store.ts";
import type { Batch, BatchState, NewReading, SetAside, Storage } from "../storage/types.ts";
import {
  DEVICE_SYNC_WAIT_MS,
  inactiveAt,
  keysValidAt,
  periodSyncMs,
  type DeviceDirectory,
} from "../devices/directory.ts";
import { awaitsAdoption, holdsLaterBatches } from "../storage/types.ts";
import { headerFromJson, headerToJson } from "./bundle.ts";
import { InlineBundleBuilder, type BundleBuilder } from "./bundle-builder.ts";
import { crashPoint } from "./crash.ts";
import { limiter } from "../../../sdk/src/verify/cache.ts";

export { headerFromJson, headerToJson };

export type Address = `0x${string}`;

/**
 * The batch state writes (`Storage`'s own, or the ingest writer thread's, `IngestWriter`, which
 * keeps them from waiting on SQLite's write lock on the main thread while readings commit).
 */
export type BatchWrites =
  Pick<Storage, "sealDue" | "transition" | "patchBatch" | "adoptAttestation" | "setAside"> | BatchWritesAsync;
type BatchWritesAsync = {
  [K in "sealDue" | "transition" | "patchBatch" | "adoptAttestation" | "setAside"]: (
    ...args: Parameters<Storage[K]>
  ) => Promise<ReturnType<Storage[K]>>;
};
/**
 * The most a transaction may bid per gas: `chain.maxFeePerGas` (wei), or, null, a multiple of the
 * RPC node's current estimate (chain/viem.ts `FEE_CAP_ESTIMATE_MULTIPLE`) for a replacement.
 */
export type FeeCap = { maxFeePerGas: bigint | null };

/**
 * Whether what was mined in block `minedAt` has `confirmations` confirmations at `head`, its own
 * block counted: a batch's transaction, a shortfall's, an attestation found by its event.
 */
export function isDeepEnough(head: bigint, minedAt: bigint, confirmations: number): boolean {
  return head - minedAt + 1n >= BigInt(confirmations);
}

/**
 * The newest block `confirmations` deep at `head` (its own block counted; 0 near the chain's
 * start): where the node reads what a reorg must not take back (the registry's frontier, events).
 */
export function confirmedBlock(head: bigint, confirmations: number): bigint {
  const deep = BigInt(Math.max(confirmations - 1, 0));
  return head > deep ? head - deep : 0n;
}

/** The fee cap of `config`: `chain.maxFeePerGas`, or null (the chain port's multiple of its current estimate). */
export function feeCapOf(config: { chain: { maxFeePerGas?: string | number | bigint | undefined } }): FeeCap {
  const max = config.chain.maxFeePerGas;
  return { maxFeePerGas: max === undefined ? null : BigInt(max) };
}

/** The code of the error `broadcast` throws when the RPC node keeps another transaction at the nonce, bidding as much. */
export const REPLACEMENT_UNDERPRICED = "REPLACEMENT_UNDERPRICED";

/**
 * Refusals of a `submitted` batch's stored transaction (its `attempts`) after which, while the RPC
 * node does not know it and its nonce is not taken, the call is signed again at current fees.
 */
export const RESIGN_AFTER_REFUSALS = 3;

/**
 * A step's failure after it moved its batch on (`#send`: the first broadcast refused once the
 * batch was stored as `submitted`): the retry is recorded on that state.
 */
class FailedIn extends Error {
  readonly state: Batch["state"];
  constructor(state: Batch["state"], cause: unknown) {
    super(cause instanceof Error ? cause.message : String(cause), { cause });
    this.state = state;
  }
}

/** The code of the error `prepareReplacement` throws when no replacement under the fee cap outbids the transaction. */
export const FEE_CAP_REACHED = "FEE_CAP_REACHED";

/** `from`: the account that sent the transaction (a batch may list several accounts' after a key rotation). */
export type TxReceipt = { status: "success" | "reverted"; blockNumber: bigint; from: Address };

/**
 * How `error` starts on a `submitted` batch whose transaction, of a previous key, the RPC node did
 * not know at its last look; `nextAttemptAtMs` is then when it is handed over unless it reappears.
 */
export const UNKNOWN_TO_RPC = "transaction of a previous key unknown to the RPC node";

/** Attempts of a batch at looking for the attestation of its period (`#adopt`) before it fails. */
const ADOPT_ATTEMPTS = 5;

/**
 * A search of the IPFS network for the bundle of the attestation a batch would be taken as the
 * record of (`#adopt`). It runs beside the pipeline's ticks, which would otherwise wait for it (up
 * to `ipfs.timeoutMs`) before sealing, pinning or following anything else; the batch is asked
 * again every `SEARCH_POLL_MS` meanwhile, without counting attempts, and takes its outcome. At most
 * `ipfs.networkSearches` run at once; the others wait for a slot, first come first served.
 */
type BundleSearch = {
  cid: string;
  /** waiting for one of the `ipfs.networkSearches` slots: not yet asked of the store */
  waiting: boolean;
  /** settles once `outcome` is set (never rejects) */
  done: Promise<void>;
  outcome?: SearchOutcome;
};
/** The bytes (or why they are not the block); not found within its time; or why it could not look. */
type SearchOutcome = { bytes: Uint8Array | string } | { notFound: true } | { error: unknown };

/** Device lookups in flight at once while a batch is checked before pinning (`#screen`). */
const DEVICE_LOOKUPS_AT_ONCE = 16;

/**
 * How long after a key rotation a reading may have been accepted under the key it replaced (the
 * node not knowing of it yet), on top of `devices.cacheTtlMs`: the directory drops a device on its
 * events, read every `chain.pollMs`, and no later than the TTL.
 */
const KEY_ROTATION_LAG_MS = 60_000;

/** How often a batch whose bundle search runs is asked again. */
const SEARCH_POLL_MS = 1_000;

/** Unfinished batches read a page at a time by each tick (`#unfinished`). */
export const TICK_PAGE = 2_000;

/** Thrown by `#adopt` while its batch's bundle search runs: asked again shortly, not an attempt. */
class BundleSearchUnderway extends Error {}

/**
 * What the pipeline needs from the chain (chain/viem.ts implements it over JSON-RPC).
 * Transactions are prepared (signed locally) and persisted before they are broadcast, so a
 * crash between the two is healed by re-broadcasting the same bytes.
 */
export interface ChainPort {
  readonly domain: { chainId: number; verifyingContract: Address };
  readonly signerAddress: Address;
  signHeader(header: BatchHeader): Promise<Hex>;
  /** The OracleSet's k (signatures a header needs); absent: 1. */
  threshold?(): Promise<number>;
  /** Whether an address is an active node of the OracleSet (co-signers are checked before submission). */
  isActiveOracle?(address: Address): Promise<boolean>;
  /** Whether the registry holds `attestationId` (at `blockNumber`, default the latest block). */
  exists(attestationId: Hex, blockNumber?: bigint): Promise<boolean>;
  /**
   * The registry's `attestedUntil(facilityId)` (unix s) at `blockNumber` (default the latest
   * block): where the facility's next regular batch must start.
   */
  attestedUntil?(facilityId: Hex, blockNumber?: bigint): Promise<bigint>;
  /**
   * The transaction and block that attested `attestationId` (the registry's `AttestationSubmitted`
   * event), or null when the event is not found.
   */
  attestedIn(attestationId: Hex): Promise<{ txHash: Hex; blockNumber: bigint } | null>;
  /**
   * The regular attestation of `facilityId` whose period holds `periodStart` (its
   * `AttestationSubmitted` event, looked for from the first block stamped at or after
   * `periodStart`: none can be earlier), or null when none is found. `signal`: once aborted, no
   * further call is made (the search throws its reason).
   */
  findRegularAttestation?(
    facilityId: Hex,
    periodStart: bigint,
    signal?: AbortSignal,
  ): Promise<{ id: Hex; header: BatchHeader; txHash: Hex; blockNumber: bigint; revoked: boolean } | null>;
  /**
   * Signs (does not send) `submit`, or `submitCorrection` when `original` is given; at the node's
   * fee estimate, or `cap.maxFeePerGas` when that is lower.
   */
  prepareSubmit(
    header: BatchHeader,
    signatures: Hex,
    nonce: number,
    original?: BatchHeader,
    cap?: FeeCap,
  ): Promise<{ hash: Hex; raw: Hex }>;
  /**
   * Signs (does not send) a call of `data` on `to` at `nonce` (gas estimated, fees from the node,
   * never past `cap.maxFeePerGas` when given): the node's other transactions
   * (CarbonCredits.recordShortfall, credits/shortfalls.ts).
   */
  prepareCall?(to: Address, data: Hex, nonce: number, cap?: FeeCap): Promise<{ hash: Hex; raw: Hex }>;
  /**
   * Signs (does not send) a replacement of `raw`: same nonce and call, fees raised over raw's own.
   * With `cap`, never past it (`cappedAt`: the fee cap that held the bid back); when no replacement
   * under it outbids raw's fees enough for a node to take it, throws an error with code
   * {@link FEE_CAP_REACHED}.
   */
  prepareReplacement(raw: Hex, cap?: FeeCap): Promise<{ hash: Hex; raw: Hex; cappedAt?: bigint }>;
  /**
   * Signs (does not send) `raw`'s call again at its nonce and gas limit, at the node's current fee
   * estimate (or `cap.maxFeePerGas` when lower): for a transaction the RPC node keeps refusing.
   */
  prepareResend?(raw: Hex, cap?: FeeCap): Promise<{ hash: Hex; raw: Hex }>;
  broadcast(raw: Hex): Promise<void>;
  receipt(hash: Hex): Promise<TxReceipt | null>;
  /** Why mined transaction `hash` reverted in block `blockNumber` (its call run again there), null when it cannot tell. */
  revertReason?(hash: Hex, blockNumber: bigint): Promise<string | null>;
  /** The account that signed `raw` (recovered from its signature). */
  senderOf(raw: Hex): Promise<Address>;
  /** Whether the RPC node knows the transaction: in its mempool or mined. */
  isKnown(hash: Hex): Promise<boolean>;
  blockNumber(): Promise<bigint>;
  /** Transaction counts of `address` (default: `signerAddress`) at the latest block and pending. */
  nonces(address?: Address): Promise<{ latest: number; pending: number }>;
}

/**
 * Drives every batch through open → sealed → pinned → signed → submitted → confirmed (or
 * failed with a reason). Each step reads its input from storage and ends in one idempotent
 * transition, so a node killed at any point resumes where storage says it was.
 */
export class BatchPipeline {
  readonly #common: Common;
  readonly #log: Logger;
  readonly #storage: Storage;
  readonly #content: ContentStore | null;
  /** errors the content store threw (`#tagFailures`): a failed step counts as an IPFS failure when its error is one, or was caused by one */
  readonly #ipfsErrors = new WeakSet<object>();
  readonly #calculator: EmissionsCalculator;
  readonly #chain: ChainPort | null;
  readonly #bundles: BundleBuilder;
  readonly #writes: BatchWrites;
  readonly #devices: DeviceDirectory | null;
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<void> | null = null;
  #stopped = false;
  /** aborted by {@link stop}: ends a search of the IPFS network at once, and one of the registry's events at its next call */
  readonly #stopping = new AbortController();
  /** batch id → its bundle's search of the IPFS network (`#searchNetwork`), until the batch takes the outcome */
  readonly #searches = new Map<number, BundleSearch>();
  /** searches of the IPFS network running: at most `ipfs.networkSearches` */
  #searchesRunning = 0;
  /** the searches waiting for a slot, in order: each is woken to run (true), or by the stop (false) */
  readonly #searchSlots: ((run: boolean) => void)[] = [];
  #nextNonce: number | null = null;
  #lock: Promise<void> = Promise.resolve();
  #lastError: string | null = null;
  #lastTickOkMs = 0;
  /** every `submitted` batch stored without its sender has had it read from its raw transaction */
  #sendersKnown = false;
  /** batch id → when its gas may be bumped again, after the fee cap left nothing to bump (`#bump`) */
  readonly #bumpHeldUntil = new Map<number, number>();
  /** attestation id → the transaction found attesting it (`#attestingTx`), until its batch is confirmed */
  readonly #attesting = new Map<string, Hex>();

  /** the nonce of a transaction of this account sent outside the pipeline and not yet mined */
  #otherInFlight: () => number | null = () => null;

  constructor(deps: {
    common: Common;
    storage: Storage;
    content: ContentStore | null;
    calculator: EmissionsCalculator;
    chain: ChainPort | null;
    /** where bundles are built (default: on this thread, `InlineBundleBuilder`) */
    bundles?: BundleBuilder;
    /** where batch state is written (default: `storage`) */
    writes?: BatchWrites;
    /**
     * the devices, as ingest reads them: a batch's readings are checked against them again before
     * it is pinned when they change behind the node's back (`syncedAfter`: the DeviceRegistry)
     */
    devices?: DeviceDirectory;
  }) {
    this.#common = deps.common;
    this.#log = deps.common.logger.child({ part: "batch" });
    this.#storage = deps.storage;
    this.#content = deps.content && this.#tagFailures(deps.content);
    this.#calculator = deps.calculator;
    this.#chain = deps.chain;
    this.#bundles = deps.bundles ?? new InlineBundleBuilder(deps.storage, deps.calculator);
    this.#writes = deps.writes ?? deps.storage;
    this.#devices = deps.devices ?? null;
  }

  start(): void {
    const loop = () => {
      if (this.#stopped) return;
      this.#running = this.tick()
        .catch((err: unknown) => this.#log.error({ err }, "pipeline tick failed"))
        .finally(() => {
          this.#running = null;
          if (!this.#stopped) this.#timer = setTimeout(loop, this.#common.config.batching.tickMs);
        });
    };
    this.#timer = setTimeout(loop, 0);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#stopping.abort(new Error("the node is stopping"));
    // a search waiting for a slot ends at once too, never started
    for (const wake of this.#searchSlots.splice(0)) wake(false);
    if (this.#timer) clearTimeout(this.#timer);
    await this.#running;
    // aborted above: they settle at once
    await Promise.all([...this.#searches.values()].map((search) => search.done));
    await this.#bundles.close();
  }

  healthy(): boolean {
    return !this.#stopped;
  }
  get lastError(): string | null {
    return this.#lastError;
  }
  /** Clock time at which the last completed tick started: every batch due then was advanced after it. */
  get lastTickOkMs(): number {
    return this.#lastTickOkMs;
  }

  /** One pass: seal due windows, then advance every unfinished batch as far as it goes. */
  async tick(): Promise<void> {
    const now = this.#common.clock.nowMs();
    const sealed = await this.#writes.sealDue(now, this.#common.config.batching.graceS);
    for (const id of sealed) this.#log.info({ batch: id }, "batch sealed");
    if (sealed.length) crashPoint("sealed");
    if (this.#chain && !this.#sendersKnown) await this.#recordSenders(this.#chain);
    const work = this.#unfinished();
    // a search whose batch moved on meanwhile (abandoned, confirmed otherwise): its outcome goes unused
    for (const [id, search] of this.#searches)
      if (search.outcome && !work.some((w) => w.id === id && w.state === "signed")) this.#searches.delete(id);
    for (const id of this.#bumpHeldUntil.keys())
      if (!work.some((w) => w.id === id && w.state === "submitted")) this.#bumpHeldUntil.delete(id);
    // facilities advance concurrently (IPFS and RPC round trips overlap); within a facility, in
    // period order. Nonces are handed out under #serial, so concurrency never reuses one.
    const byFacility = new Map<string, Batch[]>();
    for (const b of work) {
      const list = byFacility.get(b.facilityId);
      if (list) list.push(b);
      else byFacility.set(b.facilityId, [b]);
    }
    await Promise.all(
      [...byFacility.values()].map(async (batches) => {
        for (const b of batches) {
          if (this.#stopped) return;
          if (b.nextAttemptAtMs > now) continue;
          await this.#advance(b);
        }
      }),
    );
    this.#lastTickOkMs = now;
  }

  /**
   * Every unfinished batch (sealed to submitted), in period order, read page by page: the batches a
   * failed one holds back (`#blockedByEarlier`) pile up while nobody retries or abandons it, and a
   * single capped read would then leave other facilities' later batches unread, and unattested.
   */
  #unfinished(): Batch[] {
    const work: Batch[] = [];
    const states: BatchState[] = ["sealed", "pinned", "signed", "submitted"];
    for (let after: { periodStart: number; id: number } | undefined; ;) {
      const page = this.#storage.listBatches({ states, limit: TICK_PAGE, ...(after ? { after } : {}) });
      for (const b of page) work.push(b);
      if (page.length < TICK_PAGE) return work;
      const last = page[page.length - 1]!;
      after = { periodStart: last.periodStart, id: last.id };
    }
  }

  async #advance(start: Batch): Promise<void> {
    let b: Batch | null = start;
    // keep going while each step succeeds, so one tick can take a batch from sealed to submitted
    for (let guard = 0; b && guard < 6 && !this.#stopped; guard++) {
      const before = b.state;
      try {
        switch (b.state) {
          case "sealed":
            await this.#pin(b);
            break;
          case "pinned":
            if (!this.#chain) return;
            await this.#sign(b);
            break;
          case "signed":
            if (!this.#chain) return;
            if (!(await this.#submit(b))) return;
            break;
          case "submitted":
            await this.#follow(b);
            break;
          default:
            return;
        }
      } catch (err) {
        // a step the stop cut short (a search of the IPFS network) is not a failure of the batch
        if (this.#stopped) return;
        if (err instanceof BundleSearchUnderway) {
          // not a failure either: asked again soon, its attempts as they were
          await this.#writes.patchBatch(b.id, b.state, {
            nextAttemptAtMs: this.#common.clock.nowMs() + SEARCH_POLL_MS,
            error: err.message,
          });
          return;
        }
        if (err instanceof FailedIn) await this.#retryLater({ ...b, state: err.state, attempts: 0 }, err.cause);
        else await this.#retryLater(b, err);
        return;
      }
      b = this.#storage.getBatch(b.id);
      if (!b || b.state === before) return;
    }
  }

  /**
   * Batches submitted before senders were stored (schema 4) get theirs from the raw transaction's
   * signature, before anything is sent: a new nonce must not count those of another account.
   */
  async #recordSenders(chain: ChainPort): Promise<void> {
    for (const b of this.#storage.listBatches({ states: ["submitted"], limit: 1_000_000 })) {
      if (b.txFrom !== null || !b.txRaw) continue;
      let txFrom: Address;
      try {
        txFrom = await chain.senderOf(b.txRaw as Hex);
      } catch (err) {
        // left without a sender, the batch is followed as this account's, as before schema 4
        const error = this.#common.scrub(
          `cannot read the sender of stored transaction ${b.txHash}: ${(err as Error).message}`,
        );
        await this.#writes.patchBatch(b.id, "submitted", { error });
        this.#log.error({ batch: b.id, tx: b.txHash, err }, "sender of a stored transaction unreadable");
        continue;
      }
      await this.#writes.patchBatch(b.id, "submitted", { txFrom });
      this.#log.info({ batch: b.id, tx: b.txHash, from: txFrom }, "sender of a stored transaction recorded");
    }
    this.#sendersKnown = true;
  }

  async #retryLater(b: Batch, err: unknown): Promise<void> {
    const cfg = this.#common.config.batching;
    const attempts = b.attempts + 1;
    const delay = Math.min(cfg.retryBaseMs * 2 ** Math.min(attempts - 1, 20), cfg.retryMaxMs);
    // public on GET /v1/batches and /v1/status: a URL holding a key is not (common.scrub)
    const message = this.#common.scrub(err instanceof Error ? err.message : String(err));
    this.#lastError = message;
    await this.#writes.patchBatch(b.id, b.state, {
      attempts,
      nextAttemptAtMs: this.#common.clock.nowMs() + delay,
      error: message,
    });
    // by what failed, not by the batch's state (review: the registry out of reach while a batch was
    // `sealed` counted as IPFS failures, and an adoption's IPFS read in `signed` as chain ones)
    if (this.#fromIpfs(err)) this.#common.metrics.ipfsFailures.inc();
    else this.#common.metrics.chainFailures.inc();
    this.#log.warn(
      { batch: b.id, state: b.state, attempts, retryInMs: delay, err: message },
      "batch step failed; will retry",
    );
  }

  /** `store` with every error its calls throw remembered in `#ipfsErrors`. */
  #tagFailures(store: ContentStore): ContentStore {
    const tagged = this.#ipfsErrors;
    return new Proxy(store, {
      get(target, key) {
        const value: unknown = Reflect.get(target, key, target);
        if (typeof value !== "function") return value;
        return (...args: unknown[]) => {
          try {
            const out = (value as (...a: unknown[]) => unknown).apply(target, args);
            return out instanceof Promise
              ? out.catch((err: unknown) => {
                  if (typeof err === "object" && err !== null) tagged.add(err);
                  throw err;
                })
              : out;
          } catch (err) {
            if (typeof err === "object" && err !== null) tagged.add(err);
            throw err;
          }
        };
      },
    });
  }

  /** Whether `err`, or an error it was caused by, came from the content store (an IPFS failure). */
  #fromIpfs(err: unknown): boolean {
    for (
      let e = err, depth = 0;
      typeof e === "object" && e !== null && depth < 8;
      e = (e as { cause?: unknown }).cause, depth++
    ) {
      if (this.#ipfsErrors.has(e) || e instanceof IpfsError || e instanceof CorruptBlockError) return true;
    }
    return false;
  }

  /** sealed → pinned: evidence bundle (sdk) with Merkle root and totals, pinned to IPFS; header fixed. */
  async #pin(b: Batch): Promise<void> {
    if (!this.#content) throw new Error("no IPFS content store configured");
    let correctionOf: Hex | undefined;
    if (b.correctionOfBatch !== null) {
      const regular = this.#storage.getBatch(b.correctionOfBatch);
      if (!regular?.attestationId) {
        throw new Error(`correction ${b.id}: regular batch ${b.correctionOfBatch} has no attestation id yet`);
      }
      correctionOf = regular.attestationId as Hex;
    }
    if (!(await this.#screen(b))) return; // its readings all set aside: it failed
    const built = await this.#bundles.build(b, correctionOf);
    if (!built) {
      await this.#writes.transition(b.id, ["sealed"], "failed", { error: "empty batch: never attested" });
      return;
    }
    if (correctionOf !== undefined && !(await this.#sameMethodology(b, built.methodologyId))) return;
    const end = this.#common.metrics.ipfsSeconds.startTimer();
    const pinned = await this.#content.addAndPin(built.bytes, {
      signal: AbortSignal.timeout(this.#common.config.ipfs.timeoutMs),
    });
    end();
    if (pinned !== built.cid) throw new Error(`IPFS returned CID ${pinned} for a bundle whose CID is ${built.cid}`);
    const ok = await this.#writes.transition(b.id, ["sealed"], "pinned", {
      readingCount: built.readingCount,
      merkleRoot: built.root,
      fossilCo2eGrams: built.fossilCo2eGrams,
      biogenicCo2Grams: built.biogenicCo2Grams,
      methodologyId: built.methodologyId,
      factorSetId: built.factorSetId,
      bundleCid: built.cid,
      headerJson: built.headerJson,
      attempts: 0,
      nextAttemptAtMs: 0,
      error: null,
    });
    if (ok) {
      this.#log.info({ batch: b.id, cid: built.cid, readings: built.readingCount, root: built.root }, "batch pinned");
      crashPoint("pinned");
    }
  }

  /**
   * A correction is attested only with its original's methodology (the registry reverts
   * `AttestationRegistryMethodologyMismatch`: CarbonCredits scopes a project by facility and
   * methodology). Ingest sends no reading to a correction of a period pinned with another one;
   * readings taken into an open correction before the node was upgraded to a new methodology are
   * set aside here ("too-late", a dead letter each), and the correction fails with the reason.
   * False when it did.
   */
  async #sameMethodology(b: Batch, methodologyId: Hex): Promise<boolean> {
    const original = this.#original(b)!;
    if (original.methodologyId.toLowerCase() === methodologyId.toLowerCase()) return true;
    const detail = `its period was attested with methodology ${original.methodologyId} (batch ${b.correctionOfBatch}); this node computes with ${methodologyId}, and a correction keeps its original's methodology`;
    const aside = this.#storage
      .readingsOfBatch(b.id)
      .map((r): SetAside => ({ digest: r.digest, reason: "too-late", detail }));
    const error = `correction ${b.id}: ${aside.length} reading(s) set aside: ${detail}`;
    if ((await this.#writes.setAside(b.id, ["sealed"], aside, error, this.#common.clock.nowMs())) === null)
      throw new Error(`batch ${b.id} left \`sealed\` while its methodology was checked`);
    for (const a of aside) this.#common.metrics.readingsSetAside.inc({ reason: a.reason });
    this.#log.warn({ batch: b.id, readings: aside.length, methodology: methodologyId }, error);
    return false;
  }

  /**
   * Before a sealed batch's bundle is built: its readings checked again against the devices'
   * records as the DeviceRegistry has them now. Ingest checks each reading against the record it
   * has cached, and learns of a suspension, a retirement or a key rotation from the registry's
   * events, read every `chain.pollMs`: a reading stamped after such a change but accepted before
   * the node read it would be refused by every co-signer (their review checks the device's status
   * and key at each reading's time), so the batch would wait in `pinned` for good, and with no
   * co-signer the auditor's verifier would fail its attestation. Those readings are set aside
   * (`Storage.setAside`: a failed correction of the batch's regular batch, with the reason, and a
   * dead letter each), and the batch is built from the others.
   *
   * First the directory must have read every change made before the period ended, `graceS` after
   * (a reading in it is stamped before that; a change mined later is stamped later). A device
   * whose record leaves all its readings in the batch valid costs one lookup; the others' readings
   * are read one by one, and re-verified when a key rotated after the first of them arrived.
   * False when the batch itself failed (a correction whose readings were all set aside).
   */
  async #screen(b: Batch): Promise<boolean> {
    const devices = this.#devices;
    if (!devices?.syncedAfter) return true; // a device file: ingest checked each reading with the same records
    const { batching, devices: cfg } = this.#common.config;
    const afterMs = periodSyncMs(b.periodEnd, batching.graceS);
    if (!(await devices.syncedAfter(afterMs, DEVICE_SYNC_WAIT_MS)))
      throw new Error(
        `the DeviceRegistry's events are not read up to ${new Date(afterMs).toISOString()} yet (is the RPC node out of reach?): a batch's readings are checked against them before it is pinned`,
      );
    const aside: SetAside[] = [];
    const why = new Map<string, string>();
    const spans = this.#storage.batchDevices(b.id);
    // looked up side by side: an entry past devices.cacheTtlMs is one RPC call each
    const slot = limiter(DEVICE_LOOKUPS_AT_ONCE);
    const records = await Promise.all(spans.map((span) => slot(() => devices.get(span.deviceId))));
    for (const [at, span] of spans.entries()) {
      const d = records[at] ?? null;
      const whole = !d
        ? `device ${span.deviceId} is not registered`
        : d.facilityId !== b.facilityId
          ? `device ${span.deviceId} belongs to ${d.facilityId}, not ${b.facilityId}`
          : null;
      const lagMs = cfg.cacheTtlMs + KEY_ROTATION_LAG_MS;
      // keys that became valid after the first of these readings may have arrived unknown to the node
      const rotations = d
        ? d.keys
            .slice(1)
            .filter((k) => k.validFrom <= span.maxTs && k.validFrom * 1000 + lagMs > span.firstReceivedAtMs)
        : [];
      const statusChanged =
        d !== null &&
        (inactiveAt(d, span.maxTs) !== null ||
          (d.suspensions ?? []).some((x) => x.from <= span.maxTs && x.until > span.minTs));
      if (!whole && !statusChanged && rotations.length === 0) continue;
      const readings = this.#storage.readingsOfBatchDevice(b.id, span.deviceId);
      const check: typeof readings = [];
      const before = aside.length;
      for (const r of readings) {
        const inactive = whole ?? inactiveAt(d!, r.ts);
        if (inactive)
          aside.push({ digest: r.digest, reason: d ? "device-inactive" : "unknown-device", detail: inactive });
        else if (rotations.some((k) => k.validFrom <= r.ts)) check.push(r);
      }
      if (check.length) {
        // the key valid at each reading's time now (none: the reading cannot be checked, so it is not kept)
        const keyAt = check.map((r) => keysValidAt(d!, r.ts)[0]);
        const ok = await defaultSignatureVerifier().verify(
          check.map((r, i) => ({
            message: new TextEncoder().encode(r.canonical),
            digest: hexToBytes(r.digest as Hex),
            sig: r.sig,
            publicKey: keyAt[i]?.publicKey ?? new Uint8Array(0),
          })),
        );
        check.forEach((r, i) => {
          if (ok[i] && keyAt[i]) return;
          aside.push({
            digest: r.digest,
            reason: "bad-signature",
            detail: keyAt[i]
              ? `device ${r.deviceId}'s signature is not by its key valid at ${r.ts} (rotated at ${keyAt[i].validFrom})`
              : `device ${r.deviceId} has no key valid at ${r.ts}`,
          });
        });
      }
      if (aside.length > before) why.set(span.deviceId, aside[before]!.detail);
    }
    if (!aside.length) return true;
    const reasons = [...why.values()];
    const error = `${aside.length} reading(s) set aside from batch ${b.id}, accepted before the node read the DeviceRegistry's change: ${reasons.slice(0, 5).join("; ")}${reasons.length > 5 ? `; and ${reasons.length - 5} devices more` : ""}`;
    const into = await this.#writes.setAside(b.id, ["sealed"], aside, error, this.#common.clock.nowMs());
    if (into === null) throw new Error(`batch ${b.id} left \`sealed\` while its readings were checked`);
    for (const a of aside) this.#common.metrics.readingsSetAside.inc({ reason: a.reason });
    this.#log.warn(
      { batch: b.id, into, readings: aside.length, devices: [...why.keys()] },
      "readings set aside before pinning: their devices were not valid at their time",
    );
    return into !== b.id;
  }

  /**
   * pinned → signed: EIP-712 header signed by this node's key (the id is its digest) and, when the
   * OracleSet's threshold k is above 1, by k − 1 of `quorum.peers`, each of which re-checks the
   * bundle first (quorum/cosign.ts). Too few co-signatures is a failed step: retried with backoff,
   * nothing submitted meanwhile.
   */
  async #sign(b: Batch): Promise<void> {
    const chain = this.#chain!;
    const header = headerFromJson(b.headerJson!);
    const id = hashBatchHeader(header, chain.domain);
    const signature = await chain.signHeader(header);
    const signed = [{ signer: chain.signerAddress, signature }];
    // no peers: this node can only sign alone, so signing stays local (a chain outage delays the
    // submission, not the signature); a threshold above 1 then shows as the registry's revert
    const k = this.#common.config.quorum.peers.length === 0 ? 1 : ((await chain.threshold?.()) ?? 1);
    if (k > 1) signed.push(...(await this.#cosignatures(header, signature, k - 1)));
    const packed = packQuorumSignatures(signed);
    if (
      await this.#writes.transition(b.id, ["pinned"], "signed", {
        headerJson: headerToJson(header),
        attestationId: id.toLowerCase(),
        signatures: packed,
        error: null,
      })
    ) {
      this.#log.info({ batch: b.id, attestation: id }, "batch signed");
      crashPoint("signed");
    }
  }

  async #cosignatures(
    header: BatchHeader,
    signature: Hex,
    needed: number,
  ): Promise<{ signer: Address; signature: Hex }[]> {
    const chain = this.#chain!;
    const { peers, timeoutMs } = this.#common.config.quorum;
    if (peers.length < needed) {
      throw new Error(
        `the OracleSet needs ${needed + 1} signatures of a header; quorum.peers names ${peers.length} other node(s)`,
      );
    }
    if (!this.#content) throw new Error("no IPFS content store configured");
    const bundle = await this.#content.get(header.bundleCid, { signal: AbortSignal.timeout(timeoutMs) });
    if (!bundle) throw new Error(`bundle ${header.bundleCid} is not in this node's IPFS store`);
    const { signed, problems } = await collectCosignatures({
      peers,
      header,
      bundle,
      domain: chain.domain,
      self: chain.signerAddress,
      // its own: peers co-sign only for an active node of the OracleSet
      signature,
      isActiveOracle: (a) => chain.isActiveOracle?.(a) ?? Promise.resolve(true),
      timeoutMs,
    });
    if (signed.length < needed) {
      throw new Error(`co-signatures: ${signed.length} of the ${needed} needed; ${problems.join("; ")}`);
    }
    this.#log.info({ signers: signed.map((s) => s.signer) }, "header co-signed");
    return signed.slice(0, needed);
  }

  #original(b: Batch): BatchHeader | undefined {
    if (b.correctionOfBatch === null) return undefined;
    const regular = this.#storage.getBatch(b.correctionOfBatch);
    if (!regular?.headerJson) throw new Error(`correction ${b.id}: regular batch ${b.correctionOfBatch} has no header`);
    return headerFromJson(regular.headerJson);
  }

  /**
   * Regular batches of a facility go on-chain in period order (the registry rejects one that starts
   * before its frontier). A failed one with readings holds the later ones too: once a later period
   * is attested its readings could never be, so they wait for the operator's `retry` (after the
   * cause is fixed) or `abandon` (storage `holdsLaterBatches`).
   */
  async #blockedByEarlier(b: Batch): Promise<boolean> {
    if (b.correctionOfBatch !== null) return false;
    const earlier = this.#storage
      .listBatches({ facilityId: b.facilityId, states: ["open", "sealed", "pinned", "signed", "submitted", "failed"] })
      .filter((o) => o.correctionOfBatch === null && o.periodStart < b.periodStart);
    const failed = earlier.find(holdsLaterBatches);
    if (failed) {
      const why = `waits for regular batch ${failed.id} of ${b.facilityId}, which failed (${failed.error ?? "no reason recorded"}): fix the cause, then \`carbonproof-oracle retry ${failed.id}\` (POST /v1/admin/batches/${failed.id}/retry), or \`carbonproof-oracle abandon ${failed.id}\` (POST /v1/admin/batches/${failed.id}/abandon) to attest later periods without its readings`;
      if (b.error !== why && (await this.#writes.patchBatch(b.id, b.state, { error: why }))) {
        this.#log.error(
          { batch: b.id, heldBy: failed.id },
          "batch held: an earlier regular batch of its facility failed",
        );
      }
      return true;
    }
    // one awaiting adoption has its period attested already: nothing to keep in order behind it
    return earlier.some((o) => o.state !== "failed" && !awaitsAdoption(o));
  }

  /** signed → submitted (or straight to confirmed when the attestation already exists). */
  async #submit(b: Batch): Promise<boolean> {
    // its bundle's search of the network goes on: nothing is asked of the chain meanwhile (the
    // registry's frontier, a gas estimate), and nothing that fails can count as an attempt
    const searching = this.#searches.get(b.id);
    if (searching && !searching.outcome) throw this.#searchUnderway(searching);
    const chain = this.#chain!;
    const id = b.attestationId as Hex;
    if (awaitsAdoption(b)) {
      // retried by the operator to be taken as the record of its period's attestation: never sent
      if (await chain.exists(id)) return this.#confirmAttested(chain, b, "signed", "attestation already on-chain");
      if (
        chain.attestedUntil &&
        (await chain.attestedUntil(headerFromJson(b.headerJson!).facilityId)) <= BigInt(b.periodStart)
      ) {
        // its period no longer attested past (another deployment since): signed and sent as any batch
        return this.#writes.transition(b.id, ["signed"], "pinned", {
          error: null,
          attempts: 0,
          nextAttemptAtMs: 0,
          abandonedAt: null,
        });
      }
      if (await this.#periodPast(b, chain, id)) return false;
      throw new Error(
        "waiting to be taken as the record of its period's attestation: the registry could not be read, or the search for it failed; retried",
      );
    }
    if (await this.#blockedByEarlier(b)) return false;
    if (await chain.exists(id)) {
      // submitted before a crash whose record was lost, by another node of the quorum, or by a
      // previous key's transaction mined since the handover: nothing to send
      return this.#confirmAttested(chain, b, "signed", "attestation already on-chain");
    }
    const sent = await this.#serial(() => this.#send(b, chain, id));
    if (typeof sent === "boolean") return sent;
    const refusal = submitRevertName(sent.reverted);
    if (refusal !== null && QUORUM_REFUSALS.has(refusal)) {
      // signatures that can never pass (a co-signer removed or rotated since, a threshold raised,
      // a node that signed alone with no peers configured): retried as stored, the batch would hold
      // its facility for ever. Back to `pinned`, to be signed and co-signed again, on its backoff
      const reason = this.#common.scrub(
        `the OracleSet refused the batch's signatures (${refusal}): collecting them again (${(sent.reverted as Error).message?.split("\n")[0] ?? ""})`,
      );
      if (await this.#writes.transition(b.id, ["signed"], "pinned", { signatures: null })) {
        this.#log.warn({ batch: b.id, attestation: id, refusal }, "signatures refused on-chain: signing again");
        await this.#retryLater({ ...b, state: "pinned" }, new Error(reason));
      }
      return false;
    }
    // the estimate reverted: a regular batch whose period the registry has attested past can never
    // go on-chain, and retrying it would hold its facility's later batches for ever. Looked into
    // outside the nonce lane: the search for its period's attestation (eth_getLogs in ranges, an
    // IPFS read) must not hold back other batches' submissions
    if (await this.#periodPast(b, chain, id)) return false;
    throw sent.reverted;
  }

  /**
   * Whether regular batch `b` can never be attested because the registry has its facility attested
   * past the batch's start by another regular batch (period overlap: a restored database that
   * sealed an attested window again from fewer readings, or a node outside this one's quorum). It
   * is then taken as the record of its period's attestation when that can be done (`#adopt`), or
   * failed with that reason, for the operator to `abandon`; `retry` takes it back only to try the
   * adoption again, when the registry holds an attestation of exactly its period (batch/operator.ts).
   * False when the registry cannot be read, or `b` was attested meanwhile (the next pass confirms it).
   *
   * Both reads are of one block, `chain.confirmations` deep: the registry's frontier only grows,
   * so a frontier past the batch's start with the batch itself not attested at the same block
   * means it never can be. Read at the latest block by two calls instead, a load-balanced RPC
   * endpoint could answer them from different heads, and a block that may yet be reorged out
   * would decide.
   */
  async #periodPast(b: Batch, chain: ChainPort, id: Hex): Promise<boolean> {
    if (b.correctionOfBatch !== null || !chain.attestedUntil || !b.headerJson) return false;
    let until: bigint;
    try {
      const head = await chain.blockNumber();
      const at = confirmedBlock(head, this.#common.config.chain.confirmations);
      until = await chain.attestedUntil(headerFromJson(b.headerJson).facilityId, at);
      if (until <= BigInt(b.periodStart) || (await chain.exists(id, at))) return false;
    } catch {
      return false;
    }
    // a window sealed again after a restore: the attestation of its period, made by this node's
    // lost database from more readings, may hold all of this batch's, and give back the others
    let adopted: true | string;
    try {
      adopted = await this.#adopt(b, chain);
    } catch (err) {
      // the search of the IPFS network goes on beside the ticks: asked again soon
      if (err instanceof BundleSearchUnderway) throw err;
      // the node stopping cut the search short: not an attempt (the next start looks again)
      if (this.#stopped) return false;
      // the chain's events or IPFS unreachable: tried again at the batch's next attempts, and only
      // then given up, so that a passing outage does not cost the readings their recovery
      if (b.attempts < ADOPT_ATTEMPTS) {
        this.#log.warn(
          { err, batch: b.id, attempts: b.attempts },
          "looking for the attestation of its period failed; retried",
        );
        return false;
      }
      adopted = this.#common.scrub(`looking for it failed ${ADOPT_ATTEMPTS} times, last: ${(err as Error).message}`);
    }
    if (adopted === true) return true;
    const error =
      `the AttestationRegistry has facility ${b.facilityId} attested up to ${until}, past this batch's start ${b.periodStart}, by another batch: ` +
      `it would reject this one (period overlap), and its ${b.readingCount} readings cannot be attested as a regular batch (a restored database that sealed an attested window again?), ` +
      `nor taken as that attestation's record (${adopted}); ` +
      `\`carbonproof-oracle abandon ${b.id}\` (or POST /v1/admin/batches/${b.id}/abandon) stops it holding back later batches` +
      (/is not in this node's IPFS store|in the embedded IPFS store is corrupt|served bytes for block/.test(adopted)
        ? `; should the bundle turn up (another node, an auditor, a \`backup --content\` directory), \`carbonproof-oracle pin FILE\` then \`retry ${b.id}\` takes the batch as that record, its lost readings given back`
        : "");
    if (await this.#writes.transition(b.id, ["signed"], "failed", { error }))
      this.#log.error(
        { batch: b.id, facility: b.facilityId, attestedUntil: Number(until) },
        "batch can never be attested: its period is attested already by another batch",
      );
    return true;
  }

  /**
   * Starts batch `batchId`'s search of the IPFS network for `cid` with `search` once one of the
   * `ipfs.networkSearches` slots is free, and throws {@link BundleSearchUnderway}: the ticks do not
   * wait for the network. The batch's next attempt after it ended takes its outcome (`#adopt`).
   */
  #searchNetwork(batchId: number, cid: string, search: () => Promise<SearchOutcome>): never {
    // each search holds a Kubo request and, found, the bundle's bytes: after a restore with many
    // lost windows every batch's at once would pile them up, so past `ipfs.networkSearches` they
    // wait for a slot (`search` starts its timeout only when it runs). None starts after the stop,
    // nor waits where the stop, which wakes those waiting, would miss it.
    if (this.#stopped) throw this.#stopping.signal.reason;
    const waiting = this.#searchesRunning >= this.#common.config.ipfs.networkSearches;
    const entry: BundleSearch = { cid, waiting, done: Promise.resolve() };
    if (!waiting) this.#searchesRunning++;
    const slot = waiting ? new Promise<boolean>((wake) => this.#searchSlots.push(wake)) : Promise.resolve(true);
    entry.done = slot
      .then(async (run): Promise<SearchOutcome> => {
        // woken by the stop: a failure to look, not counted (`#periodPast`)
        if (!run) return { error: this.#stopping.signal.reason };
        entry.waiting = false;
        try {
          return await search();
        } finally {
          // the slot passes straight to the first waiting search, so none overtakes it
          const next = this.#searchSlots.shift();
          if (next) next(true);
          else this.#searchesRunning--;
        }
      })
      .then((outcome) => {
        entry.outcome = outcome;
      });
    this.#searches.set(batchId, entry);
    this.#log.info(
      { batch: batchId, cid },
      waiting
        ? "waiting for a slot to search the IPFS network for the bundle of its period's attestation"
        : "searching the IPFS network for the bundle of its period's attestation",
    );
    throw this.#searchUnderway(entry);
  }

  #searchUnderway({ cid, waiting }: BundleSearch): BundleSearchUnderway {
    const { networkSearches, timeoutMs } = this.#common.config.ipfs;
    return new BundleSearchUnderway(
      waiting
        ? `waiting for one of the ipfs.networkSearches (${networkSearches}) search slots to search the IPFS network for bundle ${cid}, the record of its period's attestation`
        : `searching the IPFS network for bundle ${cid}, the record of its period's attestation (up to ipfs.timeoutMs, ${timeoutMs} ms)`,
    );
  }

  /**
   * Regular batch `b`, signed, whose period the registry has attested by another batch: when that
   * attestation is found (the facility's `AttestationSubmitted` events), its bundle is in this
   * node's store, checks out (its CID, every digest, root, result and total, and the header it
   * names), then `b` becomes its record. The bundle's readings this database lacks (accepted after
   * the backup a restore put back was made: devices never send an acknowledged reading again) are
   * stored from it (source `bundle`), and `b` is confirmed with the attested header, id and
   * transaction, so every one of them has its proof again. Those of `b`'s readings the bundle lacks
   * (accepted after the restore, into the window sealed again) move to a correction of `b`, attested
   * by `submitCorrection` once `b` is confirmed: no reading is left unattested, none counted twice.
   * A reading of the bundle stored here under its (device, seq) with another digest stops it. True
   * when done, else why not.
   */
  async #adopt(b: Batch, chain: ChainPort): Promise<true | string> {
    if (!chain.findRegularAttestation || !this.#content) return "no chain events or IPFS store to look in";
    // the search of the network this batch's last attempt started (ended: `#submit` waits for a
    // running one) is taken now, used or not; a later attempt searches afresh
    const search = this.#searches.get(b.id);
    this.#searches.delete(b.id);
    const own = headerFromJson(b.headerJson!);
    // the stop ends the search at its next call (a step the stop cuts short is not counted)
    const found = await chain.findRegularAttestation(own.facilityId, BigInt(b.periodStart), this.#stopping.signal);
    if (!found) return "no regular attestation of its period was found in the registry's events";
    if (found.header.periodStart !== own.periodStart || found.header.periodEnd !== own.periodEnd)
      return `attestation ${found.id} is of another period (${found.header.periodStart}–${found.header.periodEnd})`;
    if (found.revoked) return `attestation ${found.id} of its period was revoked`;
    const cid = found.header.bundleCid;
    const content = this.#content;
    const timeoutMs = this.#common.config.ipfs.timeoutMs;
    const read = async (network: boolean, signal: AbortSignal): Promise<Uint8Array | null | string> => {
      try {
        return await content.get(cid, { signal, network });
      } catch (err) {
        // not a passing outage: asking again would read the same bytes
        if ((err as { code?: string }).code === "IPFS_BLOCK_CORRUPT") return (err as Error).message;
        throw err;
      }
    };
    let bytes = await read(false, AbortSignal.timeout(timeoutMs));
    let elsewhere = "";
    let fromNetwork = false;
    if (bytes === null && content.searchesNetwork) {
      // a Kubo node may fetch it from a peer that pinned it, beside the ticks (`#searchNetwork`)
      // the outcome of the search this batch's last attempt started, if of this bundle; else one starts
      const ended = search?.cid === cid ? search.outcome : undefined;
      const outcome =
        ended ??
        this.#searchNetwork(b.id, cid, () => {
          const timeout = AbortSignal.timeout(timeoutMs);
          return read(true, AbortSignal.any([timeout, this.#stopping.signal])).then(
            (found): SearchOutcome => (found === null ? { notFound: true } : { bytes: found }),
            // only a search that ran its whole time counts as "not found"; the store failing or the
            // node stopping is a failure to look, retried (the stop ends the search at once)
            (error: unknown): SearchOutcome =>
              timeout.aborted && !this.#stopping.signal.aborted ? { notFound: true } : { error },
          );
        });
      if ("error" in outcome) throw outcome.error;
      if ("notFound" in outcome) elsewhere = `, nor found on the IPFS network within ipfs.timeoutMs (${timeoutMs} ms)`;
      else {
        bytes = outcome.bytes;
        fromNetwork = bytes instanceof Uint8Array;
      }
    }
    if (typeof bytes === "string") return bytes;
    if (!bytes) return `attestation ${found.id}'s bundle ${cid} is not in this node's IPFS store${elsewhere}`;
    if (bundleCid(bytes) !== cid) return `the store's copy of bundle ${cid} is not its bytes`;
    const bundle = decodeBundle(bytes);
    const failing = (await checkBundle(bundle)).filter((c) => !c.ok && !c.skipped);
    if (failing.length) return `bundle ${cid} fails its own checks (${failing.map((c) => c.link).join(", ")})`;
    if (headerToJson(bundleHeader(bundle, cid)) !== headerToJson(found.header))
      return `bundle ${cid} is not what attestation ${found.id}'s header says`;
    if (bundle.methodologyId !== own.methodologyId || bundle.factorSet.id !== own.factorSetId)
      return `attestation ${found.id} was computed with another methodology or factor set`;
    const inBundle = new Set(bundle.readings.map((e) => e.digest));
    const mine = this.#storage.readingsOfBatch(b.id);
    // accepted after the restore into the window sealed again (a device flushing its buffer): not
    // attested, and the regular period taken, so they go to a correction of the attestation
    const outside = mine.filter((r) => !inBundle.has(r.digest));
    const have = new Set(mine.map((r) => r.digest));
    const nowMs = this.#common.clock.nowMs();
    const back: NewReading[] = [];
    for (const e of bundle.readings) {
      if (have.has(e.digest)) continue;
      const r = e.envelope.reading;
      // stored elsewhere under its (device, seq): the batch could not hold the attested set exactly
      if (this.#storage.hasReading(r.deviceId, r.seq))
        return `${r.deviceId}#${r.seq} of attestation ${found.id} is stored in another batch or with another digest`;
      back.push({
        digest: e.digest,
        deviceId: r.deviceId,
        facilityId: r.facilityId,
        seq: r.seq,
        ts: r.ts,
        kind: r.kind,
        canonical: canonicalJson(r),
        sig: e.envelope.sig,
        keyId: e.envelope.keyId ?? null,
        source: "bundle",
        receivedAtMs: nowMs,
        anomalyScore: null,
        flagged: (e.flags?.length ?? 0) > 0,
        fossilMg: BigInt(e.result.fossilCo2eMg),
        biogenicMg: BigInt(e.result.biogenicCo2Mg),
        methodologyId: bundle.methodologyId,
        factorSetId: bundle.factorSet.id,
        // the bundle's per-reading result: the stored one's figures, without its citations
        resultJson: JSON.stringify(e.result),
      });
    }
    // fetched from a peer (by this attempt or an earlier one cut short), Kubo holds it unpinned, and
    // a store's garbage collector would take the record's bundle
    if (fromNetwork || !(await content.isPinned(cid, { signal: AbortSignal.timeout(timeoutMs) })))
      await content.addAndPin(bytes, { signal: AbortSignal.timeout(timeoutMs) });
    const done = await this.#writes.adoptAttestation(
      b.id,
      ["signed"],
      back,
      {
        readingCount: found.header.readingCount,
        headerJson: headerToJson(found.header),
        attestationId: found.id,
        merkleRoot: found.header.merkleRoot,
        bundleCid: cid,
        fossilCo2eGrams: found.header.fossilCo2eGrams.toString(),
        biogenicCo2Grams: found.header.biogenicCo2Grams.toString(),
        txHash: found.txHash,
        txHashes: [found.txHash],
        blockNumber: Number(found.blockNumber),
        // what this batch's own header had: not the attestation's
        signatures: null,
        txRaw: null,
        txNonce: null,
        txFrom: null,
        error: null,
        attempts: 0,
      },
      outside.map((r) => r.digest),
    );
    if (!done) return "it left the signed state meanwhile";
    this.#log.warn(
      {
        batch: b.id,
        attestation: found.id,
        readings: bundle.readings.length,
        recovered: back.length,
        toCorrection: outside.length,
        tx: found.txHash,
      },
      "window sealed again after a restore: taken as the record of its attestation, readings lost with the database taken back from its bundle, those it lacks moved to a correction",
    );
    return true;
  }

  /**
   * Sends a transaction of the node's account that is not a batch's, in the pipeline's nonce lane:
   * `send(nonce)` gets the next nonce (as a batch would), persists and broadcasts its transaction,
   * and the batches' next one goes after it. `inFlight` tells the pipeline, from then on, the nonce
   * of such a transaction still unmined (it persists it; after a restart too), so that a batch
   * never takes it while the RPC node has lost it. No chain: refused.
   */
  async sendOther(send: (chain: ChainPort, nonce: number) => Promise<void>): Promise<void> {
    const chain = this.#chain;
    if (!chain) throw new Error("no chain configured: cannot send a transaction");
    await this.#serial(async () => {
      const nonce = await this.#nextFree(chain);
      await send(chain, nonce);
      this.#nextNonce = nonce + 1;
    });
  }

  /** Where the nonce of a transaction sent by `sendOther` and not yet mined is kept (null: none). */
  setOtherInFlight(read: () => number | null): void {
    this.#otherInFlight = read;
  }

  /** The next nonce of this account: past the RPC node's pending count and every stored in-flight one. */
  async #nextFree(chain: ChainPort): Promise<number> {
    const { pending } = await chain.nonces();
    // the RPC node's pending count misses our transactions it lost (a restart of it, an
    // eviction) until they are re-broadcast; the stored in-flight ones still hold their nonces
    const inFlight = this.#storage.maxTxNonce(chain.signerAddress);
    const other = this.#otherInFlight();
    return Math.max(
      pending,
      inFlight === null ? 0 : inFlight + 1,
      other === null ? 0 : other + 1,
      this.#nextNonce ?? 0,
    );
  }

  /** Runs `fn` after every earlier call has finished: one nonce at a time. */
  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#lock.then(fn, fn);
    this.#lock = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  /** Sends `b` at the next nonce (in the nonce lane); `reverted` when its estimate reverted (nothing sent, the nonce free). */
  async #send(b: Batch, chain: ChainPort, id: Hex): Promise<boolean | { reverted: unknown }> {
    const nonce = await this.#nextFree(chain);
    let tx: { hash: Hex; raw: Hex };
    try {
      tx = await chain.prepareSubmit(
        headerFromJson(b.headerJson!),
        b.signatures as Hex,
        nonce,
        this.#original(b),
        this.#feeCap(),
      );
    } catch (err) {
      return { reverted: err };
    }
    const now = this.#common.clock.nowMs();
    // persist before broadcast: after a crash the same signed bytes are re-broadcast, never a second nonce
    if (
      !(await this.#writes.transition(
        b.id,
        ["signed"],
        "submitted",
        {
          txHash: tx.hash,
          txNonce: nonce,
          txFrom: chain.signerAddress,
          txRaw: tx.raw,
          txSentAtMs: now,
          // after a key rotation, the previous key's transactions stay listed: one may still be mined
          txHashes: [...b.txHashes, tx.hash],
          attempts: 0,
          error: null,
        },
        // not past a batch of an earlier window opened since #blockedByEarlier looked
        { afterEarlier: true },
      ))
    ) {
      return false;
    }
    this.#nextNonce = nonce + 1;
    crashPoint("submitted-before-broadcast");
    try {
      await chain.broadcast(tx.raw);
    } catch (err) {
      // the batch is `submitted` now (its attempts 0): the refusal and the backoff go on that state
      throw new FailedIn("submitted", err);
    }
    crashPoint("submitted");
    this.#log.info({ batch: b.id, attestation: id, tx: tx.hash, nonce }, "attestation submitted");
    return true;
  }

  /**
   * submitted → confirmed after N confirmations; re-broadcast, bump gas, or re-submit as needed.
   * `txHashes` lists every transaction sent for the batch, by this account or (before a key
   * rotation) another; whichever is mined successfully confirms it. A transaction of another
   * account is only watched (`#watch`): this node cannot sign at that account's nonce, and it may
   * still be mined. Once it is reverted or its nonce used by another transaction, the batch goes
   * back to `pinned` to be signed and sent by this node's account (`#handOver`).
   */
  async #follow(b: Batch): Promise<void> {
    const chain = this.#chain;
    if (!chain) return;
    const cfg = this.#common.config.chain;
    const sender = (b.txFrom ?? chain.signerAddress) as Address;
    const foreign = !sameAddress(sender, chain.signerAddress);
    const mined = await this.#mined(chain, b, sender);
    if (mined?.rc.status === "success") {
      const { hash: h, rc } = mined;
      const head = await chain.blockNumber();
      if (!isDeepEnough(head, rc.blockNumber, cfg.confirmations)) return;
      if (
        await this.#writes.transition(b.id, ["submitted"], "confirmed", {
          txHash: h,
          blockNumber: Number(rc.blockNumber),
          error: null,
          attempts: 0,
        })
      ) {
        this.#common.metrics.chainSeconds.observe(
          (this.#common.clock.nowMs() - (b.txSentAtMs ?? b.updatedAtMs)) / 1000,
        );
        this.#log.info(
          { batch: b.id, attestation: b.attestationId, tx: h, block: Number(rc.blockNumber) },
          "attestation confirmed",
        );
        crashPoint("confirmed");
      }
      return;
    }
    if (mined) {
      const { hash: h, rc } = mined;
      // a reverted receipt that a reorg could still undo decides nothing: asked again once it is
      // `confirmations` deep (the transaction may yet be mined again, and succeed)
      if (!isDeepEnough(await chain.blockNumber(), rc.blockNumber, cfg.confirmations)) return;
      if (await chain.exists(b.attestationId as Hex)) {
        // attested by a transaction this batch does not list (another node of the quorum); `h`
        // is the one of ours the registry refused
        await this.#confirmAttested(chain, b, "submitted", `transaction ${h} reverted: attested by another`);
        return;
      }
      if (sameAddress(rc.from, sender)) {
        // the old account's, most likely refused as no longer an active node of the OracleSet
        if (foreign) return this.#handOver(b, sender, `transaction ${h} of ${sender} reverted`);
        // named, so that the operator knows what to fix before `retry` (review: "reverted" alone)
        const why = await chain.revertReason?.(h, rc.blockNumber).catch(() => null);
        const error = this.#common.scrub(
          `transaction ${h} reverted${why ? `: ${why}` : " (the reason could not be read: run its call again at its block)"}`,
        );
        await this.#writes.transition(b.id, ["submitted"], "failed", {
          txHash: h,
          blockNumber: Number(rc.blockNumber),
          error,
        });
        this.#log.error({ batch: b.id, tx: h, why }, "attestation transaction reverted");
        return;
      }
      // a previous key's transaction, refused (its node removed): the current one is followed on
    }
    // not mined: was the nonce used by some other transaction of the sending account?
    const { latest } = await chain.nonces(foreign ? sender : undefined);
    if (b.txNonce !== null && latest > b.txNonce) {
      // one of ours may have been mined since its receipt was asked for: the next pass counts
      // its confirmations rather than taking the attestation as confirmed now
      const since = await this.#mined(chain, b, sender);
      if (since && (since.rc.status === "success" || sameAddress(since.rc.from, sender))) return;
      if (await chain.exists(b.attestationId as Hex)) {
        await this.#confirmAttested(chain, b, "submitted", `nonce ${b.txNonce} of ${sender} consumed elsewhere`);
        return;
      }
      if (foreign) return this.#handOver(b, sender, `nonce ${b.txNonce} of ${sender} consumed elsewhere`);
      // the hashes stay: a previous key's transaction among them may still be mined
      await this.#writes.transition(b.id, ["submitted"], "signed", {
        txHash: null,
        txRaw: null,
        txNonce: null,
        txFrom: null,
        error: `nonce ${b.txNonce} consumed elsewhere; re-submitting`,
      });
      return;
    }
    const now = this.#common.clock.nowMs();
    if (foreign) return this.#watch(chain, b, sender, now);
    if (
      b.txRaw &&
      b.txSentAtMs !== null &&
      now - b.txSentAtMs >= cfg.gasBumpAfterMs &&
      now >= (this.#bumpHeldUntil.get(b.id) ?? 0) &&
      // only the account's next transaction to be mined: one behind a lower nonce the chain has not
      // taken is held back by that, not by its fees, and every bump would only make it dearer
      b.txNonce === latest &&
      (await this.#bump(chain, b, now))
    )
      return;
    // the RPC node may have lost it (restart): re-broadcasting the same bytes is harmless
    await this.#rebroadcast(chain, b, now);
  }

  /**
   * Broadcasts `b`'s stored transaction again, or, once the RPC node has refused it
   * `RESIGN_AFTER_REFUSALS` times, signs its call again at current fees (`#resend`): true then.
   */
  async #rebroadcast(chain: ChainPort, b: Batch, now: number): Promise<boolean> {
    if (!b.txRaw) return false;
    try {
      await chain.broadcast(b.txRaw as Hex);
    } catch (err) {
      // refused for good (insufficient funds for its fees, the RPC node's own fee cap, a gas
      // limit it no longer takes): re-broadcast with backoff for ever, it would hold its nonce,
      // and every later transaction of the account, for ever. Not when the node keeps another
      // transaction at the nonce bidding as much (underpriced: ours, a bump whose raw a crash
      // lost, and it may be mined); `latest` ≤ txNonce here: the nonce is not taken
      if (
        b.attempts + 1 < RESIGN_AFTER_REFUSALS ||
        (err as { code?: string }).code === REPLACEMENT_UNDERPRICED ||
        !chain.prepareResend ||
        (await chain.isKnown(b.txHash as Hex))
      )
        throw err;
      await this.#resend(chain, b, now, err);
      return true;
    }
    return false;
  }

  /**
   * Signs `b`'s call again at its nonce and gas limit at current (capped) fees, after its stored
   * transaction was refused `RESIGN_AFTER_REFUSALS` times (`refusal`, the last); stored as `#bump`
   * stores a bump: the hash before the broadcast, the raw transaction once the RPC node took it.
   */
  async #resend(chain: ChainPort, b: Batch, now: number, refusal: unknown): Promise<void> {
    const tx = await chain.prepareResend!(b.txRaw as Hex, this.#feeCap());
    if (tx.hash === b.txHash) throw refusal; // the same bytes: the fees have not moved
    if (!b.txHashes.includes(tx.hash))
      await this.#writes.patchBatch(b.id, "submitted", { txHashes: [...b.txHashes, tx.hash] });
    await chain.broadcast(tx.raw);
    await this.#writes.patchBatch(b.id, "submitted", {
      txHash: tx.hash,
      txRaw: tx.raw,
      txSentAtMs: now,
      attempts: 0,
      nextAttemptAtMs: 0,
      error: null,
    });
    this.#log.warn(
      {
        batch: b.id,
        tx: tx.hash,
        replaced: b.txHash,
        nonce: b.txNonce,
        refusals: b.attempts + 1,
        err: this.#common.scrub(refusal instanceof Error ? refusal.message : String(refusal)),
      },
      "transaction refused by the RPC node: signed again at current fees",
    );
  }

  #feeCap(): FeeCap {
    return feeCapOf(this.#common.config);
  }

  /**
   * Replaces `b`'s unmined transaction with one at the same nonce bidding more (from its own fees,
   * not the current estimate, which may have fallen), up to the fee cap. The new hash is stored
   * before the broadcast (once sent it may be mined, and confirm the batch, whatever comes next);
   * the raw transaction and its send time only once the RPC node took it: one it refuses
   * (insufficient funds, its own fee cap) is never the copy re-broadcast or bumped from, and a
   * refusal throws (the batch's next attempt backs off) once the stored copy is sent again. False when the fee cap leaves nothing
   * to bump (warned, and not tried again for `gasBumpAfterMs`).
   */
  async #bump(chain: ChainPort, b: Batch, now: number): Promise<boolean> {
    const cap = this.#feeCap();
    let tx: { hash: Hex; raw: Hex; cappedAt?: bigint };
    try {
      tx = await chain.prepareReplacement(b.txRaw as Hex, cap);
    } catch (err) {
      if ((err as { code?: string }).code !== FEE_CAP_REACHED) throw err;
      this.#bumpHeldUntil.set(b.id, now + this.#common.config.chain.gasBumpAfterMs);
      this.#log.warn(
        { batch: b.id, tx: b.txHash, nonce: b.txNonce, err: (err as Error).message },
        "gas bump capped: the transaction already bids the fee cap",
      );
      return false;
    }
    this.#bumpHeldUntil.delete(b.id);
    if (tx.cappedAt !== undefined)
      this.#log.warn(
        { batch: b.id, tx: tx.hash, nonce: b.txNonce, maxFeePerGas: tx.cappedAt.toString() },
        cap.maxFeePerGas === null
          ? "gas bump capped at a multiple of the current fee estimate"
          : "gas bump capped at chain.maxFeePerGas",
      );
    const txHashes = b.txHashes.includes(tx.hash) ? b.txHashes : [...b.txHashes, tx.hash];
    if (txHashes !== b.txHashes) await this.#writes.patchBatch(b.id, "submitted", { txHashes });
    try {
      await chain.broadcast(tx.raw);
    } catch (refused) {
      // the copy the RPC node took may have left its mempool since: sent again, as when not
      // bumping (signed again at current fees if it is refused for good)
      if (await this.#rebroadcast(chain, { ...b, txHashes }, now)) return true;
      throw refused;
    }
    await this.#writes.patchBatch(b.id, "submitted", { txHash: tx.hash, txRaw: tx.raw, txSentAtMs: now });
    this.#log.warn(
      { batch: b.id, tx: tx.hash, nonce: b.txNonce, bumps: b.txHashes.length },
      "gas bumped and re-broadcast",
    );
    return true;
  }

  /**
   * `from` → confirmed for a batch whose attestation is on-chain by a transaction it has no receipt
   * of (`exists` said so): the transaction and block of the registry's event are recorded, for the
   * auditor, once that block has `chain.confirmations` confirmations, as with a receipt of its own.
   * When the event cannot be read (an RPC node refusing the log query, logs pruned) the batch is
   * confirmed all the same, without the two fields, and a warning says so, once the registry holds
   * the attestation at the block `chain.confirmations` − 1 below the head.
   * @returns whether the batch was confirmed now (false: waiting for confirmations)
   */
  async #confirmAttested(chain: ChainPort, b: Batch, from: "signed" | "submitted", why: string): Promise<boolean> {
    const id = b.attestationId as Hex;
    let found: { txHash: Hex; blockNumber: bigint } | null = null;
    let lookup: unknown = null;
    try {
      found = await this.#attestingTx(chain, id);
    } catch (err) {
      lookup = err;
    }
    const confirmations = this.#common.config.chain.confirmations;
    const head = await chain.blockNumber();
    if (found) {
      if (!isDeepEnough(head, found.blockNumber, confirmations)) return false;
    } else {
      // no block to count from: the attestation must be in the registry `confirmations` deep
      // (`exists` at the head may be a block a reorg takes back)
      if (!(await chain.exists(id, confirmedBlock(head, confirmations)))) return false;
      this.#log.warn(
        { batch: b.id, attestation: id, err: lookup ?? "no AttestationSubmitted event for the id" },
        "attesting transaction not found: batch confirmed without its transaction hash and block number",
      );
    }
    const ok = await this.#writes.transition(b.id, [from], "confirmed", {
      txHash: found?.txHash ?? null,
      blockNumber: found ? Number(found.blockNumber) : null,
      error: null,
      attempts: 0,
    });
    this.#attesting.delete(id);
    if (ok) {
      this.#log.info(
        {
          batch: b.id,
          attestation: id,
          tx: found?.txHash ?? null,
          block: found ? Number(found.blockNumber) : null,
          why,
        },
        "attestation confirmed: attested by a transaction this node has no receipt of",
      );
    }
    return ok;
  }

  /**
   * The attesting transaction of `id`: the one found before while its receipt still says so (a
   * reorg may have moved or dropped it), else looked up again from the registry's event.
   */
  async #attestingTx(chain: ChainPort, id: Hex): Promise<{ txHash: Hex; blockNumber: bigint } | null> {
    const known = this.#attesting.get(id);
    if (known) {
      const rc = await chain.receipt(known);
      if (rc?.status === "success") return { txHash: known, blockNumber: rc.blockNumber };
      this.#attesting.delete(id);
    }
    const found = await chain.attestedIn(id);
    if (found) this.#attesting.set(id, found.txHash);
    return found;
  }

  /**
   * The receipt that decides a batch: a successful one if any of its transactions has one, else a
   * reverted one (the current sender's first); null while none is mined.
   */
  async #mined(chain: ChainPort, b: Batch, sender: Address): Promise<{ hash: Hex; rc: TxReceipt } | null> {
    const receipts = await Promise.all(b.txHashes.map((h) => chain.receipt(h as Hex)));
    let reverted: { hash: Hex; rc: TxReceipt } | null = null;
    for (const [i, rc] of receipts.entries()) {
      if (!rc) continue;
      const hash = b.txHashes[i] as Hex;
      if (rc.status === "success") return { hash, rc };
      if (!reverted || (sameAddress(rc.from, sender) && !sameAddress(reverted.rc.from, sender)))
        reverted = { hash, rc };
    }
    return reverted;
  }

  /**
   * An unmined transaction of another account (sent before a key rotation): never bumped, never
   * re-broadcast, since the transaction is the old account's to send. Handed over once unknown to
   * the RPC node at two looks `gasBumpAfterMs` apart (dropped from its mempool), or still unmined
   * `handOverAfterMs` after it was sent (stuck: its fees too low, and nobody left to raise them).
   * Both clocks are stored — `txSentAtMs`, and a first miss in `error` with the second look due at
   * `nextAttemptAtMs` — so a node restarted more often than either still hands the batch over.
   */
  async #watch(chain: ChainPort, b: Batch, sender: Address, now: number): Promise<void> {
    const cfg = this.#common.config.chain;
    const known = (await Promise.all(b.txHashes.map((h) => chain.isKnown(h as Hex)))).some(Boolean);
    const missed = b.error?.startsWith(UNKNOWN_TO_RPC) ?? false;
    let reason: string;
    if (known) {
      const sentAtMs = b.txSentAtMs ?? b.updatedAtMs;
      if (now - sentAtMs < cfg.handOverAfterMs) {
        // back in the RPC node's mempool: a later miss waits its own gasBumpAfterMs
        if (missed) await this.#writes.patchBatch(b.id, "submitted", { error: null, nextAttemptAtMs: 0 });
        return;
      }
      reason = `transaction ${b.txHash} of ${sender} still unmined ${Math.round((now - sentAtMs) / 1000)} s after it was sent (chain.handOverAfterMs)`;
    } else if (!missed) {
      const atMs = Math.max(now, b.txSentAtMs ?? 0) + cfg.gasBumpAfterMs;
      const error = `${UNKNOWN_TO_RPC}: transaction ${b.txHash} of ${sender}, first missed at ${new Date(now).toISOString()}; handed over to ${chain.signerAddress} at ${new Date(atMs).toISOString()} unless it reappears`;
      // the tick leaves the batch alone until the second look
      await this.#writes.patchBatch(b.id, "submitted", { error, nextAttemptAtMs: atMs });
      this.#log.warn(
        { batch: b.id, tx: b.txHash, from: sender, handOverAtMs: atMs },
        "transaction of a previous key unknown to the RPC node",
      );
      return;
    } else if (now < b.nextAttemptAtMs) {
      return;
    } else {
      reason = `transaction ${b.txHash} of ${sender} gone from the RPC node`;
    }
    // mined between the receipts above and now: isKnown saw it, or exists does
    if (await chain.exists(b.attestationId as Hex)) {
      await this.#confirmAttested(chain, b, "submitted", reason);
      return;
    }
    return this.#handOver(b, sender, reason);
  }

  /**
   * submitted → pinned for a batch whose transaction another account sent (before a key rotation)
   * and lost: signed again with this node's key (the header's signatures were the old key's, which
   * the OracleSet refuses once the old node is removed) and sent from this account at its own
   * nonce. The header and attestation id stay, and so do the old hashes: if the old transaction is
   * mined after all, it confirms the batch (and the new one reverts), or it reverts. `#submit`
   * confirms instead of sending when the id is on-chain by then; the registry refuses a header
   * twice, so the batch counts once.
   */
  async #handOver(b: Batch, sender: Address, reason: string): Promise<void> {
    const error = `${reason}; signing again and submitting from ${this.#chain!.signerAddress}`;
    if (
      await this.#writes.transition(b.id, ["submitted"], "pinned", {
        signatures: null,
        txHash: null,
        txNonce: null,
        txFrom: null,
        txRaw: null,
        txSentAtMs: null,
        attempts: 0,
        nextAttemptAtMs: 0,
        error,
      })
    ) {
      this.#log.warn(
        { batch: b.id, attestation: b.attestationId, tx: b.txHash, nonce: b.txNonce, from: sender },
        "transaction of a previous key lost; batch handed over to the current key",
      );
    }
  }
}

function sameAddress(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}
