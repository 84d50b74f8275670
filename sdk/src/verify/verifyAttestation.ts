import {
  BaseError,
  ContractFunctionRevertedError,
  decodeFunctionData,
  isAddressEqual,
  type Address,
  type Hex,
  type PublicClient,
} from "viem";
import { bundleCidAsync, decodeBundle } from "../bundle/bundle.ts";
import { checkBundleDetailed, type LinkCheck } from "../bundle/check.ts";
import type { Bundle } from "../bundle/schema.ts";
import { hashBatchHeader, recoverQuorumSigners, type BatchHeader } from "../eip712/batchHeader.ts";
import { deviceInactiveAt, type DeviceStatusHistory } from "../devices/inactiveAt.ts";
import { readDeviceStatusHistory } from "../devices/readDeviceStatusHistory.ts";
import { SdkError } from "../errors.ts";
import { factorSetId } from "../factors/factorSet.ts";
import { bytesToHex, hexToBytes } from "../hex.ts";
import { bytes32ToId, idToBytes32 } from "../ids.ts";
import { leafHash } from "../merkle/hash.ts";
import { getProof } from "../merkle/proof.ts";
import { proofsNotReachingRoot } from "./inclusion.ts";
import { readingDigest } from "../reading/digest.ts";
import type { Envelope } from "../reading/schema.ts";
import { publicKeyFromXY } from "../reading/sign.ts";
import { canonicalBytes } from "../reading/canonical.ts";
import { attestationRegistryAbi, deviceRegistryAbi, oracleSetAbi } from "./abi.ts";
import {
  createVerifyCache,
  memo,
  shared,
  type BundleReadingKeys,
  type DeviceEntry,
  type Submitted,
  type VerifyCache,
} from "./cache.ts";
import { nobleSignatureVerifier, type SignatureBatchVerifier } from "./signatures.ts";
import type { BundleSource } from "./sources.ts";
import { walkEvents, type EventReadOptions } from "./walkEvents.ts";

export type VerifyTarget = { attestationId: Hex } | { envelope: Envelope };

export type VerifyOptions = EventReadOptions & {
  client: PublicClient;
  registry: Address;
  /** DeviceRegistry address; without it device signatures are a FAIL (keys unknown). */
  deviceRegistry?: Address;
  target: VerifyTarget;
  source: BundleSource;
  /** How many readings to also prove with the registry's on-chain `verifyReading` (default 16). */
  onchainProofs?: number;
  /**
   * Fetch the bundles of the facility's other attestations and check that no reading is
   * attested twice (default true; needs a source that fetches by CID).
   */
  checkHistory?: boolean;
  /**
   * How many of the facility's other attestations the no-double-attestation link reads at once
   * (default 8; bundle requests are also limited over the whole walk by the cache).
   */
  historyConcurrency?: number;
  /** How device signatures are checked (default @noble/curves; the web app passes WebCrypto). */
  signatures?: SignatureBatchVerifier;
  /** Called with each link as soon as it is decided, in report order. */
  onCheck?: (check: LinkCheck) => void;
  /**
   * Shared between the verifications of one walk (a credit's attestations): bundles, event
   * lists and device keys are fetched once. Default: a fresh cache per call.
   */
  cache?: VerifyCache;
};

/** What the verifier looked at, for a page to show beside the links (never needed to judge them). */
export type VerifyEvidence = {
  header: BatchHeader;
  txHash: Hex;
  blockNumber: bigint;
  /** Size of the bundle bytes fetched, when they were. */
  bundleBytes?: number;
  /** The first readings of the bundle (at most 10), when it decoded. */
  readings?: { deviceId: string; seq: number; ts: number; digest: string; fossilCo2eMg: string }[];
  /**
   * What the bundle's results were computed with and nothing on-chain vouches for but the quorum:
   * the facility context (to compare with the facility's registration, docs/bundle.md) and the
   * factor set (one object per id a walk: a facility's bundles mostly share one).
   */
  facilityContext?: Bundle["facilityContext"];
  factorSet?: Bundle["factorSet"];
};

export type VerifyReport = { attestationId: Hex | null; checks: LinkCheck[]; ok: boolean; evidence?: VerifyEvidence };

const pass = (link: string, detail: string): LinkCheck => ({ link, ok: true, detail });
const fail = (link: string, detail: string): LinkCheck => ({ link, ok: false, detail });

