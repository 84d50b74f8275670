import { SdkError } from "../errors.ts";
import type { FactorSet, FuelFactor } from "../factors/factorSet.ts";
import { FUEL_ALIASES } from "../factors/ipcc2006.ts";
import type { ElectricityMeasurement, FuelMeasurement, Reading } from "../reading/schema.ts";
import { flueGasCo2Mg } from "./flueGas.ts";
import { METHODOLOGY_CITATIONS } from "./methodologyId.ts";
import { add, decimal, div, floor, int, mul, type Rational } from "./rational.ts";

/** What the oracle knows about a facility that the reading does not carry. */
export type FacilityContext = {
  /** ISO 3166-1 alpha-3 country of the grid connection (location-based Scope 2). */
  country?: string;
  /**
   * Contractual emission factor (market-based Scope 2), integer mg CO2e per kWh. Given, it needs
   * {@link FacilityContext.contractualCitation}: an electricity reading with the factor and no
   * citation is refused (UNKNOWN_FACTOR, field `contractualCitation`).
   */
  contractualMgCo2ePerKwh?: number;
  /** The contractual factor's source, cited in each result: the supplier's or certificate's document. */
  contractualCitation?: string;
  /** Which Scope 2 figure counts in the attested fossil total. Default 'location'. */
  scope2Method?: "location" | "market";
  /**
   * Share of flue-gas CO2 that comes from biomass, in basis points (0–10000). A tea
   * factory burning firewood: 10000. Default 0 (all fossil).
   */
  flueGasBiogenicShareBp?: number;
};

/** Result of one reading, integer milligrams. */
export type ReadingResult = {
  /** Scope total in CO2e: fossil CO2 + CH4 and N2O (all origins) × GWP. */
  fossilCo2eMg: bigint;
  /** Fossil CO2 alone; null when the factor is a CO2e intensity that does not separate gases. */
  fossilCo2Mg: bigint | null;
  /** Biogenic CO2, reported apart from the scope totals (GHG Protocol). */
  biogenicCo2Mg: bigint;
  /** Mass of CH4 and N2O (not CO2e); null when not separated. */
  ch4Mg: bigint | null;
  n2oMg: bigint | null;
  /** Electricity: both Scope 2 figures and the on-site renewable energy reported apart. */
  scope2?: { locationMg: bigint | null; marketMg: bigint | null; renewableWh: number };
  factorSetId: FactorSet["id"];
  citations: string[];
};

/**
 * `record[key]` when `key` is the record's own: a fuel id or country comes from a reading or a
 * bundle, and "constructor" or "toString" must not find Object.prototype's members.
 */
function own<T>(record: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}

function resolveFuel(set: FactorSet, fuel: string): { id: string; factor: FuelFactor } {
  const fuels = set.content.fuels;
  const id = own(fuels, fuel) ? fuel : own(FUEL_ALIASES, fuel);
  const factor = id === undefined ? undefined : own(fuels, id);
  if (!factor || id === undefined) {
    throw new SdkError(
      `Unknown fuel ${JSON.stringify(fuel)} in factor set ${set.content.name}; known: ${Object.keys(set.content.fuels).join(", ")}.`,
      { code: "UNKNOWN_FACTOR", docsPath: "docs/methodology.md#fuels", details: { field: "fuel" } },
    );
  }
  return { id, factor };
}

/** Energy of a fuel quantity in kJ (exact rational). */
export function fuelEnergyKj(set: FactorSet, m: FuelMeasurement): Rational {
  const { id, factor } = resolveFuel(set, m.fuel);
  if ("energyKj" in m) return int(m.energyKj);
  if ("massGrams" in m) return mul(int(m.massGrams), decimal(factor.ncvTjPerGg)); // TJ/Gg = kJ/g
  if (factor.densityKgPerM3 === undefined) {
    throw new SdkError(
      `No density for fuel "${id}" in factor set ${set.content.name}: the IPCC tables give none. Report mass or energy, or use a factor set whose entry has densityKgPerM3 with its source.`,
      { code: "UNKNOWN_FACTOR", docsPath: "docs/methodology.md#fuels", details: { field: "volumeMl" } },
    );
  }
  // kg/m³ = g/L; g = mL · (kg/m³) / 1000
  const grams = div(mul(int(m.volumeMl), decimal(factor.densityKgPerM3)), int(1000));
  return mul(grams, decimal(factor.ncvTjPerGg));
}

