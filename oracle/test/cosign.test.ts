import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import pg from "pg";
import { HttpRequestError, getAddress, toFunctionSelector } from "viem";
import { generatePrivateKey, privateKeyToAccount, type LocalAccount } from "viem/accounts";
import {
  METHODOLOGY_ID,
  buildBundle,
  bundleCid,
  bundleHeader,
  defaultFactorSet,
  encodeBundle,
  hashBatchHeader,
  signBatchHeader,
  verifyBatchHeaderSignature,
  type Envelope,
  type FacilityContext,
  type Hex,
} from "../../sdk/src/index.ts";
import { createApiKey, hashApiKey, newApiKey } from "../src/api/keys.ts";
import { headerFromJson, headerToJson } from "../src/batch/bundle.ts";
import { DEVICE_SYNC_WAIT_MS, MemoryDeviceDirectory, type DeviceInfo } from "../src/devices/directory.ts";
import { reviewCosign, type CosignDomain, type CosignRequest, type ReviewRequest } from "../src/quorum/cosign.ts";
import { Cosigner, type CosignAnswer, type CosignAsker } from "../src/quorum/cosigner.ts";
import { MIGRATIONS, SqliteStorage } from "../src/storage/sqlite.ts";
import { PG_MIGRATIONS, PostgresStorage } from "../src/storage/postgres.ts";
import type { SqlStorage } from "../src/storage/sql-storage.ts";
import { ORACLE_KEY, PEER_KEY, HardhatNode, artifact, deploy, type Deployment } from "./chain-harness.ts";
import { deviceInfo, electricity, makeDevice, sdkCalculator, testNode } from "./fixtures.ts";
import { tempDir } from "./helpers.ts";
import { postgresMissing, startPostgres, type PostgresServer } from "./postgres-harness.ts";

/**
 * The co-signer's review of another node's header and bundle (quorum/cosign.ts), driven directly:
 * what it refuses, and why.
 */
const factorSet = defaultFactorSet();
const context = { country: "KEN" };
const calculator = {
  methodologyId: METHODOLOGY_ID,
  factorSetId: factorSet.id,
  facilityContext: () => context,
};
const T0 = 1_700_000_000;
/** TEST-ONLY keys (Hardhat's well-known default accounts #1 and #2; never hold value): the lead node, and the co-signer's own. */
const LEAD = privateKeyToAccount(ORACLE_KEY);
const COSIGNER = privateKeyToAccount(PEER_KEY);
/** The `oracle` key a co-signer issued to `account`'s node, as the API hands it to the co-signer: its subject the node's address. */
const oracleKeyOf = (account: LocalAccount, id = 1): CosignAsker => ({ id, scope: "oracle", subject: account.address });

/** A header and its bundle (without the lead's signature and registry, which `signedBy` adds). */
export function request(
  envelopes: Envelope[],
  period: { start: number; end: number },
  correctionOf?: Hex,
  facilityContext: FacilityContext = context,
): CosignRequest {
  const bundle = buildBundle({
    facilityId: envelopes[0]!.reading.facilityId,
    periodStart: period.start,
    periodEnd: period.end,
    methodologyId: METHODOLOGY_ID,
    factorSet,
    facilityContext,
    envelopes,
    ...(correctionOf ? { correctionOf } : {}),
  } as Parameters<typeof buildBundle>[0]);
  const bytes = encodeBundle(bundle);
  return { header: headerToJson(bundleHeader(bundle, bundleCid(bytes))), bundle: Buffer.from(bytes).toString("utf8") };
}

/**
 * `req` as a lead node sends it: with `account`'s signature of the header under `signedFor`, and
 * `named` as the registry it signs for (`signedFor` unless given).
 */
export async function signedBy(
  account: LocalAccount,
  req: CosignRequest,
  signedFor: CosignDomain,
  named: CosignDomain = signedFor,
): Promise<CosignRequest> {
  const signature = await signBatchHeader(account, headerFromJson(req.header), signedFor);
  return { header: req.header, bundle: req.bundle, domain: named, signature };
}

describe("reviewCosign: the devices of the readings", () => {
  const meter = makeDevice("m1");
  const envs = [electricity(meter, { ts: T0 + 10 }), electricity(meter, { ts: T0 + 20 })];
  const req = request(envs, { start: T0, end: T0 + 3600 });
  const review = (d: DeviceInfo) => reviewCosign(req, { calculator, devices: new MemoryDeviceDirectory([d]) });

  test("an active device's readings are signed", async () => {
    assert.equal((await review(deviceInfo(meter))).ok, true);
  });

  test("a device suspended before a reading: refused, naming the device, its status and since when", async () => {
    const r = await review({ ...deviceInfo(meter, "suspended"), statusChangedAt: T0 + 15 });
    assert.equal(r.ok, false);
    assert.match(
      (r as { why: string }).why,
      /device m1 is suspended since 1700000015 \(the reading is stamped 1700000020\)/,
    );
  });

  test("a device suspended (or retired) after the period's readings: they were made while it was active, signed", async () => {
    assert.equal((await review({ ...deviceInfo(meter, "suspended"), statusChangedAt: T0 + 21 })).ok, true);
    assert.equal((await review({ ...deviceInfo(meter, "revoked"), statusChangedAt: T0 + 3000 })).ok, true);
  });

  test("a device not active since a time unknown (a device file without statusChangedAt): refused", async () => {
    const r = await review(deviceInfo(meter, "revoked"));
    assert.equal(r.ok, false);
    assert.match((r as { why: string }).why, /device m1 is revoked/);
  });

  test("a device of another facility, and one not registered: refused, saying so", async () => {
    let r = await review({ ...deviceInfo(meter), facilityId: "elsewhere" });
    assert.match((r as { why: string }).why, /device m1 belongs to elsewhere, not ktda-kangaita/);
    r = await reviewCosign(req, { calculator, devices: new MemoryDeviceDirectory([]) });
    assert.match((r as { why: string }).why, /device m1 is not registered/);
  });
});

