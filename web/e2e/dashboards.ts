/**
 * Browser end-to-end of issue 8's dashboards and reports (no wallet): the facility dashboard draws
 * its charts (also with reduced motion), its table alternatives and its attested total equal the
 * chain's; the device-health panel shows the oracle node's data or says why not while the rest of
 * the page works; the leaderboard ranks every facility and says why intensity is not ranked; the
 * report prints on A4 with its controls hidden; every page fits 375 px. Registered by e2e/run.ts
 * with the same environment as explorer.ts (`dashboardTests({ stack, browser, axe, shot, log })`).
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import type { Browser, Page } from "playwright-core";
import { createPublicClient, http, type Abi, type Address, type Hex, type PublicClient } from "viem";
import { contractAbis } from "../../sdk/src/contracts/generated.ts";
import { idToBytes32 } from "../../sdk/src/index.ts";
import type { Stack } from "./stack.ts";

export type DashboardTestEnv = {
  stack: () => Stack;
  browser: () => Browser;
  axe: (page: Page, name: string) => Promise<void>;
  shot: (page: Page, name: string) => Promise<void>;
  log: (line: string) => void;
};

const FACILITY = "ktda-kangaita";
const DAY = 86_400n;

function registryOf(addressesFile: string): Address {
  const raw = JSON.parse(readFileSync(addressesFile, "utf8")) as Record<string, string>;
  const key = Object.keys(raw).find((k) => k.split("#").pop() === "AttestationRegistry");
  if (!key) throw new Error(`${addressesFile} has no AttestationRegistry`);
  return raw[key] as Address;
}

/** Σ of the facility's live (not revoked) attestation headers whose period starts in [fromS, toS), read from the chain. */
async function chainTotals(stack: Stack, facility: string, fromS: bigint, toS: bigint) {
  const client = createPublicClient({ transport: http(stack.rpcUrl) }) as PublicClient;
  const address = registryOf(stack.addressesFile);
  const abi = contractAbis.AttestationRegistry as Abi;
  const [submitted, revoked] = await Promise.all(
    (["AttestationSubmitted", "AttestationRevoked"] as const).map((eventName) =>
      client.getContractEvents({ address, abi, eventName, fromBlock: 0n }),
    ),
  );
  const revokedIds = new Set(revoked.map((l) => (l.args as { id: Hex }).id));
  const mine = submitted
    .map(
      (l) =>
        l.args as {
          id: Hex;
          facilityId: Hex;
          header: { periodStart: bigint; fossilCo2eGrams: bigint; biogenicCo2Grams: bigint };
        },
    )
    .filter((a) => a.facilityId.toLowerCase() === idToBytes32(facility).toLowerCase());
  const live = mine.filter((a) => !revokedIds.has(a.id) && a.header.periodStart >= fromS && a.header.periodStart < toS);
  return {
    attestations: live.length,
    fossilCo2eGrams: live.reduce((s, a) => s + a.header.fossilCo2eGrams, 0n),
    biogenicCo2Grams: live.reduce((s, a) => s + a.header.biogenicCo2Grams, 0n),
  };
}

