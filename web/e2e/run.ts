#!/usr/bin/env node
/**
 * Browser end-to-end tests (`npm run e2e -w web`): playwright-core drives Debian's
 * chromium against the local stack of e2e/stack.ts, with an injected EIP-1193 wallet
 * (e2e/wallet.ts). Screenshots of every step go to web/e2e/screenshots/ (named in
 * docs/web.md); axe-core runs on every page and fails on serious or critical issues.
 * e2e/explorer.ts adds issue 8's tests (explorer, audit trail, reports; no wallet) on the same stack,
 * e2e/dashboards.ts its dashboards, leaderboard and report pages, e2e/detailPages.ts the 404s of the
 * credit, certificate and listing pages, e2e/verifyBusy.ts /verify while it works, e2e/listings.ts a
 * seller's listing from the listing-days field to its expiry and cancel (last on the stack: it moves
 * the chain's clock), e2e/notIndexedYet.ts (its own stack) the report, dashboard and search pages while
 * the indexer is behind.
 *
 * Installs chromium with apt-get when /usr/bin/chromium is missing (needs root).
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { mnemonicToAccount } from "viem/accounts";
import { ensureDebianCommand } from "../../scripts/debian.ts";
import { CHROMIUM_ARGS, CHROMIUM_PATH, startStack, type Stack } from "./stack.ts";
import { injectWallet, type WalletOptions } from "./wallet.ts";
import { explorerTests, seedRetirement, type ExplorerFixture } from "./explorer.ts";
import { dashboardTests } from "./dashboards.ts";
import { detailPageTests } from "./detailPages.ts";
import { explorerFreshTests } from "./explorerFresh.ts";
import { notIndexedYetTests } from "./notIndexedYet.ts";
import { shortfallTests } from "./shortfalls.ts";
import { listingTests } from "./listings.ts";
import { verifyBusyTests } from "./verifyBusy.ts";

const here = dirname(fileURLToPath(import.meta.url));
const shots = join(here, "screenshots");
const require = createRequire(import.meta.url);
const axeSource = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");
const CHROMIUM = CHROMIUM_PATH;
const DEV = "test test test test test test test test test test test junk";
const BUYER = mnemonicToAccount(DEV, { addressIndex: 2 }).address;
const SELLER = mnemonicToAccount(DEV, { addressIndex: 6 }).address; // a project proponent of seed-demo
const TX_TIMEOUT = 60_000;

let stack: Stack;
let browser: Browser;
let explorerFixture: ExplorerFixture;
const started = Date.now();
const log = (line: string) => process.stdout.write(`# [e2e ${((Date.now() - started) / 1000).toFixed(1)}s] ${line}\n`);
const axeFindings: { page: string; id: string; impact: string; help: string; nodes: number; first: string }[] = [];

function ensureChromium(): void {
  ensureDebianCommand({ bins: [CHROMIUM], args: ["--version"], pkg: "chromium", log });
}

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
}

/** axe-core on the current page; serious/critical findings are collected and fail the axe test. */
async function axe(page: Page, name: string): Promise<void> {
  await page.evaluate(axeSource);
  const result = (await page.evaluate(async () => {
    const w = window as unknown as { axe: { run: (ctx: unknown, opts: unknown) => Promise<unknown> } };
    return w.axe.run(document, { resultTypes: ["violations"] });
  })) as { violations: { id: string; impact: string; help: string; nodes: { html: string }[] }[] };
  for (const v of result.violations)
    if (v.impact === "serious" || v.impact === "critical")
      axeFindings.push({
        page: name,
        id: v.id,
        impact: v.impact,
        help: v.help,
        nodes: v.nodes.length,
        first: v.nodes[0]?.html.slice(0, 200) ?? "",
      });
}

async function walletPage(
  account: string,
  options: WalletOptions = {},
): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  page.setDefaultTimeout(30_000);
  await injectWallet(page, stack.rpcUrl, account, options);
  return { context, page };
}

async function connect(page: Page): Promise<void> {
  await page.getByTestId("connect-wallet").first().click();
  await page.getByText("Browser Wallet").click();
  await page.getByTestId("account-button").first().waitFor();
}

async function waitConfirmed(page: Page, scope = page.locator("body")): Promise<void> {
  const status = scope.locator("[data-tx=confirmed], [data-tx=failed]").first();
  await status.waitFor({ timeout: TX_TIMEOUT });
  const text = await status.innerText();
  assert.equal(await status.getAttribute("data-tx"), "confirmed", text);
}

