import { test, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { createPrivateKey, sign } from "node:crypto";
import {
  closeSync,
  constants as fsConstants,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readlinkSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { fileURLToPath } from "node:url";
import { canonicalBytes, readingDigestHex, secretKeyToPem, type Reading } from "../../sdk/src/index.ts";
import { deviceFileJson } from "../src/devices/directory.ts";
import { deviceInfo, electricity, makeDevice, type TestDevice } from "./fixtures.ts";
import { tempDir, waitFor } from "./helpers.ts";
import { postgresMissing, startPostgres } from "./postgres-harness.ts";
import { PostgresStorage } from "../src/storage/postgres.ts";

/** Where a /proc fd link points, or null once it is gone. */
function readlinkSafe(path: string): string | null {
  try {
    return readlinkSync(path);
  } catch {
    return null;
  }
}

/**
 * `carbonproof-oracle import` as an operator runs it on a long file: the real CLI in a child
 * process, a real SQLite database, the file read in pieces.
 */
const CLI = fileURLToPath(new URL("../src/cli/main.ts", import.meta.url));
const tmp = tempDir("cp-csv-stream-");
after(() => tmp.cleanup());

/** The child's JS heap limit (MB). The file below is larger than it; holding the file's records fails. */
const HEAP_MB = 128;
/** Prints the child's peak RSS (getrusage, all its threads, KiB) on stderr when it exits. */
const REPORT_MAX_RSS = `--import=data:text/javascript,process.on("exit",()=>process.stderr.write("maxRSS "+process.resourceUsage().maxRSS+"\\n"))`;

type Run = { code: number | null; stdout: string; stderr: string; maxRssKiB: number };

/** What a test does with the importer while it runs. */
type Hooks = {
  onSpawn?: (pid: number) => void;
  /** everything on stdout so far, at each piece */
  onStdout?: (sofar: string) => void;
  /** what stdin gets (then closed), or a function that writes it (stdin left open) */
  stdin?: string | ((stdin: NodeJS.WritableStream, pid: number) => void);
};

function runImport(dir: string, file: string, extra: string[] = [], hooks: Hooks = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const c = spawn(
      process.execPath,
      [
        `--max-old-space-size=${HEAP_MB}`,
        REPORT_MAX_RSS,
        "--disable-warning=ExperimentalWarning",
        CLI,
        "import",
        file,
        "--config",
        join(dir, "oracle.json"),
        ...extra,
      ],
      { stdio: [hooks.stdin === undefined ? "ignore" : "pipe", "pipe", "pipe"] },
    );
    if (c.pid !== undefined) hooks.onSpawn?.(c.pid);
    if (typeof hooks.stdin === "string") c.stdin!.end(hooks.stdin);
    else if (hooks.stdin) {
      c.stdin!.on("error", () => {}); // the importer may exit with stdin still open
      hooks.stdin(c.stdin!, c.pid!);
    }
    const out: Buffer[] = [];
    let stderr = "";
    c.stdout!.on("data", (d: Buffer) => {
      out.push(d);
      hooks.onStdout?.(Buffer.concat(out).toString());
    });
    c.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
    c.on("error", reject);
    c.on("close", (code) => {
      c.stdin?.destroy();
      const rss = /^maxRSS (\d+)$/m.exec(stderr);
      resolve({ code, stdout: Buffer.concat(out).toString(), stderr, maxRssKiB: Number(rss?.[1] ?? NaN) });
    });
  });
}

/** A node's config in `dir`: device file with `devices`, one verification thread (RSS not by core count). */
function nodeIn(dir: string, devices: TestDevice[], storage: object = {}): void {
  writeFileSync(join(dir, "devices.json"), deviceFileJson(devices.map((d) => deviceInfo(d))));
  writeFileSync(
    join(dir, "oracle.json"),
    JSON.stringify({
      dataDir: join(dir, "data"),
      devices: { source: "file", file: join(dir, "devices.json") },
      facilities: { "ktda-kangaita": { country: "KEN" } },
      validation: { verifyWorkers: 1 },
      storage: { synchronous: "NORMAL", ...storage },
    }),
  );
}

