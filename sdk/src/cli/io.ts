import { randomBytes } from "node:crypto";
import { once } from "node:events";
import {
  closeSync,
  fstatSync,
  fsyncSync,
  lstatSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
  type Stats,
} from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { SdkError } from "../errors.ts";

/**
 * Exit codes: 0 success (no check FAILs), 1 a check FAILs, 2 bad command-line input (usage, a
 * file that cannot be read or parsed as what the option needs), 3 the run could not complete (the
 * RPC or a gateway unreachable or refusing, another operational error): nothing was decided, run
 * it again. A script tells "the evidence failed" (1) from "the check did not happen" (3).
 */
export const EXIT_OK = 0;
export const EXIT_FAIL = 1;
export const EXIT_USAGE = 2;
export const EXIT_INCOMPLETE = 3;
/**
 * stdout's reader went away before the output was all written (`carbonproof … | head`): the
 * status of a program that SIGPIPE ends (128 + 13), as `cat | head` ends cat, so that a shell's
 * `set -o pipefail` sees the CLI as it sees cat. Nothing is said on stderr: the reader chose to stop.
 */
export const EXIT_STDOUT_CLOSED = 141;

// the RPC's own failures told apart from a contract's answer: one rule, the sdk's (chain/revertName.ts)
export { rpcTransportError } from "../chain/revertName.ts";

/** A CLI error: message for stderr (none when `quiet`) and its exit code. */
export class CliError extends Error {
  override name = "CliError";
  readonly exitCode: number;
  /** The exit code is the whole report: nothing goes to stderr (stdout's reader gone, for one). */
  readonly quiet: boolean;
  constructor(message: string, exitCode: number = EXIT_USAGE, options?: { cause?: unknown; quiet?: boolean }) {
    super(message, options);
    this.exitCode = exitCode;
    this.quiet = options?.quiet ?? false;
  }
}

/**
 * A write to stdout that failed, as `processIo` reports it: its reader gone (EPIPE, `| head`) or
 * what it goes to refusing (ENOSPC, `>` onto a full disk). The message is the write's own.
 */
export class StdoutError extends Error {
  override name = "StdoutError";
  readonly code: string | undefined;
  constructor(cause: unknown) {
    super((cause as Error).message, { cause });
    this.code = (cause as NodeJS.ErrnoException).code;
  }
}

/**
 * What a failed stdout means for the run, the same for every command. A reader gone took all it
 * wanted: the run ends quietly (EXIT_STDOUT_CLOSED). Anything else is exit 3 with one line: what
 * stdout took is only part of the output, and nothing about the input was wrong.
 */
export function stdoutFailed(error: StdoutError): CliError {
  if (error.code === "EPIPE")
    return new CliError("stdout's reader has gone", EXIT_STDOUT_CLOSED, { cause: error, quiet: true });
  return new CliError(
    `Cannot write stdout: ${error.message}. What it took is only part of the output: make room (or fix what stdout goes to) and run it again.`,
    EXIT_INCOMPLETE,
    { cause: error },
  );
}

/**
 * Says `text` on stdout about files the command has just put in place (`wrote KEY.pem …`). A
 * stdout that fails then (`> /dev/full`) is exit 3 all the same, but "run it again" would not be
 * true: the files are there (keygen run again says "exists; pass --force", and makes another
 * key), so the message names them. A reader gone stays 141, quietly; so does a pipe's write that
 * fails after it returned, which `run` learns (its reader gone is all a pipe reports).
 */
export function stdoutAfterWriting(io: Io, text: string, written: readonly string[]): void {
  try {
    io.stdout(text);
  } catch (cause) {
    if (!(cause instanceof StdoutError) || cause.code === "EPIPE" || written.length === 0) throw cause;
    const names =
      written.length === 1 ? `${written[0]} was` : `${written.slice(0, -1).join(", ")} and ${written.at(-1)} were`;
    throw new CliError(
      `Cannot write stdout: ${cause.message}. ${names} written, whole; only what stdout was to say about ${written.length === 1 ? "it" : "them"} is cut short (make room, or fix what stdout goes to).`,
      EXIT_INCOMPLETE,
      { cause },
    );
  }
}

