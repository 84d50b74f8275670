/**
 * Amounts as people read them. On-chain, one credit unit is one kilogram CO2e
 * (DESIGN.md "Units"); the UI speaks tonnes with kilogram precision, so every
 * amount is a bigint of kilograms inside and a "t CO2e" string outside.
 *
 * Kept in the web app because no other part formats for people yet; if the CLI or
 * the explorer needs the same strings, this file moves to the sdk unchanged.
 */

import { formatUnits } from "viem";

/** Kilograms per tonne. */
export const KG_PER_TONNE = 1000n;

function groupThousands(digits: string): string {
  return digits.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

/**
 * An integer count of thousandths with three decimals and thousands separators: `1234567n` →
 * `"1,234.567"`. Every amount the app shows is one (kg as tonnes, g as kg or t, mg as g).
 */
export function formatThousandths(n: bigint): string {
  const negative = n < 0n;
  const abs = negative ? -n : n;
  const whole = abs / 1000n;
  const frac = (abs % 1000n).toString().padStart(3, "0");
  return `${negative ? "-" : ""}${groupThousands(whole.toString())}.${frac}`;
}

/** `1234567n` kg → `"1,234.567"` (tonnes, always 3 decimals = kg precision). */
export function formatTonnesNumber(kg: bigint): string {
  return formatThousandths(kg);
}

/** `12345n` → `"12,345"`. */
export function formatCount(n: bigint | number): string {
  return groupThousands(n.toString());
}

/** `1500n` kg → `"1.500 t CO2e"`. */
export function formatTonnes(kg: bigint): string {
  return `${formatTonnesNumber(kg)} t CO2e`;
}

export type ParseResult = { ok: true; value: bigint } | { ok: false; error: string };

/**
 * Removes thousands separators, but only where they are unmistakably that: commas between
 * groups of exactly three digits before any decimal point (`"1,234,567.5"`). A comma anywhere
 * else is most likely a decimal comma (German and French keypads offer "," in
 * `inputMode="decimal"`): `"1,5"` is refused rather than read as 15, since a retirement that
 * is 10× too large cannot be undone. `undefined` = a comma that is not grouping.
 */
function withoutGrouping(text: string): string | undefined {
  if (!text.includes(",")) return text;
  if (/^\d{1,3}(,\d{3})+(\.\d*)?$/.test(text)) return text.replace(/,/g, "");
  return undefined;
}

const DECIMAL_COMMA = "use a point (1.5) for decimals; a comma only separates thousands (1,000).";

/**
 * Parses what a person typed as tonnes (`"1.5"`, `"0.001"`, `"12"`) into kilograms.
 * At most 3 decimals (one kilogram is the smallest unit); no sign, no exponent.
 */
export function parseTonnes(input: string): ParseResult {
  const trimmed = input.trim();
  if (trimmed === "") return { ok: false, error: "Enter an amount in tonnes." };
  const text = withoutGrouping(trimmed);
  if (text === undefined) return { ok: false, error: `"${trimmed}" is ambiguous: ${DECIMAL_COMMA}` };
  const m = /^(\d*)(?:\.(\d*))?$/.exec(text);
  if (!m || (m[1] === "" && (m[2] ?? "") === ""))
    return { ok: false, error: `"${input}" is not an amount: use digits and at most one decimal point.` };
  const frac = m[2] ?? "";
  if (frac.length > 3)
    return { ok: false, error: "Use at most 3 decimals: the smallest amount is 0.001 t (one kilogram)." };
  const kg = BigInt(m[1] || "0") * KG_PER_TONNE + BigInt(frac.padEnd(3, "0") || "0");
  if (kg === 0n) return { ok: false, error: "The amount must be at least 0.001 t (one kilogram)." };
  return { ok: true, value: kg };
}

/** Kilograms → the string a tonnes input shows (`1500n` → `"1.5"`, no grouping, trailing zeros cut). */
export function tonnesInputValue(kg: bigint): string {
  return formatUnits(kg, 3); // 1 t = 1,000 kg
}

/** A payment-token amount (`decimals` places) → `"1,234.50"`: at least 2 decimals, at most `decimals`. */
export function formatTokenAmount(amount: bigint, decimals: number): string {
  const negative = amount < 0n;
  const abs = negative ? -amount : amount;
  const base = 10n ** BigInt(decimals);
  const whole = abs / base;
  let frac = decimals > 0 ? (abs % base).toString().padStart(decimals, "0").replace(/0+$/, "") : "";
  if (frac.length < 2) frac = frac.padEnd(2, "0");
  return `${negative ? "-" : ""}${groupThousands(whole.toString())}.${frac}`;
}

/**
 * Base units of a token with `decimals` places as a person types them, the inverse of
 * parseTokenAmount: `12500000n`, 6 → `"12.5"` (no thousands separators, no trailing zeros).
 */
export function tokenAmountInputValue(amount: bigint, decimals: number): string {
  return formatUnits(amount, decimals);
}

/** `"12.5"` in a token with `decimals` places → base units; rejects more decimals than the token has. */
export function parseTokenAmount(input: string, decimals: number): ParseResult {
  const trimmed = input.trim();
  const text = withoutGrouping(trimmed);
  if (text === undefined) return { ok: false, error: `"${trimmed}" is ambiguous: ${DECIMAL_COMMA}` };
  const m = /^(\d*)(?:\.(\d*))?$/.exec(text);
  if (text === "" || !m || (m[1] === "" && (m[2] ?? "") === ""))
    return { ok: false, error: "Enter a price, e.g. 12.50." };
  const frac = m[2] ?? "";
  if (frac.length > decimals) return { ok: false, error: `Use at most ${decimals} decimals.` };
  const value = BigInt(m[1] || "0") * 10n ** BigInt(decimals) + BigInt(frac.padEnd(decimals, "0") || "0");
  if (value === 0n) return { ok: false, error: "The price must be more than zero." };
  return { ok: true, value };
}

/** Price per kilogram (token base units) → price per tonne, what buyers compare. */
export function pricePerTonne(pricePerKg: bigint): bigint {
  return pricePerKg * KG_PER_TONNE;
}

/** Price per tonne typed by a seller → price per kilogram on-chain; must divide exactly. */
export function pricePerKgFromTonne(perTonne: bigint): ParseResult {
  if (perTonne % KG_PER_TONNE !== 0n)
    return {
      ok: false,
      error: "That price per tonne is not a whole number of the token's smallest unit per kilogram; round it.",
    };
  return { ok: true, value: perTonne / KG_PER_TONNE };
}

/**
 * A price per tonne typed by a seller, in a token of `decimals` places → the Marketplace's
 * `unitPrice` (base units per kilogram).
 */
export function parseUnitPrice(input: string, decimals: number): ParseResult {
  const perTonne = parseTokenAmount(input, decimals);
  const perKg = perTonne.ok ? pricePerKgFromTonne(perTonne.value) : perTonne;
  if (perKg.ok && perKg.value > MAX_UINT128)
    return {
      ok: false,
      error: `That price is too large: at most ${formatTokenAmount(MAX_UINT128 * KG_PER_TONNE, decimals)} per tonne.`,
    };
  return perKg;
}

/** The Marketplace stores a unit price as uint128. */
export const MAX_UINT128 = 2n ** 128n - 1n;

/** A payment token as the sell page shows it (reads.ts PaymentTokenInfo). */
export type TokenLabel = { address: string; symbol: string; decimals: number };

/**
 * The payment token listing prices are read and typed in: the listing's own, looked up in the
 * tokens read for the page. Undefined when it was not read: then no price is shown or set,
 * never one in another token's decimals (an ETH listing priced with TestUSD's 6 decimals got a
 * price 10^12 too low).
 */
export function tokenOfListing(
  listing: { paymentToken: string },
  tokens: readonly TokenLabel[],
): TokenLabel | undefined {
  return tokens.find((t) => t.address.toLowerCase() === listing.paymentToken.toLowerCase());
}

/** Unix seconds → `2026-11-23` (UTC, what a certificate prints). */
export function formatDate(unixSeconds: bigint | number): string {
  const date = dateOf(unixSeconds);
  return date ? date.toISOString().slice(0, 10) : `${unixSeconds} (unix seconds)`;
}

/**
 * The moment `unixSeconds` as a Date; null past what a Date holds (±8.64e12 s, year 275760): a
 * uint64 written by anyone (a retirement's consumption period) may be (toISOString would throw).
 */
export function dateOf(unixSeconds: bigint | number): Date | null {
  const ms = Number(unixSeconds) * 1000;
  return Number.isFinite(ms) && Math.abs(ms) <= 8.64e15 ? new Date(ms) : null;
}

/** Shortens `0x1234…abcd` for display; the full address stays in a title/aria-label. */
export function shortAddress(address: string): string {
  return address.length > 12 ? `${address.slice(0, 6)}…${address.slice(-4)}` : address;
}

/** Seconds → `3 days`, `2 h 30 min`, `45 s`: how long a challenge window is, for people. */
export function formatDuration(seconds: bigint | number): string {
  const s = Number(seconds);
  const days = Math.floor(s / 86_400);
  const hours = Math.floor((s % 86_400) / 3600);
  const minutes = Math.floor((s % 3600) / 60);
  const parts: string[] = [];
  if (days) parts.push(`${days} day${days === 1 ? "" : "s"}`);
  if (hours) parts.push(`${hours} h`);
  if (minutes) parts.push(`${minutes} min`);
  if (!parts.length || (s % 60 && !days)) parts.push(`${s % 60} s`);
  return parts.join(" ");
}
