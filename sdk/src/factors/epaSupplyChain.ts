import { SdkError } from "../errors.ts";
import { bytesToHex } from "../hex.ts";
import { DECIMAL_MAX_LENGTH, DECIMAL_PATTERN } from "../methodology/rational.ts";
import { sha256Bytes } from "../reading/digest.ts";
import { parseCsv } from "./csv.ts";
import type { FactorSetContent } from "./factorSet.ts";

/**
 * Import of the US EPA "Supply Chain Greenhouse Gas Emission Factors for US Commodities
 * and Industries" v1.3 (NAICS-6, kg CO2e per 2022 USD, purchaser price), read by its
 * published column names. The dataset is not on any package registry and the sdk ships
 * none of its values: a user imports the CSV they downloaded from the EPA, and the
 * factor set cites the file by its SHA-256.
 */
export const EPA_COLUMNS = {
  code: "2017 NAICS Code",
  title: "2017 NAICS Title",
  ghg: "GHG",
  unit: "Unit",
  withoutMargins: "Supply Chain Emission Factors without Margins",
  margins: "Margins of Supply Chain Emission Factors",
  withMargins: "Supply Chain Emission Factors with Margins",
} as const;

export const EPA_DATASET =
  "US EPA, Supply Chain Greenhouse Gas Emission Factors for US Commodities and Industries v1.3 (NAICS-6)";

function normaliseDecimal(text: string, line: number, column: string): string {
  const t = text.trim();
  // "0.5" written as ".5" and similar are normalised; anything else is an error, not a guess.
  const value = DECIMAL_PATTERN.test(t) ? t : /^\.[0-9]+$/.test(t) ? `0${t}` : undefined;
  if (value !== undefined && value.length <= DECIMAL_MAX_LENGTH) return value;
  throw new SdkError(
    value === undefined
      ? `CSV line ${line}, column "${column}": ${JSON.stringify(text.length > 60 ? `${text.slice(0, 60)}…` : text)} is not a non-negative decimal number.`
      : `CSV line ${line}, column "${column}": a number of ${value.length} characters, more than the ${DECIMAL_MAX_LENGTH} a factor may have.`,
    {
      code: "INVALID_CSV",
      details: { line, column },
    },
  );
}

export type SpendTable = NonNullable<FactorSetContent["spend"]>;

/**
 * Parses the EPA CSV into a spend table. Every row must be an all-GHG CO2e factor per
 * USD of one year (the `Unit` column, e.g. "kg CO2e/2022 USD, purchaser price"); the
 * factor used is "with Margins" (purchaser prices), the other two are kept.
 */
export function importEpaSupplyChainCsv(csvText: string, sourceName: string): SpendTable {
  const rows = parseCsv(csvText);
  const header = rows[0];
  if (!header) throw new SdkError("The CSV is empty.", { code: "INVALID_CSV" });
  const index: Record<keyof typeof EPA_COLUMNS, number> = {} as never;
  for (const [key, name] of Object.entries(EPA_COLUMNS) as [keyof typeof EPA_COLUMNS, string][]) {
    const at = header.findIndex((h) => h.trim() === name);
    if (at < 0) {
      throw new SdkError(
        `CSV header lacks the column "${name}" (EPA v1.3 names: ${Object.values(EPA_COLUMNS).join(" | ")}).`,
        {
          code: "INVALID_CSV",
          details: { column: name },
        },
      );
    }
    index[key] = at;
  }
  const factors: SpendTable["factors"] = {};
  let unit: string | undefined;
  let currencyYear: number | undefined;
  rows.slice(1).forEach((row, k) => {
    const line = k + 2;
    const cell = (key: keyof typeof EPA_COLUMNS) => {
      const v = row[index[key]];
      if (v === undefined) {
        throw new SdkError(`CSV line ${line} has no "${EPA_COLUMNS[key]}" cell.`, {
          code: "INVALID_CSV",
          details: { line },
        });
      }
      return v.trim();
    };
    const code = cell("code");
    if (!/^[0-9]{6}$/.test(code)) {
      throw new SdkError(
        `CSV line ${line}: "${EPA_COLUMNS.code}" ${JSON.stringify(code)} is not a 6-digit NAICS code.`,
        {
          code: "INVALID_CSV",
          details: { line },
        },
      );
    }
    const rowUnit = cell("unit");
    const m = /^kg CO2e\/(\d{4}) USD\b/.exec(rowUnit);
    if (!m) {
      throw new SdkError(
        `CSV line ${line}: unit ${JSON.stringify(rowUnit)} is not "kg CO2e/<year> USD, …"; import the CO2e (all GHGs) file.`,
        {
          code: "INVALID_CSV",
          details: { line },
        },
      );
    }
    if (unit !== undefined && rowUnit !== unit) {
      throw new SdkError(
        `CSV line ${line}: unit ${JSON.stringify(rowUnit)} differs from ${JSON.stringify(unit)} of earlier rows.`,
        {
          code: "INVALID_CSV",
          details: { line },
        },
      );
    }
    unit = rowUnit;
    currencyYear = Number(m[1]);
    if (factors[code]) {
      throw new SdkError(`CSV line ${line}: NAICS code ${code} appears twice.`, {
        code: "INVALID_CSV",
        details: { line },
      });
    }
    factors[code] = {
      title: cell("title"),
      kgCo2ePerUnit: normaliseDecimal(cell("withMargins"), line, EPA_COLUMNS.withMargins),
      withoutMargins: normaliseDecimal(cell("withoutMargins"), line, EPA_COLUMNS.withoutMargins),
      margins: normaliseDecimal(cell("margins"), line, EPA_COLUMNS.margins),
    };
  });
  if (unit === undefined || currencyYear === undefined)
    throw new SdkError("The CSV has a header but no rows.", { code: "INVALID_CSV" });
  const fileHash = bytesToHex(sha256Bytes(new TextEncoder().encode(csvText))).slice(2);
  return {
    citation: `${EPA_DATASET}, column "${EPA_COLUMNS.withMargins}", unit "${unit}"; imported from ${sourceName} (sha256 ${fileHash})`,
    currency: "USD",
    currencyYear,
    unit,
    factors,
  };
}
