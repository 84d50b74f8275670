import { z } from "zod";
import { SdkError } from "../errors.ts";
import { bytesToHex, type Hex } from "../hex.ts";
import { canonicalBytes } from "../reading/canonical.ts";
import { sha256Bytes } from "../reading/digest.ts";
import { formatIssues } from "../reading/parse.ts";
import { DECIMAL_MAX_LENGTH, DECIMAL_PATTERN } from "../methodology/rational.ts";
import { GWP_TABLES, type GwpReport } from "./gwp.ts";
import { EMBER_CITATION, TGWF_CO2_VERSION, emberGridMgPerKwh } from "./grid.ts";
import { IPCC_2006_FUELS, IPCC_2006_V2, ipccCitations, type StationarySector } from "./ipcc2006.ts";

/**
 * A factor set: the data a result was computed with. Its id is the SHA-256 of the
 * RFC 8785 canonical bytes of its content (bytes32 hex), so a bundle or an attestation
 * names exactly the numbers used. Factors are decimal strings (exact, and JCS-safe);
 * every entry carries its citation.
 */
export const FACTOR_SET_FORMAT = "carbonproof.factor-set/1";

const decimalString = z
  .string()
  .max(DECIMAL_MAX_LENGTH, { error: `expected at most ${DECIMAL_MAX_LENGTH} characters` })
  .regex(DECIMAL_PATTERN, { error: 'expected a decimal string like "43.0"' });

export const fuelFactorSchema = z.strictObject({
  name: z.string().min(1),
  ncvTjPerGg: decimalString,
  co2KgPerTj: decimalString,
  ch4KgPerTj: decimalString,
  n2oKgPerTj: decimalString,
  biogenic: z.boolean(),
  /** Optional, with its own citation; none is shipped (see ipcc2006.ts). */
  densityKgPerM3: decimalString.optional(),
  citations: z.array(z.string().min(1)).min(1),
});

export const spendFactorSchema = z.strictObject({
  title: z.string(),
  /** kg CO2e per unit of currency (EPA: per 2022 USD, purchaser price). */
  kgCo2ePerUnit: decimalString,
  withoutMargins: decimalString,
  margins: decimalString,
});

export const factorSetContentSchema = z.strictObject({
  format: z.literal(FACTOR_SET_FORMAT),
  name: z.string().min(1),
  source: z.string().min(1),
  /** Year the data describes, when the source states one. */
  year: z.number().int().nullable(),
  gwp: z.strictObject({
    report: z.enum(["AR5", "AR6"]),
    ch4Fossil: decimalString,
    ch4NonFossil: decimalString,
    n2o: decimalString,
    citation: z.string().min(1),
  }),
  stationarySector: z.enum(["energy", "manufacturing"]).nullable(),
  fuels: z.record(z.string(), fuelFactorSchema),
  grid: z
    .strictObject({
      citation: z.string().min(1),
      /** ISO 3166-1 alpha-3 → integer mg CO2e per kWh. */
      mgCo2ePerKwh: z.record(z.string().regex(/^[A-Z]{3}$/), z.number().int().min(0)),
    })
    .nullable(),
  spend: z
    .strictObject({
      citation: z.string().min(1),
      currency: z.string().regex(/^[A-Z]{3}$/),
      currencyYear: z.number().int(),
      unit: z.string(),
      /** Category (NAICS-6 code for the EPA dataset) → factor. */
      factors: z.record(z.string(), spendFactorSchema),
    })
    .nullable(),
});

export type FactorSetContent = z.infer<typeof factorSetContentSchema>;
export type FuelFactor = z.infer<typeof fuelFactorSchema>;
export type FactorSet = { id: Hex; content: FactorSetContent };

/** Factor-set id: SHA-256 of the canonical content, bytes32 hex. */
export function factorSetId(content: FactorSetContent): Hex {
  return bytesToHex(sha256Bytes(canonicalBytes(content)));
}

/** Validates untrusted content and computes its id. */
export function parseFactorSet(value: unknown): FactorSet {
  const input =
    value !== null && typeof value === "object" && "content" in value ? (value as { content: unknown }).content : value;
  const result = factorSetContentSchema.safeParse(input);
  if (!result.success) {
    const issues = formatIssues(result.error);
    throw new SdkError(`Invalid factor set: ${issues.map((i) => `${i.path}: ${i.message}`).join("; ")}`, {
      code: "INVALID_FACTOR_SET",
      cause: result.error,
      docsPath: "docs/methodology.md#factor-sets",
      details: { issues },
    });
  }
  const set = { id: factorSetId(result.data), content: result.data };
  if (value !== null && typeof value === "object" && "id" in value && (value as { id: unknown }).id !== set.id) {
    throw new SdkError(
      `Factor set id ${String((value as { id: unknown }).id)} does not match its content (${set.id}).`,
      {
        code: "INVALID_FACTOR_SET",
      },
    );
  }
  return set;
}

export type DefaultFactorSetOptions = { gwp?: GwpReport; sector?: StationarySector };

/**
 * The built-in factor set: IPCC 2006 fuel defaults for the chosen stationary-combustion
 * sector, Ember grid intensities via @tgwf/co2, GWPs of the chosen report. No spend
 * factors (import the EPA CSV for those).
 */
export function defaultFactorSet(options: DefaultFactorSetOptions = {}): FactorSet {
  const gwp = GWP_TABLES[options.gwp ?? "AR6"];
  const sector = options.sector ?? "manufacturing";
  const fuels: Record<string, FuelFactor> = {};
  for (const [id, row] of Object.entries(IPCC_2006_FUELS)) {
    const c = ipccCitations(row, sector);
    fuels[id] = {
      name: row.ipccName,
      ncvTjPerGg: row.ncvTjPerGg,
      co2KgPerTj: row.co2KgPerTj,
      ch4KgPerTj: row.ch4KgPerTj[sector],
      n2oKgPerTj: row.n2oKgPerTj[sector],
      biogenic: row.biogenic,
      citations: [c.ncv, c.co2, c.ch4n2o],
    };
  }
  const content: FactorSetContent = {
    format: FACTOR_SET_FORMAT,
    name: `carbonproof-default/ipcc2006-${sector}/${gwp.report.toLowerCase()}/ember-tgwf-co2-${TGWF_CO2_VERSION}`,
    source: `${IPCC_2006_V2} (fuels); ${EMBER_CITATION} (grid); ${gwp.citation} (GWP)`,
    year: null,
    gwp: { ...gwp },
    stationarySector: sector,
    fuels,
    grid: { citation: EMBER_CITATION, mgCo2ePerKwh: emberGridMgPerKwh() },
    spend: null,
  };
  return { id: factorSetId(content), content };
}

/** A copy of `base` with the spend table of `spend` (e.g. from the EPA import), re-hashed. */
export function withSpendFactors(
  base: FactorSet,
  spend: NonNullable<FactorSetContent["spend"]>,
  name?: string,
): FactorSet {
  const content: FactorSetContent = {
    ...base.content,
    name: name ?? `${base.content.name}+spend`,
    source: `${base.content.source}; ${spend.citation} (spend)`,
    spend,
  };
  return { id: factorSetId(content), content };
}
