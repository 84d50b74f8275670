import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { bytesToHex } from "../hex.ts";
import { sha256 as sha256Noble } from "@noble/hashes/sha2.js";
import { sha256Bytes } from "./digest.ts";
import { nativeSha256 } from "./nodeHash.ts";

// FIPS 180-2 Appendix B.1 and B.2 known answers
test("sha256Bytes: FIPS 180-2 known answers", () => {
  const enc = new TextEncoder();
  assert.equal(
    bytesToHex(sha256Bytes(enc.encode("abc"))),
    "0xba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
  );
  assert.equal(
    bytesToHex(sha256Bytes(enc.encode("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"))),
    "0x248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
  );
  assert.equal(
    bytesToHex(sha256Bytes(new Uint8Array(0))),
    "0xe3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
  );
});

test("sha256Bytes (OpenSSL once nodeHash.ts is loaded) gives noble's bytes, as a plain Uint8Array", () => {
  assert.equal(sha256Bytes(new Uint8Array([1])).length, 32);
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), (b) => {
      const out = nativeSha256(b);
      assert.deepEqual([...sha256Bytes(b)], [...out]);
      assert.equal(Object.getPrototypeOf(out), Uint8Array.prototype);
      assert.deepEqual([...out], [...sha256Noble(b)]);
    }),
    { numRuns: 300 },
  );
});
