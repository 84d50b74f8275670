import { bytesToHex, toBytes } from "../hex.ts";
import { P256_HALF_N, verifyDigest } from "../reading/sign.ts";

/**
 * One device signature to check: the reading's canonical bytes (`message`), their SHA-256
 * (`digest`), the envelope's `sig` (0x + 64-byte r‖s) and the device's uncompressed key.
 * Both are given so that a verifier that hashes itself (WebCrypto, OpenSSL) and one that
 * takes the digest (noble) check the same thing: ECDSA P-256 over SHA-256(canonical bytes).
 */
export type SignatureItem = { message: Uint8Array; digest: Uint8Array; sig: string; publicKey: Uint8Array };

/**
 * Checks many device signatures at once (docs/protocol.md: P-256, 64-byte r‖s, low-s only).
 * `verify` answers one boolean per item, in order; an unusable key or a malformed signature
 * is `false`, never a throw.
 */
export type SignatureBatchVerifier = {
  /** For link details: "@noble/curves", "WebCrypto". */
  readonly describe: string;
  verify(items: readonly SignatureItem[]): Promise<boolean[]>;
};

/** The reference verifier: @noble/curves, pure JavaScript, everywhere (a few hundred a second). */
export const nobleSignatureVerifier: SignatureBatchVerifier = {
  describe: "@noble/curves",
  async verify(items) {
    return items.map((i) => verifyDigest(i.digest, i.sig, i.publicKey));
  },
};

/** The `s` half of a 64-byte r‖s signature is at most n/2 and not 0 (the protocol's low-s rule). */
function lowS(sig: Uint8Array): boolean {
  const s = BigInt(bytesToHex(sig, 32, 32));
  return s !== 0n && s <= P256_HALF_N;
}

/**
 * ECDSA P-256 through WebCrypto (`crypto.subtle`): native code, off the main thread in
 * browsers, thousands a second. WebCrypto hashes the message itself with SHA-256, so it gets
 * the canonical bytes, and takes the IEEE P1363 r‖s encoding the protocol already uses.
 * WebCrypto accepts high-s signatures: the low-s rule is enforced here first. Each device key
 * is imported once; signatures are verified `chunk` at a time with `Promise.all` (no awaits
 * in series). Returns `undefined` when the platform has no WebCrypto (e.g. a page served
 * over plain http from a non-local host): use {@link nobleSignatureVerifier} then.
 */
export function webCryptoSignatureVerifier(
  subtle: SubtleCrypto | null | undefined = globalThis.crypto?.subtle,
  options: { chunk?: number } = {},
): SignatureBatchVerifier | undefined {
  if (!subtle) return undefined;
  const chunk = options.chunk ?? 1024;
  const keys = new Map<string, Promise<CryptoKey | null>>();
  const keyOf = (publicKey: Uint8Array): Promise<CryptoKey | null> => {
    const id = bytesToHex(publicKey);
    let key = keys.get(id);
    if (!key) {
      key = subtle
        .importKey("raw", publicKey as Uint8Array<ArrayBuffer>, { name: "ECDSA", namedCurve: "P-256" }, false, [
          "verify",
        ])
        .catch((error: unknown) => {
          // Not a point on P-256: every signature under it is invalid (false), not a crash.
          if (error instanceof Error || (typeof DOMException !== "undefined" && error instanceof DOMException))
            return null;
          throw error;
        });
      keys.set(id, key);
    }
    return key;
  };
  const one = async (item: SignatureItem): Promise<boolean> => {
    let sig: Uint8Array;
    try {
      sig = toBytes(item.sig, 64);
    } catch (error) {
      if (error instanceof Error) return false;
      throw error;
    }
    if (!lowS(sig)) return false;
    const key = await keyOf(item.publicKey);
    if (!key) return false;
    try {
      return await subtle.verify(
        { name: "ECDSA", hash: "SHA-256" },
        key,
        sig as Uint8Array<ArrayBuffer>,
        item.message as Uint8Array<ArrayBuffer>,
      );
    } catch (error) {
      if (error instanceof Error || (typeof DOMException !== "undefined" && error instanceof DOMException))
        return false;
      throw error;
    }
  };
  return {
    describe: "WebCrypto",
    async verify(items) {
      const out: boolean[] = [];
      for (let i = 0; i < items.length; i += chunk) {
        out.push(...(await Promise.all(items.slice(i, i + chunk).map(one))));
      }
      return out;
    },
  };
}

/** WebCrypto where the platform has it, else @noble/curves. */
export function defaultSignatureVerifier(): SignatureBatchVerifier {
  return webCryptoSignatureVerifier() ?? nobleSignatureVerifier;
}
