/**
 * `carbonproof-oracle cosigned list|release` (cli/main.ts, quorum/release.ts): the operator's view
 * of the headers this node co-signed, and the release of one whose header will never be attested,
 * on each driver (SQLite, and PostgreSQL on a real server where one can run), and against a real
 * AttestationRegistry on a Hardhat node: a header attested there is never released.
 */
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { createServer, type AddressInfo, type Socket } from "node:net";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import pg from "pg";
import { idToBytes32, readingDigestHex } from "../../sdk/src/index.ts";
import { freePort } from "../../sdk/src/test/ports.ts";
import { headerFromJson } from "../src/batch/bundle.ts";
import { SdkCalculator } from "../src/compute/sdk.ts";
import { PG_MIGRATIONS, PostgresStorage } from "../src/storage/postgres.ts";
import { MIGRATIONS, SqliteStorage } from "../src/storage/sqlite.ts";
import type { SqlStorage } from "../src/storage/sql-storage.ts";
import type { CosignRecord, CosignRegistry } from "../src/storage/types.ts";
import { chainTestNode, deploy, HardhatNode, readingPoster, waitForConfirmed } from "./chain-harness.ts";
import { electricity, makeDevice } from "./fixtures.ts";
import { runOracleCli, tempDir } from "./helpers.ts";
import { postgresMissing, startPostgres, type PostgresServer } from "./postgres-harness.ts";

const tmp = tempDir("cp-cosigned-");
let pgServer: Promise<PostgresServer> | null = null;
after(async () => {
  if (pgServer) await (await pgServer).stop();
  tmp.cleanup();
});

const ZERO = `0x${"0".repeat(64)}`;
const hex32 = (n: number) => `0x${n.toString(16).padStart(64, "0")}`;
/** the registry the driver tests' records were co-signed for */
const REGISTRY: CosignRegistry = { chainId: 31337, address: `0x${"11".repeat(20)}` };
const record = (
  n: number,
  facility: string,
  start: number,
  end: number,
  correctionOf = ZERO,
  registry: CosignRegistry = REGISTRY,
): CosignRecord => ({
  attestationId: hex32(n),
  facilityId: idToBytes32(facility),
  periodStart: start,
  periodEnd: end,
  correctionOf,
  bundleCid: `bafkrei${n}`,
  digests: correctionOf === ZERO ? [] : [hex32(0xd000 + n)],
  signedAtMs: 1_000 + n,
  registry,
});

/** A node's config in a dir of its own; `storage` and `chain` as given. */
function configIn(name: string, extra: Record<string, unknown>): { file: string; dataDir: string } {
  const dir = join(tmp.dir, name);
  const dataDir = join(dir, "data");
  mkdirSync(dataDir, { recursive: true });
  const file = join(dir, "oracle.json");
  writeFileSync(file, JSON.stringify({ dataDir, ...extra }));
  return { file, dataDir };
}

const drivers: {
  name: string;
  skip: string | false;
  /**
   * A node's config and database; `atOldSchema` makes the database as a node from before co-sign
   * records named their registry did (SQLite schema 8, PostgreSQL 4: those migrations alone, on
   * the empty database, none after; `open` migrates it), then runs `sql` on it.
   */
  setUp: (
    name: string,
  ) => Promise<{ file: string; open: () => Promise<SqlStorage>; atOldSchema: (sql: string) => Promise<void> }>;
}[] = [
  {
    name: "SQLite",
    skip: false,
    setUp: async (name) => {
      const { file, dataDir } = configIn(name, {});
      const path = join(dataDir, "oracle.db");
      return {
        file,
        open: async () => new SqliteStorage(path),
        atOldSchema: async (sql) => {
          const db = new DatabaseSync(path);
          try {
            // named by MIGRATION_3 and MIGRATION_5, never called on an empty database
            for (const fn of [
              "carbonproof_digest_key",
              "carbonproof_legacy_abandoned_at",
              "carbonproof_legacy_abandoned_error",
            ])
              db.function(fn, { varargs: true }, () => {
                throw new Error(`${fn} called: a new database has no rows to migrate`);
              });
            for (const m of MIGRATIONS.slice(0, 8)) db.exec(m);
            db.exec(`PRAGMA user_version = 8; ${sql}`);
          } finally {
            db.close();
          }
        },
      };
    },
  },
  {
    name: "PostgreSQL",
    skip: postgresMissing ?? false,
    setUp: async (name) => {
      pgServer ??= startPostgres();
      const url = await (await pgServer).createDatabase();
      const { file } = configIn(name, { storage: { driver: "postgres", url } });
      return {
        file,
        open: async () => new PostgresStorage(url),
        atOldSchema: async (sql) => {
          const client = new pg.Client({ connectionString: url });
          await client.connect();
          try {
            for (const m of PG_MIGRATIONS.slice(0, 4)) await client.query(m);
            await client.query(
              `CREATE TABLE carbonproof_schema (version INTEGER NOT NULL); INSERT INTO carbonproof_schema (version) VALUES (4); ${sql}`,
            );
          } finally {
            await client.end();
          }
        },
      };
    },
  },
];

