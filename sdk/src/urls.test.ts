import { test } from "node:test";
import assert from "node:assert/strict";
import { Worker } from "node:worker_threads";
import fc from "fast-check";
import { scrubUrls, urlForMessages, urlScrubber } from "./urls.ts";

test("a configured URL holding a secret is written as its scheme, host and port, however an error quotes it", () => {
  const rpc = "https://eth-mainnet.example.org/v2/SECRET-KEY-1";
  const scrub = urlScrubber([
    rpc,
    "https://pin:SECRET-PW-2@kubo.example.net:5001",
    "postgres://oracle:SECRET-PW-3@db.internal:5432/carbonproof",
    "mqtts://broker.example:8883/?token=SECRET-TOKEN-4",
    "http://127.0.0.1:8545", // nothing to hide: left as it is
    undefined,
  ]);
  // as viem quotes it (the URL as given), fetch (the URL class's form), and without user info
  const text = [
    `HTTP request failed.\n\nStatus: 401\nURL: ${rpc}\nRequest body: {"method":"eth_call"}`,
    `fetch failed for ${rpc}/ and https://kubo.example.net:5001/ at https://pin:SECRET-PW-2@kubo.example.net:5001/`,
    `connect ECONNREFUSED postgres://oracle:SECRET-PW-3@db.internal:5432/carbonproof`,
    `mqtts://broker.example:8883/?token=SECRET-TOKEN-4 closed`,
    `chain http://127.0.0.1:8545 down`,
  ].join("\n");
  const out = scrub(text);
  assert.doesNotMatch(out, /SECRET/);
  assert.match(out, /URL: https:\/\/eth-mainnet\.example\.org\/…\n/);
  assert.match(out, /at https:\/\/kubo\.example\.net:5001\/…$/m);
  assert.match(out, /ECONNREFUSED postgres:\/\/db\.internal:5432\/…$/m);
  assert.match(out, /chain http:\/\/127\.0\.0\.1:8545 down/);
  // a bare origin is never replaced: only the whole URL is
  assert.match(out, /and https:\/\/kubo\.example\.net:5001\/ at/);
});

test("urlForMessages: one rule for every configured URL, whatever part it names", () => {
  const cases: [string, string, string][] = [
    ["chain.rpcUrl", "https://rpc.example/v2/k", "https://rpc.example/…"],
    ["chain.rpcUrl", "http://127.0.0.1:8545/", "http://127.0.0.1:8545"],
    ["ipfs.kuboUrl", "https://user:s3cret@pin.example:8443/k3y-in-path/api/v0", "https://pin.example:8443/…"],
    ["ipfs.kuboUrl", "http://127.0.0.1:5001", "http://127.0.0.1:5001"],
    ["mqtt.url", "mqtts://oracle:s%40cret@broker.example:8883", "mqtts://broker.example:8883/…"],
    ["mqtt.url", "mqtt://127.0.0.1:1883", "mqtt://127.0.0.1:1883"],
    ["mqtt.url", "mqtt://broker.example:1883/?token=t0k", "mqtt://broker.example:1883/…"],
    ["storage.url", "postgres://oracle:s3cret@db.example:5432/cp", "postgres://db.example:5432/…"],
    ["storage.url", "postgres://127.0.0.1:5432", "postgres://127.0.0.1:5432"],
  ];
  for (const [setting, url, shown] of cases) assert.equal(urlForMessages(url, setting), shown, url);
  // a value that is not a URL is never echoed: it may be a secret pasted into the wrong setting
  assert.equal(urlForMessages("not a url s3cret", "storage.url"), "(storage.url, not a URL)");
  assert.equal(urlForMessages("pin.example token", "ipfs.kuboUrl"), "(ipfs.kuboUrl, not a URL)");
});

