import { SdkError } from "../errors.ts";

/**
 * Exact decimal arithmetic for factors. Factors are stored as decimal strings
 * ("43.0", "0.6", "29.8") so the factor-set JSON stays integer-only (JCS, hashed) and
 * no binary float ever touches a result; every computation is a rational of bigints,
 * floored once at the end.
 */
export type Rational = { n: bigint; d: bigint };

export const DECIMAL_PATTERN = /^(0|[1-9][0-9]*)(\.[0-9]+)?$/;

/** Parses a non-negative decimal string exactly. */
export function decimal(text: string): Rational {
  if (!DECIMAL_PATTERN.test(text)) {
    throw new SdkError(`${JSON.stringify(text)} is not a non-negative decimal number like "43.0".`, {
      code: "INVALID_FACTOR_SET",
    });
  }
  const [int, frac = ""] = text.split(".");
  return { n: BigInt(int! + frac), d: 10n ** BigInt(frac.length) };
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