export function dashboardTests(env: DashboardTestEnv): void {
  const web = () => env.stack().webUrl;
  const newPage = async (opts: { width?: number; reducedMotion?: "reduce" | "no-preference" } = {}) => {
    const context = await env
      .browser()
      .newContext({ viewport: { width: opts.width ?? 1280, height: 900 }, reducedMotion: opts.reducedMotion });
    const page = await context.newPage();
    page.setDefaultTimeout(30_000);
    return { context, page };
  };
  // the dashboard's default period: the last 30 days up to today (UTC)
  const today = BigInt(Math.floor(Date.now() / 1000)) / DAY;
  const fromS = (today - 29n) * DAY;
  const toS = (today + 1n) * DAY;

  test("the facility dashboard draws its charts, with table alternatives, and its attested total equals the chain's", async () => {
    const chain = await chainTotals(env.stack(), FACILITY, fromS, toS);
    assert.ok(chain.attestations > 0, "seed-demo attested the facility within the last 30 days");
    for (const reducedMotion of ["no-preference", "reduce"] as const) {
      const { context, page } = await newPage({ reducedMotion });
      // the split by source needs the bundles, which the indexer fetches in the background after the chain
      const deadline = Date.now() + 60_000;
      for (;;) {
        await page.goto(`${web()}/dashboard/${FACILITY}`);
        await page.getByRole("heading", { level: 1 }).waitFor();
        if ((await page.locator('[data-chart="emissions-by-source"]').count()) > 0) break;
        assert.ok(Date.now() < deadline, "the readings of the seeded bundles were indexed within 60 s");
        await page.waitForTimeout(1000);
      }
      const fossil = await page.locator("[data-fossil-grams]").first().getAttribute("data-fossil-grams");
      assert.equal(BigInt(fossil!), chain.fossilCo2eGrams, "fossil CO2e (g) of the period = Σ of the live headers");
      // both charts are drawn in the browser (recharts SVG), hidden from assistive technology
      for (const chart of ["emissions-over-time", "emissions-by-source"]) {
        const box = page.locator(`[data-chart="${chart}"][data-state="drawn"]`);
        await box.waitFor();
        assert.equal(await box.getAttribute("aria-hidden"), "true");
        await box.locator("svg.recharts-surface").first().waitFor();
      }
      // the table alternative under the daily chart has the chain's figures
      const rows = page.locator("details:has-text('Table of emissions per day') tbody tr");
      assert.ok((await rows.count()) > 0, "the daily table lists the days with attestations");
      assert.match(await page.getByTestId("intensity").innerText(), /no production data/);
      // device health: the oracle node's panel or the reason it is missing; the indexed columns either way
      const health = page.getByTestId("device-health");
      assert.ok((await health.locator("tbody tr").count()) >= 2, "the facility's devices are listed");
      const unreachable = page.getByTestId("oracle-health");
      if (await unreachable.count())
        assert.match(await unreachable.innerText(), /not reachable|answered HTTP|not a device-health/);
      if (reducedMotion === "no-preference") {
        await env.shot(page, "30-dashboard");
        await env.axe(page, "dashboard");
      }
      await context.close();
    }
  });

  test("the leaderboard ranks every facility and says why intensity is not ranked", async () => {
    const { context, page } = await newPage();
    await page.goto(`${web()}/leaderboard`);
    await page.getByRole("heading", { level: 1, name: "Leaderboard" }).waitFor();
    const rows = page.getByTestId("leaderboard-reduction").locator("tbody tr");
    const facilities = JSON.parse(readFileSync(`${env.stack().webDir}/facilities.json`, "utf8")) as Record<
      string,
      unknown
    >;
    assert.equal(await rows.count(), Object.keys(facilities).length, "one row per facility");
    const ranks = (await rows.locator("td:first-child").allInnerTexts()).map(Number);
    assert.deepEqual(
      ranks,
      [...ranks].sort((a, b) => a - b),
      "ranks ascend",
    );
    assert.equal(ranks[0], 1);
    assert.match(await page.getByTestId("intensity").innerText(), /Not ranked/);
    await env.shot(page, "31-leaderboard");
    await env.axe(page, "leaderboard");
    await context.close();
  });

  test("the report prints on A4 without its controls; dashboard, leaderboard and report fit 375 px", async () => {
    const { context, page } = await newPage();
    await page.goto(`${web()}/reports/${FACILITY}`);
    await page.getByTestId("cbam-report").waitFor();
    const total = await page.getByTestId("report-total-fossil").getAttribute("data-grams");
    const chain = await chainTotals(env.stack(), FACILITY, fromS, toS);
    assert.equal(BigInt(total!), chain.fossilCo2eGrams, "the printed total is the chain's");
    assert.match(await page.locator("article").innerText(), /2023\/1773/, "the report cites the regulation");
    await page.emulateMedia({ media: "print" });
    assert.equal(await page.getByRole("button", { name: "Print or save as PDF" }).isVisible(), false);
    assert.equal(await page.getByTestId("report-json").isVisible(), false);
    const pdf = await page.pdf({ format: "A4" });
    assert.ok(pdf.byteLength > 10_000 && pdf.subarray(0, 5).toString() === "%PDF-", "prints to a PDF");
    await env.shot(page, "32-report-print");
    await context.close();

    const phone = await newPage({ width: 375 });
    for (const path of [`/dashboard/${FACILITY}`, "/leaderboard", `/reports/${FACILITY}`]) {
      await phone.page.goto(`${web()}${path}`);
      await phone.page.getByRole("heading", { level: 1 }).waitFor();
      const width = await phone.page.evaluate(() => document.documentElement.scrollWidth);
      assert.ok(width <= 375, `${path} is ${width} px wide at 375 px`);
      await env.axe(phone.page, `${path} (phone)`);
    }
    await env.shot(phone.page, "33-report-phone");
    await phone.context.close();
  });
}
