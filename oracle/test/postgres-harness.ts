/**
 * A real PostgreSQL server for the tests, on loopback, in a temp dir of its own: Debian's
 * `postgresql` (installed with apt-get when missing and this runs as root, scripts/debian.ts).
 * As root the server runs as the `postgres` account (PostgreSQL refuses to run as root).
 * `fsync=off` for the tests, for speed: what a test checks is the node's logic on the real server,
 * not the server's own durability; a benchmark asks for `fsync: true`, as in production.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { freePort } from "../../sdk/src/test/ports.ts";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { ensureDebianCommand } from "../../scripts/debian.ts";
import { processAlive } from "../src/pid.ts";

const VERSIONS = ["18", "17", "16", "15", "14", "13"];

/** The directory of Debian's PostgreSQL programs (initdb, postgres), installing the package when it can. */
function postgresBin(log: (line: string) => void): string {
  const installed = () => {
    if (!existsSync("/usr/lib/postgresql")) return null;
    const versions = readdirSync("/usr/lib/postgresql")
      .filter((v) => existsSync(join("/usr/lib/postgresql", v, "bin", "initdb")))
      .sort((a, b) => Number(b) - Number(a));
    return versions.length ? join("/usr/lib/postgresql", versions[0]!, "bin") : null;
  };
  const found = installed();
  if (found) return found;
  const initdb = ensureDebianCommand({
    bins: VERSIONS.map((v) => `/usr/lib/postgresql/${v}/bin/initdb`),
    args: ["--version"],
    pkg: "postgresql",
    log,
  });
  return join(initdb, "..");
}

/** Why PostgreSQL cannot run here, or null when it can (tests that need it skip, saying why). */
export const postgresMissing: string | null = (() => {
  try {
    postgresBin((line) => process.stderr.write(`# ${line}\n`));
    if (process.getuid?.() === 0 && spawnSync("id", ["-u", "postgres"]).status !== 0)
      return "running as root and there is no postgres account to run the server as";
    return null;
  } catch (err) {
    return (err as Error).message;
  }
})();

export type PostgresServer = {
  port: number;
  /** With `tls`: the CA certificate (PEM file) that signed the server's, for `sslrootcert`. */
  caFile: string | null;
  /** A new empty database; its URL. */
  createDatabase(): Promise<string>;
  /** Stops the server (fast shutdown) and removes its files. */
  stop(): Promise<void>;
  /** Stops the server without removing its files, and starts it again on the same port (an outage). */
  restart(opts?: { downMs?: number }): Promise<void>;
  /** Stops the server, keeping its files (`up` starts it again on the same port). */
  down(): Promise<void>;
  up(): Promise<void>;
};

/**
 * A test CA and a server certificate it signed for 127.0.0.1 (P-256 keys, two days), made with
 * openssl in `dir`; and a second CA that signed nothing, for a client that trusts the wrong one.
 */
function makeCertificates(dir: string): { ca: string; otherCa: string; cert: string; key: string } {
  const files = {
    ca: join(dir, "ca.pem"),
    otherCa: join(dir, "other-ca.pem"),
    cert: join(dir, "server.pem"),
    key: join(dir, "server.key"),
  };
  const openssl = (args: string[]) => {
    const r = spawnSync("openssl", args, { cwd: dir, encoding: "utf8" });
    if (r.status !== 0) throw new Error(`openssl ${args[0]} failed (exit ${r.status}): ${r.stderr}`);
  };
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  openssl([
    "req",
    "-x509",
    ...ec,
    "-keyout",
    "ca.key",
    "-out",
    files.ca,
    "-days",
    "2",
    "-subj",
    "/CN=CarbonProof test CA",
  ]);
  openssl([
    "req",
    "-x509",
    ...ec,
    "-keyout",
    "other-ca.key",
    "-out",
    files.otherCa,
    "-days",
    "2",
    "-subj",
    "/CN=Some other CA",
  ]);
  openssl(["req", ...ec, "-keyout", files.key, "-out", "server.csr", "-subj", "/CN=127.0.0.1"]);
  writeFileSync(join(dir, "san.ext"), "subjectAltName=IP:127.0.0.1\n");
  openssl([
    "x509",
    "-req",
    "-in",
    "server.csr",
    "-CA",
    files.ca,
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-out",
    files.cert,
    "-days",
    "2",
    "-extfile",
    "san.ext",
  ]);
  chmodSync(files.key, 0o600);
  return files;
}

