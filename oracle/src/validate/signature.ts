import { createPublicKey, verify, type KeyObject } from "node:crypto";
import { P256_HALF_N, bytesToHex, hexToBytes, publicKeyToPem, verifyDigest } from "../../../sdk/src/index.ts";

/**
 * P-256 signature check of a reading, on OpenSSL (node:crypto) for throughput: the sdk's
 * `verifyDigest` (noble, pure JS) verifies a few hundred signatures a second, OpenSSL ~9,000
 * per core. Same rule as the sdk (docs/protocol.md): ECDSA over SHA-256 of the canonical
 * bytes, 64-byte r‖s, low-s only. The test suite checks this against the sdk's `verifyDigest`
 * on valid, forged and high-s signatures. (Belongs in `@carbonproof/sdk/node`; move it there.)
 */
export class SignatureVerifier {
  readonly #keys = new Map<string, KeyObject>();

  #key(publicKey: Uint8Array): KeyObject {
    const id = bytesToHex(publicKey);
    let key = this.#keys.get(id);
    if (!key) {
      key = createPublicKey(publicKeyToPem(publicKey));
      if (this.#keys.size > 100_000) this.#keys.clear();
      this.#keys.set(id, key);
    }
    return key;
  }

  /** True when `sigHex` (0x + r‖s) signs `canonicalBytes` under `publicKey` with low-s. */
  verify(canonicalBytes: Uint8Array, sigHex: string, publicKey: Uint8Array): boolean {
    const sig = hexToBytes(sigHex, 64);
    const s = BigInt(bytesToHex(sig, 32, 32));
    if (s === 0n || s > P256_HALF_N) return false;
    try {
      return verify("sha256", canonicalBytes, { key: this.#key(publicKey), dsaEncoding: "ieee-p1363" }, sig);
    } catch (err) {
      // OpenSSL throws on a key it cannot use; for a verifier that is an invalid signature.
      if (err instanceof Error) return false;
      throw err;
    }
  }
}

/** The sdk's reference check, used by tests to hold the fast path to the same answers. */
export const referenceVerify = verifyDigest;
