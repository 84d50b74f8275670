import {
  ZERO_BYTES32,
  bundleReadingKeys,
  hashBatchHeader,
  recoverBatchHeaderSigner,
  type BatchHeader,
  type Hex,
} from "../../../sdk/src/index.ts";
import type { Address } from "../batch/pipeline.ts";
import { headerFromJson, headerToJson } from "../batch/bundle.ts";
import { DEVICE_SYNC_WAIT_MS, periodSyncMs, type DeviceDirectory, type DeviceInfo } from "../devices/directory.ts";
import type { ApiKey, CosignOutcome, CosignRecord, Storage } from "../storage/types.ts";
import { isNodeAddress } from "../api/keys.ts";
import { rawCid } from "../ipfs/store.ts";
import { scrubUrls } from "../url-scrub.ts";
import {
  bundleDeviceIds,
  type CosignDomain,
  type CosignRequest,
  type ReviewRequest,
  type ReviewResult,
} from "./cosign.ts";

/**
 * This node's answer to POST /v1/quorum/cosign: its signature, or why not with the HTTP status
 * to answer: 400 a request without the lead's signature and registry (a lead node from before
 * they were sent) or with a signature that cannot be recovered, 403 a lead that is not an active
 * node of the OracleSet or not the node of the `oracle` key the request came with (or a key that
 * names no node), 409 an alternative to a header it co-signed already (equivocation), 413
 * more devices than it looks up for one bundle, 422 a header or bundle it will not sign or a lead
 * of another registry, 503 a check it cannot make now (the OracleSet, the registry or the
 * original's bundle out of reach): the requester retries.
 */
export type CosignAnswer =
  { signer: string; signature: string } | { refused: string; status: 400 | 403 | 409 | 413 | 422 | 503; error: string };

/**
 * Who asks: the API key the request came with (api/server.ts), its id for the operator. An
 * `oracle` key's subject is the address of the node it was issued to (api/keys.ts
 * `isNodeAddress`), and a request made with it is for a header that node signed; an admin key
 * (the admin token: id 0) may ask for any active node's.
 */
export type CosignAsker = Pick<ApiKey, "id" | "scope" | "subject">;

/** Distinct device ids a bundle may name before this node looks any of them up. */
export const MAX_COSIGN_DEVICES = 10_000;

/**
 * Reviews whose requesters have all gone (the lead's request timed out: `quorum.timeoutMs`) run
 * on, so that a review longer than the lead's timeout is not started afresh, and cut short, at
 * each of its retries, each for at most `runMs` after its last requester went (a request for it
 * again takes it back). `max`: reviews working with nobody waiting, those running on and those
 * stopped whose step still runs (a step on the bundle worker runs to its end; each holds its
 * bundle's text, and they share the one bundle worker). A review whose last requester goes while
 * `max` work so is stopped; while more than `max` do, a request that would start a review is
 * answered 503 (retry later) until their steps end, so that sending and closing requests cannot
 * queue work faster than it ends. The answer of one that ends with no requester is kept `keepMs`
 * for the retry (a 503 "retry later" for the first request only; a signature or a 409 only while
 * the co-sign records still say so). The lead retries a failed co-sign step with backoff, at most
 * `batching.retryMaxMs` (60 s by default) after its request timed out.
 */
export const ORPHANED_REVIEWS = { max: 2, runMs: 10 * 60_000, keepMs: 5 * 60_000 } as const;

/** Answers kept for retries at most (the oldest dropped first). */
const MAX_KEPT_ANSWERS = 100;

