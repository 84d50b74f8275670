/**
 * CSV as RFC 4180 describes it: comma-separated, CRLF line ends, a header row, and a field
 * quoted (inner quotes doubled) when it holds a comma, a quote, a line break or edge spaces.
 *
 * Text from the chain (retirement reasons, beneficiary names, challenge notes) is written by
 * anyone; a spreadsheet would run a field starting with = + - @ or a tab as a formula. Such text
 * fields get a leading apostrophe (OWASP "CSV injection"); numbers are written as they are.
 */

export type CsvValue = string | number | bigint | boolean | null | undefined;

/** A column of a CSV export: the header names the unit (`amount_kg`, `fossil_co2e_g`, `timestamp_utc`). */
export type CsvColumn<Row> = { header: string; value: (row: Row) => CsvValue };

const NEEDS_QUOTES = /[",\r\n]|^\s|\s$/;
const FORMULA_START = /^[=+\-@\t\r]/;

/** One field, escaped. */
export function csvField(value: CsvValue): string {
  if (value === null || value === undefined) return "";
  if (typeof value === "bigint" || typeof value === "number") return value.toString();
  if (typeof value === "boolean") return value ? "true" : "false";
  const text = FORMULA_START.test(value) ? `'${value}` : value;
  return NEEDS_QUOTES.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** One record, CRLF-terminated. */
export function csvLine(values: readonly CsvValue[]): string {
  return `${values.map(csvField).join(",")}\r\n`;
}

export function csvHeader<Row>(columns: readonly CsvColumn<Row>[]): string {
  return csvLine(columns.map((c) => c.header));
}

export function csvRows<Row>(columns: readonly CsvColumn<Row>[], rows: readonly Row[]): string {
  return rows.map((r) => csvLine(columns.map((c) => c.value(r)))).join("");
}

/** A whole document: header row, then one record per row. */
export function toCsv<Row>(columns: readonly CsvColumn<Row>[], rows: readonly Row[]): string {
  return csvHeader(columns) + csvRows(columns, rows);
}

/** Unix seconds → `2026-11-23T10:00:00Z` (what a `…_utc` column holds); empty for null. */
export function isoUtc(unixSeconds: bigint | number | null): string {
  if (unixSeconds === null) return "";
  return new Date(Number(unixSeconds) * 1000).toISOString().replace(".000Z", "Z");
}
