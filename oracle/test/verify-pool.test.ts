import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { generateDeviceKey, signReading, type Reading } from "../../sdk/src/index.ts";
import type { DeviceInfo } from "../src/devices/directory.ts";
import { VerifyPool } from "../src/validate/verify-pool.ts";

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
