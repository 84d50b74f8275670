import { bundleCid } from "../../../sdk/src/bundle/bundle.ts";

/**
 * The response serving bundle `cid`'s bytes, cached for a year (`immutable`: a CID names its
 * bytes), or null when the bytes do not hash to `cid` (a truncated or edited local copy): such
 * bytes are not served, least of all with that header, which would keep them in browsers and
 * caches for a year after the copy is mended (review: every audit of the attestation then failed
 * at "bundle CID = on-chain CID" for those clients).
 */
export function bundleResponse(cid: string, bytes: Uint8Array): Response | null {
  if (bundleCid(bytes) !== cid) return null;
  return new Response(new Uint8Array(bytes), {
    headers: {
      "content-type": "application/json",
      "content-disposition": `inline; filename="${cid}.json"`,
      "cache-control": "public, max-age=31536000, immutable",
    },
  });
}
