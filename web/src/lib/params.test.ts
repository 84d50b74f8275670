import { test } from "node:test";
import assert from "node:assert/strict";
import { decodeParam } from "./params.ts";

test("decodes percent-encoding, and keeps a segment that is not valid percent-encoding as it came", () => {
  assert.equal(decodeParam("ktda-kangaita"), "ktda-kangaita");
  assert.equal(decodeParam("kangaita%2Fchimney%20%C3%A9"), "kangaita/chimney é");
  assert.equal(decodeParam("%E0%A4%A"), "%E0%A4%A");
  assert.equal(decodeParam("100%"), "100%");
});