/** `AttestationSubmitted` events of the registry (by id, by facility, or all), through the cache when given. */
export function findSubmissions(
  o: Omit<VerifyOptions, "target">,
  args: { id?: Hex; facilityId?: Hex },
): Promise<Submitted[]> {
  return findSubmissionsCached(o, args);
}

function findSubmissionsCached(
  o: Omit<VerifyOptions, "target">,
  args: { id?: Hex; facilityId?: Hex },
): Promise<Submitted[]> {
  const cache = o.cache;
  if (!cache) return fetchSubmissions(o, args);
  const key = `${o.registry}:${args.id ?? ""}:${args.facilityId ?? ""}:${o.fromBlock ?? 0n}`;
  let found = cache.submissions.get(key);
  if (!found) {
    found = fetchSubmissions(o, args);
    cache.submissions.set(key, found);
  }
  return found;
}

/** Whether attestation `id` is revoked, read once per walk (`o.cache.revoked`). */
function isRevokedCached(o: Omit<VerifyOptions, "target"> & { cache: VerifyCache }, id: Hex): Promise<boolean> {
  return memo(o.cache.revoked, `${o.registry}:${id}`, () =>
    o.client.readContract({ address: o.registry, abi: attestationRegistryAbi, functionName: "isRevoked", args: [id] }),
  );
}

async function fetchSubmissions(
  o: Omit<VerifyOptions, "target">,
  args: { id?: Hex; facilityId?: Hex },
): Promise<Submitted[]> {
  const logs = await walkEvents(o, {
    address: o.registry,
    abi: attestationRegistryAbi,
    eventName: "AttestationSubmitted",
    args,
  });
  return logs.map((log) => ({
    id: log.args.id as Hex,
    header: log.args.header as BatchHeader,
    bitmap: log.args.signerBitmap as bigint,
    txHash: log.transactionHash as Hex,
    blockNumber: log.blockNumber as bigint,
  }));
}

/**
 * The auditor's verifier: re-checks every link from the chain back to the signed readings.
 * Returns one check per link; `ok` only when all pass. Browser-safe (viem + a BundleSource).
 */
