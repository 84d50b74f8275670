import { test, after, describe } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { MIGRATIONS, SqliteStorage, digestKey } from "../src/storage/sqlite.ts";
import { awaitsAdoption, type NewReading } from "../src/storage/types.ts";
import { PostgresStorage } from "../src/storage/postgres.ts";
import type { SqlStorage } from "../src/storage/sql-storage.ts";
import { postgresMissing, startPostgres, type PostgresServer } from "./postgres-harness.ts";
import { storedReading } from "./fixtures.ts";
import { tempDir } from "./helpers.ts";

const tmp = tempDir();
after(() => tmp.cleanup());

let n = 0;
function uniq(r: NewReading): NewReading {
  return { ...r, digest: "0x" + (++n).toString(16).padStart(64, "0") };
}

/** A heartbeat of `deviceId` received at `receivedAtMs`, with none of its optional fields. */
function heartbeatAt(deviceId: string, facilityId: string, receivedAtMs: number, verified = true) {
  return {
    deviceId,
    facilityId,
    receivedAtMs,
    ts: Math.floor(receivedAtMs / 1000),
    lastSeq: null,
    bufferDepth: null,
    dropped: null,
    held: null,
    heldDropped: null,
    rssiDbm: null,
    uptimeS: null,
    fw: null,
    faults: [],
    verified,
  };
}

/**
 * The storage logic on each driver: SQLite (a file per test) and PostgreSQL (a database per test
 * on a real server, postgres-harness.ts). `open(name)` twice opens the same database again.
 */
const drivers: { name: string; skip: string | false; open: (name: string) => Promise<SqlStorage> }[] = [
  { name: "SQLite", skip: false, open: async (name) => new SqliteStorage(join(tmp.dir, `${name}.db`)) },
  {
    name: "PostgreSQL",
    skip: postgresMissing ?? false,
    open: async (name) => new PostgresStorage(await pgDatabase(name)),
  },
];
let server: Promise<PostgresServer> | null = null;
const pgUrls = new Map<string, Promise<string>>();
function pgDatabase(name: string): Promise<string> {
  server ??= startPostgres();
  let url = pgUrls.get(name);
  if (!url) pgUrls.set(name, (url = server.then((s) => s.createDatabase())));
  return url;
}
after(async () => {
  if (server) await (await server).stop();
});

