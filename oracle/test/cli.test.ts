import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import {
  chmodSync,
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import mqtt from "mqtt";
import { Wallet, encryptKeystoreJson } from "ethers";
import { privateKeyToAccount } from "viem/accounts";
import { readingDigestHex } from "../../sdk/src/index.ts";
import { freePort } from "../../sdk/src/test/ports.ts";
import { decryptKey } from "../src/chain/keystore.ts";
import { deviceFileJson } from "../src/devices/directory.ts";
import { readingsTopic } from "../src/ingest/mqtt.ts";
import { lockDataDir } from "../src/pid.ts";
import { SqliteStorage } from "../src/storage/sqlite.ts";
import type { NewReading } from "../src/storage/types.ts";
import { ORACLE_KEY } from "./chain-harness.ts";
import { deviceInfo, electricity, makeDevice, storedReading, type TestDevice } from "./fixtures.ts";
import { tempDir, waitFor } from "./helpers.ts";

/**
 * `carbonproof-oracle` as an operator runs it: the real CLI (node + the TS entry) as a child
 * process, on temp dirs, with a real SQLite database and a real node for `start`. Every line
 * it prints, in every test, is checked at the end for private keys and passwords.
 */
const cli = join(dirname(fileURLToPath(import.meta.url)), "../src/cli/main.ts");
const PASSWORD = "correct horse battery staple 7";
const tmp = tempDir("cp-cli-");
/** Secrets no output may contain (hex keys without 0x, lower case; compared case-insensitively). */
const secrets = new Set<string>([PASSWORD, ORACLE_KEY.slice(2)]);
/** Everything the CLI printed in this file: the last test searches it for secrets. */
const printed: string[] = [];
after(() => {
  if (!process.env.ORACLE_TEST_KEEP) tmp.cleanup();
});

/** The environment without the caller's CARBONPROOF_* variables, plus `extra`. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("CARBONPROOF_")) env[k] = v;
  return { ...env, ...extra };
}

type Run = { code: number | null; stdout: string; stderr: string };

/** Runs the CLI to its end (at most `timeoutMs`, generous: scrypt at n = 2^17 on a busy machine). */
function run(
  args: string[],
  extraEnv: Record<string, string> = {},
  timeoutMs = 180_000,
  nodeArgs = ["--disable-warning=ExperimentalWarning"],
): Promise<Run> {
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, [...nodeArgs, cli, ...args], {
      env: cleanEnv(extraEnv),
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    c.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    c.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const t = setTimeout(() => {
      c.kill("SIGKILL");
      reject(new Error(`carbonproof-oracle ${args.join(" ")} did not finish within ${timeoutMs} ms`));
    }, timeoutMs);
    c.on("error", reject);
    c.on("close", (code) => {
      clearTimeout(t);
      printed.push(stdout, stderr);
      resolve({ code, stdout, stderr });
    });
  });
}

/** A config file of its own (data dir inside `dir`), with `extra` merged at the top level. */
function configIn(dir: string, extra: Record<string, unknown> = {}): string {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, "oracle.json");
  writeFileSync(file, JSON.stringify({ dataDir: join(dir, "data"), ...extra }));
  return file;
}

const withPassword = { CARBONPROOF_ORACLE_KEYSTORE_PASSWORD: PASSWORD };
const lastJson = (out: string) => JSON.parse(out.trim().split("\n").at(-1)!) as Record<string, unknown>;