export async function verifyAttestation(options: VerifyOptions): Promise<VerifyReport> {
  const o: VerifyOptions & { cache: VerifyCache } = { ...options, cache: options.cache ?? createVerifyCache() };
  const checks: LinkCheck[] = [];
  const push = (c: LinkCheck) => {
    checks.push(c);
    o.onCheck?.(c);
  };
  const chainId = await (o.cache.chainId ??= o.client.getChainId());
  const domain = { chainId, verifyingContract: o.registry };

  // 1. Which attestation.
  let sub: Submitted | undefined;
  let bytes: Uint8Array | undefined;
  /** The CID `bytes` hash to (the envelope path hashed them already). */
  let bytesCid: string | undefined;
  let envelopeDigest: Hex | undefined;
  if ("attestationId" in o.target) {
    const found = await findSubmissions(o, { id: o.target.attestationId });
    sub = found[0];
    if (!sub) {
      push(
        fail(
          "attestation on chain",
          `no AttestationSubmitted event for ${o.target.attestationId} at ${o.registry} on chain ${chainId}`,
        ),
      );
      return { attestationId: o.target.attestationId, checks, ok: false };
    }
  } else {
    const reading = o.target.envelope.reading;
    envelopeDigest = bytesToHex(readingDigest(reading));
    const candidates = (await findSubmissions(o, { facilityId: idToBytes32(reading.facilityId) })).filter(
      (s) => BigInt(reading.ts) >= s.header.periodStart && BigInt(reading.ts) < s.header.periodEnd,
    );
    const unreadable: string[] = [];
    // a revoked attestation holding the reading is taken only when no live one does: a revoked
    // period re-attested whole by a correction holds its readings again (review: the older,
    // revoked one was found first, and an honest reading was NOT VERIFIED)
    let revokedHolder: { sub: Submitted; bytes: Uint8Array; cid: string } | undefined;
    for (const c of candidates) {
      let b: Uint8Array;
      let got: string;
      try {
        ({ bytes: b, cid: got } = await getHashedBytes(o, c.header.bundleCid));
      } catch (error) {
        // An unreachable bundle is reported in the FAIL line below if no other candidate holds the reading.
        unreadable.push(`${c.id}: ${(error as Error).message.split("\n")[0]}`);
        continue;
      }
      if (got !== c.header.bundleCid) {
        // the source served other bytes under this CID: said in the FAIL, never dropped silently
        unreadable.push(`${c.id}: bytes from ${o.source.describe} hash to ${got}, not ${c.header.bundleCid}`);
        continue;
      }
      let decoded: Bundle;
      try {
        decoded = decodeBundle(b);
      } catch (error) {
        if (!(error instanceof SdkError)) throw error;
        unreadable.push(`${c.id}: ${error.message.split("\n")[0]}`);
        continue;
      }
      if (decoded.readings.some((r) => r.digest === envelopeDigest)) {
        if (await isRevokedCached(o, c.id)) {
          revokedHolder ??= { sub: c, bytes: b, cid: got };
          continue;
        }
        sub = c;
        bytes = b;
        bytesCid = got;
        break;
      }
    }
    if (!sub && revokedHolder) ({ sub, bytes, cid: bytesCid } = revokedHolder);
    if (!sub) {
      push(
        fail(
          "reading attested",
          `no attestation of ${reading.facilityId} covering ts ${reading.ts} has a bundle (from ${o.source.describe}) containing digest ${envelopeDigest} (${candidates.length} candidate(s)${unreadable.length > 0 ? `; unreadable: ${unreadable.join("; ")}` : ""})`,
        ),
      );
      return { attestationId: null, checks, ok: false };
    }
  }
  const { id, header } = sub;
  const evidence: VerifyEvidence = { header, txHash: sub.txHash, blockNumber: sub.blockNumber };

  // 2. The registry's record and the header's id.
  const recomputedId = hashBatchHeader(header, domain);
  push(
    recomputedId === id
      ? pass("attestation id = EIP-712 digest of the header", `${id} (chain ${chainId}, registry ${o.registry})`)
      : fail("attestation id = EIP-712 digest of the header", `event id ${id}, header hashes to ${recomputedId}`),
  );
  const record = await o.client.readContract({
    address: o.registry,
    abi: attestationRegistryAbi,
    functionName: "getAttestation",
    args: [id],
  });
  if (record.revokedAt !== 0n) push(fail("attestation not revoked", `revoked at ${record.revokedAt}`));
  else push(pass("attestation not revoked", `submitted at ${record.submittedAt}, block ${sub.blockNumber}`));
  push(
    record.merkleRoot === header.merkleRoot
      ? pass("stored root = header root", header.merkleRoot)
      : fail("stored root = header root", `registry stores ${record.merkleRoot}, header says ${header.merkleRoot}`),
  );
  if (header.correctionOf !== `0x${"00".repeat(32)}`) {
    const original = await o.client.readContract({
      address: o.registry,
      abi: attestationRegistryAbi,
      functionName: "exists",
      args: [header.correctionOf],
    });
    push(
      original
        ? pass("corrected attestation exists", header.correctionOf)
        : fail("corrected attestation exists", `${header.correctionOf} unknown`),
    );
  }

  // 3. Bundle bytes and CID.
  if (!bytes) {
    try {
      ({ bytes, cid: bytesCid } = await getHashedBytes(o, header.bundleCid));
    } catch (error) {
      push(
        fail(
          "bundle CID = on-chain CID",
          `cannot get the bundle from ${o.source.describe}: ${(error as Error).message}`,
        ),
      );
      return { attestationId: id, checks, ok: false, evidence };
    }
  }
  const cid = bytesCid ?? (await bundleCidAsync(bytes));
  evidence.bundleBytes = bytes.length;
  if (cid !== header.bundleCid) {
    push(
      fail(
        "bundle CID = on-chain CID",
        `bytes from ${o.source.describe} hash to ${cid}, header says ${header.bundleCid}`,
      ),
    );
    return { attestationId: id, checks, ok: false, evidence };
  }
  push(pass("bundle CID = on-chain CID", `${cid} (${bytes.length} bytes from ${o.source.describe})`));
  let bundle: Bundle;
  try {
    bundle = decodeBundle(bytes);
  } catch (error) {
    if (!(error instanceof SdkError)) throw error;
    push(fail("bundle format", error.message));
    return { attestationId: id, checks, ok: false, evidence };
  }
  push(pass("bundle format", `${bundle.format}, canonical, ${bundle.readings.length} readings`));
  // The no-double-attestation links of the walk's other attestations compare against these keys.
  if (!o.cache.readingKeys.has(cid)) {
    const decoded = bundle;
    o.cache.readingKeys.set(
      cid,
      Promise.resolve({
        keys: decoded.readings.map((r) => `${r.envelope.reading.deviceId}#${r.envelope.reading.seq}`),
        digests: decoded.readings.map((r) => r.digest),
      }),
    );
  }
  evidence.facilityContext = bundle.facilityContext;
  evidence.factorSet = internFactorSet(o.cache, bundle.factorSet);
  evidence.readings = bundle.readings.slice(0, 10).map((r) => ({
    deviceId: r.envelope.reading.deviceId,
    seq: r.envelope.reading.seq,
    ts: r.envelope.reading.ts,
    digest: r.digest,
    fossilCo2eMg: r.result.fossilCo2eMg,
  }));

  // 4. Header fields = bundle.
  const mismatches: string[] = [];
  const eq = (name: string, a: unknown, b: unknown) => {
    if (String(a) !== String(b)) mismatches.push(`${name}: header ${String(a)}, bundle ${String(b)}`);
  };
  eq("facilityId", bytes32ToIdSafe(header.facilityId), bundle.facilityId);
  eq("periodStart", header.periodStart, bundle.period.start);
  eq("periodEnd", header.periodEnd, bundle.period.end);
  eq("merkleRoot", header.merkleRoot, bundle.root);
  eq("readingCount", header.readingCount, bundle.totals.readingCount);
  eq("fossilCo2eGrams", header.fossilCo2eGrams, bundle.totals.fossilCo2eGrams);
  eq("biogenicCo2Grams", header.biogenicCo2Grams, bundle.totals.biogenicCo2Grams);
  eq("methodologyId", header.methodologyId, bundle.methodologyId);
  eq("factorSetId", header.factorSetId, bundle.factorSet.id);
  eq("correctionOf", header.correctionOf, bundle.correctionOf);
  push(
    mismatches.length === 0
      ? pass(
          "header = bundle (facility, period, root, count, totals, methodology, factor set)",
          `fossil ${header.fossilCo2eGrams} g CO2e, biogenic ${header.biogenicCo2Grams} g`,
        )
      : fail("header = bundle (facility, period, root, count, totals, methodology, factor set)", mismatches.join("; ")),
  );

  // 5. Everything recomputable from the bundle alone, and device signatures with registry keys.
  const keyOf = o.deviceRegistry ? deviceKeyLookup(o, o.deviceRegistry, bundle.facilityId) : undefined;
  const inner = await checkBundleDetailed(bundle, {
    ...(keyOf ? { publicKeyOf: keyOf.get } : {}),
    signatures: o.signatures ?? nobleSignatureVerifier,
    onCheck: push,
  });
  if (!keyOf) push(fail("device signatures", "no DeviceRegistry address (--device-registry): device keys unknown"));
  else if (keyOf.problems.length > 0) push(fail("devices registered to the facility", keyOf.problems.join("; ")));
  else
    push(
      pass(
        "devices registered to the facility",
        `${keyOf.devices.size} device(s) of ${bundle.facilityId} in DeviceRegistry ${o.deviceRegistry}: ${keyOf.describe()}`,
      ),
    );
  if (!keyOf || !o.deviceRegistry)
    push(fail("device status", "no DeviceRegistry address (--device-registry): device status unknown"));
  else push(await checkDeviceStatus(o, o.deviceRegistry, bundle, keyOf.entryOf));

  // 6. Inclusion: every reading's proof, off-chain, up to the root the registry stores; a sample
  // (and the envelope asked about) also through the registry's own verifyReading.
  const { tree, digests } = inner;
  const offChainMisses = proofsNotReachingRoot(tree, digests, hexToBytes(record.merkleRoot)).map((i) => {
    const r = bundle.readings[i]!.envelope.reading;
    return `${r.deviceId}#${r.seq}`;
  });
  const limit = o.onchainProofs ?? 16;
  const sample = digests
    .map((digest, i) => ({ digest, i }))
    .filter(({ i }) => i < limit || bundle.readings[i]!.digest === envelopeDigest)
    .map(({ digest, i }) => ({ leaf: leafHash(digest), i }));
  const onChain = await Promise.all(
    sample.map(({ leaf }) =>
      o.client.readContract({
        address: o.registry,
        abi: attestationRegistryAbi,
        functionName: "verifyReading",
        args: [id, leaf, getProof(tree, leaf)],
      }),
    ),
  );
  const notProven = sample
    .filter((_, k) => !onChain[k])
    .map(({ i }) => `${bundle.readings[i]!.envelope.reading.deviceId}#${bundle.readings[i]!.envelope.reading.seq}`);
  push(
    notProven.length === 0 && offChainMisses.length === 0
      ? pass(
          "readings included in the attested root",
          `all ${bundle.readings.length} leaves under ${record.merkleRoot}; ${sample.length} proven with AttestationRegistry.verifyReading`,
        )
      : fail(
          "readings included in the attested root",
          `${offChainMisses.length} proof(s) do not reach the stored root ${record.merkleRoot} (first ${offChainMisses[0] ?? "—"}); ${notProven.length} rejected by verifyReading (first ${notProven[0] ?? "—"}); off-chain root ${tree.root}`,
        ),
  );
  if (envelopeDigest && "envelope" in o.target) {
    const inBundle = bundle.readings.find((r) => r.digest === envelopeDigest);
    const ok = inBundle !== undefined && inBundle.envelope.sig.toLowerCase() === o.target.envelope.sig.toLowerCase();
    push(
      ok
        ? pass("envelope = bundle entry", `digest ${envelopeDigest}`)
        : fail("envelope = bundle entry", `signature in the bundle differs for digest ${envelopeDigest}`),
    );
    if (keyOf && ok) {
      const env = o.target.envelope;
      const key = await keyOf.get(env.reading.deviceId, env.reading.ts);
      const message = canonicalBytes(env.reading);
      const [valid] =
        key === null
          ? [false]
          : await (o.signatures ?? nobleSignatureVerifier).verify([
              { message, digest: readingDigest(env.reading), sig: env.sig, publicKey: key },
            ]);
      push(
        valid
          ? pass("envelope signature", "valid under the registered key")
          : fail("envelope signature", "not valid under the registered key"),
      );
    }
  }

  // 7. Quorum: signatures from the submitting transaction, signers = bitmap, count ≥ threshold.
  push(await checkQuorum(o, sub, domain));

  // 8. No reading attested twice among the facility's attestations (corrections included).
  // Not asked for: said as a SKIP (review: the link was left out, and a report without it read as
  // a clean one)
  if (o.checkHistory !== false) push(await checkHistory(o, sub, bundle));
  else
    push({
      link: "no reading attested twice for the facility",
      ok: true,
      skipped: true,
      detail: "not checked: asked not to (--skip-history, checkHistory: false)",
    });

  return { attestationId: id, checks, ok: checks.every((c) => c.ok), evidence };
}

