import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  METHODOLOGY_ID,
  canonicalJson,
  checkBundle,
  decodeBundle,
  defaultFactorSet,
  generateDeviceKey,
  readingDigestHex,
  signReading,
  type Reading,
} from "../../sdk/src/index.ts";
import { buildSealedBundle, headerFromJson, type BundleReading } from "../src/batch/bundle.ts";
import type { Batch } from "../src/storage/types.ts";

const batch = {
  id: 7,
  facilityId: "fac-1",
  periodStart: 1_760_000_000,
  periodEnd: 1_760_000_060,
  correctionOfBatch: null,
  state: "sealed",
} as Batch;
const inputs = { factorSet: defaultFactorSet(), facilityContext: { country: "KEN" }, methodologyId: METHODOLOGY_ID };

function stored(n: number): BundleReading[] {
  const k = generateDeviceKey();
  return Array.from({ length: n }, (_, i) => {
    const reading: Reading = {
      v: 1,
      deviceId: "dev-1",
      facilityId: "fac-1",
      seq: i + 1,
      ts: batch.periodStart + i,
      intervalS: 5,
      kind: "electricity",
      m: { energyWh: 100 + i },
    };
    const env = signReading(reading, k.secretKey);
    return {
      digest: readingDigestHex(reading),
      canonical: canonicalJson(reading),
      sig: env.sig,
      keyId: null,
      flagged: i === 2,
      anomalyScore: i === 2 ? 9.5 : 1,
    };
  });
}

describe("bundle of a sealed batch (batch/bundle.ts, what the bundle worker runs)", () => {
  test("from stored readings: the sdk accepts the bundle; header, root and totals agree", async () => {
    const readings = stored(5);
    const built = buildSealedBundle(batch, readings, inputs)!;
    const bundle = decodeBundle(built.bytes);
    const checks = await checkBundle(bundle);
    assert.ok(checks.length > 0);
    for (const c of checks) assert.ok(c.ok || c.skipped, `${c.link}: ${c.detail}`);
    assert.equal(bundle.root, built.root);
    assert.equal(bundle.readings.length, 5);
    assert.equal(built.readingCount, 5);
    const header = headerFromJson(built.headerJson);
    assert.equal(header.merkleRoot, built.root);
    assert.equal(header.bundleCid, built.cid);
    assert.equal(header.fossilCo2eGrams.toString(), built.fossilCo2eGrams);
    assert.deepEqual(bundle.readings.find((r) => r.digest === readings[2]!.digest)?.flags, ["anomaly:robust-z>9"]);
  });

  test("a stored digest that is not the reading's (a tampered row) stops the build", () => {
    const readings = stored(3);
    readings[1] = { ...readings[1]!, digest: `0x${"ab".repeat(32)}` };
    assert.throws(() => buildSealedBundle(batch, readings, inputs), /digests differ from the stored ones/);
  });

  test("a batch without readings has no bundle", () => {
    assert.equal(buildSealedBundle(batch, [], inputs), null);
  });
});
