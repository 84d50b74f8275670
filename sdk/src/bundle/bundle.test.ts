import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { test } from "node:test";
import fc from "fast-check";
import { defaultFactorSet } from "../factors/factorSet.ts";
import { hashBatchHeader } from "../eip712/batchHeader.ts";
import { idToBytes32 } from "../ids.ts";
import { METHODOLOGY_ID } from "../methodology/methodologyId.ts";
import { generateDeviceKey, signReading } from "../reading/sign.ts";
import type { Reading } from "../reading/schema.ts";
import { computeReading } from "../methodology/compute.ts";
import { readingDigest } from "../reading/digest.ts";
import { parseEnvelope } from "../reading/parse.ts";
import { bytesToHex } from "../hex.ts";
import { assembleBundle } from "./assemble.ts";
import { canonicalJson } from "../reading/canonical.ts";
import { buildBundle, bundleCid, bundleCidAsync, bundleHeader, decodeBundle, encodeBundle } from "./bundle.ts";
import { checkBundle } from "./check.ts";

const key = generateDeviceKey();
const set = defaultFactorSet();
const flue = (seq: number, co2Ppm = 41000): Reading => ({
  v: 1,
  deviceId: "kangaita-chimney-1",
  facilityId: "ktda-kangaita",
  seq,
  ts: 1763900000 + 5 * seq,
  intervalS: 5,
  kind: "flue-gas",
  m: { co2Ppm, tempCentiC: 18550, velocityMmS: 6200, pressurePa: 101325, ductDiameterMm: 600 },
});
const envelopes = [0, 1, 2, 3].map((s) => signReading(flue(s), key.secretKey));
const boiler = signReading(
  {
    v: 1,
    deviceId: "kangaita-boiler-1",
    facilityId: "ktda-kangaita",
    seq: 9,
    ts: 1763900010,
    intervalS: 60,
    kind: "fuel",
    m: { fuel: "firewood", massGrams: 12345 },
  },
  key.secretKey,
);
const input = {
  facilityId: "ktda-kangaita",
  periodStart: 1763900000,
  periodEnd: 1763903600,
  envelopes: [...envelopes, boiler],
  factorSet: set,
  facilityContext: { flueGasBiogenicShareBp: 10000 },
  methodologyId: METHODOLOGY_ID,
};

/** RFC 4648 base32, lowercase, no padding: an independent CIDv1 encoder for the test. */
function base32(bytes: Uint8Array): string {
  const alphabet = "abcdefghijklmnopqrstuvwxyz234567";
  let bits = 0;
  let value = 0;
  let out = "";
  for (const b of bytes) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += alphabet[(value << (5 - bits)) & 31];
  return out;
}

test("CID is CIDv1 raw sha2-256 base32 of the canonical bytes (independent encoder)", () => {
  const bytes = encodeBundle(buildBundle(input));
  const digest = createHash("sha256").update(bytes).digest();
  const expected = `b${base32(Uint8Array.from([0x01, 0x55, 0x12, 0x20, ...digest]))}`;
  assert.equal(bundleCid(bytes), expected);
  assert.match(expected, /^bafkrei[a-z2-7]{52}$/);
});

test("bundleCidAsync (WebCrypto SHA-256) gives bundleCid's CID, also for a view into a larger buffer", async () => {
  const bytes = encodeBundle(buildBundle(input));
  assert.equal(await bundleCidAsync(bytes), bundleCid(bytes));
  const padded = new Uint8Array(bytes.length + 7);
  padded.set(bytes, 3);
  const view = padded.subarray(3, 3 + bytes.length);
  assert.equal(await bundleCidAsync(view), bundleCid(bytes));
});

test("reproducible: the same batch in any arrival order gives the same bytes and CID", () => {
  const cid = bundleCid(encodeBundle(buildBundle(input)));
  fc.assert(
    fc.property(fc.shuffledSubarray(input.envelopes, { minLength: input.envelopes.length }), (shuffled) => {
      assert.equal(bundleCid(encodeBundle(buildBundle({ ...input, envelopes: shuffled }))), cid);
    }),
    { numRuns: 30 },
  );
});

test("totals: per-reading mg summed then floored to grams; biogenic share applied to stack CO2", () => {
  const b = buildBundle(input);
  assert.equal(b.readings[0]!.envelope.reading.deviceId, "kangaita-boiler-1");
  assert.equal(b.readings[1]!.result.biogenicCo2Mg, "420228");
  assert.equal(b.totals.readingCount, 5);
  const fossilMg = b.readings.reduce((a, r) => a + BigInt(r.result.fossilCo2eMg), 0n);
  assert.equal(b.totals.fossilCo2eGrams, (fossilMg / 1000n).toString());
});

