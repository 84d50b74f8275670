import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { canonicalBytes } from "../reading/canonical.ts";
import { readingDigest } from "../reading/digest.ts";
import type { Reading } from "../reading/schema.ts";
import { P256_N, generateDeviceKey, signReading } from "../reading/sign.ts";
import { nobleSignatureVerifier, webCryptoSignatureVerifier, type SignatureItem } from "./signatures.ts";

const key = generateDeviceKey();
const other = generateDeviceKey();
const webCrypto = webCryptoSignatureVerifier(globalThis.crypto.subtle, { chunk: 7 })!;

function reading(seq: number, co2Ppm: number): Reading {
  return {
    v: 1,
    deviceId: "kangaita-chimney-1",
    facilityId: "ktda-kangaita",
    seq,
    ts: 1763900000 + 5 * seq,
    intervalS: 5,
    kind: "flue-gas",
    m: { co2Ppm, tempCentiC: 18550, velocityMmS: 6200, pressurePa: 101325, ductDiameterMm: 600 },
  };
}

function item(r: Reading, sig: string, publicKey = key.publicKey): SignatureItem {
  return { message: canonicalBytes(r), digest: readingDigest(r), sig, publicKey };
}

function highS(sig: string): string {
  const s = BigInt(`0x${sig.slice(66)}`);
  return `${sig.slice(0, 66)}${(P256_N - s).toString(16).padStart(64, "0")}`;
}

test("WebCrypto and noble verifiers agree on valid, forged, high-s, wrong-key and malformed signatures", async () => {
  await fc.assert(
    fc.asyncProperty(fc.nat(1_000_000), fc.nat(100_000), async (seq, co2Ppm) => {
      const r = reading(seq, co2Ppm);
      const sig = signReading(r, key.secretKey).sig;
      const items = [
        item(r, sig),
        item(reading(seq + 1, co2Ppm), sig),
        item(r, highS(sig)),
        item(r, sig, other.publicKey),
        item(r, "0x1234"),
        item(r, `0x${"00".repeat(64)}`),
        item(r, sig, new Uint8Array(65).fill(4)),
      ];
      const expected = [true, false, false, false, false, false, false];
      assert.deepEqual(await nobleSignatureVerifier.verify(items), expected);
      assert.deepEqual(await webCrypto.verify(items), expected);
    }),
    { numRuns: 25 },
  );
});

test("WebCrypto verifier: many signatures in chunks keep their order", async () => {
  const items = Array.from({ length: 40 }, (_, i) => {
    const r = reading(i, 41000 + i);
    const sig = signReading(r, key.secretKey).sig;
    return item(r, i % 3 === 0 ? highS(sig) : sig);
  });
  const got = await webCrypto.verify(items);
  assert.deepEqual(
    got,
    items.map((_, i) => i % 3 !== 0),
  );
});

test("no WebCrypto: the factory says so (callers fall back to noble)", () => {
  assert.equal(webCryptoSignatureVerifier(null), undefined);
});
