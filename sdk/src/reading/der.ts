import { SdkError } from "../errors.ts";
import { bytesToHex, hexToBytes } from "../hex.ts";

/**
 * The few DER structures of P-256 keys (PKCS#8 private keys, SPKI public keys), by hand
 * so the sdk imports and exports keys in browsers too, byte-compatible with node:crypto
 * (`createPrivateKey(pem)`, `exportKey({ format: 'pem', type: 'pkcs8' })`).
 */

const OID_EC_PUBLIC_KEY = "2a8648ce3d0201"; // 1.2.840.10045.2.1
const OID_PRIME256V1 = "2a8648ce3d030107"; // 1.2.840.10045.3.1.7

type Tlv = { tag: number; start: number; body: Uint8Array; end: number };

function readTlv(der: Uint8Array, offset: number): Tlv {
  const tag = der[offset];
  let len = der[offset + 1];
  if (tag === undefined || len === undefined) throw invalid("truncated DER");
  let p = offset + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n < 1 || n > 2) throw invalid("unsupported DER length");
    len = 0;
    for (let i = 0; i < n; i++) len = (len << 8) | (der[p++] ?? 0);
  }
  if (p + len > der.length) throw invalid("truncated DER");
  return { tag, start: offset, body: der.subarray(p, p + len), end: p + len };
}

function children(body: Uint8Array): Tlv[] {
  const out: Tlv[] = [];
  let p = 0;
  while (p < body.length) {
    const t = readTlv(body, p);
    out.push(t);
    p = t.end;
  }
  return out;
}

function invalid(what: string): SdkError {
  return new SdkError(
    `Not a P-256 key in the expected DER form (${what}). Use a PKCS#8 (private) or SPKI (public) PEM of a P-256 key.`,
    {
      code: "INVALID_KEY",
    },
  );
}

function checkAlgorithm(alg: Tlv | undefined): void {
  if (!alg || alg.tag !== 0x30) throw invalid("missing AlgorithmIdentifier");
  const [oid, params] = children(alg.body);
  if (!oid || bytesToHex(oid.body).slice(2) !== OID_EC_PUBLIC_KEY) throw invalid("not an EC key");
  if (!params || bytesToHex(params.body).slice(2) !== OID_PRIME256V1) throw invalid("not the P-256 curve");
}

const ALG = `3013 0607${OID_EC_PUBLIC_KEY} 0608${OID_PRIME256V1}`.replaceAll(" ", "");

/** PKCS#8 DER of a P-256 private key (with its public key, as OpenSSL writes it). */
export function encodePkcs8(secretKey: Uint8Array, publicKey: Uint8Array): Uint8Array {
  if (secretKey.length !== 32 || publicKey.length !== 65) throw invalid("key sizes");
  const hex =
    "308187" +
    "020100" +
    ALG +
    "046d" +
    "306b" +
    "020101" +
    "0420" +
    bytesToHex(secretKey).slice(2) +
    "a144" +
    "034200" +
    bytesToHex(publicKey).slice(2);
  return hexToBytes(hex);
}

/** The 32-byte secret of a PKCS#8 DER P-256 private key. */
export function decodePkcs8(der: Uint8Array): Uint8Array {
  const outer = readTlv(der, 0);
  if (outer.tag !== 0x30) throw invalid("PKCS#8 is not a SEQUENCE");
  const [version, alg, octets] = children(outer.body);
  if (!version || version.tag !== 0x02) throw invalid("missing version");
  checkAlgorithm(alg);
  if (!octets || octets.tag !== 0x04) throw invalid("missing privateKey OCTET STRING");
  const ecPrivateKey = readTlv(octets.body, 0);
  const [ecVersion, secret] = children(ecPrivateKey.body);
  if (!ecVersion || ecVersion.tag !== 0x02 || !secret || secret.tag !== 0x04 || secret.body.length !== 32) {
    throw invalid("malformed ECPrivateKey");
  }
  return Uint8Array.from(secret.body);
}

/** SPKI DER of an uncompressed P-256 public key. */
export function encodeSpki(publicKey: Uint8Array): Uint8Array {
  if (publicKey.length !== 65 || publicKey[0] !== 4)
    throw invalid("public key must be 65 bytes, uncompressed (04‖x‖y)");
  return hexToBytes("3059" + ALG + "034200" + bytesToHex(publicKey).slice(2));
}

/** The public key bytes (uncompressed or compressed, as stored) of an SPKI DER P-256 key. */
export function decodeSpki(der: Uint8Array): Uint8Array {
  const outer = readTlv(der, 0);
  if (outer.tag !== 0x30) throw invalid("SPKI is not a SEQUENCE");
  const [alg, bits] = children(outer.body);
  checkAlgorithm(alg);
  if (!bits || bits.tag !== 0x03 || bits.body[0] !== 0) throw invalid("missing subjectPublicKey BIT STRING");
  return Uint8Array.from(bits.body.subarray(1));
}

function base64Encode(bytes: Uint8Array): string {
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin);
}

function base64Decode(text: string): Uint8Array {
  const bin = atob(text);
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

/** PEM armour of DER bytes. */
export function toPem(der: Uint8Array, label: "PRIVATE KEY" | "PUBLIC KEY"): string {
  const b64 = base64Encode(der);
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
}

/** DER bytes of the first PEM block with `label`. */
export function fromPem(pem: string, label: "PRIVATE KEY" | "PUBLIC KEY"): Uint8Array {
  const m = new RegExp(`-----BEGIN ${label}-----([A-Za-z0-9+/=\\s]+)-----END ${label}-----`).exec(pem);
  if (!m || m[1] === undefined) {
    throw new SdkError(`No "-----BEGIN ${label}-----" block found in the PEM text.`, { code: "INVALID_KEY" });
  }
  return base64Decode(m[1].replace(/\s+/g, ""));
}