for (const { name: driver, skip, open: openStorage } of drivers)
  describe(driver, { skip }, () => {
    test("deviceHealth measures heartbeat gaps in the database: every gap counted, the longest, the latest 20 listed, per device and facility", async () => {
      const s = await openStorage("health-gaps");
      try {
        const beat = (deviceId: string, facilityId: string, receivedAtMs: number, verified = true) =>
          s.addHeartbeat(heartbeatAt(deviceId, facilityId, receivedAtMs, verified));
        // d1: 30 gaps of 10 min (each after a beat a minute on), then one of 2 h; d2 (another facility): one of 5 min
        let t = 1_000_000;
        beat("d1", "f1", t);
        for (let i = 1; i <= 30; i++) {
          beat("d1", "f1", (t += 60_000));
          beat("d1", "f1", (t += 600_000));
        }
        beat("d1", "f1", (t += 7_200_000));
        beat("d1", "f1", t + 1000, false); // unverified: not a sign of life, no gap
        beat("d2", "f2", 1_000_000);
        beat("d2", "f2", 1_300_000);
        const byId = (list: ReturnType<typeof s.deviceHealth>) => new Map(list.map((d) => [d.deviceId, d]));
        const all = byId(s.deviceHealth({ sinceMs: 0, gapMs: 300_000 }));
        const d1 = all.get("d1")!;
        assert.equal(d1.heartbeatGapCount, 31, "30 of 10 min and the one of 2 h");
        assert.equal(d1.maxHeartbeatGapMs, 7_200_000);
        assert.equal(d1.heartbeatGaps.length, 20, "the latest 20 listed");
        assert.deepEqual(d1.heartbeatGaps[0], { fromMs: t - 7_200_000, toMs: t });
        assert.deepEqual(d1.heartbeatGaps[1], { fromMs: t - 7_800_000, toMs: t - 7_200_000 });
        assert.ok(d1.heartbeatGaps.every((g, i) => i === 0 || g.toMs < d1.heartbeatGaps[i - 1]!.toMs));
        assert.deepEqual([d1.heartbeatCount, d1.unverifiedHeartbeatCount], [62, 1]);
        const d2 = all.get("d2")!;
        assert.deepEqual([d2.heartbeatGapCount, d2.maxHeartbeatGapMs, d2.heartbeatGaps.length], [0, 300_000, 0]);
        // one facility; and only since a time (the last gap's start)
        assert.deepEqual(
          s
            .deviceHealth({ facilityId: "f2", sinceMs: 0, gapMs: 200_000 })
            .map((d) => [d.deviceId, d.heartbeatGapCount]),
          [["d2", 1]],
        );
        const late = byId(s.deviceHealth({ sinceMs: t - 7_200_000, gapMs: 300_000 })).get("d1")!;
        assert.deepEqual(
          [late.heartbeatGapCount, late.heartbeatGaps.length, late.maxHeartbeatGapMs],
          [1, 1, 7_200_000],
        );
      } finally {
        s.close();
      }
    });

    test("deviceHealth pages by device id: every device once across pages, as one read answers it; a facility's without dead-letter-only ids", async () => {
      const s = await openStorage("health-pages");
      try {
        // readings of d-01…d-05 (f1) and d-07 (f2); heartbeats of d-03 and d-06 (f1); dead letters
        // of d-02 and of 12 ids no reading or heartbeat has (made-up ids, as when auth is off)
        const readings = ["d-01", "d-02", "d-03", "d-04", "d-05"].map((d) => uniq(storedReading(d, 1, 61)));
        readings.push(uniq(storedReading("d-07", 1, 61, "f2")));
        const junk = Array.from({ length: 12 }, (_, i) => `x-${String(i).padStart(2, "0")}`);
        const dead = ["d-02", ...junk].map((deviceId) => ({
          receivedAtMs: 1,
          source: "http" as const,
          reason: "bad-signature" as const,
          detail: "forged",
          payload: "{}",
          deviceId,
        }));
        s.commitIngest(readings, dead, { windowS: 60, nowMs: 0 });
        s.addHeartbeat(heartbeatAt("d-03", "f1", 1_000));
        s.addHeartbeat(heartbeatAt("d-06", "f1", 2_000));
        const whole = s.deviceHealth({ sinceMs: 0, gapMs: 60_000 });
        assert.deepEqual(
          whole.map((d) => d.deviceId),
          ["d-01", "d-02", "d-03", "d-04", "d-05", "d-06", "d-07", ...junk],
        );
        const pages: string[][] = [];
        const paged = [];
        let after: string | undefined;
        for (;;) {
          const page = s.deviceHealth({ sinceMs: 0, gapMs: 60_000, limit: 4, afterDeviceId: after });
          if (!page.length) break;
          assert.ok(page.length <= 4);
          pages.push(page.map((d) => d.deviceId));
          paged.push(...page);
          after = page[page.length - 1]!.deviceId;
        }
        assert.deepEqual(pages[0], ["d-01", "d-02", "d-03", "d-04"]);
        assert.equal(pages.length, 5, "19 devices in pages of 4");
        assert.deepEqual(paged, whole, "each device's figures are the same paged as whole");
        const d02 = whole.find((d) => d.deviceId === "d-02")!;
        assert.deepEqual([d02.readingCount, d02.rejectedTotal], [1, 1]);
        assert.equal(whole.find((d) => d.deviceId === "d-06")!.heartbeatCount, 1);
        // one facility: its devices only, the made-up ids left out; paged the same way
        const f1 = s.deviceHealth({ facilityId: "f1", sinceMs: 0, gapMs: 60_000, limit: 3 });
        assert.deepEqual(
          f1.map((d) => d.deviceId),
          ["d-01", "d-02", "d-03"],
        );
        assert.equal(f1[1]!.rejectedTotal, 1, "a facility's device keeps its dead letters");
        assert.deepEqual(
          s
            .deviceHealth({ facilityId: "f1", sinceMs: 0, gapMs: 60_000, limit: 3, afterDeviceId: "d-03" })
            .map((d) => d.deviceId),
          ["d-04", "d-05", "d-06"],
        );
        assert.deepEqual(s.deviceHealth({ facilityId: "f1", sinceMs: 0, gapMs: 60_000, afterDeviceId: "d-06" }), []);
      } finally {
        s.close();
      }
    });

    test("adoptAttestation: the batch confirmed with the attested header, the readings it lacked stored in it, in one transaction", async () => {
      const s = await openStorage("adopt");
      try {
        s.commitIngest([uniq(storedReading("d-adopt", 1, 61))], [], { windowS: 60, nowMs: 0 });
        const [b] = s.listBatches({});
        assert.ok(s.transition(b!.id, ["open"], "signed"));
        const back = [uniq(storedReading("d-adopt", 2, 62)), uniq(storedReading("d-adopt", 3, 63))].map((r) => ({
          ...r,
          source: "bundle" as const,
        }));
        const patch = {
          readingCount: 3,
          attestationId: `0x${"ab".repeat(32)}`,
          bundleCid: "bafyattested",
          txHash: `0x${"cd".repeat(32)}`,
        };
        assert.equal(s.adoptAttestation(b!.id, ["open"], back, patch), false, "not in `from`: nothing done");
        // a count other than the attestation's, or a reading stored already: refused, nothing changed
        assert.throws(
          () => s.adoptAttestation(b!.id, ["signed"], back, { ...patch, readingCount: 4 }),
          /the batch would hold 3 readings, the attestation 4: not adopted/,
        );
        assert.throws(
          () => s.adoptAttestation(b!.id, ["signed"], [back[0]!, { ...back[1]!, seq: 1 }], patch),
          /d-adopt#1 is stored already \(1 reading\(s\) of the attestation\): not adopted/,
        );
        assert.deepEqual([s.readingsOfBatch(b!.id).length, s.getBatch(b!.id)!.state], [1, "signed"]);
        assert.equal(s.adoptAttestation(b!.id, ["signed"], back, patch), true);
        const after = s.getBatch(b!.id)!;
        assert.deepEqual(
          [after.state, after.readingCount, after.attestationId, after.bundleCid, after.txHash],
          ["confirmed", 3, patch.attestationId, "bafyattested", patch.txHash],
        );
        assert.deepEqual(
          s
            .readingsOfBatch(b!.id)
            .map((r) => [r.seq, r.source])
            .sort(),
          [
            [1, "http"],
            [2, "bundle"],
            [3, "bundle"],
          ],
        );
      } finally {
        s.close();
      }
    });

    test("adoptAttestation with leftovers: the batch's readings the attestation lacks move to its open correction, opened if need be, in the same transaction", async () => {
      const s = await openStorage("adopt-leftovers");
      try {
        const mine = [1, 2, 3].map((seq) => uniq(storedReading("d-left", seq, 60 + seq)));
        s.commitIngest(mine, [], { windowS: 60, nowMs: 0 });
        const [b] = s.listBatches({});
        assert.ok(s.transition(b!.id, ["open"], "signed"));
        // the attestation holds seq 1 and 4 (4 lost with the database): 2 and 3 are left over
        const back = [{ ...uniq(storedReading("d-left", 4, 64)), source: "bundle" as const }];
        const patch = { readingCount: 2, attestationId: `0x${"ef".repeat(32)}`, bundleCid: "bafyleft" };
        const left = [mine[1]!.digest, mine[2]!.digest];
        // a digest that is not the batch's: refused, nothing changed (no correction opened either)
        assert.throws(
          () => s.adoptAttestation(b!.id, ["signed"], back, patch, [mine[1]!.digest, `0x${"99".repeat(32)}`]),
          /reading 0x9{64} is not one of batch \d+'s: not adopted/,
        );
        // the count is checked after the move: leftovers not moved would leave 4 readings, not 2
        assert.throws(
          () => s.adoptAttestation(b!.id, ["signed"], back, patch, [mine[1]!.digest]),
          /the batch would hold 3 readings, the attestation 2: not adopted/,
        );
        assert.deepEqual(
          [s.listBatches({}).length, s.readingsOfBatch(b!.id).length, s.getBatch(b!.id)!.state],
          [1, 3, "signed"],
        );
        assert.equal(s.adoptAttestation(b!.id, ["signed"], back, patch, left), true);
        const batches = s.listBatches({});
        assert.equal(batches.length, 2);
        const corr = batches.find((x) => x.id !== b!.id)!;
        assert.deepEqual(
          [corr.correctionOfBatch, corr.state, corr.readingCount, corr.periodStart, corr.periodEnd],
          [b!.id, "open", 2, b!.periodStart, b!.periodEnd],
        );
        assert.deepEqual(
          s
            .readingsOfBatch(corr.id)
            .map((r) => r.seq)
            .sort(),
          [2, 3],
        );
        const adopted = s.getBatch(b!.id)!;
        assert.deepEqual(
          [
            adopted.state,
            adopted.readingCount,
            s
              .readingsOfBatch(b!.id)
              .map((r) => r.seq)
              .sort(),
          ],
          ["confirmed", 2, [1, 4]],
        );
        // sealed once its regular batch is confirmed and its grace is over, as any correction
        assert.deepEqual(s.sealDue(Date.now() + 2_000, 1), [corr.id]);

        // a correction opened already (a late reading) takes the leftovers
        s.commitIngest([uniq(storedReading("d-left2", 1, 181)), uniq(storedReading("d-left2", 2, 182))], [], {
          windowS: 60,
          nowMs: 0,
        });
        const b2 = s.listBatches({}).find((x) => x.periodStart === 180)!;
        assert.ok(s.transition(b2.id, ["open"], "signed"));
        s.commitIngest([uniq(storedReading("d-left2", 3, 183))], [], { windowS: 60, nowMs: 0 });
        const late = s.listBatches({}).find((x) => x.correctionOfBatch === b2.id)!;
        assert.equal(late.readingCount, 1);
        const second = s.readingsOfBatch(b2.id).find((r) => r.seq === 2)!;
        assert.equal(
          s.adoptAttestation(b2.id, ["signed"], [], { readingCount: 1, attestationId: `0x${"e0".repeat(32)}` }, [
            second.digest,
          ]),
          true,
        );
        assert.deepEqual(
          [s.listBatches({}).filter((x) => x.correctionOfBatch === b2.id).length, s.getBatch(late.id)!.readingCount],
          [1, 2],
        );
        assert.deepEqual(
          s
            .readingsOfBatch(late.id)
            .map((r) => r.seq)
            .sort(),
          [2, 3],
        );
      } finally {
        s.close();
      }
    });

    test("setAside: readings a batch must not count leave it for a failed correction with a dead letter each, still stored; a correction losing them all fails itself", async () => {
      const s = await openStorage("set-aside");
      try {
        const mine = [1, 2, 3].map((seq) => uniq(storedReading("d-aside", seq, 60 + seq)));
        const other = uniq(storedReading("d-steady", 1, 70));
        s.commitIngest([...mine, { ...other, receivedAtMs: 5 }], [], { windowS: 60, nowMs: 0 });
        const [b] = s.listBatches({});
        assert.ok(s.transition(b!.id, ["open"], "sealed"));
        assert.deepEqual(s.batchDevices(b!.id), [
          { deviceId: "d-aside", count: 3, minTs: 61, maxTs: 63, firstReceivedAtMs: 1 },
          { deviceId: "d-steady", count: 1, minTs: 70, maxTs: 70, firstReceivedAtMs: 5 },
        ]);
        assert.deepEqual(
          s.readingsOfBatchDevice(b!.id, "d-aside").map((r) => r.seq),
          [1, 2, 3],
        );
        const aside = [mine[1]!, mine[2]!].map((r) => ({
          digest: r.digest,
          reason: "device-inactive" as const,
          detail: `device d-aside is suspended since 62 (the reading is stamped ${r.ts})`,
        }));
        // not in `from`, or a digest that is not the batch's: nothing changed
        assert.equal(s.setAside(b!.id, ["open"], aside, "why", 1000), null);
        assert.throws(
          () =>
            s.setAside(b!.id, ["sealed"], [...aside, { ...aside[0]!, digest: `0x${"99".repeat(32)}` }], "why", 1000),
          /reading 0x9{64} is not one of batch \d+'s: nothing set aside/,
        );
        assert.deepEqual([s.listBatches({}).length, s.readingsOfBatch(b!.id).length, s.countDeadLetters()], [1, 4, 0]);
        const into = s.setAside(b!.id, ["sealed"], aside, "2 reading(s) set aside", 1000)!;
        assert.notEqual(into, b!.id);
        const failed = s.getBatch(into)!;
        assert.deepEqual(
          [
            failed.state,
            failed.correctionOfBatch,
            failed.readingCount,
            failed.error,
            failed.periodStart,
            failed.periodEnd,
          ],
          ["failed", b!.id, 2, "2 reading(s) set aside", b!.periodStart, b!.periodEnd],
        );
        const left = s.getBatch(b!.id)!;
        assert.deepEqual([left.state, left.readingCount], ["sealed", 2]);
        assert.deepEqual(
          s
            .readingsOfBatch(b!.id)
            .map((r) => `${r.deviceId}#${r.seq}`)
            .sort(),
          ["d-aside#1", "d-steady#1"],
        );
        // still stored: found by digest in the failed batch, and their (device, seq) still taken
        assert.equal(s.getReading(mine[2]!.digest)!.batchId, into);
        assert.ok(s.hasReading("d-aside", 3));
        const dead = s.listDeadLetters({ limit: 10 }).sort((x, y) => (x.seq ?? 0) - (y.seq ?? 0));
        assert.deepEqual(
          dead.map((d) => [d.reason, d.deviceId, d.seq, d.digest, d.source]),
          [
            ["device-inactive", "d-aside", 2, mine[1]!.digest, "http"],
            ["device-inactive", "d-aside", 3, mine[2]!.digest, "http"],
          ],
        );
        assert.match(
          dead[1]!.detail,
          /stamped 63\); accepted before the node knew it, set aside from batch \d+ into failed batch \d+$/,
        );
        assert.deepEqual(JSON.parse(dead[1]!.payload), { reading: JSON.parse(mine[2]!.canonical), sig: mine[2]!.sig });
        // the failed correction retried and screened again: it loses all its readings, so it fails itself
        assert.ok(s.transition(into, ["failed"], "sealed"));
        assert.equal(s.setAside(into, ["sealed"], aside, "again", 2000), into);
        assert.deepEqual(
          [s.getBatch(into)!.state, s.getBatch(into)!.error, s.listBatches({}).length, s.readingsOfBatch(into).length],
          ["failed", "again", 2, 2],
        );
        assert.equal(s.countDeadLetters(), 2, "each reading set aside is on record once");
      } finally {
        s.close();
      }
    });

    test("confirmed batches are listed in the order they were confirmed, after a cursor and up to a time", async () => {
      const s = await openStorage("confirmed-order");
      try {
        // four windows of one facility: batches 1..4
        for (let w = 0; w < 4; w++)
          s.commitIngest([uniq(storedReading("d-order", w + 1, 60 * w + 1))], [], { windowS: 60, nowMs: 0 });
        const ids = s.listBatches({}).map((b) => b.id);
        assert.equal(ids.length, 4);
        const [a, b, c, d] = ids as [number, number, number, number];
        // confirmed out of id order, a few ms apart (updated_at_ms is the commit's wall clock); d never
        for (const id of [c, a, b]) {
          const until = Date.now() + 3;
          while (Date.now() < until);
          assert.ok(s.transition(id, ["open"], "confirmed"));
        }
        const at = (id: number) => s.getBatch(id)!.updatedAtMs;
        const list = (after: { atMs: number; id: number }, toMs = Date.now() + 1_000, limit = 10) =>
          s.listConfirmedSince({ after, toMs, limit }).map((x) => x.id);
        assert.deepEqual(list({ atMs: 0, id: 0 }), [c, a, b], "confirmation order, not id order; d is not confirmed");
        assert.deepEqual(list({ atMs: at(a), id: a }), [b], "strictly after the cursor");
        assert.deepEqual(list({ atMs: at(a), id: a - 1 }), [a, b], "the same time: then by id");
        assert.deepEqual(list({ atMs: 0, id: 0 }, at(a)), [c, a], "confirmed at or before toMs");
        assert.deepEqual(list({ atMs: 0, id: 0 }, Date.now() + 1_000, 1), [c], "at most limit");
        assert.equal(
          typeof s.listConfirmedSince({ after: { atMs: 0, id: 0 }, toMs: at(b), limit: 1 })[0]!.updatedAtMs,
          "number",
        );
      } finally {
        s.close();
      }
    });

    test("a dead letter whose payload and reason hold NUL characters is stored whole, each NUL shown as \\u0000", async () => {
      const s = await openStorage("nul");
      try {
        // a NUL in the rejected payload of a group commit must not fail the commit (PostgreSQL's
        // text refuses NUL; SQLite's reads stop at it): the reading beside it is stored
        const out = s.commitIngest(
          [uniq(storedReading("d-nul", 1, 100))],
          [
            {
              receivedAtMs: 1,
              source: "mqtt",
              reason: "malformed",
              detail: "not JSON: Unexpected token '\u0000'",
              payload: 'a\u0000b "\\u0000" tail',
              deviceId: "d\u0000x",
            },
          ],
          { windowS: 60, nowMs: 0 },
        );
        assert.equal(out.readings[0]!.status, "stored");
        const [d] = s.listDeadLetters({ limit: 1 });
        assert.equal(d!.payload, 'a\\u0000b "\\u0000" tail');
        assert.equal(d!.detail, "not JSON: Unexpected token '\\u0000'");
        assert.equal(d!.deviceId, "d\\u0000x");
        assert.equal(
          s.addDeadLetter({ receivedAtMs: 2, source: "http", reason: "schema", detail: "x", payload: "\u0000" }),
          d!.id + 1,
        );
        assert.equal(s.listDeadLetters({ limit: 1 })[0]!.payload, "\\u0000");
      } finally {
        s.close();
      }
    });

    test("stores readings once per (device, seq) and records a replay as a dead letter", async () => {
      const s = await openStorage("a");
      const out = s.commitIngest([uniq(storedReading("d1", 1, 100)), uniq(storedReading("d1", 1, 100))], [], {
        windowS: 60,
        nowMs: 0,
      });
      assert.equal(out.readings[0]!.status, "stored");
      assert.equal(out.readings[1]!.status, "rejected");
      assert.equal(out.readings[1]!.status === "rejected" && out.readings[1]!.reason, "replay");
      assert.equal(s.countDeadLetters(), 1);
      assert.ok(s.hasReading("d1", 1));
      assert.equal(s.backlog(), 1);
      s.close();
    });

    test("assigns readings to the facility's window and seals it after the grace period", async () => {
      const s = await openStorage("b");
      s.commitIngest(
        [uniq(storedReading("d1", 1, 61)), uniq(storedReading("d2", 1, 119)), uniq(storedReading("d1", 2, 120))],
        [],
        {
          windowS: 60,
          nowMs: 0,
        },
      );
      const open = s.listBatches({ states: ["open"] });
      assert.deepEqual(
        open.map((b) => [b.periodStart, b.periodEnd, b.readingCount]),
        [
          [60, 120, 2],
          [120, 180, 1],
        ],
      );
      assert.deepEqual(s.sealDue(124_000, 5), [], "not yet past grace");
      const sealed = s.sealDue(126_000, 5);
      assert.equal(sealed.length, 1);
      assert.equal(s.getBatch(sealed[0]!)!.state, "sealed");
      s.close();
    });

    test("a late reading for a sealed period goes into one open correction batch", async () => {
      const s = await openStorage("c");
      s.commitIngest([uniq(storedReading("d1", 1, 10))], [], { windowS: 60, nowMs: 0 });
      const [regular] = s.sealDue(70_000, 0);
      s.commitIngest([uniq(storedReading("d1", 2, 20)), uniq(storedReading("d1", 3, 30))], [], {
        windowS: 60,
        nowMs: 80_000,
      });
      const corr = s.listBatches({ states: ["open"] });
      assert.equal(corr.length, 1);
      assert.equal(corr[0]!.correctionOfBatch, regular);
      assert.equal(corr[0]!.readingCount, 2);
      // not sealed before its regular batch is confirmed
      assert.deepEqual(s.sealDue(10_000_000, 0), []);
      assert.ok(s.transition(regular!, ["sealed"], "confirmed"));
      assert.deepEqual(s.sealDue(10_000_000, 0), [corr[0]!.id]);
      // listed from a place in the order (period start, then id): the correction shares its
      // regular batch's period, and comes after it; a later window after both
      s.commitIngest([uniq(storedReading("d1", 4, 100))], [], { windowS: 60, nowMs: 10_000_000 });
      const later = s.listBatches({}).find((b) => b.periodStart === 60)!.id;
      const ids = (q: Parameters<SqlStorage["listBatches"]>[0]) => s.listBatches(q).map((b) => b.id);
      assert.deepEqual(ids({ after: { periodStart: 0, id: regular! } }), [corr[0]!.id, later]);
      assert.deepEqual(ids({ after: { periodStart: 0, id: corr[0]!.id } }), [later]);
      assert.deepEqual(ids({ after: { periodStart: -1, id: 0 } }), [regular!, corr[0]!.id, later]);
      assert.deepEqual(ids({ afterPeriodStart: 0 }), [later]);
      s.close();
    });

    test("a late reading for a period pinned with another methodology is too late: a correction keeps its original's", async () => {
      const s = await openStorage("c-methodology");
      const older = `0x${"0e".repeat(32)}`;
      s.commitIngest([uniq(storedReading("d1", 1, 10))], [], { windowS: 60, nowMs: 0 });
      const [regular] = s.sealDue(70_000, 0);
      assert.ok(
        s.transition(regular!, ["sealed"], "pinned", { methodologyId: older, bundleCid: "bafy", readingCount: 1 }),
      );
      const late = uniq(storedReading("d1", 2, 20));
      const out = s.commitIngest([late], [], { windowS: 60, nowMs: 80_000 });
      const r = out.readings[0]!;
      assert.equal(r.status === "rejected" && r.reason, "too-late", JSON.stringify(r));
      assert.match(
        r.status === "rejected" ? r.detail : "",
        new RegExp(
          `attested with methodology ${older} \\(batch ${regular}\\); this node computes with ${late.methodologyId}`,
        ),
      );
      assert.equal(s.getReading(late.digest), null, "not stored");
      assert.deepEqual(s.listBatches({ states: ["open"] }), [], "no correction opened");
      // a reading of the original's methodology still goes to a correction
      const same = uniq({ ...storedReading("d1", 3, 30), methodologyId: older });
      const taken = s.commitIngest([same], [], { windowS: 60, nowMs: 80_000 }).readings[0]!;
      assert.equal(taken.status, "stored", JSON.stringify(taken));
      assert.equal(s.getBatch(taken.status === "stored" ? taken.batchId : -1)!.correctionOfBatch, regular);
      s.close();
    });

    /** Sealed batch `id` pinned, then signed as the pipeline signs (with signatures), or without them: awaiting adoption. */
    function signedFrom(
      s: SqlStorage,
      id: number,
      opts: { awaitingAdoption?: boolean; from?: "sealed" | "pinned" } = {},
    ): void {
      if (opts.from !== "pinned")
        assert.ok(
          s.transition(id, ["sealed"], "pinned", { headerJson: "{}", bundleCid: `bafy${id}`, readingCount: 1 }),
        );
      assert.ok(
        s.transition(id, ["pinned"], "signed", {
          attestationId: `0x${id.toString(16).padStart(64, "0")}`,
          signatures: opts.awaitingAdoption ? null : `0x${"11".repeat(65)}`,
        }),
      );
    }

    test("a reading behind the facility's frontier without a regular batch is rejected as too-late", async () => {
      const s = await openStorage("d");
      s.commitIngest([uniq(storedReading("d1", 5, 200))], [], { windowS: 60, nowMs: 0 });
      const [later] = s.sealDue(1_000_000, 0);
      signedFrom(s, later!);
      assert.ok(s.transition(later!, ["signed"], "submitted", { txHash: `0x${"22".repeat(32)}`, txNonce: 0 }));
      const out = s.commitIngest([uniq(storedReading("d1", 1, 10))], [], { windowS: 60, nowMs: 0 });
      assert.equal(out.readings[0]!.status === "rejected" && out.readings[0]!.reason, "too-late");
      s.close();
    });

    test("a reading of a window whose regular batch failed is too late, and the dead letter names that batch", async () => {
      const s = await openStorage("d-failed");
      s.commitIngest([uniq(storedReading("d1", 1, 10))], [], { windowS: 60, nowMs: 0 });
      const [regular] = s.sealDue(1_000_000, 0);
      assert.ok(s.transition(regular!, ["sealed"], "failed", { error: "reverted" }));
      const out = s.commitIngest([uniq(storedReading("d1", 2, 20))], [], { windowS: 60, nowMs: 0 });
      const r = out.readings[0]!;
      assert.equal(r.status === "rejected" && r.reason, "too-late", JSON.stringify(r));
      // review: it said "behind the attested frontier … and has no regular batch", which sent the
      // operator looking at the device's clock
      const [dead] = s.listDeadLetters({ limit: 1, reason: "too-late" });
      assert.match(
        dead!.detail,
        new RegExp(`regular batch ${regular} \\(0\\.\\.60\\) failed: .*\`retry\` or \`abandon\``),
      );
      s.close();
    });

    test("a batch handed back to be sent again counts in the frontier while its old transaction may be mined: an earlier window is too late", async () => {
      const s = await openStorage("d-handover");
      s.commitIngest([uniq(storedReading("d1", 5, 200))], [], { windowS: 60, nowMs: 0 });
      const [later] = s.sealDue(1_000_000, 0);
      signedFrom(s, later!);
      const tx = `0x${"22".repeat(32)}`;
      assert.ok(s.transition(later!, ["signed"], "submitted", { txHash: tx, txNonce: 0, txHashes: [tx] }));
      // pipeline #handOver: back to `pinned`, its hashes kept (the old key's transaction may still be mined)
      assert.ok(
        s.transition(later!, ["submitted"], "pinned", { signatures: null, txHash: null, txNonce: null, txFrom: null }),
      );
      assert.deepEqual(s.getBatch(later!)!.txHashes, [tx]);
      const out = s.commitIngest([uniq(storedReading("d1", 1, 10))], [], { windowS: 60, nowMs: 0 });
      assert.equal(out.readings[0]!.status === "rejected" && out.readings[0]!.reason, "too-late");
      // signed again and still not sent: the same
      signedFrom(s, later!, { from: "pinned" });
      const again = s.commitIngest([uniq(storedReading("d1", 2, 20))], [], { windowS: 60, nowMs: 0 });
      assert.equal(again.readings[0]!.status === "rejected" && again.readings[0]!.reason, "too-late");
      assert.equal(s.listBatches({ facilityId: "f1" }).length, 1, "no batch opened behind it");
      s.close();
    });

    test("an earlier window gets its regular batch while the later one is not sent, and the later one waits for it", async () => {
      const s = await openStorage("d2");
      s.commitIngest([uniq(storedReading("d1", 5, 200))], [], { windowS: 60, nowMs: 0 });
      const [later] = s.sealDue(1_000_000, 0);
      signedFrom(s, later!);
      // a second device of the facility back-filling more slowly: its window [0, 60) has no batch yet
      const out = s.commitIngest([uniq(storedReading("d2", 1, 10))], [], { windowS: 60, nowMs: 1_000_000 });
      assert.equal(out.readings[0]!.status, "stored", JSON.stringify(out.readings[0]));
      const earlier = s.getBatch(out.readings[0]!.status === "stored" ? out.readings[0]!.batchId : -1)!;
      assert.deepEqual([earlier.periodStart, earlier.periodEnd, earlier.correctionOfBatch], [0, 60, null]);
      // the later batch is not sent past it (the registry would then refuse it as before its frontier)
      const send = () => s.transition(later!, ["signed"], "submitted", { txNonce: 0 }, { afterEarlier: true });
      assert.equal(send(), false, "held while the earlier window's batch is open");
      assert.deepEqual(s.sealDue(1_000_000, 0), [earlier.id]);
      signedFrom(s, earlier.id);
      assert.equal(send(), false, "held while it is signed");
      assert.ok(s.transition(earlier.id, ["signed"], "submitted", { txNonce: 0 }, { afterEarlier: true }));
      assert.equal(send(), false, "held while it is in flight");
      assert.ok(s.transition(earlier.id, ["submitted"], "confirmed"));
      assert.equal(send(), true, "sent once it is confirmed");
      // without the guard (every other transition) nothing is checked
      assert.equal(s.getBatch(later!)!.state, "submitted");
      s.close();
    });

    test("an earlier batch awaiting adoption (signed without signatures: its period attested already) holds nothing back", async () => {
      const s = await openStorage("d-adopting");
      s.commitIngest([uniq(storedReading("d1", 5, 200))], [], { windowS: 60, nowMs: 0 });
      const [later] = s.sealDue(1_000_000, 0);
      signedFrom(s, later!);
      const out = s.commitIngest([uniq(storedReading("d2", 1, 10))], [], { windowS: 60, nowMs: 1_000_000 });
      const earlier = out.readings[0]!.status === "stored" ? out.readings[0]!.batchId : -1;
      assert.deepEqual(s.sealDue(1_000_000, 0), [earlier]);
      signedFrom(s, earlier, { awaitingAdoption: true });
      assert.equal(awaitsAdoption(s.getBatch(earlier)!), true);
      assert.ok(s.transition(later!, ["signed"], "submitted", { txNonce: 0 }, { afterEarlier: true }), "sent past it");
      s.close();
    });

    test("a new regular batch never overlaps another: a window changed between runs is cut where they end and begin", async () => {
      const s = await openStorage("d3");
      s.commitIngest([uniq(storedReading("d1", 1, 70))], [], { windowS: 60, nowMs: 0 });
      // windowS now 3,600: the hour around the 60 s batch [60, 120) is cut in two around it
      s.commitIngest([uniq(storedReading("d1", 2, 10)), uniq(storedReading("d1", 3, 130))], [], {
        windowS: 3600,
        nowMs: 0,
      });
      const periods = s
        .listBatches({})
        .map((b) => [b.periodStart, b.periodEnd, b.readingCount])
        .sort((a, b) => a[0]! - b[0]!);
      assert.deepEqual(periods, [
        [0, 60, 1],
        [60, 120, 1],
        [120, 3600, 1],
      ]);
      s.close();
    });

    test("state transitions are idempotent and survive reopening", async () => {
      const s = await openStorage("e");
      s.commitIngest([uniq(storedReading("d1", 1, 10))], [], { windowS: 60, nowMs: 0 });
      const [id] = s.sealDue(1_000_000, 0);
      assert.ok(s.transition(id!, ["sealed"], "pinned", { bundleCid: "bafy", merkleRoot: "0xab" }));
      assert.equal(s.transition(id!, ["sealed"], "pinned", { bundleCid: "other" }), false);
      s.close();
      const again = await openStorage("e");
      const b = again.getBatch(id!)!;
      assert.equal(b.state, "pinned");
      assert.equal(b.bundleCid, "bafy");
      assert.deepEqual(again.batchStateCounts().pinned, 1);
      again.close();
    });

    test("co-signed headers: a different regular header for an overlapping period of the facility, or a correction sharing a reading with another of the same original, is a conflict; the same id again is not; kept across reopening; listed by facility, and once released an alternative is recorded", async () => {
      const s = await openStorage("cosigned");
      const zero = "0x" + "0".repeat(64);
      const id = (n: number) => "0x" + n.toString(16).padStart(64, "0");
      const dg = (n: number) => "0x" + (0xd000 + n).toString(16).padStart(64, "0");
      const header = (n: number, start: number, end: number, correctionOf = zero, digests: string[] = []) => ({
        attestationId: id(n),
        facilityId: id(0xfac),
        periodStart: start,
        periodEnd: end,
        correctionOf,
        bundleCid: `bafy${n}`,
        digests,
        signedAtMs: 1000 + n,
      });
      const first = header(1, 3600, 7200);
      assert.deepEqual(s.checkCosign(first), { outcome: "recorded" });
      assert.deepEqual(s.recordCosign(first), { outcome: "recorded" });
      assert.deepEqual(s.getCosign(id(1)), first);
      assert.deepEqual(s.recordCosign(first), { outcome: "again" });
      // the same period with other readings, and periods overlapping it: the first one is named
      for (const [start, end] of [
        [3600, 7200],
        [3000, 3601],
        [7199, 9000],
        [0, 100_000],
      ] as const) {
        const out = s.recordCosign(header(2, start, end));
        assert.equal(out.outcome, "conflict", `${start}..${end}`);
        assert.equal((out as { with: { attestationId: string } }).with.attestationId, id(1));
      }
      assert.equal(s.getCosign(id(2)), null, "a conflict records nothing");
      // adjacent periods, and another facility's same period, are not alternatives
      assert.deepEqual(s.recordCosign(header(3, 7200, 10_800)), { outcome: "recorded" });
      assert.deepEqual(s.recordCosign(header(4, 0, 3600)), { outcome: "recorded" });
      assert.deepEqual(s.recordCosign({ ...header(5, 3600, 7200), facilityId: id(0xbad) }), { outcome: "recorded" });
      // corrections of the original id(1): several are legitimate, as long as no reading is in two
      assert.deepEqual(s.recordCosign(header(10, 3600, 7200, id(1), [dg(1), dg(2)])), { outcome: "recorded" });
      assert.deepEqual(s.recordCosign(header(11, 3600, 7200, id(1), [dg(3)])), { outcome: "recorded" });
      const twice = s.recordCosign(header(12, 3600, 7200, id(1), [dg(4), dg(2)]));
      assert.equal(twice.outcome, "conflict");
      assert.equal((twice as { with: { attestationId: string } }).with.attestationId, id(10));
      assert.equal((twice as { digest?: string }).digest, dg(2));
      // the same readings correcting another original are another matter
      assert.deepEqual(s.recordCosign(header(13, 7200, 10_800, id(3), [dg(2)])), { outcome: "recorded" });
      s.close();
      const again = await openStorage("cosigned");
      assert.deepEqual(again.getCosign(id(10))?.digests, [dg(1), dg(2)]);
      assert.equal(again.recordCosign(header(2, 3600, 7200)).outcome, "conflict");
      assert.deepEqual(again.recordCosign(first), { outcome: "again" });
      // listed by facility (any case) then period; released by the operator, an alternative is signed
      assert.deepEqual(
        again.listCosigns({ facilityId: id(0xfac).toUpperCase().replace("0X", "0x") }).map((c) => c.attestationId),
        [id(4), id(1), id(10), id(11), id(3), id(13)],
      );
      assert.equal(again.listCosigns().length, 7);
      assert.equal(again.listCosigns({ limit: 2 }).length, 2);
      assert.equal(again.releaseCosign(id(1)), true);
      assert.equal(again.releaseCosign(id(1)), false, "released once");
      assert.deepEqual(again.recordCosign(header(2, 3600, 7200)), { outcome: "recorded" });
      again.close();
    });

    test("readings are found by digest through digest_key, case-insensitively; not by a malformed or unknown digest", async () => {
      const s = await openStorage("f");
      const rows = Array.from({ length: 50 }, (_, i) => uniq(storedReading("d1", i + 1, 10)));
      // two digests sharing digestKey's 52-bit prefix: the text decides
      const twin = { ...storedReading("d2", 1, 10), digest: rows[0]!.digest.slice(0, 15) + "f".repeat(51) };
      s.commitIngest([...rows, twin], [], { windowS: 60, nowMs: 0 });
      for (const r of [...rows, twin]) {
        assert.equal(s.getReading(r.digest)?.seq, r.seq);
        assert.equal(s.getReading(r.digest.toUpperCase().replace("0X", "0x"))?.deviceId, r.deviceId);
      }
      assert.equal(digestKey(rows[0]!.digest), digestKey(twin.digest));
      assert.equal(s.getReading(rows[0]!.digest)?.deviceId, "d1");
      assert.equal(s.getReading(twin.digest)?.deviceId, "d2");
      assert.equal(s.getReading("0x" + "e".repeat(64)), null);
      assert.equal(s.getReading("0x1234"), null);
      assert.equal(s.getReading("not a digest"), null);
      assert.equal(digestKey("0x" + "f".repeat(64)), 2 ** 52 - 1);
      assert.throws(
        () => s.commitIngest([{ ...storedReading("d3", 1, 10), digest: "0xABC" }], [], { windowS: 60, nowMs: 0 }),
        /not 0x \+ 64 lowercase hex/,
      );
      assert.equal(s.hasReading("d3", 1), false, "the failed group commit stored nothing");
      s.close();
    });
  });

