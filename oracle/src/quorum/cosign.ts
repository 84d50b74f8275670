import {
  ZERO_BYTES32,
  bundleHeader,
  canonicalSignature,
  canonicalJson,
  checkBundle,
  decodeBundle,
  defaultSignatureVerifier,
  verifyBatchHeaderSignature,
  type Bundle,
  type BatchHeader,
  type Hex,
} from "../../../sdk/src/index.ts";
import type { Address } from "../batch/pipeline.ts";
import { rawCid } from "../ipfs/store.ts";
import { headerFromJson, headerToJson } from "../batch/bundle.ts";
import type { EmissionsCalculator } from "../compute/emissions.ts";
import { inactiveAt, keysValidAt, type DeviceDirectory, type DeviceInfo } from "../devices/directory.ts";
import type { FacilityContext } from "../../../sdk/src/index.ts";

/**
 * k-of-n quorum (docs/oracle.md, "Quorum"): the node that sealed a batch asks the other oracle
 * nodes to co-sign its EIP-712 header. A co-signer trusts nothing it is sent: it signs only a
 * header that is exactly the one the bundle backs, whose bundle hashes to the header's CID,
 * whose every link re-checks (sdk `checkBundle`: factor-set id, digests, root, each result and
 * the totals recomputed, each device signature under the key its own device directory holds for
 * the reading's time), computed with its own methodology, factor set and facility context.
 */
export type CosignRequest = {
  header: string;
  bundle: string;
  /**
   * The registry the lead node signs for (its `chain.chainId` and `chain.attestationRegistry`: the
   * EIP-712 domain). A co-signer of another registry refuses (422 COSIGN_WRONG_REGISTRY) rather
   * than sign a header under a domain the lead does not share.
   */
  domain?: CosignDomain;
  /**
   * The lead node's own signature of the header under `domain`: a co-signer signs, and records,
   * only a header an active node of the OracleSet asked for (an `oracle` API key names no node).
   * Both are absent in a request of a node from before they were sent: refused with 400.
   */
  signature?: Hex;
};

/** An AttestationRegistry, as the EIP-712 domain of the headers signed for it. */
export type CosignDomain = { chainId: number; verifyingContract: Address };

/**
 * What a review is given (quorum/cosigner.ts builds it; a requester's body is never passed as is):
 * the header and bundle; `stage: "decode"` to stop after the checks that need no device (the
 * header, the CID, decoding, the methodology and context), before the node looks the devices up;
 * `original`, for a correction, the text of its original's bundle as this node's content store
 * holds it.
 */
export type ReviewRequest = Pick<CosignRequest, "header" | "bundle"> & { stage?: "decode"; original?: string };

/**
 * A review's answer; `digests` and `keys`: the readings of a correction, their digests and their
 * `deviceId#seq` (`readingKey`), in the bundle's order (both empty for a regular header).
 */
export type ReviewResult =
  { ok: true; header: BatchHeader; digests: string[]; keys: string[] } | { ok: false; why: string };

/**
 * A reading's `deviceId#seq`: what the auditor's verifier (sdk `verifyAttestation`, "no reading
 * attested twice for the facility") holds to be one reading, whatever its digest. A device that
 * signed two readings with one seq (a re-signed reading, or equivocation) made two digests of one
 * key; counting both fails that check. A device id holds no `#` (a-z, 0-9, `.`, `_`, `-`).
 */
export function readingKey(r: { envelope: { reading: { deviceId: string; seq: number } } }): string {
  return `${r.envelope.reading.deviceId}#${r.envelope.reading.seq}`;
}

/**
 * The bundle the last `stage: "decode"` review decoded, taken by the full review of the same CID
 * that follows it (the same bytes: the CID is their hash), so that it is decoded once. One entry:
 * a review whose full stage never comes is dropped by the next one.
 */
let decoded: { cid: string; bundle: Bundle } | null = null;

/**
 * Why a co-signer refuses a header, or the header it may sign. `signal`: once aborted (nobody
 * wants the answer any more), the review throws its reason at its next step (after decoding,
 * before each device look-up, before the signatures are checked) instead of going on.
 */
