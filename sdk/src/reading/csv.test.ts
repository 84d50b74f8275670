import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { parseCsvRecords } from "../factors/csv.ts";
import {
  CSV_ENVELOPE_COLUMNS,
  CSV_MEASUREMENT_COLUMNS,
  CSV_READING_COLUMNS,
  csvRowToEnvelope,
  envelopeToCsvRow,
  formatCsvRecord,
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
