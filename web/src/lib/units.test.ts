import { test } from "node:test";
import assert from "node:assert/strict";
import {
  formatTonnes,
  formatTonnesNumber,
  formatTokenAmount,
  parseTokenAmount,
  parseTonnes,
  pricePerKgFromTonne,
  parseUnitPrice,
  tokenAmountInputValue,
  tokenOfListing,
  tonnesInputValue,
  formatDuration,
  formatDate,
} from "./units.ts";

test("formats kilograms as tonnes with kilogram precision", () => {
  assert.equal(formatTonnes(0n), "0.000 t CO2e");
  assert.equal(formatTonnes(1n), "0.001 t CO2e");
  assert.equal(formatTonnes(1500n), "1.500 t CO2e");
  assert.equal(formatTonnesNumber(1234567n), "1,234.567");
  assert.equal(formatTonnesNumber(-2500n), "-2.500");
});

test("parses tonnes typed by a person into kilograms", () => {
  assert.deepEqual(parseTonnes("1.5"), { ok: true, value: 1500n });
  assert.deepEqual(parseTonnes(" 0.001 "), { ok: true, value: 1n });
  assert.deepEqual(parseTonnes("12"), { ok: true, value: 12000n });
  assert.deepEqual(parseTonnes(".25"), { ok: true, value: 250n });
  assert.deepEqual(parseTonnes("1,000"), { ok: true, value: 1_000_000n });
});

test("rejects amounts finer than a kilogram, zero, signs and garbage, in words", () => {
  for (const bad of ["", "0", "0.0004", "-1", "1e3", "abc", ".", "1.2.3"]) {
    const r = parseTonnes(bad);
    assert.equal(r.ok, false, bad);
    if (!r.ok) assert.match(r.error, /[a-z]/);
  }
  const fine = parseTonnes("0.0001");
  assert.ok(!fine.ok && /3 decimals/.test(fine.error));
});

test("a comma is a thousands separator only between groups of three digits", () => {
  assert.deepEqual(parseTonnes("1,234,567.5"), { ok: true, value: 1_234_567_500n });
  assert.deepEqual(parseTonnes("12,000"), { ok: true, value: 12_000_000n });
  assert.deepEqual(parseTokenAmount("1,250.50", 6), { ok: true, value: 1_250_500_000n });
});

test("a decimal comma (German/French keypads) is refused with a hint, never read as grouping", () => {
  // "1,5" once parsed as 15 t: an irreversible retirement ten times too large.
  for (const typed of ["1,5", "0,25", "1,5000", ",5", "1,", "1,2,3", "1234,567", "1,000.5,1"]) {
    const r = parseTonnes(typed);
    assert.equal(r.ok, false, typed);
    if (!r.ok) assert.match(r.error, /use a point \(1\.5\) for decimals/, typed);
  }
  for (const typed of ["12,50", "12,5", "0,99"]) {
    const r = parseTokenAmount(typed, 6);
    assert.equal(r.ok, false, typed);
    if (!r.ok) assert.match(r.error, /use a point \(1\.5\) for decimals/, typed);
  }
});

test("tonnes input value round-trips through parseTonnes", () => {
  for (const kg of [1n, 10n, 999n, 1000n, 1234n, 98765432n]) {
    const r = parseTonnes(tonnesInputValue(kg));
    assert.deepEqual(r, { ok: true, value: kg });
  }
});

test("a token amount as typed round-trips through parseTokenAmount", () => {
  for (const [amount, decimals] of [
    [1n, 6],
    [25_500_000n, 6],
    [1_000_000_000_000n, 6],
    [20_000_000_000_000_000n, 18],
    [7n, 0],
  ] as const) {
    assert.doesNotMatch(tokenAmountInputValue(amount, decimals), /,/);
    assert.deepEqual(parseTokenAmount(tokenAmountInputValue(amount, decimals), decimals), { ok: true, value: amount });
  }
});

test("formats and parses 6-decimal token amounts", () => {
  assert.equal(formatTokenAmount(12_500_000n, 6), "12.50");
  assert.equal(formatTokenAmount(1n, 6), "0.000001");
  assert.equal(formatTokenAmount(1_234_567_890_000n, 6), "1,234,567.89");
  assert.deepEqual(parseTokenAmount("12.5", 6), { ok: true, value: 12_500_000n });
  assert.equal(parseTokenAmount("1.0000001", 6).ok, false);
  assert.equal(parseTokenAmount("0", 6).ok, false);
});

test("a price per tonne must divide into whole units per kilogram", () => {
  assert.deepEqual(pricePerKgFromTonne(25_000_000n), { ok: true, value: 25_000n });
  assert.equal(pricePerKgFromTonne(25_000_001n).ok, false);
});

test("durations read in days, hours and minutes", () => {
  assert.equal(formatDuration(259_200n), "3 days");
  assert.equal(formatDuration(3600), "1 h");
  assert.equal(formatDuration(9000), "2 h 30 min");
  assert.equal(formatDuration(45), "45 s");
  assert.equal(formatDuration(0), "0 s");
  assert.equal(formatDuration(86_400 + 61), "1 day 1 min");
});

test("a listing's new price is read in that listing's own payment token", () => {
  const tokens = [
    { address: "0x5FbDB2315678afecb367f032d93F642f64180aa3", symbol: "tUSD", decimals: 6 },
    { address: "0x0000000000000000000000000000000000000000", symbol: "ETH", decimals: 18 },
  ];
  const eth = tokenOfListing({ paymentToken: "0x0000000000000000000000000000000000000000" }, tokens);
  assert.equal(eth?.symbol, "ETH");
  // 0.05 ETH per tonne = 5·10^13 wei per kg; with tUSD's 6 decimals it was 5·10^1, 10^12 too low
  assert.deepEqual(parseUnitPrice("0.05", eth!.decimals), { ok: true, value: 50_000_000_000_000n });
  const usd = tokenOfListing({ paymentToken: "0x5fbdb2315678afecb367f032d93f642f64180aa3" }, tokens);
  assert.deepEqual(parseUnitPrice("32.5", usd!.decimals), { ok: true, value: 32_500n });
  assert.equal(tokenOfListing({ paymentToken: "0x0000000000000000000000000000000000000009" }, tokens), undefined);
});

test("a price per tonne above what the Marketplace stores (uint128 per kg) is refused in words", () => {
  const max = (2n ** 128n - 1n) * 1000n; // per tonne, base units
  const text = (v: bigint) => v.toString();
  assert.deepEqual(parseUnitPrice(text(max), 0), { ok: true, value: 2n ** 128n - 1n });
  const over = parseUnitPrice(text(max + 1000n), 0);
  assert.ok(!over.ok && /too large/.test(over.error), JSON.stringify(over));
});

test("a date past what a Date holds is shown as its number, not thrown (a retirement's uint64 consumption period)", () => {
  assert.equal(formatDate(1_763_892_000n), "2025-11-23");
  assert.equal(formatDate(2n ** 64n - 2n), "18446744073709551614 (unix seconds)");
});
