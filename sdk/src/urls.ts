/**
 * How CarbonProof's servers and tools name a URL that may carry a secret. An RPC provider's URL
 * often holds its API key in the path (`https://eth-mainnet.example/v2/<key>`), a pinning service's
 * or a broker's in the user info or the query, PostgreSQL's URL a password. The errors of viem,
 * kubo-rpc-client, fetch and pg quote the URL they called (viem drops only `user:pass`), and those
 * errors reach logs, API answers and pages. The oracle node, the web app's server side and the CLI
 * all use this one rule.
 */

/** Whether `url` has more than a scheme, host and port: user info, a path other than `/`, a query or a fragment. */
function hasMore(u: URL): boolean {
  return Boolean(u.username || u.password || (u.pathname !== "/" && u.pathname !== "") || u.search || u.hash);
}

/**
 * `url` as every message, answer and log of the node names it: scheme, host and port, then `/…`
 * when it had more (user info, a path other than `/`, a query or a fragment, any of which may hold a
 * key or a password); `(<setting>, not a URL)` for a value that is not a URL, never echoed since it
 * may be a secret pasted in the wrong place. The one rule for chain.rpcUrl, ipfs.kuboUrl, mqtt.url,
 * storage.url and the quorum's peers.
 */
export function urlForMessages(url: string, setting: string): string {
  if (!URL.canParse(url)) return `(${setting}, not a URL)`;
  const u = new URL(url);
  return `${u.protocol}//${u.host}${hasMore(u) ? "/…" : ""}`;
}

/**
 * A function that writes each of `urls` in a text as {@link urlForMessages} does: as configured,
 * as the URL class writes it (what fetch and viem quote), without its user info (what viem
 * quotes), each with and without a trailing `/`. URLs with nothing to hide are left as they are.
 */
export function urlScrubber(urls: Iterable<string | undefined>): (text: string) => string {
  const pairs: [string, string][] = [];
  for (const url of urls) {
    if (!url) continue;
    if (!URL.canParse(url) || !hasMore(new URL(url))) continue; // nothing to hide
    const shown = urlForMessages(url, "");
    const u = new URL(url);
    const variants = new Set([url, u.href]);
    u.username = "";
    u.password = "";
    variants.add(u.href);
    for (const v of [...variants]) variants.add(v.endsWith("/") ? v.slice(0, -1) : `${v}/`);
    // the bare origin is no secret (a URL whose only secret was its user info)
    const origin = `${u.protocol}//${u.host}`;
    for (const v of variants) if (v !== origin && v !== `${origin}/`) pairs.push([v, shown]);
  }
  // longest first: a URL is replaced whole, never a prefix of it leaving its secret behind
  pairs.sort((a, b) => b[0].length - a[0].length);
  if (!pairs.length) return (text) => text;
  return (text) => {
    for (const [from, to] of pairs) if (text.includes(from)) text = text.split(from).join(to);
    return text;
  };
}