before(async () => {
  mkdirSync(shots, { recursive: true });
  ensureChromium();
  stack = await startStack(log, {
    // seed-demo retires nothing: the explorer tests audit a retirement made here (e2e/explorer.ts).
    seed: async (ctx) => void (explorerFixture = await seedRetirement(ctx)),
    // no oracle node runs in this stack: a closed port, so the dashboard's device-health panel does
    // not depend on whether the user's own `npm start` happens to serve 8787
    webEnv: { CARBONPROOF_ORACLE_URL: "http://127.0.0.1:9" },
  });
  log(`stack up: web ${stack.webUrl}, chain ${stack.rpcUrl}, ${JSON.stringify(stack.timings)}`);
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
});

after(async () => {
  await browser?.close();
  await stack?.stop();
  log(`done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
});

test("the market renders with no wallet: listings, provenance and verified badges", async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  await page.goto(stack.webUrl);
  const table = page.getByTestId("market-table");
  await table.waitFor();
  const rows = table.locator("tbody tr");
  assert.ok((await rows.count()) >= 3, "seed-demo opens several listings");
  assert.ok((await table.getByText("✓ Verified").count()) >= 3);
  assert.match(await table.innerText(), /KEN/);
  assert.match(await table.innerText(), /t CO2e/);
  assert.doesNotMatch(await page.locator("main").innerText(), /\bwei\b|units|kg CO2e per unit/i);
  await shot(page, "01-market-no-wallet");
  await axe(page, "market");
  await page.getByLabel("Country").selectOption("GBR");
  assert.match(await page.getByTestId("listing-count").innerText(), /^\d+ of \d+ open listings$/);
  assert.doesNotMatch(await table.innerText(), /KEN/);
  await shot(page, "02-market-filtered");
  await page.setViewportSize({ width: 375, height: 800 });
  await page.goto(stack.webUrl);
  await page.getByTestId("market-table").waitFor();
  await shot(page, "03-market-phone");
  const firstCredit = page.getByTestId("market-table").locator("tbody tr a").first();
  await firstCredit.click();
  await page.getByTestId("issued").waitFor();
  await page.getByText("Supply adds up").waitFor();
  // The readings behind the credit: its attestations' evidence bundles, signed readings inside.
  const bundleHref = await page.getByTestId("bundle-link").first().getAttribute("href");
  const bundle = (await (await fetch(new URL(bundleHref!, stack.webUrl))).json()) as {
    format: string;
    readings: { envelope: { sig: string } }[];
  };
  assert.equal(bundle.format, "carbonproof.bundle/1");
  assert.ok(bundle.readings.length > 0 && /^0x[0-9a-f]{128}$/.test(bundle.readings[0]!.envelope.sig));
  await shot(page, "04-credit-page");
  await axe(page, "credit");
  await context.close();
});

let certificateUrl = "";

test("a buyer connects, buys part of a listing, retires it for a named beneficiary and verifies the certificate", async () => {
  const { context, page } = await walletPage(BUYER);
  await page.goto(stack.webUrl);
  await page.getByTestId("market-table").waitFor();
  await connect(page);
  await shot(page, "05-buyer-connected");
  // The listing with the most left, so a partial buy leaves some.
  await page.getByLabel("Sort by").selectOption("available:desc");
  const row = page.getByTestId("market-table").locator("tbody tr").first();
  const listingId = await row.getAttribute("data-listing");
  await row.getByRole("link", { name: /^Buy from listing/ }).click();
  await page.getByTestId("available").waitFor();
  const before = await page.getByTestId("available").innerText();
  await page.getByLabel("Amount (tonnes CO2e)").fill("0.5");
  await page.getByTestId("quote").waitFor();
  assert.match(await page.getByTestId("total").innerText(), /\d+\.\d{2} /);
  await shot(page, "06-buy-quote");
  await axe(page, "listing");
  await page.getByTestId("approve").click();
  await waitConfirmed(page);
  await shot(page, "07-approved");
  await page.getByTestId("buy").click();
  await page.locator("[data-tx=confirmed]", { hasText: "Buy 0.500 t CO2e" }).waitFor({ timeout: TX_TIMEOUT });
  await shot(page, "08-bought");
  await page.waitForFunction(([b]) => document.querySelector("[data-testid=available]")?.textContent !== b, [before], {
    timeout: 15_000,
  });
  log(
    `bought 0.5 t from listing ${listingId}: available ${before} → ${await page.getByTestId("available").innerText()}`,
  );

  await page.goto(`${stack.webUrl}/portfolio`);
  await page.getByTestId("holdings").waitFor();
  await shot(page, "09-portfolio");
  await axe(page, "portfolio");
  await page.getByTestId("holdings").getByRole("link", { name: "Retire" }).first().click();
  await page.getByLabel("Amount (tonnes CO2e)").fill("0.25");
  await page.getByLabel("Beneficiary name").fill("Acme Tea Importers Ltd");
  await page.getByLabel("Reason").fill("FY2026 scope 1 offset: boiler fuel");
  await page.getByLabel("Consumption country (optional)").fill("GBR");
  await axe(page, "retire");
  await page.getByLabel("I understand that this retirement is permanent.").check();
  await shot(page, "10-retire-form");
  await page.getByTestId("retire").click();
  await waitConfirmed(page);
  await page.getByTestId("certificate-link").click();
  await page.getByTestId("certificate-record").waitFor();
  certificateUrl = page.url();
  assert.equal(await page.getByTestId("cert-beneficiary").innerText(), "Acme Tea Importers Ltd");
  assert.equal(await page.getByTestId("cert-amount").innerText(), "0.250 t CO2e");
  await page.getByTestId("verify").click();
  const verdict = page.getByTestId("verify-result");
  await verdict.waitFor({ timeout: 30_000 });
  assert.equal(await verdict.getAttribute("data-ok"), "true", await page.locator("main").innerText());
  await shot(page, "11-certificate-verified");
  await axe(page, "certificate");
  await context.close();
});

test("the certificate page is public: it opens and verifies with no wallet, and prints", async () => {
  assert.ok(certificateUrl, "the buyer test produced a certificate");
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  await page.goto(certificateUrl);
  await page.getByTestId("verify").click();
  await page.locator("[data-testid=verify-result][data-ok=true]").waitFor({ timeout: 30_000 });
  await page.emulateMedia({ media: "print" });
  assert.equal(await page.locator(".site-header").isVisible(), false, "print CSS hides the navigation");
  await shot(page, "12-certificate-print");
  await context.close();
});

test("a second wallet lists credits, updates the price and cancels the listing", async () => {
  const { context, page } = await walletPage(SELLER);
  await page.goto(`${stack.webUrl}/sell`);
  await connect(page);
  await page.getByLabel("Amount (tonnes CO2e)").waitFor();
  await axe(page, "sell");
  const allow = page.getByRole("button", { name: "Allow the marketplace" });
  if (await allow.isVisible()) {
    await allow.click();
    await waitConfirmed(page);
  }
  await page.getByLabel("Amount (tonnes CO2e)").fill("0.1");
  await page.getByLabel(/^Price per tonne/).fill("30");
  await shot(page, "13-sell-form");
  await page.getByTestId("list").click();
  await page.locator("[data-tx=confirmed]", { hasText: "List 0.100 t CO2e" }).waitFor({ timeout: TX_TIMEOUT });
  const own = page.getByTestId("own-listings");
  const mine = own.locator("li", { hasText: "0.100 t CO2e" }).last();
  await mine.waitFor();
  const id = await mine.getAttribute("data-own-listing");
  await shot(page, "14-listed");
  const listed = page.locator(`[data-own-listing="${id}"]`);
  await listed.getByLabel(`New price per tonne for listing ${id}`, { exact: false }).fill("32.5");
  await listed.getByRole("button", { name: "Update price" }).click();
  await page
    .locator("[data-tx=confirmed]", { hasText: `New price for listing ${id}` })
    .waitFor({ timeout: TX_TIMEOUT });
  await listed.getByText("32.50 tUSD per tonne").waitFor({ timeout: 15_000 });
  await shot(page, "14b-price-updated");
  await page.getByTestId(`cancel-${id}`).click();
  await page.locator("[data-tx=confirmed]", { hasText: `Cancel listing ${id}` }).waitFor({ timeout: TX_TIMEOUT });
  await page.locator(`[data-own-listing="${id}"]`).waitFor({ state: "detached", timeout: 15_000 });
  await shot(page, "15-cancelled");
  await context.close();
});

test("a wallet on another network is asked to switch, and does", async () => {
  const { context, page } = await walletPage(BUYER, { chainId: 1 });
  await page.goto(stack.webUrl);
  await page.getByTestId("market-table").waitFor();
  // Connecting asks the wallet for the app's chain; then the user moves the wallet to mainnet.
  await connect(page);
  await page.evaluate(() =>
    (window as unknown as { ethereum: { request: (a: unknown) => Promise<unknown> } }).ethereum.request({
      method: "wallet_switchEthereumChain",
      params: [{ chainId: "0x1" }],
    }),
  );
  const banner = page.getByRole("alert").filter({ hasText: "another network" });
  await banner.waitFor();
  await shot(page, "16-wrong-network");
  await axe(page, "wrong-network");
  await banner.getByRole("button", { name: /^Switch to/ }).click();
  await banner.waitFor({ state: "detached" });
  await context.close();
});

test("a transaction rejected in the wallet is reported in words and nothing is sent", async () => {
  const { context, page } = await walletPage(BUYER, { rejectTransactions: true });
  await page.goto(`${stack.webUrl}/listing/2`);
  await connect(page);
  await page.getByLabel("Amount (tonnes CO2e)").fill("0.1");
  await page.getByTestId("quote").waitFor();
  await page.getByTestId("approve").or(page.getByTestId("buy")).click();
  const failed = page.locator("[data-tx=failed]");
  await failed.waitFor({ timeout: TX_TIMEOUT });
  assert.match(await failed.innerText(), /You rejected the request in your wallet\. Nothing was sent\./);
  await shot(page, "17-rejected-in-wallet");
  await context.close();
});

// Issue 8: the explorer, the audit trail and reports, with no wallet.
explorerTests({
  stack: () => stack,
  browser: () => browser,
  fixture: () => explorerFixture,
  axe,
  shot,
  log,
});

dashboardTests({ stack: () => stack, browser: () => browser, axe, shot, log });

// /credit, /certificate and /listing for ids that name nothing: 404 (after the others: it retires once more).
detailPageTests({ stack: () => stack, browser: () => browser, fixture: () => explorerFixture, axe, shot, log });
// Explorer detail pages of ids created a moment ago: 200, not 404 (attests for new facilities).
explorerFreshTests({ stack: () => stack, browser: () => browser, fixture: () => explorerFixture, axe, shot, log });
/** What the tests that sign with a wallet take of this file: the stack, the browser, a wallet's page. */
const withWallet = {
  stack: () => stack,
  browser: () => browser,
  axe,
  shot,
  log,
  walletPage: (account: string) => walletPage(account),
  connect,
  waitConfirmed: (page: Page) => waitConfirmed(page),
};
// A period above a project's baseline recorded from /audit/project (moves the chain past a challenge window: last on this stack).
shortfallTests(withWallet);
// After the tests that pick seed-demo listings by their place in the list (detailPages: listingCount - 3).
test("buying all that is left keeps the purchase's confirmation in view; the sold-out note follows it", async () => {
  // the seller's own small lot, open for a year (shortfalls moved the chain's clock past a challenge window)
  const seller = await walletPage(SELLER);
  await seller.page.goto(`${stack.webUrl}/sell`);
  await connect(seller.page);
  await seller.page.getByLabel("Amount (tonnes CO2e)").fill("0.05");
  await seller.page.getByLabel(/^Price per tonne/).fill("30");
  await seller.page.getByLabel("Open for (days)").fill("365");
  await seller.page.getByTestId("list").click();
  await seller.page.locator("[data-tx=confirmed]", { hasText: "List 0.050 t CO2e" }).waitFor({ timeout: TX_TIMEOUT });
  const lot = seller.page.getByTestId("own-listings").locator("li", { hasText: "0.050 t CO2e" }).last();
  await lot.waitFor();
  const id = await lot.getAttribute("data-own-listing");
  await seller.context.close();

  const { context, page } = await walletPage(BUYER);
  await page.goto(`${stack.webUrl}/listing/${id}`);
  await connect(page);
  await page.getByRole("button", { name: "Buy all" }).click();
  await page.getByTestId("quote").waitFor();
  const approve = page.getByTestId("approve");
  if (await approve.isVisible()) {
    await approve.click();
    await waitConfirmed(page);
  }
  await page.getByTestId("buy").click();
  await page.locator("[data-tx=confirmed]", { hasText: "Buy 0.050 t CO2e" }).waitFor({ timeout: TX_TIMEOUT });
  // the page reads the listing again after the purchase: nothing is left
  await page.getByTestId("available").filter({ hasText: "0.000 t CO2e" }).waitFor({ timeout: 15_000 });
  const main = await page.locator("main").innerText();
  assert.equal(
    await page.locator("[data-tx=confirmed]", { hasText: "Buy 0.050 t CO2e" }).isVisible(),
    true,
    `the purchase's confirmation is gone once the listing reads sold out:\n${main}`,
  );
  assert.match(main, /The credits are in your wallet/);
  assert.equal(await page.getByRole("alert").filter({ hasText: "sold out" }).count(), 0, main);
  assert.equal(await page.getByTestId("listing-now-closed").isVisible(), true, main);
  await shot(page, "15c-bought-all");
  await axe(page, "listing-bought-all");
  await context.close();
});

// /verify while its lookup and its walk are slowed down in the browser (page.route).
verifyBusyTests({ stack: () => stack, browser: () => browser, fixture: () => explorerFixture, axe, shot, log });
// The listing-days field, then that listing expired and cancelled (moves the chain's clock a day: last on this stack).
listingTests(withWallet);

// Report, dashboard and search while the indexer is held behind the head (a stack of its own, behind an RPC proxy).
notIndexedYetTests(log);

test("axe-core finds no serious or critical accessibility issue on any page", () => {
  const pages = new Set(axeFindings.map((f) => f.page));
  assert.deepEqual(
    axeFindings,
    [],
    `accessibility issues on ${[...pages].join(", ")}:\n${axeFindings.map((f) => `  ${f.page}: ${f.impact} ${f.id} (${f.nodes}×) ${f.help}: ${f.first}`).join("\n")}`,
  );
});
