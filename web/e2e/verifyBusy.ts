/**
 * Browser end-to-end of /verify while it works (registered by e2e/run.ts, on its one stack, no
 * wallet). A pasted attestation id is first looked up on the chain (lib/audit/pastedId.ts), then
 * its lineage is walked in the browser (components/audit/Lineage.tsx). Both are made slow enough
 * to watch, or made to fail, in playwright (page.route), not by a hook in the app: the lookup's
 * eth_getLogs to the node, the walk's fetch of the evidence bundle from /bundles, the node itself.
 *
 * 1. Verify pressed by keyboard (focus it, Enter): while the lookup runs, Verify is aria-disabled
 *    (not disabled: it keeps the focus), the page says so, and a second click or Enter starts no
 *    second lookup; while the walk runs, Verify and Verify pasted JSON are aria-disabled, the file
 *    input opens no chooser, a forced click or Enter starts no second walk (no second bundle
 *    request), and the result is aria-busy; focus stays on Verify throughout and after the verdict
 *    shows, and the inputs are offered again.
 * 2. A walk whose bundle fetch fails (HTTP 500, then a failed request) ends: a FAIL that names
 *    the fetch and says what to do, aria-busy false, Verify offered again, and once the bundle is
 *    served again a Verify passes.
 * 3. A walk that the node stops answering ends in an error that says so and what to do, and
 *    the page takes inputs again (Lineage reported only a verdict as the walk's end, not an error:
 *    with the walk keeping the page busy, that would leave it busy for good).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { Locator, Page, Route } from "playwright-core";
import type { ExplorerTestEnv } from "./explorer.ts";

/** Requests held until `release()`; `first` settles when the first one arrives. */
function gate() {
  const waiting: (() => void)[] = [];
  let open = false;
  let seen = 0;
  let total = 0;
  let arrived: () => void = () => {};
  const first = new Promise<void>((resolve) => (arrived = resolve));
  return {
    first,
    /** how many requests were held */
    seen: () => seen,
    /** how many requests came, held or not */
    total: () => total,
    async hold(route: Route): Promise<void> {
      total++;
      if (!open) {
        seen++;
        arrived();
        await new Promise<void>((resolve) => waiting.push(resolve));
      }
      await route.continue();
    },
    release(): void {
      open = true;
      for (const go of waiting.splice(0)) go();
    },
  };
}

