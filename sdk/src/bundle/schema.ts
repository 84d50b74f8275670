import { z } from "zod";
import { envelopeSchema, idSchema } from "../reading/schema.ts";
import { factorSetContentSchema } from "../factors/factorSet.ts";

/**
 * Evidence bundle, format 1 (docs/bundle.md): everything an auditor needs to recompute
 * an attestation from public data — the signed readings, each result, the factor set
 * and facility context used, the tree parameters, the root and totals. Integers that
 * may exceed 2^53 (milligram sums) are decimal strings so the bundle stays JCS-safe.
 */
export const BUNDLE_FORMAT = "carbonproof.bundle/1";

const hex32 = z.string().regex(/^0x[0-9a-f]{64}$/, { error: "expected 0x + 64 lowercase hex" });
const bigDecimal = z
  .string()
  .regex(/^(0|[1-9][0-9]*)$/, { error: "expected a non-negative integer as a decimal string" });

export const TREE_PARAMS = {
  hash: "sha256",
  leaf: "SHA-256(0x00 || readingDigest)",
  node: "SHA-256(0x01 || min(a,b) || max(a,b))",
  sortLeaves: true,
  layout: "openzeppelin-simple-merkle-tree@1.0.8",
} as const;

export const facilityContextSchema = z.strictObject({
  country: z
    .string()
    .regex(/^[A-Z]{3}$/)
    .optional(),
  contractualMgCo2ePerKwh: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
  // Optional even with the factor, on purpose: bundles pinned before the citation was required
  // stay readable. The recomputation (computeElectricity) refuses an uncited factor, so checkBundle
  // FAILs such a bundle's electricity readings naming the missing citation (docs/bundle.md).
  contractualCitation: z.string().optional(),
  scope2Method: z.enum(["location", "market"]).optional(),
  flueGasBiogenicShareBp: z.number().int().min(0).max(10000).optional(),
});

export const readingResultSchema = z.strictObject({
  fossilCo2eMg: bigDecimal,
  biogenicCo2Mg: bigDecimal,
  /** null when the factor does not separate gases (CO2e intensities, stack CO2 only). */
  fossilCo2Mg: bigDecimal.nullable(),
  ch4Mg: bigDecimal.nullable(),
  n2oMg: bigDecimal.nullable(),
});

export const bundleReadingSchema = z.strictObject({
  envelope: envelopeSchema,
  digest: hex32,
  result: readingResultSchema,
  /** Informational marks by the oracle (e.g. plausibility flags); the reading is counted regardless. */
  flags: z.array(z.string()).optional(),
});

export const bundleSchema = z.strictObject({
  format: z.literal(BUNDLE_FORMAT),
  facilityId: idSchema,
  period: z.strictObject({
    start: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
    end: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  }),
  /** bytes32 attestation id this batch corrects; zero for a regular batch. */
  correctionOf: hex32,
  methodologyId: hex32,
  factorSet: z.strictObject({ id: hex32, content: factorSetContentSchema }),
  facilityContext: facilityContextSchema,
  tree: z.strictObject({
    hash: z.literal(TREE_PARAMS.hash),
    leaf: z.literal(TREE_PARAMS.leaf),
    node: z.literal(TREE_PARAMS.node),
    sortLeaves: z.literal(true),
    layout: z.literal(TREE_PARAMS.layout),
  }),
  root: hex32,
  readings: z.array(bundleReadingSchema).min(1),
  totals: z.strictObject({
    readingCount: z.number().int().min(1),
    fossilCo2eMg: bigDecimal,
    biogenicCo2Mg: bigDecimal,
    fossilCo2eGrams: bigDecimal,
    biogenicCo2Grams: bigDecimal,
  }),
});

export type Bundle = z.infer<typeof bundleSchema>;
export type BundleReading = z.infer<typeof bundleReadingSchema>;