test("a schema-5 database migrates to the current schema: its heartbeats kept, held and heldDropped unknown (null)", () => {
  const path = join(tmp.dir, "v5.db");
  // the node's schema, taken back to 5 (MIGRATION_6 adds two columns; MIGRATION_7 swaps an index;
  // MIGRATION_8 adds the co-signed headers)
  new SqliteStorage(path).close();
  const old = new DatabaseSync(path);
  old.exec("ALTER TABLE heartbeats DROP COLUMN held; ALTER TABLE heartbeats DROP COLUMN held_dropped");
  old.exec("DROP INDEX batches_state_updated; CREATE INDEX batches_state ON batches(state)");
  old.exec("DROP TABLE cosigned");
  old.exec("PRAGMA user_version = 5");
  old.exec(`INSERT INTO heartbeats (device_id, facility_id, received_at_ms, ts, dropped, faults, verified)
            VALUES ('d1', 'f1', 5000, 5, 2, '[]', 1)`);
  old.close();
  const s = new SqliteStorage(path);
  try {
    const [h] = s.deviceHealth({ sinceMs: 0, gapMs: 60_000 });
    assert.equal(h?.heartbeatCount, 1);
    assert.equal(h?.lastHeartbeat?.dropped, 2);
    assert.equal(h?.lastHeartbeat?.held, null);
    assert.equal(h?.lastHeartbeat?.heldDropped, null);
    s.addHeartbeat({
      ...h!.lastHeartbeat!,
      deviceId: "d1",
      facilityId: "f1",
      receivedAtMs: 6000,
      held: 4,
      heldDropped: 1,
      verified: true,
    });
    const [after] = s.deviceHealth({ sinceMs: 0, gapMs: 60_000 });
    assert.deepEqual([after?.lastHeartbeat?.held, after?.lastHeartbeat?.heldDropped], [4, 1]);
    assert.equal(s.getCosign("0x" + "1".repeat(64)), null, "the co-signed headers' table is there, empty");
  } finally {
    s.close();
  }
});

