import { once } from "node:events";
import { closeSync, openSync, readFileSync, renameSync, rmSync, writeSync } from "node:fs";
import { basename, dirname, join } from "node:path";
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
 * The error of viem's RPC transport among `error` and its causes (unreachable, timed out, an HTTP
 * error status), if any: the run could not complete (exit 3). Gateways and files are read with
 * fetch and fs, so this names the RPC only.
 */
export function rpcTransportError(error: unknown): Error | undefined {
  for (let e = error, depth = 0; e instanceof Error && depth < 10; e = e.cause, depth++)
    if (["HttpRequestError", "TimeoutError", "WebSocketRequestError"].includes(e.name)) return e;
  return undefined;
}

/** A CLI error: message for stderr and its exit code. */
export class CliError extends Error {
  override name = "CliError";
  readonly exitCode: number;
  constructor(message: string, exitCode: number = EXIT_USAGE, options?: { cause?: unknown }) {
    super(message, options);
    this.exitCode = exitCode;
  }
}

export type Io = {
  stdout: (text: string) => void;
  /**
   * Resolves once stdout has room again (its buffer drained); rejects with the error of a write
   * to it that failed (`>` onto a full disk, a reader gone). Commands that stream much output
   * await it between pieces and after the last, so a slow reader holds the writer back instead
   * of the output piling up in memory (pipes are asynchronous on macOS, for one), and a failed
   * write is theirs to report. Absent where stdout never buffers.
   */
  stdoutDrained?: () => Promise<void>;
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
 * Listens for stdout's 'error' once a command awaits `stdoutDrained`: unheard, a failed write
 * (emitted after the write returned) crashes the CLI with a stack trace and exit 1, "a check
 * failed". The error is not dropped: the stream keeps it (`errored`) and `stdoutDrained` throws it.
 */
const keptInStdout = (): void => undefined;

export const processIo: Io = {
  stdout: (text) => process.stdout.write(text),
  stdoutDrained: async () => {
    if (!process.stdout.listeners("error").includes(keptInStdout)) process.stdout.on("error", keptInStdout);
    if (process.stdout.writableNeedDrain && !process.stdout.errored) await once(process.stdout, "drain");
    if (process.stdout.errored) throw process.stdout.errored;
  },
  stderr: (text) => process.stderr.write(text),
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
 * Writes FILE whole or not at all: into a temp file beside it, created with `mode` (a key is never
 * readable by others, not even for a moment), then renamed over it. A path that cannot be written
 * (no such folder, no permission) is a usage error naming it and why (exit 2), not a failed check.
 */
export function writeFileWhole(file: string, data: string | Uint8Array, mode = 0o644): void {
  const temp = join(dirname(file), `.${basename(file)}.${process.pid}.tmp`);
  let fd: number | null = null;
  try {
    fd = openSync(temp, "wx", mode);
    const bytes = typeof data === "string" ? Buffer.from(data, "utf8") : data;
    for (let at = 0; at < bytes.byteLength;) at += writeSync(fd, bytes, at);
    closeSync(fd);
    fd = null;
    renameSync(temp, file);
  } catch (cause) {
    if (fd !== null) closeSync(fd);
    rmSync(temp, { force: true });
    throw new CliError(`Cannot write ${file}: ${(cause as Error).message}`, EXIT_USAGE, { cause });
  }
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