const P256_N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;

/**
 * `signReading`'s signature made with node:crypto (OpenSSL), 10× faster than the sdk's noble
 * signer for 50,000 rows: P-256 over SHA-256 of the canonical bytes, r‖s, s made low as the sdk does.
 */
function fastSigner(d: TestDevice): (r: Reading) => string {
  const key = createPrivateKey(secretKeyToPem(d.secretKey));
  return (r) => {
    const raw = sign("sha256", canonicalBytes(r), { key, dsaEncoding: "ieee-p1363" });
    let s = BigInt(`0x${raw.subarray(32).toString("hex")}`);
    if (s > P256_N / 2n) s = P256_N - s;
    return `0x${raw.subarray(0, 32).toString("hex")}${s.toString(16).padStart(64, "0")}`;
  };
}

/** How many readings the node configured in `dir` (by `nodeIn`) has stored. */
function readingCount(dir: string): number {
  const db = new DatabaseSync(join(dir, "data", "oracle.db"), { readOnly: true });
  try {
    return (db.prepare("SELECT COUNT(*) AS n FROM readings").get() as { n: number }).n;
  } finally {
    db.close();
  }
}

/** `meter`'s electricity reading `seq` at `ts`. */
function meterReading(meter: TestDevice, seq: number, ts: number, energyWh: number): Reading {
  const { deviceId, facilityId } = meter;
  return { v: 1, deviceId, facilityId, seq, ts, intervalS: 5, kind: "electricity", m: { energyWh } };
}

