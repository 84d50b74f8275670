import { SdkError } from "../errors.ts";
import { bytesToHex, type Hex } from "../hex.ts";
import { buildMerkleTree } from "../merkle/tree.ts";
import { batchTotals, computeReading, type ReadingResult } from "../methodology/compute.ts";
import { canonicalJson } from "../reading/canonical.ts";
import { sha256Bytes } from "../reading/digest.ts";
import type { Reading } from "../reading/schema.ts";
import { bundleHead, type BuildBundleInput } from "./bundle.ts";
import { TREE_PARAMS, type Bundle } from "./schema.ts";

/**
 * A signed reading as stored after ingest: the reading as its RFC 8785 canonical text (the
 * bytes that were hashed and signed), its claimed digest (0x-hex SHA-256 of that text, either
 * case), the signature and the key id, if any (`null` or absent: none).
 */
export type CanonicalEnvelope = {
  canonical: string;
  digest: string;
  sig: string;
  keyId?: string | null;
};

export type AssembleBundleInput = Omit<BuildBundleInput, "envelopes"> & {
  readings: readonly CanonicalEnvelope[];
};

export type AssembledBundle = {
  /** The bundle's bytes: exactly `encodeBundle(buildBundle(…))` of the same batch. */
  bytes: Uint8Array;
  /** Everything in the bundle but its readings (root, totals, factor set, …), as `buildBundle` gives it. */
  summary: Omit<Bundle, "readings">;
  /** The reading digests (0x, lowercase) in bundle order, (deviceId, seq). */
  digests: Hex[];
};

type Check = "empty" | "period" | "json" | "shape" | "canonical" | "digest" | "facility" | "outside" | "duplicate";

function invalid(check: Check, message: string, details?: Record<string, unknown>, cause?: unknown): SdkError {
  return new SdkError(message, {
    code: "INVALID_BUNDLE",
    docsPath: "docs/bundle.md",
    details: { check, ...details },
    ...(cause === undefined ? {} : { cause }),
  });
}

/**
 * True when `value` (a `JSON.parse` result) has every object's keys in strictly ascending
 * UTF-16 order (as `Object.keys` lists them) and every number a safe integer.
 */
function sortedAndIntegral(value: unknown): boolean {
  if (typeof value === "number") return Number.isSafeInteger(value);
  if (typeof value !== "object" || value === null) return true;
  if (Array.isArray(value)) {
    for (const item of value) if (!sortedAndIntegral(item)) return false;
    return true;
  }
  const keys = Object.keys(value);
  for (let i = 0; i < keys.length; i++) {
    if (i > 0 && !(keys[i - 1]! < keys[i]!)) return false;
    if (!sortedAndIntegral((value as Record<string, unknown>)[keys[i]!])) return false;
  }
  return true;
}

/**
 * Whether `text` is the canonical JSON of `value = JSON.parse(text)`, i.e.
 * `canonicalJson(value) === text`, without running the JCS serializer (the costliest step of
 * building a bundle reading by reading). Sound, from how canonicalize (the package behind
 * canonicalJson) writes a `JSON.parse` result — only plain objects, arrays, strings, finite
 * numbers, booleans and null: it writes every primitive with `JSON.stringify` and objects with
 * their keys sorted by UTF-16 code units; it throws for a lone surrogate, and canonicalJson
 * for a number that is not a safe integer. `JSON.stringify` writes the same primitives and keys
 * in `Object.keys` order. So when `Object.keys` is already sorted in every object, no string
 * has a lone surrogate and every number is a safe integer, `canonicalJson(value)` is
 * `JSON.stringify(value)`, and comparing that with `text` decides. A lone surrogate is the one
 * thing `JSON.stringify` escapes as `\udXXX`; text without `\ud` has none. The test can only
 * err by refusing canonical text — keys that are array indices ("0", "10", which `Object.keys`
 * lists first), or a string holding a backslash followed by "ud" — neither of which a reading
 * v1 (strict objects of fixed keys, ids of [a-z0-9._-]) can contain.
 */
export function isCanonicalText(text: string, value: unknown): boolean {
  return !text.includes("\\ud") && sortedAndIntegral(value) && JSON.stringify(value) === text;
}

/**
 * Whether `hex` is "0x" and the lowercase hex of `bytes`, i.e. `hex === bytesToHex(bytes)`,
 * without building that string for every reading.
 */
function isHexOf(hex: string, bytes: Uint8Array): boolean {
  if (hex.length !== 2 + 2 * bytes.length || hex.charCodeAt(0) !== 48 || hex.charCodeAt(1) !== 120) return false;
  for (let i = 0; i < bytes.length; i++) {
    if (((lowerNibble(hex.charCodeAt(2 + 2 * i)) << 4) | lowerNibble(hex.charCodeAt(3 + 2 * i))) !== bytes[i])
      return false;
  }
  return true;
}

