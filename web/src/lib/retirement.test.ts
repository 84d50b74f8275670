import { test } from "node:test";
import assert from "node:assert/strict";
import { retirementDetails, type RetirementForm } from "./retirement.ts";

const base: RetirementForm = {
  beneficiary: "0x70997970c51812dc3a010c7d01b50e0d17dc79c8",
  beneficiaryName: "Acme Tea Ltd",
  reason: "FY2026 scope 1 offset",
  country: "",
  periodStart: "",
  periodEnd: "",
};

test("a complete form becomes the contract's RetirementDetails, address checksummed", () => {
  const r = retirementDetails({ ...base, country: "gbr", periodStart: "2026-01-01", periodEnd: "2026-12-31" });
  assert.ok(r.ok);
  assert.equal(r.value.beneficiary, "0x70997970C51812dc3A010C7d01b50e0d17dc79C8");
  assert.equal(r.value.consumptionCountry, "0x474252");
  assert.equal(r.value.consumptionStart, 1767225600n);
  assert.equal(r.value.consumptionEnd, 1798761600n, "the last day is included: end is the next midnight");
});

test("no country and no period encode as zeros", () => {
  const r = retirementDetails(base);
  assert.ok(r.ok);
  assert.equal(r.value.consumptionCountry, "0x000000");
  assert.equal(r.value.consumptionStart, 0n);
  assert.equal(r.value.consumptionEnd, 0n);
});

test("every field's problem is reported in words, at once", () => {
  const r = retirementDetails({
    beneficiary: "0x1234",
    beneficiaryName: "é".repeat(33),
    reason: "",
    country: "KE",
    periodStart: "2026-02-01",
    periodEnd: "2026-01-01",
  });
  assert.ok(!r.ok);
  assert.deepEqual(Object.keys(r.errors).sort(), ["beneficiary", "beneficiaryName", "country", "periodEnd", "reason"]);
  assert.match(r.errors.beneficiaryName!, /64 bytes \(66 now\)/);
});

test("half a period is refused", () => {
  const r = retirementDetails({ ...base, periodStart: "2026-01-01" });
  assert.ok(!r.ok && r.errors.periodEnd);
});

test("a consumption period before 1970 is refused in words (the contract stores uint64 seconds)", () => {
  const r = retirementDetails({ ...base, periodStart: "1969-12-31", periodEnd: "1969-12-31" });
  assert.equal(r.ok, false);
  if (!r.ok) {
    assert.match(r.errors.periodStart ?? "", /before 1970-01-01/);
    assert.match(r.errors.periodEnd ?? "", /before 1970-01-01/);
  }
  const first = retirementDetails({ ...base, periodStart: "1970-01-01", periodEnd: "1970-01-01" });
  assert.ok(first.ok && first.value.consumptionStart === 0n && first.value.consumptionEnd === 86_400n);
});
