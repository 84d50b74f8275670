import { SdkError } from "../errors.ts";
import type { FlueGasMeasurement } from "../reading/schema.ts";

/**
 * CO2 mass of one flue-gas reading in milligrams, the integer form of
 * docs/protocol.md "Flue-gas CO2 mass of one reading" (shared with the firmware):
 *
 *   A = π d²/4, Q = v·A, ρ = P·M/(R·T), m = Q · ppm·10⁻⁶ · ρ · Δt
 *
 * with M(CO2) = 44.0095 g/mol, R = 8.314462618 J/(mol·K), T = tempCentiC/100 + 273.15 K,
 * π = 3.14159265358979; exact with bigint, floored to mg once.
 */
export const PI_E14 = 314159265358979n;
export const M_CO2_E4 = 440095n;
export const R_E9 = 8314462618n;
export const FLUE_GAS_DENOMINATOR_SCALE = 40000000000000000000n;

export function flueGasCo2Mg(m: FlueGasMeasurement, intervalS: number): bigint {
  const kelvinCenti = BigInt(m.tempCentiC) + 27315n;
  if (kelvinCenti <= 0n) {
    throw new SdkError(`tempCentiC ${m.tempCentiC} is at or below absolute zero.`, { code: "INVALID_READING" });
  }
  const d = BigInt(m.ductDiameterMm);
  const numerator =
    BigInt(m.velocityMmS) * PI_E14 * d * d * BigInt(m.co2Ppm) * BigInt(m.pressurePa) * M_CO2_E4 * BigInt(intervalS);
  const denominator = FLUE_GAS_DENOMINATOR_SCALE * R_E9 * kelvinCenti;
  return numerator / denominator;
}
