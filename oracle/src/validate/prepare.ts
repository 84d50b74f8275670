import { bytesToHex, canonicalJson, envelopeSchema, formatIssues, sha256Bytes } from "../../../sdk/src/index.ts";
import type { SignatureVerifier } from "../../../sdk/src/reading/nodeVerifier.ts";

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
    raw,
  };
}

/** A raw payload: JSON text of one envelope or of an array of envelopes. */
export function preparePayload(
  text: string,
  device: PostedDevice | null,
  verifier: SignatureVerifier,
): PreparedPayload {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { ok: false, detail: `not JSON: ${(err as Error).message}` };
  }
  return prepareValue(value, device, verifier);
}

/** Parsed JSON: one envelope or an array of them (each element's JSON kept for its dead letter). */
export function prepareValue(
  value: unknown,
  device: PostedDevice | null,
  verifier: SignatureVerifier,
): PreparedPayload {
  if (!Array.isArray(value)) return { ok: true, items: [prepareEnvelope(value, device, verifier)] };
  if (value.length === 0) return { ok: false, detail: "empty array" };
  return { ok: true, items: value.map((v) => prepareEnvelope(v, device, verifier, safeStringify(v))) };
}

export function safeStringify(v: unknown): string {
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v); // not JSON-serialisable (cyclic): keep what can be shown
  }
}