export type CosignerDeps = {
  storage: Pick<Storage, "recordCosign" | "checkCosign" | "cosignsWithoutKeys" | "setCosignKeys">;
  /** this node's clock (ms) */
  nowMs: () => number;
  /** `batching.graceS`: a period is co-signed once it ended this long ago, when it is sealed */
  graceS: number;
  /**
   * The device records the review checks each reading against. One that follows the
   * DeviceRegistry (`syncedAfter`) is first brought up to the period's end, `graceS` after: the
   * requester may have read a key rotation or a reactivation this node has not polled yet.
   */
  devices: Pick<DeviceDirectory, "get" | "syncedAfter">;
  /** how long the review waits for `devices.syncedAfter` before answering 503; default `DEVICE_SYNC_WAIT_MS` */
  syncWaitMs?: number;
  /**
   * `reviewCosign` (cosign.ts), on the bundle worker or in this thread, with the records of the
   * bundle's devices; `signal` aborts once the review is stopped: every requester of it gone, and
   * no room or no time left to run on without them (`ORPHANED_REVIEWS`; a review that cannot stop
   * part-way may ignore it: its answer is then thrown away)
   */
  review: (req: ReviewRequest, devices: DeviceInfo[], signal?: AbortSignal) => Promise<ReviewResult>;
  /** The header of a registered attestation (the original of a correction), null when there is none; null: no registry to ask. */
  original: ((id: Hex, signal?: AbortSignal) => Promise<BatchHeader | null>) | null;
  /** A bundle from this node's content store, null when it does not hold it; `signal` as for `review`. */
  readBundle: (cid: string, signal?: AbortSignal) => Promise<Uint8Array | null>;
  /**
   * The EIP-712 domain this node signs under: its AttestationRegistry (`chain.chainId`,
   * `chain.attestationRegistry`). A header's attestation id is its digest there, and each co-sign
   * record names it: a header is an alternative only to those of the same registry.
   */
  domain: CosignDomain;
  /** This node's chain address (the key `sign` signs with): a lead's signature is another node's. */
  self: Address;
  /**
   * Whether an address is an active node of the OracleSet (the chain client's `isActiveOracle`,
   * which the lead asks of its peers' signers too); null when this node has none to ask: it then
   * co-signs for no one (503).
   */
  isActiveOracle: ((address: Address) => Promise<boolean>) | null;
  sign: (header: BatchHeader) => Promise<{ signer: string; signature: string }>;
  maxDevices?: number;
  /** Limits of reviews whose requesters have gone; `ORPHANED_REVIEWS` unless given (tests shorten them). */
  orphans?: Partial<{ max: number; runMs: number; keepMs: number }>;
  /**
   * The node's scrubber (`common.scrub`: its configured URLs written without their secrets, then
   * any other URL), applied to every answer's text before the sdk's `scrubUrls`, which writes any
   * URL left without its path, query and user info (this answer's text is scrubbed by that rule
   * whatever scrubber it is given, or none).
   */
  scrub?: (text: string) => string;
};

const refuse = (status: 400 | 403 | 409 | 413 | 422 | 503, error: string, refused: string): CosignAnswer => ({
  refused,
  status,
  error,
});

/** A review's answer, and the co-sign record it stands on (a signature's, or the one a 409 would make). */
type Outcome = { answer: CosignAnswer; record: CosignRecord | null };

const no = (answer: CosignAnswer): Outcome => ({ answer, record: null });

/**
 * A review in flight: its outcome, shared by its requesters (`waiting`), and how to stop it.
 * `orphaned`: while none waits, the timer that stops it (`ORPHANED_REVIEWS.runMs`); `stopped`:
 * stopped, its step still running until `ended`.
 */
type Review = {
  outcome: Promise<Outcome>;
  stop: AbortController;
  waiting: number;
  orphaned: ReturnType<typeof setTimeout> | null;
  stopped: boolean;
  ended: boolean;
};

/** The outcome of a review that ended with no requester, for the retry; `once`: handed out to one request. */
type Kept = { outcome: Outcome; once: boolean; expires: ReturnType<typeof setTimeout> };

/**
 * The answer of a review stopped because every requester went (nobody receives it; a requester
 * without a signal never goes, so it never gets this).
 */
const CANCELLED = refuse(503, "COSIGN_CANCELLED", "the review was stopped: every request for it went away");

/** An error's first line (a viem error's next lines quote the request). */
const firstLine = (err: unknown) => (err instanceof Error ? err.message : String(err)).split("\n")[0]!;

