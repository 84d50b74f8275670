import {
  ZERO_BYTES32,
  hashBatchHeader,
  recoverBatchHeaderSigner,
  type BatchHeader,
  type Hex,
} from "../../../sdk/src/index.ts";
import type { Address } from "../batch/pipeline.ts";
import { headerFromJson, headerToJson } from "../batch/bundle.ts";
import { DEVICE_SYNC_WAIT_MS, periodSyncMs, type DeviceDirectory, type DeviceInfo } from "../devices/directory.ts";
import type { CosignOutcome, CosignRecord, Storage } from "../storage/types.ts";
import { rawCid } from "../ipfs/store.ts";
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
 * node of the OracleSet, 409 an alternative to a header it co-signed already (equivocation), 413
 * more devices than it looks up for one bundle, 422 a header or bundle it will not sign or a lead
 * of another registry, 503 a check it cannot make now (the OracleSet, the registry or the
 * original's bundle out of reach): the requester retries.
 */
export type CosignAnswer =
  { signer: string; signature: string } | { refused: string; status: 400 | 403 | 409 | 413 | 422 | 503; error: string };

/** Distinct device ids a bundle may name before this node looks any of them up. */
export const MAX_COSIGN_DEVICES = 10_000;

export type CosignerDeps = {
  storage: Pick<Storage, "recordCosign" | "checkCosign">;
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
   * bundle's devices; `signal` aborts once every requester of the review has gone (a review that
   * cannot stop part-way may ignore it: its answer is then thrown away)
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
};

const refuse = (status: 400 | 403 | 409 | 413 | 422 | 503, error: string, refused: string): CosignAnswer => ({
  refused,
  status,
  error,
});

/** A review in flight: its answer, shared by its requesters, and how to stop it once they have all gone. */
type Review = { answer: Promise<CosignAnswer>; stop: AbortController; waiting: number };

/**
 * The answer of a review stopped because every requester went (nobody receives it; a requester
 * without a signal never goes, so it never gets this).
 */
const CANCELLED = refuse(503, "COSIGN_CANCELLED", "the review was stopped: every request for it went away");

/**
 * The co-signer (docs/oracle.md, "Quorum"): `reviewCosign`'s checks of the bundle, and what a
 * stateless review cannot see:
 *
 * - **Who asks, for which registry.** An `oracle` API key names no node of the OracleSet (a node
 *   removed from it keeps its key; a key may leak), yet a header co-signed holds its facility's
 *   period against the real lead's (409 below). So a request carries the lead's own signature of
 *   the header and the registry it signs for (`domain`), and before anything else is done or
 *   recorded: a request without them is refused (400: the lead must be upgraded), a lead of
 *   another registry too (422, naming both: the nodes' `chain.chainId` / `chain.attestationRegistry`
 *   differ), and a signature that does not recover, under this node's domain, to an active node of
 *   the OracleSet other than this one (403; 503 when the OracleSet cannot be read).
 * - **No equivocation.** Before a signature leaves, the header is recorded, durably
 *   (`Storage.recordCosign`), and a header that would be an alternative to one co-signed before
 *   for the same registry (`domain`) is refused (409, naming it): another regular header of the
 *   facility for an overlapping period, or another correction of the same original holding one of
 *   its readings (several corrections of one original are legitimate, each with late readings of
 *   their own). The same attestation id again is signed again (a requester that lost the
 *   answer). A record of another registry (before a redeploy) does not hold; one made before
 *   records named their registry holds on every registry.
 * - **The period.** Only once it has ended `graceS` ago on this node's clock (no header signed
 *   now for a period to come); a correction only of an attestation the registry holds, of the
 *   same facility, inside its period, and with none of the readings of its bundle, which this node
 *   reads from its content store: when it cannot, it refuses with 503 (retry once it is pinned
 *   here) rather than sign blind. Window alignment is not checked: `batching.windowS` is how this
 *   node cuts its own facilities' periods, not the requester's.
 * - **Device records as fresh as the requester's.** A directory that follows the DeviceRegistry
 *   is brought up to the period's end, `graceS` after, before any device is looked up (one poll,
 *   shared by the reviews waiting for it, and none when the regular poll has read that far): the
 *   requester may have read a key rotation or a reactivation that this node would only read at its
 *   next poll, and its readings signed by the new key or stamped after the reactivation would be
 *   refused until then. 503 when the registry cannot be read within `syncWaitMs`.
 * - **Cheap checks first.** The lead (a signature recovered, one OracleSet read), the header,
 *   the bundle's CID and the number of device ids are checked in this thread; the bundle is decoded (on the bundle worker) before any device is looked up;
 *   and requests for the same header and bundle while one is under review share its answer.
 * - **Abandoned reviews stop.** Once every requester of a review has gone (its `signal` aborted:
 *   the HTTP request closed), the review is stopped between its steps (and inside those that take
 *   a signal), its entry dropped at once so that the same request later starts a review of its
 *   own, and it never records a co-sign: the record is taken only if it was still wanted.
 */