test("a schema-2 database (digest as primary key) migrates to schema 3 with every reading and batch kept", () => {
  const path = join(tmp.dir, "v2.db");
  const old = new DatabaseSync(path);
  for (const sql of MIGRATIONS.slice(0, 2)) old.exec(sql);
  old.exec("PRAGMA user_version = 2");
  old.exec(`INSERT INTO batches (id, facility_id, period_start, period_end, state, reading_count, created_at_ms, updated_at_ms)
            VALUES (1, 'f1', 0, 60, 'open', 3, 0, 0)`);
  const ins =
    old.prepare(`INSERT INTO readings (digest, device_id, facility_id, seq, ts, kind, canonical, sig, key_id, source,
    received_at_ms, anomaly_score, flagged, fossil_mg, biogenic_mg, methodology_id, factor_set_id, result_json, batch_id)
    VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,1)`);
  const rows = [1, 2, 3].map((i) => uniq(storedReading("d1", i, 10 + i)));
  for (const r of rows) {
    ins.run(
      r.digest,
      r.deviceId,
      r.facilityId,
      r.seq,
      r.ts,
      r.kind,
      r.canonical,
      r.sig,
      r.keyId,
      r.source,
      r.receivedAtMs,
      r.anomalyScore,
      r.flagged ? 1 : 0,
      r.fossilMg,
      r.biogenicMg,
      r.methodologyId,
      r.factorSetId,
      "{}",
    );
  }
  old.close();

  const s = new SqliteStorage(path);
  assert.equal(
    Number((s.db.prepare("PRAGMA user_version").get() as { user_version: number }).user_version),
    MIGRATIONS.length,
  );
  for (const r of rows) {
    const got = s.getReading(r.digest)!;
    assert.equal(got.seq, r.seq);
    assert.equal(got.canonical, r.canonical);
    assert.equal(got.fossilMg, 1500n);
    assert.equal(got.batchId, 1);
  }
  assert.deepEqual(
    s
      .readingsOfBatch(1)
      .map((r) => r.seq)
      .sort(),
    [1, 2, 3],
  );
  // no index on the digest text any more: one on its key, (device_id, seq) unique, batch, (facility, ts)
  const indexes = (s.db.prepare("PRAGMA index_list(readings)").all() as { name: string }[]).map((i) => {
    const cols = s.db.prepare(`PRAGMA index_info(${JSON.stringify(i.name)})`).all() as { name: string }[];
    return cols.map((c) => c.name).join(",");
  });
  assert.deepEqual(indexes.sort(), ["batch_id", "device_id,seq", "digest_key", "facility_id,ts"]);
  // (device, seq) is still unique after the rebuild, and new readings go on from the old rowids
  const again = s.commitIngest([uniq(storedReading("d1", 3, 13)), uniq(storedReading("d1", 4, 14))], [], {
    windowS: 60,
    nowMs: 0,
  });
  assert.equal(again.readings[0]!.status, "rejected");
  assert.equal(again.readings[1]!.status, "stored");
  s.close();
  const reopened = new SqliteStorage(path);
  assert.equal(reopened.getReading(rows[2]!.digest)?.seq, 3);
  reopened.close();
});