for (const driver of drivers)
  describe(`cosigned list and release (${driver.name})`, { skip: driver.skip, timeout: 300_000 }, () => {
    let file: string;
    let open: () => Promise<SqlStorage>;
    const cli = (...args: string[]) => runOracleCli(["cosigned", ...args, "--config", file], {});
    const held = async () => {
      const s = await open();
      try {
        return s.listCosigns().map((c) => c.attestationId);
      } finally {
        s.close();
      }
    };

    before(async () => {
      ({ file, open } = await driver.setUp(`cli-${driver.name.toLowerCase()}`));
      const s = await open();
      s.recordCosign(record(1, "ktda-a", 3600, 7200));
      s.recordCosign(record(2, "ktda-a", 3600, 5400, hex32(1))); // a correction of 1, same start
      s.recordCosign(record(3, "ktda-a", 7200, 10_800));
      s.recordCosign(record(4, "ktda-b", 3600, 7200));
      s.close();
    });

    test("list shows every record, or one facility's, as lines or JSON", async () => {
      const all = await cli("list");
      assert.equal(all.code, 0, all.stderr);
      const lines = all.stdout.trim().split("\n");
      assert.equal(lines.length, 4);
      assert.match(
        lines[0]!,
        /^ktda-a {2}3600\.\.7200 \(1970-01-01T01:00:00\.000Z \.\. .*\) {2}regular {2}0x0+1 {2}bafkrei1 {2}signed .* {2}registry 0x(11){20} on chain 31337$/,
      );
      assert.match(all.stdout, new RegExp(`correction of ${hex32(1)}`));
      const mine = await cli("list", "--facility", "ktda-b", "--json");
      assert.equal(mine.code, 0, mine.stderr);
      const rows = mine.stdout
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l) as CosignRecord & { facility: string });
      assert.deepEqual(
        rows.map((r) => [r.facility, r.attestationId, r.periodStart, r.periodEnd, r.registry]),
        [["ktda-b", hex32(4), 3600, 7200, REGISTRY]],
      );
      // by the bytes32 too
      const byHex = await cli("list", "--facility", idToBytes32("ktda-b").toUpperCase().replace("0X", "0x"));
      assert.equal(byHex.stdout.trim().split("\n").length, 1);
    });

    test("release with no chain configured refuses, saying why and what to do, and releases nothing", async () => {
      // no chain.attestationRegistry: which records hold against this node's headers is unknown
      const unnamed = await cli("release", "ktda-a", "3600", "--yes", "--force");
      assert.equal(unnamed.code, 1);
      assert.match(
        unnamed.stderr,
        /names no AttestationRegistry \(chain\.attestationRegistry\).*--registry ADDRESS\[@CHAINID\].*or --registry all; nothing released/,
      );
      const out = await cli("release", "ktda-a", "3600", "--registry", REGISTRY.address, "--yes");
      assert.equal(out.code, 1);
      assert.match(
        out.stderr,
        new RegExp(
          `cannot check that the headers are not attested on-chain \\(the headers ${hex32(1)}, ${hex32(2)}: chain\\.enabled is false in this node's config\\)`,
        ),
      );
      assert.match(
        out.stderr,
        /--force releases them unchecked \(a header found attested never is\); nothing released/,
      );
      assert.equal((await held()).length, 4);
    });

    test("release without --yes prints what it would release and exits 1; a period without a record is refused", async () => {
      const dry = await cli("release", "ktda-a", "3600", "--registry", `${REGISTRY.address}@31337`, "--force");
      assert.equal(dry.code, 1);
      // the regular header and its correction both start at 3600
      assert.deepEqual(
        dry.stdout
          .trim()
          .split("\n")
          .map((l) => l.split("  ")[3]),
        [hex32(1), hex32(2)],
      );
      assert.match(
        dry.stderr,
        /would release the 2 co-sign record\(s\) above \(2 unchecked \(forced\): chain\.enabled is false/,
      );
      assert.match(dry.stderr, /run again with --yes/);
      assert.match(
        dry.stdout.split("\n")[0]!,
        / {2}registry 0x(11){20} on chain 31337 {2}unchecked \(forced\): chain\.enabled is false/,
      );
      const none = await cli("release", "ktda-a", "3600", "99", "--registry", "all", "--force", "--yes");
      assert.equal(none.code, 1);
      assert.match(
        none.stderr,
        /no co-sign record of facility 0x6b7464612d61\d*0* for a period starting at 99: `cosigned list --facility/,
      );
      assert.equal((await held()).length, 4, "all or nothing");
    });

    test("release --force --yes forgets the records, logs each, and an alternative for the period is then co-signed", async () => {
      const out = await cli("release", "ktda-a", "3600..7200", "--registry", REGISTRY.address, "--force", "--yes");
      assert.equal(out.code, 0, out.stderr);
      assert.deepEqual(
        out.stdout
          .trim()
          .split("\n")
          .map((l) => (JSON.parse(l) as CosignRecord).attestationId),
        [hex32(1)],
      );
      // the pino line: what and who
      const log = out.stderr
        .split("\n")
        .filter((l) => l.startsWith("{"))
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      assert.equal(log.length, 1);
      assert.equal(log[0]!.attestation, hex32(1));
      assert.equal(log[0]!.periodStart, 3600);
      assert.match(String(log[0]!.by), /carbonproof-oracle cosigned release, pid \d+/);
      assert.match(String(log[0]!.onChain), /unchecked \(forced\)/);
      assert.match(String(log[0]!.msg), /co-sign record released by the operator/);
      assert.deepEqual(await held(), [hex32(2), hex32(3), hex32(4)]);
      const s = await open();
      try {
        assert.deepEqual(s.recordCosign(record(5, "ktda-a", 3600, 7200)), { outcome: "recorded" });
        assert.equal(s.recordCosign(record(6, "ktda-a", 7200, 9000)).outcome, "conflict", "the others still hold");
      } finally {
        s.close();
      }
    });

    test("a database from before co-sign records named their registry (SQLite schema 8, PostgreSQL 4) opens at the current schema: its record still refuses a conflicting header for any registry, and lists as holding on every registry (JSON: registry null); a new record names its own", async () => {
      const old = await driver.setUp(`cli-${driver.name.toLowerCase()}-schema-8`);
      // the database as the node made it then, and a record as its co-signer wrote it
      await old.atOldSchema(`INSERT INTO cosigned (attestation_id, facility_id, period_start, period_end, correction_of, bundle_cid, digests, signed_at_ms)
        VALUES ('${hex32(20)}', '${idToBytes32("ktda-a")}', 3600, 7200, '${ZERO}', 'bafkrei20', '[]', 1020)`);
      const s = await old.open();
      try {
        for (const registry of [
          REGISTRY,
          { chainId: 31337, address: `0x${"22".repeat(20)}` },
          { chainId: 1, address: REGISTRY.address },
        ]) {
          const out = s.recordCosign(record(21, "ktda-a", 3000, 4000, ZERO, registry));
          assert.equal(out.outcome, "conflict", JSON.stringify(registry));
          assert.equal((out as { with: CosignRecord }).with.attestationId, hex32(20));
          assert.equal((out as { with: CosignRecord }).with.registry, undefined);
        }
        assert.deepEqual(s.recordCosign(record(22, "ktda-a", 7200, 9000)), { outcome: "recorded" });
      } finally {
        s.close();
      }
      const list = await runOracleCli(["cosigned", "list", "--config", old.file], {});
      assert.equal(list.code, 0, list.stderr);
      const lines = list.stdout.trim().split("\n");
      assert.equal(lines.length, 2);
      assert.match(
        lines[0]!,
        / {2}0x0+14 {2}bafkrei20 {2}.* {2}every registry \(recorded before co-sign records named theirs\)$/,
      );
      assert.match(lines[1]!, / {2}0x0+16 {2}bafkrei22 {2}.* {2}registry 0x(11){20} on chain 31337$/);
      const json = await runOracleCli(["cosigned", "list", "--json", "--config", old.file], {});
      assert.deepEqual(
        json.stdout
          .trim()
          .split("\n")
          .map((l) => (JSON.parse(l) as { registry: CosignRegistry | null }).registry),
        [null, REGISTRY],
      );
    });

    test("a bad command line exits 2 with its usage", async () => {
      for (const [args, why] of [
        [["release", "ktda-a"], /needs the facility and at least one period/],
        [["release", "ktda-a", "yesterday"], /a period is its start in unix seconds, or START\.\.END/],
        [["release", "ktda-a", "7200..3600", "--yes"], /ends before it starts/],
        [["release", "Not A Facility", "3600"], /neither a facility id/],
        [["list", "--yes"], /`cosigned list` takes no --yes/],
        [["list", "--registry", "all"], /`cosigned list` takes no --registry/],
        [["release", "ktda-a", "3600", "--registry", "0x1234"], /--registry takes an AttestationRegistry's address/],
        [
          ["release", "ktda-a", "3600", "--registry", `${REGISTRY.address}@0`],
          /--registry takes .* \(got "0x(11){20}@0"\)/,
        ],
        [["release", "ktda-a", "3600", "--registry", "current"], /--registry takes .* or all \(got "current"\)/],
        [["forget"], /unknown subcommand `cosigned forget`/],
      ] as const) {
        const out = await cli(...args);
        assert.equal(out.code, 2, `${args.join(" ")}: ${out.stderr}`);
        assert.match(out.stderr, why);
        assert.match(out.stderr, /usage: carbonproof-oracle cosigned/);
      }
    });
  });

describe("cosigned release and an RPC node that hangs", { timeout: 120_000 }, () => {
  test("a period without a record is refused without asking the RPC node anything; one with a record asks it", async () => {
    // takes connections and never answers, as a hung RPC node does: asked for its chain id, the
    // release waited out viem's 10 s timeout before refusing a period it holds no record of
    const connections: Socket[] = [];
    let drop = false;
    const rpc = createServer((socket) => {
      connections.push(socket);
      if (drop) socket.destroy();
    });
    await new Promise<void>((listening) => rpc.listen(0, "127.0.0.1", listening));
    try {
      const { file, dataDir } = configIn("chain-hung", {
        chain: {
          enabled: true,
          rpcUrl: `http://127.0.0.1:${(rpc.address() as AddressInfo).port}`,
          chainId: REGISTRY.chainId,
          attestationRegistry: REGISTRY.address,
        },
      });
      const s = new SqliteStorage(join(dataDir, "oracle.db"));
      s.recordCosign(record(40, "ktda-hung", 3600, 7200));
      s.close();
      const release = (...periods: string[]) =>
        runOracleCli(["cosigned", "release", "ktda-hung", ...periods, "--yes", "--force", "--config", file], {});
      for (const periods of [["99"], ["3600", "99"]]) {
        const none = await release(...periods);
        assert.equal(none.code, 1, none.stderr);
        assert.match(none.stderr, /no co-sign record of facility .* for a period starting at 99 .*; nothing released/);
        assert.equal(connections.length, 0, `${periods.join(" ")}: the RPC node was asked, with no record to check`);
      }
      // the same RPC node is asked once a record is selected (dropping the connection here, so
      // as not to wait out the timeout): the test above would see it
      drop = true;
      const one = await release("3600");
      assert.equal(one.code, 0, one.stderr);
      assert.match(
        one.stderr,
        /"onChain":"unchecked \(forced\): the RPC node \(chain\.rpcUrl\) could not be asked which chain it serves: HTTP request failed\."/,
      );
      assert.ok(connections.length > 0, "the RPC node was not asked");
    } finally {
      for (const c of connections) c.destroy();
      await new Promise((closed) => rpc.close(closed));
    }
  });
});

