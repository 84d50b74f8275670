import { test } from "node:test";
import assert from "node:assert/strict";
import { csvField, isoUtc, toCsv, type CsvColumn } from "./csv.ts";

test("writes plain fields bare and quotes commas, quotes, line breaks and edge spaces", () => {
  assert.equal(csvField("ktda-gitugi"), "ktda-gitugi");
  assert.equal(csvField("Acme, Inc."), '"Acme, Inc."');
  assert.equal(csvField('the "green" fund'), '"the ""green"" fund"');
  assert.equal(csvField("line one\nline two"), '"line one\nline two"');
  assert.equal(csvField("a\r\nb"), '"a\r\nb"');
  assert.equal(csvField(" padded"), '" padded"');
  assert.equal(csvField(""), "");
});

test("writes numbers, bigints and booleans as they are and null as an empty field", () => {
  assert.equal(csvField(123456789012345678901234567890n), "123456789012345678901234567890");
  assert.equal(csvField(-5n), "-5");
  assert.equal(csvField(3), "3");
  assert.equal(csvField(true), "true");
  assert.equal(csvField(false), "false");
  assert.equal(csvField(null), "");
  assert.equal(csvField(undefined), "");
});

test("defuses text a spreadsheet would run as a formula", () => {
  assert.equal(csvField('=HYPERLINK("http://x")'), '"\'=HYPERLINK(""http://x"")"');
  assert.equal(csvField("+1"), "'+1");
  assert.equal(csvField("-offset"), "'-offset");
  assert.equal(csvField("@SUM(A1)"), "'@SUM(A1)");
});

test("a document is a header row and one CRLF-terminated record per row", () => {
  type Row = { id: bigint; name: string; kg: bigint | null };
  const cols: CsvColumn<Row>[] = [
    { header: "id", value: (r) => r.id },
    { header: "name", value: (r) => r.name },
    { header: "amount_kg", value: (r) => r.kg },
  ];
  const doc = toCsv(cols, [
    { id: 1n, name: "Kangaita, tea", kg: 1500n },
    { id: 2n, name: "Gitugi", kg: null },
  ]);
  assert.equal(doc, 'id,name,amount_kg\r\n1,"Kangaita, tea",1500\r\n2,Gitugi,\r\n');
  assert.equal(toCsv(cols, []), "id,name,amount_kg\r\n");
});

test("round-trips through a strict RFC 4180 reader", () => {
  const nasty = ["a,b", 'say "hi"', "two\nlines", "plain", "", "trailing "];
  const cols: CsvColumn<string>[] = [{ header: "text", value: (r) => r }];
  const parsed = parseCsv(toCsv(cols, nasty));
  assert.deepEqual(parsed, [["text"], ...nasty.map((n) => [n])]);
});

test("timestamps are ISO 8601 UTC without milliseconds", () => {
  assert.equal(isoUtc(1_763_892_000n), "2025-11-23T10:00:00Z");
  assert.equal(isoUtc(null), "");
});

/** A minimal RFC 4180 reader, the test's independent check of the writer. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ",") {
      row.push(field);
      field = "";
    } else if (c === "\r" && text[i + 1] === "\n") {
      row.push(field);
      rows.push(row);
      row = [];
      field = "";
      i++;
    } else field += c;
  }
  assert.equal(field, "");
  assert.equal(row.length, 0);
  return rows;
}