describe("carbonproof-oracle: help and the command line", () => {
  test("--help and -h print every command and option and exit 0, at the top level and after a command", async () => {
    const top = await run(["--help"]);
    assert.equal(top.code, 0, top.stderr);
    for (const word of [
      "start",
      "import FILE.csv",
      "status",
      "retry BATCH_ID... | --all",
      "abandon BATCH_ID",
      "keys create",
      "keys import",
      "keys show",
      "keys rotate",
      "keys api-create",
      "keys api-list",
      "keys api-revoke ID",
      "--config",
      "--json",
      "--all",
      "--shutdown-timeout",
      "--private-key-env",
      "--scope",
      "--subject",
      "--label",
      "--help",
    ]) {
      assert.ok(top.stdout.includes(word), `top-level help names ${word}:\n${top.stdout}`);
    }
    for (const argv of [["-h"], ["start", "--help"], ["keys", "--help"], ["keys", "rotate", "-h"], ["status", "-h"]]) {
      const r = await run(argv);
      assert.equal(r.code, 0, `${argv.join(" ")}: ${r.stderr}`);
      assert.match(r.stdout, /^usage: carbonproof-oracle /, argv.join(" "));
    }
    const start = await run(["start", "--help"]);
    assert.match(start.stdout, /--shutdown-timeout SECONDS/);
    assert.ok(!start.stdout.includes("keys create"), "a command's help shows that command");
    const keys = await run(["keys", "--help"]);
    for (const sub of ["create", "import", "show", "rotate", "api-create", "api-list", "api-revoke"])
      assert.ok(keys.stdout.includes(`keys ${sub}`), `keys --help names keys ${sub}`);
  });

  const bad: Array<[string[], RegExp, RegExp]> = [
    [["start", "--bogus"], /Unknown option '--bogus'/, /usage: carbonproof-oracle start \[--config FILE\]/],
    [["frobnicate"], /unknown command `frobnicate`/, /usage: carbonproof-oracle <command>/],
    [[], /no command given/, /usage: carbonproof-oracle <command>/],
    [["keys"], /`keys` needs a subcommand: create, import/, /usage: carbonproof-oracle keys/],
    [["keys", "destroy"], /unknown subcommand `keys destroy`/, /usage: carbonproof-oracle keys/],
    [
      ["keys", "api-revoke"],
      /needs the numeric id of the key to revoke/,
      /usage: carbonproof-oracle keys api-revoke ID/,
    ],
    [["keys", "api-revoke", "abc"], /positive whole number .*\(got "abc"\)/, /keys api-revoke ID/],
    [["keys", "api-create", "--subject", "f1"], /--scope must be one of facility, device, admin, oracle/, /api-create/],
    [["keys", "api-create", "--scope", "root", "--subject", "f1"], /\(got "root"\)/, /api-create/],
    [["keys", "api-create", "--scope", "facility"], /--subject needs/, /api-create/],
    [
      ["keys", "api-create", "--scope", "facility", "--subject", "F 1"],
      /--subject "F 1" is not a facility id/,
      /api-create/,
    ],
    [
      ["keys", "api-create", "--scope", "oracle", "--subject", "oracle node A"],
      /--subject "oracle node A" is not a node's address: an oracle key's subject is the chain address of the node it is for \(0x and 40 hex digits; `carbonproof-oracle keys show` on that node prints it\)/,
      /api-create/,
    ],
    [
      ["keys", "api-create", "--scope", "device", "--subject", "m1", "--label", "x".repeat(201)],
      /--label is 201 characters long; the most is 200/,
      /api-create/,
    ],
    [["keys", "import", "--private-key-env", "0xabc"], /name of an environment variable/, /keys import/],
    [["status", "--json"], /`status` takes no --json/, /usage: carbonproof-oracle status/],
    [["status", "extra"], /`status` does not take `extra`/, /usage: carbonproof-oracle status/],
    [["import"], /`import` needs the CSV file/, /usage: carbonproof-oracle import FILE.csv/],
    [["start", "--config"], /argument missing/, /usage: carbonproof-oracle start/],
    [["start", "--shutdown-timeout", "0"], /--shutdown-timeout must be a number of seconds above 0/, /start/],
  ];
  for (const [argv, what, usage] of bad) {
    test(`\`${argv.join(" ") || "(nothing)"}\` says what was wrong and the usage line, exit 2`, async () => {
      const r = await run(argv);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, what);
      assert.match(r.stderr, usage);
      assert.match(r.stderr, /--help/);
      assert.equal(r.stdout, "");
    });
  }
});

describe("carbonproof-oracle: config errors", () => {
  test("a config file with a bad field exits 2 with the zod message naming the field", async () => {
    const dir = join(tmp.dir, "bad-config");
    const file = configIn(join(tmp.dir, "bad-config"), { http: { port: "eighty" }, batching: { windowS: 0 } });
    const r = await run(["status", "--config", file]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /http\.port: .*number/i);
    assert.match(r.stderr, /batching\.windowS: /);
    assert.match(r.stderr, /Fix these keys in the config file/);
    assert.ok(!existsSync(join(dir, "data")), "nothing is created from a config that does not parse");
  });

  test("an environment override with a bad value, a file that is not JSON and a missing file exit 2", async () => {
    const file = configIn(join(tmp.dir, "bad-env"));
    const env = await run(["status", "--config", file], { CARBONPROOF_ORACLE__STORAGE__SYNCHRONOUS: "SOMETIMES" });
    assert.equal(env.code, 2, env.stderr);
    assert.match(env.stderr, /storage\.synchronous: /);
    const broken = join(tmp.dir, "broken.json");
    writeFileSync(broken, "{ dataDir: ");
    const notJson = await run(["status", "--config", broken]);
    assert.equal(notJson.code, 2);
    assert.match(notJson.stderr, /is not valid JSON/);
    const missing = await run(["status", "--config", join(tmp.dir, "nowhere.json")]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /cannot read config file .*nowhere\.json: check the path given with --config/);
  });
});

