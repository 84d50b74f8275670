import {
  METHODOLOGY_ID,
  computeReading,
  defaultFactorSet,
  type FacilityContext,
  type FactorSet,
  type Reading,
} from "../../../sdk/src/index.ts";
import type { EmissionResult, EmissionsCalculator } from "./emissions.ts";

/**
 * The sdk methodology (`computeReading`) with one factor set and the facilities' context
 * (grid country, biogenic share of stack CO2, contractual factor) from the node's config.
 */
export class SdkCalculator implements EmissionsCalculator {
  readonly methodologyId = METHODOLOGY_ID;
  readonly factorSetId: `0x${string}`;
  readonly #set: FactorSet;
  readonly #facilities: Record<string, FacilityContext>;
  constructor(opts: { factorSet?: FactorSet; facilities?: Record<string, FacilityContext> } = {}) {
    this.#set = opts.factorSet ?? defaultFactorSet();
    this.factorSetId = this.#set.id;
    this.#facilities = opts.facilities ?? {};
  }
  compute(reading: Reading): EmissionResult {
    const r = computeReading(reading, this.#set, this.#facilities[reading.facilityId] ?? {});
    return { fossilMg: r.fossilCo2eMg, biogenicMg: r.biogenicCo2Mg, detail: r };
  }
  describe(): unknown {
    return { methodologyId: this.methodologyId, factorSet: { id: this.#set.id, content: this.#set.content } };
  }
}
