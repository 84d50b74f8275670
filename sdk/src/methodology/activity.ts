import { z } from "zod";
import { SdkError } from "../errors.ts";
import type { FactorSet } from "../factors/factorSet.ts";
import { flueGasMeasurementSchema, uint } from "../reading/schema.ts";
import {
  computeElectricity,
  computeFlueGas,
  computeFuel,
  type FacilityContext,
  type ReadingResult,
} from "./compute.ts";
import { decimal, floor, int, mul, toFixedPoint } from "./rational.ts";

/**
 * Activity records of `carbonproof emissions` (issue 4): plain inputs, not signed
 * readings. Quantities that are hashed in readings stay integers; human quantities
 * (kg, litres, GJ, money, g/kWh) accept a bounded number of decimals, converted
 * exactly to integer units (g, mL, kJ, cents, mg/kWh).
 */

const decimalNumber = (places: number, unit: string) =>
  z
    .number({ error: `expected a number (${unit})` })
    .min(0, { error: `expected a number ≥ 0 (${unit})` })
    .refine((v) => toFixedPoint(v, places) !== null, { error: `expected at most ${places} decimal places (${unit})` });

const integer = (what: string) => uint().describe(what);

export const flueGasActivitySchema = z.strictObject({
  kind: z.literal("flue-gas"),
  ...flueGasMeasurementSchema.shape,
  durationS: integer("seconds").min(1, { error: "expected an integer ≥ 1 (seconds)" }),
  /** Stack CO2 from biomass (e.g. firewood): reported as biogenic. */
  biogenic: z.boolean({ error: "expected true or false" }).optional(),
});

export const electricityActivitySchema = z.union(
  [
    z.strictObject({
      kind: z.literal("electricity"),
      energyWh: integer("Wh"),
      renewableWh: integer("Wh").optional(),
      country: z.string({ error: "expected an ISO 3166-1 alpha-3 code" }).regex(/^[A-Z]{3}$/, {
        error: 'expected an ISO 3166-1 alpha-3 code like "KEN"',
      }),
      year: z.number({ error: "expected a year" }).int({ error: "expected an integer year" }).min(1990).max(2100),
    }),
    z.strictObject({
      kind: z.literal("electricity"),
      energyWh: integer("Wh"),
      renewableWh: integer("Wh").optional(),
      gridGramsPerKwh: decimalNumber(3, "g CO2e/kWh"),
      source: z.string().min(1).optional(),
    }),
  ],
  { error: "expected {energyWh, country, year} or {energyWh, gridGramsPerKwh}" },
);

const fuelBase = { kind: z.literal("fuel"), fuel: z.string({ error: 'expected a fuel id like "diesel"' }).min(1) };
export const fuelActivitySchema = z.union(
  [
    z.strictObject({ ...fuelBase, massKg: decimalNumber(3, "kg") }),
    z.strictObject({
      ...fuelBase,
      litres: decimalNumber(3, "L"),
      densityKgPerM3: decimalNumber(3, "kg/m³").optional(),
      densitySource: z.string().min(1).optional(),
    }),
    z.strictObject({ ...fuelBase, energyGj: decimalNumber(6, "GJ") }),
  ],
  { error: "expected {fuel} and exactly one of massKg, litres, energyGj" },
);

export const spendActivitySchema = z.strictObject({
  kind: z.literal("spend"),
  category: z.string({ error: "expected a category (NAICS-6 code for the EPA factors)" }).min(1),
  amount: decimalNumber(2, "currency units"),
  currency: z
    .string({ error: "expected an ISO 4217 code" })
    .regex(/^[A-Z]{3}$/, { error: 'expected an ISO 4217 code like "USD"' }),
});

const KINDS = ["flue-gas", "electricity", "fuel", "spend"] as const;

export type ActivityRecord =
  | z.infer<typeof flueGasActivitySchema>
  | z.infer<typeof electricityActivitySchema>
  | z.infer<typeof fuelActivitySchema>
  | z.infer<typeof spendActivitySchema>;

/** One input problem: which record, which field, what was expected. */
export type ActivityIssue = { index: number; field: string; expected: string };

export class ActivityError extends SdkError {
  readonly issues: ActivityIssue[];
  constructor(issues: ActivityIssue[]) {
    super(issues.map((i) => `record ${i.index}: field "${i.field}": ${i.expected}`).join("\n"), {
      code: "INVALID_ACTIVITY",
      docsPath: "docs/sdk.md#carbonproof-emissions",
    });
    this.issues = issues;
  }
}

