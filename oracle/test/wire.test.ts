import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { deserialize, serialize } from "node:v8";
import { signReading, type Reading } from "../../sdk/src/index.ts";
import { packPrepared, resultJson, unpackPrepared } from "../src/validate/prepare.ts";
import { VerifyPool } from "../src/validate/verify-pool.ts";
import { deviceInfo, makeDevice, sdkCalculator } from "./fixtures.ts";

/**
 * The flat wire form of prepared payloads between the verification workers and the main thread
 * (validate/prepare.ts `packPrepared`): what arrives is exactly what was sent, for every shape a
 * payload, an envelope and an evaluation can take.
 */
const clone = <T>(v: T): T => deserialize(serialize(v)) as T;

describe("prepared payloads from the verification workers", () => {
  const calc = sdkCalculator();
  const workers = new VerifyPool(2, calc.posted());
  const inline = new VerifyPool(0, calc.posted());
  after(() => workers.close());
  const dev = makeDevice("dev-wire");
  const other = makeDevice("dev-other");
  const base = { v: 1 as const, deviceId: dev.deviceId, facilityId: dev.facilityId, ts: 1_760_000_000, intervalS: 5 };
  const signed = (r: Reading, key = dev.secretKey) => signReading(r, key);
  const elec = (seq: number, energyWh = 100): Reading => ({ ...base, seq, kind: "electricity", m: { energyWh } });
  const payloads: [string, unknown][] = [
    ["one envelope", signed(elec(1))],
    ["one envelope with a key id", { ...signed(elec(2)), keyId: "k-2" }],
    ["signed by another key", signed(elec(3), other.secretKey)],
    ["implausible", signed({ ...base, seq: 4, intervalS: 10_000_000, kind: "electricity", m: { energyWh: 1 } })],
    ["not computable", signed({ ...base, seq: 5, kind: "fuel", m: { fuel: "unobtainium", massGrams: 5 } })],
    ["another device's reading", signed({ ...elec(6), deviceId: other.deviceId }, other.secretKey)],
    ["an array: envelope, non-envelope, schema failure", [signed(elec(7)), 42, { reading: { v: 2 }, sig: "0x00" }]],
    ["an empty array", []],
  ];

  test("the workers' answers equal those prepared on this thread, every field", async () => {
    for (const [what, value] of payloads) {
      const bytes = Buffer.from(JSON.stringify(value));
      assert.deepStrictEqual(
        await workers.prepare(bytes, deviceInfo(dev)),
        inline.prepare(bytes, deviceInfo(dev)),
        what,
      );
      assert.deepStrictEqual(await workers.prepare(bytes, null), inline.prepare(bytes, null), `${what}, no device`);
    }
    const notJson = Buffer.from("{not json");
    assert.deepStrictEqual(await workers.prepare(notJson, null), inline.prepare(notJson, null));
  });

  test("pack then unpack, through a structured clone, gives the same objects", () => {
    const out = payloads.map(([, value]) => inline.prepare(Buffer.from(JSON.stringify(value)), deviceInfo(dev)));
    const flat = packPrepared(out.map((p) => (p instanceof Promise ? assert.fail("inline is synchronous") : p)));
    assert.ok(
      flat.every((v) => v === null || typeof v !== "object"),
      "only primitives on the wire",
    );
    assert.deepStrictEqual(unpackPrepared(clone(flat), out.length), out);
  });
});

test("stored result JSON: bigints as decimal strings, everything else as JSON.stringify writes it", () => {
  const withReplacer = (v: unknown) =>
    JSON.stringify(v, (_k, x: unknown) => (typeof x === "bigint" ? x.toString() : x));
  const calc = sdkCalculator();
  const dev = makeDevice("dev-json");
  const r: Reading = {
    v: 1,
    deviceId: dev.deviceId,
    facilityId: dev.facilityId,
    seq: 1,
    ts: 1_760_000_000,
    intervalS: 5,
    kind: "electricity",
    m: { energyWh: 1234 },
  };
  const samples: unknown[] = [
    calc.compute(r).detail,
    { a: 1n, b: [2n, { c: 3n, d: null, e: undefined }], f: "x", g: new Date(0), h: [undefined, 4n] },
    12n,
    [1n, "2"],
    null,
  ];
  for (const v of samples) assert.equal(resultJson(v), withReplacer(v));
});