describe("Cosigner: what a stateless review cannot see", () => {
  const tmp = tempDir();
  after(() => tmp.cleanup());
  const meter = makeDevice("m2");
  const NOW = T0 + 100_000;
  const period = { start: T0, end: T0 + 3600 };
  const low = electricity(meter, { ts: T0 + 10, energyWh: 100 });
  const high = electricity(meter, { ts: T0 + 20, energyWh: 90_000 });
  const mid = electricity(meter, { ts: T0 + 2000 });
  const late = [electricity(meter, { ts: T0 + 30 }), electricity(meter, { ts: T0 + 40 })];
  const domain = { chainId: 31337, verifyingContract: `0x${"11".repeat(20)}` as const };
  const idOf = (req: CosignRequest) => hashBatchHeader(headerFromJson(req.header), domain);
  type Domain = { chainId: number; verifyingContract: `0x${string}` };
  /** a second AttestationRegistry on the same chain (a redeploy), its address checksummed (mixed case) as a config may give it */
  const registryB: Domain = { chainId: 31337, verifyingContract: getAddress(`0x${"ab".repeat(20)}`) };
  /** the first registry's address on another chain: another registry */
  const otherChain: Domain = { chainId: 11155111, verifyingContract: domain.verifyingContract };
  const idOn = (d: Domain, req: CosignRequest) => hashBatchHeader(headerFromJson(req.header), d);

  /** A co-signer on a database of its own (or `storage`); counts device look-ups and reviews. */
  function cosigner<S extends SqlStorage = SqliteStorage>(
    opts: {
      originals?: Map<Hex, CosignRequest>;
      bundles?: Map<string, string>;
      nowMs?: number;
      /** awaited before each review, with the review's request and signal */
      beforeReview?: (req: ReviewRequest, signal: AbortSignal | undefined) => Promise<void>;
      /** the directory as one following the DeviceRegistry: its `syncedAfter` */
      syncedAfter?: (afterMs: number, timeoutMs: number) => Promise<boolean>;
      /** the registry it signs for; `domain` unless given */
      domain?: { chainId: number; verifyingContract: `0x${string}` };
      /** its database file; one of its own unless given */
      path?: string;
      /** its storage, opened by the caller (another driver than SQLite); `path` unless given */
      storage?: S;
      /** the OracleSet's answer (`LEAD` alone is active unless given); null: none to ask */
      isActiveOracle?: ((a: `0x${string}`) => Promise<boolean>) | null;
      /** the limits of reviews whose requesters have gone (`ORPHANED_REVIEWS` unless given) */
      orphans?: { max?: number; runMs?: number; keepMs?: number };
      /** a device look-up in place of the directory's (one that fails, as a chain directory's RPC call may) */
      lookup?: (id: string) => Promise<DeviceInfo | null>;
    } = {},
  ) {
    // S is SqliteStorage unless `storage` is given
    const storage =
      opts.storage ?? (new SqliteStorage(opts.path ?? join(tmp.dir, `${Math.random()}.db`)) as SqlStorage as S);
    const directory = new MemoryDeviceDirectory([deviceInfo(meter)]);
    const calls = { lookups: 0, reviews: 0, bundleReads: 0 };
    const c = new Cosigner({
      storage,
      nowMs: () => opts.nowMs ?? NOW * 1000,
      graceS: 30,
      devices: {
        get: (id) => {
          calls.lookups++;
          return opts.lookup ? opts.lookup(id) : directory.get(id);
        },
        ...(opts.syncedAfter ? { syncedAfter: opts.syncedAfter } : {}),
      },
      review: async (req, records, signal) => {
        calls.reviews++;
        await opts.beforeReview?.(req, signal);
        return reviewCosign(req, { calculator, devices: new MemoryDeviceDirectory(records) });
      },
      original: async (id) => {
        const o = opts.originals?.get(id);
        return o ? headerFromJson(o.header) : null;
      },
      readBundle: async (cid) => {
        calls.bundleReads++;
        const b = opts.bundles?.get(cid);
        return b === undefined ? null : Buffer.from(b, "utf8");
      },
      domain: opts.domain ?? domain,
      self: COSIGNER.address,
      isActiveOracle: opts.isActiveOracle === undefined ? async (a) => a === LEAD.address : opts.isActiveOracle,
      sign: async () => ({ signer: "0xsigner", signature: "0xsig" }),
      ...(opts.orphans ? { orphans: opts.orphans } : {}),
    });
    // each request as the lead sends it, signed for the co-signer's registry, with the lead's key
    const asLead = {
      cosign: async (req: CosignRequest, signal?: AbortSignal) =>
        c.cosign(await signedBy(LEAD, req, opts.domain ?? domain), oracleKeyOf(LEAD), signal),
      /** the request as given (not signed by the lead), with `asker`'s key */
      unsigned: (req: CosignRequest, asker: CosignAsker, signal?: AbortSignal) => c.cosign(req, asker, signal),
      get inFlight() {
        return c.inFlight;
      },
      get orphaned() {
        return c.orphaned;
      },
      get stopped() {
        return c.stopped;
      },
    };
    return { c: asLead, storage, calls };
  }
  const signed = (a: CosignAnswer) => {
    assert.ok("signature" in a, JSON.stringify(a));
  };
  const refused = (a: CosignAnswer, status: number, re: RegExp) => {
    assert.ok("refused" in a, "refused");
    assert.equal(a.status, status, a.refused);
    assert.match(a.refused, re);
  };

  test("a second regular header for the same facility and period (the readings without the high one) is refused with 409 naming the id signed; the same header again is signed again; a later period is not an alternative", async () => {
    const { c, storage, calls } = cosigner();
    const full = request([low, high], period);
    const reduced = request([low], period);
    signed(await c.cosign(full));
    const first = idOf(full);
    assert.equal(storage.getCosign(first)?.bundleCid, headerFromJson(full.header).bundleCid, "recorded");
    const lookups = calls.lookups;
    refused(await c.cosign(reduced), 409, new RegExp(`already co-signed ${first} for this facility's period`));
    assert.equal(calls.lookups, lookups, "refused before any device look-up");
    refused(await c.cosign(request([mid], { start: T0 + 1800, end: T0 + 5400 })), 409, new RegExp(first));
    signed(await c.cosign(full));
    signed(await c.cosign(request([electricity(meter, { ts: T0 + 4000 })], { start: T0 + 3600, end: T0 + 7200 })));
    storage.close();
  });

  test("after a registry redeploy (a new AttestationRegistry address, the same facility ids), a facility's period co-signed for the old registry is co-signed for the new one; a conflicting header is still refused with 409 on each registry; the same address on another chain is another registry", async () => {
    const path = join(tmp.dir, "redeployed.db");
    const full = request([low, high], period);
    const reduced = request([low], period);
    const onA = cosigner({ path });
    signed(await onA.c.cosign(full));
    onA.storage.close();
    // the node's chain.attestationRegistry set to the new registry, its database kept
    const onB = cosigner({ path, domain: registryB });
    signed(await onB.c.cosign(reduced));
    assert.deepEqual(onB.storage.getCosign(idOn(registryB, reduced))?.registry, {
      chainId: 31337,
      address: registryB.verifyingContract.toLowerCase(),
    });
    // B's own record holds on B: the other header for the period is refused, naming it
    const onB409 = await onB.c.cosign(full);
    refused(onB409, 409, new RegExp(`already co-signed ${idOn(registryB, reduced)} for this facility's period`));
    assert.doesNotMatch((onB409 as { refused: string }).refused, /holds on every registry/);
    onB.storage.close();
    // the same registry written in lowercase is the same registry
    const lower = cosigner({
      path,
      domain: { ...registryB, verifyingContract: registryB.verifyingContract.toLowerCase() as `0x${string}` },
    });
    refused(await lower.c.cosign(full), 409, new RegExp(`already co-signed ${idOn(registryB, reduced)}`));
    lower.storage.close();
    // A's record still holds on A: the reduced header for A is refused, naming A's; A's own again is signed
    const backOnA = cosigner({ path });
    refused(
      await backOnA.c.cosign(reduced),
      409,
      new RegExp(`already co-signed ${idOf(full)} for this facility's period`),
    );
    signed(await backOnA.c.cosign(full));
    backOnA.storage.close();
    // the first registry's address on another chain
    const elsewhere = cosigner({ path, domain: otherChain });
    signed(await elsewhere.c.cosign(reduced));
    assert.deepEqual(
      elsewhere.storage.listCosigns().map((r) => [r.attestationId, r.registry?.chainId, r.registry?.address]),
      [
        [idOf(full), 31337, domain.verifyingContract],
        [idOn(registryB, reduced), 31337, registryB.verifyingContract.toLowerCase()],
        [idOn(otherChain, reduced), 11155111, domain.verifyingContract],
      ].sort(([a], [b]) => (String(a) < String(b) ? -1 : 1)),
    );
    elsewhere.storage.close();
  });

  test("a database from before co-sign records named their registry (SQLite schema 8) opens at the current schema, and its record keeps refusing a conflicting header on every registry, saying so; the same header again is signed; once released, the new registry's header is", async () => {
    const path = join(tmp.dir, "schema-8.db");
    // a database as a node of schema 8 made it (MIGRATION_9 added the registry columns)
    const old = sqliteAtSchema(path, 8);
    // the record schema 8's co-signer made when it signed `full` for registry A, as it wrote it
    const full = request([low, high], period);
    const h = headerFromJson(full.header);
    old
      .prepare(
        `INSERT INTO cosigned (attestation_id, facility_id, period_start, period_end, correction_of, bundle_cid, digests, signed_at_ms) VALUES (?,?,?,?,?,?,?,?)`,
      )
      .run(idOf(full), h.facilityId, period.start, period.end, h.correctionOf, h.bundleCid, "[]", 1_000);
    old.close();
    const reduced = request([low], period);
    for (const d of [domain, registryB, otherChain]) {
      const { c, storage } = cosigner({ path, domain: d });
      refused(
        await c.cosign(reduced),
        409,
        new RegExp(
          `already co-signed ${idOf(full)} for this facility's period .*; that record predates co-sign records naming their registry, so it holds on every registry \\(\`cosigned release\` frees it`,
        ),
      );
      assert.equal(storage.getCosign(idOn(d, reduced)), null, "nothing recorded");
      storage.close();
    }
    const { c, storage } = cosigner({ path });
    assert.equal(
      Number((storage.db.prepare("PRAGMA user_version").get() as { user_version: number }).user_version),
      MIGRATIONS.length,
    );
    assert.equal(storage.getCosign(idOf(full))?.registry, undefined, "its registry unknown");
    signed(await c.cosign(full));
    assert.equal(storage.listCosigns().length, 1, "signed again, not recorded twice");
    storage.close();
    const onB = cosigner({ path, domain: registryB });
    assert.equal(onB.storage.releaseCosign(idOf(full)), true);
    signed(await onB.c.cosign(reduced));
    onB.storage.close();
  });

  test("a period that has not ended batching.graceS ago on this node's clock (one ending in 2096) is refused", async () => {
    const { c, storage } = cosigner({ nowMs: (T0 + 3600 + 29) * 1000 });
    refused(await c.cosign(request([low], period)), 422, /co-signs it from 1700003630 on .* its clock says 1700003629/);
    refused(await c.cosign(request([low], { start: T0, end: 4_000_000_000 })), 422, /the period ends at 4000000000/);
    storage.close();
    const later = cosigner({ nowMs: (T0 + 3600 + 30) * 1000 });
    signed(await later.c.cosign(request([low], period)));
    later.storage.close();
  });

  test("a correction: of an attestation the registry holds, same facility, inside its period, none of its readings; several corrections of one original, but not two with the same reading", async () => {
    const original = request([low, high], period);
    const originalId = idOf(original);
    const originals = new Map([[originalId, original]]);
    const bundles = new Map([[headerFromJson(original.header).bundleCid, original.bundle]]);
    const { c, storage } = cosigner({ originals, bundles });
    // an arbitrary correctionOf
    refused(
      await c.cosign(request(late, period, `0x${"ab".repeat(32)}`)),
      422,
      /the registry holds no attestation 0xabab/,
    );
    // the original's own readings again (a double count the registry cannot see)
    refused(
      await c.cosign(request([high], period, originalId)),
      422,
      /already in the original attestation .*'s bundle/,
    );
    // outside the original's period
    refused(await c.cosign(request(late, { start: T0, end: T0 + 7200 }, originalId)), 422, /not inside its original/);
    // of an original computed with another methodology (the registry reverts MethodologyMismatch)
    const older = `0x${"0e".repeat(32)}` as const;
    const oldHeader = headerToJson({ ...headerFromJson(original.header), methodologyId: older });
    const oldOriginal = { ...original, header: oldHeader };
    originals.set(idOf(oldOriginal), oldOriginal);
    refused(
      await c.cosign(request(late, period, idOf(oldOriginal))),
      422,
      new RegExp(`was computed with methodology ${older}, the correction with 0x[0-9a-f]{64}: a correction keeps`),
    );
    // late readings: signed; another correction with other late readings too
    signed(await c.cosign(request([late[0]!], period, originalId)));
    signed(await c.cosign(request([late[1]!], period, originalId)));
    // a third holding a reading of the first: refused, naming it
    const first = idOf(request([late[0]!], period, originalId));
    refused(
      await c.cosign(request(late, period, originalId)),
      409,
      new RegExp(`correction ${first} of ${originalId}, which holds reading`),
    );
    storage.close();
    // the original's bundle out of this node's reach: not signed blind, retry later
    const blind = cosigner({ originals });
    refused(
      await blind.c.cosign(request([late[0]!], period, originalId)),
      503,
      /cannot read the original .*'s bundle .*retry/,
    );
    blind.storage.close();
  });

  test("two corrections of one original holding readings of one device with one seq but other digests (a re-signed reading, or equivocation): the second is refused 409 naming the (deviceId, seq), since the auditor's verifier counts a (deviceId, seq) once; a correction holding a reading with the (deviceId, seq) of one of the original's is refused 422 naming it", async () => {
    const original = request([low, high], period);
    const originalId = idOf(original);
    const originals = new Map([[originalId, original]]);
    const bundles = new Map([[headerFromJson(original.header).bundleCid, original.bundle]]);
    const { c, storage } = cosigner({ originals, bundles });
    // one seq, two readings: other times, so other digests
    const seq = meter.seq + 1_000;
    const once = electricity(meter, { ts: T0 + 50, seq });
    const twice = electricity(meter, { ts: T0 + 51, seq });
    const a = request([once], period, originalId);
    const b = request([twice, electricity(meter, { ts: T0 + 52 })], period, originalId);
    const digestOf = (r: CosignRequest) =>
      (JSON.parse(r.bundle) as { readings: { digest: string; envelope: Envelope }[] }).readings.find(
        (x) => x.envelope.reading.seq === seq,
      )!.digest;
    const [digestA, digestB] = [digestOf(a), digestOf(b)];
    assert.notEqual(digestA, digestB);
    signed(await c.cosign(a));
    assert.deepEqual(storage.getCosign(idOf(a))?.keys, [`m2#${seq}`], "recorded with its reading's (deviceId, seq)");
    const answer = await c.cosign(b);
    refused(
      answer,
      409,
      new RegExp(
        `already co-signed correction ${idOf(a)} of ${originalId}, which holds reading m2#${seq} \\(deviceId m2, seq ${seq}\\) too, with digest ${digestA} there and ${digestB} here \\(the device signed two readings with one seq\\): it does not sign another correction with the same reading`,
      ),
    );
    assert.equal(storage.getCosign(idOf(b)), null, "nothing recorded");
    // the original's reading `low` signed again with its seq (another digest)
    const resigned = electricity(meter, { ts: low.reading.ts + 1, seq: low.reading.seq });
    refused(
      await c.cosign(request([resigned], period, originalId)),
      422,
      new RegExp(
        `1 reading is already in the original attestation ${originalId}'s bundle, by \\(deviceId, seq\\) \\(m2#${low.reading.seq} 0x[0-9a-f]{64}, there 0x[0-9a-f]{64}: the device signed two readings with one seq\\)`,
      ),
    );
    storage.close();
  });

  /**
   * A database as a node from before co-sign records held reading keys made it (SQLite schema 9,
   * PostgreSQL 5: their migrations alone, on an empty database), holding `row`, a record its
   * co-signer wrote (attestation id, facility, period start and end, correctionOf, CID, digests,
   * signed at, chain id, registry). `open` opens it as this node does (migrating it); `stored`
   * reads its schema version and each record's `digests` and `reading_keys` as they are stored.
   */
  const readingsOf = (r: Record<string, unknown>) => ({
    attestation_id: r.attestation_id,
    digests: r.digests,
    reading_keys: r.reading_keys,
  });
  const oldDatabases: {
    name: string;
    skip: string | false;
    make: (
      name: string,
      row: (string | number)[],
    ) => Promise<{
      open: () => SqlStorage;
      stored: () => Promise<{ version: number; rows: Record<string, unknown>[] }>;
    }>;
  }[] = [
    {
      name: "SQLite schema 9",
      skip: false,
      make: async (name, row) => {
        const path = join(tmp.dir, `${name}.db`);
        const old = sqliteAtSchema(path, 9);
        old
          .prepare(
            `INSERT INTO cosigned (attestation_id, facility_id, period_start, period_end, correction_of, bundle_cid, digests, signed_at_ms, chain_id, registry) VALUES (?,?,?,?,?,?,?,?,?,?)`,
          )
          .run(...row);
        old.close();
        return {
          open: () => new SqliteStorage(path),
          stored: async () => {
            const db = new DatabaseSync(path, { readOnly: true });
            try {
              return {
                version: Number((db.prepare("PRAGMA user_version").get() as { user_version: number }).user_version),
                rows: db.prepare(`SELECT * FROM cosigned ORDER BY signed_at_ms`).all().map(readingsOf),
              };
            } finally {
              db.close();
            }
          },
        };
      },
    },
    {
      name: "PostgreSQL schema 5",
      skip: postgresMissing ?? false,
      make: async (_name, row) => {
        pgServer ??= startPostgres();
        const url = await (await pgServer).createDatabase();
        await postgresAtSchema(
          url,
          5,
          `INSERT INTO cosigned (attestation_id, facility_id, period_start, period_end, correction_of, bundle_cid, digests, signed_at_ms, chain_id, registry) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10)`,
          row,
        );
        return {
          open: () => new PostgresStorage(url),
          stored: async () => {
            const client = new pg.Client({ connectionString: url });
            await client.connect();
            try {
              const version = (await client.query<{ version: number }>("SELECT version FROM carbonproof_schema")).rows;
              const rows = await client.query(`SELECT * FROM cosigned ORDER BY signed_at_ms`);
              return { version: version.length === 1 ? version[0]!.version : NaN, rows: rows.rows.map(readingsOf) };
            } finally {
              await client.end();
            }
          },
        };
      },
    },
  ];

  for (const old of oldDatabases)
    test(
      `a correction co-signed before records held reading keys (${old.name}) opens at the current schema with its \`digests\` unchanged, byte for byte (its keys unknown: NULL in a column of their own), and has them read from its bundle before another correction of the original is signed: one with a reading of the same (deviceId, seq) is refused 409 naming it; while that bundle cannot be read, 503 and nothing recorded; a correction signed after is stored with \`digests\` an array too, as a node from before reads it`,
      { skip: old.skip },
      async () => {
        const original = request([low, high], period);
        const originalId = idOf(original);
        const originals = new Map([[originalId, original]]);
        const bundles = new Map([[headerFromJson(original.header).bundleCid, original.bundle]]);
        const seq = meter.seq + 2_000;
        const before = request([electricity(meter, { ts: T0 + 60, seq })], period, originalId);
        const after = request([electricity(meter, { ts: T0 + 61, seq })], period, originalId);
        const h = headerFromJson(before.header);
        const digestsOf = (r: CosignRequest) =>
          JSON.stringify((JSON.parse(r.bundle) as { readings: { digest: string }[] }).readings.map((x) => x.digest));
        const digests = digestsOf(before);
        // the record the old node's co-signer made when it signed `before`
        const db = await old.make(`keys-${old.name.replace(/ /g, "-")}`, [
          idOf(before),
          h.facilityId,
          period.start,
          period.end,
          originalId,
          h.bundleCid,
          digests,
          1_000,
          31337,
          domain.verifyingContract,
        ]);
        const blind = cosigner({ storage: db.open(), originals, bundles });
        const opened = await db.stored();
        assert.equal(opened.version, old.name.startsWith("SQLite") ? MIGRATIONS.length : PG_MIGRATIONS.length);
        assert.deepEqual(
          opened.rows,
          [{ attestation_id: idOf(before), digests, reading_keys: null }],
          "its digests as they were (a node from before reads them), its keys unknown",
        );
        assert.equal(blind.storage.getCosign(idOf(before))?.keys, undefined);
        refused(
          await blind.c.cosign(after),
          503,
          new RegExp(
            `co-signed correction ${idOf(before)} of ${originalId} before its co-sign records held each reading's \\(deviceId, seq\\), and reads them from its bundle ${h.bundleCid} .*which its content store does not hold: retry once the bundle is pinned here`,
          ),
        );
        assert.equal(blind.storage.getCosign(idOf(after)), null, "nothing recorded");
        blind.storage.close();
        // the bundle pinned here: its keys read and kept, and the correction with the same reading refused
        bundles.set(h.bundleCid, before.bundle);
        const { c, storage, calls } = cosigner({ storage: db.open(), originals, bundles });
        refused(
          await c.cosign(after),
          409,
          new RegExp(
            `already co-signed correction ${idOf(before)} of ${originalId}, which holds reading m2#${seq} \\(deviceId m2, seq ${seq}\\) too, with digest`,
          ),
        );
        assert.deepEqual(storage.getCosign(idOf(before))?.keys, [`m2#${seq}`]);
        const reads = calls.bundleReads;
        refused(await c.cosign(after), 409, new RegExp(`m2#${seq}`));
        assert.equal(calls.bundleReads, reads + 1, "the original's bundle alone: the keys are read once");
        // another late reading: signed, and recorded as the old record is, its keys beside
        const other = request([electricity(meter, { ts: T0 + 62 })], period, originalId);
        signed(await c.cosign(other));
        storage.close();
        const otherKey = `m2#${(JSON.parse(other.bundle) as { readings: { envelope: Envelope }[] }).readings[0]!.envelope.reading.seq}`;
        assert.deepEqual((await db.stored()).rows, [
          { attestation_id: idOf(before), digests, reading_keys: JSON.stringify([`m2#${seq}`]) },
          { attestation_id: idOf(other), digests: digestsOf(other), reading_keys: JSON.stringify([otherKey]) },
        ]);
      },
    );

  test("a 503 quoting a failed device look-up (viem's error, naming the RPC node's URL with the API key in its path) names the node by scheme, host and port only", async () => {
    const key = "k3y-0f-th3-rpc-pr0v1d3r";
    const url = `https://eth-mainnet.example/v2/${key}`;
    const { c, storage } = cosigner({
      // the chain directory's getDevice call, its provider over its quota
      lookup: async () => {
        throw new HttpRequestError({ url, status: 429, body: { method: "eth_call" }, details: "Too Many Requests" });
      },
    });
    const answer = await c.cosign(request([low], period));
    refused(
      answer,
      503,
      /^looking the bundle's devices up failed: HTTP request failed\.[\s\S]*URL: https:\/\/eth-mainnet\.example\/…\n/,
    );
    assert.ok(!(answer as { refused: string }).refused.includes(key), (answer as { refused: string }).refused);
    assert.equal(storage.listCosigns().length, 0, "nothing recorded");
    storage.close();
  });

  test("the CID and decoding are checked before any device is looked up; over 10,000 device ids is 413; the same request in flight is reviewed once", async () => {
    const { c, storage, calls } = cosigner();
    const req = request([low], period);
    // the bundle changed after it was hashed
    refused(
      await c.cosign({ ...req, bundle: req.bundle.replace('"energyWh":', '"energyWh":9') }),
      422,
      /bundle hashes to/,
    );
    // bytes that hash to the CID the header names but are no canonical bundle
    const junk = `{"readings":[{"envelope":{"reading":{"deviceId":"x1"}}}],"z":1}`;
    const junkHeader = JSON.stringify({ ...JSON.parse(req.header), bundleCid: bundleCid(Buffer.from(junk)) });
    refused(await c.cosign({ header: junkHeader, bundle: junk }), 422, /not a canonical evidence bundle/);
    // a bundle naming 10,001 devices
    const many = `{"readings":[${Array.from({ length: 10_001 }, (_, i) => `{"deviceId":"d${i}"}`).join(",")}]}`;
    const manyHeader = JSON.stringify({ ...JSON.parse(req.header), bundleCid: bundleCid(Buffer.from(many)) });
    refused(
      await c.cosign({ header: manyHeader, bundle: many }),
      413,
      /names 10001 devices; this node looks up at most 10000/,
    );
    assert.equal(calls.lookups, 0);
    // five askers of the same header at once: one review, one look-up, one answer for all
    const answers = await Promise.all(Array.from({ length: 5 }, () => c.cosign(req)));
    for (const a of answers) signed(a);
    assert.equal(calls.lookups, 1);
    assert.equal(calls.reviews, 1 + 2, "the junk bundle's decode stage, then decode and full review of the shared one");
    assert.equal(c.inFlight, 0);
    storage.close();
  });

  test("a directory that follows the registry is read up to the period's end (graceS after) before any device is looked up; when it cannot be, 503 and no look-up", async () => {
    const asked: [number, number][] = [];
    let reachable = false;
    const { c, storage, calls } = cosigner({
      syncedAfter: async (afterMs, timeoutMs) => {
        asked.push([afterMs, timeoutMs]);
        return reachable;
      },
    });
    const req = request([low], period);
    refused(
      await c.cosign(req),
      503,
      new RegExp(
        `has not read the DeviceRegistry's events up to ${new Date((period.end + 30) * 1000).toISOString()} yet`,
      ),
    );
    assert.equal(calls.lookups, 0);
    assert.equal(storage.getCosign(idOf(req)), null, "nothing recorded");
    reachable = true;
    signed(await c.cosign(req));
    assert.equal(calls.lookups, 1);
    assert.deepEqual(asked, [
      [(period.end + 30) * 1000, DEVICE_SYNC_WAIT_MS],
      [(period.end + 30) * 1000, DEVICE_SYNC_WAIT_MS],
    ]);
    storage.close();
  });

  test("a review whose requesters have all gone (the lead's request timed out) runs on: the lead's retry meanwhile joins it; the answer of one that ends with nobody waiting is kept, so the next retry is signed at once, after its own check of the lead, with no review of its own; once its record is released and an alternative signed, it is not handed out", async () => {
    // the full review (after decoding and the device look-up) held until the test lets it go: a
    // review of a large window, on the bundle worker, longer than the lead's quorum.timeoutMs
    let letGo!: () => void;
    let hold: Promise<void> | null = new Promise<void>((go) => (letGo = go));
    const seen: (AbortSignal | undefined)[] = [];
    const { c, storage, calls } = cosigner({
      beforeReview: async (req, signal) => {
        if (req.stage === "decode" || !hold) return;
        seen.push(signal);
        const h = hold;
        hold = null; // only the first full review is held
        await h;
      },
    });
    const req = request([low], period);
    const [a, b] = [new AbortController(), new AbortController()];
    const first = c.cosign(req, a.signal);
    await waitUntil(() => seen.length === 1, "the full review under way");
    a.abort(new Error("the lead's request timed out"));
    await assert.rejects(first, /the lead's request timed out/);
    assert.equal(seen[0]!.aborted, false, "its requester gone, the review runs on");
    assert.deepEqual([c.inFlight, c.orphaned], [1, 1]);
    // the lead's retry while it runs joins it (no review of its own), and times out in turn
    const retry = c.cosign(req, b.signal);
    await waitUntil(() => c.orphaned === 0, "the retry joining the review");
    assert.deepEqual([c.inFlight, calls.reviews], [1, 2]);
    b.abort(new Error("the retry timed out too"));
    await assert.rejects(retry, /the retry timed out too/);
    assert.equal(c.orphaned, 1);
    letGo(); // the review ends, with nobody waiting
    await waitUntil(() => c.inFlight === 0, "the review's end");
    assert.equal(c.orphaned, 0);
    assert.ok(storage.getCosign(idOf(req)), "recorded by the review that ran on");
    // the next retry: its answer at once
    const lookups = calls.lookups;
    signed(await c.cosign(req));
    assert.deepEqual([calls.reviews, calls.lookups], [2, lookups], "no review of its own");
    // the lead is still checked per request: an outsider's request for it is refused
    const outsider = privateKeyToAccount(generatePrivateKey());
    refused(
      await c.unsigned(await signedBy(outsider, req, domain), oracleKeyOf(outsider)),
      403,
      /which is not an active node/,
    );
    // released by the operator, and an alternative for the period signed: not handed out
    assert.equal(storage.releaseCosign(idOf(req)), true);
    const alternative = request([low, high], period);
    signed(await c.cosign(alternative));
    refused(await c.cosign(req), 409, new RegExp(`already co-signed ${idOf(alternative)} for this facility's period`));
    assert.equal(storage.getCosign(idOf(req)), null);
    storage.close();
  });

  test("a review that ran on with nobody waiting and ended in 503 (a check it could not make then) tells the next request why, once; the one after is reviewed afresh", async () => {
    let letGo!: () => void;
    const hold = new Promise<void>((go) => (letGo = go));
    let syncs = 0;
    const { c, storage } = cosigner({
      // the DeviceRegistry's events read up to the period's end: not the first time, after a while
      syncedAfter: async () => {
        if (++syncs > 1) return true;
        await hold;
        return false;
      },
    });
    const req = request([low], period);
    const gone = new AbortController();
    const first = c.cosign(req, gone.signal);
    await waitUntil(() => syncs === 1, "the review waiting for the registry's events");
    gone.abort(new Error("timed out"));
    await assert.rejects(first, /timed out/);
    letGo();
    await waitUntil(() => c.inFlight === 0, "the review's end");
    refused(await c.cosign(req), 503, /has not read the DeviceRegistry's events up to/);
    assert.equal(syncs, 1, "told without a review");
    signed(await c.cosign(req));
    assert.equal(syncs, 2, "reviewed afresh");
    storage.close();
  });

  test("past its bounds a review whose requesters have all gone is stopped (at once with no room for another, orphans.max; after orphans.runMs otherwise): it leaves no entry, and records nothing, its running step ended; the same request again is signed", async () => {
    // the full review (after decoding and the device look-up) held until the test lets it go; like
    // the bundle worker's, it does not stop part-way: it answers as if nothing happened
    let letGo!: () => void;
    let hold: Promise<void> | null = new Promise<void>((go) => (letGo = go));
    const seen: (AbortSignal | undefined)[] = [];
    const { c, storage, calls } = cosigner({
      orphans: { max: 0 },
      beforeReview: async (req, signal) => {
        if (req.stage === "decode" || !hold) return;
        seen.push(signal);
        const h = hold;
        hold = null; // only the first full review is held
        await h;
      },
    });
    const req = request([low], period);
    const [a, b] = [new AbortController(), new AbortController()];
    const answers = [c.cosign(req, a.signal), c.cosign(req, b.signal)];
    await waitUntil(() => seen.length === 1, "the full review under way");
    assert.equal(calls.reviews, 2, "one review for both: its decode stage, then the full review");
    a.abort(new Error("requester a closed its request"));
    await assert.rejects(answers[0]!, /requester a closed/);
    assert.equal(seen[0]!.aborted, false, "one requester left: the review goes on");
    assert.equal(c.inFlight, 1);
    b.abort(new Error("requester b closed its request"));
    await assert.rejects(answers[1]!, /requester b closed/);
    assert.equal(seen[0]!.aborted, true, "the last one gone, no room to run on: the review is stopped");
    assert.deepEqual([c.inFlight, c.stopped], [0, 1], "its entry dropped at once; its step runs on");
    letGo(); // the stopped review's step ends, with an answer nobody wants
    await waitUntil(() => c.stopped === 0, "the stopped review's step ended");
    assert.equal(storage.getCosign(idOf(req)), null, "no co-sign recorded by the stopped review");
    // the same request again: a review of its own
    signed(await c.cosign(req));
    assert.equal(calls.reviews, 2 + 2, "a review of its own");
    assert.equal(c.inFlight, 0);
    assert.ok(storage.getCosign(idOf(req)), "recorded by the review that was wanted");
    // a review that ran on past orphans.runMs is stopped and records nothing
    let first = true;
    const fresh = cosigner({
      orphans: { runMs: 100 },
      beforeReview: async (r, signal) => {
        if (r.stage === "decode" || !first) return;
        first = false; // the first full review: until it is stopped
        await new Promise((go) => signal!.addEventListener("abort", go, { once: true }));
      },
    });
    const gone = new AbortController();
    const stopped = fresh.c.cosign(req, gone.signal);
    await waitUntil(() => fresh.calls.reviews === 2, "the full review under way");
    gone.abort(new Error("closed"));
    await assert.rejects(stopped, /closed/);
    assert.deepEqual([fresh.c.inFlight, fresh.c.orphaned], [1, 1], "running on");
    await waitUntil(() => fresh.c.inFlight === 0, "the review stopped at orphans.runMs");
    await waitUntil(() => fresh.c.stopped === 0, "the stopped review reaching its next step");
    assert.equal(fresh.c.orphaned, 0);
    assert.equal(fresh.storage.getCosign(idOf(req)), null, "no co-sign recorded by the stopped review");
    // an alternative for the period is still signed: nothing holds it
    signed(await fresh.c.cosign(request([low, high], period)));
    fresh.storage.close();
    storage.close();
  });

  test("a review stopped counts against orphans.max until its running step (the bundle worker's, which takes no signal) has ended: while more reviews than that work with nobody waiting, a request that would start one is answered 503 COSIGN_RETRY_LATER and starts none, so sending and closing requests in a loop queues no work; a request meanwhile within the bound starts a review of its own rather than wait on a stopped one", async () => {
    // every full review held until the test lets it go, its signal ignored: a step on the bundle worker
    const held: (() => void)[] = [];
    const { c, storage, calls } = cosigner({
      orphans: { max: 1, runMs: 100 },
      beforeReview: async (r) => {
        if (r.stage === "decode") return;
        await new Promise<void>((go) => held.push(go));
      },
    });
    const req = request([low], period);
    const other = request([electricity(meter, { ts: T0 + 4000 })], { start: T0 + 3600, end: T0 + 7200 });
    /** `r` asked for, its full review started (the `n`th held), then its requester gone */
    const sendAndClose = async (r: CosignRequest, n: number) => {
      const gone = new AbortController();
      const answer = c.cosign(r, gone.signal);
      await waitUntil(() => held.length === n, `full review ${n} under way`);
      gone.abort(new Error("the requester closed its request"));
      await assert.rejects(answer, /the requester closed/);
    };
    await sendAndClose(req, 1);
    assert.deepEqual([c.orphaned, c.stopped], [1, 0], "running on");
    await waitUntil(() => c.stopped === 1, "the review stopped at orphans.runMs");
    assert.deepEqual([c.inFlight, c.orphaned], [0, 0]);
    // one review works with nobody waiting (its step, held): within the bound, the same request
    // starts a review of its own, and its requester goes too: stopped at once, no room
    await sendAndClose(req, 2);
    assert.deepEqual([c.inFlight, c.orphaned, c.stopped], [0, 0, 2]);
    // over the bound: the loop goes on, and each request is answered at once, starting nothing
    const reviews = calls.reviews;
    for (let i = 0; i < 5; i++)
      for (const r of [req, other]) {
        // a review started would be held: its requester gives up, failing the test
        const gone = new AbortController();
        const wait = setTimeout(() => gone.abort(new Error("no answer within 2 s: a review was started")), 2_000);
        const answer = await c.cosign(r, gone.signal).finally(() => clearTimeout(wait));
        refused(
          answer,
          503,
          /finishing 2 co-sign reviews whose requesters have all gone \(0 running on for a retry, 2 stopped and ending their step; at most 1 work with nobody waiting\).*: retry later/,
        );
        assert.equal((answer as { error: string }).error, "COSIGN_RETRY_LATER");
      }
    assert.deepEqual([calls.reviews, held.length, c.inFlight], [reviews, 2, 0], "no review started, no step queued");
    // the steps end: nothing recorded by either, and the request is reviewed again
    held[0]!();
    await waitUntil(() => c.stopped === 1, "the first stopped step ended");
    held[1]!();
    await waitUntil(() => c.stopped === 0, "the second stopped step ended");
    assert.equal(storage.getCosign(idOf(req)), null, "no co-sign recorded by a stopped review");
    const again = c.cosign(req);
    await waitUntil(() => held.length === 3, "the review of the request again");
    held[2]!();
    signed(await again);
    assert.ok(storage.getCosign(idOf(req)), "recorded by the review that was wanted");
    storage.close();
  });

  test("an outsider asking for the header an active node's request is under review for is refused 403, the active node signed: the lead is checked per request, never shared; no OracleSet to ask is 503; nothing recorded", async () => {
    const { c, storage, calls } = cosigner();
    const req = request([low], period);
    const outsider = privateKeyToAccount(generatePrivateKey());
    // the outsider first, then the lead, the same header and bundle, at once
    const [theirs, mine] = await Promise.all([
      c.unsigned(await signedBy(outsider, req, domain), oracleKeyOf(outsider)),
      c.cosign(req),
    ]);
    refused(theirs, 403, new RegExp(`recovers to ${outsider.address}, which is not an active node of the OracleSet`));
    assert.equal((theirs as { error: string }).error, "COSIGN_NOT_AN_ORACLE");
    signed(mine);
    // the lead first: the outsider, arriving while its review runs, does not share its signature
    const other = request([electricity(meter, { ts: T0 + 4000 })], { start: T0 + 3600, end: T0 + 7200 });
    const [lead, outside] = await Promise.all([
      c.cosign(other),
      c.unsigned(await signedBy(outsider, other, domain), oracleKeyOf(outsider)),
    ]);
    signed(lead);
    refused(outside, 403, /not an active node/);
    assert.equal(calls.reviews, 2 * 2, "a review (decode and full) for each lead's request alone");
    storage.close();
    const blind = cosigner({ isActiveOracle: null });
    refused(await blind.c.cosign(req), 503, /cannot read the OracleSet to check that the lead .* is an active node/);
    assert.equal(blind.calls.reviews, 0);
    assert.equal(blind.storage.listCosigns().length, 0, "nothing recorded");
    blind.storage.close();
  });
});

/**
 * Who may have a header co-signed, over HTTP, by a real node (B) on a Hardhat chain: the request
 * carries the lead's own signature and registry, an `oracle` API key is bound to the node whose
 * address is its subject, and B co-signs only for an active node of its OracleSet, of its own
 * registry, asking with its own key (or an admin key). Each refusal records nothing: the active
 * lead's header for the same period is signed after it (not 409).
 */
describe("POST /v1/quorum/cosign for an active node of its registry (Hardhat)", { timeout: 180_000 }, () => {
  let hh: HardhatNode;
  let dep: Deployment;
  let b: Awaited<ReturnType<typeof testNode>>;
  let bKey: string;
  /** an admin key of B's (admins are trusted: may ask for any active node's header) */
  let adminKey: string;
  let registry: CosignDomain;
  const meter = makeDevice("m3");
  // the node's own facility context (what B's calculator holds for the facility)
  const facility = sdkCalculator().facilityContext(meter.facilityId);
  /** TEST-ONLY: Hardhat's default account #3, added to the OracleSet and removed again */
  const removed = privateKeyToAccount("0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6");
  const hour = (i: number) => ({ start: T0 + i * 3600, end: T0 + (i + 1) * 3600 });
  /** two alternative headers for hour `i` of the meter: the full one, and one without its high reading */
  const alternatives = (i: number) => {
    const low = electricity(meter, { ts: T0 + i * 3600 + 10, energyWh: 100 });
    const high = electricity(meter, { ts: T0 + i * 3600 + 20, energyWh: 90_000 });
    return {
      full: request([low, high], hour(i), undefined, facility),
      reduced: request([low], hour(i), undefined, facility),
    };
  };
  /** `body` posted to B with `key` (the `oracle` key B issued to the lead unless given) */
  const post = async (body: unknown, key = bKey) => {
    const res = await fetch(`${b.httpUrl}/v1/quorum/cosign`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-api-key": key },
      body: JSON.stringify(body),
    });
    return {
      status: res.status,
      answer: (await res.json()) as { error?: string; message?: string; signer?: string; signature?: Hex },
    };
  };
  /** the lead's header answered with B's signature over it, and recorded; asked with `key` (the lead's unless given) */
  const signedByB = async (req: CosignRequest, key = bKey) => {
    const { status, answer } = await post(await signedBy(LEAD, req, registry), key);
    assert.equal(status, 200, JSON.stringify(answer));
    assert.equal(answer.signer, COSIGNER.address);
    assert.ok(
      await verifyBatchHeaderSignature(headerFromJson(req.header), registry, answer.signature!, COSIGNER.address),
    );
    assert.ok(b.storage.getCosign(hashBatchHeader(headerFromJson(req.header), registry)), "recorded");
  };

  before(async () => {
    hh = await HardhatNode.start();
    dep = await deploy(hh.url);
    registry = { chainId: 31337, verifyingContract: dep.attestationRegistry };
    // LEAD is the deployment's node; B joins, and `removed` joins and leaves
    await dep.setQuorum([COSIGNER.address, removed.address], 2);
    const os = artifact("oracles/OracleSet.sol/OracleSet.json");
    const hash = await dep.wallet.writeContract({
      address: dep.oracleSet,
      abi: os.abi,
      functionName: "removeNode",
      args: [removed.address],
      account: dep.admin,
      chain: dep.wallet.chain,
    });
    assert.equal((await dep.publicClient.waitForTransactionReceipt({ hash })).status, "success");
    process.env.CP_COSIGN_B_KEY = PEER_KEY;
    b = await testNode({
      devices: [deviceInfo(meter)],
      config: {
        mqtt: { mode: "off" },
        batching: { windowS: 2, graceS: 1 },
        chain: {
          enabled: true,
          rpcUrl: hh.url,
          attestationRegistry: dep.attestationRegistry,
          deviceRegistry: dep.deviceRegistry,
          pollMs: 100,
          keystore: { privateKeyEnv: "CP_COSIGN_B_KEY" },
        },
      },
    });
    // the key B issued to the lead: its subject the lead's address, as `keys show` prints it there
    bKey = createApiKey(b.storage, { scope: "oracle", subject: LEAD.address, label: "oracle node A" }).key;
    adminKey = createApiKey(b.storage, { scope: "admin", subject: "ops" }).key;
  });
  after(async () => {
    await b?.close();
    delete process.env.CP_COSIGN_B_KEY;
    await hh?.stop();
  });

  test("a header asked for by a key that is no active node of the OracleSet (never added, removed from it, B's own) is refused 403 COSIGN_NOT_AN_ORACLE naming the signer, and nothing is recorded: the active lead's alternative for the period is signed, not 409", async () => {
    const { full, reduced } = alternatives(0);
    const outsider = privateKeyToAccount(generatePrivateKey());
    for (const [who, account] of [
      ["never added", outsider],
      ["removed", removed],
    ] as const) {
      // with an `oracle` key B issued to that node (the removed one's while it was a peer)
      const own = createApiKey(b.storage, { scope: "oracle", subject: account.address }).key;
      const { status, answer } = await post(await signedBy(account, reduced, registry), own);
      assert.equal(status, 403, `${who}: ${JSON.stringify(answer)}`);
      assert.equal(answer.error, "COSIGN_NOT_AN_ORACLE");
      assert.match(
        answer.message!,
        new RegExp(`recovers to ${account.address}, which is not an active node of the OracleSet`),
      );
    }
    let { status, answer } = await post(await signedBy(COSIGNER, reduced, registry));
    assert.equal(status, 403, JSON.stringify(answer));
    assert.match(answer.message!, new RegExp(`recovers to this node's own address ${COSIGNER.address}`));
    // the lead's signature of another header (the full one) attached to the reduced one: it
    // recovers to some address, not the lead's (whose key it is sent with), and no active node
    const stolen = await signedBy(LEAD, full, registry);
    const misattached = { ...reduced, domain: stolen.domain, signature: stolen.signature };
    ({ status, answer } = await post(misattached));
    assert.equal(status, 403, JSON.stringify(answer));
    assert.equal(answer.error, "COSIGN_KEY_NOT_THE_SIGNER");
    ({ status, answer } = await post(misattached, adminKey));
    assert.equal(status, 403, JSON.stringify(answer));
    assert.equal(answer.error, "COSIGN_NOT_AN_ORACLE");
    assert.equal(b.storage.listCosigns().length, 0, "nothing recorded");
    await signedByB(full);
    // the lead's own alternative is still refused: the rule against equivocation holds for it
    ({ status, answer } = await post(await signedBy(LEAD, reduced, registry)));
    assert.equal(status, 409, JSON.stringify(answer));
  });

  test("a lead that signs for another registry (another address, or B's address on another chain) is refused 422 COSIGN_WRONG_REGISTRY naming both and the settings to check, and nothing is recorded", async () => {
    const { full, reduced } = alternatives(1);
    const recorded = b.storage.listCosigns().length;
    for (const elsewhere of [
      { chainId: 31337, verifyingContract: getAddress(`0x${"ab".repeat(20)}`) },
      { chainId: 11155111, verifyingContract: dep.attestationRegistry },
    ]) {
      const { status, answer } = await post(await signedBy(LEAD, reduced, elsewhere));
      assert.equal(status, 422, JSON.stringify(answer));
      assert.equal(answer.error, "COSIGN_WRONG_REGISTRY");
      assert.ok(
        answer.message!.includes(
          `the lead node signs for the AttestationRegistry ${elsewhere.verifyingContract} on chain ${elsewhere.chainId}, this node for ${dep.attestationRegistry} on chain 31337`,
        ),
        answer.message,
      );
      assert.match(answer.message!, /Check chain\.chainId and chain\.attestationRegistry in both nodes' configs/);
    }
    assert.equal(b.storage.listCosigns().length, recorded, "nothing recorded");
    await signedByB(full);
  });

  test("a request without the lead's signature or registry (a lead node from before they were sent) is 400 COSIGN_INCOMPLETE_REQUEST saying what is missing and to upgrade the lead; a malformed one is 400; nothing is recorded", async () => {
    const { full, reduced } = alternatives(2);
    const recorded = b.storage.listCosigns().length;
    const complete = await signedBy(LEAD, reduced, registry);
    for (const [body, missing] of [
      [{ header: reduced.header, bundle: reduced.bundle }, "domain and signature"],
      [{ header: reduced.header, bundle: reduced.bundle, domain: complete.domain }, "signature"],
      [{ header: reduced.header, bundle: reduced.bundle, signature: complete.signature }, "domain"],
    ] as const) {
      const { status, answer } = await post(body);
      assert.equal(status, 400, JSON.stringify(answer));
      assert.equal(answer.error, "COSIGN_INCOMPLETE_REQUEST");
      assert.match(answer.message!, new RegExp(`the request has no ${missing}: .*upgrade the lead node`));
    }
    const { status } = await post({ ...complete, signature: "0x1234" });
    assert.equal(status, 400);
    assert.equal(b.storage.listCosigns().length, recorded, "nothing recorded");
    await signedByB(full);
  });

  test("the active lead's request sent with an `oracle` key B issued to another node (one removed from the OracleSet since, replaying the lead's request for a header the lead then abandoned) is refused 403 COSIGN_KEY_NOT_THE_SIGNER naming both, and nothing is recorded: the lead's rebuilt header, with its own key, is signed, not 409; the key's subject matches in any case", async () => {
    const { full, reduced } = alternatives(6);
    const recorded = b.storage.listCosigns().length;
    // the lead's request for a header it abandons (reduced), as it went over the wire to B
    const replayed = await signedBy(LEAD, reduced, registry);
    const removedKey = createApiKey(b.storage, { scope: "oracle", subject: removed.address, label: "oracle node R" });
    const { status, answer } = await post(replayed, removedKey.key);
    assert.equal(status, 403, JSON.stringify(answer));
    assert.equal(answer.error, "COSIGN_KEY_NOT_THE_SIGNER");
    assert.ok(
      answer.message!.includes(
        `recovers to ${LEAD.address}, and the \`oracle\` API key the request came with (key ${removedKey.id}) was issued to the node ${removed.address}`,
      ),
      answer.message,
    );
    assert.equal(b.storage.listCosigns().length, recorded, "nothing recorded");
    // the lead's rebuilt header, asked with its own key (the address in lower case as subject)
    const lower = createApiKey(b.storage, { scope: "oracle", subject: LEAD.address.toLowerCase() }).key;
    await signedByB(full, lower);
  });

  test("an `oracle` key from before keys were bound to a node (its subject free text) is refused 403 COSIGN_KEY_NAMES_NO_NODE, saying to issue the asking node a key with its address as subject and revoke this one, and nothing is recorded; the new key's request is signed", async () => {
    const { full } = alternatives(7);
    const recorded = b.storage.listCosigns().length;
    // stored as a node before this change stored it (createApiKey refuses the subject now)
    const old = newApiKey();
    const id = b.storage.addApiKey({
      label: "oracle node A",
      scope: "oracle",
      subject: "oracle-a",
      hash: hashApiKey(old),
      createdAtMs: Date.now(),
    });
    const { status, answer } = await post(await signedBy(LEAD, full, registry), old);
    assert.equal(status, 403, JSON.stringify(answer));
    assert.equal(answer.error, "COSIGN_KEY_NAMES_NO_NODE");
    assert.ok(
      answer.message!.includes(
        `the API key this request came with (key ${id}) names no node: its subject is not a node's address`,
      ),
      answer.message,
    );
    assert.ok(
      answer.message!.includes(
        "issue the asking node a new key with its address as subject (`carbonproof-oracle keys api-create --scope oracle --subject ADDRESS`, ADDRESS as `carbonproof-oracle keys show` prints it on the asking node)",
      ),
      answer.message,
    );
    assert.ok(
      answer.message!.includes(`revoke this one (\`carbonproof-oracle keys api-revoke ${id}\`)`),
      answer.message,
    );
    assert.equal(b.storage.listCosigns().length, recorded, "nothing recorded");
    await signedByB(full);
  });

  test("POST /v1/admin/api-keys creates an `oracle` key only for a node's address: another subject (free text, 39 or 41 hex digits, no 0x) is 400 BAD_API_KEY saying so; the address, in any case, is 201 and its key asks for that node's headers", async () => {
    const create = (body: object) =>
      fetch(`${b.httpUrl}/v1/admin/api-keys`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-api-key": adminKey },
        body: JSON.stringify(body),
      });
    for (const subject of ["oracle-a", LEAD.address.slice(0, -1), `${LEAD.address}0`, LEAD.address.slice(2)]) {
      const res = await create({ scope: "oracle", subject, label: "oracle node A" });
      const answer = (await res.json()) as { error: string; message: string };
      assert.equal(res.status, 400, `${subject}: ${JSON.stringify(answer)}`);
      assert.equal(answer.error, "BAD_API_KEY");
      assert.ok(
        answer.message.includes(
          `subject ${JSON.stringify(subject)} is not a node's address: an oracle key's subject is the chain address of the node it is for (0x and 40 hex digits; \`carbonproof-oracle keys show\` on that node prints it)`,
        ),
        answer.message,
      );
    }
    const { full, reduced } = alternatives(8);
    for (const [subject, req] of [
      [LEAD.address, full],
      [LEAD.address.toLowerCase(), reduced],
    ] as const) {
      const res = await create({ scope: "oracle", subject });
      assert.equal(res.status, 201);
      const { key } = (await res.json()) as { key: string };
      if (req === full) await signedByB(req, key);
      else {
        // the lead's alternative is refused for what it is (409), not for the key
        const { status, answer } = await post(await signedBy(LEAD, req, registry), key);
        assert.equal(status, 409, JSON.stringify(answer));
      }
    }
  });

  test("an admin key may ask for any active node's header: the lead's is signed; a signature of a node that is not active is still 403 COSIGN_NOT_AN_ORACLE", async () => {
    const { full, reduced } = alternatives(9);
    const { status, answer } = await post(await signedBy(removed, reduced, registry), adminKey);
    assert.equal(status, 403, JSON.stringify(answer));
    assert.equal(answer.error, "COSIGN_NOT_AN_ORACLE");
    await signedByB(full, adminKey);
  });

  test("B reads the OracleSet only after every check that needs no chain: a bundle not hashing to its CID, a period not ended, another node's key and a key that names no node cost no OracleSet read (counted at a loopback proxy in front of the Hardhat node); the lead's own request, then, is read and signed", async () => {
    // B3: a co-signer like B whose RPC node is a proxy counting the OracleSet reads it forwards
    // (isActiveNode, and the registry's oracleSet() naming the set); nothing is refused
    const reads = [toFunctionSelector("isActiveNode(address)"), toFunctionSelector("oracleSet()")];
    let oracleSetReads = 0;
    const provider = await rpcProvider(hh.url, (call) => {
      // a call without parameters (eth_chainId, eth_blockNumber) may come with none at all
      const params = (call.params as unknown[] | undefined)?.[0] as { data?: string; input?: string } | undefined;
      const data = call.method === "eth_call" ? (params?.data ?? params?.input ?? "") : "";
      if (reads.some((selector) => data.startsWith(selector))) oracleSetReads++;
      return false;
    });
    process.env.CP_COSIGN_B3_KEY = PEER_KEY;
    const b3 = await testNode({
      devices: [deviceInfo(meter)],
      config: {
        mqtt: { mode: "off" },
        batching: { windowS: 2, graceS: 1 },
        chain: {
          enabled: true,
          rpcUrl: provider.url,
          attestationRegistry: dep.attestationRegistry,
          deviceRegistry: dep.deviceRegistry,
          pollMs: 100,
          keystore: { privateKeyEnv: "CP_COSIGN_B3_KEY" },
        },
      },
    });
    try {
      const leadKey = createApiKey(b3.storage, { scope: "oracle", subject: LEAD.address }).key;
      const otherKey = createApiKey(b3.storage, { scope: "oracle", subject: removed.address }).key;
      const oldKey = newApiKey();
      b3.storage.addApiKey({
        label: "old",
        scope: "oracle",
        subject: "oracle-a",
        hash: hashApiKey(oldKey),
        createdAtMs: 1,
      });
      const ask = async (body: CosignRequest, key = leadKey) => {
        const res = await fetch(`${b3.httpUrl}/v1/quorum/cosign`, {
          method: "POST",
          headers: { "content-type": "application/json", "x-api-key": key },
          body: JSON.stringify(body),
        });
        return { status: res.status, answer: (await res.json()) as { error?: string; message?: string } };
      };
      const { full } = alternatives(10);
      const nowS = Math.floor(Date.now() / 1000);
      const later = request(
        [electricity(meter, { ts: nowS + 10 })],
        { start: nowS, end: nowS + 3600 },
        undefined,
        facility,
      );
      const startReads = oracleSetReads;
      for (const [what, body, key, status, error, message] of [
        [
          "a bundle not hashing to its CID",
          await signedBy(LEAD, { ...full, bundle: full.bundle.replace('"energyWh":', '"energyWh":9') }, registry),
          leadKey,
          422,
          "COSIGN_REFUSED",
          /^bundle hashes to /,
        ],
        [
          "a period not ended",
          await signedBy(LEAD, later, registry),
          leadKey,
          422,
          "COSIGN_REFUSED",
          /co-signs it from/,
        ],
        [
          "another node's key",
          await signedBy(LEAD, full, registry),
          otherKey,
          403,
          "COSIGN_KEY_NOT_THE_SIGNER",
          /was issued to the node/,
        ],
        [
          "a key that names no node",
          await signedBy(LEAD, full, registry),
          oldKey,
          403,
          "COSIGN_KEY_NAMES_NO_NODE",
          /names no node/,
        ],
      ] as const) {
        const { status: got, answer } = await ask(body, key);
        assert.equal(got, status, `${what}: ${JSON.stringify(answer)}`);
        assert.equal(answer.error, error, what);
        assert.match(answer.message!, message, what);
      }
      assert.equal(oracleSetReads, startReads, "no OracleSet read");
      // the counter counts: the lead's own request is read (isActiveNode, oracleSet() the first time) and signed
      const { status, answer } = await ask(await signedBy(LEAD, full, registry));
      assert.equal(status, 200, JSON.stringify(answer));
      assert.ok(oracleSetReads > startReads, "the OracleSet read for the lead's own request");
    } finally {
      await b3.close();
      await provider.stop();
      delete process.env.CP_COSIGN_B3_KEY;
    }
  });

  /**
   * A co-signer like B whose RPC provider, at `rpcUrl` under a loopback proxy in front of Hardhat
   * (standing for a hosted provider with a key in its URL), rate-limits (429) its reads of the
   * original attestation (`exists`); asked for the lead's correction of a reading at `ts`, in
   * `hour(h)`, with an `oracle` key issued to the lead. Its answer, and the provider's refusals.
   */
  async function askBehindLimitingProvider(
    urlTail: string,
    keyEnv: string,
    h: number,
    ts: number,
  ): Promise<{ status: number; answer: { error: string; message: string }; providerUrl: string; limited: number }> {
    const exists = toFunctionSelector("exists(bytes32)");
    const provider = await rpcProvider(
      hh.url,
      (call) =>
        call.method === "eth_call" &&
        ((call.params[0] as { data?: string; input?: string }).data ?? "").startsWith(exists),
    );
    process.env[keyEnv] = PEER_KEY;
    const node = await testNode({
      devices: [deviceInfo(meter)],
      config: {
        mqtt: { mode: "off" },
        batching: { windowS: 2, graceS: 1 },
        chain: {
          enabled: true,
          rpcUrl: `${provider.url}${urlTail}`,
          attestationRegistry: dep.attestationRegistry,
          deviceRegistry: dep.deviceRegistry,
          pollMs: 100,
          keystore: { privateKeyEnv: keyEnv },
        },
      },
    });
    try {
      const key = createApiKey(node.storage, { scope: "oracle", subject: LEAD.address, label: "oracle node A" }).key;
      const correction = request([electricity(meter, { ts })], hour(h), `0x${"cd".repeat(32)}`, facility);
      const res = await fetch(`${node.httpUrl}/v1/quorum/cosign`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-api-key": key },
        body: JSON.stringify(await signedBy(LEAD, correction, registry)),
      });
      const answer = (await res.json()) as { error: string; message: string };
      assert.equal(node.storage.listCosigns().length, 0, "nothing recorded");
      return { status: res.status, answer, providerUrl: provider.url, limited: provider.limited };
    } finally {
      await node.close();
      await provider.stop();
      delete process.env[keyEnv];
    }
  }

  test("B's 503 quoting an error of its RPC provider, whose URL holds an API key, names the provider by scheme, host and port only", async () => {
    const apiKey = "cp-test-rpc-key-0123456789";
    const { status, answer, providerUrl, limited } = await askBehindLimitingProvider(
      `/v2/${apiKey}`,
      "CP_COSIGN_B2_KEY",
      5,
      T0 + 5 * 3600 + 10,
    );
    assert.equal(status, 503, JSON.stringify(answer));
    assert.equal(answer.error, "COSIGN_RETRY_LATER");
    assert.ok(limited > 0, "the provider refused the read");
    assert.match(
      answer.message,
      new RegExp(
        `^reading the original attestation 0x(cd){32} from the registry failed: HTTP request failed\\.[\\s\\S]*URL: ${providerUrl}/…\\n`,
      ),
    );
    assert.ok(!answer.message.includes(apiKey), answer.message);
  });

  test("B's answers are written by its own rule too (common.scrub): a provider URL whose key holds a quote, where the generic rule for URLs in text stops, is written as scheme, host and port, its key's tail not left behind", async () => {
    // a quote is allowed in a URL's path; scrubUrls ends a URL found in text at one (it may close
    // a quotation), so only the node's rule, which knows its configured URLs, hides what follows
    const tail = "after-the-quote-0123456789";
    const { status, answer, providerUrl, limited } = await askBehindLimitingProvider(
      `/v2/cp-key'${tail}`,
      "CP_COSIGN_B4_KEY",
      11,
      T0 + 11 * 3600 + 10,
    );
    assert.equal(status, 503, JSON.stringify(answer));
    assert.ok(limited > 0, "the provider refused the read");
    assert.match(answer.message, new RegExp(`URL: ${providerUrl}/…\\n`), answer.message);
    assert.ok(!answer.message.includes(tail), answer.message);
  });

  test("when B cannot read the OracleSet (its RPC node gone) it answers 503 COSIGN_RETRY_LATER with Retry-After, and records nothing", async () => {
    const { full } = alternatives(3);
    const recorded = b.storage.listCosigns().length;
    await hh.stop();
    const res = await fetch(`${b.httpUrl}/v1/quorum/cosign`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-api-key": bKey },
      body: JSON.stringify(await signedBy(LEAD, full, registry)),
    });
    const answer = (await res.json()) as { error: string; message: string };
    assert.equal(res.status, 503, JSON.stringify(answer));
    assert.equal(answer.error, "COSIGN_RETRY_LATER");
    assert.match(
      answer.message,
      new RegExp(`reading the OracleSet \\(is the lead ${LEAD.address} an active node\\?\\) failed .*retry later`),
    );
    assert.equal(res.headers.get("retry-after"), "30");
    assert.equal(b.storage.listCosigns().length, recorded, "nothing recorded");
  });
});

