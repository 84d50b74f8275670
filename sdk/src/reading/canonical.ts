import canonicalize from "canonicalize";
import { SdkError } from "../errors.ts";

/**
 * Walks a JSON value and throws `NON_INTEGER` at the first number that is not a safe
 * integer: floats are never hashed (docs/protocol.md). Also rejects values JSON
 * cannot carry (undefined, functions, bigint, NaN).
 */
export function assertIntegerJson(value: unknown, path = ""): void {
  // the common case, a valid value, without building a path string for every member
  if (path === "" && isIntegerJson(value)) return;
  if (value === null || typeof value === "string" || typeof value === "boolean") return;
  if (typeof value === "number") {
    if (!Number.isSafeInteger(value)) {
      throw new SdkError(`${path || "(root)"}: ${value} is not a safe integer; readings carry integers only.`, {
        code: "NON_INTEGER",
        docsPath: "docs/protocol.md#reading-version-1",
        details: { path, value },
      });
    }
    return;
  }
  if (Array.isArray(value)) {
    value.forEach((item, i) => assertIntegerJson(item, `${path}[${i}]`));
    return;
  }
  if (typeof value === "object") {
    for (const [k, v] of Object.entries(value)) {
      if (v === undefined) {
        throw new SdkError(`${path ? `${path}.` : ""}${k} is undefined; drop the key or give it a value.`, {
          code: "NON_INTEGER",
        });
      }
      assertIntegerJson(v, path ? `${path}.${k}` : k);
    }
    return;
  }
  throw new SdkError(`${path || "(root)"}: a ${typeof value} cannot be encoded as JSON.`, { code: "NON_INTEGER" });
}

/** What `assertIntegerJson` accepts, as a yes or no (it then walks again to say where it fails). */
function isIntegerJson(value: unknown): boolean {
  if (value === null || typeof value === "string" || typeof value === "boolean") return true;
  if (typeof value === "number") return Number.isSafeInteger(value);
  if (typeof value !== "object") return false;
  if (Array.isArray(value)) {
    for (const item of value) if (!isIntegerJson(item)) return false;
    return true;
  }
  for (const k in value) {
    if (!Object.hasOwn(value, k)) continue;
    const v = (value as Record<string, unknown>)[k];
    if (v === undefined || !isIntegerJson(v)) return false;
  }
  return true;
}

const encoder = new TextEncoder();

/** RFC 8785 (JCS) canonical JSON text of an integer-only JSON value. */
export function canonicalJson(value: unknown): string {
  assertIntegerJson(value);
  const text = canonicalize(value);
  if (text === undefined) throw new SdkError("Value has no JSON form.", { code: "NON_INTEGER" });
  return text;
}

/** RFC 8785 (JCS) canonical bytes (UTF-8) of an integer-only JSON value, e.g. a reading. */
export function canonicalBytes(value: unknown): Uint8Array {
  return encoder.encode(canonicalJson(value));
}
