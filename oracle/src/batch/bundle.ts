import "../../../sdk/src/reading/nodeHash.ts";
import {
  SdkError,
  assembleBundle,
  bundleCid,
  bundleHeader,
  type AssembleBundleInput,
  type AssembledBundle,
  type BundleAssembler,
  type BatchHeader,
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

/** A stored reading's informational flags in its bundle entry: its anomaly flag, if any. */
export function readingFlags(r: Pick<BundleReading, "flagged" | "anomalyScore">): string[] | undefined {
  return r.flagged ? [`anomaly:robust-z>${r.anomalyScore === null ? "?" : Math.floor(r.anomalyScore)}`] : undefined;
}

/** The sdk input of a sealed batch's bundle: its stored readings as they are, anomaly flags as informational `flags`. */
function assembleInput(
  batch: Batch,
  readings: BundleReading[],
  inputs: PostedBundleInputs,
  correctionOf?: Hex,
): AssembleBundleInput {
  const flags: Record<string, string[]> = {};
  for (const r of readings) {
    const f = readingFlags(r);
    if (f) flags[r.digest] = f;
  }
  return {
    facilityId: batch.facilityId,
    periodStart: batch.periodStart,
    periodEnd: batch.periodEnd,
    // An empty key id is none, as it always was here.
    readings: readings.map((r) => ({ canonical: r.canonical, digest: r.digest, sig: r.sig, keyId: r.keyId || null })),
    factorSet: inputs.factorSet,
    facilityContext: inputs.facilityContext,
    methodologyId: inputs.methodologyId,
    correctionOf,
    flags,
  };
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
 * Builds the evidence bundle of a sealed batch from its stored readings (null when it has
 * none) with the sdk's `assembleBundle`: the bytes `encodeBundle(buildBundle(…))` gives, without
 * canonicalizing every reading again. Deterministic from the sealed reading set, so a node that
 * crashed after pinning recomputes the same CID. The bundle's digests are the digests stored at
 * ingest, which the proofs API builds its trees from, by construction: assembleBundle writes
 * each stored digest and refuses one that is not the SHA-256 of its stored canonical text (a
 * tampered row). The same set of digests, the same root.
 */
export function buildSealedBundle(
  batch: Batch,
  readings: BundleReading[],
  inputs: PostedBundleInputs,
  correctionOf?: Hex,
): BuiltBundle | null {
  if (readings.length === 0) return null;
  return sealed(batch, () => assembleBundle(assembleInput(batch, readings, inputs, correctionOf)));
}

/**
 * `buildSealedBundle` from a `BundleAssembler` that was given every reading of the batch as it
 * was stored (batch/window-bundles.ts): the same bundle, its per-reading work done beforehand.
 */
export function finishSealedBundle(batch: Batch, assembler: BundleAssembler): BuiltBundle | null {
  if (assembler.size === 0) return null;
  return sealed(batch, () => assembler.finish());
}

function sealed(batch: Batch, assemble: () => AssembledBundle): BuiltBundle {
  let assembled: AssembledBundle;
  try {
    assembled = assemble();
  } catch (err) {
    if (err instanceof SdkError && err.details?.check === "digest") {
      throw new Error(`batch ${batch.id}: the bundle's reading digests differ from the stored ones: ${err.message}`, {
        cause: err,
      });
    }
    throw err;
  }
  const { bytes, summary } = assembled;
  const cid = bundleCid(bytes);
  return {
    bytes,
    cid,
    headerJson: headerToJson(bundleHeader(summary, cid)),
    root: summary.root as Hex,
    readingCount: summary.totals.readingCount,
    fossilCo2eGrams: summary.totals.fossilCo2eGrams,
    biogenicCo2Grams: summary.totals.biogenicCo2Grams,
    methodologyId: summary.methodologyId as Hex,
    factorSetId: summary.factorSet.id as Hex,
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
