/**
 * The configured URLs that may carry a secret, kept out of what the node says. An RPC provider's
 * URL often holds its API key in the path (`https://eth-mainnet.example/v2/<key>`), a pinning
 * service's or a broker's in the user info or the query, PostgreSQL's URL a password. The errors of
 * viem, kubo-rpc-client, fetch and pg quote the URL they called (viem drops only `user:pass`), and
 * what the node says reaches a batch's `error` (public on GET /v1/batches), API answers and logs.
 * The rule (`urlForMessages`, `urlScrubber`) is the sdk's (sdk/src/urls.ts).
 */
import type { Config } from "./config/schema.ts";

/** Every URL of `cfg` that names a remote part: chain.rpcUrl, ipfs.kuboUrl, mqtt.url, storage.url, the quorum's peers. */
export function configUrls(cfg: Config): string[] {
  return [
    cfg.chain.rpcUrl,
    cfg.ipfs.kuboUrl,
    cfg.mqtt.url,
    cfg.storage.url,
    ...cfg.quorum.peers.map((p) => p.url),
  ].filter((u): u is string => typeof u === "string" && u.length > 0);
}

// the rule itself is the sdk's, shared with the web app's server side and the CLI
export { urlForMessages, urlScrubber } from "../../sdk/src/urls.ts";