export type Io = {
  /**
   * Throws a `StdoutError` once a write to stdout has failed: at once for a file (written whole or
   * failing, a short write looped), or at the next write after a pipe's write failed.
   */
  stdout: (text: string) => void;
  /**
   * Resolves once stdout has room again (its buffer drained); rejects with a `StdoutError` when a
   * write to it failed (`>` onto a full disk, a reader gone). Commands that stream much output
   * await it between pieces, so a slow reader holds the writer back instead of the output piling
   * up in memory (pipes are asynchronous on macOS, for one), and a failed write stops the run.
   * Absent where stdout never buffers.
   */
  stdoutDrained?: () => Promise<void>;
  /**
   * Resolves once stdout has taken every write so far; rejects with a `StdoutError` when one of
   * them failed. A write to a pipe fails after it returned: `run` awaits this before a command's
   * exit code stands, and a command that says more (on stderr) after its output awaits it first.
   * Absent where stdout never buffers.
   */
  stdoutFlushed?: () => Promise<void>;
  stderr: (text: string) => void;
  readStdin: () => string;
  /** stdin in pieces, for input too large to hold whole */
  stdinStream: () => AsyncIterable<Uint8Array | string>;
  /** stderr is a terminal: progress lines are rewritten in place there */
  stderrIsTty: boolean;
  /** The clock progress lines are timed by, in ms (absent: `performance.now`). */
  now?: () => number;
};

/**
 * Listens for stdout's 'error' from the first write on: unheard, a failed write (emitted after
 * the write returned) crashes the CLI with a stack trace and exit 1, "a check failed". The error
 * is not dropped: the stream keeps it (`errored`), and the next write, `stdoutDrained` or
 * `stdoutFlushed` throws it, as `run` does once the command is done.
 */
const keptInStdout = (): void => undefined;

/** stdout's failure, if a write to it failed; listening for one from the first call on. */
function stdoutFailure(): StdoutError | undefined {
  if (!process.stdout.listeners("error").includes(keptInStdout)) process.stdout.on("error", keptInStdout);
  return process.stdout.errored ? new StdoutError(process.stdout.errored) : undefined;
}

/**
 * Listens for stderr's 'error' from the first write on: its reader gone (`2>&1 | head -1`, EPIPE)
 * or what it goes to refusing (`2> /dev/full`). Unheard, the failed write (emitted after the write
 * returned) is an uncaught exception: exit 1, "a check failed", and no `finally` runs, so a
 * command stopped there leaves its temp file (sign-csv's, as large as its output). Heard, it is
 * let go: stderr is where the CLI reports a failure, so nothing is left to report this one on.
 * The run goes on, cleans up as it would, and its exit code stands: the command's own (2 for a
 * usage error, 0 for a file written whole), or 141 when stdout's reader has gone too and the
 * command wrote to stdout, as ever. What went to stderr is lost; stdout and the files are not.
 */
const stderrLost = (): void => undefined;

/**
 * stdout is a regular file (`> out.csv`, `>> log`), asked once. Node then makes process.stdout a
 * SyncWriteStream, which calls writeSync once per write and ignores how much it took: a short
 * write (a disk filling up, `ulimit -f`) would lose the rest with no error and exit 0. Such a
 * stdout is written with `writeAll` instead, whose loop meets the error of the rest. (fd 1 is
 * always there to ask: Node opens /dev/null on it at startup when it was closed, `>&-`.)
 */
let stdoutFile: boolean | undefined;
function stdoutIsFile(): boolean {
  stdoutFile ??= fstatSync(1).isFile();
  return stdoutFile;
}

export const processIo: Io = {
  stdout: (text) => {
    // nothing to write is not written: an empty write to /dev/full fails all the same
    if (text === "") return;
    if (stdoutIsFile()) {
      try {
        writeAll(1, Buffer.from(text, "utf8"));
      } catch (cause) {
        throw new StdoutError(cause);
      }
      return;
    }
    let failed = stdoutFailure();
    if (failed === undefined) {
      process.stdout.write(text);
      failed = stdoutFailure();
    }
    if (failed !== undefined) throw failed;
  },
  stdoutDrained: async () => {
    let failed = stdoutFailure();
    if (failed === undefined && process.stdout.writableNeedDrain) {
      try {
        await once(process.stdout, "drain");
      } catch (cause) {
        throw new StdoutError(cause);
      }
      failed = stdoutFailure();
    }
    if (failed !== undefined) throw failed;
  },
  stdoutFlushed: async () => {
    const failed = stdoutFailure();
    if (failed !== undefined) throw failed;
    // nothing held: every write is done (a failed one set `errored`). An empty write is not made
    // then: one to /dev/full fails, though nothing was to be written
    if (process.stdout.writableLength === 0) return;
    // an empty write is called back once every write before it is done, with the error of one that failed
    await new Promise<void>((resolve, reject) =>
      process.stdout.write("", (error) =>
        error ? reject(new StdoutError(process.stdout.errored ?? error)) : resolve(),
      ),
    );
  },
  stderr: (text) => {
    if (!process.stderr.listeners("error").includes(stderrLost)) process.stderr.on("error", stderrLost);
    // one write failed: the stream is destroyed, and the rest would go nowhere either
    if (process.stderr.errored === null) process.stderr.write(text);
  },
  readStdin: () => readFileSync(0, "utf8"),
  stdinStream: () => process.stdin,
  stderrIsTty: process.stderr.isTTY === true,
};

