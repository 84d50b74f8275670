import { CID } from "multiformats/cid";
import * as Digest from "multiformats/hashes/digest";
import { SdkError } from "../errors.ts";
import type { FactorSet } from "../factors/factorSet.ts";
import { bytesToHex, type Hex } from "../hex.ts";
import { idToBytes32 } from "../ids.ts";
import { buildMerkleTree } from "../merkle/tree.ts";
import { batchTotals, computeReading, type FacilityContext, type ReadingResult } from "../methodology/compute.ts";
import { canonicalBytes, canonicalJson } from "../reading/canonical.ts";
import { readingDigest, sha256Bytes } from "../reading/digest.ts";
import { formatIssues } from "../reading/parse.ts";
import type { Envelope } from "../reading/schema.ts";
import type { BatchHeader } from "../eip712/batchHeader.ts";
import { BUNDLE_FORMAT, TREE_PARAMS, bundleSchema, type Bundle } from "./schema.ts";

/** Multicodec `raw` and multihash `sha2-256` (the CID of the bundle's bytes as one raw block). */
export const RAW_CODEC = 0x55;
export const SHA2_256 = 0x12;

export const ZERO32: Hex = `0x${"00".repeat(32)}`;

export type BuildBundleInput = {
  facilityId: string;
  periodStart: number;
  periodEnd: number;
  envelopes: readonly Envelope[];
  factorSet: FactorSet;
  facilityContext?: FacilityContext;
  methodologyId: Hex;
  correctionOf?: Hex;
  /** Oracle marks per reading digest (informational). */
  flags?: Record<string, string[]>;
};

function resultJson(r: ReadingResult) {
  const s = (v: bigint | null) => (v === null ? null : v.toString());
  return {
    fossilCo2eMg: r.fossilCo2eMg.toString(),
    biogenicCo2Mg: r.biogenicCo2Mg.toString(),
    fossilCo2Mg: s(r.fossilCo2Mg),
    ch4Mg: s(r.ch4Mg),
    n2oMg: s(r.n2oMg),
  };
}

function invalid(message: string, details?: Record<string, unknown>): SdkError {
  return new SdkError(message, { code: "INVALID_BUNDLE", docsPath: "docs/bundle.md", ...(details ? { details } : {}) });
}

/**
 * The batch header's gram totals are uint128 (docs/protocol.md): a batch whose totals reach
 * 2^128 g cannot be attested, and viem refuses to encode its header.
 */
export const HEADER_GRAMS_LIMIT = 1n << 128n;

/**
 * Why a result (one reading's, or a batch's totals) is too large for a batch header: null when
 * both its fossil and biogenic milligrams floor to fewer than 2^128 g.
 */
export function beyondHeaderRange(mg: { fossilCo2eMg: bigint; biogenicCo2Mg: bigint }): string | null {
  for (const [what, value] of [
    ["fossil CO2e", mg.fossilCo2eMg],
    ["biogenic CO2", mg.biogenicCo2Mg],
  ] as const) {
    if (value / 1000n >= HEADER_GRAMS_LIMIT)
      return `${what} ${value / 1000n} g is beyond what a batch header holds (uint128 grams, < 2^128 g)`;
  }
  return null;
}

/** INVALID_BUNDLE for a reading whose result no header can hold (a broken sensor or a forged value). */
export function readingOutOfRange(deviceId: string, seq: number, why: string): SdkError {
  return invalid(`Reading ${deviceId}#${seq}: ${why}; leave it out of the batch.`, { check: "range", deviceId, seq });
}

/** INVALID_BUNDLE for a batch whose totals no header can hold. */
export function totalsOutOfRange(why: string): SdkError {
  return invalid(`The batch totals: ${why}; split the batch.`, { check: "range" });
}