export async function reviewCosign(
  req: ReviewRequest,
  deps: {
    calculator: Pick<EmissionsCalculator, "methodologyId" | "factorSetId" | "facilityContext">;
    devices: Pick<DeviceDirectory, "get">;
    signal?: AbortSignal;
  },
): Promise<ReviewResult> {
  const signal = deps.signal;
  let header: BatchHeader;
  try {
    header = headerFromJson(req.header);
  } catch (err) {
    return { ok: false, why: `header is not a batch header: ${(err as Error).message}` };
  }
  const bytes = Buffer.from(req.bundle, "utf8");
  const cid = rawCid(bytes);
  if (cid !== header.bundleCid)
    return { ok: false, why: `bundle hashes to ${cid}, the header names ${header.bundleCid}` };
  let bundle: Bundle;
  if (decoded && decoded.cid === cid && req.stage !== "decode") {
    bundle = decoded.bundle;
    decoded = null;
  } else {
    decoded = null;
    try {
      bundle = decodeBundle(bytes);
    } catch (err) {
      return { ok: false, why: `bundle is not a canonical evidence bundle: ${(err as Error).message}` };
    }
  }
  signal?.throwIfAborted();
  if (headerToJson(bundleHeader(bundle, cid)) !== headerToJson(header)) {
    return { ok: false, why: "the header's fields are not the ones the bundle backs (root, totals, period, ids)" };
  }
  const { calculator } = deps;
  if (bundle.methodologyId !== calculator.methodologyId || bundle.factorSet.id !== calculator.factorSetId) {
    return {
      ok: false,
      why: `computed with methodology ${bundle.methodologyId} and factor set ${bundle.factorSet.id}; this node uses ${calculator.methodologyId} and ${calculator.factorSetId}`,
    };
  }
  const context = calculator.facilityContext(bundle.facilityId);
  if (canonicalJson(bundle.facilityContext) !== canonicalJson(context)) {
    return {
      ok: false,
      why: `facility context ${canonicalJson(bundle.facilityContext)} differs from this node's ${canonicalJson(context)} for ${bundle.facilityId}`,
    };
  }
  if (req.stage === "decode") {
    decoded = { cid, bundle };
    return { ok: true, header, digests: [], keys: [] };
  }
  const correction = header.correctionOf !== ZERO_BYTES32;
  if (correction && req.original !== undefined) {
    // a correction adds readings its original lacked: one the original holds would count twice
    // (the registry cannot see readings, so it cannot refuse that). One reading is one
    // (deviceId, seq), as the auditor's verifier holds, whatever its digest: a device's other
    // reading with a seq of the original's is refused too
    let original: Bundle;
    try {
      original = decodeBundle(Buffer.from(req.original, "utf8"));
    } catch (err) {
      return { ok: false, why: `the original's bundle is not a canonical evidence bundle: ${(err as Error).message}` };
    }
    const theirs = new Map(original.readings.map((r) => [readingKey(r), r.digest]));
    const again = bundle.readings
      .filter((r) => theirs.has(readingKey(r)))
      .map((r) =>
        theirs.get(readingKey(r)) === r.digest
          ? `${readingKey(r)} ${r.digest}`
          : `${readingKey(r)} ${r.digest}, there ${theirs.get(readingKey(r))}: the device signed two readings with one seq`,
      );
    if (again.length)
      return {
        ok: false,
        why: `${again.length} reading${again.length > 1 ? "s are" : " is"} already in the original attestation ${header.correctionOf}'s bundle, by (deviceId, seq) (${again.slice(0, 5).join("; ")}${again.length > 5 ? "; …" : ""}): a correction adds late readings, it does not count the original's again`,
      };
  }
  // each device once: registered to the bundle's facility, and active at each of its readings'
  // times (ingest takes no reading of a device that is not active: neither does a co-signer)
  const known = new Map<string, Promise<DeviceInfo | null>>();
  const device = (id: string) => {
    let d = known.get(id);
    if (!d) known.set(id, (d = deps.devices.get(id)));
    return d;
  };
  const refused = new Map<string, string>();
  for (const r of bundle.readings) {
    const { deviceId, ts } = r.envelope.reading;
    if (refused.has(deviceId)) continue;
    signal?.throwIfAborted();
    const d = await device(deviceId);
    const why = !d
      ? `device ${deviceId} is not registered`
      : d.facilityId !== bundle.facilityId
        ? `device ${deviceId} belongs to ${d.facilityId}, not ${bundle.facilityId}`
        : inactiveAt(d, ts);
    if (why) refused.set(deviceId, `${why}: reading ${r.digest}`);
  }
  if (refused.size) {
    const list = [...refused.values()];
    return {
      ok: false,
      why: `${list.slice(0, 20).join("; ")}${list.length > 20 ? `; and ${list.length - 20} devices more` : ""}`,
    };
  }
  signal?.throwIfAborted();
  const checks = await checkBundle(bundle, {
    // Node's WebCrypto (OpenSSL on the libuv thread pool): the sdk's default, pure-JS noble, checks
    // a few hundred signatures a second and would hold this node's main thread for the whole window
    signatures: defaultSignatureVerifier(),
    publicKeyOf: async (deviceId, ts) => {
      const d = await device(deviceId);
      if (!d || d.facilityId !== bundle.facilityId || inactiveAt(d, ts)) return null;
      return keysValidAt(d, ts)[0]?.publicKey ?? null;
    },
  });
  const failed = checks.filter((c) => !c.ok || c.skipped);
  if (failed.length) return { ok: false, why: failed.map((c) => `${c.link}: ${c.detail}`).join("; ") };
  return {
    ok: true,
    header,
    digests: correction ? bundle.readings.map((r) => r.digest) : [],
    keys: correction ? bundle.readings.map(readingKey) : [],
  };
}

/**
 * What a review on another thread (batch/bundle-worker.ts) needs of this node's calculator, as
 * plain data: its methodology and factor-set ids and its facilities' context.
 */
