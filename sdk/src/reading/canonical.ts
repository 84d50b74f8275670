import canonicalize from "canonicalize";
import { SdkError } from "../errors.ts";

/**
 * Walks a JSON value and throws `NON_INTEGER` at the first number that is not a safe
 * integer: floats are never hashed (docs/protocol.md). Also rejects values JSON
 * cannot carry (undefined, functions, bigint, NaN). `path` prefixes the path in messages.
 */
export function assertIntegerJson(value: unknown, path = ""): void {
  // one walk that keeps the path as segments and writes it out only for the error message (a
  // path string per member cost more than the rest of the walk on every reading hashed)
  const at: (string | number)[] = [];
  const where = () => at.reduce<string>((p, s) => (typeof s === "number" ? `${p}[${s}]` : p ? `${p}.${s}` : s), path);
  const walk = (v: unknown): void => {
    if (v === null || typeof v === "string" || typeof v === "boolean") return;
    if (typeof v === "number") {
      if (!Number.isSafeInteger(v)) {
        const p = where();
        throw new SdkError(`${p || "(root)"}: ${v} is not a safe integer; readings carry integers only.`, {
          code: "NON_INTEGER",
          docsPath: "docs/protocol.md#reading-version-1",
          details: { path: p, value: v },
        });
      }
      return;
    }
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        if (!(i in v)) continue; // a hole, as forEach skips it
        at.push(i);
        walk(v[i]);
        at.pop();
      }
      return;
    }
    if (typeof v === "object") {
      for (const k in v) {
        if (!Object.hasOwn(v, k)) continue;
        const item = (v as Record<string, unknown>)[k];
        at.push(k);
        if (item === undefined) {
          throw new SdkError(`${where()} is undefined; drop the key or give it a value.`, { code: "NON_INTEGER" });
        }
        walk(item);
        at.pop();
      }
      return;
    }
    throw new SdkError(`${where() || "(root)"}: a ${typeof v} cannot be encoded as JSON.`, { code: "NON_INTEGER" });
  };
  walk(value);
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
