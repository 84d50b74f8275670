/**
 * Emission amounts for people. The chain counts grams CO2e (DESIGN.md "Units"); the explorer shows
 * tonnes with kilogram precision and says so in the column or label. Credits (kilograms) use
 * `formatTonnesNumber` from ../units.ts.
 */

function group(digits: string): string {
  return digits.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

/** `1_234_567_890n` g → `"1,234.568"` (tonnes, 3 decimals, half away from zero). */
export function formatGramsAsTonnes(grams: bigint): string {
  const negative = grams < 0n;
  const abs = negative ? -grams : grams;
  const kg = (abs + 500n) / 1000n;
  const whole = kg / 1000n;
  const frac = (kg % 1000n).toString().padStart(3, "0");
  return `${negative && kg > 0n ? "-" : ""}${group(whole.toString())}.${frac}`;
}

/** Milligrams → grams with 3 decimals: `1_425_123n` → `"1,425.123"` (a reading's emissions). */
export function formatMgAsGrams(mg: bigint): string {
  const negative = mg < 0n;
  const abs = negative ? -mg : mg;
  return `${negative ? "-" : ""}${group((abs / 1000n).toString())}.${(abs % 1000n).toString().padStart(3, "0")}`;
}

/** `12345n` → `"12,345"`. */
export function formatCount(n: bigint | number): string {
  return group(n.toString());
}

/** Unix seconds → `2026-11-23 10:00 UTC`. */
export function formatDateTime(unixSeconds: bigint | number): string {
  return `${new Date(Number(unixSeconds) * 1000).toISOString().slice(0, 16).replace("T", " ")} UTC`;
}

/** `0x1234…abcd` for a 32-byte hash (the full value stays in a title). */
export function shortHash(hex: string): string {
  return hex.length > 18 ? `${hex.slice(0, 10)}…${hex.slice(-6)}` : hex;
}