test("a 50,000-row file larger than the importer's heap: every row reported in order, counts, bounded memory", async () => {
  const dir = join(tmp.dir, "big");
  const meter = makeDevice("kangaita-meter-1");
  mkdirSync(dir);
  nodeIn(dir, [meter]);
  const ROWS = 50_000;
  // a fixed-width ERP export: the energyWh column padded with spaces (a cell is trimmed), so that
  // the file (~400 MB) is far larger than the child's heap and than its RSS without the file
  const PAD = " ".repeat(8000);
  const signOf = fastSigner(meter);
  const ts0 = Math.floor(Date.now() / 1000) - 5 * ROWS - 3600; // 5 s apart, the last an hour ago
  const file = join(dir, "history.csv");
  const fd = openSync(file, "w");
  let text = "deviceId,facilityId,seq,ts,intervalS,kind,energyWh,sig\n";
  const digests: string[] = [];
  const forged = new Set<number>();
  let lastSig = "";
  for (let seq = 1; seq <= ROWS; seq++) {
    const energyWh = 100 + (seq % 50);
    const r = meterReading(meter, seq, ts0 + 5 * seq, energyWh);
    // every 10,000th row carries the row before's signature: a bad-signature, reported on its line
    const sig = seq % 10_000 === 0 ? lastSig : signOf(r);
    if (seq % 10_000 === 0) forged.add(seq + 1);
    lastSig = sig;
    digests.push(readingDigestHex(r));
    text += `${r.deviceId},${r.facilityId},${seq},${r.ts},5,electricity,${PAD}${energyWh},${sig}\n`;
    if (text.length > 1 << 20) {
      writeSync(fd, text);
      text = "";
    }
  }
  writeSync(fd, text);
  closeSync(fd);
  const fileBytes = statSync(file).size;

  // the same node, a small file: its peak RSS is what the importer takes without a large file
  const small = join(tmp.dir, "small");
  mkdirSync(small);
  nodeIn(small, [meter]);
  const e = electricity(meter, { ts: ts0 });
  writeFileSync(
    join(small, "one.csv"),
    `deviceId,facilityId,seq,ts,intervalS,kind,energyWh,sig\n${meter.deviceId},${meter.facilityId},${e.reading.seq},${ts0},5,electricity,120,${e.sig}\n`,
  );
  const baseline = await runImport(small, join(small, "one.csv"));
  assert.equal(baseline.code, 0, baseline.stderr);

  const started = performance.now();
  const r = await runImport(dir, file);
  const importS = (performance.now() - started) / 1000;
  assert.equal(r.code, 1, `exit 1: rows were rejected\n${r.stderr.slice(-2000)}`);
  const lines = r.stdout.split("\n");
  assert.equal(lines.pop(), "", "stdout ends with a line break");
  assert.equal(lines.pop(), `${ROWS - forged.size} stored, ${forged.size} rejected of ${ROWS} rows`);
  assert.equal(lines.length, ROWS, "one report line per row");
  lines.forEach((line, i) => {
    const row = i + 2; // the header is line 1
    const expected = forged.has(row) ? `row ${row}: rejected bad-signature: ` : `row ${row}: stored ${digests[i]}`;
    assert.ok(line.startsWith(expected), `line ${i + 1} of stdout is ${JSON.stringify(line.slice(0, 120))}`);
  });
  // stderr holds only progress lines (at most one per 5 s, stderr is not a terminal here) and the RSS line
  for (const l of r.stderr.trim().split("\n"))
    assert.match(l, /^(import: .*rows.*|maxRSS \d+)$/, `stderr line ${JSON.stringify(l)}`);
  const db = new DatabaseSync(join(dir, "data", "oracle.db"), { readOnly: true });
  assert.deepEqual({ ...db.prepare("SELECT COUNT(*) AS n FROM readings").get() }, { n: ROWS - forged.size });
  db.close();

  // Memory: the importer's peak RSS grows by far less than the file. Held whole, the file alone
  // (as a string, outside the JS heap) would add its ~400 MB; its parsed records would not fit
  // the heap at all (the child would stop out of memory).
  const grewKiB = r.maxRssKiB - baseline.maxRssKiB;
  assert.ok(
    grewKiB < fileBytes / 1024 / 2,
    `peak RSS ${r.maxRssKiB} KiB, ${grewKiB} KiB over the one-row import, for a ${fileBytes} B file`,
  );
  console.log(
    `# ${fileBytes} B, ${ROWS} rows in ${importS.toFixed(1)} s; peak RSS ${r.maxRssKiB} KiB (one row: ${baseline.maxRssKiB} KiB)`,
  );
});