/** Value of a lowercase hex digit; 256 (never a byte's nibble) for anything else. */
function lowerNibble(code: number): number {
  if (code >= 48 && code <= 57) return code - 48;
  if (code >= 97 && code <= 102) return code - 87;
  return 256;
}

/** A reading result as the bundle writes it, keys in JCS order (buildBundle's `resultJson`). */
function resultText(r: ReadingResult): string {
  const s = (v: bigint | null) => (v === null ? "null" : `"${v}"`);
  return (
    `{"biogenicCo2Mg":${s(r.biogenicCo2Mg)},"ch4Mg":${s(r.ch4Mg)},"fossilCo2Mg":${s(r.fossilCo2Mg)}` +
    `,"fossilCo2eMg":${s(r.fossilCo2eMg)},"n2oMg":${s(r.n2oMg)}}`
  );
}

/**
 * Whether a parsed reading has the fields this module reads itself, of the types it reads them
 * as (`v` 1, string ids, numbers; the text is canonical, so the numbers are safe integers). The
 * rest is the reading schema's business: see `assembleBundle`.
 */
function isReadingShaped(value: unknown): value is Reading {
  if (typeof value !== "object" || value === null) return false;
  const r = value as Record<string, unknown>;
  return (
    r.v === 1 &&
    typeof r.deviceId === "string" &&
    typeof r.facilityId === "string" &&
    typeof r.seq === "number" &&
    typeof r.ts === "number" &&
    typeof r.kind === "string" &&
    typeof r.m === "object" &&
    r.m !== null
  );
}

type Item = { reading: Reading; source: CanonicalEnvelope };

/** UTF-8 text appended to a growing byte buffer. */
class ByteWriter {
  readonly #encoder = new TextEncoder();
  bytes: Uint8Array;
  length = 0;

  constructor(capacity: number) {
    this.bytes = new Uint8Array(capacity);
  }

  /** Appends `text` as UTF-8; returns the offset it starts at. */
  write(text: string): number {
    const start = this.length;
    // A UTF-16 code unit is at most 3 bytes of UTF-8.
    if (this.bytes.length - start < 3 * text.length) {
      const grown = new Uint8Array(Math.max(2 * this.bytes.length, start + 3 * text.length));
      grown.set(this.bytes.subarray(0, start));
      this.bytes = grown;
    }
    this.length += this.#encoder.encodeInto(text, this.bytes.subarray(start)).written;
    return start;
  }

  /** The bytes written, in a buffer of their own. */
  result(): Uint8Array {
    return this.bytes.slice(0, this.length);
  }
}

/**
 * The evidence bundle of a batch from readings whose canonical text is already known (what the
 * oracle stores at ingest): the same bytes and figures as `encodeBundle(buildBundle(…))` with
 * each text parsed as the envelope's reading, with the same checks (non-empty, period order,
 * facility, ts in the period, no repeated (deviceId, seq)) and the same order, at a fraction of
 * the cost. `buildBundle` canonicalizes and hashes every reading again and `encodeBundle` walks
 * it once more; here each text is parsed (for the computation and the checks), checked to be
 * canonical (`isCanonicalText`) and to hash to its digest, and copied into the bundle as it is.
 *
 * The bundle is written straight to UTF-8: the top-level members through `canonicalJson`, each
 * reading entry by hand in JCS key order (`digest`, `envelope` {`keyId`, `reading`, `sig`},
 * `flags`, `result` {biogenicCo2Mg, ch4Mg, fossilCo2Mg, fossilCo2eMg, n2oMg}) from canonical
 * pieces: the serializer writes an object as its members' canonical texts in sorted key order,
 * so that is its output. Byte-identical output rests on the canonical check alone: a text that
 * passes is `canonicalJson` of what it parses to, which is what `encodeBundle` writes there,
 * and its SHA-256 is what `buildBundle` computes as the digest.
 *
 * Like `buildBundle`, which takes typed envelopes, this does not validate the readings against
 * the reading schema again — that costs more than everything else here per reading, and the
 * oracle did it at ingest, where it hashed the text it stores with the digest checked here. It
 * checks only the fields it reads itself (`isReadingShaped`); a text that is not a reading v1
 * but has them is computed as buildBundle would compute it.
 *
 * Throws INVALID_BUNDLE (details.check says which check) for text that is not JSON, lacks
 * those fields or is not canonical, a digest that is not the text's SHA-256, and what
 * `buildBundle` rejects.
 */