describe("carbonproof-oracle keys", () => {
  const dir = join(tmp.dir, "keys");
  let config: string;
  let created: string;
  before(() => {
    config = configIn(dir);
  });

  test("keys create needs the password variable, writes an owner-only keystore, prints only the address", async () => {
    const noPassword = await run(["keys", "create", "--config", config]);
    assert.equal(noPassword.code, 1);
    assert.match(
      noPassword.stderr,
      /set the keystore password in the environment variable CARBONPROOF_ORACLE_KEYSTORE_PASSWORD/,
    );

    const r = await run(["keys", "create", "--config", config], withPassword);
    assert.equal(r.code, 0, r.stderr);
    const out = lastJson(r.stdout);
    const path = join(dir, "data", "keystore.json");
    assert.equal(out.keystore, path);
    assert.match(String(out.address), /^0x[0-9a-fA-F]{40}$/);
    assert.equal(statSync(path).mode & 0o777, 0o600);
    const pk = decryptKey(JSON.parse(readFileSync(path, "utf8")), PASSWORD);
    secrets.add(pk.slice(2));
    assert.equal(privateKeyToAccount(pk).address, out.address);
    created = String(out.address);

    const again = await run(["keys", "create", "--config", config], withPassword);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /exists; use `keys rotate` to replace it/);
  });

  test("keys show prints the address, with or without the password", async () => {
    for (const env of [{}, withPassword]) {
      const r = await run(["keys", "show", "--config", config], env);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(lastJson(r.stdout).address, created);
    }
  });

  test("keys api-create --scope oracle takes the asking node's address as `keys show` prints it there (any case); a subject that is not a node's address is refused, exit 2, nothing stored", async () => {
    for (const subject of [created, created.toLowerCase()]) {
      const r = await run(["keys", "api-create", "--scope", "oracle", "--subject", subject, "--config", config]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(String(lastJson(r.stdout).key), /^cpk_/);
    }
    const refused = await run([
      "keys",
      "api-create",
      "--scope",
      "oracle",
      "--subject",
      created.slice(2),
      "--config",
      config,
    ]);
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(refused.stderr, new RegExp(`--subject "${created.slice(2)}" is not a node's address`));
    const list = await run(["keys", "api-list", "--config", config]);
    assert.equal(list.code, 0, list.stderr);
    const subjects = list.stdout
      .trim()
      .split("\n")
      .map((line) => (JSON.parse(line) as { subject: string }).subject);
    assert.deepEqual(subjects, [created, created.toLowerCase()]);
  });

  test("keys import encrypts the key held by the named variable; a bad value is refused without being echoed", async () => {
    const importDir = join(tmp.dir, "keys-import");
    const cfg = configIn(importDir);
    const bad = await run(["keys", "import", "--config", cfg, "--private-key-env", "MY_NODE_KEY"], {
      ...withPassword,
      MY_NODE_KEY: PASSWORD,
    });
    assert.equal(bad.code, 1);
    assert.match(
      bad.stderr,
      /put the 0x-prefixed private key \(64 hex digits\) in the environment variable MY_NODE_KEY/,
    );
    const r = await run(["keys", "import", "--config", cfg, "--private-key-env", "MY_NODE_KEY"], {
      ...withPassword,
      MY_NODE_KEY: ORACLE_KEY,
    });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(lastJson(r.stdout).address, privateKeyToAccount(ORACLE_KEY).address);
    const path = join(importDir, "data", "keystore.json");
    assert.equal(decryptKey(JSON.parse(readFileSync(path, "utf8")), PASSWORD), ORACLE_KEY);
  });

  test("a keystore file written by another tool (ethers) is the node's key as it is: show and rotate open it", async () => {
    const fileDir = join(tmp.dir, "keys-file");
    const keyFile = join(fileDir, "from-ethers.json");
    const wallet = Wallet.createRandom();
    secrets.add(wallet.privateKey.slice(2));
    const json = await encryptKeystoreJson({ address: wallet.address, privateKey: wallet.privateKey }, PASSWORD, {
      scrypt: { N: 1024 },
    });
    const cfg = configIn(fileDir, { chain: { keystore: { path: keyFile } } });
    writeFileSync(keyFile, json);
    const show = await run(["keys", "show", "--config", cfg]);
    assert.equal(show.code, 0, show.stderr);
    assert.equal(String(lastJson(show.stdout).address).toLowerCase(), wallet.address.toLowerCase());
    const rotate = await run(["keys", "rotate", "--config", cfg], withPassword);
    assert.equal(rotate.code, 0, rotate.stderr);
    assert.equal(lastJson(rotate.stdout).previous, wallet.address);
  });

  describe("keys rotate", () => {
    const rdir = join(tmp.dir, "rotate");
    let cfg: string;
    let oldAddress: string;
    let ids: { signed: number[]; pinned: number; submitted: number };
    before(async () => {
      cfg = configIn(rdir);
      const r = await run(["keys", "create", "--config", cfg], withPassword);
      assert.equal(r.code, 0, r.stderr);
      oldAddress = String(lastJson(r.stdout).address);
      const path = join(rdir, "data", "keystore.json");
      secrets.add(decryptKey(JSON.parse(readFileSync(path, "utf8")), PASSWORD).slice(2));
      ids = seedBatches(join(rdir, "data", "oracle.db"));
    });

    const states = () => {
      const s = new SqliteStorage(join(rdir, "data", "oracle.db"));
      try {
        return s.batchStateCounts();
      } finally {
        s.close();
      }
    };
    const backups = () => readdirSync(join(rdir, "data")).filter((f) => f.endsWith(".bak"));

    test("refuses while a node runs on the data dir (it holds the dir's lock); nothing changes", async () => {
      const lock = lockDataDir(join(rdir, "data"), "start"); // this test process stands for the running node
      assert.ok(lock.ok);
      try {
        const r = await run(["keys", "rotate", "--config", cfg], withPassword);
        assert.equal(r.code, 1);
        assert.match(
          r.stderr,
          new RegExp(`a node \\(pid ${process.pid}\\) runs on .*: stop it first, then rotate; the rotation resets`),
        );
      } finally {
        lock.release();
      }
      assert.equal(states().signed, 2);
      assert.deepEqual(backups(), []);
    });

    test("a wrong password is a clear error, exit 1, and nothing changes", async () => {
      const r = await run(["keys", "rotate", "--config", cfg], { CARBONPROOF_ORACLE_KEYSTORE_PASSWORD: "not it" });
      assert.equal(r.code, 1);
      assert.match(
        r.stderr,
        /wrong password for the keystore .*keystore\.json: set CARBONPROOF_ORACLE_KEYSTORE_PASSWORD to the password it was created with/,
      );
      assert.ok(!r.stderr.includes("not it"));
      assert.equal(states().signed, 2);
      assert.deepEqual(backups(), []);
      const show = await run(["keys", "show", "--config", cfg]);
      assert.equal(lastJson(show.stdout).address, oldAddress);
    });

    test("a new address, the old keystore archived, and batches signed with the old key back to pinned", async () => {
      const r = await run(["keys", "rotate", "--config", cfg], withPassword);
      assert.equal(r.code, 0, r.stderr);
      const out = lastJson(r.stdout);
      assert.equal(out.previous, oldAddress);
      assert.notEqual(out.address, oldAddress);
      assert.equal(out.resetBatches, 2);
      assert.match(
        String(out.next),
        /2 batch\(es\) signed with the previous key and not submitted went back to pinned/,
      );
      const archived = String(out.archived);
      assert.deepEqual(backups(), [archived.split("/").at(-1)]);
      assert.equal(
        privateKeyToAccount(decryptKey(JSON.parse(readFileSync(archived, "utf8")), PASSWORD)).address,
        oldAddress,
      );
      const path = join(rdir, "data", "keystore.json");
      const pk = decryptKey(JSON.parse(readFileSync(path, "utf8")), PASSWORD);
      secrets.add(pk.slice(2));
      assert.equal(privateKeyToAccount(pk).address, out.address);

      const s = new SqliteStorage(join(rdir, "data", "oracle.db"));
      try {
        for (const id of ids.signed) {
          const b = s.getBatch(id)!;
          assert.equal(b.state, "pinned");
          assert.equal(b.signatures, null, "the old key's signature is dropped");
          assert.equal(b.attestationId, attestationIdOf(id), "the header and its id stay");
        }
        assert.equal(s.getBatch(ids.pinned)!.state, "pinned");
        assert.equal(s.getBatch(ids.submitted)!.state, "submitted", "a sent transaction is left to the node");
      } finally {
        s.close();
      }
      const show = await run(["keys", "show", "--config", cfg]);
      assert.equal(lastJson(show.stdout).address, out.address);
    });

    test("on a full disk: exit 1, the keystore still the old key and nothing left beside it, the error says so and what to do; with room again it rotates", async (t) => {
      // a real full disk: the keystore (chain.keystore.path) on a small tmpfs, filled up (mounting
      // needs root: CI runs as root); the data dir, with batches signed with the old key, elsewhere
      const full = join(tmp.dir, "rotate-full");
      const disk = join(full, "keys");
      mkdirSync(disk, { recursive: true });
      if (spawnSync("mount", ["-t", "tmpfs", "-o", "size=256k", "tmpfs", disk]).status !== 0)
        return t.skip("mounting a small tmpfs needs root");
      try {
        const path = join(disk, "keystore.json");
        const kcfg = configIn(full, { chain: { keystore: { path } } });
        const made = await run(["keys", "create", "--config", kcfg], withPassword);
        assert.equal(made.code, 0, made.stderr);
        const old = String(lastJson(made.stdout).address);
        secrets.add(decryptKey(JSON.parse(readFileSync(path, "utf8")), PASSWORD).slice(2));
        seedBatches(join(full, "data", "oracle.db"));
        assert.throws(() => writeFileSync(join(disk, "filler"), Buffer.alloc(1 << 20)), { code: "ENOSPC" });

        const r = await run(["keys", "rotate", "--config", kcfg], withPassword);
        assert.equal(r.code, 1);
        assert.match(
          r.stderr,
          new RegExp(
            `cannot write the new keystore beside ${path} \\(ENOSPC[^)]*\\): nothing changed, ${path} still holds the old key; free space on the disk of ${disk} and run \`keys rotate\` again; 2 batch\\(es\\) signed with the old key went back to pinned: a node started now signs them again with the key ${path} holds`,
          ),
        );
        assert.deepEqual(readdirSync(disk).sort(), ["filler", "keystore.json"], "no temporary file, no .bak");
        const show = await run(["keys", "show", "--config", kcfg]);
        assert.equal(lastJson(show.stdout).address, old);

        rmSync(join(disk, "filler"));
        const again = await run(["keys", "rotate", "--config", kcfg], withPassword);
        assert.equal(again.code, 0, again.stderr);
        const out = lastJson(again.stdout);
        assert.equal(out.previous, old);
        const pk = decryptKey(JSON.parse(readFileSync(path, "utf8")), PASSWORD);
        secrets.add(pk.slice(2));
        assert.equal(privateKeyToAccount(pk).address, out.address);
        const archived = String(out.archived);
        assert.equal(
          privateKeyToAccount(decryptKey(JSON.parse(readFileSync(archived, "utf8")), PASSWORD)).address,
          old,
        );
      } finally {
        spawnSync("umount", ["-l", disk]);
      }
    });
  });
});

