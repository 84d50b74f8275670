/**
 * appBundleSource without a gateway: this site's /bundles, served here by a real loopback HTTP
 * server that stalls (headers never sent, or sent and the body never finished), as a stalled
 * connection does. Outside a page there is no origin, so the test's fetch puts the server's
 * before the path.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { appBundleSource } from "./source.ts";
import type { RuntimeConfig } from "../config.ts";

const runtime = { ipfsGateway: null } as unknown as RuntimeConfig;

async function stalling(kind: "headers" | "body"): Promise<{ server: Server; origin: string; held: ServerResponse[] }> {
  const held: ServerResponse[] = [];
  const server = createServer((_req, res) => {
    held.push(res);
    if (kind === "body") {
      res.writeHead(200, { "content-type": "application/octet-stream", "content-length": "100" });
      res.write(Buffer.alloc(10));
    }
  });
  await new Promise<void>((listening) => server.listen(0, "127.0.0.1", listening));
  return { server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, held };
}

for (const kind of ["headers", "body"] as const)
  test(
    `a /bundles request whose ${kind} stall ends at the timeout, saying the bundle went unchecked and what to do`,
    { timeout: 15_000 },
    async () => {
      const { server, origin, held } = await stalling(kind);
      try {
        const source = appBundleSource(runtime, {
          fetch: (path, init) => fetch(`${origin}${String(path)}`, init),
          timeoutMs: 1_000,
        });
        await assert.rejects(
          source.get("bafkreiexample"),
          /^Error: this site did not serve \/bundles\/bafkreiexample within 1 s, so the bundle was not checked: check your connection, then try again$/,
        );
        assert.equal(held.length, 1, "the request reached the server");
      } finally {
        for (const res of held) res.destroy();
        server.closeAllConnections();
        await new Promise((closed) => server.close(closed));
      }
    },
  );
