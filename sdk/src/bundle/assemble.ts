import { SdkError } from "../errors.ts";
import { bytesToHex, type Hex } from "../hex.ts";
import { buildMerkleTree } from "../merkle/tree.ts";
import { batchTotals, computeReading, type FacilityContext, type ReadingResult } from "../methodology/compute.ts";
import { canonicalJson } from "../reading/canonical.ts";
import { sha256Bytes } from "../reading/digest.ts";
import type { Reading } from "../reading/schema.ts";
import { beyondHeaderRange, bundleHead, readingOutOfRange, totalsOutOfRange, type BuildBundleInput } from "./bundle.ts";
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

/**
 * Entries of a bundle as UTF-8, each contiguous in one of a list of chunks: a window of tens
 * of thousands of readings is never copied to grow one buffer (a doubling buffer touched three
 * times the memory, and fresh pages cost more than the copying).
 */
class EntryStore {
  static readonly CHUNK = 1 << 18;
  readonly #encoder = new TextEncoder();
  readonly chunks: Uint8Array[] = [];
  #chunk = new Uint8Array(0);
  /** where the entry being written starts in the current chunk, and where it ends so far */
  #start = 0;
  #at = 0;

  /** Starts an entry. */
  begin(): void {
    this.#start = this.#at;
  }

