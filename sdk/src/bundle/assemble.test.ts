import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { SdkError } from "../errors.ts";
import { defaultFactorSet } from "../factors/factorSet.ts";
import { bytesToHex, type Hex } from "../hex.ts";
import type { FacilityContext } from "../methodology/compute.ts";
import { METHODOLOGY_ID } from "../methodology/methodologyId.ts";
import { canonicalJson } from "../reading/canonical.ts";
import { readingDigestHex, sha256Bytes } from "../reading/digest.ts";
import type { Envelope, Reading } from "../reading/schema.ts";
import {
  BundleAssembler,
  assembleBundle,
  isCanonicalText,
  type AssembleBundleInput,
  type CanonicalEnvelope,
} from "./assemble.ts";
import { buildBundle, bundleHeader, encodeBundle } from "./bundle.ts";

const set = defaultFactorSet();
const periodStart = 1_763_900_000;
const periodEnd = 1_763_903_600;
const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
const digestOfText = (t: string): Hex => bytesToHex(sha256Bytes(new TextEncoder().encode(t)));

/** A stored reading as the oracle keeps it, and the envelope buildBundle gets for it. */
type Pair = { stored: CanonicalEnvelope; envelope: Envelope };

function pair(reading: Reading, sig: string, keyId: string | null): Pair {
  return {
    stored: { canonical: canonicalJson(reading), digest: readingDigestHex(reading), sig, keyId },
    envelope: { reading, sig: sig as Hex, ...(keyId === null ? {} : { keyId }) },
  };
}

/** buildBundle's input for the same batch as an assembleBundle input. */
function reference(input: AssembleBundleInput, envelopes: Envelope[]) {
  const { readings: _, ...rest } = input;
  return { ...rest, envelopes };
}

const uint = (max = 1_000_000_000) => fc.integer({ min: 0, max });
const idArb = fc.stringMatching(/^[a-z0-9][a-z0-9._-]{0,31}$/);
const hex64 = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => bytesToHex(b).slice(2));
/** A signature in either case: buildBundle lowercases it. */
const sigArb = fc
  .uint8Array({ minLength: 64, maxLength: 64 })
  .chain((b) => fc.constantFrom(bytesToHex(b), `0x${bytesToHex(b).slice(2).toUpperCase()}`));
/** Any well-formed text: quotes, backslashes, control characters, U+2028, astral code points. */
const freeText = (minLength = 0) => fc.string({ unit: "binary", minLength, maxLength: 24 });
const fuelArb = fc.constantFrom("diesel", "petrol", "lpg", "natural-gas", "firewood", "charcoal", "lignite");
const fuelQuantity = fc.oneof(
  fc.record({ fuel: fuelArb, massGrams: uint() }),
  fc.record({ fuel: fuelArb, energyKj: uint() }),
);
const electricity = fc.record({ energyWh: uint(), renewableWh: uint() }, { requiredKeys: ["energyWh"] });
const measurement = fc.oneof(
  fc.record({
    kind: fc.constant("flue-gas" as const),
    m: fc.record({
      co2Ppm: uint(200_000),
      tempCentiC: fc.integer({ min: -27314, max: 200_000 }),
      velocityMmS: uint(100_000),
      pressurePa: uint(200_000),
      ductDiameterMm: uint(5_000),
    }),
  }),
  fc.record({ kind: fc.constant("electricity" as const), m: electricity }),
  fc.record({ kind: fc.constant("fuel" as const), m: fuelQuantity }),
  fc.record({
    kind: fc.constant("manual" as const),
    m: fc.tuple(fc.oneof(fuelQuantity, electricity), hex64).map(([m, evidenceSha256]) => ({ ...m, evidenceSha256 })),
  }),
);

/**
 * A batch of valid readings of facility `fac` from a few devices, each (deviceId, seq) once,
 * in arbitrary order, with and without key ids, some flagged, and a facility context with
 * free text in it.
 */
