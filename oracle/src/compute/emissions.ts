import type { FacilityContext, FactorSet, Reading } from "../../../sdk/src/index.ts";
import type { PostedMethodology } from "../validate/prepare.ts";

/** Emissions of one reading in integer milligrams (fossil CO2e in scope; biogenic CO2 reported apart). */
export type EmissionResult = { fossilMg: bigint; biogenicMg: bigint; detail: unknown };

/**
 * The methodology the node applies: the sdk's `computeReading(reading, factorSet, facility)`
 * with the active factor set (compute/sdk.ts: `methodology.factorSetFile`, else the sdk's built-in
 * one). The evidence bundle (sdk `buildBundle`)
 * recomputes every result from the same factor set and facility context, so an auditor can.
 */
export interface EmissionsCalculator {
  readonly methodologyId: `0x${string}`;
  readonly factorSetId: `0x${string}`;
  readonly factorSet: FactorSet;
  facilityContext(facilityId: string): FacilityContext;
  /** Throws a value with a message when the reading cannot be computed (e.g. a fuel unknown to the factor set). */
  compute(reading: Reading): EmissionResult;
  /**
   * The same computation as plain data, for the verification workers to run where they parse
   * each reading; absent: the main thread computes with `compute`.
   */
  posted?(): PostedMethodology;
}
