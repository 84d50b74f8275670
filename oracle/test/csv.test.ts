import { test, after } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseConfig } from "../src/config/load.ts";
import { deviceFileJson } from "../src/devices/directory.ts";
import { importCsv, parseCsv } from "../src/ingest/csv.ts";
import { SqliteStorage } from "../src/storage/sqlite.ts";
import { deviceInfo, electricity, makeDevice, quietLogger, sdkCalculator } from "./fixtures.ts";
import { tempDir } from "./helpers.ts";

const tmp = tempDir();
after(() => tmp.cleanup());

test("parses RFC 4180 quoting", () => {
  assert.deepEqual(parseCsv('a,b\r\n"x, y","say ""hi"""\n'), [
    ["a", "b"],
    ["x, y", 'say "hi"'],
  ]);
});

test("imports signed rows and reports each rejected row with its reason", async () => {
  const meter = makeDevice("kangaita-meter-1");
  writeFileSync(join(tmp.dir, "devices.json"), deviceFileJson([deviceInfo(meter)]));
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
  const config = parseConfig({
    dataDir: tmp.dir,
    devices: { source: "file", file: join(tmp.dir, "devices.json") },
    storage: { synchronous: "NORMAL" },
  });
  const report = await importCsv({ config, logger: quietLogger(), calculator: sdkCalculator(), csv });
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
