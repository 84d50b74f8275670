import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { computeFuel } from "../methodology/compute.ts";
import { defaultFactorSet } from "./factorSet.ts";
import { IPCC_2006_FUELS } from "./ipcc2006.ts";

// CO2 of one tonne, by hand: NCV (IPCC 2006 Vol. 2 Ch. 1 Table 1.2, TJ/Gg) × CO2 EF (Table 1.4, kg/TJ) / 1000, in kg.
const CO2_KG_PER_TONNE: Record<keyof typeof IPCC_2006_FUELS, string> = {
  diesel: "3186.3", // 43.0 × 74100
  petrol: "3069.99", // 44.3 × 69300
  kerosene: "3149.22", // 43.8 × 71900
  "heavy-fuel-oil": "3126.96", // 40.4 × 77400
  lpg: "2984.63", // 47.3 × 63100
  "natural-gas": "2692.8", // 48.0 × 56100
  anthracite: "2624.61", // 26.7 × 98300
  "coal-bituminous": "2440.68", // 25.8 × 94600
  "coal-sub-bituminous": "1816.29", // 18.9 × 96100
  lignite: "1201.9", // 11.9 × 101000
  firewood: "1747.2", // 15.6 × 112000
  charcoal: "3304", // 29.5 × 112000
  "other-solid-biomass": "1160", // 11.6 × 100000
};

test("every IPCC fuel: CO2 of one tonne equals the hand computation from Tables 1.2 and 1.4", () => {
  const set = defaultFactorSet();
  for (const [fuel, kg] of Object.entries(CO2_KG_PER_TONNE)) {
    const r = computeFuel(set, { fuel, massGrams: 1_000_000 });
    const co2Mg = (r.fossilCo2Mg ?? 0n) + r.biogenicCo2Mg;
    const [int, frac = ""] = kg.split(".");
    assert.equal(co2Mg, BigInt(int! + frac.padEnd(6, "0")), fuel);
    assert.equal(r.biogenicCo2Mg > 0n, IPCC_2006_FUELS[fuel as keyof typeof IPCC_2006_FUELS].biogenic, fuel);
  }
});

test("docs/methodology.md lists exactly the shipped fuel factors", () => {
  const doc = readFileSync(new URL("../../../docs/methodology.md", import.meta.url), "utf8");
  for (const [id, row] of Object.entries(IPCC_2006_FUELS)) {
    const line = doc.split("\n").find((l) => l.startsWith(`| ${id} `));
    assert.ok(line, `${id} missing from the docs table`);
    const cells = line.split("|").map((c) => c.trim());
    assert.deepEqual(cells.slice(1, 8), [
      id,
      row.ipccName,
      row.ncvTjPerGg,
      row.co2KgPerTj,
      `${row.ch4KgPerTj.energy} / ${row.ch4KgPerTj.manufacturing}`,
      `${row.n2oKgPerTj.energy} / ${row.n2oKgPerTj.manufacturing}`,
      row.biogenic ? "yes" : "no",
    ]);
  }
});
