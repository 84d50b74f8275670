import {
  bytesToHex,
  canonicalJson,
  computeReading,
  envelopeSchema,
  formatIssues,
  sha256Bytes,
  type FacilityContext,
  type FactorSet,
  type Reading,
} from "../../../sdk/src/index.ts";
import type { SignatureVerifier } from "../../../sdk/src/reading/nodeVerifier.ts";
import { implausibility } from "./plausibility.ts";

/**
 * What computes a reading's emissions, as plain data a worker thread can receive: the sdk
 * methodology (`computeReading`) with one factor set and the facilities' context
 * (compute/sdk.ts `SdkCalculator.posted()`).
 */
export type PostedMethodology = { factorSet: FactorSet; facilities: Record<string, FacilityContext> };

/** The fields of a reading the node's later steps read (the whole reading is `canonical`). */
export type ReadingFacts = Pick<Reading, "deviceId" | "facilityId" | "seq" | "ts" | "intervalS" | "kind">;

/**
 * Steps 6 and the emissions of issue 6's order, done where the reading is parsed anyway: the
 * plausibility verdict, else the computation's failure, else its result (stored JSON, bigints
 * as decimal strings). The node applies them in their place in the order.
 */
export type Evaluated =
  { implausible: string } | { computeError: string } | { fossilMg: bigint; biogenicMg: bigint; resultJson: string };

/**
 * The stored form of a per-reading result: JSON with its bigints as decimal strings. The bigints
 * are turned to strings first and the copy stringified without a replacer: a replacer is a call
 * per key and value, which made this ~1.4 µs a reading on the verification workers, ~0.8 without.
 */
export function resultJson(detail: unknown): string {
  return JSON.stringify(bigintsAsStrings(detail));
}

function bigintsAsStrings(v: unknown): unknown {
  if (typeof v === "bigint") return v.toString();
  if (typeof v !== "object" || v === null) return v;
  if (Array.isArray(v)) return v.map(bigintsAsStrings);
  // an object with its own JSON form (a Date, say) is left to JSON.stringify, as the replacer did
  if (typeof (v as { toJSON?: unknown }).toJSON === "function") return v;
  const o: Record<string, unknown> = {};
  for (const k of Object.keys(v)) o[k] = bigintsAsStrings((v as Record<string, unknown>)[k]);
  return o;
}

/**
 * Plausibility, then emissions of a reading that passed the schema: with a methodology, sdk
 * `computeReading` (on the verify workers); or with the node's own calculator (`compute`).
 */
export function evaluate(
  r: Reading,
  m: PostedMethodology | ((r: Reading) => { fossilMg: bigint; biogenicMg: bigint; detail: unknown }),
): Evaluated {
  const why = implausibility(r);
  if (why) return { implausible: why };
  try {
    if (typeof m === "function") {
      const out = m(r);
      return { fossilMg: out.fossilMg, biogenicMg: out.biogenicMg, resultJson: resultJson(out.detail) };
    }
    const out = computeReading(r, m.factorSet, m.facilities[r.facilityId] ?? {});
    return { fossilMg: out.fossilCo2eMg, biogenicMg: out.biogenicCo2Mg, resultJson: resultJson(out) };
  } catch (err) {
    return { computeError: (err as Error).message };
  }
}

/**
 * A device's keys as the verification workers receive them: hex strings, which cost less to
 * post between threads than byte arrays. `keysValidAt` semantics (devices/directory.ts).
 */
export type PostedDevice = {
  deviceId: string;
  keys: { publicKeyHex: string; validFrom: number; validUntil: number | null }[];
};

/**
 * The first, pure steps of validation (issue 6's order) for one envelope: envelope shape
 * (`malformed`), the sdk schema (`schema`), then the canonical bytes (RFC 8785) and the digest.
 * When `device` is the device the reading names, its P-256 signature is checked too (`sigOk`),
 * so a worker thread answers the whole CPU-bound part in one round trip; the node still applies
 * the steps in order (topic, device, signature, …) with this as input.
 */
