/**
 * The server's RPC URL (CARBONPROOF_SERVER_RPC_URL) may hold a provider's key: it never reaches the
 * runtime config handed to browsers, and the embedded indexer's messages (shown on the explorer's
 * status line) name it by scheme, host and port only. The RPC is a loopback HTTP server answering
 * JSON-RPC as a provider would, standing for a keyed provider such as Alchemy or Infura.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Address } from "viem";
import { runtimeConfig, serverRpc } from "../../lib/config.server.ts";
import { openStore } from "./store.ts";
import { ChainSync, ChainSyncError } from "./sync.ts";
import { INDEXED_CONTRACTS, type IndexedContract } from "./events.ts";

const KEY = "SECRET-PROVIDER-KEY-91f3";

test("serverRpc: the server's URL, else the public one; named by scheme, host and port; a bad value is not echoed", () => {
  const keyed = serverRpc({
    CARBONPROOF_SERVER_RPC_URL: `https://eth.example.org/v2/${KEY}`,
    CARBONPROOF_RPC_URL: "https://public.example.org",
  });
  assert.equal(keyed.url, `https://eth.example.org/v2/${KEY}`);
  assert.equal(keyed.shown, "https://eth.example.org/…");
  assert.equal(keyed.setting, "CARBONPROOF_SERVER_RPC_URL");
  assert.equal(keyed.scrub(`URL: https://eth.example.org/v2/${KEY}\n`), "URL: https://eth.example.org/…\n");
  // any other URL an error quotes (a provider's redirect, a URL inside a library's error) too
  assert.equal(
    keyed.scrub(`redirected to https://other.example/v2/${KEY}-2 (https://user:pw@x.example)`),
    "redirected to https://other.example/… (https://x.example/…)",
  );
  const fallback = serverRpc({ CARBONPROOF_RPC_URL: "http://127.0.0.1:9545" });
  assert.deepEqual(
    [fallback.url, fallback.shown, fallback.setting],
    ["http://127.0.0.1:9545", "http://127.0.0.1:9545", "CARBONPROOF_RPC_URL"],
  );
  assert.equal(serverRpc({}).url, "http://127.0.0.1:8545");
  assert.throws(
    () => serverRpc({ CARBONPROOF_SERVER_RPC_URL: `${KEY} pasted here` }),
    (e: Error) => /CARBONPROOF_SERVER_RPC_URL must be an http\(s\) URL/.test(e.message) && !e.message.includes(KEY),
  );
  assert.throws(() => serverRpc({ CARBONPROOF_SERVER_RPC_URL: "ws://127.0.0.1:8546" }), /http\(s\) URL/);
});

test("the runtime config handed to browsers carries CARBONPROOF_RPC_URL, never CARBONPROOF_SERVER_RPC_URL", () => {
  const saved = { server: process.env.CARBONPROOF_SERVER_RPC_URL, pub: process.env.CARBONPROOF_RPC_URL };
  process.env.CARBONPROOF_SERVER_RPC_URL = `https://eth.example.org/v2/${KEY}`;
  process.env.CARBONPROOF_RPC_URL = "https://public.example.org/";
  try {
    const config = runtimeConfig();
    assert.equal(config.rpcUrl, "https://public.example.org/");
    assert.ok(!JSON.stringify(config).includes(KEY), "the server's RPC URL is in the browser's config");
  } finally {
    for (const [name, value] of [
      ["CARBONPROOF_SERVER_RPC_URL", saved.server],
      ["CARBONPROOF_RPC_URL", saved.pub],
    ] as const)
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
  }
});

/** A JSON-RPC endpoint on loopback that answers every call with `answer(method)`. */
async function provider(answer: (method: string) => { result?: unknown; error?: unknown }): Promise<Server> {
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => {
      const parsed = JSON.parse(body) as { id: number; method: string } | { id: number; method: string }[];
      const one = (r: { id: number; method: string }) => ({ jsonrpc: "2.0", id: r.id, ...answer(r.method) });
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify(Array.isArray(parsed) ? parsed.map(one) : one(parsed)));
    });
  });
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  return server;
}

