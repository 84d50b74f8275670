import { test, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createPrivateKey, sign } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { canonicalBytes, readingDigestHex, secretKeyToPem, type Envelope } from "../../sdk/src/index.ts";
import { parseConfig } from "../src/config/load.ts";
import { deviceFileJson, type DeviceDirectory } from "../src/devices/directory.ts";
import { ImportStoppedError, importCsv, importCsvText, type ImportRow } from "../src/ingest/csv.ts";
import { SqliteStorage } from "../src/storage/sqlite.ts";
import { deviceInfo, electricity, makeDevice, quietLogger, sdkCalculator, type TestDevice } from "./fixtures.ts";
import { tempDir } from "./helpers.ts";

const tmp = tempDir();
after(() => tmp.cleanup());

/** An import's config: data dir `dir`, with `devices` registered in its device file. */
function importConfig(dir: string, devices: TestDevice[]) {
  writeFileSync(join(dir, "devices.json"), deviceFileJson(devices.map((d) => deviceInfo(d))));
  return parseConfig({
    dataDir: dir,
    devices: { source: "file", file: join(dir, "devices.json") },
    storage: { synchronous: "NORMAL" },
  });
}

/** `importCsvText` into a node whose data dir is `dir`, with `devices` registered in its device file. */
function importInto(dir: string, devices: TestDevice[], csv: string) {
  return importCsvText({ config: importConfig(dir, devices), logger: quietLogger(), calculator: sdkCalculator(), csv });
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

test("a header that does not name the reading's columns (a typo, a column twice, no sig) refuses the file before any row, saying what to fix", async () => {
  const dir = tempDir();
  try {
    const meter = makeDevice("kangaita-meter-1");
    const e = electricity(meter, { ts: Math.floor(Date.now() / 1000) - 3600 });
    const row = `${e.reading.deviceId},${e.reading.facilityId},${e.reading.seq},${e.reading.ts},5,electricity,120,${e.sig}`;
    const cases: [string, RegExp][] = [
      [
        "deviceId,facilityId,seq,ts,intervalS,kind,energyWH,sig",
        /^CSV header, column 7: "energyWH" is not a reading field; columns are .*energyWh/,
      ],
      [
        "deviceId,facilityId,seq,ts,intervalS,kind,energyWh,energyWh",
        /^CSV header: column "energyWh" appears twice \(columns 7 and 8\)/,
      ],
      ["deviceId,facilityId,seq,ts,intervalS,kind,energyWh", /^CSV header: no column sig; .*sign-csv/],
    ];
    for (const [header, message] of cases) {
      await assert.rejects(importInto(dir.dir, [meter], [header, row].join("\n")), { code: "INVALID_CSV", message });
      assert.equal(existsSync(join(dir.dir, "oracle.db")), false, "no database was even opened");
    }
  } finally {
    dir.cleanup();
  }
});

test("devices read from the chain without a DeviceRegistry address: refused before the file is read or a database opened, as the node refuses to start", async () => {
  const dir = tempDir();
  try {
    const config = parseConfig({ dataDir: dir.dir, devices: { source: "chain" } });
    await assert.rejects(
      importCsvText({ config, logger: quietLogger(), calculator: sdkCalculator(), csv: "not,read\n" }),
      /^Error: devices\.source = chain needs chain\.deviceRegistry \(the DeviceRegistry address\): set it, or use devices\.source = file$/,
    );
    assert.equal(existsSync(join(dir.dir, "oracle.db")), false);
  } finally {
    dir.cleanup();
  }
});

/** The sdk's `carbonproof` binary, run as `npx carbonproof` runs it. */
const SDK_CLI = fileURLToPath(new URL("../../sdk/src/cli/main.ts", import.meta.url));

test("rows signed by `carbonproof device sign-csv` are imported; a row changed after signing is a bad signature", async () => {
  const dir = tempDir();
  try {
    const manual = makeDevice("kangaita-manual");
    const keyFile = join(dir.dir, "manual.pem");
    writeFileSync(keyFile, secretKeyToPem(manual.secretKey), { mode: 0o600 });
    const day = 86_400;
    const ts = Math.floor(Date.now() / 1000 / day) * day - 4 * day;
    // an ERP export: the columns of every kind it holds, empty where a kind has no such field
    const erp = [
      "deviceId,facilityId,seq,ts,intervalS,kind,energyWh,fuel,massGrams,evidenceSha256",
      `kangaita-manual,ktda-kangaita,1,${ts},${day},electricity,120000,,,`,
      `kangaita-manual,ktda-kangaita,2,${ts + day},${day},fuel,,firewood,1000000,`,
      `kangaita-manual,ktda-kangaita,3,${ts + 2 * day},${day},manual,,diesel,2500,${"ab".repeat(32)}`,
      `kangaita-manual,ktda-kangaita,4,${ts + 3 * day},3600,electricity,500,,,`,
    ].join("\n");
    writeFileSync(join(dir.dir, "erp.csv"), erp);
    const signedFile = join(dir.dir, "signed.csv");
    const args = ["device", "sign-csv", "--key", keyFile, "--key-id", "manual-1", join(dir.dir, "erp.csv")];
    const signing = spawnSync(process.execPath, [SDK_CLI, ...args, "--out", signedFile], { encoding: "utf8" });
    assert.equal(signing.status, 0, signing.stderr);
    assert.match(signing.stderr, /signed 4 rows/);
    const lines = readFileSync(signedFile, "utf8").split("\n");
    assert.ok(lines[4]!.includes(",500,"));
    lines[4] = lines[4]!.replace(",500,", ",5000,"); // changed after signing
    const report = await importInto(dir.dir, [manual], lines.join("\n"));
    assert.deepEqual(
      report.rows.map((r) => [r.row, r.status, r.reason ?? null]),
      [
        [2, "stored", null],
        [3, "stored", null],
        [4, "stored", null],
        [5, "rejected", "bad-signature"],
      ],
    );
    const s = new SqliteStorage(join(dir.dir, "oracle.db"));
    assert.deepEqual(
      s
        .listReadings({ limit: 10 })
        .map((r) => [r.seq, r.kind])
        .sort(),
      [
        [1, "electricity"],
        [2, "fuel"],
        [3, "manual"],
      ],
    );
    s.close();
  } finally {
    dir.cleanup();
  }
});

const HEADER = "deviceId,facilityId,seq,ts,intervalS,kind,energyWh,sig";
const csvLine = (e: Envelope, sig = e.sig) =>
  `${e.reading.deviceId},${e.reading.facilityId},${e.reading.seq},${e.reading.ts},5,electricity,${(e.reading.m as { energyWh: number }).energyWh},${sig}`;

/** A second valid signature of the same reading (OpenSSL's random nonce, s made low as the sdk does). */
function otherSignature(d: TestDevice, e: Envelope): string {
  const raw = sign("sha256", canonicalBytes(e.reading), {
    key: createPrivateKey(secretKeyToPem(d.secretKey)),
    dsaEncoding: "ieee-p1363",
  });
  const n = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
  let s = BigInt(`0x${raw.subarray(32).toString("hex")}`);
  if (s > n / 2n) s = n - s;
  return `0x${raw.subarray(0, 32).toString("hex")}${s.toString(16).padStart(64, "0")}`;
}

test("an import run again reports the rows stored before as already stored, writes nothing for them, and stores the rest", async () => {
  const dir = tempDir();
  try {
    const meter = makeDevice("kangaita-meter-1");
    const config = importConfig(dir.dir, [meter]);
    const ts = Math.floor(Date.now() / 1000) - 3600;
    const [a, b, c] = [
      electricity(meter, { ts }),
      electricity(meter, { ts: ts + 5 }),
      electricity(meter, { ts: ts + 10 }),
    ];
    const first = [HEADER, csvLine(a), csvLine(b), csvLine(c, b.sig), csvLine(a)].join("\n");
    const run = (csv: string) => importCsvText({ config, logger: quietLogger(), calculator: sdkCalculator(), csv });
    const one = await run(first);
    assert.deepEqual(
      one.rows.map((r) => [r.row, r.status, r.reason ?? null]),
      [
        [2, "stored", null],
        [3, "stored", null],
        [4, "rejected", "bad-signature"],
        [5, "rejected", "replay"], // a repeat within one import is still the replay
      ],
    );
    const d = electricity(meter, { ts: ts + 15 });
    const again = `${first}\n${csvLine(d)}\n${csvLine(b, otherSignature(meter, b))}`;
    const two = await run(again);
    assert.deepEqual(
      two.rows.map((r) => [r.row, r.status, r.reason ?? null, r.digest ?? null]),
      [
        [2, "already-stored", null, readingDigestHex(a.reading)],
        [3, "already-stored", null, readingDigestHex(b.reading)],
        [4, "rejected", "bad-signature", null],
        [5, "already-stored", null, readingDigestHex(a.reading)],
        [6, "stored", null, readingDigestHex(d.reading)],
        // the same reading under another valid signature is not the row stored: a replay
        [7, "rejected", "replay", null],
      ],
    );
    assert.deepEqual([two.stored, two.alreadyStored, two.rejected], [1, 3, 2]);
    const s = new SqliteStorage(join(dir.dir, "oracle.db"));
    try {
      assert.equal(s.listReadings({ limit: 10 }).length, 3);
      assert.deepEqual(
        s
          .listDeadLetters({ limit: 10 })
          .map((x) => x.reason)
          .sort(),
        ["bad-signature", "bad-signature", "replay", "replay"],
        // the forged row is validated again and refused again: each refusal is on record
        "rows already stored leave no dead letter",
      );
    } finally {
      s.close();
    }
  } finally {
    dir.cleanup();
  }
});

test("a row that cannot be decided part-way through a chunk (the device registry out of reach): every row of the chunk is reported, the undecided ones with the error and no dead letter; the same import again decides them", async () => {
  const dir = tempDir();
  try {
    const meter = makeDevice("kangaita-meter-1");
    const unreachable = makeDevice("kangaita-meter-2");
    const config = importConfig(dir.dir, [meter, unreachable]);
    const ts = Math.floor(Date.now() / 1000) - 3600;
    const [a1, a2, a3, a4] = [0, 5, 10, 15].map((dt) => electricity(meter, { ts: ts + dt }));
    const [b1, b2] = [0, 5].map((dt) => electricity(unreachable, { ts: ts + dt }));
    const csv = [
      HEADER,
      ...[a1, b1, a2].map((e) => csvLine(e!)),
      csvLine(a3!, a2!.sig),
      csvLine(b2!),
      csvLine(a4!),
    ].join("\n");
    /** Readings and dead letters committed so far, read beside the import. */
    const committed = () => {
      const db = new DatabaseSync(join(dir.dir, "oracle.db"), { readOnly: true });
      try {
        const n = (table: string) => (db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
        return [n("readings"), n("dead_letters")];
      } finally {
        db.close();
      }
    };
    // meter-2's lookup fails only once meter-1's rows of the chunk are committed (three stored, one
    // dead-lettered): the failure comes part-way through the chunk, not before anything of it is stored
    const devices: DeviceDirectory = {
      async get(deviceId) {
        if (deviceId === meter.deviceId) return deviceInfo(meter);
        for (const deadline = Date.now() + 120_000; committed().join() !== "3,1"; await sleep(10))
          if (Date.now() > deadline) throw new Error(`meter-1's rows were not committed: ${committed().join()}`);
        throw new Error("fetch failed: connect ECONNREFUSED 127.0.0.1:8545");
      },
      invalidate() {},
    };
    const reports: ImportRow[] = [];
    await assert.rejects(
      importCsv({
        config,
        logger: quietLogger(),
        calculator: sdkCalculator(),
        source: () => [csv],
        devices,
        onRows: (r) => void reports.push(...r),
      }),
      (err: unknown) => {
        assert.ok(err instanceof ImportStoppedError);
        assert.equal(err.code, "IMPORT_FAILED");
        assert.match(
          err.message,
          /^the import stopped after 6 of 6 rows, 2 of them not decided \(reported with the error's code as reason, no dead letter\): could not look device kangaita-meter-2 up .*ECONNREFUSED.*; run the same import again/,
        );
        assert.equal((err.cause as { code?: string }).code, "DEVICE_LOOKUP_FAILED");
        assert.deepEqual(err.counts, { rows: 6, stored: 3, alreadyStored: 0, rejected: 3 });
        return true;
      },
    );
    assert.deepEqual(
      reports.map((r) => [r.row, r.status, r.reason ?? null]),
      [
        [2, "stored", null],
        [3, "rejected", "DEVICE_LOOKUP_FAILED"],
        [4, "stored", null],
        [5, "rejected", "bad-signature"],
        [6, "rejected", "DEVICE_LOOKUP_FAILED"],
        [7, "stored", null],
      ],
      "every row of the chunk, as it was decided",
    );
    assert.match(reports[1]!.detail!, /ECONNREFUSED.*: not stored, no dead letter: run the same import again/);
    assert.deepEqual(committed(), [3, 1], "the report is what was stored: no dead letter for the undecided rows");
    // the registry back (the device file): the rows stored are already stored, the undecided ones decided
    const again = await importCsvText({ config, logger: quietLogger(), calculator: sdkCalculator(), csv });
    assert.deepEqual(
      again.rows.map((r) => [r.row, r.status, r.reason ?? null]),
      [
        [2, "already-stored", null],
        [3, "stored", null],
        [4, "already-stored", null],
        [5, "rejected", "bad-signature"],
        [6, "stored", null],
        [7, "already-stored", null],
      ],
    );
    // validated again, the forged row is refused again and that refusal is on record too
    assert.deepEqual(committed(), [5, 2]);
  } finally {
    dir.cleanup();
  }
});

/** How many readings the node whose data dir is `dir` has stored. */
function storedReadings(dir: string): number {
  const s = new SqliteStorage(join(dir, "oracle.db"));
  try {
    return s.listReadings({ limit: 1_000_000 }).length;
  } finally {
    s.close();
  }
}

test("a file that changes between the two passes stops the import with FILE_CHANGED and the counts so far; the same import again goes on", async () => {
  const dir = tempDir();
  try {
    const meter = makeDevice("kangaita-meter-1");
    const config = importConfig(dir.dir, [meter]);
    const ts = Math.floor(Date.now() / 1000) - 86_400;
    const rows = Array.from({ length: 1_001 }, (_, i) => csvLine(electricity(meter, { ts: ts + 5 * i })));
    const file = [HEADER, ...rows].join("\n");
    /** `importCsv` whose first pass reads `checked` and second the pieces of `read`. */
    const importing = (checked: string, read: () => Iterable<string> | AsyncIterable<string>) => {
      let pass = 0;
      const reports: ImportRow[] = [];
      const done = importCsv({
        config,
        logger: quietLogger(),
        calculator: sdkCalculator(),
        source: () => (pass++ === 0 ? [checked] : read()),
        onRows: (r) => void reports.push(...r),
      });
      return { done, reports };
    };
    const stored = () => storedReadings(dir.dir);
    // longer the second time: stopped as soon as the extra bytes are read, the first chunk stored
    const longer = importing(file, () => [file, `\n${csvLine(electricity(meter, { ts: ts - 5 }))}`]);
    await assert.rejects(longer.done, (err: unknown) => {
      assert.ok(err instanceof ImportStoppedError);
      assert.equal(err.code, "FILE_CHANGED");
      assert.match(err.message, new RegExp(`more than the ${Buffer.byteLength(file)} bytes checked`));
      assert.match(err.message, /import the finished file again/);
      assert.deepEqual(err.counts, { rows: 1_000, stored: 1_000, alreadyStored: 0, rejected: 0 });
      return true;
    });
    assert.equal(longer.reports.length, 1_000, "the chunk stored was reported");
    assert.equal(stored(), 1_000);
    // the same length, one digit changed in the last row: its chunk is not stored
    const lastEnergy = file.lastIndexOf(",120,");
    const edited = `${file.slice(0, lastEnergy)},121,${file.slice(lastEnergy + 5)}`;
    const same = importing(file, () => [edited]);
    await assert.rejects(same.done, { code: "FILE_CHANGED", message: /the same length, other bytes/ });
    assert.deepEqual(
      new Set(same.reports.map((r) => r.status)),
      new Set(["already-stored"]),
      "the first 1,000 rows again",
    );
    assert.equal(stored(), 1_000, "the changed last row was not stored");
    // a read that fails half-way: IMPORT_FAILED with what was decided, then the unchanged file completes
    const failing = importing(file, async function* () {
      yield file.slice(0, file.length >> 1);
      throw Object.assign(new Error("EIO: i/o error, read"), { code: "EIO" });
    });
    await assert.rejects(failing.done, (err: unknown) => {
      assert.ok(err instanceof ImportStoppedError);
      assert.equal(err.code, "IMPORT_FAILED");
      assert.match(err.message, /the import stopped after 0 of 1001 rows: EIO: i\/o error, read/);
      assert.equal((err.cause as { code?: string }).code, "EIO");
      return true;
    });
    const whole = importing(file, () => [file]);
    assert.deepEqual(await whole.done, { rows: 1_001, stored: 1, alreadyStored: 1_000, rejected: 0 });
    assert.equal(whole.reports.at(-1)!.status, "stored");
    assert.equal(stored(), 1_001);
  } finally {
    dir.cleanup();
  }
});

test("an aborted signal stops the import between chunks with INTERRUPTED and the counts so far; the same import again goes on", async () => {
  const dir = tempDir();
  try {
    const meter = makeDevice("kangaita-meter-1");
    const config = importConfig(dir.dir, [meter]);
    const ts = Math.floor(Date.now() / 1000) - 86_400;
    const file = [
      HEADER,
      ...Array.from({ length: 2_500 }, (_, i) => csvLine(electricity(meter, { ts: ts + 5 * i }))),
    ].join("\n");
    const stored = () => storedReadings(dir.dir);
    // aborted before the import began: stopped in the check pass, nothing stored (no database made)
    const before = new AbortController();
    before.abort();
    await assert.rejects(
      importCsv({
        config,
        logger: quietLogger(),
        calculator: sdkCalculator(),
        source: () => [file],
        signal: before.signal,
      }),
      (err: unknown) => {
        assert.ok(err instanceof ImportStoppedError);
        assert.equal(err.code, "INTERRUPTED");
        assert.match(err.message, /interrupted while the file was checked \(0 rows read\): nothing was stored/);
        assert.deepEqual(err.counts, { rows: 0, stored: 0, alreadyStored: 0, rejected: 0 });
        return true;
      },
    );
    assert.equal(existsSync(join(dir.dir, "oracle.db")), false, "the check pass opens no database");
    // aborted while the first chunk is stored: that chunk completes, reported whole; the next is not begun
    const during = new AbortController();
    const reports: ImportRow[] = [];
    await assert.rejects(
      importCsv({
        config,
        logger: quietLogger(),
        calculator: sdkCalculator(),
        source: () => [file],
        signal: during.signal,
        onChecked: () => setImmediate(() => during.abort()),
        onRows: (r) => void reports.push(...r),
      }),
      (err: unknown) => {
        assert.ok(err instanceof ImportStoppedError);
        assert.equal(err.code, "INTERRUPTED");
        assert.match(err.message, /interrupted after 1000 of 2500 rows; the rows decided stay as reported/);
        assert.deepEqual(err.counts, { rows: 1_000, stored: 1_000, alreadyStored: 0, rejected: 0 });
        return true;
      },
    );
    assert.equal(reports.length, 1_000);
    assert.equal(stored(), 1_000, "exactly the chunk reported was stored");
    // run again: the 1,000 are already stored, the rest stored
    assert.deepEqual(
      await importCsv({ config, logger: quietLogger(), calculator: sdkCalculator(), source: () => [file] }),
      { rows: 2_500, stored: 1_500, alreadyStored: 1_000, rejected: 0 },
    );
    assert.equal(stored(), 2_500);
  } finally {
    dir.cleanup();
  }
});
