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
    async get(cid: string) {
      const res = await fetch(`/bundles/${encodeURIComponent(cid)}`);
      if (!res.ok) throw new Error(`/bundles/${cid} answered ${res.status} ${res.statusText}`);
      return new Uint8Array(await res.arrayBuffer());
    },
  };
}