/** Polls `ok` every few ms until it holds (at most 10 s). */
/** The PostgreSQL server of the tests that need one, started by the first (postgres-harness.ts). */
let pgServer: Promise<PostgresServer> | null = null;
after(async () => {
  if (pgServer) await (await pgServer).stop();
});

/**
 * A SQLite database at `path` as a node of schema `version` made it: the first `version`
 * migrations run on an empty file, no later one (the current schema with a later migration's
 * columns dropped is not one: run again on it, a later migration may fail, as an ADD COLUMN does).
 * MIGRATION_3 and MIGRATION_5 name functions of the node's, never called on an empty database.
 */
function sqliteAtSchema(path: string, version: number): DatabaseSync {
  const db = new DatabaseSync(path);
  for (const fn of ["carbonproof_digest_key", "carbonproof_legacy_abandoned_at", "carbonproof_legacy_abandoned_error"])
    db.function(fn, { varargs: true }, () => {
      throw new Error(`${fn} called: a new database has no rows to migrate`);
    });
  for (const sql of MIGRATIONS.slice(0, version)) db.exec(sql);
  db.exec(`PRAGMA user_version = ${version}`);
  return db;
}

/**
 * A PostgreSQL database at `url` as a node of schema `version` made it (its first `version`
 * migrations alone, as `sqliteAtSchema`), then `sql` run on it with `args`.
 */
