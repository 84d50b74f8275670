import { p256 } from "@noble/curves/nist.js";
import { SdkError } from "../errors.ts";
import { bytesToHex, toBytes, type Hex } from "../hex.ts";
import { decodePkcs8, decodeSpki, encodePkcs8, encodeSpki, fromPem, toPem } from "./der.ts";
import { readingDigest } from "./digest.ts";
import type { Envelope, Reading } from "./schema.ts";

/** A P-256 device key pair: 32-byte secret, 65-byte uncompressed public key (04‖x‖y). */
export type DeviceKeyPair = { secretKey: Uint8Array; publicKey: Uint8Array };

/** Half the P-256 group order: signatures with s above it are rejected (low-s rule). */
export const P256_N = p256.Point.Fn.ORDER;
export const P256_HALF_N = P256_N >> 1n;

/** A fresh random P-256 key pair (CSPRNG of the platform). */
export function generateDeviceKey(): DeviceKeyPair {
  const { secretKey } = p256.keygen();
  return { secretKey, publicKey: p256.getPublicKey(secretKey, false) };
}

/** Uncompressed public key of a secret key. */
export function publicKeyOf(secretKey: Uint8Array | Hex): Uint8Array {
  return p256.getPublicKey(toBytes(secretKey, 32), false);
}

/**
 * Signs a 32-byte digest (the digest is the message hash: no further hashing).
 * Deterministic (RFC 6979), low-s. Returns 0x + 128 hex (r‖s).
 */
export function signDigest(digest: Uint8Array | Hex, secretKey: Uint8Array | Hex): Hex {
  const sig = p256.sign(toBytes(digest, 32), toBytes(secretKey, 32), { prehash: false, lowS: true, format: "compact" });
  return bytesToHex(sig);
}

/** True when `sig` (64-byte r‖s, low-s) is a valid signature of `digest` by `publicKey`. */
export function verifyDigest(
  digest: Uint8Array | string,
  sig: Uint8Array | string,
  publicKey: Uint8Array | string,
): boolean {
  let sigBytes: Uint8Array;
  let pk: Uint8Array;
  let msg: Uint8Array;
  try {
    sigBytes = toBytes(sig, 64);
    pk = toBytes(publicKey);
    msg = toBytes(digest, 32);
  } catch (error) {
    if (error instanceof SdkError) return false;
    throw error;
  }
  const s = BigInt(bytesToHex(sigBytes, 32, 32));
  if (s === 0n || s > P256_HALF_N) return false;
  try {
    return p256.verify(sigBytes, msg, pk, { prehash: false, lowS: true, format: "compact" });
  } catch (error) {
    // noble throws on a malformed point or an out-of-range scalar: for a verifier that is
    // an invalid signature (false), not a failure of the verifier.
    if (error instanceof Error) return false;
    throw error;
  }
}

/** Normalises a signature to low-s (s → n − s when s > n/2): for signers that do not (e.g. WebCrypto). */
export function normalizeLowS(sig: Uint8Array | string): Hex {
  const bytes = toBytes(sig, 64);
  const r = bytesToHex(bytes, 0, 32);
  const s = BigInt(bytesToHex(bytes, 32, 32));
  if (s <= P256_HALF_N) return bytesToHex(bytes);
  return `${r}${(P256_N - s).toString(16).padStart(64, "0")}` as Hex;
}

/** Signs a reading into an envelope `{ reading, sig, keyId? }`. */
export function signReading(reading: Reading, secretKey: Uint8Array | Hex, keyId?: string): Envelope {
  const sig = signDigest(readingDigest(reading), secretKey);
  return keyId === undefined ? { reading, sig } : { reading, sig, keyId };
}

/** True when the envelope's signature is valid for its reading under `publicKey`. */
export function verifyEnvelope(envelope: Envelope, publicKey: Uint8Array | string): boolean {
  return verifyDigest(readingDigest(envelope.reading), envelope.sig, publicKey);
}

/** `(bytes32 x, bytes32 y)` of a public key, as DeviceRegistry stores it. Accepts compressed keys too. */
export function publicKeyToXY(publicKey: Uint8Array | Hex): { x: Hex; y: Hex } {
  const point = p256.Point.fromBytes(toBytes(publicKey));
  const raw = point.toBytes(false);
  return { x: bytesToHex(raw, 1, 32), y: bytesToHex(raw, 33, 32) };
}

/** Uncompressed public key from `(x, y)`; throws `INVALID_KEY` when the point is not on P-256. */
export function publicKeyFromXY(x: Hex | Uint8Array, y: Hex | Uint8Array): Uint8Array {
  const raw = new Uint8Array(65);
  raw[0] = 4;
  raw.set(toBytes(x, 32), 1);
  raw.set(toBytes(y, 32), 33);
  try {
    p256.Point.fromBytes(raw).assertValidity();
  } catch (cause) {
    throw new SdkError("(x, y) is not a point on P-256.", { code: "INVALID_KEY", cause });
  }
  return raw;
}

/** PKCS#8 PEM of a secret key (readable by node:crypto `createPrivateKey`, OpenSSL). */
export function secretKeyToPem(secretKey: Uint8Array | Hex): string {
  const sk = toBytes(secretKey, 32);
  return toPem(encodePkcs8(sk, p256.getPublicKey(sk, false)), "PRIVATE KEY");
}

/** Secret key (32 bytes) from a PKCS#8 PEM of a P-256 key (node:crypto, OpenSSL, this sdk). */
export function secretKeyFromPem(pem: string): Uint8Array {
  const sk = decodePkcs8(fromPem(pem, "PRIVATE KEY"));
  if (!p256.utils.isValidSecretKey(sk))
    throw new SdkError("PEM holds an out-of-range P-256 secret.", { code: "INVALID_KEY" });
  return sk;
}

/** SPKI PEM of a public key. */
export function publicKeyToPem(publicKey: Uint8Array | Hex): string {
  const raw = p256.Point.fromBytes(toBytes(publicKey)).toBytes(false);
  return toPem(encodeSpki(raw), "PUBLIC KEY");
}

/** Uncompressed public key from an SPKI PEM. */
export function publicKeyFromPem(pem: string): Uint8Array {
  const bytes = decodeSpki(fromPem(pem, "PUBLIC KEY"));
  try {
    return p256.Point.fromBytes(bytes).toBytes(false);
  } catch (cause) {
    throw new SdkError("SPKI holds no valid P-256 point.", { code: "INVALID_KEY", cause });
  }
}