/** The bytes of FILE; a file that cannot be read (missing, a directory) is a usage error naming it and why. */
export function readFileBytes(file: string): Uint8Array {
  try {
    return new Uint8Array(readFileSync(file));
  } catch (cause) {
    throw new CliError(`Cannot read ${file}: ${(cause as Error).message}`, EXIT_USAGE, { cause });
  }
}

/**
 * An output path the user has to change (a missing folder, no permission, a read-only disk, a
 * directory where the file goes), as the code of opening its temp file or renaming it into place:
 * bad input, exit 2. Any other failure of the output (a full disk, an I/O error, a file size
 * limit) says nothing about the input: the run could not complete, 3.
 */
const OUTPUT_PATH_ERRORS = new Set([
  "ENOENT",
  "ENOTDIR",
  "EISDIR",
  "EACCES",
  "EPERM",
  "EROFS",
  "ENAMETOOLONG",
  "ELOOP",
]);

/** The failure (of opening or renaming an output) is a path the user has to change: exit 2. */
export function isOutputPathError(cause: unknown): boolean {
  return OUTPUT_PATH_ERRORS.has((cause as NodeJS.ErrnoException).code ?? "");
}

/**
 * A temp file's path beside `file` (the same disk, so the rename is atomic). The random part is
 * what keeps a name planted ahead in a shared folder (a symlink to a file of the user's) from
 * being met: a pid alone is guessed. Open it with "wx", so that one there anyway is not followed;
 * EEXIST then is a clash of random names, gone when the command is run again.
 */
export function tempPathBeside(file: string): string {
  return join(dirname(file), `.${basename(file)}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`);
}

/**
 * Writes `bytes` to `fd` whole. A write may take only part (a disk filling up, a file size limit)
 * without an error: unlooped, the file would end short and still be put in place; the write of
 * the rest fails with the reason.
 */
export function writeAll(fd: number, bytes: Uint8Array): void {
  for (let at = 0; at < bytes.byteLength;) at += writeSync(fd, bytes, at);
}

/** FILE (named by `flag`) cannot be written where it is: exit 2, the user's to change. */
export function outputPathRefused(file: string, flag: string, cause: unknown): CliError {
  return new CliError(
    `Cannot write ${file}: ${(cause as Error).message}. Give ${flag} the path of a file this user can write, in a folder that exists.`,
    EXIT_USAGE,
    { cause },
  );
}

/** Writing FILE through `temp` failed part-way: exit 3; nothing was put in place, the same command runs again. */
export function outputWriteFailed(file: string, temp: string, cause: unknown): CliError {
  return new CliError(
    `Cannot write ${file}: ${(cause as Error).message} (writing ${temp}). Nothing was written to ${file}; make room on its disk (or fix what stopped the write) and run it again.`,
    EXIT_INCOMPLETE,
    { cause },
  );
}

/**
 * What is at `path`, when it is something a rename would not put a file in place of as the user
 * means: a directory (the rename fails with EISDIR, after the files before it were put in place),
 * or a FIFO, a socket or a device (replaced by a regular file), or a symlink to one of those (the
 * link replaced). Nothing there, a file, or a symlink to a file (or to nothing) is undefined.
 */
function notAFileAt(path: string): string | undefined {
  const kind = (stats: Stats) =>
    stats.isDirectory()
      ? "a directory"
      : stats.isFIFO()
        ? "a FIFO"
        : stats.isSocket()
          ? "a socket"
          : stats.isCharacterDevice() || stats.isBlockDevice()
            ? "a device"
            : undefined;
  const here = lstatSync(path, { throwIfNoEntry: false });
  if (here === undefined || here.isFile()) return undefined;
  if (!here.isSymbolicLink()) return kind(here);
  const target = statSync(path, { throwIfNoEntry: false });
  const targetKind = target === undefined ? undefined : kind(target);
  return targetKind === undefined ? undefined : `a symlink to ${targetKind}`;
}

/**
 * Refuses (exit 2) an output `path`, named by `flag`, where something other than a file is (see
 * notAFileAt), before `temp`, written whole, is renamed over it: a rename would fail on a
 * directory, and would put a regular file in place of a FIFO or a device (as root, `--out
 * /dev/null --force` would have replaced /dev/null).
 */