const batchArb = fc
  .record({
    facilityId: idArb,
    devices: fc.uniqueArray(idArb, { minLength: 1, maxLength: 4 }),
    rows: fc.array(
      fc.record({
        device: fc.nat(),
        seq: uint(),
        ts: fc.integer({ min: periodStart, max: periodEnd - 1 }),
        intervalS: fc.integer({ min: 1, max: 3600 }),
        measurement,
        sig: sigArb,
        keyId: fc.option(freeText(1), { nil: null }),
        flags: fc.option(fc.array(freeText(), { maxLength: 3 }), { nil: null }),
      }),
      { minLength: 1, maxLength: 30 },
    ),
    context: fc.record(
      {
        country: fc.constantFrom("KEN", "DEU", "IND"),
        flueGasBiogenicShareBp: fc.integer({ min: 0, max: 10_000 }),
        contractualMgCo2ePerKwh: uint(2_000_000),
        // a contractual factor is cited (computeElectricity refuses it otherwise): any text but a blank
        contractualCitation: freeText(1).filter((t) => t.trim() !== ""),
        scope2Method: fc.constantFrom("location" as const, "market" as const),
      },
      { requiredKeys: ["country", "contractualMgCo2ePerKwh", "contractualCitation"] },
    ),
    correctionOf: fc.option(
      hex64.map((h) => `0x${h}` as Hex),
      { nil: undefined },
    ),
  })
  .chain(({ facilityId, devices, rows, context, correctionOf }) => {
    const seen = new Set<string>();
    const pairs: Pair[] = [];
    const flags: Record<string, string[]> = {};
    for (const row of rows) {
      const deviceId = devices[row.device % devices.length]!;
      if (seen.has(`${deviceId}#${row.seq}`)) continue;
      seen.add(`${deviceId}#${row.seq}`);
      const reading = {
        v: 1,
        deviceId,
        facilityId,
        seq: row.seq,
        ts: row.ts,
        intervalS: row.intervalS,
        ...row.measurement,
      } as Reading;
      const p = pair(reading, row.sig, row.keyId);
      pairs.push(p);
      if (row.flags) flags[p.stored.digest] = row.flags;
    }
    // Any arrival order.
    return fc.shuffledSubarray(pairs, { minLength: pairs.length }).map((shuffled) => ({
      facilityId,
      shuffled,
      context,
      correctionOf,
      flags,
    }));
  })
  .map(({ facilityId, shuffled: pairs, context, correctionOf, flags }) => {
    const input: AssembleBundleInput = {
      facilityId,
      periodStart,
      periodEnd,
      readings: pairs.map((p) => p.stored),
      factorSet: set,
      facilityContext: context as FacilityContext,
      methodologyId: METHODOLOGY_ID,
      ...(correctionOf ? { correctionOf } : {}),
      flags,
    };
    return { input, envelopes: pairs.map((p) => p.envelope) };
  });

test("assembleBundle gives the bytes, summary and digests of encodeBundle(buildBundle()) for any batch", () => {
  fc.assert(
    fc.property(batchArb, ({ input, envelopes }) => {
      const bundle = buildBundle(reference(input, envelopes));
      const assembled = assembleBundle(input);
      assert.equal(text(assembled.bytes), text(encodeBundle(bundle)));
      assert.deepEqual(assembled.bytes, encodeBundle(bundle));
      const { readings, ...summary } = bundle;
      assert.deepEqual(assembled.summary, summary);
      assert.deepEqual(
        assembled.digests,
        readings.map((r) => r.digest),
      );
      assert.deepEqual(bundleHeader(assembled.summary, "bafy"), bundleHeader(bundle, "bafy"));
    }),
    { numRuns: 150 },
  );
});

const flue = (seq: number, over: Partial<Reading> = {}): Reading =>
  ({
    v: 1,
    deviceId: "kangaita-chimney-1",
    facilityId: "ktda-kangaita",
    seq,
    ts: periodStart + 5 * seq,
    intervalS: 5,
    kind: "flue-gas",
    m: { co2Ppm: 41000 + seq, tempCentiC: -550, velocityMmS: 6200, pressurePa: 101325, ductDiameterMm: 600 },
    ...over,
  }) as Reading;