test("scrubUrls: any URL in a text is written as urlForMessages writes it, whatever part holds the secret", () => {
  const cases: [string, string][] = [
    // user info
    [
      "connect ECONNREFUSED postgres://oracle:SECRET-PW@db.internal:5432/cp failed",
      "connect ECONNREFUSED postgres://db.internal:5432/… failed",
    ],
    ["redirected to https://user:SECRET-PW@pin.example", "redirected to https://pin.example/…"],
    // a key in the query, or in the path (an RPC provider's)
    ["GET https://api.example.com/v1/prices?apikey=SECRET-KEY&x=1 429", "GET https://api.example.com/… 429"],
    [
      "HTTP request failed.\nURL: https://eth.example/v2/SECRET-KEY\nbody",
      "HTTP request failed.\nURL: https://eth.example/…\nbody",
    ],
    // a websocket provider
    [
      "socket closed: wss://eth-mainnet.example/ws/v3/SECRET-KEY (1006)",
      "socket closed: wss://eth-mainnet.example/… (1006)",
    ],
    // punctuation ending a sentence or closing a bracket is kept, after the URL
    ["(see https://rpc.example/v2/SECRET-KEY).", "(see https://rpc.example/…)."],
    [
      "at https://rpc.example/v2/SECRET-KEY, then https://b.example/k?t=SECRET!",
      "at https://rpc.example/…, then https://b.example/…!",
    ],
    ["[https://rpc.example/SECRET-KEY]: down", "[https://rpc.example/…]: down"],
    // the URL ends at a quote or a backtick: what a quotation closes is not the URL
    [`fetch("https://rpc.example/SECRET-KEY") failed`, `fetch("https://rpc.example/…") failed`],
    ["`wss://a.example/SECRET-KEY`", "`wss://a.example/…`"],
    // glued to the word before it: the scheme starts at the first letter of its run of scheme
    // characters (`_` is none; a digit is one, but no scheme starts with it)
    [
      "url=https://a.example/SECRET-KEY id_https://b.example/SECRET-KEY",
      "url=https://a.example/… id_https://b.example/…",
    ],
    [
      "1https://b.example/SECRET-KEY 0xdeadhttps://c.example/SECRET-KEY",
      "1https://b.example/… 0xdeadhttps://c.example/…",
    ],
    // typographic quotes and guillemets, and CJK punctuation, after a URL are kept after it
    [
      "‘https://h.example/SECRET-KEY’ said “https://h.example/SECRET-KEY”",
      "‘https://h.example/…’ said “https://h.example/…”",
    ],
    ["«https://h.example/SECRET-KEY» and ‘https://h.example’", "«https://h.example/…» and ‘https://h.example’"],
    ["见https://h.example/SECRET-KEY。", "见https://h.example/…。"],
    ["（https://g.example/SECRET-KEY），", "（https://g.example/…），"],
    ["「https://h.example/SECRET-KEY」、", "「https://h.example/…」、"],
    ["地址：https://h.example/SECRET-KEY：！", "地址：https://h.example/…：！"],
    ["访问https://h.example。", "访问https://h.example。"],
    // but in a URL they are no end of it, whatever follows them is hidden with it: a word glued after
    // one too, which a URL may hold after one (its key)
    ["见https://h.example/SECRET-KEY。下一步", "见https://h.example/…"],
    ["见https://h.example/。SECRET-KEY", "见https://h.example/…"],
    ["https://h.example/a（b）/SECRET-KEY", "https://h.example/…"],
    ["https://h.example/a’b/SECRET-KEY", "https://h.example/…"],
    ["https://user:p‘w@h.example/SECRET-KEY", "https://h.example/…"],
    // a fullwidth colon typed for a port's: no host the URL class reads
    ["https://h.example：8545/SECRET-KEY", "(an address, not a URL)"],
    // in a host the URL class reads an ideographic full stop as a dot: the URL goes on to its key
    ["at https://rpc。example/v2/SECRET-KEY", "at https://rpc.example/…"],
    // nothing to hide: scheme, host and port as the URL class writes them
    ["chain at http://127.0.0.1:8545/ down", "chain at http://127.0.0.1:8545 down"],
    ["peer http://[::1]:8443 and http://[::1].", "peer http://[::1]:8443 and http://[::1]."],
    // a URL that does not parse is not echoed either
    ["bad http://a.example:99999/SECRET-KEY.", "bad (an address, not a URL)."],
    ["bad https://a%zzb/SECRET-KEY", "bad (an address, not a URL)"],
    // a host written with a quote (%22) stays one URL, found whole again
    ["at http://a%22b.example/SECRET-KEY", "at http://a%22b.example/…"],
    // a host that would not be read back as written (its `)` closing the bracket) is not echoed
    ["(at http://h(/SECRET-KEY)).", "(at (an address, not a URL))."],
    // what urlScrubber wrote is left as it is
    ["URL: https://eth.example/…\n", "URL: https://eth.example/…\n"],
    // a file's path is no server's secret, and every frame of a stack trace is one
    [
      "Error: x\n    at run (file:///srv/oracle/src/node.ts:12:7)\n    at node:internal/main:1:1",
      "Error: x\n    at run (file:///srv/oracle/src/node.ts:12:7)\n    at node:internal/main:1:1",
    ],
    ["file:///srv/a.json?token=SECRET-KEY", "file:///…"],
  ];
  for (const [text, scrubbed] of cases) {
    assert.equal(scrubUrls(text), scrubbed, text);
    assert.doesNotMatch(scrubUrls(text), /SECRET/, text);
  }
});

