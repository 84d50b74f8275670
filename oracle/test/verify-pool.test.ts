import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { generateDeviceKey, signReading, type Reading } from "../../sdk/src/index.ts";
import type { DeviceInfo } from "../src/devices/directory.ts";
import { VerifyPool } from "../src/validate/verify-pool.ts";
import { resultJson } from "../src/validate/prepare.ts";
import { deviceInfo, flueGas, makeDevice, sdkCalculator } from "./fixtures.ts";

const reading = (seq: number): Reading => ({
  v: 1,
  deviceId: "dev-1",
  facilityId: "fac-1",
  seq,
  ts: 1_760_000_000 + seq,
  intervalS: 5,
  kind: "electricity",
  m: { energyWh: 100 },
});
const payload = (seq: number, secretKey: Uint8Array) =>
  Buffer.from(JSON.stringify(signReading(reading(seq), secretKey)));

async function sigOk(pool: VerifyPool, p: Buffer, device: DeviceInfo): Promise<boolean | null> {
  const out = await pool.prepare(p, device);
  assert.ok(out.ok);
  const item = out.items[0]!;
  assert.ok(item.ok);
  return item.sigOk;
}

describe("verify pool: device records sent to the worker once, then by id", () => {
  const pool = new VerifyPool(1);
  after(() => pool.close());
  const k1 = generateDeviceKey();
  const k2 = generateDeviceKey();
  const record = (pub: Uint8Array): DeviceInfo => ({
    deviceId: "dev-1",
    facilityId: "fac-1",
    status: "active",
    keys: [{ publicKey: pub, validFrom: 0, validUntil: null }],
  });

  test("the same record over many payloads: each checked against its keys", async () => {
    const r1 = record(k1.publicKey);
    const verdicts = await Promise.all(
      Array.from({ length: 50 }, (_, i) => sigOk(pool, payload(i + 1, i % 5 === 0 ? k2.secretKey : k1.secretKey), r1)),
    );
    verdicts.forEach((v, i) => assert.equal(v, i % 5 !== 0, `payload ${i}`));
  });

  test("a new record of the device (key rotated) replaces the one the worker has", async () => {
    const r2 = record(k2.publicKey);
    assert.equal(await sigOk(pool, payload(100, k2.secretKey), r2), true);
    assert.equal(await sigOk(pool, payload(101, k1.secretKey), r2), false);
    // and back to the first key with a third record
    const r3 = record(k1.publicKey);
    assert.equal(await sigOk(pool, payload(102, k1.secretKey), r3), true);
    assert.equal(await sigOk(pool, payload(103, k2.secretKey), r3), false);
  });
});

describe("verify pool with the methodology: plausibility and emissions where the reading is parsed", () => {
  // the real sdk calculator (default factor set, a Kenyan tea factory burning firewood) on the
  // workers and, for comparison, on this thread
  const calc = sdkCalculator();
  const pool = new VerifyPool(2, calc.posted());
  const inline = new VerifyPool(0, calc.posted());
  after(() => pool.close());
  const dev = makeDevice("dev-m");
  const base = { v: 1 as const, deviceId: dev.deviceId, facilityId: dev.facilityId, ts: 1_760_000_000, intervalS: 5 };
  let seq = 0;
  const readings: Reading[] = [
    { ...base, seq: ++seq, kind: "electricity", m: { energyWh: 1234 } },
    { ...base, seq: ++seq, kind: "electricity", m: { energyWh: 0 } },
    { ...base, seq: ++seq, kind: "flue-gas", m: flueGas(dev).reading.m } as Reading,
    { ...base, seq: ++seq, kind: "fuel", intervalS: 3600, m: { fuel: "diesel", massGrams: 25_000 } },
    { ...base, seq: ++seq, kind: "fuel", intervalS: 3600, m: { fuel: "firewood", massGrams: 40_000_000 } },
    {
      ...base,
      seq: ++seq,
      kind: "manual",
      intervalS: 86_400,
      m: { fuel: "diesel", energyKj: 1_000_000, evidenceSha256: "ab".repeat(32) },
    } as Reading,
  ];
  const prepared = async (p: VerifyPool, r: Reading) => {
    const out = await p.prepare(Buffer.from(JSON.stringify(signReading(r, dev.secretKey))), deviceInfo(dev));
    assert.ok(out.ok);
    const item = out.items[0]!;
    assert.ok(item.ok, `${r.kind}: ${item.ok ? "" : item.detail}`);
    return item;
  };

  test("every kind: the same result JSON, fossil and biogenic mg as the calculator on this thread", async () => {
    for (const r of readings) {
      const item = await prepared(pool, r);
      const expected = calc.compute(r);
      assert.deepEqual(item.evaluated, {
        fossilMg: expected.fossilMg,
        biogenicMg: expected.biogenicMg,
        resultJson: resultJson(expected.detail),
      });
      assert.deepEqual(item.facts, {
        deviceId: r.deviceId,
        facilityId: r.facilityId,
        seq: r.seq,
        ts: r.ts,
        intervalS: r.intervalS,
        kind: r.kind,
      });
      assert.equal(item.sigOk, true);
      // the inline pool (no workers) gives the same
      assert.deepEqual((await prepared(inline, r)).evaluated, item.evaluated);
    }
    // citations are kept: the stored JSON names the factor source
    const elec = await prepared(pool, readings[0]!);
    assert.ok(elec.evaluated && "resultJson" in elec.evaluated);
    assert.match(elec.evaluated.resultJson, /GHG Protocol Scope 2 Guidance/);
  });

  test("an implausible reading and one the methodology cannot compute: their reasons, no result", async () => {
    const tooLong = await prepared(pool, {
      ...base,
      seq: ++seq,
      intervalS: 10_000_000,
      kind: "electricity",
      m: { energyWh: 1 },
    });
    assert.ok(tooLong.evaluated && "implausible" in tooLong.evaluated, JSON.stringify(tooLong.evaluated));
    assert.match(tooLong.evaluated.implausible, /intervalS/);
    const unknownFuel = await prepared(pool, {
      ...base,
      seq: ++seq,
      kind: "fuel",
      m: { fuel: "unobtainium", massGrams: 5 },
    });
    assert.ok(unknownFuel.evaluated && "computeError" in unknownFuel.evaluated, JSON.stringify(unknownFuel.evaluated));
    assert.match(unknownFuel.evaluated.computeError, /Unknown fuel "unobtainium"/);
  });

  test("without a methodology nothing is evaluated (the node computes with its own calculator)", async () => {
    const bare = new VerifyPool(1);
    try {
      assert.equal((await prepared(bare, readings[0]!)).evaluated, null);
    } finally {
      await bare.close();
    }
  });
});