export type PreparedEnvelope =
  | { ok: false; reason: "malformed" | "schema"; detail: string; raw?: string }
  | {
      ok: true;
      /** canonical JSON (RFC 8785) of the reading: what is hashed, signed and stored */
      canonical: string;
      digest: string;
      /** the envelope's signature, lowercase */
      sig: string;
      keyId: string | null;
      /** verdict under the keys of `device` valid at the reading's ts; null when not checked */
      sigOk: boolean | null;
      /** how many keys of `device` are valid at the reading's ts (null when not checked) */
      keysValid: number | null;
      /** what the later steps read of the reading */
      facts: ReadingFacts;
      /** plausibility and emissions, when a methodology was given to prepare with */
      evaluated: Evaluated | null;
      /** the element's JSON text when it came in an array (for its dead letter) */
      raw?: string;
    };

/** A whole payload: not JSON (or an empty array), or one prepared envelope per element. */
export type PreparedPayload = { ok: false; detail: string } | { ok: true; items: PreparedEnvelope[] };

/** One envelope (already parsed JSON): shape, schema, canonical bytes, digest, signature. */
export function prepareEnvelope(
  value: unknown,
  device: PostedDevice | null,
  verifier: SignatureVerifier,
  raw?: string,
  methodology?: PostedMethodology | null,
): PreparedEnvelope {
  if (typeof value !== "object" || value === null || !("reading" in value)) {
    return { ok: false, reason: "malformed", detail: "expected a signed envelope { reading, sig, keyId? }", raw };
  }
  const parsed = envelopeSchema.safeParse(value);
  if (!parsed.success) {
    const detail = formatIssues(parsed.error)
      .map((i) => `${i.path}: ${i.message}`)
      .join("; ");
    return { ok: false, reason: "schema", detail, raw };
  }
  const env = parsed.data;
  const r = env.reading;
  // the canonical text, and its UTF-8 bytes (what is hashed and signed) from it
  const canonical = canonicalJson(r);
  const bytes = Buffer.from(canonical, "utf8");
  const digest = bytesToHex(sha256Bytes(bytes));
  let sigOk: boolean | null = null;
  let keysValid: number | null = null;
  if (device && device.deviceId === r.deviceId) {
    const keys = device.keys.filter((k) => k.validFrom <= r.ts && (k.validUntil === null || r.ts < k.validUntil));
    keysValid = keys.length;
    sigOk = keys.some((k) => verifier.verifyHexKey(bytes, env.sig, k.publicKeyHex));
  }
  return {
    ok: true,
    canonical,
    digest,
    sig: env.sig.toLowerCase(),
    keyId: env.keyId ?? null,
    sigOk,
    keysValid,
    facts: {
      deviceId: r.deviceId,
      facilityId: r.facilityId,
      seq: r.seq,
      ts: r.ts,
      intervalS: r.intervalS,
      kind: r.kind,
    },
    evaluated: methodology ? evaluate(r, methodology) : null,
    raw,
  };
}

/** A raw payload: JSON text of one envelope or of an array of envelopes. */
export function preparePayload(
  text: string,
  device: PostedDevice | null,
  verifier: SignatureVerifier,
  methodology?: PostedMethodology | null,
): PreparedPayload {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { ok: false, detail: `not JSON: ${(err as Error).message}` };
  }
  return prepareValue(value, device, verifier, methodology);
}

/** Parsed JSON: one envelope or an array of them (each element's JSON kept for its dead letter). */
export function prepareValue(
  value: unknown,
  device: PostedDevice | null,
  verifier: SignatureVerifier,
  methodology?: PostedMethodology | null,
): PreparedPayload {
  try {
    if (!Array.isArray(value))
      return { ok: true, items: [prepareEnvelope(value, device, verifier, undefined, methodology)] };
    if (value.length === 0) return { ok: false, detail: "empty array" };
    return {
      ok: true,
      // an element's own JSON for its dead letter: one stringify cannot write is caught below
      items: value.map((v) => prepareEnvelope(v, device, verifier, JSON.stringify(v), methodology)),
    };
  } catch (err) {
    // JSON.parse takes arrays nested 10,000+ deep, which stringify cannot write back (a RangeError):
    // the payload is malformed, dead-lettered with its text, never a thrown error (review: in a
    // verification worker it ended the thread, and failed every payload in flight with it)
    return { ok: false, detail: `cannot be read: ${(err as Error).message}` };
  }
}

