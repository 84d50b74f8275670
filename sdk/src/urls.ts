/**
 * How CarbonProof's servers and tools name a URL that may carry a secret. An RPC provider's URL
 * often holds its API key in the path (`https://eth-mainnet.example/v2/<key>`), a pinning service's
 * or a broker's in the user info or the query, PostgreSQL's URL a password. The errors of viem,
 * kubo-rpc-client, fetch and pg quote the URL they called (viem drops only `user:pass`), and those
 * errors reach logs, API answers and pages. The oracle node, the web app's server side and the CLI
 * all use this one rule: {@link urlForMessages} for a URL they name, {@link urlScrubber} for the URLs
 * they were given wherever a text quotes them, and {@link scrubUrls} for any other URL in a text.
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

/**
 * A URL in text: a scheme, `://`, then anything up to a space, a quote, `<`, `>` or a backtick (a
 * quote may be in a URL, but in text it more often closes a quotation around one).
 */
const URL_IN_TEXT = /[a-z][a-z0-9+.-]*:\/\/[^\s"'<>`]+/gi;
const WHOLE_URL_IN_TEXT = new RegExp(`^(?:${URL_IN_TEXT.source})$`, "i");

/**
 * How much of `found` (a URL found in text) is the URL: without the punctuation after it that ends
 * a sentence, and without a `)` or `]` it does not open (closing a bracket around it; an IPv6 host
 * keeps its own `]`).
 */
function urlLength(found: string): number {
  const count = (c: string, end: number) => found.slice(0, end).split(c).length - 1;
  let end = found.length;
  for (;;) {
    const c = found[end - 1]!;
    if (".,;:!?".includes(c)) end--;
    else if (c === ")" && count("(", end) < count(")", end)) end--;
    else if (c === "]" && count("[", end) < count("]", end)) end--;
    else return end;
  }
}

/** `found` (a URL found in text, maybe with punctuation after it) with the URL written as {@link scrubUrls} says. */
function writtenUrl(found: string): string {
  const end = urlLength(found);
  const url = found.slice(0, end);
  if (URL.canParse(url)) {
    const u = new URL(url);
    if (u.protocol === "file:" && !u.search && !u.hash) return found;
  }
  // a host may hold a quote or a backtick written %22, %27 or %60, which the URL class decodes:
  // written back encoded, so that the URL is found whole again
  const shown = urlForMessages(url, "an address").replace(/["'`]/g, (c) => `%${c.charCodeAt(0).toString(16)}`);
  return shown + found.slice(end);
}

/**
 * `text` with every URL in it written as {@link urlForMessages} writes one: scheme, host and port,
 * then `/…` for user info, a path, a query or a fragment, any of which may hold a key; a URL that
 * does not parse as `(an address, not a URL)`. For a text that may quote a URL nobody configured:
 * an RPC provider's redirect, a URL in a library's error, a peer's answer. A URL found in text
 * runs to the next space, quote, `<`, `>` or backtick; punctuation ending a sentence or closing a
 * bracket after it is kept, the URL written without it.
 *
 * Two limits. A URL with a space or a quote in it is cut there and its tail left: apply
 * {@link urlScrubber} with the URLs you know first, it replaces them whole. And a `file:` URL
 * without a query or fragment is left as it is: a file's path, no server's secret, and every frame
 * of an ES module's stack trace (which a logged error carries) is one.
 *
 * Applied to its own result it changes nothing: a URL whose written form would not be found and
 * written the same again (a host with a bracket in it, or ending in a comma) is written as one that
 * does not parse.
 */
export function scrubUrls(text: string): string {
  return text.replace(URL_IN_TEXT, (found) => {
    const written = writtenUrl(found);
    if (written === found || (WHOLE_URL_IN_TEXT.test(written) && writtenUrl(written) === written)) return written;
    return `(an address, not a URL)${found.slice(urlLength(found))}`;
  });
}