async function postgresAtSchema(url: string, version: number, sql: string, args: unknown[]): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    for (const m of PG_MIGRATIONS.slice(0, version)) await client.query(m);
    await client.query(`CREATE TABLE carbonproof_schema (version INTEGER NOT NULL)`);
    await client.query(`INSERT INTO carbonproof_schema (version) VALUES ($1)`, [version]);
    await client.query(sql, args);
  } finally {
    await client.end();
  }
}

async function waitUntil(ok: () => boolean, what: string): Promise<void> {
  const end = Date.now() + 10_000;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/**
 * Stands for an RPC provider whose URL holds its API key in the path
 * (`https://eth-mainnet.example/v2/<key>`): it forwards JSON-RPC to the Hardhat node, and answers
 * 429 Too Many Requests to the calls `limits` picks, as a provider over its quota does. No real
 * provider can be reached from here.
 */
type Call = { method: string; params: unknown[] };
async function rpcProvider(
  upstream: string,
  limits: (call: Call) => boolean,
): Promise<{ url: string; readonly limited: number; stop: () => Promise<void> }> {
  let limited = 0;
  const server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on("data", (c: Buffer) => parts.push(c));
    req.on("end", () => {
      const body = Buffer.concat(parts).toString("utf8");
      // a JSON-RPC batch (the node's client sends them) is refused whole
      const calls = [JSON.parse(body) as Call | Call[]].flat();
      if (calls.some(limits)) {
        limited++;
        res.writeHead(429, { "content-type": "text/plain" });
        return void res.end("Too Many Requests");
      }
      fetch(upstream, { method: "POST", headers: { "content-type": "application/json" }, body }).then(
        async (r) => {
          res.writeHead(r.status, { "content-type": r.headers.get("content-type") ?? "application/json" });
          res.end(Buffer.from(await r.arrayBuffer()));
        },
        (err: unknown) => {
          res.writeHead(502, { "content-type": "text/plain" });
          res.end(String(err));
        },
      );
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    get limited() {
      return limited;
    },
    stop: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
