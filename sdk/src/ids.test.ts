import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { stringToHex } from "viem";
import { bytes32ToId, idToBytes32, isValidId } from "./ids.ts";

const idArb = fc.stringMatching(/^[a-z0-9][a-z0-9._-]{0,31}$/);

test("idToBytes32 equals viem stringToHex(id, { size: 32 })", () => {
  assert.equal(idToBytes32("ktda-kangaita"), stringToHex("ktda-kangaita", { size: 32 }));
  fc.assert(fc.property(idArb, (id) => idToBytes32(id) === stringToHex(id, { size: 32 })));
});

test("bytes32ToId round-trips every valid id", () => {
  fc.assert(fc.property(idArb, (id) => bytes32ToId(idToBytes32(id)) === id));
});

test("rejects ids outside the pattern", () => {
  for (const bad of ["", "A", "-x", "a b", "x".repeat(33), "é", "a/b"]) {
    assert.equal(isValidId(bad), false, bad);
    assert.throws(() => idToBytes32(bad), { code: "INVALID_ID" });
  }
});

test("bytes32ToId rejects a non-zero byte after the padding and an all-zero word", () => {
  assert.throws(() => bytes32ToId(`0x61${"00".repeat(30)}62`), { code: "INVALID_ID" });
  assert.throws(() => bytes32ToId(`0x${"00".repeat(32)}`), { code: "INVALID_ID" });
});