test("import --json prints the one report object, {rows, stored, alreadyStored, rejected}, streamed row by row", async () => {
  const dir = join(tmp.dir, "json");
  mkdirSync(dir);
  const meter = makeDevice("kangaita-meter-1");
  nodeIn(dir, [meter]);
  const ts = Math.floor(Date.now() / 1000) - 3600;
  const [a, b] = [electricity(meter, { ts }), electricity(meter, { ts: ts + 5 })];
  const row = (e: typeof a, sig = e.sig) =>
    `${e.reading.deviceId},${e.reading.facilityId},${e.reading.seq},${e.reading.ts},5,electricity,${(e.reading.m as { energyWh: number }).energyWh},${sig}`;
  writeFileSync(
    join(dir, "two.csv"),
    ["deviceId,facilityId,seq,ts,intervalS,kind,energyWh,sig", row(a), row(b, a.sig)].join("\n"),
  );
  const r = await runImport(dir, join(dir, "two.csv"), ["--json"]);
  assert.equal(r.code, 1, r.stderr);
  assert.equal(r.stdout.split("\n").length, 2, "one line");
  // the first import creates the node's database, and says so (on stderr: stdout is the report)
  const created = new RegExp(`^import: no database at ${join(dir, "data", "oracle.db")} yet: creating one `, "m");
  assert.match(r.stderr, created);
  const report = JSON.parse(r.stdout) as { rows: Record<string, unknown>[] };
  assert.deepEqual(report, {
    rows: [
      { row: 2, status: "stored", digest: readingDigestHex(a.reading) },
      { row: 3, status: "rejected", reason: "bad-signature", detail: report.rows[1]!.detail },
    ],
    stored: 1,
    alreadyStored: 0,
    rejected: 1,
  });
  assert.equal(typeof report.rows[1]!.detail, "string");
  writeFileSync(join(dir, "header.csv"), "deviceId,facilityId,seq,ts,intervalS,kind,energyWh,sig\n");
  const none = await runImport(dir, join(dir, "header.csv"), ["--json"]);
  assert.equal(none.code, 0, none.stderr);
  assert.doesNotMatch(none.stderr, /no database at/, "the second finds it");
  assert.equal(none.stdout, '{"rows":[],"stored":0,"alreadyStored":0,"rejected":0}\n', "a header and no rows");
  // a file that is not CSV: refused with its line, nothing on stdout, nothing stored
  writeFileSync(
    join(dir, "broken.csv"),
    `deviceId,facilityId,seq,ts,intervalS,kind,energyWh,sig\n${row(b)}\n"open,1\n`,
  );
  const broken = await runImport(dir, join(dir, "broken.csv"), ["--json"]);
  assert.equal(broken.code, 1);
  assert.equal(broken.stdout, "");
  assert.match(broken.stderr, /CSV line 3: a quoted field opened on this line is never closed/);
  // a row flagged by the anomaly score is logged (warn): on stderr, the report alone on stdout
  const steady = Array.from({ length: 14 }, (_, i) =>
    electricity(meter, { ts: ts + 10 + i * 5, energyWh: 118 + (i % 5) }),
  );
  const spike = electricity(meter, { ts: ts + 100, energyWh: 20_000 });
  writeFileSync(
    join(dir, "flagged.csv"),
    ["deviceId,facilityId,seq,ts,intervalS,kind,energyWh,sig", ...[...steady, spike].map((e) => row(e))].join("\n"),
  );
  const flagged = await runImport(dir, join(dir, "flagged.csv"), ["--json"]);
  assert.equal(flagged.code, 0, flagged.stderr);
  assert.match(flagged.stderr, /reading flagged by anomaly score/);
  const flaggedReport = JSON.parse(flagged.stdout) as { stored: number };
  assert.equal(flaggedReport.stored, 15);
});