/**
 * The co-signer (docs/oracle.md, "Quorum"): `reviewCosign`'s checks of the bundle, and what a
 * stateless review cannot see:
 *
 * - **Who asks, for which registry.** A header co-signed holds its facility's period against the
 *   real lead's (409 below), and an `oracle` API key may be held by a node removed from the
 *   OracleSet, or leak. So a request carries the lead's own signature of the header and the
 *   registry it signs for (`domain`), and an `oracle` key is bound to one node: its subject is
 *   that node's address (`CosignAsker`). Before anything is shared or recorded: a key whose
 *   subject is no address (issued before keys were bound) is refused (403
 *   COSIGN_KEY_NAMES_NO_NODE: issue a new one); a request without domain and signature too (400:
 *   the lead must be upgraded), a lead of another registry (422, naming both: the nodes'
 *   `chain.chainId` / `chain.attestationRegistry` differ), a signature that does not recover under
 *   this node's domain (400) or recovers to this node (403), one that recovers to another node
 *   than the `oracle` key's (403 COSIGN_KEY_NOT_THE_SIGNER, naming both: without it, a holder of a
 *   removed node's key could replay an active lead's earlier request for a header the lead has
 *   abandoned since, and this node would refuse the rebuilt one 409), and one that does not
 *   recover to an active node of the OracleSet (403; 503 when the OracleSet cannot be read).
 * - **No equivocation.** Before a signature leaves, the header is recorded, durably
 *   (`Storage.recordCosign`), and a header that would be an alternative to one co-signed before
 *   for the same registry (`domain`) is refused (409, naming it): another regular header of the
 *   facility for an overlapping period, or another correction of the same original holding one of
 *   its readings (several corrections of one original are legitimate, each with late readings of
 *   their own). A reading is its `(deviceId, seq)`, as the auditor's verifier counts them, not its
 *   digest: a device's two readings with one seq are one (the 409 names it). The keys of a
 *   correction recorded before records held them are read from its bundle first (503 when it
 *   cannot be read). The same attestation id again is signed again (a requester that lost the
 *   answer). A record of another registry (before a redeploy) does not hold; one made before
 *   records named their registry holds on every registry.
 * - **The period.** Only once it has ended `graceS` ago on this node's clock (no header signed
 *   now for a period to come); a correction only of an attestation the registry holds, of the
 *   same facility, inside its period, and with none of the readings (by `(deviceId, seq)`) of its bundle, which this node
 *   reads from its content store: when it cannot, it refuses with 503 (retry once it is pinned
 *   here) rather than sign blind. Window alignment is not checked: `batching.windowS` is how this
 *   node cuts its own facilities' periods, not the requester's.
 * - **Device records as fresh as the requester's.** A directory that follows the DeviceRegistry
 *   is brought up to the period's end, `graceS` after, before any device is looked up (one poll,
 *   shared by the reviews waiting for it, and none when the regular poll has read that far): the
 *   requester may have read a key rotation or a reactivation that this node would only read at its
 *   next poll, and its readings signed by the new key or stamped after the reactivation would be
 *   refused until then. 503 when the registry cannot be read within `syncWaitMs`.
 * - **Cheap checks first.** What needs no chain is checked first, in this thread: the key, the
 *   registry, the signature recovered and bound to the key, the header's period, the bundle's CID
 *   and the number of device ids; then the one chain read a request costs before it is shared
 *   (is the lead an active node of the OracleSet), so that junk sent with an `oracle` key costs
 *   no RPC call. Requests for the same header and bundle while one is under review then share
 *   its answer; the bundle is decoded (on the bundle worker) before any device is looked up.
 * - **Abandoned reviews run on, within bounds.** A lead's request times out after its
 *   `quorum.timeoutMs`, and its retry comes within its backoff: a review longer than the timeout
 *   would be cut short at every attempt and never end. So once every requester of a review has
 *   gone (its `signal` aborted: the HTTP request closed), the review runs on (`ORPHANED_REVIEWS`:
 *   a few at once, each for a limited time), the same request joins it, and the answer of one that
 *   ends with nobody waiting is kept a few minutes for the retry, which is answered at once after
 *   its own checks of the lead. A review past those bounds is stopped between its steps (and
 *   inside those that take a signal), its entry dropped at once so that the same request later
 *   starts a review of its own, and it never records a co-sign: the record is taken only after a
 *   last check that it was not stopped. A step that takes no signal (the bundle worker's) runs to
 *   its end: until it does, the stopped review counts against the bound, and while more reviews
 *   than that work with nobody waiting no other is started (503), so a requester that sends and
 *   closes requests in a loop queues no work.
 * - **Answers name no secret.** Every answer's text is scrubbed (`scrub`, then the sdk's
 *   `scrubUrls`): an error quoted in a 503 may hold the URL of this node's RPC provider, with its key.
 */
export class Cosigner {
  readonly #deps: CosignerDeps;
  readonly #inFlight = new Map<string, Review>();
  readonly #kept = new Map<string, Kept>();
  readonly #limits: { max: number; runMs: number; keepMs: number };
  /** reviews running on with no requester */
  #orphans = 0;
  /** reviews stopped whose step still runs (a step on the bundle worker runs to its end) */
  #stopped = 0;

  constructor(deps: CosignerDeps) {
    this.#deps = deps;
    this.#limits = { ...ORPHANED_REVIEWS, ...deps.orphans };
  }

  /**
   * This node's answer to `req`, its text scrubbed (`scrub`, then `scrubUrls`). `signal`: the
   * requester's (its HTTP request closed); once it aborts, the promise rejects with its reason
   * (once the lead's check, which takes no signal, is over), and when it was the review's last
   * requester the review runs on without it, within `ORPHANED_REVIEWS`. Without one, the requester
   * stays for the whole review.
   */
  async cosign(req: CosignRequest, asker: CosignAsker, signal?: AbortSignal): Promise<CosignAnswer> {
    const answer = await this.#answer(req, asker, signal);
    if (!("refused" in answer)) return answer;
    // what this node answers reaches the lead's batch `error`, public there, and the lead's own
    // scrubber knows only the lead's URLs
    const scrub = this.#deps.scrub;
    return { ...answer, refused: scrubUrls(scrub ? scrub(answer.refused) : answer.refused) };
  }

