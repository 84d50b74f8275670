/**
 * Browser end-to-end of /verify while it works (registered by e2e/run.ts, on its one stack, no
 * wallet). A pasted attestation id is first looked up on the chain (lib/audit/pastedId.ts), then
 * its lineage is walked in the browser (components/audit/Lineage.tsx). Both are made slow enough
 * to watch by holding their requests in playwright (page.route), not by a hook in the app: the
 * lookup's eth_getLogs to the node, and the walk's fetch of the evidence bundle from /bundles.
 * While the lookup runs, Verify is disabled, the page says so, and a second click or Enter starts
 * no second lookup; while the walk runs, its section is aria-busy; then the verdict shows.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { Route } from "playwright-core";
import type { ExplorerTestEnv } from "./explorer.ts";

/** Requests held until `release()`; `first` settles when the first one arrives. */
function gate() {
  const waiting: (() => void)[] = [];
  let open = false;
  let seen = 0;
  let arrived: () => void = () => {};
  const first = new Promise<void>((resolve) => (arrived = resolve));
  return {
    first,
    /** how many requests were held */
    seen: () => seen,
    async hold(route: Route): Promise<void> {
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

export function verifyBusyTests(env: ExplorerTestEnv): void {
  test("/verify while it works: Verify disabled and a second click starting nothing during the lookup, the walk aria-busy, then the verdict", async () => {
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
      const verify = page.getByRole("button", { name: "Verify", exact: true });
      const field = page.getByTestId("verify-id");
      await field.fill(attestation);
      await verify.click();
      await within(lookup.first, 15_000, "the lookup's eth_getLogs");
      await page.getByTestId("verify-looking-up").waitFor();
      assert.equal(await verify.isDisabled(), true, "Verify is disabled while the id is looked up");
      const lookups = lookup.seen();
      await verify.click({ force: true });
      await field.press("Enter");
      await page.waitForTimeout(1000);
      assert.equal(lookup.seen(), lookups, "a second click or Enter starts no second lookup");
      assert.equal(await page.getByTestId("lineage").count(), 0, "nothing is walked before the lookup ends");
      await env.shot(page, "42-verify-looking-up");
      await env.axe(page, "verify-looking-up");
      lookup.release();

      const lineage = page.getByTestId("lineage");
      await lineage.waitFor();
      await within(bundles.first, 30_000, "the walk's fetch of the evidence bundle");
      assert.equal(await lineage.getAttribute("aria-busy"), "true", "the walk is aria-busy while it runs");
      assert.equal(await lineage.getAttribute("data-state"), "running");
      assert.equal(await page.getByTestId("verify-looking-up").count(), 0);
      bundles.release();

      const done = page.locator('[data-testid="lineage"][data-state="done"]');
      await done.waitFor({ timeout: 90_000 });
      assert.equal(await done.getAttribute("data-ok"), "true", await page.locator("main").innerText());
      assert.equal(await done.getAttribute("aria-busy"), "false");
      assert.equal(await page.getByTestId("lineage").count(), 1, "one walk, one result");
      assert.equal(await page.getByRole("heading", { name: `Result: attestation ${attestation}` }).count(), 1);
      assert.equal(await verify.isEnabled(), true, "Verify is offered again");
      env.log(`/verify: ${lookups} lookup request(s) held, attestation ${attestation} walked`);
      await env.shot(page, "43-verify-done");
    } finally {
      await context.close();
    }
  });
}
