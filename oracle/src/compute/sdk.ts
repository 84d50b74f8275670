import {
  METHODOLOGY_ID,
  computeReading,
  defaultFactorSet,
  type FacilityContext,
  type FactorSet,
  type Reading,
} from "../../../sdk/src/index.ts";
import type { Config } from "../config/schema.ts";
import { ConfigError, loadFactorSetFile } from "../config/load.ts";
import type { EmissionResult, EmissionsCalculator } from "./emissions.ts";
import type { PostedMethodology } from "../validate/prepare.ts";

/**
 * The sdk methodology (`computeReading`) with one factor set and the facilities' context
 * (grid country, biogenic share of stack CO2, contractual factor) from the node's config.
 */
export class SdkCalculator implements EmissionsCalculator {
  readonly methodologyId = METHODOLOGY_ID;
  readonly factorSetId: `0x${string}`;
  readonly factorSet: FactorSet;
  readonly #facilities: Record<string, FacilityContext>;
  constructor(opts: { factorSet?: FactorSet; facilities?: Record<string, FacilityContext> } = {}) {
    this.factorSet = opts.factorSet ?? defaultFactorSet();
    this.factorSetId = this.factorSet.id;
    this.#facilities = opts.facilities ?? {};
  }
  /**
   * The calculator a node's config describes: the factor set of `methodology.factorSetFile` (else
   * the built-in one) and `facilities`. Throws `ConfigError` naming the file when it is unusable.
   */
  static fromConfig(config: Pick<Config, "methodology" | "facilities">): SdkCalculator {
    const calculator = new SdkCalculator({ factorSet: loadFactorSetFile(config), facilities: config.facilities });
    // a country the factor set has no grid factor for would dead-letter every electricity reading
    // of the facility as `computation`: refused at start instead
    const grid = calculator.factorSet.content.grid;
    for (const [facilityId, context] of Object.entries(config.facilities)) {
      const country = context.country;
      if (country === undefined || (grid !== null && Object.hasOwn(grid.mgCo2ePerKwh, country))) continue;
      const known = grid ? Object.keys(grid.mgCo2ePerKwh) : [];
      const hint = known.includes(country.toUpperCase())
        ? `: write it in upper case, "${country.toUpperCase()}"`
        : grid
          ? ` (its ${known.length} countries are ISO 3166-1 alpha-3 codes, e.g. ${known.slice(0, 3).join(", ")})`
          : " (it has no grid factors)";
      throw new ConfigError(
        `facilities.${facilityId}.country: factor set ${calculator.factorSet.content.name} has no grid factor for ${JSON.stringify(country)}${hint}; every electricity reading of ${facilityId} would be refused`,
      );
    }
    return calculator;
  }
  compute(reading: Reading): EmissionResult {
    const r = computeReading(reading, this.factorSet, this.facilityContext(reading.facilityId));
    return { fossilMg: r.fossilCo2eMg, biogenicMg: r.biogenicCo2Mg, detail: r };
  }
  posted(): PostedMethodology {
    return { factorSet: this.factorSet, facilities: this.#facilities };
  }
  facilityContext(facilityId: string): FacilityContext {
    return this.#facilities[facilityId] ?? {};
  }
}