  async #answer(req: CosignRequest, asker: CosignAsker, signal?: AbortSignal): Promise<CosignAnswer> {
    signal?.throwIfAborted();
    // anything but an admin key is bound to a node (a facility or device key never gets here)
    const bound = asker.scope !== "admin";
    if (bound && !isNodeAddress(asker.subject))
      return refuse(
        403,
        "COSIGN_KEY_NAMES_NO_NODE",
        `the API key this request came with (key ${asker.id}) names no node: its subject is not a node's address, and an \`oracle\` key asks only for the headers of the node whose address is its subject. On this node, issue the asking node a new key with its address as subject (\`carbonproof-oracle keys api-create --scope oracle --subject ADDRESS\`, ADDRESS as \`carbonproof-oracle keys show\` prints it on the asking node), put it in the asking node's quorum.peers, and revoke this one (\`carbonproof-oracle keys api-revoke ${asker.id}\`)`,
      );
    const { domain, signature } = req;
    if (!domain || !signature) {
      const missing = [domain ? null : "domain", signature ? null : "signature"].filter(Boolean).join(" and ");
      return refuse(
        400,
        "COSIGN_INCOMPLETE_REQUEST",
        `the request has no ${missing}: a co-sign request carries the lead node's own signature of the header (signature) and the registry it signs for (domain: { chainId, verifyingContract }), since this node co-signs only for an active node of the OracleSet; upgrade the lead node to a version that sends them`,
      );
    }
    let header: BatchHeader;
    try {
      header = headerFromJson(req.header);
    } catch (err) {
      return refuse(422, "COSIGN_REFUSED", `header is not a batch header: ${(err as Error).message}`);
    }
    // every check that needs no chain before the one that does: what is sent with an `oracle`
    // key, junk included, costs no RPC call until it is the key's node's header and well formed
    const lead = await this.#lead(header, domain, signature, bound ? asker : null);
    if (typeof lead !== "string") return lead;
    const period = this.#period(header);
    if (period) return period;
    const cid = rawCid(Buffer.from(req.bundle, "utf8"));
    if (cid !== header.bundleCid)
      return refuse(422, "COSIGN_REFUSED", `bundle hashes to ${cid}, the header names ${header.bundleCid}`);
    const ids = bundleDeviceIds(req.bundle);
    const max = this.#deps.maxDevices ?? MAX_COSIGN_DEVICES;
    if (ids.length > max)
      return refuse(
        413,
        "TOO_MANY_DEVICES",
        `the bundle names ${ids.length} devices; this node looks up at most ${max} for one co-signature`,
      );
    // the lead checked before anything is reviewed, recorded or shared
    const inactive = await this.#activeLead(lead);
    signal?.throwIfAborted();
    if (inactive) return inactive;
    // the same bytes (their CID) and the same header: one review, its answer to each asker (each
    // of whom passed `#lead` and `#activeLead`: the header is an active node's, for this node's
    // registry), and the answer of one that ended with nobody waiting to the asker that comes
    // back for it
    const key = `${cid} ${headerToJson(header)}`;
    const kept = this.#takeKept(key);
    if (kept) return kept;
    const running = this.#inFlight.get(key);
    if (running) return this.#wait(key, running, signal);
    const busy = this.#busy();
    if (busy) return busy;
    return this.#wait(key, this.#start(key, req, header, ids), signal);
  }

  /**
   * Why no review is started now, or null: more than `max` reviews work with nobody waiting (a
   * review stopped counts until its step ends), which happens when requesters leave faster than
   * those steps end (a step on the bundle worker cannot be cut short).
   */
  #busy(): CosignAnswer | null {
    const { max } = this.#limits;
    const working = this.#orphans + this.#stopped;
    if (working <= max) return null;
    return refuse(
      503,
      "COSIGN_RETRY_LATER",
      `this node is finishing ${working} co-sign reviews whose requesters have all gone (${this.#orphans} running on for a retry, ${this.#stopped} stopped and ending their step; at most ${max} work with nobody waiting) and starts no other review until they are fewer: retry later`,
    );
  }

  /** Why this node does not co-sign `header`'s period (empty, or not ended `graceS` ago), or null. */
  #period(header: BatchHeader): CosignAnswer | null {
    const d = this.#deps;
    if (header.periodStart >= header.periodEnd)
      return refuse(
        422,
        "COSIGN_REFUSED",
        `the period ${header.periodStart}..${header.periodEnd} is empty or reversed`,
      );
    const nowS = Math.floor(d.nowMs() / 1000);
    if (header.periodEnd + BigInt(d.graceS) > BigInt(nowS))
      return refuse(
        422,
        "COSIGN_REFUSED",
        `the period ends at ${header.periodEnd}: this node co-signs it from ${header.periodEnd + BigInt(d.graceS)} on (its end + batching.graceS ${d.graceS} s), and its clock says ${nowS}`,
      );
    return null;
  }

  /** A review of `req`, shared under `key` while it runs; its outcome kept for a retry when it ends with no requester. */
  #start(key: string, req: CosignRequest, header: BatchHeader, ids: string[]): Review {
    const stop = new AbortController();
    // `outcome` is set below, before anything reads it
    const review: Review = { outcome: null!, stop, waiting: 0, orphaned: null, stopped: false, ended: false };
    const end = () => {
      review.ended = true;
      this.#unorphan(review);
      if (review.stopped) this.#stopped--; // its step has ended
      // a stopped review's entry was dropped when it stopped, and may be another's now
      const current = this.#inFlight.get(key) === review;
      if (current) this.#inFlight.delete(key);
      return current;
    };
    review.outcome = this.#cosign(req, header, ids, stop.signal).then(
      (outcome) => {
        if (end() && review.waiting === 0) this.#keep(key, outcome);
        return outcome;
      },
      (err: unknown) => {
        const current = end();
        if (stop.signal.aborted) return no(CANCELLED); // a step that took the signal threw its reason
        // its requesters receive the error (HTTP 500, logged there)
        if (review.waiting > 0) throw err;
        // none: the next request for the header is told, once (then a review of its own)
        const failed = no(
          refuse(
            503,
            "COSIGN_RETRY_LATER",
            `this node's review of the header failed while no request waited for it (${firstLine(err)}): retry`,
          ),
        );
        if (current) this.#keep(key, failed);
        return failed;
      },
    );
    this.#inFlight.set(key, review);
    return review;
  }

  /** `review`'s answer for one more requester, who may leave (`signal`): once the last has left, it runs on as an orphan. */
  #wait(key: string, review: Review, signal: AbortSignal | undefined): Promise<CosignAnswer> {
    review.waiting++;
    this.#unorphan(review); // asked for again: wanted
    if (!signal) return review.outcome.then((o) => o.answer);
    return new Promise<CosignAnswer>((resolve, reject) => {
      const leave = () => {
        if (--review.waiting === 0) this.#orphan(key, review);
        reject(signal.reason as Error);
      };
      signal.addEventListener("abort", leave, { once: true });
      review.outcome.then(
        (o) => {
          signal.removeEventListener("abort", leave);
          resolve(o.answer);
        },
        (err: unknown) => {
          signal.removeEventListener("abort", leave);
          reject(err as Error);
        },
      );
    });
  }

  /**
   * `review`, left by its last requester, runs on for the retry (the lead's request timed out,
   * its next one comes within its backoff), unless `max` reviews work already with no requester
   * (running on, or stopped and ending their step) or its time runs out: then it is stopped, its
   * entry dropped at once (a request arriving later starts a review of its own rather than wait
   * on a stopped one), and it records nothing.
   */
  #orphan(key: string, review: Review): void {
    if (review.ended) return;
    const { max, runMs } = this.#limits;
    const working = this.#orphans + this.#stopped;
    if (working >= max)
      return this.#stop(key, review, `${working} reviews work already with no requester (at most ${max})`);
    this.#orphans++;
    review.orphaned = setTimeout(() => {
      this.#unorphan(review);
      this.#stop(key, review, `nobody asked for it again within ${runMs} ms`);
    }, runMs);
    review.orphaned.unref();
  }

  #unorphan(review: Review): void {
    if (!review.orphaned) return;
    clearTimeout(review.orphaned);
    review.orphaned = null;
    this.#orphans--;
  }

  /** Stops `review`; it counts as `#stopped` until its running step ends (`#start`'s `end`). */
  #stop(key: string, review: Review, why: string): void {
    if (this.#inFlight.get(key) === review) this.#inFlight.delete(key);
    if (!review.stopped) {
      review.stopped = true;
      this.#stopped++;
    }
    review.stop.abort(new Error(`co-sign review stopped: every requester has gone and ${why}`));
  }

  /** Keeps the outcome of a review that ended with no requester, for `keepMs` (a stopped one's: not). */
  #keep(key: string, outcome: Outcome): void {
    const { keepMs } = this.#limits;
    if (outcome.answer === CANCELLED || keepMs <= 0) return;
    this.#dropKept(key);
    const kept: Kept = {
      outcome,
      // "retry later": for the request that comes back, which then knows why; the next one reviews afresh
      once: "refused" in outcome.answer && outcome.answer.status === 503,
      expires: setTimeout(() => {
        if (this.#kept.get(key) === kept) this.#kept.delete(key);
      }, keepMs),
    };
    kept.expires.unref();
    this.#kept.set(key, kept);
    for (const oldest of this.#kept.keys()) {
      if (this.#kept.size <= MAX_KEPT_ANSWERS) break;
      this.#dropKept(oldest);
    }
  }

  #dropKept(key: string): void {
    const k = this.#kept.get(key);
    if (!k) return;
    clearTimeout(k.expires);
    this.#kept.delete(key);
  }

  /**
   * The kept answer for `key`, or null (none, or one the co-sign records no longer bear out). A
   * signature is handed out only while its header is recorded (`again`), a 409 only while the
   * conflict stands (with what it is now): `cosigned release` may have freed the period since,
   * and a header recorded after it may conflict with the one signed. 413 and 422 are the same
   * bytes' and header's answer.
   */
  #takeKept(key: string): CosignAnswer | null {
    const k = this.#kept.get(key);
    if (!k) return null;
    const { answer, record } = k.outcome;
    if (k.once) this.#dropKept(key);
    if (k.once || !record) return answer;
    const now = this.#deps.storage.checkCosign(record);
    if (now.outcome === "conflict") return conflict(record, now);
    if (now.outcome === "again" && !("refused" in answer)) return answer;
    this.#dropKept(key);
    return null;
  }

  /** Reviews in flight, orphaned ones included (for tests). */
  get inFlight(): number {
    return this.#inFlight.size;
  }

  /** Reviews running on with no requester (for tests). */
  get orphaned(): number {
    return this.#orphans;
  }

  /** Reviews stopped whose step has not ended yet (for tests). */
  get stopped(): number {
    return this.#stopped;
  }

  /** The review of a request that passed `#answer`'s checks; `ids`: its bundle's device ids. */
  async #cosign(req: CosignRequest, header: BatchHeader, ids: string[], signal: AbortSignal): Promise<Outcome> {
    const d = this.#deps;
    const record: CosignRecord = {
      attestationId: hashBatchHeader(header, d.domain),
      facilityId: header.facilityId,
      periodStart: Number(header.periodStart),
      periodEnd: Number(header.periodEnd),
      correctionOf: header.correctionOf,
      bundleCid: header.bundleCid,
      digests: [],
      keys: [],
      signedAtMs: d.nowMs(),
      registry: { chainId: d.domain.chainId, address: d.domain.verifyingContract.toLowerCase() },
    };
    const correction = header.correctionOf !== ZERO_BYTES32;
    // decoded before any device is looked up (on the bundle worker: seconds for a large window)
    const decoded = await d.review({ header: req.header, bundle: req.bundle, stage: "decode" }, [], signal);
    signal.throwIfAborted();
    if (!decoded.ok) return no(refuse(422, "COSIGN_REFUSED", decoded.why));
    // a regular header's conflict needs no device: refused before any is looked up
    if (!correction) {
      const early = d.storage.checkCosign(record);
      if (early.outcome === "conflict") return { answer: conflict(record, early), record };
    }
    let original: string | undefined;
    if (correction) {
      const o = await this.#original(header, signal);
      signal.throwIfAborted();
      if (typeof o !== "string") return no(o);
      original = o;
      // the other corrections of the original recorded before records held reading keys: theirs
      // read from their bundles, so that they are compared by (deviceId, seq) too
      const unknown = await this.#learnKeys(header.correctionOf, signal);
      signal.throwIfAborted();
      if (unknown) return no(unknown);
    }
    if (d.devices.syncedAfter) {
      // every change made before the period ended (graceS after, as the requester's own check
      // before pinning waits for) read: a device's record as the requester's is, not older
      const afterMs = periodSyncMs(Number(header.periodEnd), d.graceS);
      const synced = await d.devices.syncedAfter(afterMs, d.syncWaitMs ?? DEVICE_SYNC_WAIT_MS);
      signal.throwIfAborted();
      if (!synced)
        return no(
          refuse(
            503,
            "COSIGN_RETRY_LATER",
            `this node has not read the DeviceRegistry's events up to ${new Date(afterMs).toISOString()} yet (is its RPC node out of reach?)`,
          ),
        );
    }
    let devices: DeviceInfo[];
    signal.throwIfAborted(); // one registry call a device: not made for nobody
    try {
      devices = (await Promise.all(ids.map((id) => d.devices.get(id)))).filter((x): x is DeviceInfo => x !== null);
    } catch (err) {
      return no(refuse(503, "COSIGN_RETRY_LATER", `looking the bundle's devices up failed: ${(err as Error).message}`));
    }
    signal.throwIfAborted();
    const review = await d.review({ header: req.header, bundle: req.bundle, original }, devices, signal);
    // nothing awaited between this check and the record: a review stopped records nothing
    signal.throwIfAborted();
    if (!review.ok) return no(refuse(422, "COSIGN_REFUSED", review.why));
    const full: CosignRecord = { ...record, digests: review.digests, keys: review.keys };
    const out = d.storage.recordCosign(full);
    if (out.outcome === "conflict") return { answer: conflict(full, out), record: full };
    return { answer: await d.sign(review.header), record: full };
  }

  /**
   * Reads the reading keys of the co-signed corrections of `original` recorded without them
   * (before SQLite schema 10, PostgreSQL 6) from their bundles in this node's content store, and
   * records them; why not when a bundle cannot be read (503: compared by digest alone, a reading
   * of the same device and seq with another digest would pass).
   */
  async #learnKeys(original: string, signal: AbortSignal): Promise<CosignAnswer | null> {
    const d = this.#deps;
    for (const r of d.storage.cosignsWithoutKeys(original)) {
      const cannot = `this node co-signed correction ${r.attestationId} of ${original} before its co-sign records held each reading's (deviceId, seq), and reads them from its bundle ${r.bundleCid} to compare this correction's with them`;
      let bytes: Uint8Array | null;
      signal.throwIfAborted();
      try {
        bytes = await d.readBundle(r.bundleCid, signal);
      } catch (err) {
        return refuse(503, "COSIGN_RETRY_LATER", `${cannot}; reading it failed (${firstLine(err)}): retry later`);
      }
      if (!bytes)
        return refuse(
          503,
          "COSIGN_RETRY_LATER",
          `${cannot}, which its content store does not hold: retry once the bundle is pinned here`,
        );
      let keys: string[];
      try {
        if (rawCid(bytes) !== r.bundleCid) throw new Error(`the bytes read hash to ${rawCid(bytes)}`);
        const read = bundleReadingKeys(bytes);
        if (read.digests.join() !== r.digests.join())
          throw new Error(`its readings are not the ${r.digests.length} digests the record holds`);
        keys = read.keys;
      } catch (err) {
        return refuse(503, "COSIGN_RETRY_LATER", `${cannot}; ${firstLine(err)}: retry later`);
      }
      d.storage.setCosignKeys(r.attestationId, keys);
    }
    return null;
  }

  /**
   * The request's lead, or why this node does not co-sign for it, from what needs no chain: the
   * lead signs for this node's registry, and its signature of `header` recovers there to another
   * node than this one, and to the node of `key` (an `oracle` key's subject: null for an admin
   * key, which may ask for any node). Whether that node is an active one of the OracleSet is
   * `#activeLead`'s to read.
   */
  async #lead(
    header: BatchHeader,
    domain: CosignDomain,
    signature: Hex,
    key: CosignAsker | null,
  ): Promise<Address | CosignAnswer> {
    const d = this.#deps;
    const own = d.domain;
    if (
      domain.chainId !== own.chainId ||
      domain.verifyingContract.toLowerCase() !== own.verifyingContract.toLowerCase()
    )
      return refuse(
        422,
        "COSIGN_WRONG_REGISTRY",
        `the lead node signs for the AttestationRegistry ${domain.verifyingContract} on chain ${domain.chainId}, this node for ${own.verifyingContract} on chain ${own.chainId}: a header signed for one is worth nothing on the other. Check chain.chainId and chain.attestationRegistry in both nodes' configs: they must name the same registry`,
      );
    let signer: Address;
    try {
      signer = await recoverBatchHeaderSigner(header, own, signature);
    } catch (err) {
      return refuse(
        400,
        "COSIGN_BAD_SIGNATURE",
        `the lead's signature of the header cannot be recovered (${(err as Error).message.split("\n")[0]}): a 65-byte signature (r ‖ s ‖ v) of the header under the request's domain`,
      );
    }
    if (signer.toLowerCase() === d.self.toLowerCase())
      return refuse(
        403,
        "COSIGN_NOT_AN_ORACLE",
        `the lead's signature of this header recovers to this node's own address ${signer}: a node does not co-sign its own header (do two nodes share one chain key? each needs its own)`,
      );
    if (key && signer.toLowerCase() !== key.subject.toLowerCase())
      return refuse(
        403,
        "COSIGN_KEY_NOT_THE_SIGNER",
        `the lead's signature of this header recovers to ${signer}, and the \`oracle\` API key the request came with (key ${key.id}) was issued to the node ${key.subject}: an oracle key asks only for the headers its own node signed (another node's key, a leaked one, or a signature of another header or registry than the request names)`,
      );
    return signer;
  }

  /** Why this node does not co-sign for `signer`, or null when it is an active node of the OracleSet (one chain read). */
  async #activeLead(signer: Address): Promise<CosignAnswer | null> {
    const d = this.#deps;
    const own = d.domain;
    if (!d.isActiveOracle)
      return refuse(
        503,
        "COSIGN_RETRY_LATER",
        `this node cannot read the OracleSet to check that the lead ${signer} is an active node of it, and co-signs for no one meanwhile`,
      );
    let active: boolean;
    try {
      active = await d.isActiveOracle(signer);
    } catch (err) {
      return refuse(
        503,
        "COSIGN_RETRY_LATER",
        `reading the OracleSet (is the lead ${signer} an active node?) failed (${(err as Error).message.split("\n")[0]}): retry later`,
      );
    }
    if (!active)
      return refuse(
        403,
        "COSIGN_NOT_AN_ORACLE",
        `the lead's signature of this header recovers to ${signer}, which is not an active node of the OracleSet of the AttestationRegistry ${own.verifyingContract} on chain ${own.chainId}: this node co-signs only for one (a node removed from the OracleSet, or a signature of another header or registry than the request names)`,
      );
    return null;
  }

  /** The text of a correction's original's bundle, or why it cannot be co-signed. */
  async #original(header: BatchHeader, signal: AbortSignal): Promise<string | CosignAnswer> {
    const d = this.#deps;
    const id = header.correctionOf;
    if (!d.original)
      return refuse(503, "COSIGN_RETRY_LATER", `this node cannot read the registry to check the original ${id}`);
    let o: BatchHeader | null;
    try {
      o = await d.original(id, signal);
    } catch (err) {
      return refuse(
        503,
        "COSIGN_RETRY_LATER",
        `reading the original attestation ${id} from the registry failed: ${(err as Error).message}`,
      );
    }
    if (!o) return refuse(422, "COSIGN_REFUSED", `the registry holds no attestation ${id} (the header's correctionOf)`);
    if (o.correctionOf !== ZERO_BYTES32)
      return refuse(
        422,
        "COSIGN_REFUSED",
        `attestation ${id} is itself a correction: a correction corrects a regular attestation`,
      );
    if (o.facilityId !== header.facilityId)
      return refuse(
        422,
        "COSIGN_REFUSED",
        `the original ${id} is of facility ${o.facilityId}, the correction of ${header.facilityId}`,
      );
    // the registry would revert (AttestationRegistryMethodologyMismatch): a project is scoped by
    // facility and methodology, so a correction of another one would settle another project
    if (o.methodologyId.toLowerCase() !== header.methodologyId.toLowerCase())
      return refuse(
        422,
        "COSIGN_REFUSED",
        `the original ${id} was computed with methodology ${o.methodologyId}, the correction with ${header.methodologyId}: a correction keeps its original's methodology`,
      );
    if (header.periodStart < o.periodStart || header.periodEnd > o.periodEnd)
      return refuse(
        422,
        "COSIGN_REFUSED",
        `the correction's period ${header.periodStart}..${header.periodEnd} is not inside its original ${id}'s ${o.periodStart}..${o.periodEnd}`,
      );
    let bytes: Uint8Array | null;
    signal.throwIfAborted();
    try {
      bytes = await d.readBundle(o.bundleCid, signal);
    } catch (err) {
      return refuse(
        503,
        "COSIGN_RETRY_LATER",
        `reading the original ${id}'s bundle ${o.bundleCid} from this node's content store failed (${(err as Error).message}), so it cannot check that the correction holds none of its readings: retry later`,
      );
    }
    if (!bytes)
      return refuse(
        503,
        "COSIGN_RETRY_LATER",
        `this node cannot read the original ${id}'s bundle ${o.bundleCid} from its content store, so it cannot check that the correction holds none of its readings: retry once the bundle is pinned here`,
      );
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8");
  }
}