test("import of a file that changes between its passes: --json stays one object, with the rows stored and the error; the same import again goes on", async () => {
  const dir = join(tmp.dir, "changed");
  mkdirSync(dir);
  const meter = makeDevice("kangaita-meter-1");
  nodeIn(dir, [meter]);
  const signOf = fastSigner(meter);
  const ts0 = Math.floor(Date.now() / 1000) - 86_400;
  const digests: string[] = [];
  const rows = Array.from({ length: 1_001 }, (_, i) => {
    const r = meterReading(meter, i + 1, ts0 + 5 * i, 120);
    digests.push(readingDigestHex(r));
    return `${r.deviceId},${r.facilityId},${r.seq},${r.ts},5,electricity,120,${signOf(r)}`;
  });
  const text = ["deviceId,facilityId,seq,ts,intervalS,kind,energyWh,sig", ...rows].join("\n");
  const at = text.lastIndexOf(",120,");
  const edited = `${text.slice(0, at)},121,${text.slice(at + 5)}`; // the last row's energy, after it was checked
  // a FIFO: the importer's first pass reads the file as it was, its second the file edited
  const fifo = join(dir, "export.csv");
  const made = spawnSync("mkfifo", [fifo]);
  assert.equal(made.status, 0, String(made.stderr));
  let pid = 0;
  const holdsFifo = () => {
    try {
      return readdirSync(`/proc/${pid}/fd`).some((fd) => readlinkSafe(`/proc/${pid}/fd/${fd}`) === fifo);
    } catch {
      return false; // the importer has exited
    }
  };
  const writer = (async () => {
    await writeFile(fifo, text); // opens once the first pass opens it; its end is the pass's end
    // the second writer must not open the FIFO before the first pass closed it (it would write into
    // the first pass's pipe): wait until the importer holds no descriptor of it
    await waitFor(() => !holdsFifo(), { timeoutMs: 30_000, what: "the importer to close its first pass" });
    await writeFile(fifo, edited);
  })();
  // an importer stuck on the FIFO (a regression) is killed rather than left behind the test
  const guard = setTimeout(() => pid && process.kill(pid, "SIGKILL"), 60_000);
  const r = await runImport(dir, fifo, ["--json"], { onSpawn: (p) => (pid = p) }).finally(() => clearTimeout(guard));
  // unblock the writer if the importer did not open the FIFO twice (the assertions below say why)
  closeSync(openSync(fifo, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK));
  await writer.catch(() => {});
  assert.equal(r.code, 1, r.stderr);
  assert.equal(r.stdout.split("\n").length, 2, "one line");
  const report = JSON.parse(r.stdout) as {
    rows: { row: number; status: string; digest: string }[];
    error: { code: string; message: string };
  };
  assert.equal(report.rows.length, 1_000, "the first chunk, stored before the change was seen");
  assert.deepEqual(report.rows[999], { row: 1_001, status: "stored", digest: digests[999] });
  assert.deepEqual(
    { ...report, rows: undefined },
    { rows: undefined, stored: 1_000, alreadyStored: 0, rejected: 0, error: report.error },
  );
  assert.equal(report.error.code, "FILE_CHANGED");
  assert.match(report.error.message, /the file changed while it was imported \(the same length, other bytes\)/);
  assert.match(r.stderr, /carbonproof-oracle: the file changed while it was imported/);

  // the finished file, imported again: the 1,000 stored rows are already stored, the last is stored
  writeFileSync(join(dir, "export-final.csv"), text);
  const again = await runImport(dir, join(dir, "export-final.csv"));
  assert.equal(again.code, 0, again.stderr);
  const lines = again.stdout.trimEnd().split("\n");
  assert.equal(lines.at(-1), "1 stored, 1000 already stored, 0 rejected of 1001 rows");
  assert.equal(lines[0], `row 2: already stored ${digests[0]}`);
  assert.equal(lines[1_000], `row 1002: stored ${digests[1_000]}`);
  const db = new DatabaseSync(join(dir, "data", "oracle.db"), { readOnly: true });
  assert.deepEqual({ ...db.prepare("SELECT COUNT(*) AS n FROM readings").get() }, { n: 1_001 });
  assert.deepEqual({ ...db.prepare("SELECT COUNT(*) AS n FROM dead_letters").get() }, { n: 0 });
  db.close();
});

