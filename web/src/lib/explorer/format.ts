/**
 * Emission amounts for people. The chain counts grams CO2e (DESIGN.md "Units"); the explorer shows
 * tonnes with kilogram precision and says so in the column or label. Credits (kilograms) use
 * `formatTonnesNumber` from ../units.ts.
 */

import { dateOf, formatCount, formatThousandths } from "../units.ts";

export { formatCount };

/** `1_234_567_890n` g → `"1,234.568"` (tonnes, 3 decimals, half away from zero). */
export function formatGramsAsTonnes(grams: bigint): string {
  const negative = grams < 0n;
  const kg = ((negative ? -grams : grams) + 500n) / 1000n;
  return formatThousandths(negative ? -kg : kg);
}

/** Milligrams → grams with 3 decimals: `1_425_123n` → `"1,425.123"` (a reading's emissions). */
export function formatMgAsGrams(mg: bigint): string {
  return formatThousandths(mg);
}

/** Unix seconds → `2026-11-23 10:00 UTC`. */
export function formatDateTime(unixSeconds: bigint | number): string {
  const date = dateOf(unixSeconds);
  if (!date) return `${unixSeconds} (unix seconds)`;
  return `${date.toISOString().slice(0, 16).replace("T", " ")} UTC`;
}

/** `0x1234…abcd` for a 32-byte hash (the full value stays in a title). */
export function shortHash(hex: string): string {
  return hex.length > 18 ? `${hex.slice(0, 10)}…${hex.slice(-6)}` : hex;
}
