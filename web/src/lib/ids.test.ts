import { test } from "node:test";
import assert from "node:assert/strict";
import { decodeCertificateId, decodeCreditId, parseUintId } from "./ids.ts";

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