test("SIGINT or SIGTERM during an import: it stops after the rows in hand, closes the report (exit 130/143), and the same import again goes on", async () => {
  const dir = join(tmp.dir, "interrupted");
  mkdirSync(dir);
  const meter = makeDevice("kangaita-meter-1");
  nodeIn(dir, [meter]);
  const signOf = fastSigner(meter);
  const ROWS = 20_000;
  const ts0 = Math.floor(Date.now() / 1000) - 5 * ROWS - 3600;
  const lines = ["deviceId,facilityId,seq,ts,intervalS,kind,energyWh,sig"];
  for (let seq = 1; seq <= ROWS; seq++) {
    const r = meterReading(meter, seq, ts0 + 5 * seq, 120);
    lines.push(`${r.deviceId},${r.facilityId},${seq},${r.ts},5,electricity,120,${signOf(r)}`);
  }
  const file = join(dir, "history.csv");
  writeFileSync(file, `${lines.join("\n")}\n`);
  const storedInDb = () => readingCount(dir);
  /** The import of `file`, sent `signal` once its report holds a first chunk's rows. */
  const interrupted = (signal: NodeJS.Signals, extra: string[]) => {
    let pid = 0;
    let sent = false;
    return runImport(dir, file, extra, {
      onSpawn: (p) => (pid = p),
      onStdout: (sofar) => {
        if (!sent && (sofar.includes('"row":1001') || sofar.includes("row 1001:"))) {
          sent = true;
          process.kill(pid, signal);
        }
      },
    });
  };

  const first = await interrupted("SIGINT", ["--json"]);
  assert.equal(first.code, 130, first.stderr);
  assert.equal(first.stdout.split("\n").length, 2, "one line: the report is closed");
  const report = JSON.parse(first.stdout) as {
    rows: { row: number; status: string }[];
    stored: number;
    error: { code: string; message: string };
  };
  assert.equal(report.error.code, "INTERRUPTED");
  assert.ok(report.stored >= 1_000 && report.stored < ROWS, `stopped part-way: ${report.stored} of ${ROWS} stored`);
  assert.equal(report.stored % 1_000, 0, "stopped at a chunk boundary");
  assert.equal(report.rows.length, report.stored);
  assert.ok(report.rows.every((r, i) => r.row === i + 2 && r.status === "stored"));
  assert.equal(storedInDb(), report.stored, "every row reported stored is stored, and no other");
  assert.match(first.stderr, /SIGINT: stopping the import after the rows in hand \(a second signal exits at once\)/);
  assert.match(first.stderr, new RegExp(`interrupted after ${report.stored} of ${ROWS} rows`));

  const second = await interrupted("SIGTERM", []);
  assert.equal(second.code, 143, second.stderr);
  const summary = second.stdout.trimEnd().split("\n").at(-1)!;
  const m = /^(\d+) stored, (\d+) already stored, 0 rejected of (\d+) rows, then stopped$/.exec(summary);
  assert.ok(m, `the text report closes with its summary: ${summary}`);
  assert.equal(Number(m[2]) + Number(m[1]), Number(m[3]), "every row reported is stored or already stored");
  // already stored: exactly those of the rows it reached that the first import stored
  assert.equal(Number(m[2]), Math.min(Number(m[3]), report.stored), summary);
  const afterTwo = storedInDb();
  assert.ok(afterTwo < ROWS, `the second import stopped part-way too: ${afterTwo}`);

  const last = await runImport(dir, file);
  assert.equal(last.code, 0, last.stderr);
  assert.equal(
    last.stdout.trimEnd().split("\n").at(-1),
    `${ROWS - afterTwo} stored, ${afterTwo} already stored, 0 rejected of ${ROWS} rows`,
  );
  assert.equal(storedInDb(), ROWS);
});