test("decode(encode(b)) = b; non-canonical bytes and schema violations are rejected", () => {
  const b = buildBundle(input);
  const bytes = encodeBundle(b);
  assert.deepEqual(decodeBundle(bytes), b);
  const pretty = new TextEncoder().encode(JSON.stringify(b, null, 1));
  assert.throws(() => decodeBundle(pretty), { code: "INVALID_BUNDLE" });
  assert.throws(() => decodeBundle(new TextEncoder().encode(JSON.stringify({ ...b, format: "x" }))), {
    code: "INVALID_BUNDLE",
  });
});

test("checkBundle passes an honest bundle, signatures included", async () => {
  const checks = await checkBundle(buildBundle(input), { publicKeyOf: async () => key.publicKey });
  for (const c of checks) assert.equal(c.ok, true, `${c.link}: ${c.detail}`);
  assert.equal(checks.length, 8);
  assert.equal(checks.find((c) => c.link === "methodology")?.detail.startsWith(METHODOLOGY_ID), true);
});

test("checkBundle fails a bundle that claims another methodology: only METHODOLOGY_ID is recomputed here", async () => {
  // Everything else is honest (a bundle built with the claim): the results match v1 formulas,
  // which proves nothing about the methodology the bundle names.
  const claimed = `0x${"ab".repeat(32)}` as const;
  const checks = await checkBundle(buildBundle({ ...input, methodologyId: claimed }));
  const failed = checks.filter((c) => !c.ok);
  assert.deepEqual(
    failed.map((c) => c.link),
    ["methodology"],
  );
  assert.match(
    failed[0]!.detail,
    new RegExp(`bundle says ${claimed}; this verifier implements only ${METHODOLOGY_ID}`),
  );
  const recomputed = checks.find((c) => c.link === "per-reading emissions recomputed")!;
  assert.doesNotMatch(recomputed.detail, new RegExp(claimed));
});

test("checkBundle fails the right link for each tampering", async () => {
  const b = buildBundle(input);
  const failing = async (bundle: typeof b, opts = {}) =>
    (await checkBundle(bundle, opts)).filter((c) => !c.ok).map((c) => c.link);

  const changedReading = structuredClone(b);
  changedReading.readings[1]!.envelope.reading.m = { ...flue(0, 99999).m } as never;
  assert.ok((await failing(changedReading)).includes("reading digests"));

  const inflated = structuredClone(b);
  inflated.readings[0]!.result.fossilCo2eMg = "1";
  assert.deepEqual(await failing(inflated), ["per-reading emissions recomputed", "bundle totals recomputed"]);

  // a gas made up, or one the factor does not separate given anyway, the CO2e total left right
  // (review: only the CO2e and biogenic fields were compared, and the link said PASS)
  for (const [field, value] of [
    ["ch4Mg", "999999"],
    ["n2oMg", "0"],
    ["fossilCo2Mg", "1"],
  ] as const) {
    const gas = structuredClone(b);
    const r = gas.readings[0]!.result;
    r[field] = r[field] === value ? "2" : value;
    const checks = await checkBundle(gas);
    const link = checks.find((c) => c.link === "per-reading emissions recomputed")!;
    assert.equal(link.ok, false, `${field}: ${link.detail}`);
    assert.match(link.detail, new RegExp(`#\\d+: ${field} recomputed `));
    assert.deepEqual(await failing(gas), ["per-reading emissions recomputed", "bundle totals recomputed"], field);
  }

  const totals = structuredClone(b);
  totals.totals.fossilCo2eGrams = (BigInt(b.totals.fossilCo2eGrams) - 1n).toString();
  assert.deepEqual(await failing(totals), ["bundle totals recomputed"]);

  const factor = structuredClone(b);
  factor.factorSet.content.fuels.firewood!.ch4KgPerTj = "3";
  assert.ok((await failing(factor)).includes("factor set id"));

  const root = structuredClone(b);
  root.root = `0x${"00".repeat(32)}`;
  assert.deepEqual(await failing(root), ["merkle root of the readings"]);

  const count = structuredClone(b);
  count.totals.readingCount = b.readings.length + 1;
  const countChecks = await checkBundle(count);
  const countLink = countChecks.find((c) => c.link === "merkle root of the readings")!;
  assert.deepEqual(
    countChecks.filter((c) => !c.ok).map((c) => c.link),
    ["merkle root of the readings"],
  );
  assert.match(
    countLink.detail,
    new RegExp(`reading count differs: totals.readingCount ${b.readings.length + 1}, ${b.readings.length} readings`),
  );

  const other = generateDeviceKey();
  assert.deepEqual(await failing(b, { publicKeyOf: async () => other.publicKey }), ["device signatures"]);
  assert.deepEqual(await failing(b, { publicKeyOf: async () => null }), ["device signatures"]);
});

