/**
 * Where the browser gets evidence bundles: the configured IPFS gateway (trustless raw-block
 * request), else this site's `/bundles/<cid>`. Neither is trusted: the sdk hashes the bytes
 * and compares them with the CID on-chain.
 */
import { gatewaySource, type BundleSource } from "../../../../sdk/src/verify/sources.ts";
import type { RuntimeConfig } from "../config.ts";

export function appBundleSource(runtime: RuntimeConfig): BundleSource {
  if (runtime.ipfsGateway) return gatewaySource(runtime.ipfsGateway);
  return {
    describe: "this site's /bundles",
    byCid: true,
    // Its messages end up in the walk's FAIL line: they say that the bundle went unchecked (which
    // is no sign of tampering) and what to do, since the reader cannot tell that from a verdict.
    async get(cid: string) {
      const path = `/bundles/${encodeURIComponent(cid)}`;
      let res: Response;
      try {
        res = await fetch(path);
      } catch (cause) {
        throw new Error(
          `could not reach this site for ${path} (${cause instanceof Error ? cause.message : String(cause)}), so the bundle was not checked: check your connection, then try again`,
          { cause },
        );
      }
      if (!res.ok)
        throw new Error(
          `${path} answered ${res.status}${res.statusText ? ` ${res.statusText}` : ""}: this site could not serve the bundle, so it was not checked (no sign of tampering either way); try again in a while`,
        );
      return new Uint8Array(await res.arrayBuffer());
    },
  };
}