test("import - reads the CSV from stdin (copied to the data dir, removed at the end); SIGINT while stdin is read stores nothing", async () => {
  const dir = join(tmp.dir, "stdin");
  mkdirSync(dir);
  const meter = makeDevice("kangaita-meter-1");
  nodeIn(dir, [meter]);
  const signOf = fastSigner(meter);
  const ts0 = Math.floor(Date.now() / 1000) - 86_400;
  const rows = Array.from({ length: 2_500 }, (_, i) => {
    const r = meterReading(meter, i + 1, ts0 + 5 * i, 120);
    return `${r.deviceId},${r.facilityId},${r.seq},${r.ts},5,electricity,120,${signOf(r)}`;
  });
  const text = `deviceId,facilityId,seq,ts,intervalS,kind,energyWh,sig\n${rows.join("\n")}\n`;
  const spools = () => readdirSync(join(dir, "data")).filter((f) => f.startsWith("import-stdin."));
  const readingsInDb = () => readingCount(dir);

  // stdin left open after half the file (an export still being written): SIGINT once it is spooling
  const half = text.slice(0, text.length >> 1);
  const cut = await runImport(dir, "-", ["--json"], {
    stdin: (stdin, pid) => {
      stdin.write(half);
      void waitFor(() => existsSync(join(dir, "data")) && spools().length > 0, {
        timeoutMs: 30_000,
        what: "the importer to spool stdin",
      }).then(() => process.kill(pid, "SIGINT"));
    },
  });
  assert.equal(cut.code, 130, cut.stderr);
  assert.deepEqual(JSON.parse(cut.stdout), {
    rows: [],
    stored: 0,
    alreadyStored: 0,
    rejected: 0,
    error: { code: "INTERRUPTED", message: "the import was interrupted while stdin was read: nothing was stored" },
  });
  assert.deepEqual(spools(), [], "the copy of stdin is removed");
  assert.equal(existsSync(join(dir, "data", "oracle.db")), false, "nothing was stored");

  // what an import killed outright (SIGKILL) leaves: its spool, whose process is gone; and the
  // spool of an import still running (this test's own process stands in for it)
  const gone = spawnSync(process.execPath, ["-e", "0"]).pid!;
  mkdirSync(join(dir, "data"), { recursive: true });
  writeFileSync(join(dir, "data", `import-stdin.${gone}.csv`), half);
  writeFileSync(join(dir, "data", `import-stdin.${process.pid}.csv`), half);
  const whole = await runImport(dir, "-", [], { stdin: text });
  assert.equal(whole.code, 0, whole.stderr);
  const lines = whole.stdout.trimEnd().split("\n");
  assert.equal(lines.at(-1), "2500 stored, 0 rejected of 2500 rows");
  assert.equal(lines.length, 2_501);
  assert.deepEqual(
    spools(),
    [`import-stdin.${process.pid}.csv`],
    "its own copy of stdin is removed, and the one a killed import left; a running import's is kept",
  );
  rmSync(join(dir, "data", `import-stdin.${process.pid}.csv`));
  assert.equal(readingsInDb(), 2_500);
});

test(
  "import into PostgreSQL (storage.driver postgres): every good row stored, a forged one rejected; the same file again reports each stored row as already stored",
  { skip: postgresMissing ?? false },
  async () => {
    const server = await startPostgres();
    try {
      const dir = join(tmp.dir, "pg");
      mkdirSync(dir);
      const meter = makeDevice("kangaita-meter-1");
      const url = await server.createDatabase();
      nodeIn(dir, [meter], { driver: "postgres", url });
      const signOf = fastSigner(meter);
      const ts0 = Math.floor(Date.now() / 1000) - 86_400;
      const ROWS = 3_000;
      const rows = Array.from({ length: ROWS }, (_, i) => {
        const wh = 120 + (i % 7);
        const r = meterReading(meter, i + 1, ts0 + 5 * i, wh);
        return `${r.deviceId},${r.facilityId},${r.seq},${r.ts},5,electricity,${wh},${signOf(r)}`;
      });
      // row 1,501: a value changed after signing
      rows[1_500] = rows[1_500]!.replace(/,electricity,\d+,/, ",electricity,999,");
      const file = join(dir, "erp.csv");
      writeFileSync(file, `deviceId,facilityId,seq,ts,intervalS,kind,energyWh,sig\n${rows.join("\n")}\n`);
      const first = await runImport(dir, file);
      assert.equal(first.code, 1, first.stderr);
      const lines = first.stdout.trimEnd().split("\n");
      assert.equal(lines.at(-1), `${ROWS - 1} stored, 1 rejected of ${ROWS} rows`);
      assert.match(lines[1_500]!, /^row 1502: rejected bad-signature: /);
      const s = new PostgresStorage(url);
      try {
        assert.equal(s.backlog(), ROWS - 1);
        assert.equal(s.getReadingByDeviceSeq(meter.deviceId, 3_000)!.ts, ts0 + 5 * 2_999);
        assert.equal(s.getReadingByDeviceSeq(meter.deviceId, 1_501), null);
      } finally {
        s.close();
      }
      const again = await runImport(dir, file);
      assert.equal(again.code, 1, again.stderr);
      assert.equal(
        again.stdout.trimEnd().split("\n").at(-1),
        `0 stored, ${ROWS - 1} already stored, 1 rejected of ${ROWS} rows`,
      );
    } finally {
      await server.stop();
    }
  },
);
