/**
 * The `carbonproof` CLI as the tests run it: the real binary, node on cli/main.ts; run under `sh`
 * (a limit, a umask, a link planted at its pid's name, a reader that stops early), run with
 * stderr's reader gone, run in-process with an `Io` that takes nothing; and the inputs they sign.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync, type StdioOptions } from "node:child_process";
import { once } from "node:events";
import { closeSync, lstatSync, mkdtempSync, openSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Io } from "../cli/io.ts";
import { protocolExampleReading } from "./fixtures.ts";

export const MAIN = fileURLToPath(new URL("../cli/main.ts", import.meta.url));

/** Runs the real binary: node on main.ts, as `npx carbonproof` does. */
export function cli(args: string[], input?: string) {
  const r = spawnSync(process.execPath, [MAIN, ...args], { input, encoding: "utf8" });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The binary, run without blocking this process (a server of the test must answer it). */
export async function cliAsync(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [MAIN, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d) => (stdout += d));
  child.stderr.on("data", (d) => (stderr += d));
  const [code] = (await once(child, "close")) as [number | null];
  return { code, stdout, stderr };
}

/** A fresh temp dir for one test's files. */
export const tmp = () => mkdtempSync(join(tmpdir(), "carbonproof-cli-"));

/** sh, ulimit, ln, mkfifo and /dev/full are POSIX; the CLI's behaviour on Windows is not what these test. */
export const posix = process.platform !== "win32";

/**
 * The CLI run by `sh -c SCRIPT`, which ends with `exec "$@"` so that the shell's pid ($$) is the
 * CLI's: a name the CLI would derive from its pid can be planted ahead of it.
 */
export function cliUnder(script: string, args: string[], stdio: StdioOptions = "pipe") {
  const r = spawnSync("sh", ["-c", `${script} && exec "$@"`, "sh", process.execPath, MAIN, ...args], {
    encoding: "utf8",
    stdio,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The CLI with stdout /dev/full (every write to it fails with ENOSPC). */
export function cliToDevFull(args: string[]) {
  const full = openSync("/dev/full", "w");
  try {
    const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: "utf8", stdio: ["ignore", full, "pipe"] });
    return { code: r.status, stderr: r.stderr };
  } finally {
    closeSync(full);
  }
}

/** 100 blocks of 512 B: the file size limit (`ulimit -f 100`) `cliAppendingNearLimit` runs the CLI under. */
export const FILE_LIMIT_BYTES = 100 * 512;

/**
 * The CLI under `ulimit -f 100` (RLIMIT_FSIZE, which binds root too) with stdout appended to
 * `file`, made to hold all but 2,000 B of that limit: stdout a regular file (Node's
 * SyncWriteStream would write once and drop what a short write left) that fills up part-way.
 */
export function cliAppendingNearLimit(file: string, args: string[]) {
  writeFileSync(file, "p".repeat(FILE_LIMIT_BYTES - 2000));
  const fd = openSync(file, "a");
  try {
    return cliUnder("ulimit -f 100", args, ["ignore", fd, "pipe"]);
  } finally {
    closeSync(fd);
  }
}

/**
 * The CLI run (and exiting 0) with a symlink planted, to a file of the user's, at the name a pid
 * alone would give the temp file of its output `dir/NAME`: `.NAME.PID.tmp`, the shell's pid that
 * the CLI is exec'd under. That file is left untouched, and the link is not the CLI's to remove.
 */
export function cliWithLinkPlanted(dir: string, name: string, args: string[]): void {
  const victim = join(dir, "victim.txt");
  writeFileSync(victim, "not the CLI's to write");
  const r = cliUnder(`ln -s ${JSON.stringify(victim)} ${JSON.stringify(dir)}/.${name}.$$.tmp`, args);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(readFileSync(victim, "utf8"), "not the CLI's to write");
  const planted = readdirSync(dir).filter((f) => f.endsWith(".tmp"));
  assert.equal(planted.length, 1, "the planted link is not the CLI's to remove");
  assert.ok(lstatSync(join(dir, planted[0]!)).isSymbolicLink());
}

/**
 * The CLI with its stdout piped into `reader` (`head -c 1`); its exit status is said on stderr
 * after whatever it said there, as `status N`.
 */
export function cliPipedTo(reader: string, args: string[]) {
  const r = spawnSync(
    "sh",
    ["-c", `{ "$@"; echo "status $?" >&2; } | ${reader}`, "sh", process.execPath, MAIN, ...args],
    { encoding: "utf8" },
  );
  return { stdout: r.stdout, stderr: r.stderr };
}

/**
 * The CLI with stderr a pipe whose reader has gone before the CLI starts (its end closed at once:
 * the CLI takes far longer to start than that), so that every write to stderr fails with EPIPE;
 * stdout a pipe read whole, or one whose reader has gone too (`stdoutGone`).
 */
export async function cliWithStderrGone(
  args: string[],
  options: { stdoutGone?: boolean } = {},
): Promise<{ code: number | null; stdout: string; pid: number }> {
  const child = spawn(process.execPath, [MAIN, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  child.stderr.destroy();
  let stdout = "";
  if (options.stdoutGone) child.stdout.destroy();
  else child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  const [code] = (await once(child, "close")) as [number | null];
  return { code, stdout, pid: child.pid! };
}

/** A new device key at `dir/name` (and its public key at `dir/pub`, when given); its path. */
export function newKey(dir: string, name = "manual.pem", pub?: string): string {
  const key = join(dir, name);
  const r = cli(["device", "keygen", "--out", key, ...(pub === undefined ? [] : ["--pub", join(dir, pub)])]);
  assert.equal(r.code, 0, r.stderr);
  return key;
}

/** A CSV of `rows` electricity readings, about 190 B a row once signed. */
export function historyCsv(rows: number): string {
  const lines = ["deviceId,facilityId,seq,ts,intervalS,kind,energyWh"];
  for (let seq = 1; seq <= rows; seq++)
    lines.push(`kangaita-manual,ktda-kangaita,${seq},${1763900000 + 5 * seq},5,electricity,${seq}`);
  return `${lines.join("\n")}\n`;
}

/** `bundle build`'s arguments but for the envelopes file: the facility and period of `signedEnvelopes`. */
export const BUNDLE_BUILD = [
  "bundle",
  "build",
  "--facility",
  "ktda-kangaita",
  "--start",
  "1763900000",
  "--end",
  "1763903600",
];

/**
 * Three readings (the protocol's example, seq 42 to 44) signed by a new key, device.pem in `dir`
 * (its public key device.pub.pem), in `dir/envelopes.json`: a bundle's input, a few KB built.
 */
export function signedEnvelopes(dir: string): { key: string; pub: string; file: string } {
  const key = newKey(dir, "device.pem", "device.pub.pem");
  const envelopes = [0, 1, 2].map((i) => {
    const reading = { ...protocolExampleReading, seq: 42 + i, ts: protocolExampleReading.ts + 5 * i };
    const r = cli(["device", "sign", "--key", key, "-"], JSON.stringify(reading));
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout);
  });
  const file = join(dir, "envelopes.json");
  writeFileSync(file, JSON.stringify(envelopes));
  return { key, pub: join(dir, "device.pub.pem"), file };
}

/** An `Io` for a command run in-process that must print nothing on stdout; what it says on stderr is dropped. */
export function ioWithoutStdout(): Io {
  return {
    stdout: () => assert.fail("nothing on stdout"),
    stderr: () => undefined,
    readStdin: () => "",
    stdinStream: () => (async function* () {})(),
    stderrIsTty: false,
  };
}