function schemaOf(kind: string) {
  switch (kind) {
    case "flue-gas":
      return flueGasActivitySchema;
    case "electricity":
      return electricityActivitySchema;
    case "fuel":
      return fuelActivitySchema;
    case "spend":
      return spendActivitySchema;
    default:
      return undefined;
  }
}

/** Validates a JSON array of activity records; throws ActivityError naming every bad field. */
export function parseActivities(value: unknown): ActivityRecord[] {
  if (!Array.isArray(value)) {
    throw new ActivityError([{ index: -1, field: "(input)", expected: "expected a JSON array of activity records" }]);
  }
  const issues: ActivityIssue[] = [];
  const out: ActivityRecord[] = [];
  value.forEach((record: unknown, index) => {
    if (record === null || typeof record !== "object" || Array.isArray(record)) {
      issues.push({ index, field: "(record)", expected: "expected an object" });
      return;
    }
    const kind = (record as { kind?: unknown }).kind;
    const schema = typeof kind === "string" ? schemaOf(kind) : undefined;
    if (!schema) {
      issues.push({ index, field: "kind", expected: `expected one of ${KINDS.map((k) => `"${k}"`).join(", ")}` });
      return;
    }
    const result = schema.safeParse(record);
    if (!result.success) {
      for (const issue of flattenIssues(result.error.issues)) {
        const missing =
          !issue.field.includes(".") && !(issue.field in (record as object)) && !issue.field.startsWith("(");
        issues.push({ index, field: issue.field, expected: missing ? `missing; ${issue.expected}` : issue.expected });
      }
      return;
    }
    out.push(result.data);
  });
  if (issues.length > 0) throw new ActivityError(issues);
  return out;
}

type ZodIssueLike = { path: PropertyKey[]; message: string; code: string; errors?: ZodIssueLike[][]; keys?: string[] };

/** Union failures: report the branch that got furthest (fewest issues); unknown keys by name. */
function flattenIssues(issues: readonly ZodIssueLike[]): { field: string; expected: string }[] {
  const out: { field: string; expected: string }[] = [];
  for (const issue of issues) {
    if (issue.code === "invalid_union" && issue.errors && issue.errors.length > 0) {
      const best = [...issue.errors].sort((a, b) => a.length - b.length)[0]!;
      const unrecognisedOnly = best.every((i) => i.code === "unrecognized_keys");
      if (unrecognisedOnly || best.length === 0)
        out.push({ field: issue.path.map(String).join(".") || "(record)", expected: issue.message });
      else out.push(...flattenIssues(best));
    } else if (issue.code === "unrecognized_keys") {
      for (const key of issue.keys ?? []) out.push({ field: key, expected: "unknown field; remove it" });
    } else {
      out.push({ field: issue.path.map(String).join(".") || "(record)", expected: issue.message });
    }
  }
  return out;
}

/** Result of one activity record, milligrams. */
export type ActivityResult = Omit<ReadingResult, "scope2"> & { warnings: string[]; scope2?: ReadingResult["scope2"] };