/** The members of a bundle that come from its input as they are (`buildBundle`, `assembleBundle`). */
export function bundleHead(
  input: Omit<BuildBundleInput, "envelopes">,
): Omit<Bundle, "readings" | "root" | "totals" | "tree"> {
  return {
    format: BUNDLE_FORMAT,
    facilityId: input.facilityId,
    period: { start: input.periodStart, end: input.periodEnd },
    correctionOf: input.correctionOf ?? ZERO32,
    methodologyId: input.methodologyId,
    factorSet: { id: input.factorSet.id, content: input.factorSet.content },
    facilityContext: { ...(input.facilityContext ?? {}) },
  };
}

/**
 * Builds the evidence bundle of a batch: computes every digest and result, the tree and
 * totals. Readings are ordered by (deviceId, seq) so the same batch always gives the same
 * bytes, whatever order they arrived in. Throws INVALID_BUNDLE for a reading of another
 * facility, outside the period, or a repeated (deviceId, seq), and for a reading or totals of
 * 2^128 g or more (the header's uint128 cannot hold them).
 */
export function buildBundle(input: BuildBundleInput): Bundle {
  if (input.envelopes.length === 0) throw invalid("An empty batch has no bundle: it is never attested.");
  if (!(input.periodStart < input.periodEnd)) throw invalid("periodStart must be before periodEnd.");
  const context = input.facilityContext ?? {};
  const sorted = [...input.envelopes].sort((a, b) =>
    a.reading.deviceId === b.reading.deviceId
      ? a.reading.seq - b.reading.seq
      : a.reading.deviceId < b.reading.deviceId
        ? -1
        : 1,
  );
  const readings = sorted.map((envelope, i) => {
    const r = envelope.reading;
    if (r.facilityId !== input.facilityId)
      throw invalid(`Reading ${r.deviceId}#${r.seq} is of facility ${r.facilityId}, not ${input.facilityId}.`);
    if (r.ts < input.periodStart || r.ts >= input.periodEnd) {
      throw invalid(
        `Reading ${r.deviceId}#${r.seq} (ts ${r.ts}) is outside [${input.periodStart}, ${input.periodEnd}).`,
      );
    }
    const prev = sorted[i - 1]?.reading;
    if (prev && prev.deviceId === r.deviceId && prev.seq === r.seq)
      throw invalid(`Reading ${r.deviceId}#${r.seq} appears twice.`);
    const digest = bytesToHex(readingDigest(r));
    const result = computeReading(r, input.factorSet, context);
    const beyond = beyondHeaderRange(result);
    if (beyond) throw readingOutOfRange(r.deviceId, r.seq, beyond);
    const flags = input.flags?.[digest];
    return {
      envelope:
        envelope.keyId === undefined
          ? { reading: r, sig: envelope.sig.toLowerCase() }
          : { reading: r, sig: envelope.sig.toLowerCase(), keyId: envelope.keyId },
      digest,
      result: resultJson(result),
      ...(flags && flags.length > 0 ? { flags: [...flags] } : {}),
      _mg: result,
    };
  });
  const tree = buildMerkleTree(readings.map((r) => r.digest));
  const totals = batchTotals(readings.map((r) => r._mg));
  const beyond = beyondHeaderRange(totals);
  if (beyond) throw totalsOutOfRange(beyond);
  const bundle: Bundle = {
    ...bundleHead(input),
    tree: { ...TREE_PARAMS },
    root: tree.root,
    readings: readings.map(({ _mg, ...r }) => r),
    totals: {
      readingCount: readings.length,
      fossilCo2eMg: totals.fossilCo2eMg.toString(),
      biogenicCo2Mg: totals.biogenicCo2Mg.toString(),
      fossilCo2eGrams: totals.fossilCo2eGrams.toString(),
      biogenicCo2Grams: totals.biogenicCo2Grams.toString(),
    },
  };
  return bundle;
}

/** The bundle's bytes: RFC 8785 canonical JSON, UTF-8. These bytes are what is pinned. */
export function encodeBundle(bundle: Bundle): Uint8Array {
  return canonicalBytes(bundle);
}

