import { SdkError } from "../errors.ts";
import { parseCsvRecords, type CsvRecord } from "../factors/csv.ts";
import type { Hex } from "../hex.ts";
import { formatIssues } from "./parse.ts";
import { readingSchema, type Envelope, type Reading } from "./schema.ts";
import { signReading } from "./sign.ts";

/**
 * Signed readings as CSV, one per row (docs/oracle.md "CSV import"): the one definition of the
 * row format, used by `carbonproof device sign-csv` to sign rows and by the oracle's
 * `carbonproof-oracle import` to read them back, so that both hash the same reading.
 */

export { CsvRecordParser, readCsvRecords } from "../factors/csv.ts";

/** The reading's own columns; `v` is optional (default 1). */
export const CSV_READING_COLUMNS = ["v", "deviceId", "facilityId", "seq", "ts", "intervalS", "kind"] as const;
/** The measurement fields of every kind, by their protocol names (one column each). */
export const CSV_MEASUREMENT_COLUMNS = [
  "co2Ppm",
  "tempCentiC",
  "velocityMmS",
  "pressurePa",
  "ductDiameterMm",
  "energyWh",
  "renewableWh",
  "fuel",
  "massGrams",
  "volumeMl",
  "energyKj",
  "evidenceSha256",
] as const;
/** The envelope's columns besides the reading. */
export const CSV_ENVELOPE_COLUMNS = ["sig", "keyId"] as const;

const READING_FIELDS = new Set<string>(CSV_READING_COLUMNS);
/** The text measurement fields; every other measurement is an integer. */
const TEXT_MEASUREMENTS = new Set<string>(["fuel", "evidenceSha256"]);
/** The columns whose cells are integers in the reading; every other cell is text. */
const INT_FIELDS = new Set<string>([
  "v",
  "seq",
  "ts",
  "intervalS",
  ...CSV_MEASUREMENT_COLUMNS.filter((c) => !TEXT_MEASUREMENTS.has(c)),
]);
const REQUIRED_COLUMNS = ["deviceId", "facilityId", "seq", "ts", "intervalS", "kind"] as const;
const KNOWN_COLUMNS = new Set<string>([...CSV_READING_COLUMNS, ...CSV_MEASUREMENT_COLUMNS, ...CSV_ENVELOPE_COLUMNS]);

/**
 * One CSV row to an envelope `{ reading, sig?, keyId? }`, not yet validated (the caller parses it
 * with the reading or envelope schema). `header` holds the column names (trimmed). Empty cells
 * are left out; integer fields that hold an integer become numbers, anything else stays text and
 * fails the schema with a clear message; `v` defaults to 1. Columns that are not reading or
 * envelope fields go into `m`, where the strict schema refuses them.
 */
export function csvRowToEnvelope(header: readonly string[], cells: readonly string[]): unknown {
  const reading: Record<string, unknown> = { v: 1 };
  const m: Record<string, unknown> = {};
  const env: Record<string, unknown> = {};
  header.forEach((name, i) => {
    const raw = (cells[i] ?? "").trim();
    if (raw === "") return;
    const value = INT_FIELDS.has(name) && /^-?\d+$/.test(raw) ? Number(raw) : raw;
    if (name === "sig" || name === "keyId") env[name] = value;
    else if (READING_FIELDS.has(name)) reading[name] = value;
    else m[name] = value;
  });
  return { reading: { ...reading, m }, ...env };
}

/**
 * The cells of an envelope (or an unsigned reading) under `header`: the other direction of
 * `csvRowToEnvelope`. Throws `INVALID_CSV` when a field of it has no column (it would be lost).
 */
export function envelopeToCsvRow(header: readonly string[], envelope: Envelope | { reading: Reading }): string[] {
  const { reading } = envelope;
  const m = reading.m as Record<string, string | number | undefined>;
  const fields = envelope as Record<string, unknown>;
  const lost = [
    ...Object.keys(reading).filter((k) => k !== "m" && k !== "v"),
    ...Object.keys(m),
    ...Object.keys(fields).filter((k) => k !== "reading"),
  ].filter((k) => !header.includes(k));
  if (lost.length > 0)
    throw csvError(`The CSV header has no column for ${lost.join(", ")}; add the column(s) to keep the reading whole.`);
  return header.map((name) => {
    const value = READING_FIELDS.has(name)
      ? reading[name as keyof Reading]
      : name === "sig" || name === "keyId"
        ? fields[name]
        : m[name];
    return value === undefined ? "" : String(value);
  });
}

