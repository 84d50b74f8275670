/**
 * What the CLI writes, and what it does when writing fails: files an option names (written whole
 * or not at all) and stdout, for every command, through the real binary.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import {
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { syncBuiltinESMExports } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { mock, test } from "node:test";
import {
  cli,
  tmp,
  BUNDLE_BUILD,
  FILE_LIMIT_BYTES,
  cliAppendingNearLimit,
  cliPipedTo,
  cliToDevFull,
  cliWithStderrGone,
  cliUnder,
  cliWithLinkPlanted,
  historyCsv,
  ioWithoutStdout,
  newKey,
  posix,
  signedEnvelopes,
} from "../test/cli.ts";
import { deviceCommand } from "./commands/device.ts";
import { CliError, writeFileWhole } from "./io.ts";

/** A bundle build's arguments for three signed readings in `dir` (a bundle of a few KB). */
function bundleBuildArgs(dir: string): string[] {
  return [...BUNDLE_BUILD, signedEnvelopes(dir).file];
}

/**
 * `device sign-csv --key manual.pem history.csv --out signed.csv` run in-process in `dir` (a new
 * key, one row), nothing on stdout: its key and input are made when this is called.
 */
function signCsvIn(dir: string): () => Promise<number> {
  const key = newKey(dir);
  const input = join(dir, "history.csv");
  writeFileSync(input, historyCsv(1));
  return () => deviceCommand(ioWithoutStdout(), ["sign-csv", "--key", key, input, "--out", join(dir, "signed.csv")]);
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
    const key = join(dir, "k.pem");
    // the name the temp file had before it took a random part: `.k.pem.PID.tmp`
    cliWithLinkPlanted(dir, "k.pem", ["device", "keygen", "--out", key]);
    assert.ok(lstatSync(key).isFile(), "the key is a file of its own, not a link");
    assert.match(readFileSync(key, "utf8"), /^-----BEGIN PRIVATE KEY-----/);
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

      const signCsv = signCsvIn(dir);
      plant("signed.csv");
      await assert.rejects(signCsv(), refusal("signed.csv"));

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

    await assert.rejects(signCsvIn(dir)(), refusal("signed.csv"));
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
    for (const args of [["--help"], ["emissions", "--json", emissionsInput(dir, 3)], ["factors", "show"]]) {
      const r = cliToDevFull(args);
      assert.equal(r.code, 3, `${args.join(" ")}: ${r.stderr}`);
      assert.equal(
        r.stderr,
        "carbonproof: Cannot write stdout: ENOSPC: no space left on device, write. What it took is only part of the output: make room (or fix what stdout goes to) and run it again.\n",
        args.join(" "),
      );
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
    const r = cliPipedTo("head -c 1", ["emissions", "--json", input]);
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
    // the file 2,000 B short of the limit: the output (~27 KB) does not fit
    const LIMIT = FILE_LIMIT_BYTES;
    const log = join(dir, "log.json");
    const r = cliAppendingNearLimit(log, ["emissions", "--json", input]);
    assert.equal(r.code, 3, r.stderr);
    assert.equal(
      r.stderr,
      "carbonproof: Cannot write stdout: EFBIG: file too large, write. What it took is only part of the output: make room (or fix what stdout goes to) and run it again.\n",
    );
    assert.equal(statSync(log).size, LIMIT, "the 2,000 B it took, then the error of the rest");
    assert.equal(readFileSync(log, "utf8").slice(LIMIT - 2000), whole.stdout.slice(0, 2000));
  },
);

test(
  "a stderr whose reader has gone (EPIPE) is let go: the run cleans up, no temp file is left, and its exit code stands (not 1 from an uncaught error)",
  { skip: !posix && "no sh here" },
  async () => {
    // no command: the usage goes to stderr, which takes nothing; the code is still a usage error
    assert.equal((await cliWithStderrGone([])).code, 2);

    const dir = tmp();
    const key = newKey(dir);
    const input = join(dir, "history.csv");
    // lines 2 and 3 without a ts: --skip-invalid names them on stderr as it reads them, so the
    // first write to stderr fails with the temp file half written
    writeFileSync(input, historyCsv(2000).replace(",1763900005,", ",,").replace(",1763900010,", ",,"));
    const signCsv = ["device", "sign-csv", "--skip-invalid", "--key", key, input];
    const tempsOf = (pid: number) => readdirSync(tmpdir()).filter((f) => f.startsWith(`carbonproof-sign-csv-${pid}-`));

    const out = join(dir, "signed.csv");
    const toFile = await cliWithStderrGone([...signCsv, "--out", out]);
    assert.equal(toFile.code, 0);
    assert.equal(readFileSync(out, "utf8").trimEnd().split("\n").length, 1 + 1998, "the header and every good row");
    assert.deepEqual(readdirSync(dir).sort(), ["history.csv", "manual.pem", "signed.csv"], "no .signed.csv.*.tmp");

    const toStdout = await cliWithStderrGone(signCsv);
    assert.equal(toStdout.code, 0);
    assert.equal(toStdout.stdout, readFileSync(out, "utf8"), "the same rows, signed alike (RFC 6979)");
    assert.deepEqual(tempsOf(toStdout.pid), [], "the temp file in the temp directory is removed");

    // stdout's reader gone as well: 141, as when it alone has gone
    const bothGone = await cliWithStderrGone(signCsv, { stdoutGone: true });
    assert.equal(bothGone.code, 141);
    assert.deepEqual(tempsOf(bothGone.pid), []);
  },
);