function portOf(server: Server): number {
  return (server.address() as { port: number }).port;
}

test("the indexer's errors name a keyed RPC by scheme, host and port: unreachable, another chain, an error the provider answers", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "cp-server-rpc-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const addresses = Object.fromEntries(
    INDEXED_CONTRACTS.map((n, i) => [n, `0x${(i + 1).toString(16).padStart(40, "0")}` as Address]),
  ) as Record<IndexedContract, Address>;
  const syncAt = (url: string, name: string) =>
    new ChainSync(openStore(join(dir, `${name}.sqlite`)), { rpcUrl: url, chainId: 31337, addresses });

  // nothing listens: the port of a server just closed
  const gone = await provider(() => ({ result: "0x7a69" }));
  const gonePort = portOf(gone);
  const goneUrl = `http://127.0.0.1:${gonePort}/v2/${KEY}`;
  await new Promise((ok) => gone.close(ok));
  await assert.rejects(syncAt(goneUrl, "gone").init(), (e: Error) => {
    assert.ok(e instanceof ChainSyncError && e.code === "INDEXER_RPC_UNREACHABLE", e.message);
    assert.ok(e.message.includes(`http://127.0.0.1:${gonePort}/…`), e.message);
    assert.ok(e.message.includes("CARBONPROOF_SERVER_RPC_URL"), e.message);
    assert.ok(!e.message.includes(KEY), e.message);
    return true;
  });

  const mainnet = await provider(() => ({ result: "0x1" }));
  t.after(() => mainnet.close());
  await assert.rejects(syncAt(`http://127.0.0.1:${portOf(mainnet)}/v2/${KEY}`, "mainnet").init(), (e: Error) => {
    assert.ok(e instanceof ChainSyncError && e.code === "INDEXER_CHAIN_MISMATCH", e.message);
    assert.match(e.message, /has chain id 1, the deployment is on 31337/);
    assert.ok(!e.message.includes(KEY), e.message);
    return true;
  });

  // a provider's own error: viem's message quotes the URL it called ("URL: …")
  const limited = await provider(() => ({ error: { code: -32005, message: "daily request limit reached" } }));
  t.after(() => limited.close());
  await assert.rejects(syncAt(`http://127.0.0.1:${portOf(limited)}/v2/${KEY}`, "limited").init(), (e: Error) => {
    assert.match(e.message, /daily request limit reached/);
    assert.ok(e.message.includes(`127.0.0.1:${portOf(limited)}/…`), e.message);
    assert.ok(!e.message.includes(KEY), e.message);
    return true;
  });
});

test("the indexer's errors do not quote another URL's key that the provider's answer carries", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "cp-server-rpc-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const addresses = Object.fromEntries(
    INDEXED_CONTRACTS.map((n, i) => [n, `0x${(i + 1).toString(16).padStart(40, "0")}` as Address]),
  ) as Record<IndexedContract, Address>;
  // a provider that forwards to another and quotes it, key and all
  const relay = await provider(() => ({
    error: {
      code: -32005,
      message: `upstream https://other.example/v2/OTHER-KEY and https://user:pw@x.example refused`,
    },
  }));
  t.after(() => relay.close());
  const url = `http://127.0.0.1:${portOf(relay)}/v2/${KEY}`;
  const sync = new ChainSync(openStore(join(dir, "relay.sqlite")), { rpcUrl: url, chainId: 31337, addresses });
  await assert.rejects(sync.init(), (e: Error) => {
    assert.ok(e.message.includes("upstream https://other.example/… and https://x.example/… refused"), e.message);
    assert.ok(!/OTHER-KEY|user:pw|SECRET/.test(e.message), e.message);
    return true;
  });
});
