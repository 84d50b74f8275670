import type { Reading } from "../../../sdk/src/index.ts";

/**
 * Physical plausibility per kind. Bounds are generous (a reading outside them is a broken
 * sensor or a forged value, not an unusual day) and listed in docs/oracle.md.
 */
export const BOUNDS = {
  sensorIntervalMaxS: 86_400,
  manualIntervalMaxS: 31_622_400, // a manual entry (an invoice) may cover up to 366 days
  flueGas: {
    co2PpmMax: 250_000, // 25 % by volume: above any combustion flue gas
    tempCentiCMin: -5_000, // −50 °C
    tempCentiCMax: 150_000, // 1500 °C
    velocityMmSMax: 60_000, // 60 m/s
    pressurePaMin: 50_000,
    pressurePaMax: 200_000,
    ductDiameterMmMin: 50,
    ductDiameterMmMax: 10_000,
  },
  /** Electricity: at most 20 MW average over the interval (Wh per second of interval). */
  electricityWhPerSMax: 5_556,
  fuel: { massGramsMax: 1_000_000_000, volumeMlMax: 1_000_000_000, energyKjMax: 10_000_000_000 },
} as const;

/** Null when plausible, else what is out of bounds. */
export function implausibility(r: Reading): string | null {
  const maxInterval = r.kind === "manual" ? BOUNDS.manualIntervalMaxS : BOUNDS.sensorIntervalMaxS;
  if (r.intervalS > maxInterval) return `intervalS ${r.intervalS} > ${maxInterval}`;
  const m = r.m as Record<string, unknown>;
  const over = (name: string, max: number, min = 0): string | null => {
    const v = m[name];
    if (typeof v !== "number") return null;
    if (v > max) return `m.${name} ${v} > ${max}`;
    if (v < min) return `m.${name} ${v} < ${min}`;
    return null;
  };
  const f = BOUNDS.flueGas;
  switch (r.kind) {
    case "flue-gas":
      return (
        over("co2Ppm", f.co2PpmMax) ??
        over("tempCentiC", f.tempCentiCMax, f.tempCentiCMin) ??
        over("velocityMmS", f.velocityMmSMax) ??
        over("pressurePa", f.pressurePaMax, f.pressurePaMin) ??
        over("ductDiameterMm", f.ductDiameterMmMax, f.ductDiameterMmMin)
      );
    case "electricity":
    case "fuel":
    case "manual":
      return (
        over("energyWh", BOUNDS.electricityWhPerSMax * r.intervalS) ??
        over("renewableWh", BOUNDS.electricityWhPerSMax * r.intervalS) ??
        over("massGrams", BOUNDS.fuel.massGramsMax) ??
        over("volumeMl", BOUNDS.fuel.volumeMlMax) ??
        over("energyKj", BOUNDS.fuel.energyKjMax)
      );
  }
}
