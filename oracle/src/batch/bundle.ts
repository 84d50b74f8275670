import { buildBundle, encodeBundle, bundleCid, type Bundle, type Envelope, type Hex } from "../../../sdk/src/index.ts";
import type { EmissionsCalculator } from "../compute/emissions.ts";
import type { Batch, StoredReading } from "../storage/types.ts";

/**
 * The evidence bundle of a sealed batch (sdk `buildBundle`: every signed reading, its result,
 * the factor set, facility context, Merkle root and totals), its canonical bytes and CID.
 * Deterministic from the sealed reading set, so a node that crashed after pinning recomputes
 * the same CID. Anomaly flags go in as informational `flags`.
 */
export function batchBundle(input: {
  batch: Batch;
  readings: StoredReading[];
  calculator: EmissionsCalculator;
  correctionOf?: Hex;
}): { bundle: Bundle; bytes: Uint8Array; cid: string } {
  const { batch, readings, calculator } = input;
  const envelopes: Envelope[] = readings.map((r) => ({
    reading: JSON.parse(r.canonical) as Envelope["reading"],
    sig: r.sig as Hex,
    ...(r.keyId ? { keyId: r.keyId } : {}),
  }));
  const flags: Record<string, string[]> = {};
  for (const r of readings)
    if (r.flagged) flags[r.digest] = [`anomaly:robust-z>${r.anomalyScore === null ? "?" : Math.floor(r.anomalyScore)}`];
  const bundle = buildBundle({
    facilityId: batch.facilityId,
    periodStart: batch.periodStart,
    periodEnd: batch.periodEnd,
    envelopes,
    factorSet: calculator.factorSet,
    facilityContext: calculator.facilityContext(batch.facilityId),
    methodologyId: calculator.methodologyId,
    correctionOf: input.correctionOf,
    flags,
  });
  const bytes = encodeBundle(bundle);
  return { bundle, bytes, cid: bundleCid(bytes) };
}
