import { test } from "node:test";
import assert from "node:assert/strict";
import { bundleCid } from "../../../sdk/src/bundle/bundle.ts";
import { bundleResponse } from "./bundleResponse.ts";

test("a bundle is served, cached as immutable, only when its bytes hash to its CID", async () => {
  const bytes = new TextEncoder().encode('{"format":"carbonproof.bundle/1"}');
  const cid = bundleCid(bytes);
  const served = bundleResponse(cid, bytes)!;
  assert.equal(served.headers.get("cache-control"), "public, max-age=31536000, immutable");
  assert.deepEqual(new Uint8Array(await served.arrayBuffer()), bytes);
  // a truncated copy under the same name: not served
  assert.equal(bundleResponse(cid, bytes.slice(0, -1)), null);
});