/**
 * Bundle bytes by CID, within the walk's limit of requests in flight; asks for one CID while it is
 * in flight share the request. The bytes are not kept: whoever needs them again fetches again.
 */
export function getBytes(o: Omit<VerifyOptions, "target"> & { cache: VerifyCache }, cid: string): Promise<Uint8Array> {
  return shared(o.cache.bytes, cid, () => o.cache.fetchSlot(() => o.source.get(cid)));
}

/**
 * The bytes fetched under `cid` and the CID they hash to (equal to `cid` unless the source lied).
 * Always the hash of these very bytes: a source may answer differently each time.
 */
export async function getHashedBytes(
  o: Omit<VerifyOptions, "target"> & { cache: VerifyCache },
  cid: string,
): Promise<{ bytes: Uint8Array; cid: string }> {
  const bytes = await getBytes(o, cid);
  return { bytes, cid: await bundleCidAsync(bytes) };
}

/**
 * (deviceId, seq) and digest of each reading of another attestation's bundle: only what the
 * no-double-attestation link compares, read without the full schema check (that bundle's own
 * verification does that), so a facility's whole history can be compared quickly.
 */
export function bundleReadingKeys(bytes: Uint8Array): BundleReadingKeys {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch (cause) {
    throw new SdkError(`Bundle bytes are not UTF-8 JSON: ${(cause as Error).message}`, {
      code: "INVALID_BUNDLE",
      cause,
    });
  }
  const readings = (value as { readings?: unknown } | null)?.readings;
  if (!Array.isArray(readings))
    throw new SdkError("Invalid bundle: no readings array.", { code: "INVALID_BUNDLE", docsPath: "docs/bundle.md" });
  const keys: string[] = [];
  const digests: string[] = [];
  readings.forEach((r: unknown, i) => {
    const entry = r as { digest?: unknown; envelope?: { reading?: { deviceId?: unknown; seq?: unknown } } } | null;
    const reading = entry?.envelope?.reading;
    if (typeof entry?.digest !== "string" || typeof reading?.deviceId !== "string" || typeof reading.seq !== "number")
      throw new SdkError(`Invalid bundle: readings[${i}] has no digest, deviceId or seq.`, {
        code: "INVALID_BUNDLE",
        docsPath: "docs/bundle.md",
      });
    keys.push(`${reading.deviceId}#${reading.seq}`);
    digests.push(entry.digest);
  });
  return { keys, digests };
}