/** Fuel combustion: CO2 (fossil or biogenic), CH4, N2O by IPCC Tier 1. */
export function computeFuel(set: FactorSet, m: FuelMeasurement): Omit<ReadingResult, "factorSetId"> {
  const { id, factor } = resolveFuel(set, m.fuel);
  const energyKj = fuelEnergyKj(set, m);
  // kg/TJ = mg/kJ · 1000 → mg = kJ · (kg/TJ) / 1000
  const perKj = (kgPerTj: string) => div(mul(energyKj, decimal(kgPerTj)), int(1000));
  const co2 = perKj(factor.co2KgPerTj);
  const ch4 = perKj(factor.ch4KgPerTj);
  const n2o = perKj(factor.n2oKgPerTj);
  const gwp = set.content.gwp;
  const ch4Gwp = decimal(factor.biogenic ? gwp.ch4NonFossil : gwp.ch4Fossil);
  const nonCo2e = add(mul(ch4, ch4Gwp), mul(n2o, decimal(gwp.n2o)));
  return {
    fossilCo2eMg: floor(factor.biogenic ? nonCo2e : add(co2, nonCo2e)),
    fossilCo2Mg: factor.biogenic ? 0n : floor(co2),
    biogenicCo2Mg: factor.biogenic ? floor(co2) : 0n,
    ch4Mg: floor(ch4),
    n2oMg: floor(n2o),
    citations: [
      ...factor.citations,
      gwp.citation,
      `fuel "${id}"${factor.biogenic ? ": biomass, CO2 reported as biogenic" : ""}`,
    ],
  };
}

/** Grid electricity, GHG Protocol Scope 2: location-based (grid average) and market-based (contractual). */
export function computeElectricity(
  set: FactorSet,
  m: ElectricityMeasurement,
  context: FacilityContext,
): Omit<ReadingResult, "factorSetId"> {
  const citations: string[] = [];
  let locationMg: bigint | null = null;
  if (context.country !== undefined) {
    const grid = set.content.grid;
    const mgPerKwh = grid ? own(grid.mgCo2ePerKwh, context.country) : undefined;
    if (grid === null || mgPerKwh === undefined) {
      throw new SdkError(
        `No grid factor for country ${JSON.stringify(context.country)} in factor set ${set.content.name}.`,
        {
          code: "UNKNOWN_FACTOR",
          details: { field: "country" },
        },
      );
    }
    locationMg = (BigInt(m.energyWh) * BigInt(mgPerKwh)) / 1000n;
    citations.push(`${grid.citation}: ${context.country} ${mgPerKwh / 1000} g CO2e/kWh (location-based)`);
  }
  let marketMg: bigint | null = null;
  if (context.contractualMgCo2ePerKwh !== undefined) {
    // Every factor cites its source: a contractual factor without one (an old bundle's context, a
    // hand-made one) is not applied, counted or only reported; the oracle's config refuses it at start.
    const citation = context.contractualCitation;
    if (citation === undefined || citation.trim() === "") {
      throw new SdkError(
        `The contractual factor ${context.contractualMgCo2ePerKwh / 1000} g CO2e/kWh has no source: give contractualCitation, the supplier's or certificate's document (e.g. "GO certificate no. …, 2026"); an uncited factor is not applied.`,
        {
          code: "UNKNOWN_FACTOR",
          docsPath: "docs/methodology.md#electricity-ghg-protocol-scope-2",
          details: { field: "contractualCitation" },
        },
      );
    }
    marketMg = (BigInt(m.energyWh) * BigInt(context.contractualMgCo2ePerKwh)) / 1000n;
    citations.push(
      `contractual factor ${context.contractualMgCo2ePerKwh / 1000} g CO2e/kWh (market-based): ${citation}`,
    );
  }
  const method = context.scope2Method ?? "location";
  const counted = method === "location" ? locationMg : marketMg;
  if (counted === null) {
    throw new SdkError(
      method === "location"
        ? "Location-based Scope 2 needs the facility country (ISO 3166-1 alpha-3)."
        : "Market-based Scope 2 needs a contractual factor (contractualMgCo2ePerKwh).",
      { code: "UNKNOWN_FACTOR", details: { field: method === "location" ? "country" : "contractualMgCo2ePerKwh" } },
    );
  }
  citations.push(
    `GHG Protocol Scope 2 Guidance (2015): ${method}-based figure counted; on-site renewable generation reported apart`,
  );
  return {
    fossilCo2eMg: counted,
    fossilCo2Mg: null,
    biogenicCo2Mg: 0n,
    ch4Mg: null,
    n2oMg: null,
    scope2: { locationMg, marketMg, renewableWh: m.renewableWh ?? 0 },
    citations,
  };
}

