/**
 * Emission figures for people, exact: the chain counts integer grams, readings integer milligrams
 * (DESIGN.md "Units"). Shown as kilograms with three decimals (gram precision), so a report's totals
 * can be compared digit for digit with the chain; the unit is always in the label.
 */

import { formatCount, formatDateTime, formatGramsAsTonnes, shortHash } from "../explorer/format.ts";
import { formatThousandths } from "../units.ts";

/** `1234567n` g → `"1,234.567"` (kg, exact). */
export function gramsAsKg(grams: bigint): string {
  return formatThousandths(grams);
}

/** `1234567n` g → `"1.235"` (t, to the kilogram, half up). */
export const gramsAsTonnes = formatGramsAsTonnes;

/** `1234567n` mg → `"1.234"` (kg, rounded down to the gram as the chain's totals are). */
export function mgAsKg(mg: bigint): string {
  return formatThousandths(mg / 1000n);
}

/** Kilograms as a number for a chart axis (charts need numbers; the tables keep the exact figures). */
export function gramsToKgNumber(grams: bigint): number {
  return Number(grams) / 1000;
}

export function mgToKgNumber(mg: bigint): number {
  return Number(mg / 1000n) / 1000;
}

export const count = formatCount;

/** Unix seconds → `2026-11-23 10:00 UTC`. */
export const utc = formatDateTime;

/** A duration in seconds → `45 s`, `12 min`, `3.5 h`, `2.0 d`. */
export function duration(seconds: number): string {
  if (seconds < 120) return `${Math.round(seconds)} s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
  if (seconds < 172_800) return `${(seconds / 3600).toFixed(1)} h`;
  return `${(seconds / 86_400).toFixed(1)} d`;
}

/** `0x1234…abcd` for a hash (the full value stays in a title or the JSON). */
export const short = shortHash;
