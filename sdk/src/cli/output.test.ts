/**
 * What the CLI writes, and what it does when writing fails: files an option names (written whole
 * or not at all) and stdout, for every command, through the real binary.
 */
import assert from "node:assert/strict";
import { spawnSync, type StdioOptions } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import {
  closeSync,
  existsSync,
  lstatSync,
  openSync,
  readFileSync,
  readdirSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { syncBuiltinESMExports } from "node:module";
import { join } from "node:path";
import { mock, test } from "node:test";
import { protocolExampleReading } from "../test/fixtures.ts";
import { cli, MAIN, tmp } from "../test/cli.ts";
import { deviceCommand } from "./commands/device.ts";
import { CliError, writeFileWhole, type Io } from "./io.ts";

// sh, ulimit, ln and /dev/full are POSIX; the CLI's behaviour on Windows is not what these test
const posix = process.platform !== "win32";

/**
 * The CLI run by `sh -c SCRIPT`, which ends with `exec "$@"` so that the shell's pid ($$) is the
 * CLI's: a name the CLI would derive from its pid can be planted ahead of it.
 */
function cliUnder(script: string, args: string[], stdio: StdioOptions = "pipe") {
  const r = spawnSync("sh", ["-c", `${script} && exec "$@"`, "sh", process.execPath, MAIN, ...args], {
    encoding: "utf8",
    stdio,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A bundle build's arguments for three signed readings in `dir` (a bundle of a few KB). */
function bundleBuildArgs(dir: string): string[] {
  const key = join(dir, "device.pem");
  assert.equal(cli(["device", "keygen", "--out", key]).code, 0);
  const envelopes = [0, 1, 2].map((i) => {
    const reading = { ...protocolExampleReading, seq: 42 + i, ts: protocolExampleReading.ts + 5 * i };
    const r = cli(["device", "sign", "--key", key, "-"], JSON.stringify(reading));
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout);
  });
  const envFile = join(dir, "envelopes.json");
  writeFileSync(envFile, JSON.stringify(envelopes));
  return ["bundle", "build", "--facility", "ktda-kangaita", "--start", "1763900000", "--end", "1763903600", envFile];
}

/** `emissions --json` input of `n` diesel records: about 900 B of output each. */
function emissionsInput(dir: string, n: number): string {
  const file = join(dir, "activities.json");
  writeFileSync(
    file,
    JSON.stringify(Array.from({ length: n }, () => ({ kind: "fuel", fuel: "diesel", massKg: 1000 }))),
  );
  return file;
}

test(
  "bundle build --out and keygen --out that fail part-way (a file size limit) exit 3, leave no partial file and no temp file",
  { skip: !posix && "no sh here" },
  () => {
    const dir = tmp();
    const args = bundleBuildArgs(dir);
    const left = readdirSync(dir).sort();
    const out = join(dir, "bundle.json");
    const whole = cli([...args, "--out", join(tmp(), "bundle.json")]);
    assert.equal(whole.code, 0, whole.stderr);

    // RLIMIT_FSIZE binds root too. 1 block (512 B) is less than the bundle: the kernel takes the
    // first 512 B of the write and refuses the rest; the short write alone raises no error
    const limited = cliUnder("ulimit -f 1", [...args, "--out", out]);
    assert.equal(limited.code, 3, limited.stderr);
    assert.equal(limited.stdout, "");
    assert.match(
      limited.stderr,
      /^carbonproof: Cannot write \S+bundle\.json: EFBIG: file too large, write \(writing \S+\/\.bundle\.json\.\d+\.[0-9a-f]{8}\.tmp\)\. Nothing was written to \S+bundle\.json; make room on its disk \(or fix what stopped the write\) and run it again\.\n$/,
    );
    assert.deepEqual(readdirSync(dir).sort(), left, "no bundle.json cut off at 512 B, no temp file");

    // a key is smaller than a block: with no room at all its first write fails
    const key = join(dir, "new.pem");
    const keygen = cliUnder("ulimit -f 0", ["device", "keygen", "--out", key, "--pub", join(dir, "new.pub.pem")]);
    assert.equal(keygen.code, 3, keygen.stderr);
    assert.match(keygen.stderr, /^carbonproof: Cannot write \S+new\.pub\.pem: EFBIG: .*run it again\.\n$/);
    assert.deepEqual(readdirSync(dir).sort(), left, "neither key file, no temp file");
  },
);

test(
  "a file written whole does not follow a symlink planted at the temp name a pid gives",
  { skip: !posix && "no sh here" },
  () => {
    const dir = tmp();
    const victim = join(dir, "victim.txt");
    writeFileSync(victim, "not the CLI's to write");
    const key = join(dir, "k.pem");
    // the name the temp file had before it took a random part: `.k.pem.PID.tmp`
    const r = cliUnder(`ln -s ${JSON.stringify(victim)} ${JSON.stringify(dir)}/.k.pem.$$.tmp`, [
      "device",
      "keygen",
      "--out",
      key,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(readFileSync(victim, "utf8"), "not the CLI's to write");
    assert.ok(lstatSync(key).isFile(), "the key is a file of its own, not a link");
    assert.match(readFileSync(key, "utf8"), /^-----BEGIN PRIVATE KEY-----/);
    const planted = readdirSync(dir).filter((f) => f.endsWith(".tmp"));
    assert.equal(planted.length, 1, "the planted link is not the CLI's to remove");
    assert.ok(lstatSync(join(dir, planted[0]!)).isSymbolicLink());
  },
);

test(
  "a temp file's name met anyway (its random part guessed) is not opened through: exit 3, the link's target untouched",
  { skip: !posix && "symlinks need privileges on Windows" },
  async () => {
    // the random part fixed here (and the pid known: this process writes), so that a link can be
    // planted at the very name; everything else is the real filesystem
    const zeros = mock.method(crypto, "randomBytes", (size: number) => Buffer.alloc(size));
    syncBuiltinESMExports();
    try {
      const dir = tmp();
      const victim = join(dir, "victim.txt");
      writeFileSync(victim, "not the CLI's to write");
      const plant = (file: string) => symlinkSync(victim, join(dir, `.${file}.${process.pid}.00000000.tmp`));
      const refusal = (file: string) => (error: unknown) => {
        assert.ok(error instanceof CliError);
        assert.equal(error.exitCode, 3);
        assert.match(error.message, new RegExp(`^Cannot write \\S+${file}: EEXIST: .*run it again\\.$`));
        return true;
      };

      plant("factors.json");
      assert.throws(() => writeFileWhole(join(dir, "factors.json"), "{}\n"), refusal("factors.json"));

      const key = join(dir, "manual.pem");
      assert.equal(cli(["device", "keygen", "--out", key]).code, 0);
      const input = join(dir, "history.csv");
      writeFileSync(input, "deviceId,facilityId,seq,ts,intervalS,kind,energyWh\nm,f,1,1763900000,5,electricity,1\n");
      plant("signed.csv");
      const io: Io = {
        stdout: () => assert.fail("nothing on stdout"),
        stderr: () => undefined,
        readStdin: () => "",
        stdinStream: () => (async function* () {})(),
        stderrIsTty: false,
      };
      await assert.rejects(
        deviceCommand(io, ["sign-csv", "--key", key, input, "--out", join(dir, "signed.csv")]),
        refusal("signed.csv"),
      );

      assert.equal(readFileSync(victim, "utf8"), "not the CLI's to write");
      assert.deepEqual(
        readdirSync(dir)
          .filter((f) => !f.startsWith("."))
          .sort(),
        ["history.csv", "manual.pem", "victim.txt"],
        "no output put in place",
      );
      assert.equal(readdirSync(dir).filter((f) => f.startsWith(".")).length, 2, "the planted links are left alone");
    } finally {
      zeros.mock.restore();
      syncBuiltinESMExports();
    }
  },
);

test("a close that fails after the fsync is reported as itself (exit 3), not as the EBADF of closing it twice", async () => {
  // close(2) reporting a write error the disk deferred (NFS, a quota) cannot be made to happen on
  // a local disk: closeSync stands for such a disk here, closing the fd and then failing with EIO,
  // as Linux releases an fd whose close fails. The fd it fails for is the one fsync was given.
  let synced: number | undefined;
  const realFsync = fs.fsyncSync;
  const realClose = fs.closeSync;
  const fsync = mock.method(fs, "fsyncSync", (fd: number) => {
    realFsync(fd);
    synced = fd;
  });
  const close = mock.method(fs, "closeSync", (fd: number) => {
    realClose(fd);
    if (fd === synced) {
      synced = undefined;
      throw Object.assign(new Error("EIO: i/o error, close"), { code: "EIO" });
    }
  });
  syncBuiltinESMExports();
  try {
    const dir = tmp();
    const refusal = (file: string) => (error: unknown) => {
      assert.ok(error instanceof CliError, String(error));
      assert.equal(error.exitCode, 3);
      assert.match(error.message, new RegExp(`^Cannot write \\S+${file}: EIO: i/o error, close \\(writing `));
      return true;
    };
    assert.throws(() => writeFileWhole(join(dir, "factors.json"), "{}\n"), refusal("factors.json"));

    const key = join(dir, "manual.pem");
    assert.equal(cli(["device", "keygen", "--out", key]).code, 0);
    const input = join(dir, "history.csv");
    writeFileSync(input, "deviceId,facilityId,seq,ts,intervalS,kind,energyWh\nm,f,1,1763900000,5,electricity,1\n");
    const io: Io = {
      stdout: () => assert.fail("nothing on stdout"),
      stderr: () => undefined,
      readStdin: () => "",
      stdinStream: () => (async function* () {})(),
      stderrIsTty: false,
    };
    await assert.rejects(
      deviceCommand(io, ["sign-csv", "--key", key, input, "--out", join(dir, "signed.csv")]),
      refusal("signed.csv"),
    );
    assert.deepEqual(readdirSync(dir).sort(), ["history.csv", "manual.pem"], "nothing put in place, no temp file");
  } finally {
    fsync.mock.restore();
    close.mock.restore();
    syncBuiltinESMExports();
  }
});

test(
  "device keygen under umask 000: the private key is 0600 and the public key 0644",
  { skip: !posix && "no sh here" },
  () => {
    const dir = tmp();
    const key = join(dir, "k.pem");
    const pub = join(dir, "p.pem");
    const r = cliUnder("umask 000", ["device", "keygen", "--out", key, "--pub", pub]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(statSync(key).mode & 0o777, 0o600, "the temp file was made 0600, not 0666 and narrowed later");
    assert.equal(statSync(pub).mode & 0o777, 0o644);
    assert.deepEqual(readdirSync(dir).sort(), ["k.pem", "p.pem"]);
  },
);

test(
  "a stdout that fails (> /dev/full) is exit 3 and one line saying what to do, for any command",
  { skip: !existsSync("/dev/full") && "no /dev/full here" },
  () => {
    const dir = tmp();
    const full = openSync("/dev/full", "w");
    try {
      for (const args of [["--help"], ["emissions", "--json", emissionsInput(dir, 3)], ["factors", "show"]]) {
        const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: "utf8", stdio: ["ignore", full, "pipe"] });
        assert.equal(r.status, 3, `${args.join(" ")}: ${r.stderr}`);
        assert.equal(
          r.stderr,
          "carbonproof: Cannot write stdout: ENOSPC: no space left on device, write. What it took is only part of the output: make room (or fix what stdout goes to) and run it again.\n",
          args.join(" "),
        );
      }
    } finally {
      closeSync(full);
    }
  },
);

test(
  "a reader that stops early (| head -c 1) ends a large output quietly with 141, as SIGPIPE ends cat",
  { skip: !posix && "no sh here" },
  () => {
    const dir = tmp();
    // ~2.7 MB, far more than a pipe holds: the write is still going when head has gone
    const input = emissionsInput(dir, 3000);
    const r = spawnSync(
      "sh",
      ["-c", '{ "$@"; echo "status $?" >&2; } | head -c 1', "sh", process.execPath, MAIN, "emissions", "--json", input],
      { encoding: "utf8" },
    );
    assert.equal(r.stdout, "[");
    assert.equal(r.stderr, "status 141\n", "no stack trace, no message: the reader chose to stop");
  },
);

test(
  "stdout a file that reaches a size limit part-way (>> near ulimit -f) is exit 3, not 0 with the output cut short",
  { skip: !posix && "no sh here" },
  () => {
    const dir = tmp();
    const input = emissionsInput(dir, 30);
    const whole = cli(["emissions", "--json", input]);
    assert.equal(whole.code, 0, whole.stderr);
    // 100 blocks of 512 B, the file already 2,000 B short of them: the output (~27 KB) does not fit
    const LIMIT = 100 * 512;
    const log = join(dir, "log.json");
    writeFileSync(log, "p".repeat(LIMIT - 2000));
    const fd = openSync(log, "a");
    let r;
    try {
      r = cliUnder("ulimit -f 100", ["emissions", "--json", input], ["ignore", fd, "pipe"]);
    } finally {
      closeSync(fd);
    }
    assert.equal(r.code, 3, r.stderr);
    assert.equal(
      r.stderr,
      "carbonproof: Cannot write stdout: EFBIG: file too large, write. What it took is only part of the output: make room (or fix what stdout goes to) and run it again.\n",
    );
    assert.equal(statSync(log).size, LIMIT, "the 2,000 B it took, then the error of the rest");
    assert.equal(readFileSync(log, "utf8").slice(LIMIT - 2000), whole.stdout.slice(0, 2000));
  },
);