describe("cosigned release against the AttestationRegistry (Hardhat)", { timeout: 300_000 }, () => {
  let hh: HardhatNode;
  let chain: Record<string, unknown>;
  let attested: { id: string; start: number; end: number };
  const meter = makeDevice("cosigned-meter-1", "ktda-cosigned");
  let file: string;
  let dataDir: string;
  /** the AttestationRegistry the node co-signed for, and that attested one of the headers */
  let registry: CosignRegistry;

  before(async () => {
    hh = await HardhatNode.start();
    const dep = await deploy(hh.url);
    await dep.registerDevice(meter.deviceId, meter.facilityId, meter.publicKey, 1);
    // a period of the facility attested on-chain, by a node of its own
    const node = await chainTestNode(hh, dep, {
      parts: { calculator: new SdkCalculator({ facilities: { [meter.facilityId]: { country: "KEN" } } }) },
    });
    try {
      const e = electricity(meter);
      assert.equal((await readingPoster(node, meter)(e)).status, 201);
      const v = await waitForConfirmed(node.httpUrl!, readingDigestHex(e.reading), 60_000);
      const header = headerFromJson(node.storage.getBatchByAttestation(v.attestationId)!.headerJson!);
      attested = {
        id: v.attestationId.toLowerCase(),
        start: Number(header.periodStart),
        end: Number(header.periodEnd),
      };
    } finally {
      await node.close();
    }
    chain = { enabled: true, rpcUrl: hh.url, chainId: 31337, attestationRegistry: dep.attestationRegistry };
    registry = { chainId: 31337, address: dep.attestationRegistry.toLowerCase() };
    ({ file, dataDir } = configIn("chain", { chain }));
    // this node co-signed that header, and one of a later period that was never submitted
    const s = new SqliteStorage(join(dataDir, "oracle.db"));
    s.recordCosign({
      ...record(0, "ktda-cosigned", attested.start, attested.end, ZERO, registry),
      attestationId: attested.id,
    });
    s.recordCosign(record(7, "ktda-cosigned", attested.end + 3600, attested.end + 7200, ZERO, registry));
    s.close();
  });
  after(async () => {
    await hh?.stop();
  });

  const held = () => {
    const s = new SqliteStorage(join(dataDir, "oracle.db"));
    try {
      return s.listCosigns().map((c) => c.attestationId);
    } finally {
      s.close();
    }
  };

  test("a header attested on-chain is not released, --force or not; one never submitted is", async () => {
    for (const force of [[], ["--force"]]) {
      const out = await runOracleCli(
        ["cosigned", "release", "ktda-cosigned", String(attested.start), "--yes", ...force, "--config", file],
        {},
      );
      assert.equal(out.code, 1, out.stderr);
      assert.match(
        out.stderr,
        new RegExp(`the header ${attested.id} .* is attested on-chain: its co-sign record stays`),
      );
    }
    // asked together with an unattested period: all or nothing
    const both = await runOracleCli(
      [
        "cosigned",
        "release",
        "ktda-cosigned",
        String(attested.start),
        String(attested.end + 3600),
        "--yes",
        "--config",
        file,
      ],
      {},
    );
    assert.equal(both.code, 1);
    assert.equal(held().length, 2);
    const dry = await runOracleCli(
      ["cosigned", "release", "ktda-cosigned", String(attested.end + 3600), "--config", file],
      {},
    );
    assert.equal(dry.code, 1);
    assert.match(
      dry.stderr,
      /would release the 1 co-sign record\(s\) above \(1 not attested on the registry it was co-signed for\)/,
    );
    const out = await runOracleCli(
      ["cosigned", "release", "ktda-cosigned", String(attested.end + 3600), "--yes", "--config", file],
      {},
    );
    assert.equal(out.code, 0, out.stderr);
    assert.match(out.stderr, /"onChain":"not attested on the registry it was co-signed for"/);
    assert.deepEqual(held(), [attested.id]);
  });

  test("--force releases only the records that cannot be checked: each that can is, whatever comes before it, and an attested one refuses the release; the report says which were released unchecked, and why", async () => {
    // before the attested record in the order they are read (signed_at_ms): one of another chain,
    // and one of a registry address with no code (its `exists` read fails)
    const noCode = `0x${"de".repeat(20)}`;
    const s = new SqliteStorage(join(dataDir, "oracle.db"));
    try {
      for (const [n, signedAtMs, reg] of [
        [30, 500, { chainId: 5, address: registry.address }],
        [31, 600, { chainId: 31337, address: noCode }],
      ] as const)
        assert.equal(
          s.recordCosign({ ...record(n, "ktda-cosigned", attested.start, attested.end, ZERO, reg), signedAtMs })
            .outcome,
          "recorded",
        );
    } finally {
      s.close();
    }
    const release = (...args: string[]) =>
      runOracleCli(["cosigned", "release", "ktda-cosigned", ...args, "--config", file], {});
    for (const force of [[], ["--force"]]) {
      const out = await release(String(attested.start), "--registry", "all", "--yes", ...force);
      assert.equal(out.code, 1, out.stderr);
      // asked, past the two that cannot be checked
      assert.match(
        out.stderr,
        new RegExp(
          `the header ${attested.id} \\(.*, AttestationRegistry ${registry.address}\\) is attested on-chain: its co-sign record stays, .*; nothing released`,
        ),
      );
      assert.equal(held().length, 3, "nothing released");
    }
    // the no-code registry's own: that one released unchecked, saying why
    const noCodeOut = await release(String(attested.start), "--registry", noCode, "--force", "--yes");
    assert.equal(noCodeOut.code, 0, noCodeOut.stderr);
    assert.deepEqual(
      noCodeOut.stdout
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l) as CosignRecord & { onChain: string })
        .map((r) => [r.attestationId, r.registry?.address, r.onChain.replace(/failed: .*\(at/, "failed: … (at")]),
      [[hex32(31), noCode, `unchecked (forced): reading the AttestationRegistry failed: … (at ${noCode})`]],
    );
    assert.deepEqual(held().sort(), [attested.id, hex32(30)].sort());
    // a later period of an unattested record of this registry and one of another chain: without
    // --force refused naming the one that cannot be checked; with it, each released as it was found
    const later = attested.end + 7200;
    const s2 = new SqliteStorage(join(dataDir, "oracle.db"));
    try {
      s2.recordCosign({
        ...record(32, "ktda-cosigned", later, later + 3600, ZERO, { chainId: 5, address: registry.address }),
        signedAtMs: 500,
      });
      s2.recordCosign(record(33, "ktda-cosigned", later, later + 3600, ZERO, registry));
    } finally {
      s2.close();
    }
    const refused = await release(String(later), "--registry", "all", "--yes");
    assert.equal(refused.code, 1);
    assert.match(
      refused.stderr,
      new RegExp(
        `cannot check that 1 of the 2 headers is not attested on-chain \\(the header ${hex32(32)}: it was co-signed for the registry ${registry.address} on chain 5, and this node's chain\\.chainId is 31337\\): .*that it is not attested, --force releases it unchecked \\(a header found attested never is\\); nothing released`,
      ),
    );
    const forced = await release(String(later), "--registry", "all", "--force", "--yes");
    assert.equal(forced.code, 0, forced.stderr);
    assert.deepEqual(
      forced.stdout
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l) as CosignRecord & { onChain: string })
        .map((r) => [r.attestationId, r.registry?.chainId, r.onChain]),
      [
        [
          hex32(32),
          5,
          `unchecked (forced): it was co-signed for the registry ${registry.address} on chain 5, and this node's chain.chainId is 31337`,
        ],
        [hex32(33), 31337, "not attested on the registry it was co-signed for"],
      ],
    );
    assert.match(
      forced.stderr,
      /released 2 co-sign record\(s\) \(1 unchecked \(forced\): .*; 1 not attested on the registry it was co-signed for\)/,
    );
    assert.deepEqual(held().sort(), [attested.id, hex32(30)].sort());
  });

  test("a period attested on an old registry does not hold back the current registry's record for it: by default only the records that hold against this node's registry (its own, and those naming none) are released; the old registry's, named with --registry, is refused as attested, --force or not; another chain's is named with @CHAINID and released only with --force", async () => {
    const redeployed = await deploy(hh.url);
    const current = redeployed.attestationRegistry.toLowerCase();
    const { file: moved, dataDir: movedDir } = configIn("chain-redeployed", {
      chain: { ...chain, attestationRegistry: redeployed.attestationRegistry },
    });
    const s = new SqliteStorage(join(movedDir, "oracle.db"));
    try {
      // the period attested on the old registry, and a header for it on the new one that its lead gave up
      s.recordCosign({
        ...record(0, "ktda-cosigned", attested.start, attested.end, ZERO, registry),
        attestationId: attested.id,
      });
      assert.equal(
        s.recordCosign(
          record(10, "ktda-cosigned", attested.start, attested.end, ZERO, { chainId: 31337, address: current }),
        ).outcome,
        "recorded",
      );
      s.recordCosign(record(9, "ktda-cosigned", 3600, 7200, ZERO, { chainId: 5, address: registry.address }));
      // one from before records named their registry
      assert.equal(
        s.recordCosign({ ...record(11, "ktda-cosigned", 10_800, 14_400), registry: undefined }).outcome,
        "recorded",
      );
    } finally {
      s.close();
    }
    const held = () => {
      const h = new SqliteStorage(join(movedDir, "oracle.db"));
      try {
        return h
          .listCosigns()
          .map((c) => c.attestationId)
          .sort();
      } finally {
        h.close();
      }
    };
    const release = (...args: string[]) =>
      runOracleCli(["cosigned", "release", "ktda-cosigned", ...args, "--config", moved], {});
    const releasedOf = (out: { stdout: string }) =>
      out.stdout
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l) as CosignRecord & { onChain: string })
        .map((r) => [r.attestationId, r.registry?.address ?? null, r.onChain]);

    const dry = await release(String(attested.start));
    assert.equal(dry.code, 1, dry.stderr);
    assert.equal(dry.stdout.trim().split("\n").length, 1);
    assert.match(
      dry.stdout,
      new RegExp(
        ` {2}${hex32(10)} {2}.* {2}registry ${current} on chain 31337 {2}not attested on the registry it was co-signed for$`,
        "m",
      ),
    );
    const out = await release(String(attested.start), "--yes");
    assert.equal(out.code, 0, out.stderr);
    assert.deepEqual(releasedOf(out), [[hex32(10), current, "not attested on the registry it was co-signed for"]]);
    assert.deepEqual(held(), [attested.id, hex32(9), hex32(11)].sort());
    for (const force of [[], ["--force"]]) {
      const old = await release(String(attested.start), "--registry", registry.address, "--yes", ...force);
      assert.equal(old.code, 1, old.stderr);
      assert.match(
        old.stderr,
        new RegExp(
          `the header ${attested.id} \\(.*, AttestationRegistry ${registry.address}\\) is attested on-chain: its co-sign record stays`,
        ),
      );
    }
    // a period with records of other registries only
    const none = await release(String(attested.start), "--yes");
    assert.equal(none.code, 1);
    assert.match(
      none.stderr,
      new RegExp(
        `no co-sign record of facility .* for a period starting at ${attested.start} that blocks headers of this node's registry ${current} on chain 31337 \\(one naming it, or naming none\\) \\(it holds 1 of other registries: .*--registry ADDRESS\\[@CHAINID\\] names one`,
      ),
    );
    // the record naming no registry: checked on the current one, and said so
    const unnamed = await release("10800", "--yes");
    assert.equal(unnamed.code, 0, unnamed.stderr);
    assert.deepEqual(releasedOf(unnamed), [
      [hex32(11), null, "not attested on the current registry (its own registry is unknown)"],
    ]);
    // another chain's: named with @CHAINID, cannot be checked here
    assert.equal((await release("3600", "--yes")).code, 1);
    const other = await release("3600", "--registry", `${registry.address}@5`, "--yes");
    assert.equal(other.code, 1);
    assert.match(
      other.stderr,
      new RegExp(
        `cannot check that the header is not attested on-chain \\(the header ${hex32(9)}: it was co-signed for the registry ${registry.address} on chain 5, and this node's chain\\.chainId is 31337\\): .* --force releases it unchecked .*; nothing released`,
      ),
    );
    const forced = await release(
      "3600",
      "--registry",
      `${registry.address.toUpperCase().replace("0X", "0x")}@5`,
      "--force",
      "--yes",
    );
    assert.equal(forced.code, 0, forced.stderr);
    const log = JSON.parse(forced.stderr.split("\n").find((l) => l.startsWith("{"))!) as Record<string, unknown>;
    assert.deepEqual([log.attestation, log.chainId, log.registry], [hex32(9), 5, registry.address]);
    assert.match(String(log.onChain), /^unchecked \(forced\): it was co-signed for the registry .* on chain 5/);
    assert.deepEqual(held(), [attested.id]);
  });

  test("an RPC node out of reach: refused without --force, saying why", async () => {
    const { file: down } = configIn("chain-down", {
      chain: { ...chain, rpcUrl: `http://127.0.0.1:${await freePort()}` },
    });
    const s = new SqliteStorage(join(tmp.dir, "chain-down", "data", "oracle.db"));
    s.recordCosign(record(8, "ktda-cosigned", 3600, 7200, ZERO, registry));
    s.close();
    const out = await runOracleCli(["cosigned", "release", "ktda-cosigned", "3600", "--yes", "--config", down], {});
    assert.equal(out.code, 1);
    assert.match(
      out.stderr,
      /cannot check that the header is not attested on-chain \(the header 0x0+8: the RPC node \(chain\.rpcUrl\) could not be asked which chain it serves: HTTP request failed\.\): where the reason is this node's chain settings .* --force releases it unchecked/,
    );
  });

  test("an RPC node of another chain than chain.chainId is not asked: refused without --force, naming both ids, though the registry's address there says 'not attested'", async () => {
    // the node's config says chain 31338; its rpcUrl serves Hardhat's 31337, where a contract sits
    // at the registry's address (a same-deployer deployment, a fork, a mix-up) and has never heard
    // of the record's header: asked there, the record was released unforced
    const { file: wrong } = configIn("chain-wrong", { chain: { ...chain, chainId: 31338 } });
    const s = new SqliteStorage(join(tmp.dir, "chain-wrong", "data", "oracle.db"));
    s.recordCosign(record(10, "ktda-cosigned", 3600, 7200, ZERO, { ...registry, chainId: 31338 }));
    s.close();
    const out = await runOracleCli(["cosigned", "release", "ktda-cosigned", "3600", "--yes", "--config", wrong], {});
    assert.equal(out.code, 1, out.stderr);
    assert.match(
      out.stderr,
      /the RPC node \(chain\.rpcUrl\) serves chain id 31337, and chain\.chainId is 31338: no registry is asked on another chain than the node's\).*nothing released/,
    );
    const after = new SqliteStorage(join(tmp.dir, "chain-wrong", "data", "oracle.db"));
    try {
      assert.deepEqual(
        after.listCosigns().map((c) => c.attestationId),
        [hex32(10)],
      );
    } finally {
      after.close();
    }
  });
});
