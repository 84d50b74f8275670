import assert from "node:assert/strict";
import { test } from "node:test";
import { protocolExampleReading } from "../test/fixtures.ts";
import { parseEnvelope, parseReading } from "./parse.ts";

test("accepts the example reading of docs/protocol.md", () => {
  assert.deepEqual(parseReading(protocolExampleReading), protocolExampleReading);
});

function issuesOf(value: unknown): { path: string; message: string }[] {
  try {
    parseReading(value);
  } catch (error) {
    return (error as { details: { issues: { path: string; message: string }[] } }).details.issues;
  }
  assert.fail("expected parseReading to throw");
}

test("rejects a float measurement and names the field", () => {
  const issues = issuesOf({ ...protocolExampleReading, m: { ...protocolExampleReading.m, co2Ppm: 41000.5 } });
  assert.deepEqual(
    issues.map((i) => i.path),
    ["m.co2Ppm"],
  );
  assert.match(issues[0]!.message, /integer/);
});

test("rejects unsafe integers, negative values and unknown keys", () => {
  assert.ok(issuesOf({ ...protocolExampleReading, seq: 2 ** 53 }).some((i) => i.path === "seq"));
  assert.ok(issuesOf({ ...protocolExampleReading, seq: -1 }).some((i) => i.path === "seq"));
  assert.ok(issuesOf({ ...protocolExampleReading, extra: 1 }).length > 0);
  assert.ok(issuesOf({ ...protocolExampleReading, m: { ...protocolExampleReading.m, note: "x" } }).length > 0);
});

test("flue gas: tempCentiC may be negative but not at or below absolute zero", () => {
  const r = (t: number) => ({ ...protocolExampleReading, m: { ...protocolExampleReading.m, tempCentiC: t } });
  assert.equal(parseReading(r(-500)).kind, "flue-gas");
  assert.ok(issuesOf(r(-27315)).some((i) => i.path === "m.tempCentiC"));
});

test("intervalS must be at least 1; v must be 1; kind must be known", () => {
  assert.ok(issuesOf({ ...protocolExampleReading, intervalS: 0 }).some((i) => i.path === "intervalS"));
  assert.ok(issuesOf({ ...protocolExampleReading, v: 2 }).some((i) => i.path === "v"));
  assert.ok(issuesOf({ ...protocolExampleReading, kind: "steam" }).some((i) => i.path === "kind"));
});

test("fuel readings carry exactly one of massGrams, volumeMl, energyKj", () => {
  const base = { v: 1, deviceId: "boiler-1", facilityId: "f1", seq: 0, ts: 1, intervalS: 60, kind: "fuel" };
  assert.equal(parseReading({ ...base, m: { fuel: "diesel", volumeMl: 1000 } }).kind, "fuel");
  assert.ok(issuesOf({ ...base, m: { fuel: "diesel", volumeMl: 1000, massGrams: 5 } }).length > 0);
  assert.ok(issuesOf({ ...base, m: { fuel: "diesel" } }).length > 0);
});

test("electricity and manual readings", () => {
  const base = { v: 1, deviceId: "meter-1", facilityId: "f1", seq: 3, ts: 1, intervalS: 900 };
  assert.equal(
    parseReading({ ...base, kind: "electricity", m: { energyWh: 1200, renewableWh: 300 } }).kind,
    "electricity",
  );
  const evidenceSha256 = "ab".repeat(32);
  assert.equal(
    parseReading({ ...base, kind: "manual", m: { fuel: "firewood", massGrams: 5, evidenceSha256 } }).kind,
    "manual",
  );
  assert.equal(parseReading({ ...base, kind: "manual", m: { energyWh: 5, evidenceSha256 } }).kind, "manual");
  assert.ok(issuesOf({ ...base, kind: "manual", m: { energyWh: 5 } }).length > 0);
  assert.ok(issuesOf({ ...base, kind: "manual", m: { energyWh: 5, evidenceSha256: "AB".repeat(32) } }).length > 0);
});

test("envelope: sig is 0x + 128 hex", () => {
  const sig = `0x${"11".repeat(64)}`;
  assert.equal(parseEnvelope({ reading: protocolExampleReading, sig }).sig, sig);
  assert.throws(() => parseEnvelope({ reading: protocolExampleReading, sig: "0x1234" }), { code: "INVALID_READING" });
});
