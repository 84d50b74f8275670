import {
  closeSync,
  createReadStream,
  existsSync,
  fstatSync,
  fsyncSync,
  openSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
} from "node:fs";
import { randomBytes } from "node:crypto";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { StringDecoder } from "node:string_decoder";
import { parseArgs } from "node:util";
import { SdkError } from "../../errors.ts";
import { parseEnvelope, parseReading } from "../../reading/parse.ts";
import { readingDigestHex } from "../../reading/digest.ts";
import {
  CsvRecordParser,
  csvRowSigner,
  emptyCsvError,
  formatCsvRecord,
  readCsvRecords,
  type CsvRowProblem,
} from "../../reading/csv.ts";
import {
  generateDeviceKey,
  publicKeyFromPem,
  publicKeyFromXY,
  publicKeyOf,
  publicKeyToPem,
  publicKeyToXY,
  secretKeyFromPem,
  secretKeyToPem,
  signReading,
  verifyEnvelope,
} from "../../reading/sign.ts";
import { bytesToHex } from "../../hex.ts";
import {
  CliError,
  EXIT_FAIL,
  EXIT_INCOMPLETE,
  EXIT_OK,
  EXIT_USAGE,
  StdoutError,
  isOutputPathError,
  outputPathRefused,
  outputWriteFailed,
  parseJson,
  readInput,
  refuseNotAFile,
  stdoutAfterWriting,
  stdoutFailed,
  tempPathBeside,
  toJson,
  writeAll,
  writeFilesWhole,
  type Io,
} from "../io.ts";
import { ProgressLine, formatCount } from "../progress.ts";

export const DEVICE_HELP = `Usage: carbonproof device <keygen|sign|sign-csv|verify> [options]

  keygen     make a P-256 key pair (PKCS#8 PEM, file mode 0600)
  sign       sign a reading file into an envelope
  sign-csv   sign the rows of a CSV of readings for \`carbonproof-oracle import\`
  verify     verify an envelope's signature

Run \`carbonproof device <command> --help\` for each command's options.
`;

const KEYGEN_HELP = `Usage: carbonproof device keygen --out KEY.pem [--pub PUB.pem] [--force] [--json]

Makes a P-256 key pair. Writes the private key as PKCS#8 PEM to KEY.pem with file mode
0600 (and the public key as SPKI PEM to PUB.pem when given). Prints the public key:
uncompressed hex and (x, y) as bytes32 for DeviceRegistry. Refuses to overwrite unless
--force.
`;

const SIGN_HELP = `Usage: carbonproof device sign --key KEY.pem [READING.json|-] [--key-id ID]

Validates the reading (reading v1, docs/protocol.md), signs SHA-256 of its canonical
bytes with P-256 (RFC 6979, low-s) and prints the envelope {reading, sig[, keyId]}.
`;

const SIGN_CSV_HELP = `Usage: carbonproof device sign-csv --key KEY.pem [IN.csv|-] [--out OUT.csv] [--force]
         [--key-id ID] [--skip-invalid] [--resign]

Signs a CSV of readings, one per row, for \`carbonproof-oracle import\` (docs/oracle.md
"CSV import"): columns deviceId, facilityId, seq, ts, intervalS, kind, the measurement fields
by their protocol names (energyWh, co2Ppm, fuel, massGrams, evidenceSha256, …), optional v,
sig and keyId. Each row is validated as a reading v1 and signed as \`device sign\` signs one
(P-256 over SHA-256 of its canonical bytes, low-s). Writes the same CSV with the sig column
(added when missing) filled in, to OUT.csv or stdout.

  --out OUT.csv     write here (atomically: a temp file renamed); refuses an existing
                    file unless --force
  --key-id ID       set every row's keyId (a keyId column is added when missing)
  --skip-invalid    leave bad rows out and list them on stderr (exit 0); by default any
                    bad row stops the run with exit 2 and nothing is written
  --resign          sign rows that already carry a sig again (by default they are bad rows)

Exit 2 for bad rows and for an OUT.csv that cannot be written where it is (no such folder,
no permission, a directory); 3 when writing fails part-way (a full disk, an I/O error): then
nothing is put in place, and the same command can be run again once the disk has room.

Bad rows are named by the line of the file they start on (the header is line 1). The file
is read and written in pieces (memory stays bounded however long it is); the output is
written to a temp file first (next to OUT.csv, or in the temp directory for stdout) and only
put in place, or copied to stdout, when every row passed. Progress (rows signed, rows/s, how
far into the file) goes to stderr: rewritten in place on a terminal, otherwise a line every
5 s; then a final count.
`;

