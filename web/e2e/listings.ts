/**
 * Browser end-to-end of a seller's listing over its lifetime (registered by e2e/run.ts, last on its
 * one stack: the second test moves the chain's clock a day forward, which would expire the listings
 * and shift the challenge windows that earlier tests read; the indexer follows the chain and is not
 * rewound, so evm_snapshot/evm_revert around it is not an option).
 *
 * 1. The "Open for (days)" field of /sell (lib/listingDays.ts): a whole number of days from 1 to 365
 *    lists until that many days of the chain's time from now, which is the clock the Marketplace
 *    measures the expiry against; anything else says why in the page and List stays disabled.
 * 2. That listing once the chain's time has passed its expiry: the seller sees it under "Your
 *    expired listings" with only a cancel, which returns the credits to the portfolio; buyers see it
 *    closed with nothing to buy, and the market no longer lists it.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { BrowserContext, Page } from "playwright-core";
import { createPublicClient, http, type PublicClient } from "viem";
import { mnemonicToAccount } from "viem/accounts";
import type { ExplorerTestEnv } from "./explorer.ts";
import { addresses } from "./explorerFresh.ts";
import { abi } from "./freshIds.ts";

export type ListingTestEnv = Omit<ExplorerTestEnv, "fixture"> & {
  walletPage: (account: string) => Promise<{ context: BrowserContext; page: Page }>;
  connect: (page: Page) => Promise<void>;
  waitConfirmed: (page: Page) => Promise<void>;
};

const DEV = "test test test test test test test test test test test junk";
const SELLER = mnemonicToAccount(DEV, { addressIndex: 6 }).address; // a project proponent of seed-demo
const BUYER = mnemonicToAccount(DEV, { addressIndex: 2 }).address; // holds TestUSD (seed-demo)
const TX_TIMEOUT = 60_000;
/** An amount no other test lists, so the seller's row is found by it. */
const AMOUNT_T = "0.07";
const AMOUNT_TEXT = "0.070 t CO2e";
const AMOUNT_KG = 70n;
const DAY_S = 86_400;
/** The expiry is shown to the minute and set from the chain's time a few seconds before it is sent. */
const EXPIRY_SLACK_S = 300;

/** `"1,234.567 t CO2e"` → 1234567n (kg). */
function kgOf(text: string): bigint {
  const m = /^([\d,]+)\.(\d{3}) t CO2e$/.exec(text.trim());
  assert.ok(m, `a tonnes figure: ${JSON.stringify(text)}`);
  return BigInt(m[1]!.replaceAll(",", "")) * 1000n + BigInt(m[2]!);
}

/** `"… open until 2026-12-15 10:03 UTC"` → unix seconds. */
function openUntilS(text: string): number {
  const m = /open until (\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}) UTC/.exec(text);
  assert.ok(m, `an "open until" date in ${JSON.stringify(text)}`);
  return Date.parse(`${m[1]}T${m[2]}:00Z`) / 1000;
}

/** The seller's credits on /portfolio (the page reads the chain), in kg. */
async function balanceKg(page: Page, tokenId: bigint): Promise<bigint> {
  const row = page.getByTestId("holdings").locator("tbody tr", { has: page.locator(`a[href="/credit/${tokenId}"]`) });
  await row.waitFor();
  return kgOf(await row.locator("td[data-label=Balance]").innerText());
}

/**
 * What became of listing `id`'s cancel on /sell: its row's status once confirmed or failed, or
 * "gone" when the row left first (the page reads the chain again as soon as the transaction is
 * mined, and on a loaded machine the refreshed list can remove the row, status and all, before a
 * poll sees "confirmed"). Fails with the row's text when neither happens in time.
 */
async function cancelOutcome(page: Page, id: bigint): Promise<{ tx: string; text: string }> {
  const deadline = Date.now() + TX_TIMEOUT;
  let last = { tx: "", text: "" };
  while (Date.now() < deadline) {
    last = await page.evaluate((listing) => {
      const li = document.querySelector(`[data-own-listing="${listing}"]`);
      if (!li) return { tx: "gone", text: "" };
      const status = li.querySelector("[data-tx]");
      return { tx: status?.getAttribute("data-tx") ?? "", text: li.textContent ?? "" };
    }, id.toString());
    if (last.tx === "gone" || last.tx === "confirmed" || last.tx === "failed") return last;
    await page.waitForTimeout(100);
  }
  assert.fail(`listing ${id}'s cancel did not settle in ${TX_TIMEOUT / 1000} s (status "${last.tx}"): ${last.text}`);
}