export class Cosigner {
  readonly #deps: CosignerDeps;
  readonly #inFlight = new Map<string, Review>();

  constructor(deps: CosignerDeps) {
    this.#deps = deps;
  }

  /**
   * This node's answer to `req`. `signal`: the requester's (its HTTP request closed); once it
   * aborts, the promise rejects with its reason (once the lead's check, which takes no signal, is
   * over), and when it was the review's last requester the review is stopped. Without one, the
   * requester stays for the whole review.
   */
  async cosign(req: CosignRequest, signal?: AbortSignal): Promise<CosignAnswer> {
    signal?.throwIfAborted();
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
    // the lead checked before the bundle is hashed or anything is reviewed or recorded
    const lead = await this.#lead(header, domain, signature);
    signal?.throwIfAborted();
    if (lead) return lead;
    const cid = rawCid(Buffer.from(req.bundle, "utf8"));
    if (cid !== header.bundleCid)
      return refuse(422, "COSIGN_REFUSED", `bundle hashes to ${cid}, the header names ${header.bundleCid}`);
    // the same bytes (their CID) and the same header: one review, its answer to each asker (each
    // of whom passed `#lead`: the header is an active node's, for this node's registry)
    const key = `${cid} ${headerToJson(header)}`;
    let review = this.#inFlight.get(key);
    if (!review) {
      const stop = new AbortController();
      const answer = this.#cosign(req, header, stop.signal)
        .catch((err: unknown) => {
          if (stop.signal.aborted) return CANCELLED; // a step that took the signal threw its reason
          throw err;
        })
        .finally(() => {
          // a stopped review's entry was dropped when it stopped, and may be another's now
          if (this.#inFlight.get(key) === created) this.#inFlight.delete(key);
        });
      const created: Review = { answer, stop, waiting: 0 };
      review = created;
      this.#inFlight.set(key, created);
    }
    return this.#wait(key, review, signal);
  }

  /** `review`'s answer for one more requester, who may leave (`signal`): the last to leave stops it. */
  #wait(key: string, review: Review, signal: AbortSignal | undefined): Promise<CosignAnswer> {
    review.waiting++;
    if (!signal) return review.answer;
    return new Promise<CosignAnswer>((resolve, reject) => {
      const leave = () => {
        if (--review.waiting === 0) {
          // dropped now, not when the review reaches its next step: a request arriving meanwhile
          // must not wait on a review nobody wants
          if (this.#inFlight.get(key) === review) this.#inFlight.delete(key);
          review.stop.abort(new Error("every requester of this co-sign review has gone"));
        }
        reject(signal.reason as Error);
      };
      signal.addEventListener("abort", leave, { once: true });
      review.answer.then(
        (a) => {
          signal.removeEventListener("abort", leave);
          resolve(a);
        },
        (err: unknown) => {
          signal.removeEventListener("abort", leave);
          reject(err as Error);
        },
      );
    });
  }

  /** Reviews in flight (for tests). */
  get inFlight(): number {
    return this.#inFlight.size;
  }

  async #cosign(req: CosignRequest, header: BatchHeader, signal: AbortSignal): Promise<CosignAnswer> {
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
    const record: CosignRecord = {
      attestationId: hashBatchHeader(header, d.domain),
      facilityId: header.facilityId,
      periodStart: Number(header.periodStart),
      periodEnd: Number(header.periodEnd),
      correctionOf: header.correctionOf,
      bundleCid: header.bundleCid,
      digests: [],
      signedAtMs: d.nowMs(),
      registry: { chainId: d.domain.chainId, address: d.domain.verifyingContract.toLowerCase() },
    };
    const correction = header.correctionOf !== ZERO_BYTES32;
    const ids = bundleDeviceIds(req.bundle);
    const max = d.maxDevices ?? MAX_COSIGN_DEVICES;
    if (ids.length > max)
      return refuse(
        413,
        "TOO_MANY_DEVICES",
        `the bundle names ${ids.length} devices; this node looks up at most ${max} for one co-signature`,
      );
    // decoded before any device is looked up (on the bundle worker: seconds for a large window)
    const decoded = await d.review({ header: req.header, bundle: req.bundle, stage: "decode" }, [], signal);
    signal.throwIfAborted();
    if (!decoded.ok) return refuse(422, "COSIGN_REFUSED", decoded.why);
    // a regular header's conflict needs no device: refused before any is looked up
    if (!correction) {
      const early = d.storage.checkCosign(record);
      if (early.outcome === "conflict") return conflict(record, early);
    }
    let original: string | undefined;
    if (correction) {
      const o = await this.#original(header, signal);
      signal.throwIfAborted();
      if (typeof o !== "string") return o;
      original = o;
    }
    if (d.devices.syncedAfter) {
      // every change made before the period ended (graceS after, as the requester's own check
      // before pinning waits for) read: a device's record as the requester's is, not older
      const afterMs = periodSyncMs(Number(header.periodEnd), d.graceS);
      const synced = await d.devices.syncedAfter(afterMs, d.syncWaitMs ?? DEVICE_SYNC_WAIT_MS);
      signal.throwIfAborted();
      if (!synced)
        return refuse(
          503,
          "COSIGN_RETRY_LATER",
          `this node has not read the DeviceRegistry's events up to ${new Date(afterMs).toISOString()} yet (is its RPC node out of reach?)`,
        );
    }
    let devices: DeviceInfo[];
    signal.throwIfAborted(); // one registry call a device: not made for nobody
    try {
      devices = (await Promise.all(ids.map((id) => d.devices.get(id)))).filter((x): x is DeviceInfo => x !== null);
    } catch (err) {
      return refuse(503, "COSIGN_RETRY_LATER", `looking the bundle's devices up failed: ${(err as Error).message}`);
    }
    signal.throwIfAborted();
    const review = await d.review({ header: req.header, bundle: req.bundle, original }, devices, signal);
    // nothing awaited between this check and the record: a review nobody wants records nothing
    signal.throwIfAborted();
    if (!review.ok) return refuse(422, "COSIGN_REFUSED", review.why);
    const out = d.storage.recordCosign({ ...record, digests: review.digests });
    if (out.outcome === "conflict") return conflict(record, out);
    return d.sign(review.header);
  }

  /**
   * Why this node does not co-sign for the request's lead, or null when it does: the lead signs
   * for this node's registry, and its signature of `header` recovers there to an active node of
   * the OracleSet other than this one.
   */
  async #lead(header: BatchHeader, domain: CosignDomain, signature: Hex): Promise<CosignAnswer | null> {
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
        `the lead's signature of this header recovers to ${signer}, which is not an active node of the OracleSet of the AttestationRegistry ${own.verifyingContract} on chain ${own.chainId}: this node co-signs only for one (a node removed from the OracleSet, an \`oracle\` API key used by a holder without its node's key, or a signature of another header or registry than the request names)`,
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
      ? `this node already co-signed correction ${w.attestationId} of ${w.correctionOf}, which holds reading ${out.digest} too: it does not sign another correction with the same reading (${record.attestationId})${where}`
      : `this node already co-signed ${w.attestationId} for this facility's period ${w.periodStart}..${w.periodEnd}, which overlaps ${record.periodStart}..${record.periodEnd}: it does not sign another header for it (${record.attestationId})${where}`,
  );
}
