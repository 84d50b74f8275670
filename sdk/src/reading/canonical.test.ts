import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { protocolExampleReading } from "../test/fixtures.ts";
import { canonicalJson } from "./canonical.ts";

test("JCS of the protocol example: sorted keys, no whitespace", () => {
  assert.equal(
    canonicalJson(protocolExampleReading),
    '{"deviceId":"kangaita-chimney-1","facilityId":"ktda-kangaita","intervalS":5,"kind":"flue-gas",' +
      '"m":{"co2Ppm":41000,"ductDiameterMm":600,"pressurePa":101325,"tempCentiC":18550,"velocityMmS":6200},' +
      '"seq":42,"ts":1763900000,"v":1}',
  );
});

test("rejects floats, unsafe integers, NaN and bigint anywhere", () => {
  for (const bad of [{ a: 1.5 }, { a: [1, 2 ** 53] }, { a: Number.NaN }, { a: { b: 10n } }, { a: undefined }]) {
    assert.throws(() => canonicalJson(bad), { code: "NON_INTEGER" });
  }
});

const jsonInt = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small" },
    fc.maxSafeInteger(),
    fc.string(),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie("value"), { maxLength: 4 }),
    fc.dictionary(fc.string(), tie("value"), { maxKeys: 5 }),
  ),
})).value;

function shuffleKeys(value: unknown, seed: number): unknown {
  if (Array.isArray(value)) return value.map((v) => shuffleKeys(v, seed));
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value);
    const rotated = entries.slice(seed % (entries.length || 1)).concat(entries.slice(0, seed % (entries.length || 1)));
    return Object.fromEntries(rotated.reverse().map(([k, v]) => [k, shuffleKeys(v, seed + 1)]));
  }
  return value;
}

test("canonical form is stable under key order and parses back to the same value", () => {
  fc.assert(
    fc.property(jsonInt, fc.nat(), (value, seed) => {
      const a = canonicalJson(value);
      assert.equal(canonicalJson(shuffleKeys(value, seed)), a);
      assert.deepEqual(JSON.parse(a), JSON.parse(JSON.stringify(value)));
    }),
  );
});