/** A facility's batches in four windows, moved through storage transitions: two signed, one pinned, one submitted. */
function seedBatches(dbPath: string): { signed: number[]; pinned: number; submitted: number } {
  const s = new SqliteStorage(dbPath);
  try {
    const windowS = 60;
    const readings: NewReading[] = [0, 1, 2, 3].map((w) => storedReading("meter-1", w + 1, w * windowS + 10));
    s.commitIngest(readings, [], { windowS, nowMs: 0 });
    const ids = s.sealDue(10_000_000, 0).sort((a, b) => a - b);
    assert.equal(ids.length, 4);
    for (const id of ids)
      assert.ok(s.transition(id, ["sealed"], "pinned", { headerJson: "{}", bundleCid: "bafy", readingCount: 1 }));
    for (const id of [ids[0]!, ids[1]!, ids[3]!]) {
      const signed = { attestationId: attestationIdOf(id), signatures: `0x${"11".repeat(65)}` };
      assert.ok(s.transition(id, ["pinned"], "signed", signed));
    }
    assert.ok(s.transition(ids[3]!, ["signed"], "submitted", { txHash: `0x${"22".repeat(32)}`, txNonce: 0 }));
    return { signed: [ids[0]!, ids[1]!], pinned: ids[2]!, submitted: ids[3]! };
  } finally {
    s.close();
  }
}

