import { test } from "node:test";
import assert from "node:assert/strict";
import { urlForMessages, urlScrubber } from "./urls.ts";

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
