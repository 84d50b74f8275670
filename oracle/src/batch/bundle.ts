import "../../../sdk/src/reading/nodeHash.ts";
import {
  buildBundle,
  bundleCid,
  bundleHeader,
  encodeBundle,
  type BatchHeader,
  type Bundle,
  type Envelope,
  type FacilityContext,
  type FactorSet,
  type Hex,
} from "../../../sdk/src/index.ts";
import type { EmissionsCalculator } from "../compute/emissions.ts";
import type { Batch, StoredReading } from "../storage/types.ts";

/** The stored fields of a reading that go into a bundle (`Storage.bundleReadingsOfBatch`). */
export type BundleReading = Pick<StoredReading, "digest" | "canonical" | "sig" | "keyId" | "flagged" | "anomalyScore">;

/** What a bundle is built with besides its readings (from the node's `EmissionsCalculator`). */
export type BundleInputs = Pick<EmissionsCalculator, "factorSet" | "facilityContext" | "methodologyId">;

/**
 * The evidence bundle of a sealed batch (sdk `buildBundle`: every signed reading, its result,
 * the factor set, facility context, Merkle root and totals), its canonical bytes and CID.
 * Deterministic from the sealed reading set, so a node that crashed after pinning recomputes
 * the same CID. Anomaly flags go in as informational `flags`.
 */
export function batchBundle(input: {
  batch: Batch;
  readings: BundleReading[];
  calculator: BundleInputs;
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

/** A sealed batch's bundle as the pipeline pins it: bytes, CID, the header to sign, the batch's figures. */
export type BuiltBundle = {
  bytes: Uint8Array;
  cid: string;
  headerJson: string;
  root: Hex;
  readingCount: number;
  fossilCo2eGrams: string;
  biogenicCo2Grams: string;
  methodologyId: Hex;
  factorSetId: Hex;
};

/** What a bundle worker receives instead of the calculator (plain data, posted between threads). */
export type PostedBundleInputs = { factorSet: FactorSet; facilityContext: FacilityContext; methodologyId: Hex };

export function postedInputs(calculator: BundleInputs, facilityId: string): PostedBundleInputs {
  return {
    factorSet: calculator.factorSet,
    facilityContext: calculator.facilityContext(facilityId),
    methodologyId: calculator.methodologyId,
  };
}

/**
 * Builds the bundle of a sealed batch from its stored readings (null when it has none) and
 * checks that the digests the sdk recomputed are the digests stored at ingest, which the
 * proofs API builds its trees from: the tree sorts its leaves, so the same set of digests is
 * the same root.
 */
export function buildSealedBundle(
  batch: Batch,
  readings: BundleReading[],
  inputs: PostedBundleInputs,
  correctionOf?: Hex,
): BuiltBundle | null {
  if (readings.length === 0) return null;
  const calculator: BundleInputs = {
    factorSet: inputs.factorSet,
    facilityContext: () => inputs.facilityContext,
    methodologyId: inputs.methodologyId,
  };
  const { bundle, bytes, cid } = batchBundle({ batch, readings, calculator, correctionOf });
  const recomputed = bundle.readings.map((r) => r.digest).sort();
  const stored = readings.map((r) => r.digest.toLowerCase()).sort();
  if (recomputed.length !== stored.length || recomputed.some((d, i) => d !== stored[i])) {
    throw new Error(`batch ${batch.id}: the bundle's reading digests differ from the stored ones`);
  }
  return {
    bytes,
    cid,
    headerJson: headerToJson(bundleHeader(bundle, cid)),
    root: bundle.root as Hex,
    readingCount: bundle.totals.readingCount,
    fossilCo2eGrams: bundle.totals.fossilCo2eGrams,
    biogenicCo2Grams: bundle.totals.biogenicCo2Grams,
    methodologyId: bundle.methodologyId as Hex,
    factorSetId: bundle.factorSet.id as Hex,
  };
}

/** Header as stored (JSON, bigints as decimal strings) and back. */
export function headerToJson(h: BatchHeader): string {
  return JSON.stringify(h, (_k, v) => (typeof v === "bigint" ? v.toString() : v));
}
export function headerFromJson(s: string): BatchHeader {
  const o = JSON.parse(s) as Record<string, string | number>;
  return {
    facilityId: o.facilityId as Hex,
    periodStart: BigInt(o.periodStart!),
    periodEnd: BigInt(o.periodEnd!),
    merkleRoot: o.merkleRoot as Hex,
    readingCount: Number(o.readingCount),
    fossilCo2eGrams: BigInt(o.fossilCo2eGrams!),
    biogenicCo2Grams: BigInt(o.biogenicCo2Grams!),
    methodologyId: o.methodologyId as Hex,
    factorSetId: o.factorSetId as Hex,
    bundleCid: o.bundleCid as string,
    correctionOf: o.correctionOf as Hex,
  };
}