async function checkHistory(
  o: VerifyOptions & { cache: VerifyCache },
  sub: Submitted,
  bundle: Bundle,
): Promise<LinkCheck> {
  const link = "no reading attested twice for the facility";
  if (!o.source.byCid) {
    return {
      link,
      ok: true,
      skipped: true,
      detail: `needs the other attestations' bundles: ${o.source.describe} does not fetch by CID (use a gateway)`,
    };
  }
  const mine = new Map<string, string>();
  for (const r of bundle.readings) {
    mine.set(`${r.envelope.reading.deviceId}#${r.envelope.reading.seq}`, r.digest);
  }
  const digests = new Set(mine.values());
  const others = (await findSubmissions(o, { facilityId: sub.header.facilityId })).filter((s) => s.id !== sub.id);
  // A few at a time (a facility's year is thousands of bundles): each other attestation's
  // revocation flag and reading keys, compared as they come; only the keys are kept (in the
  // cache, for the walk's other attestations), never the bytes.
  const overlaps: string[] = [];
  let checked = 0;
  let revoked = 0;
  type Failure = { index: number; detail: string };
  // in an object: TypeScript does not see the other workers assign it across an await
  const first: { failure?: Failure } = {};
  let next = 0;
  const worker = async () => {
    while (next < others.length && !first.failure) {
      const index = next++;
      const other = others[index]!;
      if (await isRevokedCached(o, other.id)) {
        revoked++;
        continue;
      }
      let keys: BundleReadingKeys;
      try {
        keys = await memo(o.cache.readingKeys, other.header.bundleCid, async () => {
          const got = await getHashedBytes(o, other.header.bundleCid);
          if (got.cid !== other.header.bundleCid)
            throw new SdkError(`bundle of ${other.id} from ${o.source.describe} does not hash to its CID`, {
              code: "INVALID_BUNDLE",
            });
          return bundleReadingKeys(got.bytes);
        });
      } catch (error) {
        if (!(error instanceof Error)) throw error;
        const message = error.message.split("\n")[0] ?? "";
        // the first failing attestation in event order, whichever worker saw it first
        const seen = first.failure as Failure | undefined;
        if (!seen || index < seen.index)
          first.failure = {
            index,
            detail: message.startsWith("bundle of ") ? message : `cannot check against ${other.id}: ${message}`,
          };
        continue;
      }
      checked++;
      keys.keys.forEach((key, i) => {
        if (mine.has(key) || digests.has(keys.digests[i]!)) overlaps.push(`${key} also in ${other.id}`);
      });
    }
  };
  await Promise.all(Array.from({ length: Math.min(o.historyConcurrency ?? 8, others.length) }, worker));
  if (first.failure) return fail(link, first.failure.detail);
  if (overlaps.length > 0) return fail(link, `${overlaps.length} reading(s) attested twice; first ${overlaps[0]}`);
  return pass(
    link,
    `${checked} other attestation(s) of ${bundle.facilityId} checked${revoked ? ` (${revoked} revoked, ignored)` : ""}: no (deviceId, seq) or digest in common`,
  );
}

