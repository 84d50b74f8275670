import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { createPublicKey, verify as nodeVerify } from "node:crypto";
import {
  closeSync,
  createReadStream,
  mkdtempSync,
  openSync,
  readFileSync,
  readdirSync,
  statSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { once } from "node:events";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { bundleCid, decodeBundle, encodeBundle } from "../bundle/bundle.ts";
import { canonicalBytes } from "../reading/canonical.ts";
import { csvRowToEnvelope, readCsvRecords } from "../reading/csv.ts";
import { parseCsvRecords } from "../factors/csv.ts";
import { parseEnvelope } from "../reading/parse.ts";
import { verifyEnvelope, publicKeyFromPem } from "../reading/sign.ts";
import { protocolExampleReading } from "../test/fixtures.ts";
import { deviceCommand } from "./commands/device.ts";
import type { Io } from "./io.ts";

const MAIN = fileURLToPath(new URL("./main.ts", import.meta.url));
const FIXTURE_CSV = fileURLToPath(new URL("../../test-fixtures/epa-supply-chain-FIXTURE.csv", import.meta.url));

/** Runs the real binary: node on main.ts, as `npx carbonproof` does. */
function cli(args: string[], input?: string) {
  const r = spawnSync(process.execPath, [MAIN, ...args], { input, encoding: "utf8" });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const tmp = () => mkdtempSync(join(tmpdir(), "carbonproof-cli-"));

test("every command has --help", () => {
  for (const args of [
    ["--help"],
    ["emissions", "--help"],
    ["device", "--help"],
    ["device", "keygen", "--help"],
    ["device", "sign", "--help"],
    ["device", "sign-csv", "--help"],
    ["device", "verify", "--help"],
    ["factors", "--help"],
    ["factors", "import", "--help"],
    ["factors", "show", "--help"],
    ["verify", "--help"],
    ["bundle", "--help"],
    ["bundle", "build", "--help"],
    ["bundle", "cid", "--help"],
    ["bundle", "check", "--help"],
  ]) {
    const r = cli(args);
    assert.equal(r.code, 0, args.join(" "));
    assert.match(r.stdout, /Usage: carbonproof/, args.join(" "));
  }
});

test("emissions --json: the flue-gas known answer and IPCC diesel, from stdin", () => {
  const input = JSON.stringify([
    {
      kind: "flue-gas",
      co2Ppm: 41000,
      velocityMmS: 6200,
      tempCentiC: 18550,
      pressurePa: 101325,
      ductDiameterMm: 600,
      durationS: 5,
    },
    { kind: "fuel", fuel: "diesel", massKg: 1000 },
    { kind: "electricity", energyWh: 2000, gridGramsPerKwh: 100.5 },
    { kind: "fuel", fuel: "firewood", energyGj: 15.6 },
  ]);
  const r = cli(["emissions", "--json", "-"], input);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.equal(out.length, 4);
  assert.equal(out[0].co2eGrams, 420.228);
  assert.equal(out[1].fossilCo2Grams, 3186300);
  assert.equal(out[1].ch4Grams, 129);
  assert.equal(out[1].n2oGrams, 25.8);
  assert.equal(out[1].co2eGrams, 3197187.6);
  assert.equal(out[2].co2eGrams, 201);
  assert.equal(out[2].fossilCo2Grams, null);
  // 15.6 GJ of wood = 1000 kg at NCV 15.6: CO2 1747.2 kg biogenic
  assert.equal(out[3].biogenicCo2Grams, 1747200);
  for (const o of out) {
    assert.match(o.factorSetId, /^0x[0-9a-f]{64}$/);
    assert.ok(o.citations.length > 0);
  }
});

test("emissions: bad input exits 2 naming record index, field and expectation, nothing on stdout", () => {
  const cases: [unknown, RegExp][] = [
    [[{ kind: "steam" }], /record 0: field "kind": expected one of/],
    [
      [
        { kind: "fuel", fuel: "diesel", massKg: 1 },
        { kind: "fuel", fuel: "unobtainium", massKg: 1 },
      ],
      /record 1: field "fuel": Unknown fuel/,
    ],
    [[{ kind: "fuel", fuel: "diesel", massKg: -5 }], /record 0: field "massKg": expected a number ≥ 0/],
    [[{ kind: "fuel", fuel: "diesel", massKg: "5" }], /record 0: field "massKg": expected a number/],
    [
      [
        {
          kind: "flue-gas",
          co2Ppm: 41000.5,
          velocityMmS: 1,
          tempCentiC: 1,
          pressurePa: 1,
          ductDiameterMm: 1,
          durationS: 1,
        },
      ],
      /record 0: field "co2Ppm": expected an integer/,
    ],
    [
      [{ kind: "flue-gas", co2Ppm: 1, velocityMmS: 1, tempCentiC: 1, pressurePa: 1, ductDiameterMm: 1 }],
      /record 0: field "durationS": missing/,
    ],
    [
      [{ kind: "electricity", energyWh: 1, country: "KEN", year: 2024.5 }],
      /record 0: field "year": expected an integer year/,
    ],
    [[{ kind: "electricity", energyWh: 1, country: "XXX", year: 2024 }], /record 0: field "country": No grid factor/],
    [
      [{ kind: "spend", category: "111111", amount: 10, currency: "USD" }],
      /record 0: field "category": no spend factors/,
    ],
    [[{ kind: "fuel", fuel: "diesel", litres: 10 }], /record 0: field "litres": No density for fuel "diesel"/],
    [[{ kind: "fuel", fuel: "diesel", litres: 10, densityKgPerM3: 840 }], /record 0: field "densitySource": expected/],
    [{ kind: "fuel" }, /expected a JSON array/],
  ];
  for (const [input, message] of cases) {
    const r = cli(["emissions", "--json"], JSON.stringify(input));
    assert.equal(r.code, 2, JSON.stringify(input));
    assert.equal(r.stdout, "", JSON.stringify(input));
    assert.match(r.stderr, message);
  }
  const notJson = cli(["emissions"], "[{");
  assert.equal(notJson.code, 2);
  assert.equal(notJson.stdout, "");
});

test("device keygen (0600), sign, verify; node:crypto reads the key and checks the signature", () => {
  const dir = tmp();
  const key = join(dir, "device.pem");
  const pub = join(dir, "device.pub.pem");
  const gen = cli(["device", "keygen", "--out", key, "--pub", pub, "--json"]);
  assert.equal(gen.code, 0, gen.stderr);
  assert.equal(statSync(key).mode & 0o777, 0o600);
  assert.equal(cli(["device", "keygen", "--out", key]).code, 2, "refuses to overwrite");
  const info = JSON.parse(gen.stdout);
  assert.match(info.x, /^0x[0-9a-f]{64}$/);

  const readingFile = join(dir, "reading.json");
  writeFileSync(readingFile, JSON.stringify(protocolExampleReading));
  const signed = cli(["device", "sign", "--key", key, "--key-id", "k1", readingFile]);
  assert.equal(signed.code, 0, signed.stderr);
  const envelope = JSON.parse(signed.stdout);
  assert.equal(envelope.keyId, "k1");
  assert.equal(
    nodeVerify(
      "sha256",
      canonicalBytes(protocolExampleReading),
      { key: createPublicKey(readFileSync(pub)), dsaEncoding: "ieee-p1363" },
      Buffer.from(envelope.sig.slice(2), "hex"),
    ),
    true,
  );
  const envFile = join(dir, "envelope.json");
  writeFileSync(envFile, signed.stdout);
  const ok = cli(["device", "verify", envFile, "--pub", pub]);
  assert.equal(ok.code, 0);
  assert.match(ok.stdout, /^PASS signature/);
  assert.equal(cli(["device", "verify", envFile, "--x", info.x, "--y", info.y]).code, 0);

  const tampered = { ...envelope, reading: { ...envelope.reading, seq: 43 } };
  const bad = cli(["device", "verify", "-", "--key", key], JSON.stringify(tampered));
  assert.equal(bad.code, 1);
  assert.match(bad.stdout, /^FAIL signature/);

  const invalid = cli(["device", "sign", "--key", key, "-"], JSON.stringify({ ...protocolExampleReading, seq: 1.5 }));
  assert.equal(invalid.code, 2);
  assert.match(invalid.stderr, /seq/);
});

test("factors import (EPA columns, FIXTURE csv) then emissions --factors computes spend; show prints the id", () => {
  const dir = tmp();
  const out = join(dir, "factors.json");
  const imported = cli(["factors", "import", FIXTURE_CSV, "--out", out]);
  assert.equal(imported.code, 0, imported.stderr);
  const set = JSON.parse(readFileSync(out, "utf8"));
  assert.match(set.id, /^0x[0-9a-f]{64}$/);
  const r = cli(
    ["emissions", "--json", "--factors", out],
    JSON.stringify([{ kind: "spend", category: "222222", amount: 1000, currency: "USD" }]),
  );
  assert.equal(r.code, 0, r.stderr);
  const [res] = JSON.parse(r.stdout);
  // FIXTURE factor 0.500 kg/USD × 1000 USD = 500 kg
  assert.equal(res.co2eGrams, 500000);
  assert.equal(res.factorSetId, set.id);
  const show = cli(["factors", "show", "--factors", out]);
  assert.equal(show.code, 0);
  assert.match(show.stdout, new RegExp(`id +${set.id}`));
  assert.match(show.stdout, /spend +3 categories/);
  const builtin = cli(["factors", "show", "--json", "--gwp", "AR5"]);
  assert.equal(JSON.parse(builtin.stdout).content.gwp.ch4Fossil, "28");
});

test("unknown commands and options exit 2", () => {
  assert.equal(cli(["frobnicate"]).code, 2);
  assert.equal(cli(["emissions", "--nope"], "[]").code, 2);
  assert.equal(cli([]).code, 2);
});

test("bundle build → cid → check: same CID as the sdk, offline checks pass, tampering fails", () => {
  const dir = tmp();
  const key = join(dir, "device.pem");
  const pub = join(dir, "device.pub.pem");
  assert.equal(cli(["device", "keygen", "--out", key, "--pub", pub]).code, 0);
  const envelopes = [0, 1, 2].map((i) => {
    const reading = { ...protocolExampleReading, seq: 42 + i, ts: protocolExampleReading.ts + 5 * i };
    const r = cli(["device", "sign", "--key", key, "-"], JSON.stringify(reading));
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout);
  });
  const envFile = join(dir, "envelopes.json");
  writeFileSync(envFile, JSON.stringify(envelopes));
  const context = join(dir, "context.json");
  writeFileSync(context, JSON.stringify({ flueGasBiogenicShareBp: 10000 }));
  const out = join(dir, "bundle.json");
  const args = ["bundle", "build", "--facility", "ktda-kangaita", "--start", "1763900000", "--end", "1763903600"];
  const built = cli([...args, "--context", context, "--out", out, envFile]);
  assert.equal(built.code, 0, built.stderr);
  const cid = /CID (\S+)/.exec(built.stdout)![1]!;
  const bytes = readFileSync(out);
  assert.equal(cid, bundleCid(new Uint8Array(bytes)));
  assert.equal(decodeBundle(new Uint8Array(bytes)).totals.biogenicCo2Grams, "1260"); // 3 × 420228 mg, floored once

  const shown = cli(["bundle", "cid", out]);
  assert.equal(shown.stdout.trim(), cid);
  assert.match(shown.stderr, /canonical bundle format 1/);

  const checked = cli(["bundle", "check", out, "--pub", `kangaita-chimney-1=${pub}`]);
  assert.equal(checked.code, 0, checked.stdout);
  assert.match(checked.stdout, /^PASS device signatures/m);

  const tampered = JSON.parse(bytes.toString("utf8"));
  tampered.readings[0].result.biogenicCo2Mg = "1";
  const bad = join(dir, "bad.json");
  writeFileSync(bad, encodeBundle(tampered));
  const failed = cli(["bundle", "check", bad]);
  assert.equal(failed.code, 1);
  assert.match(failed.stdout, /^FAIL per-reading emissions recomputed/m);

  const outside = cli([...args.slice(0, 6), "--end", "1763900001", envFile]);
  assert.equal(outside.code, 2);
  assert.match(outside.stderr, /outside/);
});

test("emissions: litres with a cited density convert through mass (10 L × 840 kg/m³ = 8.4 kg diesel)", () => {
  const input = [
    { kind: "fuel", fuel: "diesel", litres: 10, densityKgPerM3: 840, densitySource: "supplier datasheet" },
  ];
  const r = cli(["emissions", "--json"], JSON.stringify(input));
  assert.equal(r.code, 0, r.stderr);
  const [out] = JSON.parse(r.stdout);
  // 8400 g × 43.0 kJ/g = 361,200 kJ; × 74100 kg/TJ / 1000 = 26,764,920 mg CO2
  assert.equal(out.fossilCo2Grams, 26764.92);
  assert.ok(out.citations.some((c: string) => c.includes("density 840 kg/m³: supplier datasheet")));
});

/** A CSV of one reading of each kind, unsigned, as an ERP export might give them. */
const UNSIGNED_CSV = [
  "deviceId,facilityId,seq,ts,intervalS,kind,co2Ppm,tempCentiC,velocityMmS,pressurePa,ductDiameterMm,energyWh,fuel,massGrams,evidenceSha256",
  "kangaita-manual,ktda-kangaita,1,1763900000,5,flue-gas,41000,18550,6200,101325,600,,,,",
  "kangaita-manual,ktda-kangaita,2,1763900005,3600,electricity,,,,,,120000,,,",
  "kangaita-manual,ktda-kangaita,3,1763903605,86400,fuel,,,,,,,firewood,1000000,",
  `kangaita-manual,ktda-kangaita,4,1763990005,86400,manual,,,,,,,diesel,2500,${"ab".repeat(32)}`,
].join("\n");

/** The envelopes of a signed CSV, read back with the mapping the oracle's import uses. */
function envelopesOf(csv: string) {
  const [header, ...rows] = parseCsvRecords(csv);
  const names = header!.cells.map((c) => c.trim());
  return { names, envelopes: rows.map((r) => parseEnvelope(csvRowToEnvelope(names, r.cells))) };
}

test("device sign-csv signs every row as device sign signs its reading; --key-id fills a keyId column", () => {
  const dir = tmp();
  const key = join(dir, "manual.pem");
  const pub = join(dir, "manual.pub.pem");
  assert.equal(cli(["device", "keygen", "--out", key, "--pub", pub]).code, 0);
  const input = join(dir, "erp.csv");
  writeFileSync(input, UNSIGNED_CSV);
  const out = join(dir, "signed.csv");
  const r = cli(["device", "sign-csv", "--key", key, "--key-id", "manual-2026", input, "--out", out]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, "");
  assert.match(r.stderr, /^signed 4 rows to .*signed\.csv$/m);
  const csv = readFileSync(out, "utf8");
  assert.equal(csv.split("\n")[0], `${UNSIGNED_CSV.split("\n")[0]},sig,keyId`);
  const { envelopes } = envelopesOf(csv);
  assert.deepEqual(
    envelopes.map((e) => [e.reading.kind, e.reading.seq, e.keyId]),
    [
      ["flue-gas", 1, "manual-2026"],
      ["electricity", 2, "manual-2026"],
      ["fuel", 3, "manual-2026"],
      ["manual", 4, "manual-2026"],
    ],
  );
  const publicKey = publicKeyFromPem(readFileSync(pub, "utf8"));
  for (const e of envelopes) {
    assert.ok(verifyEnvelope(e, publicKey), `row seq ${e.reading.seq} verifies`);
    // RFC 6979: `device sign` of the same reading gives the same signature
    const one = cli(["device", "sign", "--key", key, "-"], JSON.stringify(e.reading));
    assert.equal(JSON.parse(one.stdout).sig, e.sig);
  }
  assert.equal((envelopes[0]!.reading.m as { co2Ppm: number }).co2Ppm, 41000, "integers stay integers");

  // stdin to stdout: CRLF kept; a cell is quoted only when it must be
  const crlf = `deviceId,facilityId,seq,ts,intervalS,kind,energyWh,sig\r\n"kangaita-manual",ktda-kangaita,9,1763900000,5,electricity,7,\r\n`;
  const piped = cli(["device", "sign-csv", "--key", key], crlf);
  assert.equal(piped.code, 0, piped.stderr);
  assert.match(
    piped.stdout,
    /^deviceId,facilityId,seq,ts,intervalS,kind,energyWh,sig\r\nkangaita-manual,ktda-kangaita,9,1763900000,5,electricity,7,0x[0-9a-f]{128}\r\n$/,
  );
  assert.ok(verifyEnvelope(envelopesOf(piped.stdout).envelopes[0]!, publicKey));
});

test("device sign-csv: a bad row exits 2 naming its line and column and writes nothing; --skip-invalid signs the others", () => {
  const dir = tmp();
  const key = join(dir, "manual.pem");
  assert.equal(cli(["device", "keygen", "--out", key]).code, 0);
  const lines = UNSIGNED_CSV.split("\n");
  const bad = [
    lines[0],
    lines[1],
    "kangaita-manual,ktda-kangaita,5,1763900000,5,electricity,,,,,,12.5,,,", // line 3: a fraction
    "kangaita-manual,ktda-kangaita,7,,5,electricity,,,,,,12,,,", // line 4: no ts
    lines[2],
    "", // a blank line: skipped, still counted
    "kangaita-manual,ktda-kangaita,6,1763900000,5,steam,,,,,,1,,,", // line 7: unknown kind
    `${lines[3]},surplus`, // line 8: a cell past the header
  ].join("\n");
  const input = join(dir, "erp.csv");
  writeFileSync(input, bad);
  const out = join(dir, "signed.csv");
  const r = cli(["device", "sign-csv", "--key", key, input, "--out", out]);
  assert.equal(r.code, 2);
  assert.equal(r.stdout, "");
  assert.match(r.stderr, /4 invalid row\(s\); nothing was signed or written\. .*--skip-invalid/);
  assert.match(r.stderr, /line 3: energyWh: expected an integer/);
  assert.match(r.stderr, /line 4: ts: empty or missing; expected an integer/);
  assert.match(r.stderr, /line 7: kind: expected kind "flue-gas", "electricity", "fuel" or "manual"/);
  assert.match(r.stderr, /line 8: 16 cells, but the header names 15 columns/);
  assert.deepEqual(readdirSync(dir), ["erp.csv", "manual.pem"], "no output file, no temp file left");

  const skipped = cli(["device", "sign-csv", "--key", key, input, "--out", out, "--skip-invalid"]);
  assert.equal(skipped.code, 0, skipped.stderr);
  // each skipped row is named as it is read (the file is streamed), then the count
  assert.match(
    skipped.stderr,
    /^skipped line 3: .*\nskipped line 4: .*\nskipped line 7: .*\nskipped line 8: .*\nskipped 4 invalid row\(s\)$/m,
  );
  assert.match(skipped.stderr, /signed 2 rows to /);
  assert.deepEqual(
    envelopesOf(readFileSync(out, "utf8")).envelopes.map((e) => e.reading.seq),
    [1, 2],
  );

  // the header is checked as a whole: an unknown column is named, with the columns there are
  const header = cli(["device", "sign-csv", "--key", key], "deviceId,facilityId,seq,ts,intervalS,kind,energyKwh\n");
  assert.equal(header.code, 2);
  assert.match(
    header.stderr,
    /stdin: CSV header, column 7: "energyKwh" is not a reading field; columns are .*energyWh/,
  );
  assert.equal(cli(["device", "sign-csv", input]).code, 2, "no --key");
});

test("device sign-csv refuses an existing --out without --force, and a signed row without --resign", () => {
  const dir = tmp();
  const key = join(dir, "manual.pem");
  assert.equal(cli(["device", "keygen", "--out", key]).code, 0);
  const input = join(dir, "erp.csv");
  writeFileSync(input, UNSIGNED_CSV);
  const out = join(dir, "signed.csv");
  writeFileSync(out, "keep me");
  const refused = cli(["device", "sign-csv", "--key", key, input, "--out", out]);
  assert.equal(refused.code, 2);
  assert.match(refused.stderr, /signed\.csv exists; pass --force to overwrite/);
  assert.equal(readFileSync(out, "utf8"), "keep me");
  assert.equal(cli(["device", "sign-csv", "--key", key, input, "--out", out, "--force"]).code, 0);
  const signed = readFileSync(out, "utf8");

  // signing the signed file again: every row is refused, unless --resign (with another key here)
  const again = cli(["device", "sign-csv", "--key", key], signed);
  assert.equal(again.code, 2);
  assert.match(again.stderr, /line 2: already signed \(its sig cell is set\): empty the cell, or pass --resign/);
  const other = join(dir, "other.pem");
  const otherPub = join(dir, "other.pub.pem");
  assert.equal(cli(["device", "keygen", "--out", other, "--pub", otherPub]).code, 0);
  const resigned = cli(["device", "sign-csv", "--key", other, "--resign"], signed);
  assert.equal(resigned.code, 0, resigned.stderr);
  const otherKey = publicKeyFromPem(readFileSync(otherPub, "utf8"));
  for (const e of envelopesOf(resigned.stdout).envelopes) assert.ok(verifyEnvelope(e, otherKey));
});

/** Prints the child's peak RSS (getrusage, KiB) on stderr when it exits. */
const REPORT_MAX_RSS = `--import=data:text/javascript,process.on("exit",()=>process.stderr.write("maxRSS "+process.resourceUsage().maxRSS+"\\n"))`;

test("device sign-csv streams a file larger than its heap: every row signed in order, peak RSS far below the file", async () => {
  const dir = tmp();
  const key = join(dir, "manual.pem");
  const pub = join(dir, "manual.pub.pem");
  assert.equal(cli(["device", "keygen", "--out", key, "--pub", pub]).code, 0);
  // a fixed-width export: energyWh padded with spaces (a cell is trimmed when read as a reading),
  // so that the file (~200 MB) is far larger than the child's 64 MB heap
  const ROWS = 2000;
  const pad = " ".repeat(100_000);
  const input = join(dir, "history.csv");
  const fd = openSync(input, "w");
  writeSync(fd, "deviceId,facilityId,seq,ts,intervalS,kind,energyWh\r\n");
  for (let seq = 1; seq <= ROWS; seq++)
    writeSync(fd, `kangaita-manual,ktda-kangaita,${seq},${1763900000 + 5 * seq},5,electricity,${pad}${seq}\r\n`);
  closeSync(fd);
  const fileBytes = statSync(input).size;
  const signCsvIn = (file: string, out: string) => {
    const r = spawnSync(
      process.execPath,
      ["--max-old-space-size=64", REPORT_MAX_RSS, MAIN, "device", "sign-csv", "--key", key, file, "--out", out],
      { encoding: "utf8" },
    );
    assert.equal(r.status, 0, r.stderr);
    return { stderr: r.stderr, maxRssKiB: Number(/^maxRSS (\d+)$/m.exec(r.stderr)?.[1]) };
  };
  writeFileSync(
    join(dir, "one.csv"),
    "deviceId,facilityId,seq,ts,intervalS,kind,energyWh\n" +
      `kangaita-manual,ktda-kangaita,1,1763900000,5,electricity,1\n`,
  );
  const baseline = signCsvIn(join(dir, "one.csv"), join(dir, "one.signed.csv"));
  const out = join(dir, "signed.csv");
  const big = signCsvIn(input, out);
  assert.match(big.stderr, /^signed 2,000 rows to .*signed\.csv$/m);
  for (const l of big.stderr.trim().split("\n")) assert.match(l, /^(signed .*rows.*|maxRSS \d+)$/);

  const publicKey = publicKeyFromPem(readFileSync(pub, "utf8"));
  let header: string[] | null = null;
  let seq = 0;
  for await (const row of readCsvRecords(createReadStream(out))) {
    if (header === null) {
      header = row.cells;
      assert.deepEqual(header, ["deviceId", "facilityId", "seq", "ts", "intervalS", "kind", "energyWh", "sig"]);
      continue;
    }
    seq++;
    const envelope = parseEnvelope(csvRowToEnvelope(header, row.cells));
    assert.equal(envelope.reading.seq, seq);
    assert.equal(row.cells[6], `${pad}${seq}`, "the cell is written as it was read");
    if (seq % 100 === 0) assert.ok(verifyEnvelope(envelope, publicKey), `row seq ${seq} verifies`);
  }
  assert.equal(seq, ROWS);
  assert.ok(readFileSync(out).subarray(0, 200).includes("\r\n"), "the header's CRLF is kept");
  const grewKiB = big.maxRssKiB - baseline.maxRssKiB;
  assert.ok(grewKiB < fileBytes / 1024 / 2, `peak RSS grew ${grewKiB} KiB over a one-row file, for ${fileBytes} B`);
});

test("device sign-csv to stdout waits for a slow reader instead of holding the output in memory", async () => {
  // stdout here is a real Node stream with a slow reader: Linux pipes block the writer on their
  // own, so the buffering that an asynchronous pipe (macOS) would allow is shown in-process
  const dir = tmp();
  const key = join(dir, "manual.pem");
  assert.equal(cli(["device", "keygen", "--out", key]).code, 0);
  const ROWS = 4000;
  const lines = ["deviceId,facilityId,seq,ts,intervalS,kind,energyWh"];
  for (let seq = 1; seq <= ROWS; seq++)
    lines.push(`kangaita-manual,ktda-kangaita,${seq},${1763900000 + 5 * seq},5,electricity,${seq}`);
  const input = join(dir, "history.csv");
  writeFileSync(input, `${lines.join("\n")}\n`);

  const received: Buffer[] = [];
  const stdout = new Writable({
    highWaterMark: 16_384,
    write(chunk: Buffer, _encoding, done) {
      received.push(chunk);
      setTimeout(done, 2);
    },
  });
  let peak = 0;
  const stderr: string[] = [];
  const io: Io = {
    stdout: (text) => {
      stdout.write(text);
      peak = Math.max(peak, stdout.writableLength);
    },
    stdoutDrained: async () => {
      if (stdout.writableNeedDrain) await once(stdout, "drain");
    },
    stderr: (text) => void stderr.push(text),
    readStdin: () => "",
    stdinStream: () => (async function* () {})(),
    stderrIsTty: false,
  };
  assert.equal(await deviceCommand(io, ["sign-csv", "--key", key, input]), 0, stderr.join(""));
  await new Promise((resolve) => stdout.end(resolve));

  const text = Buffer.concat(received).toString("utf8");
  const { envelopes } = envelopesOf(text);
  assert.deepEqual(
    envelopes.map((e) => e.reading.seq),
    Array.from({ length: ROWS }, (_, i) => i + 1),
  );
  assert.ok(text.length > 600_000, `${text.length} B of output`);
  // one 64 KiB piece at a time (plus the one being read): not the whole output
  assert.ok(peak <= 2 * 65_536, `stdout held up to ${peak} B of ${text.length}`);
});

test("device sign-csv stopped by SIGINT or SIGTERM removes its temp file, writes no output file, and exits 130/143", async () => {
  const dir = tmp();
  const key = join(dir, "manual.pem");
  assert.equal(cli(["device", "keygen", "--out", key]).code, 0);
  const rows = ["deviceId,facilityId,seq,ts,intervalS,kind,energyWh"];
  for (let seq = 1; seq <= 200; seq++)
    rows.push(`kangaita-manual,ktda-kangaita,${seq},${1763900000 + 5 * seq},5,electricity,${seq}`);
  /** sign-csv reading stdin that stays open (an export still being written), sent `signal` once its temp file exists. */
  const stopped = async (signal: NodeJS.Signals, out: string | null) => {
    const child = spawn(process.execPath, [MAIN, "device", "sign-csv", "--key", key, ...(out ? ["--out", out] : [])], {
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.stdout.resume();
    child.stdin.write(`${rows.join("\n")}\n`);
    const tempOf = () =>
      out
        ? readdirSync(dir).filter((f) => f.startsWith(".signed.csv."))
        : readdirSync(tmpdir()).filter((f) => f.startsWith(`carbonproof-sign-csv-${child.pid}-`));
    for (let i = 0; tempOf().length === 0; i++) {
      assert.ok(i < 600, `no temp file within 30 s: ${stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const closed = once(child, "close");
    child.kill(signal);
    const [code] = (await closed) as [number | null];
    child.stdin.destroy();
    return { code, stderr, temps: tempOf() };
  };
  const out = join(dir, "signed.csv");
  const int = await stopped("SIGINT", out);
  assert.equal(int.code, 130, int.stderr);
  assert.match(int.stderr, /interrupted by SIGINT: nothing was written to .*signed\.csv/);
  assert.deepEqual(int.temps, [], "the temp file is removed");
  assert.equal(readdirSync(dir).includes("signed.csv"), false, "no output file");
  const term = await stopped("SIGTERM", null);
  assert.equal(term.code, 143, term.stderr);
  assert.match(term.stderr, /interrupted by SIGTERM/);
  assert.deepEqual(term.temps, [], "the temp file in the temp directory is removed");
});

test("bundle cid and bundle check: a missing file or a directory is a usage error naming it and why", () => {
  const dir = tmp();
  for (const sub of ["cid", "check"]) {
    const missing = cli(["bundle", sub, join(dir, "none.json")]);
    assert.equal(missing.code, 2, missing.stderr);
    assert.match(missing.stderr, /^carbonproof: Cannot read \S+none\.json: ENOENT: /m);
    const directory = cli(["bundle", sub, dir]);
    assert.equal(directory.code, 2, directory.stderr);
    assert.match(directory.stderr, /^carbonproof: Cannot read \S+: EISDIR: /m);
  }
});
