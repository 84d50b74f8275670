#!/usr/bin/env node
/**
 * End to end of the "not indexed yet" state of the report, dashboard and search pages (part of
 * `npm run e2e`, e2e/run.ts; alone: `node --test e2e/notIndexedYet.ts` from web/, with chromium
 * installed; docs/web.md): the built web app, `next start`,
 * on its own stack (e2e/stack.ts: Hardhat, Ignition, seed-demo), whose CARBONPROOF_RPC_URL is a
 * loopback JSON-RPC proxy in front of the Hardhat node. While the test holds the indexer back, the
 * proxy answers eth_getLogs (the embedded indexer's reads of events; the pages under test ask for
 * no other logs) with an error, as an overloaded node does: the indexer stays at its block while the
 * chain moves on, and every other call (the chain's head included) goes through to the real node.
 *
 * A facility registered on the chain after the indexer's last block: /reports/<it> answers 200
 * with the not-indexed-yet text (both blocks), its JSON 503 NOT_INDEXED_YET with Retry-After,
 * /dashboard/<it> 200 not-indexed-yet, a search for it says how many blocks the indexer is behind;
 * a facility nothing goes by cannot be told absent then either. Once the proxy lets the logs
 * through, the same pages answer the report, and 404 for the facility that does not exist. The
 * page answered 404 at the first miss before (lib/reports/facility.ts).
 *
 * Reuses an existing build with CARBONPROOF_E2E_BUILD=never (and NEXT_DIST_DIR for a build of
 * its own), as e2e/run.ts does; e2e/run.ts has built it first when needed.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium, type Browser } from "playwright-core";
import { freePort } from "../../sdk/src/test/ports.ts";
import { addresses } from "./explorerFresh.ts";
import { prepareFreshIds } from "./freshIds.ts";
import { CHROMIUM_ARGS, CHROMIUM_PATH, startStack, type Stack } from "./stack.ts";

const shots = join(dirname(fileURLToPath(import.meta.url)), "screenshots");
const axeSource = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");
const started = Date.now();
const defaultLog = (line: string) =>
  process.stdout.write(`# [not-indexed ${((Date.now() - started) / 1000).toFixed(1)}s] ${line}\n`);

type RpcProxy = { url: string; target: string | undefined; holdLogs: boolean; held: number; close: () => void };

/** A JSON-RPC proxy to `target` (set once the node is up) that, while `holdLogs`, fails every eth_getLogs. */
async function startRpcProxy(): Promise<RpcProxy> {
  const port = await freePort();
  const proxy: RpcProxy = { url: `http://127.0.0.1:${port}`, target: undefined, holdLogs: false, held: 0, close };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", async () => {
      try {
        if (!proxy.target) throw new Error("the Hardhat node is not up yet");
        const body = Buffer.concat(chunks).toString("utf8");
        const upstream = await fetch(proxy.target, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body,
        });
        let text = await upstream.text();
        if (proxy.holdLogs && upstream.ok) {
          type Message = { id?: unknown; method?: string };
          const asked = JSON.parse(body) as Message | Message[];
          const ids = new Set(
            (Array.isArray(asked) ? asked : [asked]).filter((m) => m.method === "eth_getLogs").map((m) => m.id),
          );
          if (ids.size) {
            proxy.held += ids.size;
            const hold = (m: Message) =>
              ids.has(m.id)
                ? { jsonrpc: "2.0", id: m.id, error: { code: -32000, message: "eth_getLogs held back by the test" } }
                : m;
            const answer = JSON.parse(text) as Message | Message[];
            text = JSON.stringify(Array.isArray(answer) ? answer.map(hold) : hold(answer));
          }
        }
        res.writeHead(upstream.status, { "content-type": "application/json" });
        res.end(text);
      } catch (error) {
        res.writeHead(502, { "content-type": "text/plain" });
        res.end(String(error));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  function close() {
    server.closeAllConnections();
    server.close();
  }
  return proxy;
}

let proxy: RpcProxy;
let stack: Stack;
let browser: Browser;

async function get(path: string): Promise<{ status: number; html: string; headers: Headers }> {
  const res = await fetch(`${stack.webUrl}${path}`);
  return { status: res.status, html: await res.text(), headers: res.headers };
}

/** The blocks the not-indexed-yet box names (data-indexed-block, data-head). */
function blocksOf(html: string): { indexed: number; head: number } | undefined {
  const m = /data-testid="not-indexed" data-indexed-block="(\d+)" data-head="(\d+)"/.exec(html);
  return m ? { indexed: Number(m[1]), head: Number(m[2]) } : undefined;
}