const VERIFY_HELP = `Usage: carbonproof device verify [ENVELOPE.json|-] (--pub PUB.pem | --key KEY.pem | --x HEX --y HEX)

Checks the envelope's schema and its P-256 signature (low-s) against the public key.
Prints PASS or FAIL with the reason. Exit 0 on PASS, 1 on FAIL, 2 on bad input.
`;

/** Refuses, before anything is written, a file that exists (without `--force`) or whose folder does not. */
function checkWritable(path: string, force: boolean, flag = "--out"): void {
  if (existsSync(path) && !force) throw new CliError(`${path} exists; pass --force to overwrite.`);
  // before any work too (checked again before the rename): a long file is not signed only to
  // find a directory or a device at its --out
  refuseNotAFile(path, flag);
  if (!existsSync(dirname(resolve(path))))
    throw new CliError(
      `Cannot write ${path}: no folder ${dirname(resolve(path))}. Make the folder, or give a path in one that exists.`,
    );
}

function readPem(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (cause) {
    throw new CliError(`Cannot read ${path}: ${(cause as Error).message}`, EXIT_USAGE, { cause });
  }
}

function asCliError<T>(fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    if (error instanceof SdkError) throw new CliError(error.message, EXIT_USAGE, { cause: error });
    throw error;
  }
}