/** One CSV record (no line ending): a field holding a comma, quote or line break is quoted. */
export function formatCsvRecord(cells: readonly string[]): string {
  return cells.map((c) => (/[",\r\n]/.test(c) ? `"${c.replaceAll('"', '""')}"` : c)).join(",");
}

/** A row that cannot be signed: the line of the file it starts on (header = line 1) and why. */
export type CsvRowProblem = { line: number; message: string };

export type SignCsvOptions = {
  /** sets the keyId cell of every row (a keyId column is added when missing); without it keyId cells are kept */
  keyId?: string;
  /** signs rows that already carry a sig again (default: such a row is a problem) */
  resign?: boolean;
  /** leaves bad rows out of the output and lists them (default: any bad row throws, nothing is signed) */
  skipInvalid?: boolean;
  /** called after every `progressEvery` signed rows (default 10,000) */
  onProgress?: (signed: number, total: number) => void;
  progressEvery?: number;
};

export type SignCsvResult = {
  /** the same CSV (same columns, order, line ending and BOM) with sig, and keyId when given, filled in */
  csv: string;
  signed: number;
  /** the rows left out (with `skipInvalid`) */
  invalid: CsvRowProblem[];
};

function csvError(message: string, details?: Record<string, unknown>): SdkError {
  return new SdkError(message, { code: "INVALID_CSV", docsPath: "docs/oracle.md#csv-import", details });
}

/** The columns of a header row, checked: known names, none twice, the reading's required ones present. */
function checkHeader(cells: readonly string[]): string[] {
  const names = cells.map((c) => c.trim());
  const expected = `columns are ${[...KNOWN_COLUMNS].join(", ")}`;
  names.forEach((name, i) => {
    if (!KNOWN_COLUMNS.has(name))
      throw csvError(`CSV header, column ${i + 1}: ${JSON.stringify(name)} is not a reading field; ${expected}.`);
    const first = names.indexOf(name);
    if (first !== i)
      throw csvError(`CSV header: column ${JSON.stringify(name)} appears twice (columns ${first + 1} and ${i + 1}).`);
  });
  const missing = REQUIRED_COLUMNS.filter((c) => !names.includes(c));
  if (missing.length > 0)
    throw csvError(`CSV header: no column ${missing.join(", ")}; every row needs ${REQUIRED_COLUMNS.join(", ")}.`);
  return names;
}

/**
 * The columns of a CSV import's header row (`carbonproof-oracle import`), checked as `sign-csv`
 * checks its input's (known names, none twice, the reading's required ones), and with a `sig`
 * column: every row of an import is a signed envelope. Throws `INVALID_CSV` saying what to fix, so
 * that a typo in a column name refuses the file before any row is read, rather than every row.
 */
export function checkSignedCsvHeader(cells: readonly string[]): string[] {
  const names = checkHeader(cells);
  if (!names.includes("sig"))
    throw csvError(
      "CSV header: no column sig; every row of an import is a signed reading: sign the file first with `carbonproof device sign-csv --key KEY.pem FILE.csv` (docs/sdk.md).",
    );
  return names;
}

/** What is wrong with a reading, by the column to fix (`m.energyWh` → `energyWh`). */
function rowIssues(reading: unknown): string | null {
  const result = readingSchema.safeParse(reading);
  if (result.success) return null;
  const valueAt = (path: string) =>
    path.split(".").reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], reading);
  return formatIssues(result.error)
    .map((i) => {
      const empty = i.path !== "(root)" && valueAt(i.path) === undefined ? "empty or missing; " : "";
      return `${i.path.replace(/^m\./, "")}: ${empty}${i.message}`;
    })
    .join("; ");
}

/** A row that passed `CsvRowSigner.check`: its cells under the signer's header, and its reading. */
export type CheckedCsvRow = { line: number; cells: string[]; reading: Reading };

/** Checks and signs rows one at a time under one header (`csvRowSigner`). */
export type CsvRowSigner = {
  /** the output header: the input's columns, with sig (and keyId, when a keyId is given) added when missing */
  header: string[];
  /** the row as a reading to sign, or what is wrong with it */
  check: (row: CsvRecord) => CheckedCsvRow | CsvRowProblem;
  /** the row's cells with sig (and keyId, when given) filled in */
  sign: (row: CheckedCsvRow) => string[];
};

/**
 * The row-by-row signer behind `signCsv`, for callers that read a file in pieces
 * (`readCsvRecords`): checks the header row once (`INVALID_CSV` for unknown, repeated or missing
 * columns), then each row as `signCsv` does.
 */
export function csvRowSigner(
  headCells: readonly string[],
  secretKey: Uint8Array | Hex,
  opts: Pick<SignCsvOptions, "keyId" | "resign"> = {},
): CsvRowSigner {
  if (opts.keyId !== undefined && (opts.keyId.length < 1 || opts.keyId.length > 128))
    throw new SdkError("keyId must be 1–128 characters.", { code: "INVALID_READING" });
  const header = checkHeader(headCells);
  if (!header.includes("sig")) header.push("sig");
  if (opts.keyId !== undefined && !header.includes("keyId")) header.push("keyId");
  const sigAt = header.indexOf("sig");
  const keyIdAt = header.indexOf("keyId");
  return {
    header,
    check(row) {
      const problem = (message: string) => ({ line: row.line, message });
      if (row.cells.length > headCells.length)
        return problem(`${row.cells.length} cells, but the header names ${headCells.length} columns`);
      const cells = header.map((_, i) => row.cells[i] ?? "");
      if (!opts.resign && cells[sigAt]!.trim() !== "")
        return problem("already signed (its sig cell is set): empty the cell, or pass --resign to sign it again");
      if (keyIdAt >= 0 && opts.keyId === undefined && cells[keyIdAt]!.trim().length > 128)
        return problem("keyId: expected at most 128 characters");
      const { reading } = csvRowToEnvelope(header, cells) as { reading: unknown };
      const issues = rowIssues(reading);
      return issues === null ? { line: row.line, cells, reading: reading as Reading } : problem(issues);
    },
    sign({ cells, reading }) {
      const out = [...cells];
      out[sigAt] = signReading(reading, secretKey).sig;
      if (opts.keyId !== undefined) out[keyIdAt] = opts.keyId;
      return out;
    },
  };
}

/** The message listing invalid rows (the first 20) when nothing was signed. */
function invalidRowsMessage(count: number, shown: readonly CsvRowProblem[]): string {
  const listed = shown.slice(0, 20).map((p) => `  line ${p.line}: ${p.message}`);
  if (count > listed.length) listed.push(`  … and ${count - listed.length} more`);
  return `${count} invalid row(s); nothing was signed:\n${listed.join("\n")}`;
}

/**
 * Signs the readings of a CSV file (text) with a device key, row by row as `signReading` signs
 * one reading (SHA-256 of the canonical bytes, P-256, low-s), and returns the file with the sig
 * column (and keyId, when given) filled in. Every row is validated first as a reading v1. A bad
 * row — not a reading, more cells than the header has columns, already signed without `resign` —
 * throws `INVALID_CSV` listing every bad row (`details.invalid`) and signs nothing, unless
 * `skipInvalid`, which leaves bad rows out and returns them. A file that is not CSV, or whose
 * header names unknown, repeated or too few columns, always throws `INVALID_CSV`. The whole
 * text is held: for large files, `readCsvRecords` and `csvRowSigner` sign row by row.
 */
export function signCsv(text: string, secretKey: Uint8Array | Hex, opts: SignCsvOptions = {}): SignCsvResult {
  const [head, ...rows] = parseCsvRecords(text);
  if (!head) throw emptyCsvError();
  const signer = csvRowSigner(head.cells, secretKey, opts);
  const invalid: CsvRowProblem[] = [];
  const good: CheckedCsvRow[] = [];
  for (const row of rows) {
    const checked = signer.check(row);
    if ("message" in checked) invalid.push(checked);
    else good.push(checked);
  }
  if (invalid.length > 0 && !opts.skipInvalid) throw csvError(invalidRowsMessage(invalid.length, invalid), { invalid });

  const eol = text.includes("\r\n") ? "\r\n" : "\n";
  const out = [formatCsvRecord(signer.header)];
  const every = opts.progressEvery ?? 10_000;
  for (const row of good) {
    out.push(formatCsvRecord(signer.sign(row)));
    if (opts.onProgress && (out.length - 1) % every === 0) opts.onProgress(out.length - 1, good.length);
  }
  const bom = text.charCodeAt(0) === 0xfeff ? "\ufeff" : "";
  return { csv: `${bom}${out.join(eol)}${eol}`, signed: good.length, invalid };
}

/** `INVALID_CSV` for a file without a header row. */
export function emptyCsvError(): SdkError {
  return csvError(
    `The CSV is empty; its first row names the columns (${REQUIRED_COLUMNS.join(", ")}, the measurement fields).`,
  );
}