/**
 * The walk's one copy of a factor set with this id, when its content hashes to it (a set whose id
 * lies is kept as it is: the factor-set link FAILs on it).
 */
function internFactorSet(cache: VerifyCache, set: Bundle["factorSet"]): Bundle["factorSet"] {
  const known = cache.factorSets.get(set.id);
  if (known) return factorSetId(set.content) === set.id ? known : set;
  if (factorSetId(set.content) === set.id) cache.factorSets.set(set.id, set);
  return set;
}

function bytes32ToIdSafe(value: Hex): string {
  try {
    return bytes32ToId(value);
  } catch (error) {
    if (error instanceof SdkError) return value;
    throw error;
  }
}

/**
 * Device keys from DeviceRegistry: one `getDevice` per device (facility and whole key history),
 * shared through the cache; the key of a reading is the one `keyAt` would give (the latest with
 * validFrom ≤ ts; the first key always qualifies).
 */
function deviceKeyLookup(o: VerifyOptions & { cache: VerifyCache }, deviceRegistry: Address, facilityId: string) {
  const devices = new Map<string, DeviceEntry>();
  const problems: string[] = [];
  const publicKeys = new Map<string, Uint8Array>();
  const entryOf = (deviceId: string): Promise<DeviceEntry> =>
    memo(o.cache.devices, `${deviceRegistry}:${deviceId}`, async () => {
      try {
        const device = await o.client.readContract({
          address: deviceRegistry,
          abi: deviceRegistryAbi,
          functionName: "getDevice",
          args: [idToBytes32(deviceId)],
        });
        return {
          ok: true,
          facilityId: device.facilityId,
          keys: device.keyHistory,
          status: device.status,
          registeredAt: device.registeredAt,
          statusChangedAt: device.statusChangedAt,
        };
      } catch (error) {
        // A revert means the device is unknown to the registry: a failed link, reported.
        // Anything else (RPC down, …) is not an answer about the device: let it propagate.
        const reverted =
          error instanceof BaseError && error.walk((e) => e instanceof ContractFunctionRevertedError) !== null;
        if (!reverted) throw error;
        return { ok: false, problem: `${deviceId} not in DeviceRegistry (${error.shortMessage})` };
      }
    });
  const get = async (deviceId: string, ts: number): Promise<Uint8Array | null> => {
    const entry = await entryOf(deviceId);
    if (!devices.has(deviceId)) {
      devices.set(deviceId, entry);
      if (!entry.ok) problems.push(entry.problem);
      else if (entry.facilityId !== idToBytes32(facilityId))
        problems.push(`${deviceId} is registered to ${bytes32ToIdSafe(entry.facilityId)}, not ${facilityId}`);
    }
    if (!entry.ok || entry.keys.length === 0) return null;
    let i = entry.keys.length - 1;
    while (i > 0 && entry.keys[i]!.validFrom > BigInt(ts)) i--;
    const key = entry.keys[i]!;
    const id = `${deviceId}/${i}`;
    let publicKey = publicKeys.get(id);
    if (!publicKey) {
      publicKey = publicKeyFromXY(key.x, key.y);
      publicKeys.set(id, publicKey);
    }
    return publicKey;
  };
  const describe = () =>
    [...devices]
      .map(([deviceId, e]) =>
        e.ok
          ? `${deviceId} (key x ${e.keys[e.keys.length - 1]!.x.slice(0, 10)}…, ${e.keys.length} key${e.keys.length === 1 ? "" : "s"})`
          : deviceId,
      )
      .join(", ");
  return { get, entryOf, devices, problems, describe };
}