export function listingTests(env: ListingTestEnv): void {
  const client = () => createPublicClient({ transport: http(env.stack().rpcUrl) }) as PublicClient;
  const marketplace = () => addresses(env.stack().addressesFile).Marketplace;
  const listingCount = async () =>
    (await client().readContract({
      address: marketplace(),
      abi: abi("Marketplace"),
      functionName: "listingCount",
    })) as bigint;
  /** The listing the first test makes, open for a day, for the second. */
  let expiring: { id: bigint; tokenId: bigint; expiresAtS: number } | undefined;

  test("Open for (days): 1 lists until a day of chain time from now; 0, 366, 2.5, -3 or nothing says why and List stays disabled", async () => {
    const stack = env.stack();
    const { context, page } = await env.walletPage(SELLER);
    try {
      await page.goto(`${stack.webUrl}/sell`);
      await env.connect(page);
      await page.getByLabel("Amount (tonnes CO2e)").waitFor();
      const allow = page.getByRole("button", { name: "Allow the marketplace" });
      if (await allow.isVisible()) {
        await allow.click();
        await env.waitConfirmed(page);
      }
      await page.getByLabel("Amount (tonnes CO2e)").fill(AMOUNT_T);
      await page.getByLabel(/^Price per tonne/).fill("30");
      const days = page.getByLabel("Open for (days)");
      const error = page.locator("#sell-days-error");
      const list = page.getByTestId("list");

      // A day: no error, and the listing runs until a day of the chain's time after it was sent (the
      // chain's clock is days ahead of this machine's here: seed-demo and the shortfall test moved it
      // past challenge windows; a day of the browser's clock from now was already past on chain).
      await days.fill("1");
      assert.equal(await error.innerText(), "");
      assert.equal(await days.getAttribute("aria-invalid"), null);
      assert.equal(await list.isEnabled(), true);
      await list.click();
      await page.locator("[data-tx]", { hasText: `List ${AMOUNT_TEXT}` }).waitFor({ timeout: TX_TIMEOUT });
      await env.waitConfirmed(page);
      const listedAtS = Number((await client().getBlock()).timestamp);
      const row = page.getByTestId("own-listings").locator("li", { hasText: AMOUNT_TEXT }).last();
      await row.waitFor();
      const id = BigInt((await row.getAttribute("data-own-listing"))!);
      const shownS = openUntilS(await row.innerText());
      assert.ok(
        Math.abs(shownS - (listedAtS + DAY_S)) <= EXPIRY_SLACK_S,
        `listing ${id} is open until ${new Date(shownS * 1000).toISOString()}, a day of chain time after it was ` +
          `listed is ${new Date((listedAtS + DAY_S) * 1000).toISOString()}`,
      );
      const onChain = (await client().readContract({
        address: marketplace(),
        abi: abi("Marketplace"),
        functionName: "getListing",
        args: [id],
      })) as { tokenId: bigint; expiresAt: bigint | number };
      expiring = { id, tokenId: onChain.tokenId, expiresAtS: Number(onChain.expiresAt) };
      env.log(`listing ${id}: ${AMOUNT_TEXT} of credit ${onChain.tokenId} open until ${expiring.expiresAtS}`);

      // Out of range, not whole, or empty: the reason in the page, the field marked, List disabled.
      const refused: [string, string][] = [
        ["0", "A listing stays open 1 to 365 days; 0 is outside that."],
        ["366", "A listing stays open 1 to 365 days; 366 is outside that."],
        ["2.5", "Enter a whole number of days, 1 to 365."],
        ["-3", "Enter a whole number of days, 1 to 365."],
        ["", "Enter how many days the listing stays open (1 to 365)."],
      ];
      for (const [text, message] of refused) {
        await days.fill(text);
        assert.equal(await error.innerText(), message, `the error for ${JSON.stringify(text)}`);
        assert.equal(
          await days.getAttribute("aria-invalid"),
          "true",
          `the field is marked for ${JSON.stringify(text)}`,
        );
        assert.equal(await list.isDisabled(), true, `List is disabled for ${JSON.stringify(text)}`);
      }
      await days.fill("366");
      await page.locator("#sell-days-error", { hasText: "366 is outside that" }).waitFor();
      await env.shot(page, "39-listing-days-refused");
      await env.axe(page, "sell-days-refused");
      // Enter in the field and a click that ignores the disabled state submit nothing
      const before = await listingCount();
      await days.press("Enter");
      await list.click({ force: true });
      await page.waitForTimeout(1000);
      assert.equal(await page.locator("[data-tx=wallet], [data-tx=pending]").count(), 0, "no transaction is asked for");
      assert.equal(await listingCount(), before, "no listing was made");
    } finally {
      await context.close();
    }
  });

  test("a listing past its expiry: the seller sees it under expired listings with only a cancel, which returns the credits; buyers see it closed with nothing to buy", async () => {
    assert.ok(expiring, "the listing-days test listed credits for a day");
    const { id, tokenId, expiresAtS } = expiring;
    const stack = env.stack();
    // the chain's clock past the expiry (the app reads the chain's time, never the browser's)
    const headS = Number((await client().getBlock()).timestamp);
    await client().request({ method: "evm_increaseTime" as never, params: [expiresAtS - headS + 60] as never });
    await client().request({ method: "evm_mine" as never, params: [] as never });

    const seller = await env.walletPage(SELLER);
    const buyer = await env.walletPage(BUYER);
    try {
      const page = seller.page;
      await page.goto(`${stack.webUrl}/portfolio`);
      await env.connect(page);
      const heldBefore = await balanceKg(page, tokenId);
      assert.match(
        await page.locator("main li", { has: page.locator(`a[href="/listing/${id}"]`) }).innerText(),
        /expired .*: cancel it under Manage listings to get them back/,
      );

      await page.goto(`${stack.webUrl}/sell`);
      const row = page.getByTestId("expired-listings").locator(`[data-own-listing="${id}"]`);
      await row.waitFor();
      assert.equal(await row.getAttribute("data-expired"), "true");
      assert.match(
        await row.innerText(),
        /Expired \d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC: cancel it to get the credits back/,
      );
      assert.equal(await page.getByTestId("own-listings").locator(`[data-own-listing="${id}"]`).count(), 0);
      // only a cancel: no new price for a listing nobody can buy from
      assert.equal(await row.getByRole("textbox").count(), 0, "no price field");
      assert.equal(await row.getByRole("button", { name: "Update price" }).count(), 0, "no Update price");
      assert.equal(await row.getByRole("form", { name: `Change the price of listing ${id}` }).count(), 0);
      const cancel = row.getByRole("form", { name: `Cancel listing ${id}` }).getByTestId(`cancel-${id}`);
      assert.equal((await cancel.innerText()).trim(), "Cancel and take the credits back");
      assert.equal(await cancel.isEnabled(), true);
      await env.shot(page, "40-expired-listing");
      await env.axe(page, "sell-expired");

      // buyers: closed, nothing to buy (with no wallet and with one), and not on the market
      const open = await buyer.context.newPage();
      await open.goto(`${stack.webUrl}/listing/${id}`);
      assert.match(
        await open.getByTestId("listing-closed").innerText(),
        /This listing is sold out, cancelled or expired\./,
      );
      assert.equal(await open.getByText("Connect your wallet to buy").count(), 0);
      await open.close();
      await buyer.page.goto(`${stack.webUrl}/listing/${id}`);
      await env.connect(buyer.page);
      await buyer.page.getByTestId("listing-closed").waitFor();
      for (const testId of ["buy", "approve", "quote"])
        assert.equal(await buyer.page.getByTestId(testId).count(), 0, `no ${testId} on an expired listing`);
      assert.equal(await buyer.page.getByRole("button", { name: /^Buy/ }).count(), 0, "no Buy button");
      await env.shot(buyer.page, "40b-listing-expired-buyer");
      await env.axe(buyer.page, "listing-expired");
      await buyer.page.goto(stack.webUrl);
      await buyer.page.getByTestId("market-table").waitFor();
      assert.equal(await buyer.page.locator(`[data-listing="${id}"]`).count(), 0, "the market leaves it out");

      // the seller cancels: the credits come back and the listing leaves the section
      await cancel.click();
      // confirmed, or the row already gone with its status (cancelOutcome says why that counts)
      const settled = await cancelOutcome(page, id);
      assert.ok(settled.tx === "gone" || settled.tx === "confirmed", settled.text);
      env.log(`listing ${id} cancelled (its row's status when last seen: ${settled.tx})`);
      await page.locator(`[data-own-listing="${id}"]`).waitFor({ state: "detached", timeout: 15_000 });
      assert.equal(await page.getByTestId("expired-listings").locator(`[data-own-listing="${id}"]`).count(), 0);
      await env.shot(page, "41-expired-cancelled");
      await page.goto(`${stack.webUrl}/portfolio`);
      assert.equal(await balanceKg(page, tokenId), heldBefore + AMOUNT_KG, "the listed credits are back in the wallet");
      assert.equal(await page.locator(`main a[href="/listing/${id}"]`).count(), 0, "nothing of it is in escrow");
    } finally {
      await seller.context.close();
      await buyer.context.close();
    }
  });
}
