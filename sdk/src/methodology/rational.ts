import { SdkError } from "../errors.ts";

/**
 * Exact decimal arithmetic for factors. Factors are stored as decimal strings
 * ("43.0", "0.6", "29.8") so the factor-set JSON stays integer-only (JCS, hashed) and
 * no binary float ever touches a result; every computation is a rational of bigints,
 * floored once at the end.
 */
export type Rational = { n: bigint; d: bigint };

export const DECIMAL_PATTERN = /^(0|[1-9][0-9]*)(\.[0-9]+)?$/;

/**
 * Longest decimal string a factor may be, in characters. The longest in the built-in factor
 * sets is 6 ("101000"); EPA spend factors have 3 decimals. A factor set comes with a bundle, so
 * it is untrusted input: a factor of a million digits cost 0.79 s per reading it was used in.
 */
export const DECIMAL_MAX_LENGTH = 40;

/** Parsed factors by their text: each factor of a set is parsed once, not once per reading. */
const parsed = new Map<string, Readonly<Rational>>();
const PARSED_MAX = 4096;

/** Parses a non-negative decimal string (at most DECIMAL_MAX_LENGTH characters) exactly. */
export function decimal(text: string): Rational {
  const known = parsed.get(text);
  if (known) return known;
  if (text.length > DECIMAL_MAX_LENGTH) {
    throw new SdkError(
      `A decimal of ${text.length} characters (${JSON.stringify(text.slice(0, 12))}…) is longer than the ${DECIMAL_MAX_LENGTH} a factor may have.`,
      { code: "INVALID_FACTOR_SET" },
    );
  }
  if (!DECIMAL_PATTERN.test(text)) {
    throw new SdkError(`${JSON.stringify(text)} is not a non-negative decimal number like "43.0".`, {
      code: "INVALID_FACTOR_SET",
    });
  }
  const [int, frac = ""] = text.split(".");
  const value = Object.freeze({ n: BigInt(int! + frac), d: 10n ** BigInt(frac.length) });
  // bounded: a process that sees many factor sets (a verifier of a long history) forgets the oldest
  if (parsed.size >= PARSED_MAX) parsed.delete(parsed.keys().next().value!);
  parsed.set(text, value);
  return value;
}

export function int(value: bigint | number): Rational {
  return { n: BigInt(value), d: 1n };
}

export function mul(...xs: Rational[]): Rational {
  return xs.reduce((a, b) => ({ n: a.n * b.n, d: a.d * b.d }), { n: 1n, d: 1n });
}

export function add(...xs: Rational[]): Rational {
  return xs.reduce((a, b) => ({ n: a.n * b.d + b.n * a.d, d: a.d * b.d }), { n: 0n, d: 1n });
}

export function div(a: Rational, b: Rational): Rational {
  if (b.n === 0n) throw new SdkError("Division by zero in a factor computation.", { code: "INVALID_FACTOR_SET" });
  return { n: a.n * b.d, d: a.d * b.n };
}

/** floor(x) for x ≥ 0. */
export function floor(x: Rational): bigint {
  if (x.n < 0n || x.d <= 0n)
    throw new SdkError("Negative quantity in an emission computation.", { code: "INVALID_ACTIVITY" });
  return x.n / x.d;
}

/**
 * Exact fixed-point of a JS number with at most `places` decimals (e.g. 12.5 kg with 3
 * places → 12500 g); null when the number has more decimals than that or is not finite.
 */
export function toFixedPoint(value: number, places: number): bigint | null {
  if (!Number.isFinite(value)) return null;
  const scale = 10 ** places;
  const scaled = Math.round(value * scale);
  if (!Number.isSafeInteger(scaled) || scaled / scale !== value) return null;
  return BigInt(scaled);
}