const attestationIdOf = (batchId: number) => `0x${batchId.toString(16).padStart(64, "a")}`;

describe("the data dir's lock", () => {
  test("a data dir that does not exist is named, with what to check, not SQLite's bare 'unable to open database file'", () => {
    const dir = join(tmp.dir, "lock-nowhere", "data");
    assert.throws(
      () => lockDataDir(dir, "pin"),
      (err: Error) =>
        err.message ===
        `cannot take the lock ${join(dir, "oracle.lock")} (unable to open database file): check that ${dir} exists and that this user can write it (dataDir in the config)`,
    );
    assert.ok(!existsSync(dir));
  });

  test("start with a dataDir that is a file, not a directory: refused saying so, before any lock", async () => {
    const dir = join(tmp.dir, "data-is-a-file");
    const config = configIn(dir, { mqtt: { mode: "off" } });
    writeFileSync(join(dir, "data"), "not a directory");
    const r = await run(["start", "--config", config]);
    assert.notEqual(r.code, 0);
    assert.match(
      r.stderr,
      /dataDir .*data-is-a-file\/data cannot be the node's data directory \(ENOTDIR\): set dataDir/,
    );
    assert.ok(!existsSync(join(dir, "data.lock")) && !r.stderr.includes("cannot take the lock"));
  });
});

describe("carbonproof-oracle status", () => {
  test("refuses a data dir without a database, and creates none", async () => {
    const dir = join(tmp.dir, "status-none");
    const r = await run(["status", "--config", configIn(dir)]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /no database at .*oracle\.db: check dataDir \(or --config\), or start the node once/);
    assert.ok(!existsSync(join(dir, "data", "oracle.db")));
  });

  test("reports an empty data dir and one with batches", async () => {
    const dir = join(tmp.dir, "status");
    const cfg = configIn(dir, { nodeName: "status-node" });
    new SqliteStorage(join(dir, "data", "oracle.db")).close();
    const empty = await run(["status", "--config", cfg]);
    assert.equal(empty.code, 0, empty.stderr);
    const e = JSON.parse(empty.stdout) as { node: string; backlog: number; batches: Record<string, number> };
    assert.equal(e.node, "status-node");
    assert.equal((e as { storage?: string }).storage, join(dir, "data", "oracle.db"));
    assert.equal(e.backlog, 0);
    assert.ok(Object.values(e.batches).every((n) => n === 0));

    seedBatches(join(dir, "data", "oracle.db"));
    // run as an operator runs it (no --disable-warning): stdout is the JSON, stderr stays empty
    const full = await run(["status", "--config", cfg], {}, undefined, []);
    assert.equal(full.stderr, "", "status prints nothing on stderr (node:sqlite's notice included)");
    assert.equal(full.code, 0, full.stderr);
    const f = JSON.parse(full.stdout) as { backlog: number; batches: Record<string, number> };
    assert.equal(f.backlog, 4);
    assert.equal(f.batches.signed, 2);
    assert.equal(f.batches.pinned, 1);
    assert.equal(f.batches.submitted, 1);
  });

  test("lists the failed batches holding later ones first, then the newest others, and only counts the abandoned ones", async () => {
    const dir = join(tmp.dir, "status-failed");
    const cfg = configIn(dir);
    const s = new SqliteStorage(join(dir, "data", "oracle.db"));
    let newest: number;
    let corrections: number[];
    try {
      // 27 windows of one facility: the first 25 failed and abandoned long ago (they stay failed for
      // ever), the last one failed now and holds the facility's later batches back; two readings
      // each in the last two windows, one of each set aside into a failed correction
      const windowS = 60;
      const readings: NewReading[] = [];
      for (let w = 0; w < 27; w++) {
        readings.push(storedReading("meter-1", readings.length + 1, w * windowS + 10));
        if (w >= 25) readings.push(storedReading("meter-1", readings.length + 1, w * windowS + 20));
      }
      s.commitIngest(readings, [], { windowS, nowMs: 0 });
      assert.equal(s.sealDue(10_000_000, 0).length, 27);
      const batchOf = (r: NewReading) => s.getReading(r.digest)!.batchId!;
      const batches = [...new Set(readings.map(batchOf))];
      for (const id of batches.slice(0, 25)) {
        assert.ok(s.transition(id, ["sealed"], "failed", { error: `transaction of batch ${id} reverted` }));
        assert.equal(s.abandonFailedBatch(id, 1000).done, true);
      }
      corrections = [readings.at(-4)!, readings.at(-2)!].map((r, i) => {
        const aside = [{ digest: r.digest, reason: "device-inactive" as const, detail: "suspended at its time" }];
        return s.setAside(batchOf(r), ["sealed"], aside, "1 reading(s) set aside", 2000 + i)!;
      });
      newest = batches[26]!;
      assert.ok(s.transition(newest, ["sealed"], "failed", { error: "transaction reverted: OracleSet: not a member" }));
    } finally {
      s.close();
    }
    const r = await run(["status", "--config", cfg]);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as {
      batches: Record<string, number>;
      holding: number;
      failed: { id: number; holdsLater: boolean; abandonedAt: number | null; error: string }[];
      failedNotListed: { holding: number; others: number; abandoned: number };
    };
    assert.equal(out.batches.failed, 28);
    assert.equal(out.holding, 1, "as /v1/status counts them");
    assert.deepEqual(
      out.failed.map((b) => [b.id, b.holdsLater, b.abandonedAt]),
      [
        [newest, true, null],
        [corrections[1], false, null],
        [corrections[0], false, null],
      ],
      "the one holding later batches first, then the newest failure first; no abandoned one",
    );
    assert.match(out.failed[0]!.error, /OracleSet: not a member/);
    assert.deepEqual(out.failedNotListed, { holding: 0, others: 0, abandoned: 25 });
  });
});