/** CIDv1 (raw codec 0x55, sha2-256), base32 — what `ipfs block put` / Helia `blockstore.put` give for these bytes. */
export function bundleCid(bytes: Uint8Array): string {
  return CID.createV1(RAW_CODEC, Digest.create(SHA2_256, sha256Bytes(bytes))).toString();
}

/**
 * {@link bundleCid} with the platform's native SHA-256 (WebCrypto `crypto.subtle.digest`, in
 * browsers and Node) where there is one, else noble: the same CID. A bundle is hundreds of
 * kilobytes to megabytes; native hashing takes a millisecond or two where noble takes tens, and
 * the verifier hashes every bundle of a facility's history.
 */
export async function bundleCidAsync(bytes: Uint8Array): Promise<string> {
  const subtle = globalThis.crypto?.subtle;
  const digest = subtle
    ? new Uint8Array(await subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>))
    : sha256Bytes(bytes);
  return CID.createV1(RAW_CODEC, Digest.create(SHA2_256, digest)).toString();
}

/**
 * Parses bundle bytes: valid UTF-8 JSON, the format-1 schema, and canonical (re-encoding
 * gives the same bytes, so the CID commits to exactly one document).
 */
export function decodeBundle(bytes: Uint8Array): Bundle {
  let value: unknown;
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    value = JSON.parse(text);
  } catch (cause) {
    throw new SdkError(`Bundle bytes are not UTF-8 JSON: ${(cause as Error).message}`, {
      code: "INVALID_BUNDLE",
      cause,
    });
  }
  const result = bundleSchema.safeParse(value);
  if (!result.success) {
    const issues = formatIssues(result.error);
    throw new SdkError(
      `Invalid bundle: ${issues
        .slice(0, 10)
        .map((i) => `${i.path}: ${i.message}`)
        .join("; ")}`,
      {
        code: "INVALID_BUNDLE",
        cause: result.error,
        docsPath: "docs/bundle.md",
        details: { issues },
      },
    );
  }
  // encodeBundle(data) = UTF-8(canonicalJson(data)). The bytes are valid UTF-8 (fatal decoder) and
  // UTF-8 is one-to-one, so comparing the canonical text with the decoded text is the same test as
  // comparing bytes, without encoding a megabyte again, except that the decoder drops a leading
  // byte-order mark (never canonical: canonical text starts with "{"), hence the BOM test.
  if (canonicalJson(result.data) !== text || startsWithBom(bytes)) {
    throw new SdkError("Bundle bytes are not in canonical form (RFC 8785); the CID must commit to one encoding.", {
      code: "INVALID_BUNDLE",
      docsPath: "docs/bundle.md",
    });
  }
  return result.data;
}

/** UTF-8 byte-order mark EF BB BF at the start. */
function startsWithBom(bytes: Uint8Array): boolean {
  return bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf;
}

/**
 * The batch header a bundle backs, given the CID it is pinned under. Reads the top-level fields
 * only, so `assembleBundle`'s summary (a bundle without its readings) will do.
 */
export function bundleHeader(bundle: Omit<Bundle, "readings">, cid: string): BatchHeader {
  const fossilCo2eGrams = BigInt(bundle.totals.fossilCo2eGrams);
  const biogenicCo2Grams = BigInt(bundle.totals.biogenicCo2Grams);
  const beyond = beyondHeaderRange({ fossilCo2eMg: fossilCo2eGrams * 1000n, biogenicCo2Mg: biogenicCo2Grams * 1000n });
  if (beyond) throw totalsOutOfRange(beyond);
  return {
    facilityId: idToBytes32(bundle.facilityId),
    periodStart: BigInt(bundle.period.start),
    periodEnd: BigInt(bundle.period.end),
    merkleRoot: bundle.root as Hex,
    readingCount: bundle.totals.readingCount,
    fossilCo2eGrams,
    biogenicCo2Grams,
    methodologyId: bundle.methodologyId as Hex,
    factorSetId: bundle.factorSet.id as Hex,
    bundleCid: cid,
    correctionOf: bundle.correctionOf as Hex,
  };
}
