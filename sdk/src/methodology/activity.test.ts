import assert from "node:assert/strict";
import { test } from "node:test";
import { defaultFactorSet, withSpendFactors } from "../factors/factorSet.ts";
import { ActivityError, computeActivity, parseActivities } from "./activity.ts";

const ar6 = defaultFactorSet({ gwp: "AR6", sector: "manufacturing" });

/** The one issue of an ActivityError thrown by `fn`. */
function issueOf(fn: () => unknown): { field: string; expected: string } {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof ActivityError, String(error));
    assert.equal(error.issues.length, 1);
    return error.issues[0]!;
  }
  assert.fail("expected an ActivityError");
}

test("a fuel or spend category named like an Object.prototype member is unknown, not a factor", () => {
  const spendSet = withSpendFactors(ar6, {
    citation: "test table (not EPA data)",
    currency: "USD",
    currencyYear: 2022,
    unit: "kg CO2e/2022 USD, purchaser price",
    factors: { "222222": { title: "test", kgCo2ePerUnit: "0.500", withoutMargins: "0.400", margins: "0.100" } },
  });
  for (const name of ["constructor", "toString", "__proto__"]) {
    const [fuel] = parseActivities([
      { kind: "fuel", fuel: name, litres: 1, densityKgPerM3: 840, densitySource: "datasheet" },
    ]);
    assert.match(issueOf(() => computeActivity(fuel!, 0, ar6)).expected, /unknown fuel/i, name);
    const [byMass] = parseActivities([{ kind: "fuel", fuel: name, massKg: 1 }]);
    assert.match(issueOf(() => computeActivity(byMass!, 0, ar6)).expected, /Unknown fuel/, name);
    const [spend] = parseActivities([{ kind: "spend", category: name, amount: 1, currency: "USD" }]);
    const issue = issueOf(() => computeActivity(spend!, 0, spendSet));
    assert.equal(issue.field, "category", name);
    assert.match(issue.expected, /is not in them/, name);
  }
});

/** Computes one record of `carbonproof emissions` input. */
const one = (record: unknown, set = ar6) => computeActivity(parseActivities([record])[0]!, 0, set);

// Diesel, IPCC 2006 Vol. 2: NCV 43.0 TJ/Gg = kJ/g (Table 1.2); CO2 74,100, CH4 3, N2O 0.6 kg/TJ =
// mg/kJ × 1000 (Tables 1.4, 2.3); AR6 GWP CH4 (fossil) 29.8, N2O 273 (WG1 Table 7.15).
// By hand, 2.5 kg: 2,500 g × 43.0 = 107,500 kJ; CO2 107,500 × 74.1 = 7,965,750 mg; CH4 322.5 mg;
// N2O 64.5 mg; CO2e 7,965,750 + 322.5 × 29.8 + 64.5 × 273 = 7,992,969 mg.
test("fuel by mass: massKg 2.5 is 2,500 g (kg → g), diesel CO2e 7,992,969 mg", () => {
  const r = one({ kind: "fuel", fuel: "diesel", massKg: 2.5 });
  assert.equal(r.fossilCo2Mg, 7_965_750n);
  assert.equal(r.ch4Mg, 322n);
  assert.equal(r.n2oMg, 64n);
  assert.equal(r.fossilCo2eMg, 7_992_969n);
});

test("fuel by energy: energyGj 0.1075 is 107,500 kJ (GJ → kJ), the same as 2.5 kg of diesel", () => {
  const r = one({ kind: "fuel", fuel: "diesel", energyGj: 0.1075 });
  assert.equal(r.fossilCo2eMg, 7_992_969n);
  assert.deepEqual(r, one({ kind: "fuel", fuel: "diesel", massKg: 2.5 }));
});

// By hand: 2.5 L = 2,500 mL × 840 kg/m³ (= g/L) / 1000 = 2,100 g; × 43.0 = 90,300 kJ;
// CO2 90,300 × 74.1 = 6,691,230 mg; CH4 270.9; N2O 54.18; CO2e 6,691,230 + 8,072.82 + 14,791.14 = 6,714,093.96.
test("fuel by volume: litres 2.5 is 2,500 mL (L → mL), at a cited 840 kg/m³ 2,100 g of diesel", () => {
  const r = one({
    kind: "fuel",
    fuel: "diesel",
    litres: 2.5,
    densityKgPerM3: 840,
    densitySource: "supplier datasheet",
  });
  assert.equal(r.fossilCo2Mg, 6_691_230n);
  assert.equal(r.ch4Mg, 270n);
  assert.equal(r.n2oMg, 54n);
  assert.equal(r.fossilCo2eMg, 6_714_093n);
});

// By hand: 1,234 Wh × 412,345 mg/kWh / 1000 = 508,833.73 mg → 508,833 mg.
test("electricity with a given factor: gridGramsPerKwh 412.345 is 412,345 mg/kWh (g → mg), 1,234 Wh → 508,833 mg", () => {
  const r = one({ kind: "electricity", energyWh: 1234, gridGramsPerKwh: 412.345, source: "supplier" });
  assert.equal(r.fossilCo2eMg, 508_833n);
  assert.equal(r.scope2?.marketMg, 508_833n);
  assert.ok(r.citations.includes("contractual factor 412.345 g CO2e/kWh (market-based): supplier"));
});

test("electricity with a given factor and a blank source: refused on field source (a blank cites nothing)", () => {
  const [record] = parseActivities([{ kind: "electricity", energyWh: 1234, gridGramsPerKwh: 412.345, source: " " }]);
  const issue = issueOf(() => computeActivity(record!, 0, ar6));
  assert.equal(issue.field, "source");
  assert.match(issue.expected, /source of gridGramsPerKwh/);
});

// Kenya in @tgwf/co2 0.19.0: 84.83 g CO2e/kWh (see compute.test.ts). 2,000 Wh × 84.83 = 169.66 g.
test("electricity by country: KEN 84.83 g/kWh (Ember via @tgwf/co2 0.19.0), 2 kWh → 169,660 mg; the year is a warning", () => {
  const r = one({ kind: "electricity", energyWh: 2000, country: "KEN", year: 2024 });
  assert.equal(r.fossilCo2eMg, 169_660n);
  assert.ok(r.warnings.some((w) => w.includes("year 2024 requested")));
});

// The built-in factor sets carry no spend table (spend: null), and the sdk ships no EPA values
// (docs/methodology.md): a made-up table, labelled so, for the arithmetic only.
// By hand: 1,234.56 USD = 123,456 cents × 0.318 kg/USD × 10⁴ mg/(kg·cent⁻¹·USD) = 392,590,080 mg
// (1,234.56 × 0.318 = 392.59008 kg).
test("spend: amount 1234.56 (currency units → cents) × 0.318 kg CO2e/USD = 392,590,080 mg", () => {
  const set = withSpendFactors(ar6, {
    citation: "test table, made-up values (NOT EPA data)",
    currency: "USD",
    currencyYear: 2022,
    unit: "kg CO2e/2022 USD, purchaser price",
    factors: { "999999": { title: "test row", kgCo2ePerUnit: "0.318", withoutMargins: "0.300", margins: "0.018" } },
  });
  const r = one({ kind: "spend", category: "999999", amount: 1234.56, currency: "USD" }, set);
  assert.equal(r.fossilCo2eMg, 392_590_080n);
  assert.equal(r.fossilCo2Mg, null);
  assert.ok(r.citations.some((c) => c.includes('999999 "test row" 0.318')));
});