describe("verify pool: a payload that cannot be read, a worker that dies", () => {
  test("arrays nested 20,000 deep (JSON.parse takes them, stringify cannot): malformed, and the payloads beside it prepared by the same worker", async () => {
    const pool = new VerifyPool(1);
    try {
      const k = generateDeviceKey();
      const device: DeviceInfo = {
        deviceId: "dev-1",
        facilityId: "fac-1",
        status: "active",
        keys: [{ publicKey: k.publicKey, validFrom: 0, validUntil: null }],
      };
      const nested = Buffer.from(`[${"[".repeat(20_000)}${"]".repeat(20_000)}]`);
      // the same event-loop turn: one message to the one worker
      const [before, bomb, beside] = await Promise.all([
        pool.prepare(payload(1, k.secretKey), device),
        pool.prepare(nested, device),
        pool.prepare(payload(2, k.secretKey), device),
      ]);
      assert.ok(!bomb.ok);
      assert.match(bomb.detail, /^cannot be read: .*call stack/i);
      for (const p of [before, beside]) {
        assert.ok(p.ok && p.items[0]!.ok);
        assert.equal(p.items[0]!.sigOk, true);
      }
      // the thread is alive: a later payload is prepared, not failed
      assert.equal(await sigOk(pool, payload(3, k.secretKey), device), true);
      // and inline (no workers, the HTTP path's prepareValue) the same answer
      const inline = new VerifyPool(0).prepareValue(JSON.parse(nested.toString()));
      assert.ok(!inline.ok);
      assert.match(inline.detail, /^cannot be read: /);
    } finally {
      await pool.close();
    }
  });

  test("a worker that dies fails its own payloads only; the other worker's, in flight, are prepared", async () => {
    const pool = new VerifyPool(2, null, new URL("./verify-worker-standin.ts", import.meta.url));
    try {
      // first turn: to the first worker, which holds it for a second
      const held = pool.prepare(Buffer.from('{"hold-1s":true}'), null);
      await new Promise((r) => setImmediate(r));
      // second turn: to the second worker, which dies of it
      const died = pool.prepare(Buffer.from('{"die-now":true}'), null);
      await assert.rejects(Promise.resolve(died), /verification worker exited \(code 3\)/);
      const p = await held;
      assert.ok(p.ok, "the first worker's payload is prepared, not failed with the second");
      assert.ok(!p.items[0]!.ok, "(a schema failure: it is no reading)");
      // the dead worker was replaced: both slots prepare again
      const again = await Promise.all([0, 1].map(() => pool.prepare(Buffer.from("{}"), null)));
      assert.equal(again.length, 2);
    } finally {
      await pool.close();
    }
  });
});