describe("carbonproof-oracle start: the signing key", () => {
  test("a plain key from the environment is refused on a chain other than the local one", async () => {
    const dir = join(tmp.dir, "plain-key");
    const cfg = configIn(dir, {
      chain: { enabled: true, chainId: 11155111, attestationRegistry: `0x${"12".repeat(20)}` },
    });
    const r = await run(["start", "--config", cfg], { CARBONPROOF_ORACLE_PRIVATE_KEY: ORACLE_KEY });
    assert.equal(r.code, 1, r.stderr);
    assert.match(
      r.stderr,
      /a plain key in CARBONPROOF_ORACLE_PRIVATE_KEY is taken only on the local chain \(id 31337\), and chain\.chainId is 11155111: put the key in an encrypted keystore with `carbonproof-oracle keys create`/,
    );
    assert.ok(!existsSync(join(dir, "data", "oracle.pid")), "the pid file goes with the process");
  });
});

describe("carbonproof-oracle start: the device list (devices.source file)", () => {
  test("a missing, unreadable, non-JSON or invalid device file stops the start with the path and what to do", async () => {
    const dir = join(tmp.dir, "device-file");
    const cfg = configIn(dir);
    const devicesJson = join(dir, "data", "devices.json");
    const missing = await run(["start", "--config", cfg]);
    assert.equal(missing.code, 1, missing.stderr);
    assert.match(
      missing.stderr,
      /carbonproof-oracle: no device file at \S+devices\.json \(devices\.source is "file"\): write the devices' list there \(`carbonproof-sim --devices-file` writes one\), set devices\.file to where it is, or set devices\.source to "chain"/,
    );
    assert.ok(!existsSync(join(dir, "data", "oracle.pid")), "the pid file goes with the process");
    mkdirSync(devicesJson); // a directory where the file should be: EISDIR
    const unreadable = await run(["start", "--config", cfg]);
    assert.equal(unreadable.code, 1, unreadable.stderr);
    assert.match(unreadable.stderr, /cannot read the device file \S+devices\.json: EISDIR/);
    rmSync(devicesJson, { recursive: true });
    writeFileSync(devicesJson, '[{"deviceId": "m1",');
    const notJson = await run(["start", "--config", cfg]);
    assert.equal(notJson.code, 1, notJson.stderr);
    assert.match(notJson.stderr, /\S+devices\.json is not JSON: /);
    writeFileSync(devicesJson, JSON.stringify([{ deviceId: "m1", facilityId: "f1", status: "sleeping", keys: [] }]));
    const invalid = await run(["start", "--config", cfg]);
    assert.equal(invalid.code, 1, invalid.stderr);
    assert.match(invalid.stderr, /\S+devices\.json is invalid: 0\.status: /);
  });
});

describe("carbonproof-oracle start: its data dir", () => {
  test("a dataDir that cannot be created or written stops the start naming it and the setting", async () => {
    const dir = join(tmp.dir, "bad-data-dir");
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "a-file"), "");
    const cfg = configIn(dir, { dataDir: join(dir, "a-file", "data") });
    const r = await run(["start", "--config", cfg]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(
      r.stderr,
      /carbonproof-oracle: dataDir \S+a-file\/data cannot be the node's data directory \(ENOTDIR\): set dataDir \(config file, or CARBONPROOF_ORACLE__DATA_DIR\) to a directory this user can create or write/,
    );
  });

  // modes are POSIX: on Windows stat makes them up from the read-only flag, and start checks none
  test(
    "a data dir there already that its group or others may enter is warned of once, with the fix, and the start goes on; an owner-only one is not",
    { skip: process.platform === "win32" && "no POSIX modes on Windows" },
    async () => {
      const dir = join(tmp.dir, "open-data-dir");
      // no device file: each start stops there, after the data dir, without running a node
      const cfg = configIn(dir);
      const data = join(dir, "data");
      const startOnce = async () => {
        const r = await run(["start", "--config", cfg]);
        assert.equal(r.code, 1, r.stderr);
        assert.match(r.stderr, /no device file at /, "the start went on past the data dir");
        return r.stdout
          .split("\n")
          .filter((l) => l.startsWith("{"))
          .map((l) => JSON.parse(l) as { level: number; msg: string; dataDir?: string; mode?: string })
          .filter((l) => l.level === 40); // pino's warn
      };
      assert.deepEqual(await startOnce(), [], "one it makes is owner-only: nothing to warn of");
      assert.equal(statSync(data).mode & 0o777, 0o700);

      chmodSync(data, 0o755);
      const warned = await startOnce();
      assert.equal(warned.length, 1, JSON.stringify(warned));
      assert.equal(warned[0]!.dataDir, data);
      assert.equal(warned[0]!.mode, "0755");
      assert.equal(
        warned[0]!.msg,
        `the data dir ${data} has mode 0755, which lets its group and other users in; the database, the dead letters' payloads and the evidence files in it are no one else's to read. Run \`chmod 700 ${data}\`, unless the dir is shared on purpose`,
      );
      assert.equal(statSync(data).mode & 0o777, 0o755, "a warning only: the mode is the operator's to change");

      chmodSync(data, 0o700);
      assert.deepEqual(await startOnce(), [], "owner-only: no warning");
    },
  );
});