export function refuseNotAFile(path: string, flag: string, temp?: string): void {
  // /dev and /proc hold devices and links to a process's open files (/dev/stdout, /dev/fd/1):
  // whatever such a link points at now, a rename puts a regular file in its place (root may make
  // the temp file there), so no output goes in them
  const folder = dirname(resolve(path));
  if (/^\/(dev|proc)(\/|$)/.test(folder))
    throw new CliError(
      `Cannot write ${path}: ${folder} holds devices and links to a process's files, which a file put in its place would replace. Give ${flag} the path of a file in another folder.`,
      EXIT_USAGE,
    );
  let there: string | undefined;
  try {
    there = notAFileAt(path);
  } catch (cause) {
    throw isOutputPathError(cause) || temp === undefined
      ? outputPathRefused(path, flag, cause)
      : outputWriteFailed(path, temp, cause);
  }
  if (there !== undefined)
    throw new CliError(
      `Cannot write ${path}: ${there} is there, not a file. Give ${flag} the path of a file this user can write, in a folder that exists.`,
      EXIT_USAGE,
    );
}

/** A file for `writeFilesWhole`: its path, what goes in it, its mode, and the option that named it. */
export type OutputFile = { path: string; data: string | Uint8Array; mode?: number; flag: string };

/**
 * Writes the files whole or not at all, as `device sign-csv` writes its --out: each into a temp
 * file beside it (`tempPathBeside`, opened "wx": a symlink planted there is not followed),
 * created with its `mode` (default 0644, less the umask; a key is never readable by others, not
 * even for a moment), every byte written and synced; then, all of them written, each renamed into
 * place in the order given (so a write that fails puts none of them in place, nor does a path
 * where something other than a file is, a directory under --force: all are checked before the
 * first rename; a rename that fails anyway leaves those before it in place). A path that cannot
 * be written (no such folder, no permission, a directory) is exit 2; a write that fails part-way
 * (a full disk, an I/O error, a file size limit) is exit 3. No temp file is left behind either way.
 */
export function writeFilesWhole(files: readonly OutputFile[]): void {
  const temps: string[] = [];
  try {
    for (const file of files) {
      const temp = tempPathBeside(file.path);
      let fd: number;
      try {
        fd = openSync(temp, "wx", file.mode ?? 0o644);
      } catch (cause) {
        throw isOutputPathError(cause)
          ? outputPathRefused(file.path, file.flag, cause)
          : outputWriteFailed(file.path, temp, cause);
      }
      temps.push(temp);
      let fdOpen = true;
      try {
        writeAll(fd, typeof file.data === "string" ? Buffer.from(file.data, "utf8") : file.data);
        // a disk reports some write failures (an I/O error, a quota on a network disk) only at
        // fsync or close: learnt before the file is put in place, and durable once it is
        fsyncSync(fd);
        fdOpen = false;
        closeSync(fd);
      } catch (cause) {
        if (fdOpen) closeSync(fd);
        throw outputWriteFailed(file.path, temp, cause);
      }
    }
    // every path checked before any is renamed: a refusal leaves all of them as they were (keygen
    // --force onto a directory at --out must not have replaced --pub with a discarded key's half)
    files.forEach((file, i) => refuseNotAFile(file.path, file.flag, temps[i]!));
    files.forEach((file, i) => {
      try {
        renameSync(temps[i]!, file.path);
      } catch (cause) {
        // the temp file beside it was written: what is left is the path (a directory made there since)
        throw isOutputPathError(cause)
          ? outputPathRefused(file.path, file.flag, cause)
          : outputWriteFailed(file.path, temps[i]!, cause);
      }
    });
  } finally {
    // only the temp files this run made: a file already at a name (EEXIST) is someone else's
    for (const temp of temps) rmSync(temp, { force: true });
  }
}

/** One file, written as `writeFilesWhole` writes it; `flag` is the option that named it (default --out). */
export function writeFileWhole(
  file: string,
  data: string | Uint8Array,
  options: { mode?: number; flag?: string } = {},
): void {
  writeFilesWhole([{ path: file, data, mode: options.mode, flag: options.flag ?? "--out" }]);
}

/** Text of FILE, or of stdin for `-` or no file. */
export function readInput(io: Io, file: string | undefined): { text: string; name: string } {
  if (file === undefined || file === "-") return { text: io.readStdin(), name: "stdin" };
  try {
    return { text: readFileSync(file, "utf8"), name: file };
  } catch (cause) {
    throw new CliError(`Cannot read ${file}: ${(cause as Error).message}`, EXIT_USAGE, { cause });
  }
}

export function parseJson(text: string, name: string): unknown {
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw new CliError(`${name} is not valid JSON: ${(cause as Error).message}`, EXIT_USAGE, { cause });
  }
}

/** JSON with bigint as decimal strings. */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_k, v) => (typeof v === "bigint" ? v.toString() : v), 2);
}

export function describeError(error: unknown): string {
  if (error instanceof SdkError || error instanceof CliError) return error.message;
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}
