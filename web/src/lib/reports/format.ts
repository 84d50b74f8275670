/**
 * Emission figures for people, exact: the chain counts integer grams, readings integer milligrams
 * (DESIGN.md "Units"). Shown as kilograms with three decimals (gram precision), so a report's totals
 * can be compared digit for digit with the chain; the unit is always in the label.
 */

function group(digits: string): string {
  return digits.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

function fixed3(units: bigint): string {
  const neg = units < 0n;
  const abs = neg ? -units : units;
  return `${neg ? "-" : ""}${group((abs / 1000n).toString())}.${(abs % 1000n).toString().padStart(3, "0")}`;
}

/** `1234567n` g → `"1,234.567"` (kg, exact). */
export function gramsAsKg(grams: bigint): string {
  return fixed3(grams);
}

/** `1234567n` g → `"1.235"` (t, to the kilogram, half up). */
export function gramsAsTonnes(grams: bigint): string {
  const neg = grams < 0n;
  const kg = ((neg ? -grams : grams) + 500n) / 1000n;
  return fixed3(neg ? -kg : kg);
}

/** `1234567n` mg → `"1.234"` (kg, rounded down to the gram as the chain's totals are). */
export function mgAsKg(mg: bigint): string {
  return fixed3(mg / 1000n);
}

/** Kilograms as a number for a chart axis (charts need numbers; the tables keep the exact figures). */
export function gramsToKgNumber(grams: bigint): number {
  return Number(grams) / 1000;
}

export function mgToKgNumber(mg: bigint): number {
  return Number(mg / 1000n) / 1000;
}

export function count(n: bigint | number): string {
  return group(n.toString());
}

/** Unix seconds → `2026-11-23 10:00 UTC`. */
export function utc(unixSeconds: bigint | number): string {
  return `${new Date(Number(unixSeconds) * 1000).toISOString().slice(0, 16).replace("T", " ")} UTC`;
}

/** A duration in seconds → `45 s`, `12 min`, `3.5 h`, `2.0 d`. */
export function duration(seconds: number): string {
  if (seconds < 120) return `${Math.round(seconds)} s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
  if (seconds < 172_800) return `${(seconds / 3600).toFixed(1)} h`;
  return `${(seconds / 86_400).toFixed(1)} d`;
}

/** `0x1234…abcd` for a hash (the full value stays in a title or the JSON). */
export function short(hex: string): string {
  return hex.length > 18 ? `${hex.slice(0, 10)}…${hex.slice(-6)}` : hex;
}