/**
 * `start` and its signals. Readings go in over MQTT with QoS 1 from devices that keep several
 * publishes in flight; a reading counts as acknowledged when its PUBACK arrived, which the node
 * sends only once the reading is durable (docs/oracle.md, Durability).
 */
describe("carbonproof-oracle start: shutdown", { timeout: 900_000 }, () => {
  const devices = [makeDevice("cli-meter-1"), makeDevice("cli-meter-2"), makeDevice("cli-meter-3")];
  const facilities = { "ktda-kangaita": { country: "KEN", flueGasBiogenicShareBp: 10000 } };
  let stalled: Server;
  let stalledUrl: string;
  let stalledHits = 0;
  const stalledSockets = new Set<Socket>();

  before(async () => {
    // Stands for a Kubo daemon that hangs (no Kubo binary can run here): it takes the
    // connection and never answers, so the node's pin of a bundle never finishes.
    stalled = createServer((s) => {
      stalledHits++;
      stalledSockets.add(s);
      s.on("error", () => {});
    });
    const port = await freePort();
    await new Promise<void>((r) => stalled.listen(port, "127.0.0.1", r));
    stalledUrl = `http://127.0.0.1:${port}`;
  });
  after(async () => {
    for (const s of stalledSockets) s.destroy();
    await new Promise((r) => stalled.close(r));
  });

  type Node = { child: ChildProcess; log: string; mqttPort: number; httpPort: number; dataDir: string };

  async function startNode(name: string, extra: Record<string, unknown>, args: string[] = []): Promise<Node> {
    const dir = join(tmp.dir, name);
    const mqttPort = await freePort();
    const httpPort = await freePort();
    writeFileSync(join(tmp.dir, `${name}-devices.json`), deviceFileJson(devices.map((d) => deviceInfo(d))));
    const cfg = configIn(dir, {
      log: { level: "info" },
      http: { port: httpPort },
      mqtt: { port: mqttPort },
      devices: { source: "file", file: join(tmp.dir, `${name}-devices.json`) },
      facilities,
      ...extra,
    });
    const log = join(dir, "node.log");
    const fd = openSync(log, "a");
    // started as an operator starts it, without --disable-warning: the SIGINT test reads its stderr
    const child = spawn(process.execPath, [cli, "start", "--config", cfg, ...args], {
      env: cleanEnv(),
      stdio: ["ignore", fd, fd],
    });
    closeSync(fd);
    await waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error(`node exited ${child.exitCode}:\n${readFileSync(log, "utf8")}`);
        return (await fetch(`http://127.0.0.1:${httpPort}/health`)).ok;
      },
      { timeoutMs: 120_000, intervalMs: 200, what: `${name} up` },
    );
    return { child, log, mqttPort, httpPort, dataDir: join(dir, "data") };
  }

  const exited = (c: ChildProcess, timeoutMs: number) =>
    new Promise<number | string | null>((resolve, reject) => {
      if (c.exitCode !== null || c.signalCode !== null) return resolve(c.exitCode ?? c.signalCode);
      const t = setTimeout(() => {
        c.kill("SIGKILL");
        reject(new Error(`node did not exit within ${timeoutMs} ms`));
      }, timeoutMs);
      c.once("exit", (code, signal) => {
        clearTimeout(t);
        resolve(code ?? signal);
      });
    });

  /** Devices publishing with QoS 1, ten in flight each, until `stop`; `acked` holds what the node acknowledged. */
  function publishers(node: Node) {
    const acked = new Set<string>();
    let stopped = false;
    const clients: mqtt.MqttClient[] = [];
    const loops = devices.map(async (d: TestDevice) => {
      const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${node.mqttPort}`, {
        reconnectPeriod: 0,
        connectTimeout: 10_000,
      });
      clients.push(client);
      client.on("error", () => {});
      while (!stopped && client.connected) {
        const envs = Array.from({ length: 10 }, () => electricity(d));
        await Promise.all(
          envs.map((e) =>
            client
              .publishAsync(readingsTopic(e.reading.facilityId, e.reading.deviceId), JSON.stringify(e), { qos: 1 })
              .then(
                () => acked.add(readingDigestHex(e.reading)),
                () => undefined, // not acknowledged: the node was going down
              ),
          ),
        );
      }
    });
    return {
      acked,
      stop: async () => {
        stopped = true;
        for (const c of clients) c.end(true);
        await Promise.allSettled(loops);
      },
    };
  }

  /** Every acknowledged reading is in the database the next start reads. */
  function assertStored(dataDir: string, acked: Set<string>): void {
    const s = new SqliteStorage(join(dataDir, "oracle.db"));
    try {
      const missing = [...acked].filter((d) => s.getReading(d) === null);
      assert.deepEqual(missing, [], `${missing.length} of ${acked.size} acknowledged readings lost`);
    } finally {
      s.close();
    }
  }

  const logOf = (node: Node) => {
    const text = readFileSync(node.log, "utf8");
    printed.push(text);
    return text;
  };

  test("SIGINT with readings in flight: a clean stop, exit 0, and every acknowledged reading stored after restart", async () => {
    const node = await startNode("sigint", { batching: { windowS: 3600 } });
    const pub = publishers(node);
    try {
      await waitFor(() => pub.acked.size >= 60, {
        timeoutMs: 120_000,
        intervalMs: 50,
        what: "60 readings acknowledged",
      });
      node.child.kill("SIGINT");
      assert.equal(await exited(node.child, 120_000), 0, logOf(node));
    } finally {
      await pub.stop();
    }
    assert.match(logOf(node), /"signal":"SIGINT".*stopping: intake closed/);
    // node:sqlite's notice is kept off stderr in the CLI and in the workers that open the database
    assert.doesNotMatch(logOf(node), /ExperimentalWarning|SQLite is an experimental feature/);
    assertStored(node.dataDir, pub.acked);
    assert.ok(!existsSync(join(node.dataDir, "oracle.pid")), "the pid file goes with the node");
    const status = await run(["status", "--config", join(tmp.dir, "sigint", "oracle.json")]);
    assert.ok((JSON.parse(status.stdout) as { backlog: number }).backlog >= pub.acked.size);
  });

  test("a second start on a running node's data dir is refused and leaves its pid file; a node killed outright leaves no lock", async () => {
    const node = await startNode("twice", { batching: { windowS: 3600 } });
    const cfg = join(tmp.dir, "twice", "oracle.json");
    const pidFile = join(node.dataDir, "oracle.pid");
    try {
      assert.equal(readFileSync(pidFile, "utf8"), `${node.child.pid}\nstart\n`);
      const second = await run(["start", "--config", cfg]);
      assert.equal(second.code, 1, second.stderr);
      assert.match(
        second.stderr,
        new RegExp(
          `a node \\(pid ${node.child.pid}\\) runs on \\S+data: stop it first, or give this node a dataDir of its own`,
        ),
      );
      assert.equal(readFileSync(pidFile, "utf8"), `${node.child.pid}\nstart\n`, "the refused start left the pid file");
      const restore = await run(["restore", join(tmp.dir, "no-such-backup.db"), "--config", cfg]);
      assert.equal(restore.code, 1, restore.stderr);
      assert.match(
        restore.stderr,
        new RegExp(`a node \\(pid ${node.child.pid}\\) runs on \\S+data: stop it first; a restore`),
      );
      assert.equal(
        (await fetch(`http://127.0.0.1:${node.httpPort}/health`)).status,
        200,
        "the first node still serves",
      );
    } finally {
      node.child.kill("SIGKILL");
      await exited(node.child, 60_000);
    }
    // the kernel dropped the lock with the process; its pid file, left behind, does not hold the dir
    assert.ok(existsSync(pidFile));
    const again = spawn(process.execPath, [cli, "start", "--config", cfg], { env: cleanEnv(), stdio: "ignore" });
    try {
      await waitFor(
        async () => {
          if (again.exitCode !== null) throw new Error(`the restart exited ${again.exitCode}`);
          return (await fetch(`http://127.0.0.1:${node.httpPort}/health`).catch(() => null))?.ok === true;
        },
        { timeoutMs: 120_000, intervalMs: 200, what: "the restart up" },
      );
      assert.equal(readFileSync(pidFile, "utf8"), `${again.pid}\nstart\n`);
      again.kill("SIGINT");
      assert.equal(await exited(again, 120_000), 0);
    } finally {
      if (again.exitCode === null) again.kill("SIGKILL");
    }
    assert.ok(!existsSync(pidFile), "the pid file goes with the node");
  });

  /** A node whose shutdown will be held up: a batch seals each second and its pin waits on the stalled IPFS daemon. */
  const heldUpNode = (name: string, args: string[] = []) =>
    startNode(
      name,
      {
        batching: { windowS: 1, graceS: 0, tickMs: 100 },
        ipfs: { mode: "kubo", kuboUrl: stalledUrl, timeoutMs: 600_000 },
      },
      args,
    );

  test("a second SIGINT during a held-up shutdown exits at once, non-zero, saying so; acknowledged readings stay stored", async () => {
    const hitsBefore = stalledHits;
    const node = await heldUpNode("second-signal");
    const pub = publishers(node);
    try {
      await waitFor(() => stalledHits > hitsBefore && pub.acked.size >= 30, {
        timeoutMs: 120_000,
        intervalMs: 50,
        what: "a pin stuck on IPFS and 30 readings acknowledged",
      });
      node.child.kill("SIGINT");
      await waitFor(() => /stopping: intake closed/.test(readFileSync(node.log, "utf8")), {
        timeoutMs: 60_000,
        what: "the first SIGINT logged",
      });
      node.child.kill("SIGINT");
      assert.equal(await exited(node.child, 60_000), 130, logOf(node));
    } finally {
      await pub.stop();
    }
    assert.match(logOf(node), /second SIGINT during shutdown: exiting now, .*pipeline.* not closed/);
    assertStored(node.dataDir, pub.acked);
  });

  test("a shutdown past its deadline exits 1, naming what is still open", async () => {
    const hitsBefore = stalledHits;
    const node = await heldUpNode("deadline", ["--shutdown-timeout", "3"]);
    const pub = publishers(node);
    try {
      await waitFor(() => stalledHits > hitsBefore && pub.acked.size >= 10, {
        timeoutMs: 120_000,
        intervalMs: 50,
        what: "a pin stuck on IPFS",
      });
    } finally {
      await pub.stop();
    }
    const t0 = Date.now();
    node.child.kill("SIGTERM");
    assert.equal(await exited(node.child, 120_000), 1, logOf(node));
    assert.ok(Date.now() - t0 >= 2_900, "not before the deadline");
    assert.match(logOf(node), /shutdown did not finish within 3 s: exiting with pipeline(, [a-z-]+)* still open/);
    assertStored(node.dataDir, pub.acked);
  });
});

test("no private key or password appears in anything the CLI printed", () => {
  assert.ok(printed.length > 20, "the tests above ran");
  const all = printed.join("\n").toLowerCase();
  for (const s of secrets) assert.ok(!all.includes(s.toLowerCase()), `a secret (${s.length} chars) was printed`);
});