/** Computes one activity record; throws ActivityError (with the field) when a factor is missing. */
export function computeActivity(record: ActivityRecord, index: number, set: FactorSet): ActivityResult {
  const fail = (field: string, expected: string): never => {
    throw new ActivityError([{ index, field, expected }]);
  };
  const withField = <T>(field: string, fn: () => T, rename: Record<string, string> = {}): T => {
    try {
      return fn();
    } catch (error) {
      if (error instanceof SdkError && error.code === "UNKNOWN_FACTOR") {
        const named = (error.details?.field as string | undefined) ?? field;
        return fail(rename[named] ?? named, error.message);
      }
      throw error;
    }
  };
  const warnings: string[] = [];
  switch (record.kind) {
    case "flue-gas": {
      const { kind: _k, durationS, biogenic, ...m } = record;
      const r = computeFlueGas(
        { v: 1, deviceId: "cli", facilityId: "cli", seq: 0, ts: 0, intervalS: durationS, kind: "flue-gas", m },
        { flueGasBiogenicShareBp: biogenic ? 10000 : 0 },
      );
      return { ...r, factorSetId: set.id, warnings };
    }
    case "electricity": {
      const m = {
        energyWh: record.energyWh,
        ...(record.renewableWh === undefined ? {} : { renewableWh: record.renewableWh }),
      };
      if ("country" in record) {
        const setYear = set.content.year;
        if (setYear !== null && setYear !== record.year) {
          fail("year", `expected ${setYear}: factor set ${set.content.name} holds grid data for ${setYear} only`);
        }
        if (setYear === null) {
          warnings.push(
            `year ${record.year} requested; the grid data (${set.content.grid?.citation ?? "none"}) gives one latest-available value per country and does not state its year`,
          );
        }
        const r = withField("country", () => computeElectricity(set, m, { country: record.country }));
        return { ...r, factorSetId: set.id, warnings };
      }
      // the source is cited in the result (computeElectricity refuses a blank contractual citation)
      if (record.source !== undefined && record.source.trim() === "")
        fail(
          "source",
          "expected the source of gridGramsPerKwh, the supplier's or certificate's document (it is cited in the result): a blank one cites nothing",
        );
      const mgPerKwh = toFixedPoint(record.gridGramsPerKwh, 3)!;
      const r = computeElectricity(set, m, {
        contractualMgCo2ePerKwh: Number(mgPerKwh),
        contractualCitation: record.source ?? "factor given in the input record (gridGramsPerKwh)",
        scope2Method: "market",
      });
      return { ...r, factorSetId: set.id, warnings };
    }
    case "fuel": {
      let measurement;
      let fuelSet = set;
      if ("massKg" in record) measurement = { fuel: record.fuel, massGrams: Number(toFixedPoint(record.massKg, 3)!) };
      else if ("energyGj" in record)
        measurement = { fuel: record.fuel, energyKj: Number(toFixedPoint(record.energyGj, 6)!) };
      else {
        measurement = { fuel: record.fuel, volumeMl: Number(toFixedPoint(record.litres, 3)!) };
        if (record.densityKgPerM3 !== undefined) {
          if (!record.densitySource)
            fail("densitySource", "expected the source of densityKgPerM3 (it is cited in the result)");
          const entry = Object.hasOwn(set.content.fuels, record.fuel) ? set.content.fuels[record.fuel] : undefined;
          if (!entry) fail("fuel", `unknown fuel; known: ${Object.keys(set.content.fuels).join(", ")}`);
          const density = String(record.densityKgPerM3);
          fuelSet = {
            ...set,
            content: {
              ...set.content,
              fuels: {
                ...set.content.fuels,
                [record.fuel]: {
                  ...entry!,
                  densityKgPerM3: density,
                  citations: [...entry!.citations, `density ${density} kg/m³: ${record.densitySource}`],
                },
              },
            },
          };
        }
      }
      const r = withField("fuel", () => computeFuel(fuelSet, measurement), {
        volumeMl: "litres",
        massGrams: "massKg",
        energyKj: "energyGj",
      });
      if (fuelSet !== set)
        warnings.push("density supplied in the input; the factor set id names the factors without it");
      return { ...r, factorSetId: set.id, warnings };
    }
    case "spend": {
      const spend = set.content.spend;
      if (!spend) {
        return fail(
          "category",
          "no spend factors in the factor set: import the EPA CSV with `carbonproof factors import <csv>` and pass --factors <file>",
        );
      }
      if (record.currency !== spend.currency) {
        fail(
          "currency",
          `expected ${spend.currency}: the spend factors are per ${spend.currencyYear} ${spend.currency} (no currency conversion)`,
        );
      }
      const factor = Object.hasOwn(spend.factors, record.category) ? spend.factors[record.category] : undefined;
      if (!factor)
        return fail(
          "category",
          `expected a category of the spend factors (NAICS-6 code); ${record.category} is not in them`,
        );
      const cents = toFixedPoint(record.amount, 2)!;
      // mg = amount · kg/unit · 10⁶ = cents · kg/unit · 10⁴
      const mg = floor(mul(int(cents), decimal(factor.kgCo2ePerUnit), int(10_000)));
      warnings.push(
        `amount taken as ${spend.currencyYear} ${spend.currency} (${spend.unit}); deflate other years before input`,
      );
      return {
        fossilCo2eMg: mg,
        fossilCo2Mg: null,
        biogenicCo2Mg: 0n,
        ch4Mg: null,
        n2oMg: null,
        factorSetId: set.id,
        citations: [
          `${spend.citation}: ${record.category} "${factor.title}" ${factor.kgCo2ePerUnit} ${spend.unit}`,
          "spend-based Scope 3: emissions = spend × factor per unit of currency",
        ],
        warnings,
      };
    }
  }
}