test("scrubUrls: a text without a URL is returned as it is", () => {
  for (const text of [
    "",
    "the chain step failed: nonce too low",
    "mailto:someone@example.org, urn:isbn:0451450523, C:\\data\\oracle.db, node:internal/process",
    "ratio 3:1 at 12:30 // a comment, http:/one-slash, ://no-scheme",
    "(an address, not a URL)",
  ])
    assert.equal(scrubUrls(text), text);
});

test("scrubUrls: a URL with a quote or a space in it is cut there; urlScrubber first replaces a known one whole", () => {
  const rpc = "https://eth.example/v2/key'TAIL-SECRET";
  const text = `HTTP request failed.\nURL: ${rpc}\n`;
  assert.match(scrubUrls(text), /TAIL-SECRET/, "the generic rule alone stops at the quote");
  const scrubbed = scrubUrls(urlScrubber([rpc])(text));
  assert.equal(scrubbed, "HTTP request failed.\nURL: https://eth.example/…\n");
});

test("testFuzz_scrubUrls: never throws, applied again changes nothing, and leaves a text without `://` as it is", () => {
  // texts made of URL-shaped runs (a scheme, `://`, then parts of hosts, ports, paths, queries)
  // among punctuation, quotes, spaces and arbitrary characters
  const part = fc.oneof(
    fc.constantFrom(
      ...["user:pw@", ":@", "@", "[::1]", "[", "]", "(", ")", ".", ",", ";", ":", "!", "?apikey=k", "#f", "/"],
      ...["%22", "%27", "%60", "%2e", "%2C", "%29", "%zz", "…", "1.2.3", "0x7f", "ＡＢ", ":8545", ":99999"],
      ...["a", "example.org", " ", "\n", "'", '"', "`", "<", ">", "_", "://", ":/", "file:///srv/a.ts:1:2"],
      ...["‘", "’", "“", "”", "«", "»", "。", "．", "｡", "、", "，", "：", "「", "」", "（", "）", "\\", "\u3000"],
    ),
    fc.string({ maxLength: 3 }),
  );
  const url = fc
    .tuple(
      fc.constantFrom("http", "https", "wss", "file", "postgres", "x1+", "HTTP", "1http"),
      fc.array(part, { maxLength: 8 }),
    )
    .map(([scheme, parts]) => `${scheme}://${parts.join("")}`);
  fc.assert(
    fc.property(fc.array(fc.oneof(url, part), { maxLength: 12 }), (pieces) => {
      const text = pieces.join("");
      const once = scrubUrls(text);
      assert.equal(scrubUrls(once), once, JSON.stringify(text));
      if (!text.includes("://")) assert.equal(once, text);
    }),
    { numRuns: 5000 },
  );
});

/**
 * `scrubUrls(text)` run on a worker thread, so that a scrub taking far too long is stopped when the
 * test that waits for it times out (its `signal` aborts then): on the test runner's own thread it
 * would hold the runner, and its timeout, until it ended.
 */
function scrubOnWorker(text: string, signal: AbortSignal): Promise<string> {
  const worker = new Worker(
    `import(${JSON.stringify(import.meta.resolve("./urls.ts"))}).then(({ scrubUrls }) => {
      const { parentPort, workerData } = require("node:worker_threads");
      parentPort.postMessage(scrubUrls(workerData));
    });`,
    { eval: true, workerData: text },
  );
  signal.addEventListener("abort", () => void worker.terminate(), { once: true });
  return new Promise((resolve, reject) => {
    worker.once("error", reject);
    worker.once("message", (scrubbed: string) => {
      resolve(scrubbed);
      void worker.terminate();
    });
  });
}

// Texts an answer or an error may hold (a peer's answer, a library's error quoting a body) on which
// a scrub reading a run again from each of its positions, or counting the brackets before each end
// it tries, takes minutes to hours. Scrubbing one takes milliseconds; the timeout, far above that,
// is no benchmark: it only stops a scrub that would not end.
const MB = 1 << 20;
/** What the text is, the text, and its scrubbed form (null: the text as it is). */
const adversarial: [string, string, string | null][] = [
  ["hex digits with no `://` after them", "0123456789abcdef".repeat(MB / 16), null],
  ["letters with no `://` after them", "a".repeat(MB), null],
  ["`)` and `.` after a URL", `http://a${").".repeat(MB / 2)}`, null],
  ["`]` after a URL", `http://a${"]".repeat(MB)}`, null],
  ["`[` in a URL's path", `https://h.example/${"[".repeat(MB)}`, "https://h.example/…"],
  ["a key in a URL's path", `https://h.example/${"k".repeat(MB)} end`, "https://h.example/… end"],
];
for (const [what, text, scrubbed] of adversarial) {
  test(
    `scrubUrls: ends on a text of 1 MB of ${what}, read once rather than again from each position`,
    { timeout: 20_000 },
    async (t) => {
      assert.equal(await scrubOnWorker(text, t.signal), scrubbed ?? text);
    },
  );
}
