import { SdkError } from "../errors.ts";

/** One CSV record and the line of the text it starts on (1-based; a quoted field may span lines). */
export type CsvRecord = { line: number; cells: string[] };

/**
 * RFC 4180 CSV: quoted fields, doubled quotes, CRLF, LF or CR, a UTF-8 BOM ignored (spreadsheets
 * write one). Records whose every field is empty (blank lines, `,,,` rows) are skipped, and each
 * record keeps the line it starts on, so that a report names the line a user finds in the file.
 * A quote inside an unquoted field, or a quoted field never closed (which would swallow every
 * record after it), is an `INVALID_CSV` error naming the line.
 */
export function parseCsvRecords(text: string): CsvRecord[] {
  const records: CsvRecord[] = [];
  let row: string[] = [];
  let field = "";
  let quoted = false;
  let wasQuoted = false;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  let line = 1;
  let rowLine = 1;
  let quoteLine = 1;
  const endRow = () => {
    row.push(field);
    if (row.some((f) => f !== "")) records.push({ line: rowLine, cells: row });
    row = [];
    field = "";
    wasQuoted = false;
  };
  for (; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else {
        if (c === "\n" || (c === "\r" && text[i + 1] !== "\n")) line++;
        field += c;
      }
      continue;
    }
    if (c === '"') {
      if (field !== "" || wasQuoted) {
        throw new SdkError(`CSV line ${line}: a quote inside an unquoted field; quote the whole field.`, {
          code: "INVALID_CSV",
        });
      }
      quoted = wasQuoted = true;
      quoteLine = line;
    } else if (c === ",") {
      row.push(field);
      field = "";
      wasQuoted = false;
    } else if (c === "\n" || c === "\r") {
      if (c === "\r" && text[i + 1] === "\n") i++;
      endRow();
      line++;
      rowLine = line;
    } else if (wasQuoted) {
      throw new SdkError(`CSV line ${line}: text after a quoted field's closing quote; quote the whole field.`, {
        code: "INVALID_CSV",
      });
    } else field += c;
  }
  if (quoted) {
    throw new SdkError(`CSV line ${quoteLine}: a quoted field opened on this line is never closed.`, {
      code: "INVALID_CSV",
    });
  }
  endRow();
  return records;
}

/** `parseCsvRecords` without the line numbers. */
export function parseCsv(text: string): string[][] {
  return parseCsvRecords(text).map((r) => r.cells);
}