function conflict(record: CosignRecord, out: Extract<CosignOutcome, { outcome: "conflict" }>): CosignAnswer {
  const w = out.with;
  // a record without its registry (made before SQLite schema 9, PostgreSQL 5) holds on every
  // registry: said, since after a redeploy it is the one an operator may have to release
  const where = w.registry
    ? ""
    : "; that record predates co-sign records naming their registry, so it holds on every registry (`cosigned release` frees it once its header will never be attested)";
  return refuse(
    409,
    "COSIGN_CONFLICT",
    out.digest
      ? `this node already co-signed correction ${w.attestationId} of ${w.correctionOf}, which holds reading ${sameReading(record, out)}: it does not sign another correction with the same reading (${record.attestationId}; the auditor's verifier counts each (deviceId, seq) of a facility once)${where}`
      : `this node already co-signed ${w.attestationId} for this facility's period ${w.periodStart}..${w.periodEnd}, which overlaps ${record.periodStart}..${record.periodEnd}: it does not sign another header for it (${record.attestationId})${where}`,
  );
}

/**
 * The reading a correction shares with one co-signed, "… too": its `deviceId#seq` and digest, and
 * both digests when they differ (a device's two readings with one seq); its digest alone when the
 * record co-signed holds no keys.
 */
function sameReading(record: CosignRecord, out: Extract<CosignOutcome, { outcome: "conflict" }>): string {
  if (!out.key) return `${out.digest} too`;
  const at = out.key.lastIndexOf("#");
  const reading = `${out.key} (deviceId ${out.key.slice(0, at)}, seq ${out.key.slice(at + 1)})`;
  const here = record.digests[record.keys?.indexOf(out.key) ?? -1];
  return here === undefined || here === out.digest
    ? `${reading} too, with digest ${out.digest}`
    : `${reading} too, with digest ${out.digest} there and ${here} here (the device signed two readings with one seq)`;
}