export function assembleBundle(input: AssembleBundleInput): AssembledBundle {
  if (input.readings.length === 0) throw invalid("empty", "An empty batch has no bundle: it is never attested.");
  if (!(input.periodStart < input.periodEnd)) throw invalid("period", "periodStart must be before periodEnd.");
  const context = input.facilityContext ?? {};

  const items: Item[] = input.readings.map((source, i) => {
    let value: unknown;
    try {
      value = JSON.parse(source.canonical);
    } catch (cause) {
      throw invalid("json", `Reading ${i} of the input is not JSON: ${(cause as Error).message}`, { index: i }, cause);
    }
    if (!isReadingShaped(value))
      throw invalid("shape", `Reading ${i} of the input lacks the fields of a reading v1.`, { index: i });
    if (!isCanonicalText(source.canonical, value)) {
      throw invalid(
        "canonical",
        `Reading ${value.deviceId}#${value.seq}: its text is not canonical JSON (RFC 8785), so it is not the text that was hashed and signed.`,
        { deviceId: value.deviceId, seq: value.seq },
      );
    }
    return { reading: value, source };
  });

  // The comparator and the (stable) sort of buildBundle: the same order for the same input.
  items.sort((a, b) =>
    a.reading.deviceId === b.reading.deviceId
      ? a.reading.seq - b.reading.seq
      : a.reading.deviceId < b.reading.deviceId
        ? -1
        : 1,
  );

  // JCS sorts the top-level keys: these before "readings", root, totals and tree after it.
  const head = bundleHead(input);
  const headText = canonicalJson(head);
  // The bundle is written straight into bytes: each reading's text lands where the bundle has it
  // and is hashed there, and no string of the whole bundle is built (joining one and encoding
  // it cost as much as the rest of the writing).
  let capacity = 3 * headText.length + 1024;
  for (const { source } of items) capacity += source.canonical.length + 512;
  const out = new ByteWriter(capacity);
  out.write(`${headText.slice(0, -1)},"readings":[`);

  const flatDigests = new Uint8Array(32 * items.length);
  const digests: Hex[] = [];
  // Only what the totals need: the results' citations would live until the end for nothing.
  const masses: Pick<ReadingResult, "fossilCo2eMg" | "biogenicCo2Mg">[] = [];
  for (let i = 0; i < items.length; i++) {
    const { reading: r, source } = items[i]!;
    if (r.facilityId !== input.facilityId)
      throw invalid(
        "facility",
        `Reading ${r.deviceId}#${r.seq} is of facility ${r.facilityId}, not ${input.facilityId}.`,
      );
    if (r.ts < input.periodStart || r.ts >= input.periodEnd) {
      throw invalid(
        "outside",
        `Reading ${r.deviceId}#${r.seq} (ts ${r.ts}) is outside [${input.periodStart}, ${input.periodEnd}).`,
      );
    }
    const prev = items[i - 1]?.reading;
    if (prev && prev.deviceId === r.deviceId && prev.seq === r.seq)
      throw invalid("duplicate", `Reading ${r.deviceId}#${r.seq} appears twice.`);

    // Written with the claimed digest: the text is refused below unless that is its digest.
    const digest = source.digest.toLowerCase() as Hex;
    // sig and keyId (and flags) go through canonicalJson itself: it escapes strings as JCS does
    // and refuses a lone surrogate, as encodeBundle would.
    const keyId = source.keyId === null || source.keyId === undefined ? "" : `"keyId":${canonicalJson(source.keyId)},`;
    out.write(`${i === 0 ? "" : ","}{"digest":"${digest}","envelope":{${keyId}"reading":`);
    const start = out.write(source.canonical);
    const hash = sha256Bytes(out.bytes.subarray(start, out.length));
    if (!isHexOf(digest, hash)) {
      throw invalid(
        "digest",
        `Reading ${r.deviceId}#${r.seq}: digest ${source.digest} is not the SHA-256 of its canonical text (${bytesToHex(hash)}).`,
        { deviceId: r.deviceId, seq: r.seq, claimed: source.digest, computed: bytesToHex(hash) },
      );
    }
    flatDigests.set(hash, 32 * i);
    digests.push(digest);

    const result = computeReading(r, input.factorSet, context);
    masses.push({ fossilCo2eMg: result.fossilCo2eMg, biogenicCo2Mg: result.biogenicCo2Mg });
    const flags = input.flags?.[digest];
    out.write(
      `,"sig":${canonicalJson(source.sig.toLowerCase())}}` +
        `${flags && flags.length > 0 ? `,"flags":${canonicalJson([...flags])}` : ""},"result":${resultText(result)}}`,
    );
  }

  const tree = buildMerkleTree(flatDigests);
  const totals = batchTotals(masses);
  const tail: Pick<Bundle, "root" | "totals" | "tree"> = {
    tree: { ...TREE_PARAMS },
    root: tree.root,
    totals: {
      readingCount: items.length,
      fossilCo2eMg: totals.fossilCo2eMg.toString(),
      biogenicCo2Mg: totals.biogenicCo2Mg.toString(),
      fossilCo2eGrams: totals.fossilCo2eGrams.toString(),
      biogenicCo2Grams: totals.biogenicCo2Grams.toString(),
    },
  };
  out.write(`],${canonicalJson(tail).slice(1)}`);
  return { bytes: out.result(), summary: { ...head, ...tail }, digests };
}
