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
 * What ends a URL in text: a space, an ASCII quote, `<`, `>` or a backtick (a quote may be in a
 * URL, but in text it more often closes a quotation around one). Nothing else does: a character
 * that ends a URL in text ends what is hidden of it too, and the typographic and CJK punctuation
 * a text may put after a URL may also be in one (`https://h/a（b）/<key>`, a fullwidth colon typed
 * for a port's, `https://user:p‘w@h/`, and in a host the URL class reads an ideographic full stop
 * as `.`): so it is trimmed from the URL's end instead (`SENTENCE_ENDS`).
 */
const URL_STOPS = "\\s\"'<>`";

/**
 * A URL in text: a scheme, `://`, then anything up to one of `URL_STOPS`. The scheme starts at the
 * first letter of its run of scheme characters (`1https://` is found from `https`, `id_https://`
 * from `https`, as `_` is none), a position the lookbehind tests by reading back only over the
 * digits, `+`, `.` and `-` before it, and only where the lookahead has seen a letter: so the time
 * taken grows with the text's length, not with its square (a long run of letters or hex digits
 * with no `://` after it is read once, not again from each of its positions).
 */
const URL_IN_TEXT = new RegExp(`(?=[a-z])(?<![a-z][0-9+.-]*)[a-z][a-z0-9+.-]*:\\/\\/[^${URL_STOPS}]+`, "gi");
const WHOLE_URL_IN_TEXT = new RegExp(`^(?:${URL_IN_TEXT.source})$`, "i");

/**
 * What ends a sentence, or closes a quotation or a bracket, after a URL in text: written after the
 * URL, not in it. `.,;:!?`, and the typographic and CJK punctuation that quotes, brackets or divides
 * text (‘’ “” «» 「」 （） 、 ， 。 ： ！ and their kind), none of which the URL class writes raw in a
 * URL (it percent-encodes them in a path and punycodes them in a host).
 */
const SENTENCE_ENDS = new RegExp(
  "[.,;:!?\u00ab\u00bb\u2018-\u201f\u2039\u203a\u3001-\u3003\u3008-\u3011\u3014-\u301f" +
    "\uff01\uff02\uff07-\uff09\uff0c\uff0e\uff1a-\uff1c\uff1e\uff1f\uff3b\uff3d\uff5b\uff5d\uff5f-\uff64]",
);

/**
 * How much of `found` (a URL found in text) is the URL: without the punctuation after it that ends
 * a sentence, and without a `)` or `]` it does not open (closing a bracket around it; an IPv6 host
 * keeps its own `]`). The brackets are counted once, then as the end moves back over them.
 */
function urlLength(found: string): number {
  // how many more `)` than `(`, and `]` than `[`, found[0, end) holds
  let parens = 0;
  let squares = 0;
  for (const c of found) {
    if (c === ")") parens++;
    else if (c === "(") parens--;
    else if (c === "]") squares++;
    else if (c === "[") squares--;
  }
  let end = found.length;
  for (;;) {
    const c = found[end - 1]!;
    if (SENTENCE_ENDS.test(c)) end--;
    else if (c === ")" && parens > 0) {
      end--;
      parens--;
    } else if (c === "]" && squares > 0) {
      end--;
      squares--;
    } else return end;
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
 * runs to the next space, quote, `<`, `>` or backtick. Punctuation ending a sentence or closing a
 * quotation or a bracket after it, ASCII, typographic or CJK (`.`, `)`, ’, ”, », 」, ）, 。, ：), is
 * kept, the URL written without it; a word glued after such punctuation is read as part of the URL,
 * and hidden with it (`https://h/<key>。next` is written `https://h/…`): punctuation in a URL, which
 * may be followed by its key, is never taken for its end. The time it takes grows with the text's
 * length, whatever the text.
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
  return text.replace(URL_IN_TEXT, (found: string) => {
    const written = writtenUrl(found);
    if (written === found || (WHOLE_URL_IN_TEXT.test(written) && writtenUrl(written) === written)) return written;
    return `(an address, not a URL)${found.slice(urlLength(found))}`;
  });
}