/** Registers the suite (its own stack, up only while it runs): e2e/run.ts calls it; run alone, so does this file. */
export function notIndexedYetTests(log: (line: string) => void = defaultLog): void {
  describe("pages of a facility the indexer has not read yet", () => {
    before(async () => {
      mkdirSync(shots, { recursive: true });
      proxy = await startRpcProxy();
      stack = await startStack(log, {
        // the web app's chain is the proxy, pointed at the node once it is up (before the app starts)
        seed: async (ctx) => void (proxy.target = ctx.rpcUrl),
        webEnv: { CARBONPROOF_RPC_URL: proxy.url, CARBONPROOF_ORACLE_URL: "http://127.0.0.1:9" },
      });
      log(`stack up: web ${stack.webUrl}, chain ${stack.rpcUrl} behind ${proxy.url}, ${JSON.stringify(stack.timings)}`);
      browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
    });

    after(async () => {
      await browser?.close();
      await stack?.stop();
      proxy?.close();
    });
    test("a facility registered after the indexer's last block: report and dashboard 200 'not indexed yet', JSON 503 with Retry-After, search says how far behind; then the report, and 404 for a facility that does not exist", async () => {
      const warm = await get("/reports/ktda-kangaita");
      assert.equal(warm.status, 200, "seed-demo's facility has its report");
      const ids = await prepareFreshIds(
        { rpcUrl: stack.rpcUrl, addresses: addresses(stack.addressesFile) },
        `n${Date.now().toString(36)}`,
      );
      proxy.holdLogs = true;
      const sent = await ids.send();
      log(`registered ${ids.facility} in block ${sent.blockNumber} while the indexer's log reads are held`);

      const report = await get(`/reports/${ids.facility}`);
      assert.equal(report.status, 200, `/reports/${ids.facility} while the indexer is behind: 200, not 404`);
      assert.ok(report.html.includes("is not indexed yet"), "the report page says the facility is not indexed yet");
      const blocks = blocksOf(report.html);
      assert.ok(blocks, "the page names the indexer's block and the chain's");
      assert.ok(
        blocks.indexed < Number(sent.blockNumber) && blocks.head >= Number(sent.blockNumber),
        JSON.stringify(blocks),
      );
      assert.match(
        report.html,
        new RegExp(
          `The indexer is at block ${blocks.indexed}, the chain at block ${blocks.head}: .*Reload in a few seconds`,
        ),
      );
      assert.ok(
        report.html.includes('<meta name="robots" content="noindex"'),
        "the placeholder is kept out of search engines",
      );
      assert.ok(!report.html.includes("Emissions report: "), "no report made of what is not indexed");

      const json = await fetch(`${stack.webUrl}/reports/${ids.facility}/json`);
      assert.equal(json.status, 503);
      assert.equal(json.headers.get("retry-after"), "5");
      const body = (await json.json()) as { error: string; message: string; indexedBlock: number; headBlock: number };
      assert.equal(body.error, "NOT_INDEXED_YET");
      assert.match(body.message, /not indexed yet\. Reload in a few seconds/);
      assert.ok(body.indexedBlock < body.headBlock, JSON.stringify(body));

      const dashboard = await get(`/dashboard/${ids.facility}`);
      assert.equal(dashboard.status, 200, "the dashboard too: 200, not 404");
      assert.ok(dashboard.html.includes('data-testid="not-indexed"'), "the dashboard says not indexed yet");

      const nowhere = await get("/reports/ktda-nowhere");
      assert.equal(
        nowhere.status,
        200,
        "while the indexer is behind, even a facility that does not exist is not told absent",
      );
      assert.ok(nowhere.html.includes('data-testid="not-indexed"'));

      const search = await get(`/explorer/search?q=${ids.facility}`);
      assert.equal(search.status, 200);
      assert.match(
        search.html,
        /data-testid="search-lag">The indexer is \d+ blocks? behind the chain .*a new id may not show yet/,
      );

      // on a phone: the state fits the screen, and axe finds nothing serious
      const context = await browser.newContext({ viewport: { width: 375, height: 800 } });
      const page = await context.newPage();
      page.setDefaultTimeout(30_000);
      const response = await page.goto(`${stack.webUrl}/reports/${ids.facility}`);
      assert.equal(response?.status(), 200);
      await page.getByTestId("not-indexed").waitFor();
      assert.equal(await page.getByRole("heading", { level: 1 }).innerText(), "Emissions report");
      assert.ok(
        await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth),
        "no sideways scroll",
      );
      await page.screenshot({ path: join(shots, "36-report-not-indexed-phone.png"), fullPage: true });
      await page.evaluate(axeSource);
      const violations = (await page.evaluate(async () => {
        const w = window as unknown as {
          axe: { run: (ctx: unknown, opts: unknown) => Promise<{ violations: unknown[] }> };
        };
        return (await w.axe.run(document, { resultTypes: ["violations"] })).violations;
      })) as { id: string; impact: string }[];
      assert.deepEqual(
        violations.filter((v) => v.impact === "serious" || v.impact === "critical").map((v) => v.id),
        [],
        "axe: no serious or critical issue",
      );
      assert.ok(proxy.held > 0, "the indexer did ask for logs, and was held back");

      // the indexer reads on: the same pages now answer what they answer for an indexed facility
      proxy.holdLogs = false;
      const caughtUp = await get(`/reports/${ids.facility}`);
      assert.equal(caughtUp.status, 200);
      assert.ok(!caughtUp.html.includes('data-testid="not-indexed"'), "the indexer caught up");
      // React puts <!-- --> between the heading's text parts
      assert.match(
        caughtUp.html,
        new RegExp(`Emissions report: (<!-- -->)?${ids.facility}(<!-- -->)?, `),
        "the report of the new facility",
      );
      const caughtUpJson = await fetch(`${stack.webUrl}/reports/${ids.facility}/json`);
      assert.equal(caughtUpJson.status, 200);
      const r = (await caughtUpJson.json()) as { schema?: string; installation: { facilityId: string } };
      assert.equal(r.installation.facilityId, ids.facility);
      assert.equal((await get(`/dashboard/${ids.facility}`)).status, 200);
      assert.equal((await get("/reports/ktda-nowhere")).status, 404, "absent once the indexer is at the head");
      const missing = await fetch(`${stack.webUrl}/reports/ktda-nowhere/json`);
      assert.equal(missing.status, 404);
      assert.equal(((await missing.json()) as { error: string }).error, "NOT_FOUND");
      assert.equal((await get("/dashboard/ktda-nowhere")).status, 404);
      const plain = await get("/explorer/search?q=ktda-nowhere");
      assert.ok(
        plain.html.includes('data-testid="search-none"') && !plain.html.includes("search-lag"),
        "a plain no-match",
      );
      await context.close();
    });
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) notIndexedYetTests();