async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not happen within ${ms / 1000} s`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The Verify button, the id field, and the inputs that must wait while something runs. */
function controls(page: Page) {
  return {
    verify: page.getByRole("button", { name: "Verify", exact: true }),
    field: page.getByTestId("verify-id"),
    pasteSubmit: page.getByTestId("verify-json-submit"),
    file: page.getByTestId("verify-file"),
    lineage: page.getByTestId("lineage"),
    /** the result region around the walk */
    result: page.getByTestId("verify-run"),
    summary: page.locator("#lineage-summary"),
  };
}

/** Whether `locator`'s element has the focus (a disabled control loses it to the body). */
async function focused(locator: Locator): Promise<boolean> {
  return locator.evaluate((el) => el === document.activeElement);
}

/** Busy, but still focusable: aria-disabled="true" and no disabled attribute. */
async function ariaDisabled(locator: Locator, what: string): Promise<void> {
  assert.equal(await locator.getAttribute("aria-disabled"), "true", `${what} is aria-disabled`);
  assert.equal(await locator.getAttribute("disabled"), null, `${what} is not disabled, so it keeps the focus`);
}

/**
 * Starts another walk with `start` and waits for it to end: the walk shown before is marked, and a
 * new walk is a new element (Lineage's key is the input's ticket), so a walk that runs and ends
 * between two polls is not missed.
 */
async function nextWalk(page: Page, start: () => Promise<void>): Promise<void> {
  await page.getByTestId("lineage").evaluate((el) => el.setAttribute("data-e2e-before", ""));
  await start();
  await page.locator('[data-testid="lineage"][data-state="done"]:not([data-e2e-before])').waitFor({ timeout: 90_000 });
}

/** After a walk ended however it did: nothing busy, every input offered again. */
async function offeredAgain(page: Page, what: string): Promise<void> {
  const c = controls(page);
  assert.equal(await c.lineage.getAttribute("data-state"), "done", what);
  assert.equal(await c.lineage.getAttribute("aria-busy"), "false", `the walk is not aria-busy once ${what}`);
  assert.equal(await c.result.getAttribute("aria-busy"), "false", `the result is not aria-busy once ${what}`);
  assert.equal(await page.getByTestId("verify-wait").count(), 0, `nothing says to wait once ${what}`);
  assert.equal(await c.file.isEnabled(), true, `a file can be chosen once ${what}`);
  assert.equal(await c.verify.isEnabled(), true, `Verify is offered again once ${what}`);
  assert.equal(await c.verify.getAttribute("aria-disabled"), null, `Verify is not aria-disabled once ${what}`);
}

export function verifyBusyTests(env: ExplorerTestEnv): void {
  test("/verify while it works: Verify aria-disabled, keeping the focus, and a second click starting nothing during the lookup and during the walk, the result aria-busy, then the verdict", async () => {
    const stack = env.stack();
    const attestation = env.fixture().attestations[0]!.id;
    const context = await env.browser().newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    page.setDefaultTimeout(30_000);
    try {
      // held well under viem's 10 s request timeout, after which it would retry
      const lookup = gate();
      const bundles = gate();
      const node = new URL(stack.rpcUrl).origin;
      await page.route(
        (url) => url.origin === node,
        (route) =>
          route.request().method() === "POST" && (route.request().postData() ?? "").includes('"eth_getLogs"')
            ? lookup.hold(route)
            : route.continue(),
      );
      await page.route("**/bundles/**", (route) => bundles.hold(route));

      await page.goto(`${stack.webUrl}/verify`);
      const { verify, field, pasteSubmit, file, result } = controls(page);
      await page.getByTestId("verify-json").fill("{}");
      await field.fill(attestation);
      // by keyboard: the button pressed keeps the focus while busy
      await verify.focus();
      await page.keyboard.press("Enter");
      await within(lookup.first, 15_000, "the lookup's eth_getLogs");
      await page.getByTestId("verify-looking-up").waitFor();
      assert.equal(await focused(verify), true, "Verify pressed by keyboard keeps the focus during the lookup");
      await ariaDisabled(verify, "Verify while the id is looked up");
      const lookups = lookup.seen();
      await page.keyboard.press("Enter");
      await verify.click({ force: true });
      await page.waitForTimeout(1000);
      assert.equal(lookup.seen(), lookups, "a second Enter or click starts no second lookup");
      assert.equal(await focused(verify), true, "Verify still has the focus");
      assert.equal(await page.getByTestId("lineage").count(), 0, "nothing is walked before the lookup ends");
      await env.shot(page, "42-verify-looking-up");
      await env.axe(page, "verify-looking-up");
      lookup.release();

      const lineage = page.getByTestId("lineage");
      await lineage.waitFor();
      await within(bundles.first, 30_000, "the walk's fetch of the evidence bundle");
      assert.equal(await lineage.getAttribute("aria-busy"), "true", "the walk is aria-busy while it runs");
      assert.equal(await result.getAttribute("aria-busy"), "true", "the result is aria-busy while the walk runs");
      assert.equal(await lineage.getAttribute("data-state"), "running");
      assert.equal(await page.getByTestId("verify-looking-up").count(), 0);
      assert.equal(await focused(verify), true, "Verify keeps the focus as the walk starts");
      // a second check while this one runs: Enter in the id field, a forced click on each button, a
      // forced click on the file input, and Enter on Verify (which leaves the focus there)
      let choosers = 0;
      page.on("filechooser", () => choosers++);
      const held = bundles.total();
      await field.press("Enter");
      await pasteSubmit.click({ force: true });
      await file.click({ force: true });
      await verify.click({ force: true });
      await verify.press("Enter");
      await page.waitForTimeout(3000);
      assert.equal(bundles.total(), held, "a forced click or Enter during the walk starts no second walk");
      assert.equal(await page.getByTestId("lineage").count(), 1);
      assert.equal(await lineage.getAttribute("data-state"), "running", "the walk runs on, not restarted");
      assert.equal(await page.getByTestId("verify-problem").count(), 0, "the pasted {} was not taken either");
      assert.equal(choosers, 0, "no file chooser opens while the walk runs");
      await ariaDisabled(verify, "Verify while the walk runs");
      await ariaDisabled(pasteSubmit, "Verify pasted JSON while the walk runs");
      assert.equal(await file.getAttribute("disabled"), null, "the file input stays focusable while the walk runs");
      assert.equal(await focused(verify), true, "Verify has the focus while the walk runs");
      assert.match(
        await page.getByTestId("verify-wait").innerText(),
        /^Checking attestation 0x[0-9a-f]{64} below\. A new id, JSON or file can be verified once that ends\.$/,
      );
      await env.shot(page, "43a-verify-checking");
      bundles.release();

      const done = page.locator('[data-testid="lineage"][data-state="done"]');
      await done.waitFor({ timeout: 90_000 });
      assert.equal(await done.getAttribute("data-ok"), "true", await page.locator("main").innerText());
      assert.equal(await done.getAttribute("aria-busy"), "false");
      assert.equal(await page.getByTestId("lineage").count(), 1, "one walk, one result");
      assert.equal(await page.getByRole("heading", { name: `Result: attestation ${attestation}` }).count(), 1);
      await offeredAgain(page, "the verdict is in");
      assert.equal(await focused(verify), true, "Verify still has the focus once the verdict is in");
      assert.equal(await pasteSubmit.isEnabled(), true, "Verify pasted JSON is offered again");
      assert.equal(await pasteSubmit.getAttribute("aria-disabled"), null);
      // the file input opens again (so that no chooser above was a refusal, not a missed event)
      await Promise.all([page.waitForEvent("filechooser", { timeout: 10_000 }), file.click()]);
      assert.equal(bundles.seen(), held, "the walk's bundle requests were held, and no other");
      env.log(
        `/verify: ${lookups} lookup request(s) held, attestation ${attestation} walked (${bundles.total()} bundle request(s))`,
      );
      await env.shot(page, "43-verify-done");
    } finally {
      await context.close();
    }
  });

  test("/verify when the walk cannot fetch the evidence bundle (500, then no answer): a FAIL naming the fetch and what to do, nothing busy, and a new Verify passes once it is served", async () => {
    const stack = env.stack();
    const attestation = env.fixture().attestations[0]!.id;
    const context = await env.browser().newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    page.setDefaultTimeout(30_000);
    try {
      let bundleRequests = 0;
      let serve: "500" | "abort" | "serve" = "500";
      await page.route("**/bundles/**", (route) => {
        bundleRequests++;
        if (serve === "500")
          return route.fulfill({ status: 500, contentType: "text/plain", body: "e2e: the bundle store is down" });
        if (serve === "abort") return route.abort("connectionreset");
        return route.continue();
      });
      await page.goto(`${stack.webUrl}/verify`);
      const { verify, field, lineage, summary } = controls(page);
      const bundleLink = lineage.locator('[data-link="bundle CID = on-chain CID"]');

      await field.fill(attestation);
      await verify.click();
      await page.locator('[data-testid="lineage"][data-state="done"]').waitFor({ timeout: 60_000 });
      await offeredAgain(page, "the bundle answered 500");
      assert.ok(bundleRequests >= 1, "the walk asked /bundles for the bundle");
      assert.equal(await lineage.getAttribute("data-ok"), "false");
      assert.equal(await bundleLink.getAttribute("data-verdict"), "FAIL");
      assert.match(
        await summary.innerText(),
        /^FAIL: 1 link broke, first “bundle CID = on-chain CID”: cannot get the bundle from this site's \/bundles: \/bundles\/\w+ answered 500(?: Internal Server Error)?: this site could not serve the bundle, so it was not checked \(no sign of tampering either way\); try again in a while \(\d+ ms\)\.$/,
      );
      await env.shot(page, "44-verify-bundle-500");
      await env.axe(page, "verify-bundle-500");

      // again, the request failing outright
      serve = "abort";
      await nextWalk(page, () => verify.click());
      await offeredAgain(page, "the bundle request failed");
      assert.equal(await bundleLink.getAttribute("data-verdict"), "FAIL");
      assert.match(
        await bundleLink.innerText(),
        /could not reach this site for \/bundles\/\w+ \(.+\), so the bundle was not checked: check your connection, then try again/,
      );

      // served again: the same Verify passes
      serve = "serve";
      await nextWalk(page, () => verify.click());
      await offeredAgain(page, "the bundle was served");
      assert.equal(await lineage.getAttribute("data-ok"), "true", await page.locator("main").innerText());
      assert.equal(await bundleLink.getAttribute("data-verdict"), "PASS");
      env.log(`/verify: a bundle answered 500, then failed, then was served (${bundleRequests} bundle requests)`);
    } finally {
      await context.close();
    }
  });

  test("/verify when the node stops answering during the walk: the error says so and what to do, nothing stays busy, and the next Verify runs", async () => {
    const stack = env.stack();
    // a credit id is not looked up: the walk is the first thing to read the chain
    const credit = env.fixture().creditId.toString();
    const context = await env.browser().newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    page.setDefaultTimeout(30_000);
    try {
      await page.goto(`${stack.webUrl}/verify`);
      const { verify, field, lineage, summary } = controls(page);
      await field.fill(credit);
      const node = new URL(stack.rpcUrl).origin;
      const toNode = (url: URL) => url.origin === node;
      let refused = 0;
      const down = (route: Route) => {
        refused++;
        return route.abort("connectionrefused");
      };
      await page.route(toNode, down);
      await verify.click();
      await page.locator('[data-testid="lineage"][data-state="done"]').waitFor({ timeout: 60_000 });
      assert.ok(refused > 0, "the walk asked the node");
      assert.equal(await lineage.getAttribute("data-ok"), "false");
      assert.equal(await lineage.locator('[data-link="verification"]').getAttribute("data-verdict"), "FAIL");
      const stopped = await summary.innerText();
      assert.match(stopped, /^Could not finish the checks: .+ Press Verify to check it again\.$/s);
      await offeredAgain(page, "an error stopped the walk");
      await env.shot(page, "45-verify-node-down");

      await page.unroute(toNode, down);
      await nextWalk(page, () => verify.click());
      assert.equal(await lineage.getAttribute("data-ok"), "true", await page.locator("main").innerText());
      await offeredAgain(page, "the walk after the error ended");
      env.log(
        `/verify: credit ${credit} with the node down (${refused} requests refused): ${stopped} Then: ${await summary.innerText()}`,
      );
    } finally {
      await context.close();
    }
  });
}