// A bundle pinned before contractualCitation was required may carry a contractual factor without
// it: it still decodes (the schema keeps accepting it, or old bundles would be unreadable), but its
// electricity readings are not recomputed from an uncited factor: the recomputation FAILs, naming it.
test("a bundle whose context has a contractual factor without citation decodes, and checkBundle FAILs its electricity readings naming the missing citation", async () => {
  const meter = signReading(
    {
      v: 1,
      deviceId: "kangaita-meter-1",
      facilityId: "ktda-kangaita",
      seq: 3,
      ts: 1763900020,
      intervalS: 900,
      kind: "electricity",
      m: { energyWh: 1_000_000 },
    },
    key.secretKey,
  );
  const cited = buildBundle({
    ...input,
    envelopes: [...input.envelopes, meter],
    facilityContext: {
      flueGasBiogenicShareBp: 10000,
      country: "KEN",
      contractualMgCo2ePerKwh: 0,
      contractualCitation: "GO certificate no. KE-2026-000123, 2026",
      scope2Method: "market" as const,
    },
  });
  for (const c of await checkBundle(cited)) assert.equal(c.ok, true, `${c.link}: ${c.detail}`);
  assert.equal(cited.readings.find((r) => r.envelope.reading.kind === "electricity")!.result.fossilCo2eMg, "0");

  const old = structuredClone(cited);
  delete old.facilityContext.contractualCitation;
  const decoded = decodeBundle(encodeBundle(old));
  assert.deepEqual(decoded.facilityContext, {
    flueGasBiogenicShareBp: 10000,
    country: "KEN",
    contractualMgCo2ePerKwh: 0,
    scope2Method: "market",
  });
  const checks = await checkBundle(decoded);
  assert.deepEqual(
    checks.filter((c) => !c.ok).map((c) => c.link),
    ["per-reading emissions recomputed", "bundle totals recomputed"],
  );
  const recomputed = checks.find((c) => c.link === "per-reading emissions recomputed")!;
  assert.match(
    recomputed.detail,
    /^1 differ; first kangaita-meter-1#3: The contractual factor 0 g CO2e\/kWh has no source: give contractualCitation/,
  );
  // the same context over readings that use no grid factor: nothing uncited applied, nothing failed
  const noElectricity = structuredClone(buildBundle(input));
  noElectricity.facilityContext = decoded.facilityContext;
  for (const c of await checkBundle(noElectricity)) assert.equal(c.ok, true, `${c.link}: ${c.detail}`);
});

test("buildBundle rejects readings of another facility, outside the period, or repeated", () => {
  assert.throws(() => buildBundle({ ...input, facilityId: "other" }), { code: "INVALID_BUNDLE" });
  assert.throws(() => buildBundle({ ...input, periodEnd: 1763900010 }), { code: "INVALID_BUNDLE" });
  assert.throws(() => buildBundle({ ...input, envelopes: [...input.envelopes, envelopes[0]!] }), {
    code: "INVALID_BUNDLE",
  });
  assert.throws(() => buildBundle({ ...input, envelopes: [] }), { code: "INVALID_BUNDLE" });
});

test("decodeBundle refuses a factor of a million digits at once (it cost 0.79 s per reading to recompute)", () => {
  const b = structuredClone(buildBundle(input));
  b.factorSet.content.fuels.firewood!.ncvTjPerGg = `1${"0".repeat(1_000_000)}`;
  assert.throws(() => decodeBundle(encodeBundle(b)), {
    code: "INVALID_BUNDLE",
    message: /factorSet.content.fuels.firewood.ncvTjPerGg: expected at most 40 characters/,
  });
});

test("bundleHeader carries the bundle into the EIP-712 header", () => {
  const b = buildBundle(input);
  const cid = bundleCid(encodeBundle(b));
  const h = bundleHeader(b, cid);
  assert.equal(h.facilityId, idToBytes32("ktda-kangaita"));
  assert.equal(h.merkleRoot, b.root);
  assert.equal(h.readingCount, 5);
  assert.equal(h.fossilCo2eGrams, BigInt(b.totals.fossilCo2eGrams));
  assert.equal(h.bundleCid, cid);
  assert.match(
    hashBatchHeader(h, { chainId: 31337, verifyingContract: "0x5FbDB2315678afecb367f032d93F642f64180aa3" }),
    /^0x[0-9a-f]{64}$/,
  );
});

