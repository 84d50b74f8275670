import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import fc from "fast-check";
import { parseCsv, parseCsvRecords } from "./csv.ts";
import { EPA_COLUMNS, importEpaSupplyChainCsv } from "./epaSupplyChain.ts";
import { defaultFactorSet, parseFactorSet, withSpendFactors } from "./factorSet.ts";
import { computeActivity } from "../methodology/activity.ts";

// FIXTURE with made-up values (sdk/test-fixtures/README.md): for parser tests only, not EPA data.
const fixture = readFileSync(new URL("../../test-fixtures/epa-supply-chain-FIXTURE.csv", import.meta.url), "utf8");

test("CSV parser: quotes, doubled quotes, commas in fields, CRLF", () => {
  assert.deepEqual(parseCsv('a,"b,c","d ""e"""\r\n1,2,3\n'), [
    ["a", "b,c", 'd "e"'],
    ["1", "2", "3"],
  ]);
  assert.throws(() => parseCsv('a,"b'), { code: "INVALID_CSV" });
});

test("CSV records keep the line they start on; blank and all-empty rows are skipped; a BOM is ignored", () => {
  assert.deepEqual(parseCsvRecords('\ufeffh1,h2\n\n"multi\nline",x\r\n,,\rlast,1'), [
    { line: 1, cells: ["h1", "h2"] },
    { line: 3, cells: ["multi\nline", "x"] },
    { line: 6, cells: ["last", "1"] },
  ]);
});

test("CSV errors name the line: an unclosed quote, a quote inside a field, text after a closing quote", () => {
  assert.throws(() => parseCsv('a,b\n1,"open\n2,3\n'), { code: "INVALID_CSV", message: /line 2: .*never closed/ });
  assert.throws(() => parseCsv('a,b\n1,2\nx"y,3'), { code: "INVALID_CSV", message: /line 3: a quote inside/ });
  assert.throws(() => parseCsv('a,b\n"x"y,3'), { code: "INVALID_CSV", message: /line 2: text after/ });
});

test("CSV parser: any table of cells, quoted where needed, parses back to itself", () => {
  const cell = fc.string({ unit: fc.constantFrom("a", "1", " ", ",", '"', "\n", "\r", "é", "-") });
  fc.assert(
    fc.property(
      fc.array(fc.array(cell, { minLength: 2, maxLength: 4 }), { minLength: 1, maxLength: 8 }),
      fc.constantFrom("\n", "\r\n"),
      (table, eol) => {
        const rows = table.filter((r) => r.some((c) => c !== ""));
        const text = rows
          .map((r) => r.map((c) => (/[",\r\n]/.test(c) ? `"${c.replaceAll('"', '""')}"` : c)).join(","))
          .join(eol);
        assert.deepEqual(parseCsv(text), rows);
      },
    ),
    { numRuns: 500 },
  );
});

test("CSV parser: arbitrary text either parses or throws INVALID_CSV, nothing else", () => {
  fc.assert(
    fc.property(fc.string({ unit: fc.constantFrom("a", ",", '"', "\n", "\r", "\ufeff", " ") }), (text) => {
      try {
        for (const r of parseCsvRecords(text)) assert.ok(r.line >= 1 && r.cells.some((c) => c !== ""));
      } catch (err) {
        assert.equal((err as { code?: string }).code, "INVALID_CSV", String(err));
      }
    }),
    { numRuns: 1000 },
  );
});

test("imports the EPA v1.3 columns by name into a spend table citing the file hash", () => {
  const table = importEpaSupplyChainCsv(fixture, "epa-supply-chain-FIXTURE.csv");
  assert.equal(table.currency, "USD");
  assert.equal(table.currencyYear, 2022);
  assert.deepEqual(table.factors["111111"], {
    title: "FIXTURE, made-up values for parser tests - NOT EPA DATA",
    kgCo2ePerUnit: "1.250",
    withoutMargins: "1.000",
    margins: "0.250",
  });
  assert.equal(table.factors["333333"]!.withoutMargins, "0.120");
  assert.equal(table.factors["333333"]!.title, 'FIXTURE "quoted" title - NOT EPA DATA');
  assert.match(table.citation, /Supply Chain Emission Factors with Margins/);
  assert.match(table.citation, /sha256 [0-9a-f]{64}/);
});

test("rejects a CSV missing a named column, a bad code, a non-CO2e unit, a duplicate", () => {
  const header = Object.values(EPA_COLUMNS);
  const row = (code: string, unit = '"kg CO2e/2022 USD, purchaser price"') => `${code},t,All GHGs,${unit},1,0,1`;
  assert.throws(() => importEpaSupplyChainCsv(`${header.slice(1).join(",")}\n`, "x"), { code: "INVALID_CSV" });
  assert.throws(() => importEpaSupplyChainCsv(`${header.join(",")}\n${row("12345")}\n`, "x"), { code: "INVALID_CSV" });
  assert.throws(
    () => importEpaSupplyChainCsv(`${header.join(",")}\n${row("123456", '"kg/2022 USD, purchaser price"')}\n`, "x"),
    {
      code: "INVALID_CSV",
    },
  );
  assert.throws(() => importEpaSupplyChainCsv(`${header.join(",")}\n${row("123456")}\n${row("123456")}\n`, "x"), {
    code: "INVALID_CSV",
  });
  assert.throws(
    () => importEpaSupplyChainCsv(`${header.join(",")}\n123456,t,All GHGs,"kg CO2e/2022 USD, p",1e-3,0,1\n`, "x"),
    {
      code: "INVALID_CSV",
    },
  );
});

test("spend: (amount) × factor, exact; the imported set re-hashes and round-trips", () => {
  const set = withSpendFactors(defaultFactorSet(), importEpaSupplyChainCsv(fixture, "fixture.csv"));
  assert.equal(parseFactorSet(JSON.parse(JSON.stringify(set))).id, set.id);
  // 1000.50 USD × 1.250 kg/USD = 1250.625 kg
  const r = computeActivity({ kind: "spend", category: "111111", amount: 1000.5, currency: "USD" }, 0, set);
  assert.equal(r.fossilCo2eMg, 1_250_625_000n);
  assert.throws(
    () => computeActivity({ kind: "spend", category: "999999", amount: 1, currency: "USD" }, 3, set),
    (e: { issues: unknown }) => {
      assert.deepEqual(e.issues, [
        {
          index: 3,
          field: "category",
          expected: "expected a category of the spend factors (NAICS-6 code); 999999 is not in them",
        },
      ]);
      return true;
    },
  );
  assert.throws(() => computeActivity({ kind: "spend", category: "111111", amount: 1, currency: "EUR" }, 0, set), {
    code: "INVALID_ACTIVITY",
  });
});

test("EPA import: a factor longer than DECIMAL_MAX_LENGTH characters is refused naming line and column", () => {
  const [header, first] = fixture.split("\n");
  const long = first!.replace(",1.250,", `,1.${"2".repeat(60)},`);
  assert.notEqual(long, first);
  assert.throws(() => importEpaSupplyChainCsv(`${header}\n${long}\n`, "long.csv"), {
    code: "INVALID_CSV",
    message:
      /CSV line 2, column "Supply Chain Emission Factors with Margins": a number of 62 characters, more than the 40/,
  });
});