const sig = `0x${"Ab".repeat(64)}`;
const pairs = [0, 1, 2, 3].map((s) => pair(flue(s), sig, s % 2 ? "kangaita-key-1" : null));
const base: AssembleBundleInput = {
  facilityId: "ktda-kangaita",
  periodStart,
  periodEnd,
  readings: pairs.map((p) => p.stored),
  factorSet: set,
  facilityContext: { flueGasBiogenicShareBp: 10000, contractualCitation: 'PPA « Kangaita » \u2028 ☕ 𝄞 "q" \\' },
  methodologyId: METHODOLOGY_ID,
  flags: { [pairs[1]!.stored.digest]: ["anomaly:robust-z>9", "é\n\u0001"] },
};
const envelopes = pairs.map((p) => p.envelope);
/** The inputs with reading `i` replaced. */
const withReading = (i: number, stored: CanonicalEnvelope): AssembleBundleInput => ({
  ...base,
  readings: base.readings.map((r, k) => (k === i ? stored : r)),
});
/** A stored reading whose text is `canonical` and whose digest is that text's SHA-256. */
const storedText = (canonical: string): CanonicalEnvelope => ({ canonical, digest: digestOfText(canonical), sig });

const rejects = (input: AssembleBundleInput, check: string) =>
  assert.throws(
    () => assembleBundle(input),
    (e: unknown) => e instanceof SdkError && e.code === "INVALID_BUNDLE" && e.details?.check === check,
  );

test("assembleBundle: unicode in key ids, flags and the facility context, digests in either case", () => {
  const input = {
    ...base,
    readings: base.readings.map((r, i) => ({
      ...r,
      digest: i === 2 ? r.digest.toUpperCase().replace("0X", "0x") : r.digest,
      keyId: i === 3 ? 'clé "😀" \\ \u0007 \u2029' : r.keyId,
    })),
  };
  const keyed = envelopes.map((e, i) => (i === 3 ? { ...e, keyId: 'clé "😀" \\ \u0007 \u2029' } : e));
  const assembled = assembleBundle(input);
  assert.equal(text(assembled.bytes), text(encodeBundle(buildBundle(reference(input, keyed)))));
  assert.ok(text(assembled.bytes).includes(`"keyId":${JSON.stringify('clé "😀" \\ \u0007 \u2029')}`));
});

test("assembleBundle: flags and key ids far longer than the readings (the output buffer grows)", () => {
  const long = "\u0000😀".repeat(2000);
  const input = {
    ...base,
    readings: base.readings.map((r) => ({ ...r, keyId: long })),
    flags: Object.fromEntries(base.readings.map((r) => [r.digest, [long, long]])),
  };
  const keyed = envelopes.map((e) => ({ ...e, keyId: long }));
  assert.equal(text(assembleBundle(input).bytes), text(encodeBundle(buildBundle(reference(input, keyed)))));
});

/** A BundleAssembler given `input`'s readings in the order `order` of their indices. */
function assembled(input: AssembleBundleInput, order: readonly number[]) {
  const { readings, flags, ...rest } = input;
  const a = new BundleAssembler(rest);
  for (const i of order) a.add(readings[i]!, flags?.[readings[i]!.digest.toLowerCase()]);
  return a.finish();
}

test("BundleAssembler: readings added in any order give assembleBundle's bundle", () => {
  fc.assert(
    fc.property(
      batchArb.chain(({ input, envelopes }) =>
        fc
          .shuffledSubarray(
            input.readings.map((_, i) => i),
            { minLength: input.readings.length },
          )
          .map((order) => ({ input, envelopes, order })),
      ),
      ({ input, envelopes, order }) => {
        const out = assembled(input, order);
        assert.deepEqual(out.bytes, encodeBundle(buildBundle(reference(input, envelopes))));
        assert.deepEqual(out, assembleBundle(input));
      },
    ),
    { numRuns: 100 },
  );
});

