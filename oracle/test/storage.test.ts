import { test, after } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { SqliteStorage } from "../src/storage/sqlite.ts";
import type { NewReading } from "../src/storage/types.ts";
import { tempDir } from "./helpers.ts";

const tmp = tempDir();
after(() => tmp.cleanup());

function reading(deviceId: string, seq: number, ts: number, facilityId = "f1"): NewReading {
  return {
    digest: `0x${(deviceId + seq)
      .padStart(64, "0")
      .slice(-64)
      .replace(/[^0-9a-f]/g, "a")}${""}`,
    deviceId,
    facilityId,
    seq,
    ts,
    kind: "electricity",
    canonical: JSON.stringify({ deviceId, seq, ts }),
    sig: "0x" + "11".repeat(64),
    keyId: null,
    source: "http",
    receivedAtMs: 1,
    anomalyScore: null,
    flagged: false,
    fossilMg: 1500n,
    biogenicMg: 0n,
    methodologyId: "0x" + "00".repeat(32),
    factorSetId: "0x" + "00".repeat(32),
    result: { fossilMg: 1500n },
  };
}
let n = 0;
function uniq(r: NewReading): NewReading {
  return { ...r, digest: "0x" + (++n).toString(16).padStart(64, "0") };
}

test("stores readings once per (device, seq) and records a replay as a dead letter", () => {
  const s = new SqliteStorage(join(tmp.dir, "a.db"));
  const out = s.commitIngest([uniq(reading("d1", 1, 100)), uniq(reading("d1", 1, 100))], [], { windowS: 60, nowMs: 0 });
  assert.equal(out.readings[0]!.status, "stored");
  assert.equal(out.readings[1]!.status, "rejected");
  assert.equal(out.readings[1]!.status === "rejected" && out.readings[1]!.reason, "replay");
  assert.equal(s.countDeadLetters(), 1);
  assert.ok(s.hasReading("d1", 1));
  assert.equal(s.backlog(), 1);
  s.close();
});

test("assigns readings to the facility's window and seals it after the grace period", () => {
  const s = new SqliteStorage(join(tmp.dir, "b.db"));
  s.commitIngest([uniq(reading("d1", 1, 61)), uniq(reading("d2", 1, 119)), uniq(reading("d1", 2, 120))], [], {
    windowS: 60,
    nowMs: 0,
  });
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

test("a late reading for a sealed period goes into one open correction batch", () => {
  const s = new SqliteStorage(join(tmp.dir, "c.db"));
  s.commitIngest([uniq(reading("d1", 1, 10))], [], { windowS: 60, nowMs: 0 });
  const [regular] = s.sealDue(70_000, 0);
  s.commitIngest([uniq(reading("d1", 2, 20)), uniq(reading("d1", 3, 30))], [], { windowS: 60, nowMs: 80_000 });
  const corr = s.listBatches({ states: ["open"] });
  assert.equal(corr.length, 1);
  assert.equal(corr[0]!.correctionOfBatch, regular);
  assert.equal(corr[0]!.readingCount, 2);
  // not sealed before its regular batch is confirmed
  assert.deepEqual(s.sealDue(10_000_000, 0), []);
  assert.ok(s.transition(regular!, ["sealed"], "confirmed"));
  assert.deepEqual(s.sealDue(10_000_000, 0), [corr[0]!.id]);
  s.close();
});

test("a reading behind the facility's frontier without a regular batch is rejected as too-late", () => {
  const s = new SqliteStorage(join(tmp.dir, "d.db"));
  s.commitIngest([uniq(reading("d1", 5, 200))], [], { windowS: 60, nowMs: 0 });
  s.sealDue(1_000_000, 0);
  const out = s.commitIngest([uniq(reading("d1", 1, 10))], [], { windowS: 60, nowMs: 0 });
  assert.equal(out.readings[0]!.status === "rejected" && out.readings[0]!.reason, "too-late");
  s.close();
});

test("state transitions are idempotent and survive reopening", () => {
  const path = join(tmp.dir, "e.db");
  const s = new SqliteStorage(path);
  s.commitIngest([uniq(reading("d1", 1, 10))], [], { windowS: 60, nowMs: 0 });
  const [id] = s.sealDue(1_000_000, 0);
  assert.ok(s.transition(id!, ["sealed"], "pinned", { bundleCid: "bafy", merkleRoot: "0xab" }));
  assert.equal(s.transition(id!, ["sealed"], "pinned", { bundleCid: "other" }), false);
  s.close();
  const again = new SqliteStorage(path);
  const b = again.getBatch(id!)!;
  assert.equal(b.state, "pinned");
  assert.equal(b.bundleCid, "bafy");
  assert.deepEqual(again.batchStateCounts().pinned, 1);
  again.close();
});
