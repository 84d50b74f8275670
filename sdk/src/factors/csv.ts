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
  const parser = new CsvRecordParser();
  return [...parser.push(text), ...parser.end()];
}

/** The next character that ends a run of plain text outside, and inside, a quoted field. */
const UNQUOTED_STOP = /[,"\r\n]/g;
const QUOTED_STOP = /["\r\n]/g;

/**
 * The CSV parser, fed the text in pieces (`parseCsvRecords` feeds it a whole text; `readCsvRecords` a
 * file or stream too large to hold whole): the rules of `parseCsvRecords` (RFC 4180 quoting, CRLF/LF/CR, a leading UTF-8 BOM ignored, all-empty records
 * skipped), the same records with the line each starts on, and the same `INVALID_CSV` errors.
 * A piece may end anywhere: inside a quoted field, between a doubled quote's two quotes, between
 * the CR and LF of a line break. `push` returns the records a piece completes, `end` the last one.
 */
export class CsvRecordParser {
  #row: string[] = [];
  #field = "";
  #quoted = false;
  #wasQuoted = false;
  #line = 1;
  #rowLine = 1;
  #quoteLine = 1;
  /** a `"` (inside a quoted field) or a CR that ended the last piece: what it means depends on the next character */
  #carry = "";
  #started = false;
  /** the text began with a UTF-8 BOM (skipped) */
  bom = false;
  /** the first line break outside a quoted field (`"\r\n"`, `"\n"` or `"\r"`); null until one is read */
  eol: string | null = null;

  /** The records that `piece` completes. Throws `INVALID_CSV` where `parseCsvRecords` would. */
  push(piece: string): CsvRecord[] {
    return this.#scan(this.#carry + piece, false);
  }

  /** The last record, at the end of the text; throws `INVALID_CSV` for a quoted field never closed. */
  end(): CsvRecord[] {
    return this.#scan(this.#carry, true);
  }

  #scan(text: string, final: boolean): CsvRecord[] {
    const out: CsvRecord[] = [];
    let row = this.#row;
    let field = this.#field;
    let quoted = this.#quoted;
    let wasQuoted = this.#wasQuoted;
    let line = this.#line;
    let rowLine = this.#rowLine;
    const n = text.length;
    let i = 0;
    this.#carry = "";
    if (!this.#started && n > 0) {
      this.#started = true;
      if (text.charCodeAt(0) === 0xfeff) {
        this.bom = true;
        i = 1;
      }
    }
    const endRow = () => {
      row.push(field);
      if (row.some((f) => f !== "")) out.push({ line: rowLine, cells: row });
      row = [];
      field = "";
      wasQuoted = false;
    };
    while (i < n) {
      if (quoted) {
        QUOTED_STOP.lastIndex = i;
        const j = QUOTED_STOP.exec(text)?.index ?? n;
        field += text.slice(i, j);
        i = j;
        if (i === n) break;
        const c = text[i]!;
        if (c !== "\n" && i + 1 === n && !final) {
          this.#carry = c;
          break;
        }
        if (c === '"') {
          if (text[i + 1] === '"') {
            field += '"';
            i += 2;
          } else {
            quoted = false;
            i++;
          }
        } else {
          if (c === "\n" || text[i + 1] !== "\n") line++;
          field += c;
          i++;
        }
        continue;
      }
      UNQUOTED_STOP.lastIndex = i;
      const j = UNQUOTED_STOP.exec(text)?.index ?? n;
      if (j > i) {
        if (wasQuoted) {
          throw new SdkError(`CSV line ${line}: text after a quoted field's closing quote; quote the whole field.`, {
            code: "INVALID_CSV",
          });
        }
        field += text.slice(i, j);
        i = j;
        if (i === n) break;
      }
      const c = text[i]!;
      if (c === '"') {
        if (field !== "" || wasQuoted) {
          throw new SdkError(`CSV line ${line}: a quote inside an unquoted field; quote the whole field.`, {
            code: "INVALID_CSV",
          });
        }
        quoted = wasQuoted = true;
        this.#quoteLine = line;
        i++;
      } else if (c === ",") {
        row.push(field);
        field = "";
        wasQuoted = false;
        i++;
      } else {
        if (c === "\r" && i + 1 === n && !final) {
          this.#carry = c;
          break;
        }
        const crlf = c === "\r" && text[i + 1] === "\n";
        this.eol ??= crlf ? "\r\n" : c;
        i += crlf ? 2 : 1;
        endRow();
        line++;
        rowLine = line;
      }
    }
    if (final) {
      if (quoted) {
        throw new SdkError(`CSV line ${this.#quoteLine}: a quoted field opened on this line is never closed.`, {
          code: "INVALID_CSV",
        });
      }
      endRow();
    }
    this.#row = row;
    this.#field = field;
    this.#quoted = quoted;
    this.#wasQuoted = wasQuoted;
    this.#line = line;
    this.#rowLine = rowLine;
    return out;
  }
}

/**
 * The records of a CSV read in pieces (a file or stdin stream: bytes, decoded as UTF-8, or text),
 * one at a time, holding only the record being read: `CsvRecordParser` over the stream. A file
 * that is not CSV throws `INVALID_CSV` where it stops being CSV, after the records before it.
 * Pass a `parser` to read its `bom` and `eol` once the header is read.
 */
export async function* readCsvRecords(
  source: AsyncIterable<string | Uint8Array> | Iterable<string | Uint8Array>,
  parser: CsvRecordParser = new CsvRecordParser(),
): AsyncGenerator<CsvRecord> {
  // ignoreBOM keeps a BOM in the text, where the parser skips it and notes it (as parseCsvRecords on a file's text)
  const decoder = new TextDecoder("utf-8", { ignoreBOM: true });
  for await (const piece of source) {
    yield* parser.push(typeof piece === "string" ? piece : decoder.decode(piece, { stream: true }));
  }
  yield* parser.push(decoder.decode());
  yield* parser.end();
}

/** `parseCsvRecords` without the line numbers. */
export function parseCsv(text: string): string[][] {
  return parseCsvRecords(text).map((r) => r.cells);
}