/** Flue-gas CO2 measured at the stack (docs/protocol.md), split fossil/biogenic by the facility's share. */
export function computeFlueGas(
  reading: Extract<Reading, { kind: "flue-gas" }>,
  context: FacilityContext,
): Omit<ReadingResult, "factorSetId"> {
  const share = BigInt(context.flueGasBiogenicShareBp ?? 0);
  if (share < 0n || share > 10000n) {
    throw new SdkError("flueGasBiogenicShareBp must be 0–10000 basis points.", { code: "INVALID_ACTIVITY" });
  }
  const co2 = flueGasCo2Mg(reading.m, reading.intervalS);
  const biogenic = (co2 * share) / 10000n;
  return {
    fossilCo2eMg: co2 - biogenic,
    fossilCo2Mg: co2 - biogenic,
    biogenicCo2Mg: biogenic,
    ch4Mg: null,
    n2oMg: null,
    citations: [
      ...METHODOLOGY_CITATIONS.flueGas,
      ...(share > 0n ? [`biogenic share ${share} bp of stack CO2 (facility context), reported apart`] : []),
    ],
  };
}

/**
 * Emissions of one reading (the oracle's per-reading computation). Integer milligrams,
 * floored once per quantity; the batch total floors to grams once (batchTotals).
 */
export function computeReading(reading: Reading, factorSet: FactorSet, context: FacilityContext = {}): ReadingResult {
  let result: Omit<ReadingResult, "factorSetId">;
  switch (reading.kind) {
    case "flue-gas":
      result = computeFlueGas(reading, context);
      break;
    case "electricity":
      result = computeElectricity(factorSet, reading.m, context);
      break;
    case "fuel":
      result = computeFuel(factorSet, reading.m);
      break;
    case "manual": {
      const { evidenceSha256, ...m } = reading.m;
      result = "energyWh" in m ? computeElectricity(factorSet, m, context) : computeFuel(factorSet, m);
      result = { ...result, citations: [...result.citations, `manual entry, evidence sha256 ${evidenceSha256}`] };
      break;
    }
  }
  return { ...result, factorSetId: factorSet.id };
}

/** Batch totals as attested: per-reading mg summed, floored to grams once. */
export function batchTotals(results: readonly Pick<ReadingResult, "fossilCo2eMg" | "biogenicCo2Mg">[]): {
  fossilCo2eMg: bigint;
  biogenicCo2Mg: bigint;
  fossilCo2eGrams: bigint;
  biogenicCo2Grams: bigint;
} {
  let fossil = 0n;
  let biogenic = 0n;
  for (const r of results) {
    fossil += r.fossilCo2eMg;
    biogenic += r.biogenicCo2Mg;
  }
  return {
    fossilCo2eMg: fossil,
    biogenicCo2Mg: biogenic,
    fossilCo2eGrams: fossil / 1000n,
    biogenicCo2Grams: biogenic / 1000n,
  };
}