export async function deviceCommand(io: Io, argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === "--help" || sub === "-h") {
    io.stdout(DEVICE_HELP);
    return sub === undefined ? EXIT_USAGE : EXIT_OK;
  }
  if (sub === "keygen") {
    const { values, positionals } = parseArgs({
      args: rest,
      options: {
        out: { type: "string" },
        pub: { type: "string" },
        force: { type: "boolean" },
        json: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
      allowPositionals: true,
    });
    if (values.help) return (io.stdout(KEYGEN_HELP), EXIT_OK);
    if (positionals.length > 0 || values.out === undefined)
      throw new CliError("keygen needs --out KEY.pem (and nothing else).");
    // both paths checked before either is written: a refused --pub must not leave a key behind
    checkWritable(values.out, values.force ?? false);
    if (values.pub !== undefined) {
      if (resolve(values.pub) === resolve(values.out)) throw new CliError("--pub and --out name the same file.");
      checkWritable(values.pub, values.force ?? false, "--pub");
    }
    const key = generateDeviceKey();
    // a directory (or a device) at either path, with --force, is refused before either is renamed;
    // the key last all the same: a --pub whose rename fails anyway leaves no new key in place, nor
    // an old one replaced by a key whose public half was not written
    const written = values.pub === undefined ? [values.out] : [values.pub, values.out];
    writeFilesWhole([
      ...(values.pub === undefined
        ? []
        : [{ path: values.pub, data: publicKeyToPem(key.publicKey), mode: 0o644, flag: "--pub" }]),
      { path: values.out, data: secretKeyToPem(key.secretKey), mode: 0o600, flag: "--out" },
    ]);
    const info = { privateKeyFile: values.out, publicKey: bytesToHex(key.publicKey), ...publicKeyToXY(key.publicKey) };
    stdoutAfterWriting(
      io,
      values.json
        ? `${toJson(info)}\n`
        : `wrote ${values.out} (mode 0600)\npublicKey ${info.publicKey}\nx ${info.x}\ny ${info.y}\n`,
      written,
    );
    return EXIT_OK;
  }
  if (sub === "sign") {
    const { values, positionals } = parseArgs({
      args: rest,
      options: { key: { type: "string" }, "key-id": { type: "string" }, help: { type: "boolean", short: "h" } },
      allowPositionals: true,
    });
    if (values.help) return (io.stdout(SIGN_HELP), EXIT_OK);
    if (values.key === undefined) throw new CliError("sign needs --key KEY.pem.");
    if (positionals.length > 1) throw new CliError("sign takes at most one READING file.");
    const secretKey = asCliError(() => secretKeyFromPem(readPem(values.key!)));
    const { text, name } = readInput(io, positionals[0]);
    const reading = asCliError(() => parseReading(parseJson(text, name)));
    io.stdout(`${toJson(signReading(reading, secretKey, values["key-id"]))}\n`);
    return EXIT_OK;
  }
  if (sub === "sign-csv") return await signCsvCommand(io, rest);
  if (sub === "verify") {
    const { values, positionals } = parseArgs({
      args: rest,
      options: {
        pub: { type: "string" },
        key: { type: "string" },
        x: { type: "string" },
        y: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
      allowPositionals: true,
    });
    if (values.help) return (io.stdout(VERIFY_HELP), EXIT_OK);
    if (positionals.length > 1) throw new CliError("verify takes at most one ENVELOPE file.");
    const given = [values.pub, values.key, values.x ?? values.y].filter((v) => v !== undefined).length;
    if (given !== 1)
      throw new CliError("verify needs exactly one of --pub PUB.pem, --key KEY.pem, or --x HEX --y HEX.");
    const publicKey = asCliError(() => {
      if (values.pub !== undefined) return publicKeyFromPem(readPem(values.pub));
      if (values.key !== undefined) return publicKeyOf(secretKeyFromPem(readPem(values.key)));
      if (values.x === undefined || values.y === undefined) throw new CliError("--x and --y go together.");
      return publicKeyFromXY(values.x as `0x${string}`, values.y as `0x${string}`);
    });
    const { text, name } = readInput(io, positionals[0]);
    const envelope = asCliError(() => parseEnvelope(parseJson(text, name)));
    const digest = readingDigestHex(envelope.reading);
    if (verifyEnvelope(envelope, publicKey)) {
      io.stdout(`PASS signature: ${envelope.reading.deviceId} seq ${envelope.reading.seq} digest ${digest}\n`);
      return EXIT_OK;
    }
    io.stdout(
      `FAIL signature: ${envelope.reading.deviceId} seq ${envelope.reading.seq} digest ${digest}: not a valid low-s P-256 signature by this key\n`,
    );
    return EXIT_FAIL;
  }
  throw new CliError(`Unknown device command ${JSON.stringify(sub)}.\n\n${DEVICE_HELP}`);
}

function listProblems(problems: CsvRowProblem[]): string {
  return problems.map((p) => `  line ${p.line}: ${p.message}\n`).join("");
}

/** The pieces of `source`; an error reading it is a `CliError` naming `name`. */
async function* readPieces(
  source: AsyncIterable<Uint8Array | string>,
  name: string,
  onPiece: (bytes: number) => void,
): AsyncGenerator<Uint8Array | string> {
  try {
    for await (const piece of source) {
      onPiece(piece.length);
      yield piece;
    }
  } catch (cause) {
    throw new CliError(`Cannot read ${name}: ${(cause as Error).message}`, EXIT_USAGE, { cause });
  }
}

/** Text written to a file descriptor in pieces of about 64 KiB, each whole; `fail` says why a write failed. */
function bufferedWriter(fd: number, fail: (cause: unknown) => Error) {
  let parts: string[] = [];
  let length = 0;
  const flush = () => {
    if (length > 0) {
      try {
        writeAll(fd, Buffer.from(parts.join(""), "utf8"));
      } catch (cause) {
        throw fail(cause);
      }
    }
    parts = [];
    length = 0;
  };
  return {
    write(text: string) {
      parts.push(text);
      length += text.length;
      if (length >= 65_536) flush();
    },
    flush,
  };
}

/**
 * Copies the file at `path` to stdout in pieces, each once stdout has room for it. A write to
 * stdout that fails (`>` onto a full disk) is exit 3: part of the CSV may be there already. A
 * reader gone (`| head`) ends the run quietly, as for every command (`stdoutFailed`).
 */
async function copyToStdout(io: Io, path: string): Promise<void> {
  const put = async (text: string, wait: (() => Promise<void>) | undefined) => {
    try {
      io.stdout(text);
      await wait?.();
    } catch (cause) {
      if (cause instanceof StdoutError && cause.code === "EPIPE") throw stdoutFailed(cause);
      throw new CliError(
        `Cannot write stdout: ${(cause as Error).message}. What it took is only part of the signed CSV: do not import it; make room (or fix what stdout goes to) and run it again, or give --out.`,
        EXIT_INCOMPLETE,
        { cause },
      );
    }
  };
  const fd = openSync(path, "r");
  try {
    const buffer = Buffer.alloc(65_536);
    const decoder = new StringDecoder("utf8");
    for (let n = readSync(fd, buffer); n > 0; n = readSync(fd, buffer))
      await put(decoder.write(buffer.subarray(0, n)), io.stdoutDrained);
    // the last piece waited for until stdout has taken it all (a pipe's write fails after it
    // returned): a write that failed is reported, not followed by "signed N rows"
    await put(decoder.end(), io.stdoutFlushed ?? io.stdoutDrained);
  } finally {
    closeSync(fd);
  }
}

async function signCsvCommand(io: Io, argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      key: { type: "string" },
      "key-id": { type: "string" },
      out: { type: "string" },
      force: { type: "boolean" },
      "skip-invalid": { type: "boolean" },
      resign: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
    allowPositionals: true,
  });
  if (values.help) return (io.stdout(SIGN_CSV_HELP), EXIT_OK);
  if (values.key === undefined) throw new CliError("sign-csv needs --key KEY.pem (the device's private key).");
  if (positionals.length > 1) throw new CliError("sign-csv takes at most one CSV file (or - for stdin).");
  const out = values.out;
  // refused before any work, as keygen refuses: a long file is not signed only to be thrown away
  if (out !== undefined) checkWritable(out, values.force ?? false);
  const secretKey = asCliError(() => secretKeyFromPem(readPem(values.key!)));
  const skipInvalid = values["skip-invalid"] ?? false;

  const file = positionals[0] === "-" ? undefined : positionals[0];
  const name = file ?? "stdin";
  let source: AsyncIterable<Uint8Array | string>;
  let sizeBytes: number | null = null;
  if (file === undefined) source = io.stdinStream();
  else {
    let fd: number;
    try {
      fd = openSync(file, "r");
      sizeBytes = fstatSync(fd).size;
    } catch (cause) {
      throw new CliError(`Cannot read ${file}: ${(cause as Error).message}`, EXIT_USAGE, { cause });
    }
    source = createReadStream(file, { fd, highWaterMark: 65_536 });
  }
  let readBytes = 0;
  const parser = new CsvRecordParser();
  const records = readCsvRecords(
    readPieces(source, name, (n) => (readBytes += n)),
    parser,
  );

  // the output goes to a temp file (next to OUT.csv, renamed into place; or in the temp
  // directory, then copied to stdout) so that nothing is written unless every row passed. Both
  // names are random and opened "wx": a link planted at a name guessed ahead (`.OUT.csv.PID.tmp`
  // in a shared folder) would have had the signed CSV written through it
  const temp =
    out === undefined
      ? join(tmpdir(), `carbonproof-sign-csv-${process.pid}-${randomBytes(4).toString("hex")}.csv`)
      : tempPathBeside(out);
  // part-way: the input was fine and nothing was put in place; the same command runs again
  const writeFailed = (cause: unknown) =>
    out === undefined
      ? new CliError(
          `Cannot write the temp file ${temp} (the output goes there before stdout): ${(cause as Error).message}. Nothing was written to stdout; check that ${dirname(temp)} (the temp directory; TMPDIR sets it) exists, this user can write it and it has room, then run it again, or give --out.`,
          EXIT_INCOMPLETE,
          { cause },
        )
      : outputWriteFailed(out, temp, cause);
  // the temp file beside OUT.csv is OUT.csv's path: one it cannot be made at is the user's to
  // change (2); one in the temp directory is not the user's input (3), nor is EEXIST (a clash of
  // random names: the next run picks another)
  const cannotOpen = (cause: unknown) =>
    out !== undefined && isOutputPathError(cause) ? outputPathRefused(out, "--out", cause) : writeFailed(cause);
  const progress = new ProgressLine({ write: io.stderr, tty: io.stderrIsTty });
  let signed = 0;
  let invalid = 0;
  const shown: CsvRowProblem[] = [];
  let fd: number | null = null;
  // removed when done or stopped, once this run made it: a file already at its name is not ours
  let tempMade = false;
  // Ctrl-C or SIGTERM: the temp file (as large as the output) is removed, OUT.csv not written, exit 130/143
  const interrupted = (signal: NodeJS.Signals) => {
    progress.done();
    if (tempMade) rmSync(temp, { force: true });
    io.stderr(
      `interrupted by ${signal}: nothing was written${out === undefined ? " past what stdout has" : ` to ${out}`}\n`,
    );
    process.exit(signal === "SIGINT" ? 130 : 143);
  };
  process.on("SIGINT", interrupted);
  process.on("SIGTERM", interrupted);
  try {
    try {
      const head = await records.next();
      if (head.done) throw emptyCsvError();
      const signer = csvRowSigner(head.value.cells, secretKey, { keyId: values["key-id"], resign: values.resign });
      try {
        fd = openSync(temp, "wx");
      } catch (cause) {
        throw cannotOpen(cause);
      }
      tempMade = true;
      const output = bufferedWriter(fd, writeFailed);
      // the header's line ending for every row (CRLF from a spreadsheet stays CRLF), and its BOM
      const eol = parser.eol ?? "\n";
      output.write(`${parser.bom ? "\ufeff" : ""}${formatCsvRecord(signer.header)}${eol}`);
      const line = () => {
        const far = sizeBytes ? `, ${Math.floor((100 * readBytes) / sizeBytes)}% of ${name}` : "";
        const bad = invalid > 0 ? `, ${formatCount(invalid)} invalid` : "";
        return `signed ${formatCount(signed)} rows${bad}, ${formatCount(progress.rate(signed))} rows/s${far}`;
      };
      for await (const row of records) {
        const checked = signer.check(row);
        if ("message" in checked) {
          invalid++;
          if (skipInvalid) progress.log(`skipped line ${checked.line}: ${checked.message}\n`);
          else if (shown.length < 20) shown.push(checked);
        } else if (skipInvalid || invalid === 0) {
          // once a row is bad nothing is written: the rest are only checked, to list them all
          output.write(`${formatCsvRecord(signer.sign(checked))}${eol}`);
          signed++;
        }
        progress.update(line);
      }
      output.flush();
      try {
        // a disk reports some write failures (an I/O error, a quota on a network disk) only at
        // fsync or close: learnt before the file is put in place, and durable once it is
        fsyncSync(fd);
        // let go of before it is closed: a close that fails has released the fd all the same, and
        // closing it again in the finally would put EBADF in place of the real error
        const closing = fd;
        fd = null;
        closeSync(closing);
      } catch (cause) {
        throw writeFailed(cause);
      }
    } catch (error) {
      if (error instanceof SdkError) throw new CliError(`${name}: ${error.message}`, EXIT_USAGE, { cause: error });
      throw error;
    } finally {
      progress.done();
      if (fd !== null) closeSync(fd);
    }
    if (invalid > 0 && !skipInvalid) {
      const more = invalid > shown.length ? `  … and ${invalid - shown.length} more\n` : "";
      throw new CliError(
        `${name}: ${invalid} invalid row(s); nothing was signed or written. Fix them, or pass --skip-invalid to sign the others:\n${listProblems(shown)}${more}`.trimEnd(),
        EXIT_USAGE,
      );
    }
    if (out === undefined) await copyToStdout(io, temp);
    else {
      refuseNotAFile(out, "--out", temp);
      try {
        renameSync(temp, out);
      } catch (cause) {
        // the temp file beside it was written: what is left is OUT.csv's path (EISDIR: --force onto a directory)
        throw cannotOpen(cause);
      }
    }
  } finally {
    process.off("SIGINT", interrupted);
    process.off("SIGTERM", interrupted);
    await records.return(undefined); // closes the input when a bad header or syntax stopped the run early
    if (tempMade) rmSync(temp, { force: true });
  }
  if (invalid > 0) io.stderr(`skipped ${formatCount(invalid)} invalid row(s)\n`);
  io.stderr(`signed ${formatCount(signed)} rows${out === undefined ? "" : ` to ${out}`}\n`);
  return EXIT_OK;
}
