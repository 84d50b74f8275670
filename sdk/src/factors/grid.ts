/// <reference path="../types/tgwf-co2.d.ts" />
import { averageIntensity } from "@tgwf/co2/data";
import { SdkError } from "../errors.ts";

/**
 * Location-based grid factors: annual average carbon intensity of electricity per
 * country from Ember, as packaged by @tgwf/co2 (`averageIntensity`, g CO2e/kWh).
 * The package gives one value per country (the latest year Ember had when the
 * package was built) and does not state that year; the factor set says so.
 * Converted to integer mg CO2e/kWh (the package prints at most 2 decimals, so exact).
 */
export const TGWF_CO2_VERSION = "0.19.0";
export const EMBER_CITATION = `Ember, via @tgwf/co2 ${TGWF_CO2_VERSION} (averageIntensity, annual average grid carbon intensity, g CO2e/kWh; CC BY-SA 4.0)`;

/** ISO 3166-1 alpha-3 → integer mg CO2e per kWh; aggregates (EU, WORLD, G20, …) left out. */
export function emberGridMgPerKwh(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [code, gramsPerKwh] of Object.entries(averageIntensity.data)) {
    if (!/^[A-Z]{3}$/.test(code) || code === "OECD") continue;
    const mg = Math.round(gramsPerKwh * 1000);
    if (Math.abs(mg - gramsPerKwh * 1000) > 1e-6) {
      throw new SdkError(`@tgwf/co2 value ${gramsPerKwh} for ${code} has more than 3 decimals; review the import.`, {
        code: "INVALID_FACTOR_SET",
      });
    }
    out[code] = mg;
  }
  return out;
}
