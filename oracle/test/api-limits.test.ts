import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
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
