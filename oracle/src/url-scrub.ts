/**
 * The configured URLs that may carry a secret, kept out of what the node says. An RPC provider's
 * URL often holds its API key in the path (`https://eth-mainnet.example/v2/<key>`), a pinning
 * service's or a broker's in the user info or the query, PostgreSQL's URL a password. The errors of
 * viem, kubo-rpc-client, fetch and pg quote the URL they called (viem drops only `user:pass`), and
 * what the node says reaches a batch's `error` (public on GET /v1/batches), API answers and logs.
 * The rule (`urlForMessages`, `urlScrubber`, `scrubUrls`) is the sdk's (sdk/src/urls.ts).
 */
import type { Config } from "./config/schema.ts";
import { scrubUrls, urlScrubber } from "../../sdk/src/urls.ts";

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

/**
 * The node's scrubber (`common.scrub`): each configured URL of `cfg` that may hold a secret
 * written as `urlForMessages` writes it, wherever a text quotes it, then any other URL in the text
 * too (an RPC provider's redirect, a URL quoted in a library's error): its user info, path, query
 * and fragment may hold a key as well. The configured URLs go first: they are replaced whole, even
 * one with a quote or a space in it, where the rule for any URL would stop and leave its tail.
 * What they are written as (`https://rpc.example/…`) the rule for any URL leaves as it is.
 */
export function nodeScrubber(cfg: Config): (text: string) => string {
  const configured = urlScrubber(configUrls(cfg));
  return (text) => scrubUrls(configured(text));
}

// the rule itself is the sdk's, shared with the web app's server side and the CLI
export { scrubUrls, urlForMessages, urlScrubber } from "../../sdk/src/urls.ts";