  /** Appends `text` to the entry; returns where it starts in `current`. */
  write(text: string): number {
    // A UTF-16 code unit is at most 3 bytes of UTF-8.
    if (this.#chunk.length - this.#at < 3 * text.length) {
      // a new chunk, with the entry written so far moved to it
      const sofar = this.#at - this.#start;
      const next = new Uint8Array(Math.max(EntryStore.CHUNK, 2 * (sofar + 3 * text.length)));
      next.set(this.#chunk.subarray(this.#start, this.#at));
      this.chunks.push(next);
      this.#chunk = next;
      this.#start = 0;
      this.#at = sofar;
    }
    const from = this.#at;
    this.#at += this.#encoder.encodeInto(text, this.#chunk.subarray(from)).written;
    return from;
  }

  /** The chunk the entry being written is in. */
  get current(): Uint8Array {
    return this.#chunk;
  }
  get at(): number {
    return this.#at;
  }

  /** Ends the entry: appends its chunk (index in `chunks`), start and end to `where`. */
  end(where: number[]): void {
    where.push(this.chunks.length - 1, this.#start, this.#at);
  }

  /** Forgets the entry being written. */
  drop(): void {
    this.#at = this.#start;
  }
}

/** What `BundleAssembler` is built with: a batch's bundle input without its readings and flags. */
export type BundleAssemblerInput = Omit<AssembleBundleInput, "readings" | "flags">;

/**
 * A bundle assembled reading by reading (`assembleBundle` runs one over its whole input): `add`
 * does each reading's work (parse, canonical check, SHA-256, emissions, its entry's bytes) as the
 * readings come, `finish` orders the entries, checks them and writes the bundle, the tree and
 * the totals. An oracle node adds a window's readings while it is open, so that sealing it costs
 * little more than copying bytes (oracle/src/batch/bundle-worker.ts).
 *
 * Same output and errors as building the bundle at once, in the same order when a batch has
 * several faults: `add` throws at once what `assembleBundle` checks before ordering the readings
 * (JSON, shape, canonical text) and keeps each entry's other faults, which `finish` throws in
 * bundle order (facility, period, repeated (deviceId, seq), key id, digest, computation, sig
 * and flags).
 */
export class BundleAssembler {
  readonly #input: BundleAssemblerInput;
  readonly #context: FacilityContext;
  /** every entry's bytes, one after another, without the commas between them */
  readonly #entries = new EntryStore();
  /** per entry: chunk, start and end in the store (a dropped entry's are -1, 0, 0) */
  readonly #where: number[] = [];
  /**
   * Held for the life of an open window, so kept small for the garbage collector: one string
   * per device (interned), numbers, and the digests as bytes (their hex is written at `finish`).
   */
  readonly #deviceIds: string[] = [];
  readonly #interned = new Map<string, string>();
  readonly #seqs: number[] = [];
  #hashes = new Uint8Array(32 * 256);
  /** per entry, what `finish` throws for it before the repeated-(deviceId, seq) check, and after */
  readonly #early = new Map<number, SdkError>();
  readonly #late = new Map<number, unknown>();
  #fossil = 0n;
  #biogenic = 0n;

  constructor(input: BundleAssemblerInput) {
    if (!(input.periodStart < input.periodEnd)) throw invalid("period", "periodStart must be before periodEnd.");
    this.#input = input;
    this.#context = input.facilityContext ?? {};
  }

  /** Readings added so far. */
  get size(): number {
    return this.#deviceIds.length;
  }

  /**
   * Adds a stored reading with its flags. Throws INVALID_BUNDLE (check json, shape or
   * canonical) for text that is not a reading's canonical JSON; keeps any other fault for `finish`.
   */
  add(source: CanonicalEnvelope, flags?: readonly string[]): void {
    const i = this.#deviceIds.length;
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
    const r = value;
    const input = this.#input;
    if (r.facilityId !== input.facilityId) {
      this.#early.set(
        i,
        invalid("facility", `Reading ${r.deviceId}#${r.seq} is of facility ${r.facilityId}, not ${input.facilityId}.`),
      );
    } else if (r.ts < input.periodStart || r.ts >= input.periodEnd) {
      this.#early.set(
        i,
        invalid(
          "outside",
          `Reading ${r.deviceId}#${r.seq} (ts ${r.ts}) is outside [${input.periodStart}, ${input.periodEnd}).`,
        ),
      );
    }

    const out = this.#entries;
    out.begin();
    let deviceId = this.#interned.get(r.deviceId);
    if (deviceId === undefined) this.#interned.set(r.deviceId, (deviceId = r.deviceId));
    this.#deviceIds.push(deviceId);
    this.#seqs.push(r.seq);
    // Written with the claimed digest: the text is refused unless that is its digest.
    const digest = source.digest.toLowerCase() as Hex;
    if (this.#hashes.length < 32 * (i + 1)) {
      const grown = new Uint8Array(2 * this.#hashes.length);
      grown.set(this.#hashes);
      this.#hashes = grown;
    }
    try {
      // sig and keyId (and flags) go through canonicalJson itself: it escapes strings as JCS does
      // and refuses a lone surrogate, as encodeBundle would.
      const keyId =
        source.keyId === null || source.keyId === undefined ? "" : `"keyId":${canonicalJson(source.keyId)},`;
      out.write(`{"digest":"${digest}","envelope":{${keyId}"reading":`);
      const start = out.write(source.canonical);
      // the reading's text is hashed where the bundle has it: no second encoding of it
      const hash = sha256Bytes(out.current.subarray(start, out.at));
      if (!isHexOf(digest, hash)) {
        throw invalid(
          "digest",
          `Reading ${r.deviceId}#${r.seq}: digest ${source.digest} is not the SHA-256 of its canonical text (${bytesToHex(hash)}).`,
          { deviceId: r.deviceId, seq: r.seq, claimed: source.digest, computed: bytesToHex(hash) },
        );
      }
      this.#hashes.set(hash, 32 * i);
      const result = computeReading(r, input.factorSet, this.#context);
      const beyond = beyondHeaderRange(result);
      if (beyond) throw readingOutOfRange(r.deviceId, r.seq, beyond);
      this.#fossil += result.fossilCo2eMg;
      this.#biogenic += result.biogenicCo2Mg;
      out.write(
        `,"sig":${canonicalJson(source.sig.toLowerCase())}}` +
          `${flags && flags.length > 0 ? `,"flags":${canonicalJson([...flags])}` : ""},"result":${resultText(result)}}`,
      );
    } catch (err) {
      // kept for finish, which throws the first fault in bundle order; the entry is dropped
      this.#late.set(i, err);
      out.drop();
      this.#where.push(-1, 0, 0);
      return;
    }
    out.end(this.#where);
  }

  /**
   * The bundle of the readings added: `assembleBundle`'s output for them in the order added.
   * Throws INVALID_BUNDLE for an empty batch and for the first fault in bundle order.
   */
  finish(): AssembledBundle {
    const n = this.#deviceIds.length;
    if (n === 0) throw invalid("empty", "An empty batch has no bundle: it is never attested.");
    const ids = this.#deviceIds;
    const seqs = this.#seqs;
    // buildBundle's comparator on a stable sort: the same order for the same input
    const order = Array.from({ length: n }, (_, k) => k);
    order.sort((a, b) => (ids[a] === ids[b] ? seqs[a]! - seqs[b]! : ids[a]! < ids[b]! ? -1 : 1));
    for (let k = 0; k < n; k++) {
      const i = order[k]!;
      const early = this.#early.get(i);
      if (early) throw early;
      const prev = k > 0 ? order[k - 1]! : -1;
      if (prev >= 0 && ids[prev] === ids[i] && seqs[prev] === seqs[i])
        throw invalid("duplicate", `Reading ${ids[i]}#${seqs[i]} appears twice.`);
      if (this.#late.has(i)) throw this.#late.get(i);
    }

    const flatDigests = new Uint8Array(32 * n);
    const where = this.#where;
    let size = n - 1;
    for (let k = 0; k < n; k++) {
      const i = order[k]!;
      flatDigests.set(this.#hashes.subarray(32 * i, 32 * i + 32), 32 * k);
      size += where[3 * i + 2]! - where[3 * i + 1]!;
    }
    const tree = buildMerkleTree(flatDigests);
    const totals = batchTotals([{ fossilCo2eMg: this.#fossil, biogenicCo2Mg: this.#biogenic }]);
    const beyond = beyondHeaderRange(totals);
    if (beyond) throw totalsOutOfRange(beyond);
    const tail: Pick<Bundle, "root" | "totals" | "tree"> = {
      tree: { ...TREE_PARAMS },
      root: tree.root,
      totals: {
        readingCount: n,
        fossilCo2eMg: totals.fossilCo2eMg.toString(),
        biogenicCo2Mg: totals.biogenicCo2Mg.toString(),
        fossilCo2eGrams: totals.fossilCo2eGrams.toString(),
        biogenicCo2Grams: totals.biogenicCo2Grams.toString(),
      },
    };
    // JCS sorts the top-level keys: these before "readings", root, totals and tree after it.
    const head = bundleHead(this.#input);
    const encoder = new TextEncoder();
    const before = encoder.encode(`${canonicalJson(head).slice(0, -1)},"readings":[`);
    const after = encoder.encode(`],${canonicalJson(tail).slice(1)}`);
    // written once into a buffer of the bundle's exact size
    const bytes = new Uint8Array(before.length + size + after.length);
    bytes.set(before);
    let at = before.length;
    const chunks = this.#entries.chunks;
    for (let k = 0; k < n; k++) {
      const i = order[k]!;
      if (k > 0) bytes[at++] = 0x2c; // ","
      const from = where[3 * i + 1]!;
      const to = where[3 * i + 2]!;
      bytes.set(chunks[where[3 * i]!]!.subarray(from, to), at);
      at += to - from;
    }
    bytes.set(after, at);
    // the digests' hex only when asked for: the oracle node pins the bytes and never reads them
    let digests: Hex[] | undefined;
    const out = { bytes, summary: { ...head, ...tail } } as AssembledBundle;
    Object.defineProperty(out, "digests", {
      enumerable: true,
      get: () =>
        (digests ??= Array.from({ length: n }, (_, k) => bytesToHex(flatDigests.subarray(32 * k, 32 * k + 32)))),
    });
    return out;
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
  const { readings, flags, ...rest } = input;
  const assembler = new BundleAssembler(rest);
  for (const source of readings) assembler.add(source, flags?.[source.digest.toLowerCase()]);
  return assembler.finish();
}
