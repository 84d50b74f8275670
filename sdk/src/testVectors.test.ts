import assert from "node:assert/strict";
import { createHash, createPublicKey, verify as nodeVerify } from "node:crypto";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { buildTestVectors } from "./testVectors.ts";
import { protocolExampleReading } from "./test/fixtures.ts";

const file = new URL("../test-vectors/v1.json", import.meta.url);

test("test-vectors/v1.json is what the generator produces (run node sdk/scripts/vectors.ts)", () => {
  assert.equal(readFileSync(file, "utf8"), `${JSON.stringify(buildTestVectors(), null, 2)}\n`);
});

test("vectors check out with node:crypto alone: digest, P-256 signature, low-s", () => {
  const v = JSON.parse(readFileSync(file, "utf8"));
  const key = createPublicKey(v.testOnlyKey.publicKeySpkiPem);
  const halfN = 0x7fffffff800000007fffffffffffffffde737d56d38bcf4279dce5617e3192a8n;
  assert.deepEqual(v.readings[0].reading, protocolExampleReading);
  assert.equal(v.readings[0].flueGasCo2Mg, "420228");
  for (const r of v.readings) {
    const bytes = Buffer.from(r.canonicalHex.slice(2), "hex");
    assert.equal(bytes.toString("utf8"), r.canonical);
    assert.equal(`0x${createHash("sha256").update(bytes).digest("hex")}`, r.digest);
    const sig = Buffer.from(r.signature.slice(2), "hex");
    assert.equal(nodeVerify("sha256", bytes, { key, dsaEncoding: "ieee-p1363" }, sig), true);
    assert.ok(BigInt(`0x${r.signature.slice(66)}`) <= halfN);
  }
});
