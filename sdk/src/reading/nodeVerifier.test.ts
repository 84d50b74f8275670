import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { bytesToHex, hexToBytes } from "../hex.ts";
import { sha256Bytes } from "./digest.ts";
import { SignatureVerifier } from "./nodeVerifier.ts";
import { P256_N, generateDeviceKey, signDigest, verifyDigest } from "./sign.ts";

// The OpenSSL fast path (the oracle's) must give the same verdicts as the noble reference.
test("SignatureVerifier agrees with verifyDigest on valid, forged, high-s and wrong-key signatures", () => {
  const verifier = new SignatureVerifier();
  const key = generateDeviceKey();
  const other = generateDeviceKey();
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 1, maxLength: 200 }),
      fc.uint8Array({ minLength: 1, maxLength: 200 }),
      (message, forged) => {
        const digest = sha256Bytes(message);
        const sig = signDigest(digest, key.secretKey);
        const s = BigInt(bytesToHex(hexToBytes(sig, 64), 32, 32));
        const highS = `${sig.slice(0, 66)}${(P256_N - s).toString(16).padStart(64, "0")}`;
        const cases: [Uint8Array, string, Uint8Array][] = [
          [message, sig, key.publicKey],
          [forged, sig, key.publicKey],
          [message, highS, key.publicKey],
          [message, sig, other.publicKey],
        ];
        for (const [m, sg, pk] of cases) {
          assert.equal(
            verifier.verify(m, sg, pk),
            verifyDigest(sha256Bytes(m), sg, pk),
            `message ${bytesToHex(m)} sig ${sg}`,
          );
          assert.equal(verifier.verifyHexKey(m, sg, bytesToHex(pk)), verifier.verify(m, sg, pk));
        }
        assert.equal(verifier.verify(message, sig, key.publicKey), true);
        assert.equal(verifier.verify(message, highS, key.publicKey), false);
      },
    ),
    { numRuns: 50 },
  );
});
