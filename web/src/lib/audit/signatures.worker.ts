/**
 * A Web Worker that checks device signatures with the sdk's WebCrypto verifier (the same rule:
 * P-256, r‖s, low-s), so the page's main thread keeps decoding and recomputing bundles while
 * signatures are checked on another core. Messages: `{ id, items }` in, `{ id, valid }` out.
 */
import {
  nobleSignatureVerifier,
  webCryptoSignatureVerifier,
  type SignatureItem,
} from "../../../../sdk/src/verify/signatures.ts";

const verifier = webCryptoSignatureVerifier() ?? nobleSignatureVerifier;

self.onmessage = async (event: MessageEvent<{ id: number; items: SignatureItem[] }>) => {
  const { id, items } = event.data;
  try {
    const valid = await verifier.verify(items);
    self.postMessage({ id, valid });
  } catch (error) {
    self.postMessage({ id, error: error instanceof Error ? error.message : String(error) });
  }
};
