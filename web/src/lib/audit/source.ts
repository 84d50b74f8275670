/**
 * Where the browser gets evidence bundles: the configured IPFS gateway (trustless raw-block
 * request), else this site's `/bundles/<cid>`. Neither is trusted: the sdk hashes the bytes
 * and compares them with the CID on-chain.
 */
import { gatewaySource, type BundleSource } from "../../../../sdk/src/verify/sources.ts";
import type { RuntimeConfig } from "../config.ts";

/** How long this site's /bundles may take to serve a bundle, as the gateway source allows. */
export const BUNDLE_TIMEOUT_MS = 60_000;

/**
 * `opts` for tests: `fetch` (a base URL put before the path, outside a page) and `timeoutMs`.
 * A request that stalls ends at `timeoutMs` with an error, so that /verify, whose inputs wait for
 * the walk, is never held until the page is reloaded.
 */
export function appBundleSource(
  runtime: RuntimeConfig,
  opts: { fetch?: typeof fetch; timeoutMs?: number } = {},
): BundleSource {
  if (runtime.ipfsGateway) return gatewaySource(runtime.ipfsGateway);
  const get = opts.fetch ?? ((input: string, init?: RequestInit) => fetch(input, init));
  const timeoutMs = opts.timeoutMs ?? BUNDLE_TIMEOUT_MS;
  return {
    describe: "this site's /bundles",
    byCid: true,
    // Its messages end up in the walk's FAIL line: they say that the bundle went unchecked (which
    // is no sign of tampering) and what to do, since the reader cannot tell that from a verdict.
    async get(cid: string) {
      const path = `/bundles/${encodeURIComponent(cid)}`;
      const signal = AbortSignal.timeout(timeoutMs);
      const failed = (cause: unknown) =>
        new Error(
          signal.aborted
            ? `this site did not serve ${path} within ${Math.round(timeoutMs / 1000)} s, so the bundle was not checked: check your connection, then try again`
            : `could not reach this site for ${path} (${cause instanceof Error ? cause.message : String(cause)}), so the bundle was not checked: check your connection, then try again`,
          { cause },
        );
      let res: Response;
      try {
        res = await get(path, { signal });
      } catch (cause) {
        throw failed(cause);
      }
      if (!res.ok)
        throw new Error(
          `${path} answered ${res.status}${res.statusText ? ` ${res.statusText}` : ""}: this site could not serve the bundle, so it was not checked (no sign of tampering either way); try again in a while`,
        );
      try {
        // the body too: a server may send its headers and then stall
        return new Uint8Array(await res.arrayBuffer());
      } catch (cause) {
        throw failed(cause);
      }
    },
  };
}
