import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { parseCsvRecords } from "../factors/csv.ts";
import {
  CSV_ENVELOPE_COLUMNS,
  CSV_MEASUREMENT_COLUMNS,
  CSV_READING_COLUMNS,
  CsvRecordParser,
  csvRowToEnvelope,
  envelopeToCsvRow,
  formatCsvRecord,
  readCsvRecords,
  signCsv,
} from "./csv.ts";
import { readingDigestHex } from "./digest.ts";
import { parseEnvelope } from "./parse.ts";
import type { Reading } from "./schema.ts";
import { generateDeviceKey, signReading, verifyEnvelope } from "./sign.ts";

const HEADER = [...CSV_READING_COLUMNS, ...CSV_MEASUREMENT_COLUMNS, ...CSV_ENVELOPE_COLUMNS];
const id = fc.stringMatching(/^[a-z0-9][a-z0-9._-]{0,31}$/);
const uint = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER });
const fuel = fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,20}$/);
const fuelQuantity = fc.oneof(
  fc.record({ fuel, massGrams: uint }),
  fc.record({ fuel, volumeMl: uint }),
  fc.record({ fuel, energyKj: uint }),
);
const measurement = fc.oneof(
  fc.record({
    kind: fc.constant("flue-gas" as const),
    m: fc.record({
      co2Ppm: uint,
      tempCentiC: fc.integer({ min: -27314, max: 10 ** 9 }),
      velocityMmS: uint,
      pressurePa: uint,
      ductDiameterMm: uint,
    }),
  }),
  fc.record({
    kind: fc.constant("electricity" as const),
    m: fc.record({ energyWh: uint, renewableWh: uint }, { requiredKeys: ["energyWh"] }),
  }),
  fc.record({ kind: fc.constant("fuel" as const), m: fuelQuantity }),
  fc.record({
    kind: fc.constant("manual" as const),
    m: fuelQuantity.chain((q) =>
      fc.stringMatching(/^[0-9a-f]{64}$/).map((evidenceSha256) => ({ ...q, evidenceSha256 })),
    ),
  }),
);
const reading = fc
  .record({ deviceId: id, facilityId: id, seq: uint, ts: uint, intervalS: fc.integer({ min: 1, max: 10 ** 9 }) })
  .chain((base) => measurement.map((k) => ({ v: 1, ...base, ...k }) as Reading));

test("envelopeToCsvRow then csvRowToEnvelope (through CSV text) gives back the reading, byte for byte", () => {
  fc.assert(
    fc.property(reading, fc.option(fc.string({ minLength: 1, maxLength: 128 }), { nil: undefined }), (r, keyId) => {
      const envelope = { reading: r, sig: `0x${"1".repeat(128)}`, ...(keyId === undefined ? {} : { keyId }) };
      const text = `${formatCsvRecord(HEADER)}\n${formatCsvRecord(envelopeToCsvRow(HEADER, envelope))}\n`;
      const [header, row] = parseCsvRecords(text);
      const back = csvRowToEnvelope(header!.cells, row!.cells) as { reading: Reading; keyId?: string };
      assert.equal(readingDigestHex(back.reading), readingDigestHex(r));
      // a keyId of only spaces is an empty cell: the mapping trims cells
      if (keyId !== undefined && keyId.trim() !== "") assert.equal(back.keyId, keyId.trim());
    }),
  );
});

test("signCsv signs what the mapping reads back: every row verifies under the key", () => {
  const key = generateDeviceKey();
  fc.assert(
    fc.property(fc.array(reading, { minLength: 1, maxLength: 5 }), (readings) => {
      const columns = [...CSV_READING_COLUMNS, ...CSV_MEASUREMENT_COLUMNS]; // no sig column: signCsv adds it
      const text = [columns, ...readings.map((r) => envelopeToCsvRow(columns, { reading: r }))]
        .map(formatCsvRecord)
        .join("\n");
      const { csv, signed } = signCsv(text, key.secretKey);
      assert.equal(signed, readings.length);
      const [header, ...rows] = parseCsvRecords(csv);
      rows.forEach((row, i) => {
        const envelope = parseEnvelope(csvRowToEnvelope(header!.cells, row.cells));
        assert.equal(envelope.sig, signReading(readings[i]!, key.secretKey).sig);
        assert.ok(verifyEnvelope(envelope, key.publicKey));
      });
    }),
    { numRuns: 30 },
  );
});

test("signCsv refuses a file without a header, with a repeated or missing column, and an over-long keyId", () => {
  const { secretKey } = generateDeviceKey();
  assert.throws(() => signCsv("\n\n", secretKey), { code: "INVALID_CSV", message: /The CSV is empty/ });
  assert.throws(() => signCsv("deviceId,facilityId,seq,ts,intervalS,kind,seq\n", secretKey), {
    code: "INVALID_CSV",
    message: /column "seq" appears twice \(columns 3 and 7\)/,
  });
  assert.throws(() => signCsv("deviceId,seq,ts,intervalS,kind,energyWh\n", secretKey), {
    code: "INVALID_CSV",
    message: /no column facilityId/,
  });
  assert.throws(() => signCsv("deviceId,facilityId,seq,ts,intervalS,kind\n", secretKey, { keyId: "k".repeat(129) }), {
    code: "INVALID_READING",
  });
});