export type PostedReviewer = {
  methodologyId: Hex;
  factorSetId: Hex;
  facilities: Record<string, FacilityContext>;
};

/** The calculator side of `reviewCosign` from a `PostedReviewer`. */
export function reviewerCalculator(
  r: PostedReviewer,
): Pick<EmissionsCalculator, "methodologyId" | "factorSetId" | "facilityContext"> {
  return { methodologyId: r.methodologyId, factorSetId: r.factorSetId, facilityContext: (f) => r.facilities[f] ?? {} };
}

/**
 * The device ids a bundle's readings name, read off its text without parsing it, so that the
 * thread holding the device directory can look their keys up for a review on another thread.
 * A bundle is canonical JSON (RFC 8785 writes a string's characters as they are, escaping only
 * quotes, backslashes and control characters, none of which an id may hold), so this finds
 * every id; one it missed would have no key in that review, which then refuses the header.
 */
export function bundleDeviceIds(bundle: string): string[] {
  const ids = new Set<string>();
  for (const m of bundle.matchAll(/"deviceId":"([^"\\]*)"/g)) ids.add(m[1]!);
  return [...ids];
}

export type Peer = { url: string; apiKey?: string };

/**
 * Asks every peer to co-sign, at once, and keeps the answers that are valid signatures over this
 * header by an active oracle node other than this one. Says why for every peer that did not give
 * one (unreachable, refused with its reason, a signature that does not recover to its signer).
 * Each request carries `signature`, this node's own of the header under `domain`, and `domain`:
 * a peer co-signs only for an active node of the OracleSet, and only for its own registry.
 */
export async function collectCosignatures(opts: {
  peers: readonly Peer[];
  header: BatchHeader;
  bundle: Uint8Array;
  domain: CosignDomain;
  self: Address;
  /** this node's signature of `header` under `domain` (the one it submits with its peers') */
  signature: Hex;
  isActiveOracle: (a: Address) => Promise<boolean>;
  timeoutMs: number;
}): Promise<{ signed: { signer: Address; signature: Hex }[]; problems: string[] }> {
  const body = JSON.stringify({
    header: headerToJson(opts.header),
    bundle: Buffer.from(opts.bundle.buffer, opts.bundle.byteOffset, opts.bundle.byteLength).toString("utf8"),
    domain: { chainId: opts.domain.chainId, verifyingContract: opts.domain.verifyingContract },
    signature: opts.signature,
  } satisfies CosignRequest);
  const signed: { signer: Address; signature: Hex }[] = [];
  const problems: string[] = [];
  await Promise.all(
    opts.peers.map(async (peer) => {
      const url = `${peer.url.replace(/\/$/, "")}/v1/quorum/cosign`;
      try {
        const res = await fetch(url, {
          method: "POST",
          headers: { "content-type": "application/json", ...(peer.apiKey ? { "x-api-key": peer.apiKey } : {}) },
          body,
          signal: AbortSignal.timeout(opts.timeoutMs),
        });
        const answer = (await res.json().catch(() => ({}))) as {
          signer?: string;
          signature?: string;
          message?: string;
        };
        if (!res.ok) {
          // another node's text, quoted in the batch error and the log (each scrubbed for URLs on
          // the way): its first 500 characters say why, the rest (a megabyte, perhaps) is not copied
          const message = String(answer.message ?? "");
          const cut = /[\ud800-\udbff]/.test(message.charAt(499)) ? 499 : 500; // not half a surrogate pair
          const said = message.length > 500 ? `${message.slice(0, cut)}… (${message.length} characters)` : message;
          return problems.push(`${peer.url}: ${res.status} ${said}`.trim());
        }
        const { signer, signature } = answer;
        if (!signer || !/^0x[0-9a-fA-F]{40}$/.test(signer) || !signature || !/^0x[0-9a-fA-F]{130}$/.test(signature)) {
          return problems.push(`${peer.url}: the answer is not { signer, signature }`);
        }
        if (signer.toLowerCase() === opts.self.toLowerCase()) return problems.push(`${peer.url}: signs as this node`);
        if (canonicalSignature(signature as Hex) === null) {
          return problems.push(
            `${peer.url}: the signature's v is ${parseInt(signature.slice(130), 16)}, not 0, 1, 27 or 28`,
          );
        }
        if (!(await verifyBatchHeaderSignature(opts.header, opts.domain, signature as Hex, signer as Address))) {
          return problems.push(`${peer.url}: the signature is not ${signer}'s over this header`);
        }
        if (!(await opts.isActiveOracle(signer as Address))) {
          return problems.push(`${peer.url}: ${signer} is not an active node of the OracleSet`);
        }
        if (!signed.some((s) => s.signer.toLowerCase() === signer.toLowerCase())) {
          // the form the OracleSet takes (v 27/28, low s): recovery here accepts the others too
          signed.push({ signer: signer as Address, signature: canonicalSignature(signature as Hex)! });
        }
      } catch (err) {
        problems.push(`${peer.url}: ${(err as Error).message}`);
      }
    }),
  );
  return { signed, problems };
}
