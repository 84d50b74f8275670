/** `carbonproof device sign-csv`, through the real binary (a file of its own: it runs beside cli.test.ts). */
import assert from "node:assert/strict";
import { execFileSync, spawn, spawnSync } from "node:child_process";
import {
  closeSync,
  createReadStream,
  existsSync,
  lstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { once } from "node:events";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { test } from "node:test";
import { parseCsvRecords } from "../factors/csv.ts";
import { csvRowToEnvelope, readCsvRecords } from "../reading/csv.ts";
import { parseEnvelope } from "../reading/parse.ts";
import { publicKeyFromPem, verifyEnvelope } from "../reading/sign.ts";
import {
  cli,
  MAIN,
  tmp,
  FILE_LIMIT_BYTES,
  cliAppendingNearLimit,
  cliPipedTo,
  cliToDevFull,
  cliUnder,
  cliWithLinkPlanted,
  historyCsv,
  newKey,
} from "../test/cli.ts";
import { deviceCommand } from "./commands/device.ts";
import type { Io } from "./io.ts";

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

/** A new key (manual.pem) and a CSV of `rows` readings (history.csv) in a new folder. */
function keyAndHistory(rows: number): { dir: string; key: string; input: string } {
  const dir = tmp();
  const input = join(dir, "history.csv");
  writeFileSync(input, historyCsv(rows));
  return { dir, key: newKey(dir), input };
}

test("device sign-csv signs every row as device sign signs its reading; --key-id fills a keyId column", () => {
  const dir = tmp();
  const key = newKey(dir, "manual.pem", "manual.pub.pem");
  const pub = join(dir, "manual.pub.pem");
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
  const key = newKey(dir);
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
  const key = newKey(dir);
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
  const other = newKey(dir, "other.pem", "other.pub.pem");
  const otherPub = join(dir, "other.pub.pem");
  const resigned = cli(["device", "sign-csv", "--key", other, "--resign"], signed);
  assert.equal(resigned.code, 0, resigned.stderr);
  const otherKey = publicKeyFromPem(readFileSync(otherPub, "utf8"));
  for (const e of envelopesOf(resigned.stdout).envelopes) assert.ok(verifyEnvelope(e, otherKey));
});

/** Prints the child's peak RSS (getrusage, KiB) on stderr when it exits. */
const REPORT_MAX_RSS = `--import=data:text/javascript,process.on("exit",()=>process.stderr.write("maxRSS "+process.resourceUsage().maxRSS+"\\n"))`;

test("device sign-csv streams a file larger than its heap: every row signed in order, peak RSS far below the file", async () => {
  const dir = tmp();
  const key = newKey(dir, "manual.pem", "manual.pub.pem");
  const pub = join(dir, "manual.pub.pem");
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
  const ROWS = 4000;
  const { key, input } = keyAndHistory(ROWS);

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
  const key = newKey(dir);
  /** sign-csv reading stdin that stays open (an export still being written), sent `signal` once its temp file exists. */
  const stopped = async (signal: NodeJS.Signals, out: string | null) => {
    const child = spawn(process.execPath, [MAIN, "device", "sign-csv", "--key", key, ...(out ? ["--out", out] : [])], {
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.stdout.resume();
    child.stdin.write(historyCsv(200));
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

test("device sign-csv: an --out it cannot write at is exit 2 (the user's to fix); a write that fails part-way is exit 3 and puts nothing in place", () => {
  const { dir, key, input } = keyAndHistory(200);
  const left = ["a-dir", "history.csv", "manual.pem", "read-only"];
  const signCsv = (...args: string[]) => cli(["device", "sign-csv", "--key", key, input, ...args]);

  // refused before a row is signed, as keygen refuses a path in no folder
  const noFolder = signCsv("--out", join(dir, "none", "signed.csv"));
  assert.equal(noFolder.code, 2, noFolder.stderr);
  assert.match(
    noFolder.stderr,
    /Cannot write \S+none\/signed\.csv: no folder \S+none\. Make the folder, or give a path in one that exists\./,
  );
  mkdirSync(join(dir, "a-dir"));
  const aDir = signCsv("--out", join(dir, "a-dir"), "--force");
  assert.equal(aDir.code, 2, aDir.stderr);
  assert.match(
    aDir.stderr,
    /Cannot write \S+a-dir: a directory is there, not a file\. Give --out the path of a file this user can write, in a folder that exists\./,
  );
  // a FIFO (as a device would be, /dev/null under --force as root) is not replaced by a regular file
  if (process.platform !== "win32") {
    const fifo = join(dir, "a-fifo");
    execFileSync("mkfifo", [fifo]);
    const aFifo = signCsv("--out", fifo, "--force");
    assert.equal(aFifo.code, 2, aFifo.stderr);
    assert.match(aFifo.stderr, /Cannot write \S+a-fifo: a FIFO is there, not a file\./);
    assert.ok(lstatSync(fifo).isFIFO(), "the FIFO is still there");
    rmSync(fifo);
    // /dev holds devices and links to this process's files (/dev/stdout): refused whatever is there
    // (stdout a regular file here: /dev/stdout then leads to a file, and only the folder tells)
    const into = openSync(join(dir, "stdout.txt"), "w");
    let devOut;
    try {
      devOut = spawnSync(
        process.execPath,
        [MAIN, "device", "sign-csv", "--key", key, input, "--out", "/dev/stdout", "--force"],
        { encoding: "utf8", stdio: ["ignore", into, "pipe"] },
      );
    } finally {
      closeSync(into);
      rmSync(join(dir, "stdout.txt"));
    }
    assert.equal(devOut.status, 2, devOut.stderr);
    assert.match(devOut.stderr, /Cannot write \/dev\/stdout: \/dev holds devices and links to a process's files/);
    assert.ok(lstatSync("/dev/stdout").isSymbolicLink(), "/dev/stdout is still a link");
  }
  // before any work: refused before the CSV is even opened (there is none here)
  const early = cli([
    "device",
    "sign-csv",
    "--key",
    key,
    join(dir, "no-such.csv"),
    "--out",
    join(dir, "a-dir"),
    "--force",
  ]);
  assert.equal(early.code, 2, early.stderr);
  assert.match(early.stderr, /Cannot write \S+a-dir: a directory is there, not a file\./);
  // root may write anywhere: a read-only folder refuses only another user
  mkdirSync(join(dir, "read-only"), { mode: 0o555 });
  if (process.getuid?.() !== 0 && process.platform !== "win32") {
    const readOnly = signCsv("--out", join(dir, "read-only", "signed.csv"));
    assert.equal(readOnly.code, 2, readOnly.stderr);
    assert.match(readOnly.stderr, /Cannot write \S+read-only\/signed\.csv: EACCES: .*Give --out the path of a file/);
  }
  assert.deepEqual(readdirSync(dir).sort(), left, "no temp file left");
  assert.deepEqual(readdirSync(join(dir, "a-dir")), []);

  // A file size limit (RLIMIT_FSIZE, which binds root too; no sh on Windows) stands for a disk
  // that fills up part-way: the kernel takes the first part of a write and refuses the rest
  if (process.platform === "win32") return;
  const out = join(dir, "signed.csv");
  const limited = cliUnder("ulimit -f 8", ["device", "sign-csv", "--key", key, input, "--out", out]);
  assert.equal(limited.code, 3, limited.stderr);
  assert.match(
    limited.stderr,
    /Cannot write \S+signed\.csv: EFBIG: file too large, write \(writing \S+\.signed\.csv\.\d+\.[0-9a-f]{8}\.tmp\)\. Nothing was written to \S+signed\.csv; make room on its disk \(or fix what stopped the write\) and run it again\./,
  );
  assert.doesNotMatch(limited.stderr, /signed \d+ rows/);
  assert.deepEqual(readdirSync(dir).sort(), left, "no output file (not one cut off mid-row), no temp file");
});

test(
  "device sign-csv to stdout: a stdout that fails (> /dev/full) or a temp directory it cannot use is exit 3 saying what to do, not 1 with a stack trace",
  { skip: !existsSync("/dev/full") && "no /dev/full here" },
  () => {
    const { dir, key, input } = keyAndHistory(200);

    const full = cliToDevFull(["device", "sign-csv", "--key", key, input]);
    assert.equal(full.code, 3, full.stderr);
    assert.equal(
      full.stderr,
      "carbonproof: Cannot write stdout: ENOSPC: no space left on device, write. What it took is only part of the signed CSV: do not import it; make room (or fix what stdout goes to) and run it again, or give --out.\n",
    );

    const noTemp = join(dir, "no-such-temp");
    const r = spawnSync(process.execPath, [MAIN, "device", "sign-csv", "--key", key, input], {
      encoding: "utf8",
      env: { ...process.env, TMPDIR: noTemp },
    });
    assert.equal(r.status, 3, r.stderr);
    assert.equal(r.stdout, "");
    assert.match(
      r.stderr,
      /Cannot write the temp file \S+no-such-temp\/carbonproof-sign-csv-\S+\.csv \(the output goes there before stdout\): ENOENT: .*\. Nothing was written to stdout; check that \S+no-such-temp \(the temp directory; TMPDIR sets it\) exists, this user can write it and it has room, then run it again, or give --out\./,
    );
  },
);

test(
  "device sign-csv --out does not follow a symlink planted at the temp name a pid gives (.OUT.PID.tmp)",
  { skip: process.platform === "win32" && "no sh here" },
  () => {
    const { dir, key, input } = keyAndHistory(20);
    const out = join(dir, "signed.csv");
    cliWithLinkPlanted(dir, "signed.csv", ["device", "sign-csv", "--key", key, input, "--out", out]);
    assert.ok(lstatSync(out).isFile(), "OUT.csv is a file of its own, not the planted link renamed");
    assert.equal(envelopesOf(readFileSync(out, "utf8")).envelopes.length, 20);
  },
);

test(
  "device sign-csv to stdout appended to a file 2,000 B below ulimit -f: exit 3, not 0 and 2,000 B of 200 rows",
  { skip: process.platform === "win32" && "no sh here" },
  () => {
    const { dir, key, input } = keyAndHistory(200);
    // room for the temp file (~38 KB), not for the file's 2,000 B left
    const log = join(dir, "signed.log");
    const r = cliAppendingNearLimit(log, ["device", "sign-csv", "--key", key, input]);
    assert.equal(r.code, 3, r.stderr);
    assert.equal(
      r.stderr,
      "carbonproof: Cannot write stdout: EFBIG: file too large, write. What it took is only part of the signed CSV: do not import it; make room (or fix what stdout goes to) and run it again, or give --out.\n",
    );
    assert.equal(statSync(log).size, FILE_LIMIT_BYTES);
  },
);

test(
  "device sign-csv to a reader that stops early (| head -c 1) ends quietly with 141, no stack trace, no count",
  { skip: process.platform === "win32" && "no sh here" },
  () => {
    // ~1.5 MB signed: far more than a pipe holds
    const { key, input } = keyAndHistory(8000);
    const r = cliPipedTo("head -c 1", ["device", "sign-csv", "--key", key, input]);
    assert.equal(r.stdout, "d");
    // a run slower than 5 s (a loaded machine) prints a progress line on a stderr that is no
    // terminal: those are kept out; the count said at the end ("signed N rows" alone) is not
    const said = r.stderr.replace(/^signed [\d,]+ rows[^\n]*, [\d,]+ rows\/s[^\n]*\n/gm, "");
    assert.equal(said, "status 141\n", r.stderr);
  },
);
