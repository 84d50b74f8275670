import { test } from "node:test";
import assert from "node:assert/strict";
import { decodeCertificateId, decodeCreditId, parseProjectId, parseUintId } from "./ids.ts";

test("parses decimal ids from URLs and refuses anything else", () => {
  assert.equal(parseUintId("65538"), 65538n);
  assert.equal(parseUintId("0x10"), undefined);
  assert.equal(parseUintId("-1"), undefined);
  assert.equal(parseUintId("1".repeat(79)), undefined);
  assert.equal(parseUintId((1n << 256n).toString()), undefined);
});

test("decodes credit and certificate ids as the contracts build them", () => {
  const creditId = (3n << 16n) | 2026n;
  assert.deepEqual(decodeCreditId(creditId), { projectId: 3n, vintage: 2026 });
  assert.deepEqual(decodeCertificateId((creditId << 64n) | 2n), { creditId, retirement: 2n });
});

test("project ids from URLs: decimal uint40 from 1, anything else named", () => {
  assert.equal(parseProjectId("1"), 1);
  assert.equal(parseProjectId(String(2 ** 40 - 1)), 2 ** 40 - 1);
  assert.match(String(parseProjectId("0")), /^0 is not a project id: project ids run from 1/);
  assert.match(String(parseProjectId(String(2 ** 40))), /run from 1 to 2\^40 − 1/);
  for (const bad of ["", "0x1", "-1", "1.5", " 1", "1".repeat(14)])
    assert.match(String(parseProjectId(bad)), /is not a project id: project ids are decimal numbers/);
});
