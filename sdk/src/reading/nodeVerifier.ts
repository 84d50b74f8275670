import { createPublicKey, verify, type KeyObject } from "node:crypto";
import { bytesToHex, hexToBytes } from "../hex.ts";
import "./nodeHash.ts";
import { P256_HALF_N, publicKeyToPem, verifyDigest } from "./sign.ts";

/**
 * P-256 signature check of a reading on OpenSSL (node:crypto), for throughput (Node only,
 * exported from `sdk/src/node.ts`): `verifyDigest` (noble, pure JS, browser-safe) verifies a
 * few hundred signatures a second, OpenSSL ~9,000 per core. The same rule (docs/protocol.md):
 * ECDSA over SHA-256 of the canonical bytes, 64-byte r‖s, low-s only. The oracle's tests hold
 * it to `verifyDigest` on valid, forged and high-s signatures.
 */
export class SignatureVerifier {
  readonly #keys = new Map<string, KeyObject>();

  #key(publicKeyHex: string): KeyObject {
    let key = this.#keys.get(publicKeyHex);
    if (!key) {
      key = createPublicKey(publicKeyToPem(hexToBytes(publicKeyHex)));
      if (this.#keys.size > 100_000) this.#keys.clear();
      this.#keys.set(publicKeyHex, key);
    }
    return key;
  }

  /** True when `sigHex` (0x + r‖s) signs `canonicalBytes` under `publicKey` with low-s. */
  verify(canonicalBytes: Uint8Array, sigHex: string, publicKey: Uint8Array): boolean {
    return this.verifyHexKey(canonicalBytes, sigHex, bytesToHex(publicKey));
  }

  /**
   * `verify` with the public key as lowercase 0x-hex (`bytesToHex`), the form in which the
   * oracle posts keys to its verification threads (a string costs less to post than bytes).
   */
  verifyHexKey(canonicalBytes: Uint8Array, sigHex: string, publicKeyHex: string): boolean {
    const sig = hexToBytes(sigHex, 64);
    const s = BigInt(bytesToHex(sig, 32, 32));
    if (s === 0n || s > P256_HALF_N) return false;
    try {
      return verify("sha256", canonicalBytes, { key: this.#key(publicKeyHex), dsaEncoding: "ieee-p1363" }, sig);
    } catch (err) {
      // OpenSSL throws on a key it cannot use; for a verifier that is an invalid signature.
      if (err instanceof Error) return false;
      throw err;
    }
  }
}

/** The browser-safe reference check, for tests that hold the fast path to the same answers. */
export const referenceVerify = verifyDigest;