test(
  "device keygen --force refuses a directory at --out (a FIFO, a symlink to a directory) before it renames either file: exit 2, the old --pub kept",
  { skip: !posix && "no mkfifo here" },
  () => {
    const dir = tmp();
    const pub = join(dir, "pub.pem");
    newKey(dir, "old.pem", "pub.pem");
    const oldPub = readFileSync(pub, "utf8");
    const refused = (what: string, flag: string, path: string) =>
      new RegExp(
        `^carbonproof: Cannot write \\S+${path}: ${what} is there, not a file\\. Give ${flag} the path of a file this user can write, in a folder that exists\\.\\n$`,
      );

    mkdirSync(join(dir, "key.pem"));
    const onDir = cli(["device", "keygen", "--out", join(dir, "key.pem"), "--pub", pub, "--force"]);
    assert.equal(onDir.code, 2, onDir.stderr);
    assert.equal(readFileSync(pub, "utf8"), oldPub, "not the public half of a key that was thrown away");
    assert.match(onDir.stderr, refused("a directory", "--out", "key\\.pem"));
    assert.deepEqual(readdirSync(join(dir, "key.pem")), []);

    // renamed onto, a FIFO (or a device) is replaced by a file, and a link to a directory by the key
    assert.equal(spawnSync("mkfifo", [join(dir, "fifo")]).status, 0);
    const onFifo = cli(["device", "keygen", "--out", join(dir, "new.pem"), "--pub", join(dir, "fifo"), "--force"]);
    assert.equal(onFifo.code, 2, onFifo.stderr);
    assert.match(onFifo.stderr, refused("a FIFO", "--pub", "fifo"));
    assert.ok(lstatSync(join(dir, "fifo")).isFIFO());
    symlinkSync(join(dir, "key.pem"), join(dir, "link.pem"));
    const onLink = cli(["device", "keygen", "--out", join(dir, "link.pem"), "--force"]);
    assert.equal(onLink.code, 2, onLink.stderr);
    assert.match(onLink.stderr, refused("a symlink to a directory", "--out", "link\\.pem"));
    assert.ok(lstatSync(join(dir, "link.pem")).isSymbolicLink());

    assert.deepEqual(
      readdirSync(dir).sort(),
      ["fifo", "key.pem", "link.pem", "old.pem", "pub.pem"],
      "no new key, no temp file",
    );
  },
);

test(
  "device keygen and bundle build --out with a stdout that fails (> /dev/full): exit 3 saying the files were written, not to run it again",
  { skip: !existsSync("/dev/full") && "no /dev/full here" },
  () => {
    const dir = tmp();
    const key = join(dir, "k.pem");
    const pub = join(dir, "k.pub.pem");
    const keygen = cliToDevFull(["device", "keygen", "--out", key, "--pub", pub]);
    assert.equal(keygen.code, 3, keygen.stderr);
    assert.equal(
      keygen.stderr,
      `carbonproof: Cannot write stdout: ENOSPC: no space left on device, write. ${pub} and ${key} were written, whole; only what stdout was to say about them is cut short (make room, or fix what stdout goes to).\n`,
    );
    assert.match(readFileSync(key, "utf8"), /^-----BEGIN PRIVATE KEY-----/);
    assert.match(readFileSync(pub, "utf8"), /^-----BEGIN PUBLIC KEY-----/);

    const bundle = join(dir, "bundle.json");
    const built = cliToDevFull([...bundleBuildArgs(dir), "--out", bundle]);
    assert.equal(built.code, 3, built.stderr);
    assert.equal(
      built.stderr,
      `carbonproof: Cannot write stdout: ENOSPC: no space left on device, write. ${bundle} was written, whole; only what stdout was to say about it is cut short (make room, or fix what stdout goes to).\n`,
    );
    assert.ok(statSync(bundle).size > 0);
  },
);
