import assert from "node:assert/strict";
import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  sign as nodeSign,
  verify as nodeVerify,
  webcrypto,
} from "node:crypto";
import { test } from "node:test";
import fc from "fast-check";
import { bytesToHex, hexToBytes } from "../hex.ts";
import { protocolExampleReading } from "../test/fixtures.ts";
import { canonicalBytes } from "./canonical.ts";
import { readingDigest } from "./digest.ts";
import {
  P256_HALF_N,
  P256_N,
  generateDeviceKey,
  normalizeLowS,
  publicKeyFromPem,
  publicKeyFromXY,
  publicKeyOf,
  publicKeyToPem,
  publicKeyToXY,
  secretKeyFromPem,
  secretKeyToPem,
  signDigest,
  signReading,
  verifyDigest,
  verifyEnvelope,
} from "./sign.ts";

function sOf(sig: string): bigint {
  return BigInt(`0x${sig.slice(66)}`);
}

test("signatures are 64-byte r‖s, low-s, deterministic, and verify", () => {
  const key = generateDeviceKey();
  const digest = readingDigest(protocolExampleReading);
  const sig = signDigest(digest, key.secretKey);
  assert.match(sig, /^0x[0-9a-f]{128}$/);
  assert.ok(sOf(sig) <= P256_HALF_N);
  assert.equal(signDigest(digest, key.secretKey), sig);
  assert.equal(verifyDigest(digest, sig, key.publicKey), true);
});

test("verify rejects the high-s twin of a valid signature", () => {
  const key = generateDeviceKey();
  const digest = readingDigest(protocolExampleReading);
  const sig = signDigest(digest, key.secretKey);
  const highS = `${sig.slice(0, 66)}${(P256_N - sOf(sig)).toString(16).padStart(64, "0")}`;
  assert.equal(verifyDigest(digest, highS, key.publicKey), false);
  assert.equal(normalizeLowS(highS), sig);
});

test("verify rejects a flipped bit in digest or signature and a wrong key", () => {
  const key = generateDeviceKey();
  const other = generateDeviceKey();
  const digest = readingDigest(protocolExampleReading);
  const sig = hexToBytes(signDigest(digest, key.secretKey));
  fc.assert(
    fc.property(fc.nat({ max: 255 }), fc.nat({ max: 7 }), (byte, bit) => {
      const d = Uint8Array.from(digest);
      d[byte % 32]! ^= 1 << bit;
      assert.equal(verifyDigest(d, sig, key.publicKey), false);
      const s = Uint8Array.from(sig);
      s[byte % 64]! ^= 1 << bit;
      assert.equal(verifyDigest(digest, s, key.publicKey), false);
    }),
    { numRuns: 50 },
  );
  assert.equal(verifyDigest(digest, sig, other.publicKey), false);
  assert.equal(verifyDigest(digest, "0x1234", key.publicKey), false);
});

test("node:crypto verifies sdk signatures and the sdk verifies node:crypto signatures (ieee-p1363)", () => {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const pem = privateKey.export({ format: "pem", type: "pkcs8" }).toString();
  const sk = secretKeyFromPem(pem);
  const pk = publicKeyFromPem(publicKey.export({ format: "pem", type: "spki" }).toString());
  assert.deepEqual(publicKeyOf(sk), pk);
  const bytes = canonicalBytes(protocolExampleReading);
  const digest = readingDigest(protocolExampleReading);

  const ours = hexToBytes(signDigest(digest, sk));
  assert.equal(nodeVerify("sha256", bytes, { key: publicKey, dsaEncoding: "ieee-p1363" }, ours), true);

  const theirs = nodeSign("sha256", bytes, { key: privateKey, dsaEncoding: "ieee-p1363" });
  // node:crypto does not force low-s: normalise, as the firmware must, then verify.
  assert.equal(verifyDigest(digest, normalizeLowS(theirs), pk), true);
});

test("PEM export is readable by node:crypto and round-trips", () => {
  const key = generateDeviceKey();
  const pem = secretKeyToPem(key.secretKey);
  const nodeKey = createPrivateKey(pem);
  assert.equal(nodeKey.asymmetricKeyType, "ec");
  assert.equal(nodeKey.export({ format: "pem", type: "pkcs8" }).toString(), pem);
  assert.deepEqual(secretKeyFromPem(pem), key.secretKey);
  const pubPem = publicKeyToPem(key.publicKey);
  assert.equal(createPublicKey(pubPem).export({ format: "pem", type: "spki" }).toString(), pubPem);
  assert.deepEqual(publicKeyFromPem(pubPem), key.publicKey);
});

test("PEM import rejects keys of another curve", () => {
  const { privateKey } = generateKeyPairSync("ec", { namedCurve: "secp256k1" });
  assert.throws(() => secretKeyFromPem(privateKey.export({ format: "pem", type: "pkcs8" }).toString()), {
    code: "INVALID_KEY",
  });
});

test("WebCrypto verifies sdk signatures", async () => {
  const key = generateDeviceKey();
  const { x, y } = publicKeyToXY(key.publicKey);
  const jwk = {
    kty: "EC",
    crv: "P-256",
    x: Buffer.from(hexToBytes(x)).toString("base64url"),
    y: Buffer.from(hexToBytes(y)).toString("base64url"),
  };
  const pub = await webcrypto.subtle.importKey("jwk", jwk, { name: "ECDSA", namedCurve: "P-256" }, false, ["verify"]);
  const bytes = canonicalBytes(protocolExampleReading);
  const sig = hexToBytes(signDigest(readingDigest(protocolExampleReading), key.secretKey));
  assert.equal(await webcrypto.subtle.verify({ name: "ECDSA", hash: "SHA-256" }, pub, sig, bytes), true);
});

test("public key (x, y) round-trips and rejects off-curve points", () => {
  const key = generateDeviceKey();
  const { x, y } = publicKeyToXY(key.publicKey);
  assert.deepEqual(publicKeyFromXY(x, y), key.publicKey);
  assert.throws(() => publicKeyFromXY(x, bytesToHex(new Uint8Array(32).fill(1))), { code: "INVALID_KEY" });
});

test("signReading makes an envelope that verifyEnvelope accepts and a changed reading fails", () => {
  const key = generateDeviceKey();
  const env = signReading(protocolExampleReading, key.secretKey, "k1");
  assert.equal(env.keyId, "k1");
  assert.equal(verifyEnvelope(env, key.publicKey), true);
  assert.equal(verifyEnvelope({ ...env, reading: { ...env.reading, seq: 43 } }, key.publicKey), false);
});
