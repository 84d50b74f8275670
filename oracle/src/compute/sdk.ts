import {
  METHODOLOGY_ID,
  computeReading,
  defaultFactorSet,
  type FacilityContext,
  type FactorSet,
  type Reading,
} from "../../../sdk/src/index.ts";
import type { Config } from "../config/schema.ts";
import { loadFactorSetFile } from "../config/load.ts";
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
    return new SdkCalculator({ factorSet: loadFactorSetFile(config), facilities: config.facilities });
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
