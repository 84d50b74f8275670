import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { flueGasCo2Mg } from "./flueGas.ts";

const example = { co2Ppm: 41000, tempCentiC: 18550, velocityMmS: 6200, pressurePa: 101325, ductDiameterMm: 600 };

// Known answer of docs/protocol.md: 6200 mm/s, 600 mm, 41000 ppm, 101325 Pa, 185.50 °C, 5 s.
// By hand: A = π·0.6²/4 = 0.282743 m², Q = 6.2·A = 1.753009 m³/s,
// ρ = 101325·44.0095/(8.314462618·458.65) = 1169.35 g/m³, m = Q·0.041·ρ·5 = 420.23 g.
test("flue gas known answer: 420228 mg over 5 s (docs/protocol.md example)", () => {
  assert.equal(flueGasCo2Mg(example, 5), 420228n);
});

test("flue gas agrees with the floating-point formula within rounding", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 1_000_000 }),
      fc.integer({ min: -4000, max: 120000 }),
      fc.integer({ min: 0, max: 50_000 }),
      fc.integer({ min: 50_000, max: 200_000 }),
      fc.integer({ min: 0, max: 5000 }),
      fc.integer({ min: 1, max: 3600 }),
      (co2Ppm, tempCentiC, velocityMmS, pressurePa, ductDiameterMm, intervalS) => {
        const mg = Number(flueGasCo2Mg({ co2Ppm, tempCentiC, velocityMmS, pressurePa, ductDiameterMm }, intervalS));
        const area = (Math.PI * (ductDiameterMm / 1000) ** 2) / 4;
        const rho = (pressurePa * 44.0095) / (8.314462618 * (tempCentiC / 100 + 273.15));
        const expected = (velocityMmS / 1000) * area * (co2Ppm * 1e-6) * rho * intervalS * 1000;
        assert.ok(Math.abs(mg - expected) <= 1 + expected * 1e-9, `${mg} vs ${expected}`);
      },
    ),
  );
});

test("flue gas mass is linear in the interval and zero without CO2", () => {
  assert.equal(flueGasCo2Mg({ ...example, co2Ppm: 0 }, 5), 0n);
  assert.ok(flueGasCo2Mg(example, 10) - 2n * flueGasCo2Mg(example, 5) <= 1n);
});

test("rejects a temperature at absolute zero", () => {
  assert.throws(() => flueGasCo2Mg({ ...example, tempCentiC: -27315 }, 5), { code: "INVALID_READING" });
});
