import { z } from "zod";
import { ID_PATTERN } from "../ids.ts";

/**
 * Reading v1 and the signed envelope (docs/protocol.md "Reading (version 1)").
 * This schema is the exact definition: objects are strict (an unknown key is an
 * error, since every key would be hashed), every number a safe integer.
 */

const MAX = Number.MAX_SAFE_INTEGER;

/** A non-negative safe integer; the issue message says what is expected. */
export const uint = () =>
  z
    .number({ error: "expected an integer" })
    .int({ error: "expected an integer (no fraction, |n| < 2^53)" })
    .min(0, { error: "expected an integer ≥ 0" })
    .max(MAX, { error: "expected a safe integer (< 2^53)" });

export const idSchema = z
  .string({ error: "expected an id string" })
  .regex(ID_PATTERN, { error: "expected 1–32 characters of [a-z0-9._-], starting with a letter or digit" });

/** Fuel ids of the sdk fuel table (methodology/fuels.ts). The schema checks the shape; the methodology knows the table. */
export const fuelIdSchema = z
  .string({ error: "expected a fuel id string" })
  .regex(/^[a-z0-9][a-z0-9-]{0,63}$/, { error: 'expected a fuel id like "diesel" or "firewood"' });

export const flueGasMeasurementSchema = z.strictObject({
  co2Ppm: uint(),
  tempCentiC: z
    .number({ error: "expected an integer" })
    .int({ error: "expected an integer (no fraction, |n| < 2^53)" })
    .min(-27314, { error: "expected a temperature above absolute zero (tempCentiC > -27315)" })
    .max(MAX, { error: "expected a safe integer (< 2^53)" }),
  velocityMmS: uint(),
  pressurePa: uint(),
  ductDiameterMm: uint(),
});

export const electricityMeasurementSchema = z.strictObject({
  energyWh: uint(),
  renewableWh: uint().optional(),
});

const fuelMass = z.strictObject({ fuel: fuelIdSchema, massGrams: uint() });
const fuelVolume = z.strictObject({ fuel: fuelIdSchema, volumeMl: uint() });
const fuelEnergy = z.strictObject({ fuel: fuelIdSchema, energyKj: uint() });

/** `fuel` measurement: the fuel and exactly one of `massGrams`, `volumeMl`, `energyKj`. */
export const fuelMeasurementSchema = z.union([fuelMass, fuelVolume, fuelEnergy], {
  error: "expected {fuel} and exactly one of massGrams, volumeMl, energyKj (integers ≥ 0)",
});

const evidenceSha256 = z
  .string({ error: "expected a hex string" })
  .regex(/^[0-9a-f]{64}$/, { error: "expected 64 lowercase hex characters (SHA-256 of the evidence file, no 0x)" });

/** `manual` measurement: a fuel or electricity measurement plus the SHA-256 of the evidence file. */
export const manualMeasurementSchema = z.union(
  [
    fuelMass.extend({ evidenceSha256 }),
    fuelVolume.extend({ evidenceSha256 }),
    fuelEnergy.extend({ evidenceSha256 }),
    electricityMeasurementSchema.extend({ evidenceSha256 }),
  ],
  { error: "expected a fuel or electricity measurement plus evidenceSha256" },
);

const base = {
  v: z.literal(1, { error: "expected v = 1 (reading format version)" }),
  deviceId: idSchema,
  facilityId: idSchema,
  seq: uint(),
  ts: uint(),
  intervalS: uint().min(1, { error: "expected intervalS ≥ 1" }),
};

export const flueGasReadingSchema = z.strictObject({
  ...base,
  kind: z.literal("flue-gas"),
  m: flueGasMeasurementSchema,
});
export const electricityReadingSchema = z.strictObject({
  ...base,
  kind: z.literal("electricity"),
  m: electricityMeasurementSchema,
});
export const fuelReadingSchema = z.strictObject({ ...base, kind: z.literal("fuel"), m: fuelMeasurementSchema });
export const manualReadingSchema = z.strictObject({ ...base, kind: z.literal("manual"), m: manualMeasurementSchema });

/** A reading, version 1. */
export const readingSchema = z.discriminatedUnion(
  "kind",
  [flueGasReadingSchema, electricityReadingSchema, fuelReadingSchema, manualReadingSchema],
  { error: 'expected kind "flue-gas", "electricity", "fuel" or "manual"' },
);

export const signatureHexSchema = z
  .string({ error: "expected a hex string" })
  .regex(/^0x[0-9a-fA-F]{128}$/, { error: "expected 0x + 128 hex characters (64-byte r‖s)" });

/** A signed reading envelope `{ reading, sig, keyId? }`. */
export const envelopeSchema = z.strictObject({
  reading: readingSchema,
  sig: signatureHexSchema,
  keyId: z.string().min(1).max(128).optional(),
});

export type FlueGasMeasurement = z.infer<typeof flueGasMeasurementSchema>;
export type ElectricityMeasurement = z.infer<typeof electricityMeasurementSchema>;
export type FuelMeasurement = z.infer<typeof fuelMeasurementSchema>;
export type ManualMeasurement = z.infer<typeof manualMeasurementSchema>;
export type FlueGasReading = z.infer<typeof flueGasReadingSchema>;
export type ElectricityReading = z.infer<typeof electricityReadingSchema>;
export type FuelReading = z.infer<typeof fuelReadingSchema>;
export type ManualReading = z.infer<typeof manualReadingSchema>;
export type Reading = z.infer<typeof readingSchema>;
export type ReadingKind = Reading["kind"];
export type Envelope = z.infer<typeof envelopeSchema>;
