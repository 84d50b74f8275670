import { test, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseConfig } from "../src/config/load.ts";
import { deviceFileJson } from "../src/devices/directory.ts";
import { importCsv } from "../src/ingest/csv.ts";
import { SqliteStorage } from "../src/storage/sqlite.ts";
import { deviceInfo, electricity, makeDevice, quietLogger, sdkCalculator, type TestDevice } from "./fixtures.ts";
import { tempDir } from "./helpers.ts";

const tmp = tempDir();
after(() => tmp.cleanup());

/** `importCsv` into a node whose data dir is `dir`, with `devices` registered in its device file. */
function importInto(dir: string, devices: TestDevice[], csv: string) {
  writeFileSync(join(dir, "devices.json"), deviceFileJson(devices.map((d) => deviceInfo(d))));
  const config = parseConfig({
    dataDir: dir,
    devices: { source: "file", file: join(dir, "devices.json") },
    storage: { synchronous: "NORMAL" },
  });
  return importCsv({ config, logger: quietLogger(), calculator: sdkCalculator(), csv });
}

test("imports signed rows and reports each rejected row with its reason", async () => {
  const meter = makeDevice("kangaita-meter-1");
  const ts = Math.floor(Date.now() / 1000) - 3600;
  const rows = [electricity(meter, { ts }), electricity(meter, { ts: ts + 5 }), electricity(meter, { ts: ts + 10 })];
  rows[2] = { ...rows[2]!, sig: rows[1]!.sig }; // forged
  const header = "deviceId,facilityId,seq,ts,intervalS,kind,energyWh,sig";
  const line = (e: (typeof rows)[number]) =>
    [
      e.reading.deviceId,
      e.reading.facilityId,
      e.reading.seq,
      e.reading.ts,
      e.reading.intervalS,
      e.reading.kind,
      (e.reading.m as { energyWh: number }).energyWh,
      e.sig,
    ].join(",");
  const csv = [
    header,
    ...rows.map(line),
    line(rows[0]!),
    "kangaita-meter-1,ktda-kangaita,99,x,5,electricity,1,0x00",
  ].join("\n");
  const report = await importInto(tmp.dir, [meter], csv);
  assert.deepEqual(
    report.rows.map((r) => [r.row, r.status, r.reason ?? null]),
    [
      [2, "stored", null],
      [3, "stored", null],
      [4, "rejected", "bad-signature"],
      [5, "rejected", "replay"],
      [6, "rejected", "schema"],
    ],
  );
  assert.equal(report.stored, 2);
  const s = new SqliteStorage(join(tmp.dir, "oracle.db"));
  assert.equal(s.listReadings({ limit: 10 }).length, 2);
  assert.equal(s.listReadings({ limit: 10 })[0]!.source, "csv");
  s.close();
});

test("a spreadsheet's export (BOM, CRLF, blank and empty rows, an extra cell): each row reported at its line", async () => {
  const dir = tempDir();
  try {
    const meter = makeDevice("kangaita-meter-1");
    const ts = Math.floor(Date.now() / 1000) - 3600;
    const [a, b] = [electricity(meter, { ts }), electricity(meter, { ts: ts + 5 })];
    const line = (e: typeof a, extra = "") =>
      `${e.reading.deviceId},${e.reading.facilityId},${e.reading.seq},${e.reading.ts},5,electricity,${(e.reading.m as { energyWh: number }).energyWh},${e.sig}${extra}`;
    const csv = [
      "\ufeffdeviceId,facilityId,seq,ts,intervalS,kind,energyWh,sig", // line 1, with the BOM Excel writes
      "",
      line(a), // line 3
      ",,,,,,,", // an empty row: skipped
      line(b, ",surplus"), // line 5: a cell past the header's columns
      line(b), // line 6
    ].join("\r\n");
    const report = await importInto(dir.dir, [meter], csv);
    assert.deepEqual(
      report.rows.map((r) => [r.row, r.status, r.reason ?? null]),
      [
        [3, "stored", null],
        [5, "rejected", "malformed"],
        [6, "stored", null],
      ],
    );
    assert.equal(report.rows[1]!.detail, "9 cells, but the header names 8 columns");
    const s = new SqliteStorage(join(dir.dir, "oracle.db"));
    const dead = s.listDeadLetters({ limit: 5 });
    assert.equal(dead.length, 1, "the refused row is on record with its text");
    assert.ok(dead[0]!.payload.endsWith(",surplus"));
    s.close();
  } finally {
    dir.cleanup();
  }
});

test("a file that is not CSV (a quote never closed) is refused with its line, and nothing of it is stored", async () => {
  const dir = tempDir();
  try {
    const meter = makeDevice("kangaita-meter-1");
    const e = electricity(meter, { ts: Math.floor(Date.now() / 1000) - 3600 });
    const csv = [
      "deviceId,facilityId,seq,ts,intervalS,kind,energyWh,sig",
      `${e.reading.deviceId},${e.reading.facilityId},${e.reading.seq},${e.reading.ts},5,electricity,1,${e.sig}`,
      `"kangaita-meter-1,ktda-kangaita,2,${e.reading.ts},5,electricity,1,0x00`,
      `${e.reading.deviceId},${e.reading.facilityId},3,${e.reading.ts},5,electricity,1,${e.sig}`,
    ].join("\n");
    await assert.rejects(importInto(dir.dir, [meter], csv), {
      code: "INVALID_CSV",
      message: /line 3: a quoted field opened on this line is never closed/,
    });
    assert.equal(existsSync(join(dir.dir, "oracle.db")), false, "no database was even opened");
  } finally {
    dir.cleanup();
  }
});
