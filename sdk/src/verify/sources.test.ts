import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import { gatewaySource } from "./sources.ts";

/**
 * `gatewaySource` against a loopback HTTP server that stands in for an IPFS gateway (a real one
 * cannot be made to drip bytes or send without end): it answers `/ipfs/<cid>` by the CID it names.
 */
describe("gatewaySource", () => {
  let server: Server;
  let base = "";
  const paths: string[] = [];
  before(async () => {
    server = createServer((req, res) => {
      paths.push(req.url!);
      const cid = decodeURIComponent(req.url!.split("/ipfs/")[1]!.split("?")[0]!);
      if (cid === "bafkgood") return res.end("bundle bytes");
      if (cid === "bafkdrip") {
        res.writeHead(200, { "content-type": "application/vnd.ipld.raw" });
        const t = setInterval(() => res.write("x"), 100);
        res.on("close", () => clearInterval(t));
        return;
      }
      if (cid === "bafkhuge") {
        // no length declared: only counting what arrives can stop it
        res.writeHead(200, { "content-type": "application/vnd.ipld.raw" });
        const t = setInterval(() => res.write(Buffer.alloc(4096)), 5);
        res.on("close", () => clearInterval(t));
        return;
      }
      if (cid === "bafkbig") {
        res.writeHead(200, { "content-length": "999999" });
        return res.end();
      }
      res.statusCode = 404;
      res.end("not found");
    });
    await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}/`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((ok) => server.close(ok));
  });

  it("gets a bundle's bytes by its CID, URL-encoded into the path", async () => {
    const source = gatewaySource(base);
    assert.equal(Buffer.from(await source.get("bafkgood")).toString(), "bundle bytes");
    await assert.rejects(source.get("../../etc/passwd"), /Gateway answered 404/);
    assert.equal(paths.at(-1), "/ipfs/..%2F..%2Fetc%2Fpasswd?format=raw", "the CID stays one path segment");
  });

  it("gives up on a gateway that drips bytes, and refuses more bytes than a bundle may have", async () => {
    const t0 = Date.now();
    await assert.rejects(gatewaySource(base, fetch, { timeoutMs: 500 }).get("bafkdrip"), /did not send .* within 1 s/);
    assert.ok(Date.now() - t0 < 5_000, "at its timeout");
    await assert.rejects(
      gatewaySource(base, fetch, { maxBytes: 100_000 }).get("bafkhuge"),
      /sent more than 100000 bytes .*: not a bundle/,
    );
    await assert.rejects(
      gatewaySource(base, fetch, { maxBytes: 100_000 }).get("bafkbig"),
      /sends 999999 bytes .*, more than the 100000 a bundle may have/,
    );
  });
});