const OWNER_FILE = "owner.pid";

/** The uids whose test server dirs this process may sweep: its own, and postgres's when root. */
function ownUids(): number[] {
  const uid = process.getuid?.() ?? -1;
  if (uid !== 0) return [uid];
  const pg = Number(spawnSync("id", ["-u", "postgres"], { encoding: "utf8" }).stdout.trim());
  return Number.isInteger(pg) ? [0, pg] : [0];
}

/**
 * Stops and removes the test servers of test processes that died without cleaning up (SIGKILL, a
 * runner's timeout): each server's dir names the process that started it (`owner.pid`); when that
 * process is gone, the server (its `postmaster.pid`, if it is still a postgres process) is killed
 * and the dir removed. Dirs without an owner file are left alone. Returns the dirs removed.
 */
export function sweepOrphanServers(root = tmpdir()): string[] {
  const removed: string[] = [];
  for (const name of readdirSync(root)) {
    if (!name.startsWith("cp-pg-")) continue;
    const dir = join(root, name);
    let owner: number;
    try {
      owner = Number(readFileSync(join(dir, OWNER_FILE), "utf8"));
    } catch {
      continue;
    }
    if (!Number.isSafeInteger(owner) || owner <= 0 || processAlive(owner)) continue;
    // only this account's test servers (as root: the postgres account's, which they run as)
    if (process.getuid && !ownUids().includes(statSync(dir).uid)) continue;
    try {
      const server = Number(readFileSync(join(dir, "data", "postmaster.pid"), "utf8").split("\n")[0]);
      const cmdline = readFileSync(`/proc/${server}/cmdline`, "utf8");
      if (cmdline.includes("postgres") && cmdline.includes(dir)) process.kill(server, "SIGKILL");
    } catch {
      // no pid file, or the server is gone already
    }
    try {
      rmSync(dir, { recursive: true, force: true });
      removed.push(dir);
    } catch {
      // not ours to remove after all (permissions): left, and this start goes on
    }
  }
  return removed;
}

/**
 * Every server's dir names its test process (`owner.pid`), and each start first sweeps away the
 * servers of test processes that died without stopping theirs (`sweepOrphanServers`).
 * `unref`: the server does not keep the test process alive; it is killed and its files removed when
 * the process exits (for a server shared by a whole test file, started on first use).
 * `tls`: the server takes TLS connections only (`hostssl` in pg_hba.conf, others rejected; the role
 * `oracle_pw`, if a test makes it, with its password, SCRAM), with a
 * certificate for 127.0.0.1 signed by the test CA (`caFile`); `otherCaFile` names a CA that did not sign it.
 */
