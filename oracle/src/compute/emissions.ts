import type { Reading } from "../../../sdk/src/index.ts";

/** Emissions of one reading in integer milligrams (fossil CO2e in scope; biogenic CO2 reported apart). */
export type EmissionResult = { fossilMg: bigint; biogenicMg: bigint; detail: unknown };

/**
 * The methodology the node applies: the sdk's `computeReading(reading, factorSet, facility)`
 * with the active factor set (compute/sdk.ts). Behind an interface so the node can be built
 * and tested before a factor set is chosen, and so a node can be pinned to one methodology version.
 */
export interface EmissionsCalculator {
  readonly methodologyId: `0x${string}`;
  readonly factorSetId: `0x${string}`;
  /** Throws a value with a message when the reading cannot be computed (e.g. a fuel unknown to the factor set). */
  compute(reading: Reading): EmissionResult;
  /** The factor set and methodology as they go into the evidence bundle. */
  describe(): unknown;
}
