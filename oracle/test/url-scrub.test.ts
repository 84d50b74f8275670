import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:net";
import { pino } from "pino";
import { deviceInfo, makeDevice, electricity, testNode } from "./fixtures.ts";
import { waitFor } from "./helpers.ts";
import { ORACLE_KEY } from "./chain-harness.ts";
import { readingDigestHex } from "../../sdk/src/index.ts";
import { createApiKey } from "../src/api/keys.ts";
import { createCommon } from "../src/common.ts";
import { parseConfig } from "../src/config/load.ts";

/**
 * A node whose device directory reads the DeviceRegistry over a chain.rpcUrl holding its key in
 * the path, on a loopback port where nothing listens (the provider down): the 500 its reading is
 * answered with, and every log line, name the RPC by scheme, host and port only.
 */
test("an RPC URL's key reaches neither an API answer nor a log line", async () => {
  const probe = createServer();
  await new Promise<void>((ok) => probe.listen(0, "127.0.0.1", ok));
  const port = (probe.address() as { port: number }).port;
  await new Promise((ok) => probe.close(ok));
  const lines: string[] = [];
  const meter = makeDevice("scrub-meter-1");
  const node = await testNode({
    config: {
      devices: { source: "chain" },
      chain: { rpcUrl: `http://127.0.0.1:${port}/v2/SECRET-RPC-KEY`, deviceRegistry: `0x${"55".repeat(20)}` },
    },
    parts: { devices: undefined },
    logger: pino({ level: "debug" }, { write: (line: string) => void lines.push(line) }),
  });
  try {
    const key = createApiKey(node.storage, { scope: "facility", subject: meter.facilityId }).key;
    const res = await fetch(`${node.httpUrl}/v1/readings`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-api-key": key },
      body: JSON.stringify(electricity(meter)),
    });
    const body = await res.text();
    assert.ok(res.status >= 500, `${res.status} ${body}`);
    assert.doesNotMatch(body, /SECRET-RPC-KEY/);
    assert.ok(body.includes(`127.0.0.1:${port}/…`), body);
    assert.ok(
      lines.some((l) => l.includes(`127.0.0.1:${port}/…`)),
      "the failure is logged, the RPC named",
    );
    assert.deepEqual(
      lines.filter((l) => l.includes("SECRET-RPC-KEY")),
      [],
    );
  } finally {
    await node.close();
  }
});

/**
 * A batch whose chain step fails against a chain.rpcUrl holding its key (nothing listens there):
 * its `error`, public on GET /v1/batches, and the node's status name the RPC without the key.
 */
test("an RPC URL's key stays out of a failed batch step's error, public on GET /v1/batches", async () => {
  const probe = createServer();
  await new Promise<void>((ok) => probe.listen(0, "127.0.0.1", ok));
  const port = (probe.address() as { port: number }).port;
  await new Promise((ok) => probe.close(ok));
  const meter = makeDevice("scrub-meter-2");
  const lines: string[] = [];
  process.env.CARBONPROOF_ORACLE_PRIVATE_KEY = ORACLE_KEY;
  const node = await testNode({
    devices: [deviceInfo(meter)],
    config: {
      batching: { windowS: 1, graceS: 0 },
      chain: {
        enabled: true,
        rpcUrl: `http://127.0.0.1:${port}/v2/SECRET-RPC-KEY`,
        attestationRegistry: `0x${"55".repeat(20)}`,
        pollMs: 100,
      },
    },
    logger: pino({ level: "debug" }, { write: (line: string) => void lines.push(line) }),
  });
  try {
    const env = electricity(meter, { ts: Math.floor(Date.now() / 1000) - 5 });
    await node.ingestor.submit(env, { source: "http" });
    const batchId = node.storage.getReading(readingDigestHex(env.reading))!.batchId!;
    const failing = await waitFor(
      () => {
        const b = node.storage.getBatch(batchId)!;
        return b.attempts >= 1 && b.error ? b : null;
      },
      { what: "a chain step failed and was recorded" },
    );
    assert.ok(failing.error!.includes(`127.0.0.1:${port}/…`), failing.error!);
    const listed = await (await fetch(`${node.httpUrl}/v1/batches?limit=10`)).text();
    const status = await (await fetch(`${node.httpUrl}/v1/status`)).text();
    for (const [what, text] of [
      ["stored error", failing.error!],
      ["GET /v1/batches", listed],
      ["GET /v1/status", status],
      ["logs", lines.join("")],
    ])
      assert.doesNotMatch(text!, /SECRET-RPC-KEY/, what);
  } finally {
    delete process.env.CARBONPROOF_ORACLE_PRIVATE_KEY;
    await node.close();
  }
});

/**
 * An error quoting a URL the node was not configured with (a provider's redirect, a URL in a
 * library's error), credentials in its user info and query: common.scrub, what a batch's `error`
 * and an API answer are written with, and the `err` of a log line write it as scheme, host and
 * port, as they write the configured ones; a stack trace's frames keep their file and line.
 */
test("an error quoting a URL the node was not configured with, its credentials in it, is scrubbed by the node's scrub", () => {
  const lines: string[] = [];
  const common = createCommon(parseConfig({ chain: { rpcUrl: "https://eth.example/v2/SECRET-CONFIGURED-KEY" } }), {
    logger: pino({ level: "debug" }, { write: (line: string) => void lines.push(line) }),
  });
  const err = new Error(
    "request to https://eth.example/v2/SECRET-CONFIGURED-KEY was redirected to " +
      "https://user:SECRET-PW@other-provider.example:8443/rpc?apikey=SECRET-QUERY (302).",
  );
  assert.equal(
    common.scrub(err.message),
    "request to https://eth.example/… was redirected to https://other-provider.example:8443/… (302).",
  );
  common.logger.error({ err }, "a chain step failed");
  const logged = lines.join("");
  assert.doesNotMatch(logged, /SECRET/);
  assert.ok(logged.includes("https://other-provider.example:8443/…"), logged);
  assert.ok(logged.includes(`${import.meta.url}:`), `the stack names this file: ${logged}`);
});

test("the node's scrub replaces a configured URL whole before any other URL: a key holding a quote leaves no tail", () => {
  const rpcUrl = "https://eth.example/v2/key'TAIL-SECRET";
  const common = createCommon(parseConfig({ chain: { rpcUrl } }), { logger: pino({ level: "silent" }) });
  assert.equal(
    common.scrub(`HTTP request failed.\nURL: ${rpcUrl}\nthen ws://other.example/k'TAIL-2`),
    "HTTP request failed.\nURL: https://eth.example/…\nthen ws://other.example/…'TAIL-2",
  );
});
