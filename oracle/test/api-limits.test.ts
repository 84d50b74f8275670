import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { request as httpRequest } from "node:http";
import { createApiKey } from "../src/api/keys.ts";
import { testNode } from "./fixtures.ts";

describe("HTTP rate limits", { timeout: 60_000 }, () => {
  let node: Awaited<ReturnType<typeof testNode>>;
  let key: string;
  const max = 5;
  before(async () => {
    // a window far longer than the test, so no bucket refills while it runs
    node = await testNode({ config: { http: { rateLimit: { max, windowMs: 600_000 } } } });
    key = createApiKey(node.storage, { scope: "facility", subject: "ktda-kangaita" }).key;
  });
  after(() => node.close());

  const get = (apiKey: string) => fetch(`${node.httpUrl}/v1/status`, { headers: { "x-api-key": apiKey } });

  test("a verified key over the limit gets 429 with Retry-After", async () => {
    const statuses: number[] = [];
    for (let i = 0; i <= max; i++) statuses.push((await get(key)).status);
    assert.deepEqual(statuses.slice(0, max), Array(max).fill(200));
    const res = await get(key);
    assert.equal(res.status, 429);
    assert.ok(Number(res.headers.get("retry-after")) > 0, "Retry-After says when to come back");
  });

  test("made-up keys share the client address's bucket and do not escape the limit", async () => {
    const statuses: number[] = [];
    for (let i = 0; i <= max + 2; i++) statuses.push((await get(`cpk_${randomBytes(16).toString("hex")}`)).status);
    assert.equal(statuses.at(-1), 429, `statuses: ${statuses.join(",")}`);
  });
});

/**
 * The key is checked before a body is read: a request without a valid key, declaring a body of
 * 200 MB and sending 1 KiB of it, is answered at once. Were the check after the body (as a
 * `preHandler` is), the node would wait for, buffer and parse the whole body first (a co-sign body
 * may be 256 MiB), and this request would get no answer at all.
 */
describe("HTTP: the key before the body", { timeout: 60_000 }, () => {
  let node: Awaited<ReturnType<typeof testNode>>;
  let facility: string;
  before(async () => {
    node = await testNode();
    facility = createApiKey(node.storage, { scope: "facility", subject: "ktda-kangaita" }).key;
  });
  after(() => node.close());

  /** Status and body of a POST to `path` that declares 200 MB and sends only its first KiB. */
  const startedPost = (path: string, headers: Record<string, string>) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = httpRequest(`${node.httpUrl}${path}`, {
        method: "POST",
        headers: { "content-type": "application/json", "content-length": String(200_000_000), ...headers },
      });
      req.on("response", (res) => {
        let body = "";
        res.on("data", (c) => (body += c));
        res.on("end", () => resolve({ status: res.statusCode!, body }));
        res.on("error", reject);
      });
      req.on("error", (err) => (/EPIPE|ECONNRESET/.test(String(err)) ? undefined : reject(err)));
      req.write(`{"header":"x","bundle":"${"A".repeat(1000)}`);
      const timer = setTimeout(() => (req.destroy(), reject(new Error(`no answer within 10 s from ${path}`))), 10_000);
      req.on("close", () => clearTimeout(timer));
    });

  test("co-sign, readings and evidence answer 401 or 403 before the body is read", async () => {
    const cosign = await startedPost("/v1/quorum/cosign", {});
    assert.equal(cosign.status, 401);
    assert.match(cosign.body, /send a valid API key in the x-api-key header/);
    const wrongScope = await startedPost("/v1/quorum/cosign", { "x-api-key": facility });
    assert.equal(wrongScope.status, 403);
    assert.match(wrongScope.body, /this route needs a oracle key/);
    assert.equal((await startedPost("/v1/readings", { "x-api-key": "cpk_made_up" })).status, 401);
    assert.equal((await startedPost("/v1/admin/batches/retry-all", {})).status, 401);
    // nothing of these reached a dead letter: refused unread
    assert.equal(node.storage.listDeadLetters({ limit: 10 }).length, 0);
  });
});