export async function startPostgres(
  opts: { fsync?: boolean; unref?: boolean; tls?: boolean } = {},
): Promise<PostgresServer & { otherCaFile: string | null }> {
  const bin = postgresBin(() => {});
  const root = process.getuid?.() === 0;
  sweepOrphanServers();
  const dir = mkdtempSync(join(tmpdir(), "cp-pg-"));
  writeFileSync(join(dir, OWNER_FILE), String(process.pid));
  const data = join(dir, "data");
  // as root, the server's programs run as the postgres account (spawn's uid and gid: the child is
  // the server itself, so that its signals reach it)
  let user: { uid: number; gid: number } | object = {};
  if (root) {
    const uid = Number(spawnSync("id", ["-u", "postgres"], { encoding: "utf8" }).stdout.trim());
    const gid = Number(spawnSync("id", ["-g", "postgres"], { encoding: "utf8" }).stdout.trim());
    chownSync(dir, uid, gid);
    user = { uid, gid };
  }
  const init = spawnSync(
    join(bin, "initdb"),
    ["-D", data, "-U", "postgres", "--auth=trust", "--no-locale", "-E", "UTF8", "--no-sync"],
    { encoding: "utf8", cwd: dir, ...user },
  );
  if (init.status !== 0) throw new Error(`initdb failed (exit ${init.status}): ${init.stderr}`);
  const tls = opts.tls ? makeCertificates(dir) : null;
  if (tls) {
    if ("uid" in user) for (const f of [tls.cert, tls.key]) chownSync(f, user.uid, user.gid);
    writeFileSync(
      join(data, "pg_hba.conf"),
      // the role `oracle_pw` (made by a test) signs in with its password; the others are trusted
      "local all all trust\nhostssl all oracle_pw 127.0.0.1/32 scram-sha-256\nhostssl all all 127.0.0.1/32 trust\nhostnossl all all 127.0.0.1/32 reject\n",
    );
  }
  const adminClient = () =>
    new pg.Client({
      host: "127.0.0.1",
      port,
      user: "postgres",
      database: "postgres",
      ...(tls ? { ssl: { ca: readFileSync(tls.ca, "utf8") } } : {}),
    });
  const port = await freePort();
  let child: ChildProcess | null = null;
  const kill = () => {
    child?.kill("SIGKILL");
    if (opts.unref) rmSync(dir, { recursive: true, force: true });
  };
  process.once("exit", kill);

  const launch = async () => {
    const args = [
      "-D",
      data,
      "-p",
      String(port),
      "-c",
      "listen_addresses=127.0.0.1",
      "-c",
      `unix_socket_directories=${dir}`,
      "-c",
      `fsync=${opts.fsync ? "on" : "off"}`,
      "-c",
      "max_connections=200",
      ...(tls ? ["-c", "ssl=on", "-c", `ssl_cert_file=${tls.cert}`, "-c", `ssl_key_file=${tls.key}`] : []),
    ];
    let stderr = "";
    const c = spawn(join(bin, "postgres"), args, { stdio: ["ignore", "ignore", "pipe"], cwd: dir, ...user });
    c.stderr!.on("data", (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
    if (opts.unref) {
      c.unref();
      (c.stderr as unknown as { unref(): void }).unref();
    }
    child = c;
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (c.exitCode !== null) throw new Error(`postgres exited (code ${c.exitCode}): ${stderr}`);
      const client = adminClient();
      try {
        await client.connect();
        await client.end();
        return;
      } catch {
        await client.end().catch(() => {});
        if (Date.now() > deadline) throw new Error(`postgres did not accept connections within 30 s: ${stderr}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  };
  const halt = async () => {
    const c = child;
    if (!c || c.exitCode !== null) return;
    const exited = new Promise((r) => c.once("exit", r));
    c.kill("SIGINT"); // fast shutdown: open connections are closed
    await exited;
  };
  await launch();

  let n = 0;
  return {
    port,
    caFile: tls?.ca ?? null,
    otherCaFile: tls?.otherCa ?? null,
    async createDatabase() {
      const name = `cp_test_${process.pid}_${++n}`;
      const client = adminClient();
      await client.connect();
      try {
        await client.query(`CREATE DATABASE ${name}`);
      } finally {
        await client.end();
      }
      return `postgres://postgres@127.0.0.1:${port}/${name}`;
    },
    async stop() {
      await halt();
      process.removeListener("exit", kill);
      rmSync(dir, { recursive: true, force: true });
    },
    down: halt,
    up: launch,
    async restart(opts = {}) {
      await halt();
      await new Promise((r) => setTimeout(r, opts.downMs ?? 0));
      await launch();
    },
  };
}
