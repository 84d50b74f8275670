/**
 * Browser end-to-end of the dApp's detail pages /credit/{id}, /certificate/{id} and
 * /listing/{id} (registered by e2e/run.ts, on its one stack, with the explorer fixture): an id
 * that is not a decimal number, or one that names nothing on the chain, answers 404 with a page
 * that says which, and links back; a real one answers 200 with the client view; a certificate
 * minted a moment ago answers 200 although the indexer had synced just before it.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { buyAndRetire, type ExplorerTestEnv } from "./explorer.ts";

/** The same stack, browser and explorer fixture as the explorer's tests. */
export type DetailPageTestEnv = ExplorerTestEnv;

/** An id of the right form that nothing goes by: far past every token, listing and certificate. */
const UNKNOWN = "999999999";

export function detailPageTests(env: DetailPageTestEnv): void {
  const web = () => env.stack().webUrl;

  test("a credit, certificate or listing page for a malformed or unknown id answers 404 and says which; a real one 200", async () => {
    const f = env.fixture();
    const context = await env.browser().newContext({ viewport: { width: 375, height: 800 } });
    const page = await context.newPage();
    page.setDefaultTimeout(30_000);
    const cases: [kind: string, heading: string, real: bigint, ready: string, malformed: string[]][] = [
      ["credit", "Credit not found", f.creditId, "issued", ["abc", "-1", "1.5", "0x10"]],
      ["certificate", "Certificate not found", f.certificateId, "certificate-record", ["zzz", "-1"]],
      ["listing", "Listing not found", f.listingId, "available", ["-1", "abc"]],
    ];
    for (const [kind, heading, real, ready, malformed] of cases) {
      for (const id of malformed) {
        const path = `/${kind}/${id}`;
        const response = await page.goto(`${web()}${path}`);
        assert.equal(response?.status(), 404, `${path} answers 404`);
        assert.equal(await page.getByRole("heading", { level: 1 }).innerText(), heading, path);
        const box = page.getByTestId("not-found");
        assert.equal(await box.getAttribute("data-well-formed"), "false", path);
        assert.match(await box.innerText(), new RegExp(`“${id.replace(".", "\\.")}” is not a ${kind} id\\.`), path);
        assert.match(await box.innerText(), /decimal digits|whole number/, `${path} says what form an id has`);
      }
      const path = `/${kind}/${UNKNOWN}`;
      const response = await page.goto(`${web()}${path}`);
      assert.equal(response?.status(), 404, `${path} answers 404`);
      assert.equal(await page.getByRole("heading", { level: 1 }).innerText(), heading, path);
      const box = page.getByTestId("not-found");
      assert.equal(await box.getAttribute("data-well-formed"), "true", path);
      assert.match(await box.innerText(), new RegExp(`^No .*“${UNKNOWN}”`), path);
      assert.ok((await page.locator('main a[href="/"]').count()) > 0, `${path} links back to the market`);
      assert.equal(await page.title(), `${heading} · CarbonProof`, path);
      await env.shot(page, `29-${kind}-not-found-phone`);
      await env.axe(page, `${kind}-not-found`);
      // The page fits a phone: nothing wider than the viewport.
      assert.ok(
        await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth),
        `${path} does not scroll sideways on a phone`,
      );

      const realPath = `/${kind}/${real}`;
      const ok = await page.goto(`${web()}${realPath}`);
      assert.equal(ok?.status(), 200, `${realPath} answers 200`);
      await page.getByTestId(ready).waitFor();
    }
    await context.close();
  });

  test("a certificate minted a moment after the indexer's last sync answers 200, not 404", async () => {
    const stack = env.stack();
    // A read warms the indexer (a sync, then 250 ms in which reads share it); the retirement is mined
    // right after, inside that window, so the page's first lookup misses it. The indexer's background
    // sync may still land in between: three rounds, so that a page trusting that miss is caught.
    for (let round = 1; round <= 3; round++) {
      let warmedAt = 0;
      const retired = await buyAndRetire(stack, 100n, async () => {
        const warm = await fetch(`${web()}/certificate/${env.fixture().certificateId}`);
        assert.equal(warm.status, 200);
        warmedAt = Date.now();
      });
      const askedAfterMs = Date.now() - warmedAt;
      const response = await fetch(`${web()}/certificate/${retired.certificateId}`);
      assert.equal(response.status, 200, `certificate ${retired.certificateId}, minted just now, answers 200`);
      env.log(
        `round ${round}: certificate ${retired.certificateId}, asked ${askedAfterMs} ms after the warm read: 200`,
      );
    }
  });
}