test("signCsv reports progress every progressEvery rows; envelopeToCsvRow refuses to drop a field", () => {
  const { secretKey } = generateDeviceKey();
  const rows = [1, 2, 3, 4, 5].map((seq) => `d1,f1,${seq},1763900000,5,electricity,${seq * 10}`);
  const calls: [number, number][] = [];
  const { signed } = signCsv(["deviceId,facilityId,seq,ts,intervalS,kind,energyWh", ...rows].join("\n"), secretKey, {
    progressEvery: 2,
    onProgress: (done, total) => calls.push([done, total]),
  });
  assert.equal(signed, 5);
  assert.deepEqual(calls, [
    [2, 5],
    [4, 5],
  ]);
  const r: Reading = {
    v: 1,
    deviceId: "d1",
    facilityId: "f1",
    seq: 1,
    ts: 1,
    intervalS: 5,
    kind: "electricity",
    m: { energyWh: 1, renewableWh: 1 },
  };
  assert.throws(
    () => envelopeToCsvRow(["deviceId", "facilityId", "seq", "ts", "intervalS", "kind", "energyWh"], { reading: r }),
    {
      code: "INVALID_CSV",
      message: /no column for renewableWh/,
    },
  );
});

/** What `parseCsvRecords` gives for `text`: its records, or its error's message. */
function whole(text: string) {
  try {
    return { records: parseCsvRecords(text) };
  } catch (error) {
    return { error: (error as Error).message };
  }
}

/** The same, read by `readCsvRecords` from `pieces` (text, or UTF-8 bytes cut anywhere). */
async function streamed(pieces: (string | Uint8Array)[]) {
  const records = [];
  try {
    for await (const r of readCsvRecords(pieces)) records.push(r);
    return { records };
  } catch (error) {
    assert.equal((error as { code?: string }).code, "INVALID_CSV");
    return { error: (error as Error).message };
  }
}

/** `text` cut at `cuts` (positions, any order, repeats give empty pieces). */
function cut<T extends string | Uint8Array>(text: T, cuts: number[]): T[] {
  const at = [0, ...cuts.map((c) => c % (text.length + 1)).sort((a, b) => a - b), text.length];
  return at.slice(1).map((end, k) => text.slice(at[k], end) as T);
}

const FIXTURES = {
  // sdk/src/factors/epaSupplyChain.test.ts: BOM, blank line, a quoted line break, CRLF, an all-empty row, CR
  known: '\ufeffh1,h2\n\n"multi\nline",x\r\n,,\rlast,1',
  epa: readFileSync(
    fileURLToPath(new URL("../../test-fixtures/epa-supply-chain-FIXTURE.csv", import.meta.url)),
    "utf8",
  ),
  quoted: 'a,"b,c","d ""e"""\r\n1,"two\r\nlines",3\r\n"",x,"\r"\r\n',
  unclosed: 'a,b\n1,"open\n2,3\n',
  quoteInside: 'a,b\n1,2\nx"y,3',
  textAfterQuote: 'a,b\n"x"y,3',
};

test("readCsvRecords yields what parseCsvRecords gives for the fixtures, in pieces of 1, 2, 3 and 7 characters or bytes", async () => {
  for (const [name, text] of Object.entries(FIXTURES)) {
    const expected = whole(text);
    assert.ok(name.startsWith("known") || name === "epa" || name === "quoted" ? expected.records : expected.error);
    assert.deepEqual(await streamed([text]), expected, name);
    const bytes = new TextEncoder().encode(text);
    for (const size of [1, 2, 3, 7]) {
      const cuts = Array.from({ length: Math.ceil(text.length / size) }, (_, k) => k * size);
      assert.deepEqual(await streamed(cut(text, cuts)), expected, `${name} in ${size}-character pieces`);
      const byteCuts = Array.from({ length: Math.ceil(bytes.length / size) }, (_, k) => k * size);
      assert.deepEqual(await streamed(cut(bytes, byteCuts)), expected, `${name} in ${size}-byte pieces`);
    }
  }
  assert.deepEqual((await streamed([FIXTURES.known])).records, [
    { line: 1, cells: ["h1", "h2"] },
    { line: 3, cells: ["multi\nline", "x"] },
    { line: 6, cells: ["last", "1"] },
  ]);
});

test("readCsvRecords equals parseCsvRecords on any text cut anywhere (records, lines and errors)", async () => {
  const char = fc.constantFrom("a", "b", " ", ",", '"', '""', "\r", "\n", "\r\n", "\ufeff", "é", "😀");
  await fc.assert(
    fc.asyncProperty(
      fc.array(char, { maxLength: 60 }).map((cs) => cs.join("")),
      fc.array(fc.nat(), { maxLength: 8 }),
      fc.boolean(),
      async (text, cuts, asBytes) => {
        const pieces = asBytes ? cut(new TextEncoder().encode(text), cuts) : cut(text, cuts);
        assert.deepEqual(await streamed(pieces), whole(text));
      },
    ),
    { numRuns: 2000 },
  );
});

test("CsvRecordParser notes a BOM and the first line break outside quotes", () => {
  const p = new CsvRecordParser();
  assert.deepEqual(p.push('\ufeffa,"x\n'), []);
  assert.equal(p.bom, true);
  assert.equal(p.eol, null, "the quoted line break is not the file's");
  assert.deepEqual(p.push('y"\r'), []);
  assert.deepEqual(p.push("\nb,c"), [{ line: 1, cells: ["a", "x\ny"] }]);
  assert.equal(p.eol, "\r\n");
  assert.deepEqual(p.end(), [{ line: 3, cells: ["b", "c"] }]);
  const plain = new CsvRecordParser();
  plain.push("a\nb\r\n");
  assert.equal(plain.bom, false);
  assert.equal(plain.eol, "\n");
});