export function safeStringify(v: unknown): string {
  try {
    return JSON.stringify(v) ?? String(v);
  } catch (err) {
    // cyclic, or nested too deep for stringify: String() would recurse as deep and throw too
    return `(not JSON-serialisable: ${(err as Error).message})`;
  }
}

/**
 * The wire form of prepared payloads between a verification worker and the main thread: one flat
 * array of primitives for a whole batch, rebuilt into the same objects on arrival. The structured
 * clone of nested objects is generic, property by property: rebuilding one prepared envelope
 * from it took 2.6–3.1 µs, from the flat array 0.6–0.9 µs (500-payload batches, v8
 * serialize/deserialize), and a `VerifyPool.prepare` round trip of a signed reading cost the main
 * thread 5.0–5.5 µs before, 3.8–4.0 µs after (40,000 readings, 2 workers; docs/oracle.md,
 * "Benchmark"). Rows to the writer thread, flat objects, showed no such difference and are
 * posted as they are. Tags: payload 0 = not ok (detail), 1 = ok (count, then each item); item
 * 0 = refused (reason, detail, raw), 1 = prepared (fields in `packPrepared`'s order); evaluated
 * 0 = none, 1 = implausible, 2 = computation error, 3 = result.
 */
export function packPrepared(out: readonly PreparedPayload[]): unknown[] {
  const f: unknown[] = [];
  for (const p of out) {
    if (!p.ok) {
      f.push(0, p.detail);
      continue;
    }
    f.push(1, p.items.length);
    for (const e of p.items) {
      if (!e.ok) {
        f.push(0, e.reason, e.detail, e.raw);
        continue;
      }
      const r = e.facts;
      f.push(1, e.canonical, e.digest, e.sig, e.keyId, e.sigOk, e.keysValid);
      f.push(r.deviceId, r.facilityId, r.seq, r.ts, r.intervalS, r.kind, e.raw);
      const ev = e.evaluated;
      if (ev === null) f.push(0);
      else if ("implausible" in ev) f.push(1, ev.implausible);
      else if ("computeError" in ev) f.push(2, ev.computeError);
      else f.push(3, ev.fossilMg, ev.biogenicMg, ev.resultJson);
    }
  }
  return f;
}

/** `packPrepared`'s inverse: `count` payloads, as objects equal to those packed. */
export function unpackPrepared(f: readonly unknown[], count: number): PreparedPayload[] {
  const out: PreparedPayload[] = new Array(count);
  let j = 0;
  const s = () => f[j++] as string;
  const n = () => f[j++] as number;
  for (let i = 0; i < count; i++) {
    if (f[j++] === 0) {
      out[i] = { ok: false, detail: s() };
      continue;
    }
    const items: PreparedEnvelope[] = new Array(n());
    for (let k = 0; k < items.length; k++) {
      if (f[j++] === 0) {
        items[k] = {
          ok: false,
          reason: f[j++] as "malformed" | "schema",
          detail: s(),
          raw: f[j++] as string | undefined,
        };
        continue;
      }
      const canonical = s();
      const digest = s();
      const sig = s();
      const keyId = f[j++] as string | null;
      const sigOk = f[j++] as boolean | null;
      const keysValid = f[j++] as number | null;
      const facts: ReadingFacts = {
        deviceId: s(),
        facilityId: s(),
        seq: n(),
        ts: n(),
        intervalS: n(),
        kind: f[j++] as ReadingFacts["kind"],
      };
      const raw = f[j++] as string | undefined;
      const tag = f[j++];
      let evaluated: Evaluated | null = null;
      if (tag === 1) evaluated = { implausible: s() };
      else if (tag === 2) evaluated = { computeError: s() };
      else if (tag === 3) evaluated = { fossilMg: f[j++] as bigint, biogenicMg: f[j++] as bigint, resultJson: s() };
      items[k] = { ok: true, canonical, digest, sig, keyId, sigOk, keysValid, facts, evaluated, raw };
    }
    out[i] = { ok: true, items };
  }
  return out;
}