test("BundleAssembler: thousands of entries over several chunks, and one entry larger than a chunk", () => {
  const many = Array.from({ length: 3000 }, (_, s) =>
    pair(flue(s, { ts: periodStart + (s % 3600) }), sig, s % 3 ? null : `key-${s}`),
  );
  const huge = "x".repeat(300_000);
  const input: AssembleBundleInput = {
    ...base,
    readings: many.map((p) => p.stored),
    flags: { [many[1500]!.stored.digest]: [huge] },
  };
  const out = assembled(
    input,
    many.map((_, i) => (i * 7) % 3000),
  );
  const reference_ = encodeBundle(
    buildBundle(
      reference(
        input,
        many.map((p) => p.envelope),
      ),
    ),
  );
  assert.ok(reference_.length > 2_000_000);
  assert.deepEqual(out.bytes, reference_);
  assert.equal(out.summary.totals.readingCount, 3000);
});

test("BundleAssembler keeps a fault for finish, which reports the first in bundle order", () => {
  const { readings, flags: _, ...rest } = base;
  const a = new BundleAssembler(rest);
  // a wrong digest on the last reading in bundle order, added first; another facility on the second
  a.add({ ...readings[3]!, digest: `0x${"ab".repeat(32)}` });
  a.add(pair(flue(1, { facilityId: "other" }), sig, null).stored);
  a.add(readings[0]!);
  assert.equal(a.size, 3);
  assert.throws(
    () => a.finish(),
    (e: unknown) => e instanceof SdkError && e.details?.check === "facility",
  );
  assert.throws(() => new BundleAssembler(rest).finish(), { code: "INVALID_BUNDLE" });
  assert.throws(() => new BundleAssembler({ ...rest, periodEnd: periodStart }), { code: "INVALID_BUNDLE" });
});

test("assembleBundle rejects a digest that is not the SHA-256 of the reading's text", () => {
  rejects(withReading(1, { ...base.readings[1]!, digest: `0x${"ab".repeat(32)}` }), "digest");
  // The digest of the reading, but another reading's text.
  rejects(withReading(1, { ...base.readings[1]!, canonical: base.readings[2]!.canonical }), "digest");
});

test("assembleBundle rejects reading text that is not canonical, even when the digest is that text's", () => {
  const r = flue(1);
  const canonical = canonicalJson(r);
  const { v, ...rest } = r;
  const variants = [
    JSON.stringify({ ...rest, v }), // keys out of order
    JSON.stringify(r, null, 1), // whitespace
    ` ${canonical}`,
    `${canonical}\n`,
    canonical.replace('"seq":1', '"seq":1.0'),
    canonical.replace('"seq":1', '"seq":1e0'),
    canonical.replace('"ductDiameterMm":600', '"ductDiameterMm":6e2'),
    canonical.replace('"kind":"flue-gas"', '"kind":"flue\\u002dgas"'),
    canonical.replace('"deviceId":"kangaita', '"deviceId":"k\\u0061ngaita'),
    canonical.replace('"m":{', '"m":{"co2Ppm":1,'), // a repeated key: JSON.parse keeps the last
    canonical.replace('"intervalS":5', '"intervalS":5,"intervalS":5'),
  ];
  for (const t of variants) {
    assert.notEqual(t, canonical);
    assert.equal(canonicalJson(JSON.parse(t)), canonical, t);
    rejects(withReading(1, storedText(t)), "canonical");
  }
  const negativeZero = canonicalJson(flue(1, { m: { energyWh: 7 }, kind: "electricity" } as Partial<Reading>));
  rejects(withReading(1, storedText(negativeZero.replace('"energyWh":7', '"energyWh":-0'))), "canonical");
});

test("assembleBundle rejects text that is not JSON or lacks the fields of a reading v1", () => {
  rejects(withReading(0, storedText("{")), "json");
  rejects(withReading(0, storedText("")), "json");
  rejects(withReading(0, storedText("[]")), "shape");
  rejects(withReading(0, storedText("null")), "shape");
  rejects(withReading(0, storedText(canonicalJson({ ...flue(0), v: 2 }))), "shape");
  const { ts: _, ...noTs } = flue(0);
  rejects(withReading(0, storedText(canonicalJson(noTs))), "shape");
  rejects(withReading(0, storedText(canonicalJson({ ...flue(0), seq: "0" }))), "shape");
  // Not a safe integer: canonicalJson (so encodeBundle) refuses it.
  rejects(withReading(0, storedText(canonicalJson(flue(0)).replace('"seq":0', '"seq":9007199254740992'))), "canonical");
});