/**
 * The "device status" link: no reading of the bundle stamped while its device was suspended or
 * retired (the sdk's `deviceInactiveAt`, the rule the oracle's ingest and co-signers apply), from
 * each device's status history read once a walk (its `getDevice` answer, shared with the key
 * lookup, and its past suspensions from DeviceRegistry's events). Readings made before a
 * suspension stay valid. A device the registry does not know is left to the registration link.
 */
async function checkDeviceStatus(
  o: VerifyOptions & { cache: VerifyCache },
  deviceRegistry: Address,
  bundle: Bundle,
  entryOf: (deviceId: string) => Promise<DeviceEntry>,
): Promise<LinkCheck> {
  const link = "device status";
  const histories = (o.cache.deviceStatus ??= new Map());
  const ids = [...new Set(bundle.readings.map((r) => r.envelope.reading.deviceId))];
  let head: Promise<bigint> | undefined;
  const known = new Map<string, DeviceStatusHistory>();
  await Promise.all(
    ids.map(async (deviceId) => {
      const entry = await entryOf(deviceId);
      if (!entry.ok) return;
      const history = await memo(histories, `${deviceRegistry}:${deviceId}:${o.fromBlock ?? 0n}`, async () =>
        readDeviceStatusHistory(o.client, {
          address: deviceRegistry,
          deviceId,
          device: entry,
          ...(o.fromBlock === undefined ? {} : { fromBlock: o.fromBlock }),
          // one head for this bundle's searches, asked only when a device changed status
          ...(entry.statusChangedAt > entry.registeredAt
            ? { head: await (head ??= o.client.getBlockNumber({ cacheTime: 0 })) }
            : {}),
          ...(o.logRangeBlocks === undefined ? {} : { rangeBlocks: o.logRangeBlocks }),
          ...(o.cache.eventSlot ? { slot: o.cache.eventSlot } : {}),
          ...(o.eventSettings ? { settings: o.eventSettings } : {}),
        }),
      );
      known.set(deviceId, history);
    }),
  );
  for (const r of bundle.readings) {
    const { deviceId, seq, ts } = r.envelope.reading;
    const history = known.get(deviceId);
    const why = history === undefined ? null : deviceInactiveAt(history, ts);
    if (why === null) continue;
    const when =
      "from" in why
        ? `suspended from ${why.from} until ${why.until}`
        : `${why.status === "revoked" ? "retired" : why.status}${why.since === null ? "" : ` since ${why.since}`}`;
    return fail(
      link,
      `${deviceId}#${seq} stamped ${ts} while its device was ${when} (DeviceRegistry ${deviceRegistry})`,
    );
  }
  const changed = [...known.values()].filter((h) => h.status !== "active" || (h.suspensions?.length ?? 0) > 0).length;
  return pass(
    link,
    `${known.size} device(s) checked against DeviceRegistry ${deviceRegistry}: no reading stamped while its device was suspended or retired${changed > 0 ? ` (${changed} of them suspended or retired at some time, not when their readings were made)` : ""}`,
  );
}

