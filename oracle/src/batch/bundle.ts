import { canonicalBytes } from "../../../sdk/src/index.ts";
import type { EmissionsCalculator } from "../compute/emissions.ts";
import type { Batch, StoredReading } from "../storage/types.ts";

/**
 * The evidence bundle of a batch: every signed reading, its result, the factor set and
 * methodology, the Merkle root and totals, as canonical JSON (sdk `canonicalBytes`), pinned
 * as one raw IPFS block whose CID goes into the header.
 *
 * TEMPORARY SHAPE: the sdk owns the bundle format (`sdk/src/bundle/`, not written yet); when
 * it lands this function becomes a call to it. Its output must be deterministic from the
 * sealed batch alone, so a node that crashed after pinning recomputes the same CID.
 */
export function buildBundle(input: {
  batch: Batch;
  readings: StoredReading[];
  merkleRoot: string;
  fossilCo2eGrams: bigint;
  biogenicCo2Grams: bigint;
  calculator: EmissionsCalculator;
}): Uint8Array {
  const { batch, readings } = input;
  const doc = {
    type: "carbonproof/evidence-bundle",
    v: 1,
    facilityId: batch.facilityId,
    periodStart: batch.periodStart,
    periodEnd: batch.periodEnd,
    correction: batch.correctionOfBatch !== null,
    merkleRoot: input.merkleRoot,
    readingCount: readings.length,
    fossilCo2eGrams: input.fossilCo2eGrams.toString(),
    biogenicCo2Grams: input.biogenicCo2Grams.toString(),
    methodologyId: input.calculator.methodologyId,
    factorSetId: input.calculator.factorSetId,
    methodology: input.calculator.describe(),
    readings: readings.map((r) => ({
      reading: JSON.parse(r.canonical) as unknown,
      sig: r.sig,
      ...(r.keyId ? { keyId: r.keyId } : {}),
      digest: r.digest,
      fossilCo2eMg: r.fossilMg.toString(),
      biogenicCo2Mg: r.biogenicMg.toString(),
      flagged: r.flagged,
    })),
  };
  return canonicalBytes(doc);
}