test("assembleBundle rejects what buildBundle rejects: another facility, ts outside the period, a repeated (deviceId, seq), an empty batch", () => {
  const cases: [string, AssembleBundleInput, Envelope[]][] = [
    ["facility", { ...base, facilityId: "other" }, envelopes],
    ["outside", { ...base, periodEnd: periodStart + 10 }, envelopes],
    ["outside", { ...base, periodStart: periodStart + 1 }, envelopes],
    [
      "outside",
      withReading(2, pair(flue(2, { ts: periodEnd }), sig, null).stored),
      envelopes.map((e, i) => (i === 2 ? { reading: flue(2, { ts: periodEnd }), sig: e.sig } : e)),
    ],
    ["duplicate", { ...base, readings: [...base.readings, base.readings[0]!] }, [...envelopes, envelopes[0]!]],
    [
      "duplicate",
      { ...base, readings: [...base.readings, pair(flue(2, { ts: periodStart + 3 }), sig, null).stored] },
      [...envelopes, { reading: flue(2, { ts: periodStart + 3 }), sig: sig as Hex }],
    ],
    ["empty", { ...base, readings: [] }, []],
    ["period", { ...base, periodStart: periodEnd }, envelopes],
  ];
  for (const [check, input, envs] of cases) {
    rejects(input, check);
    assert.throws(() => buildBundle(reference(input, envs)), { code: "INVALID_BUNDLE" });
  }
});

test("assembleBundle refuses a key id with a lone surrogate, as encodeBundle does", () => {
  const input = withReading(1, { ...base.readings[1]!, keyId: "k\ud800" });
  assert.throws(() => assembleBundle(input), /surrogate/);
  const envs = envelopes.map((e, i) => (i === 1 ? { ...e, keyId: "k\ud800" } : e));
  assert.throws(() => encodeBundle(buildBundle(reference(input, envs))), /surrogate/);
});

/** JSON values with what canonical text must exclude: doubles, big numbers, lone surrogates, integer-like keys. */
const jsonArb = fc.letrec((tie) => {
  const str = fc.oneof(
    fc.string({ unit: "binary", maxLength: 6 }),
    fc.constantFrom("\ud800", "a\udfffb", "\\ud8", "0", "10"),
  );
  return {
    value: fc.oneof(
      { depthSize: "small" },
      fc.constant(null),
      fc.boolean(),
      fc.integer(),
      fc.maxSafeInteger(),
      fc.constantFrom(2 ** 53, -0, 1e21, 0.5),
      fc.double({ noNaN: true, noDefaultInfinity: true }),
      str,
      fc.array(tie("value"), { maxLength: 4 }),
      fc.dictionary(str, tie("value"), { maxKeys: 4 }),
    ),
  };
}).value;

/** `value` with every object's keys in sorted order (what canonical text lists). */
function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (typeof value !== "object" || value === null) return value;
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]),
  );
}

test("isCanonicalText accepts only text that canonicalJson writes for the value it parses to", () => {
  let accepted = 0;
  fc.assert(
    fc.property(jsonArb, (value) => {
      const sorted = sortKeys(value);
      for (const t of [JSON.stringify(value), JSON.stringify(sorted), JSON.stringify(sorted, null, 1)]) {
        const parsed: unknown = JSON.parse(t);
        if (isCanonicalText(t, parsed)) {
          assert.equal(canonicalJson(parsed), t);
          accepted++;
        }
      }
    }),
    { numRuns: 3000 },
  );
  assert.ok(accepted > 1000, `only ${accepted} texts accepted: the property says little`);
  // Lone surrogates (JSON.stringify writes them escaped; canonicalJson refuses them).
  for (const t of ['"\\ud800"', '{"a":"x\\udfff"}', '["\\udbff"]'])
    assert.equal(isCanonicalText(t, JSON.parse(t)), false);
  for (const p of pairs) assert.equal(isCanonicalText(p.stored.canonical, JSON.parse(p.stored.canonical)), true);
});