async function checkQuorum(
  o: VerifyOptions,
  sub: Submitted,
  domain: { chainId: number; verifyingContract: Address },
): Promise<LinkCheck> {
  const link = "quorum signatures";
  const oracleSet = await o.client.readContract({
    address: o.registry,
    abi: attestationRegistryAbi,
    functionName: "oracleSet",
  });
  const at = { blockNumber: sub.blockNumber };
  const [threshold, bitmapSigners, tx] = await Promise.all([
    o.client.readContract({ address: oracleSet, abi: oracleSetAbi, functionName: "threshold", ...at }),
    o.client.readContract({
      address: oracleSet,
      abi: oracleSetAbi,
      functionName: "signersOf",
      args: [sub.bitmap],
      ...at,
    }),
    o.client.getTransaction({ hash: sub.txHash }),
  ]);
  let signatures: Hex;
  try {
    const call = decodeFunctionData({ abi: attestationRegistryAbi, data: tx.input });
    if (call.functionName !== "submit" && call.functionName !== "submitCorrection")
      throw new Error(`called ${call.functionName}`);
    signatures = call.functionName === "submit" ? call.args[1] : call.args[2];
  } catch (error) {
    // Submitted through another contract (e.g. a multisig): the signatures are not in this
    // transaction's input, so they cannot be re-checked here.
    return fail(
      link,
      `cannot read the signatures from tx ${sub.txHash} (${(error as Error).message.split("\n")[0]}); registry bitmap names ${bitmapSigners.join(", ")}`,
    );
  }
  let recovered: Address[];
  try {
    recovered = await recoverQuorumSigners(sub.header, domain, signatures);
  } catch (error) {
    if (!(error instanceof SdkError)) throw error;
    return fail(link, error.message);
  }
  const sameSet =
    recovered.length === bitmapSigners.length &&
    recovered.every((a) => bitmapSigners.some((b) => isAddressEqual(a, b)));
  if (!sameSet)
    return fail(link, `recovered ${recovered.join(", ")}; registry bitmap names ${bitmapSigners.join(", ")}`);
  if (recovered.length < threshold) return fail(link, `${recovered.length} signer(s) < threshold ${threshold}`);
  return pass(
    link,
    `${recovered.length} of threshold ${threshold}: ${recovered.join(", ")} (recovered from tx ${sub.txHash})`,
  );
}