test("a background connection checkpoints the WAL (PASSIVE) while the writer's own autocheckpoint stays off", () => {
  const path = join(tmp.dir, "checkpoint.db");
  // the writer's connection as the node opens it (storage/ingest-writer-worker.ts): a high backstop
  const writer = new SqliteStorage(path, { autocheckpoint: 65536 });
  const background = new SqliteStorage(path, { synchronous: "NORMAL" });
  const pragma = (s: SqliteStorage) =>
    (s.db.prepare("PRAGMA wal_autocheckpoint").get() as { wal_autocheckpoint: number }).wal_autocheckpoint;
  assert.equal(pragma(writer), 65536);
  assert.equal(pragma(background), 16000);
  for (let g = 0; g < 20; g++) {
    const rows = Array.from({ length: 200 }, (_, i) => uniq(storedReading(`ck${i}`, g + 1, 100 + g)));
    writer.commitIngest(rows, [], { windowS: 60, nowMs: 0 });
  }
  const first = background.checkpoint();
  assert.ok(first.walFrames > 0, "the writer's commits are in the WAL, not yet checkpointed by the writer");
  assert.equal(first.checkpointed, first.walFrames, "nothing else reads or writes: every frame is copied back");
  // a commit after the checkpoint starts the WAL over: it no longer grows
  writer.commitIngest([uniq(storedReading("ck-after", 1, 100))], [], { windowS: 60, nowMs: 0 });
  const second = background.checkpoint();
  assert.ok(second.walFrames < first.walFrames, `WAL restarted (${second.walFrames} < ${first.walFrames} frames)`);
  // everything is still readable through the background connection
  assert.ok(background.hasReading("ck199", 20));
  assert.ok(background.hasReading("ck-after", 1));
  writer.close();
  background.close();
});