test("decodeBundle rejects non-canonical bytes: a byte-order mark, whitespace, reordered keys", () => {
  const bytes = encodeBundle(buildBundle(input));
  assert.ok(decodeBundle(bytes));
  const withBom = Uint8Array.from([0xef, 0xbb, 0xbf, ...bytes]);
  const pretty = new TextEncoder().encode(JSON.stringify(JSON.parse(new TextDecoder().decode(bytes)), null, 1));
  const { format, ...rest } = JSON.parse(new TextDecoder().decode(bytes)) as { format: string };
  const reordered = new TextEncoder().encode(JSON.stringify({ ...rest, format }));
  for (const b of [withBom, pretty, reordered])
    assert.throws(() => decodeBundle(b), { code: "INVALID_BUNDLE", message: /not in canonical form/ });
});

// A faulty sensor at the top of every field the reading schema allows: its stack CO2 is a
// 79-digit number of grams, which no uint128 header field can hold.
const MAX = Number.MAX_SAFE_INTEGER;
const huge = signReading(
  {
    ...(flue(7) as Extract<Reading, { kind: "flue-gas" }>),
    m: { co2Ppm: MAX, tempCentiC: -27314, velocityMmS: MAX, pressurePa: MAX, ductDiameterMm: MAX },
    intervalS: MAX,
  },
  key.secretKey,
);

test("a reading of 2^128 g or more is refused by name: buildBundle, assembleBundle (its header could never be attested)", () => {
  assert.ok(parseEnvelope(JSON.parse(JSON.stringify(huge))), "the reading is valid by the schema");
  assert.ok(computeReading(huge.reading, set).fossilCo2eMg / 1000n >= 1n << 128n);
  const message =
    /^Reading kangaita-chimney-1#7: fossil CO2e \d{39,} g is beyond what a batch header holds \(uint128 grams, < 2\^128 g\)/;
  assert.throws(() => buildBundle({ ...input, facilityContext: {}, envelopes: [...envelopes, huge] }), {
    code: "INVALID_BUNDLE",
    message,
  });
  const stored = [...envelopes, huge].map((e) => ({
    canonical: canonicalJson(e.reading),
    digest: bytesToHex(readingDigest(e.reading)),
    sig: e.sig,
  }));
  assert.throws(() => assembleBundle({ ...input, facilityContext: {}, readings: stored }), {
    code: "INVALID_BUNDLE",
    message,
  });
});

test("checkBundle FAILs a reading and totals of 2^128 g or more even when the bundle states them", async () => {
  const b = structuredClone(buildBundle({ ...input, facilityContext: {} }));
  const res = computeReading(huge.reading, set);
  b.readings[1] = {
    envelope: { reading: huge.reading, sig: huge.sig },
    digest: bytesToHex(readingDigest(huge.reading)),
    result: {
      fossilCo2eMg: res.fossilCo2eMg.toString(),
      biogenicCo2Mg: res.biogenicCo2Mg.toString(),
      fossilCo2Mg: String(res.fossilCo2Mg),
      ch4Mg: null,
      n2oMg: null,
    },
  };
  const checks = await checkBundle(b);
  const emissions = checks.find((c) => c.link === "per-reading emissions recomputed")!;
  assert.equal(emissions.ok, false);
  assert.match(emissions.detail, /kangaita-chimney-1#7: fossil CO2e \d+ g is beyond what a batch header holds/);
  const totals = checks.find((c) => c.link === "bundle totals recomputed")!;
  assert.equal(totals.ok, false);
  assert.match(totals.detail, /beyond what a batch header holds/);
});

test("bundleHeader refuses totals of 2^128 g with INVALID_BUNDLE (viem would throw 'not in safe 128-bit unsigned integer range')", () => {
  const b = buildBundle(input);
  const limit = 1n << 128n;
  for (const field of ["fossilCo2eGrams", "biogenicCo2Grams"] as const) {
    const over = { ...b, totals: { ...b.totals, [field]: limit.toString() } };
    assert.throws(() => bundleHeader(over, "bafy"), {
      code: "INVALID_BUNDLE",
      message: /The batch totals: .* split the batch/,
    });
    const edge = { ...b, totals: { ...b.totals, [field]: (limit - 1n).toString() } };
    assert.equal(bundleHeader(edge, "bafy")[field], limit - 1n);
  }
});
