/**
 * Browser end-to-end of the explorer's detail pages for ids created a moment ago (registered by
 * e2e/run.ts, on its one stack): an attestation, its facility, a device and the submitting
 * transaction, mined right after the indexer synced, open with 200 and their data, not 404
 * (lib/explorer/detail.ts: a miss counts only once the indexer has read up to the chain's head).
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { getAddress, type Address } from "viem";
import type { ExplorerTestEnv } from "./explorer.ts";
import { prepareFreshIds } from "./freshIds.ts";

export function addresses(file: string): {
  AttestationRegistry: Address;
  DeviceRegistry: Address;
  OracleSet: Address;
  CarbonCredits: Address;
  Marketplace: Address;
} {
  const raw = JSON.parse(readFileSync(file, "utf8")) as Record<string, string>;
  const find = (name: string) => {
    const key = Object.keys(raw).find((k) => k.split("#").pop() === name);
    if (!key) throw new Error(`${file} has no ${name}`);
    return getAddress(raw[key]!);
  };
  return {
    AttestationRegistry: find("AttestationRegistry"),
    DeviceRegistry: find("DeviceRegistry"),
    OracleSet: find("OracleSet"),
    CarbonCredits: find("CarbonCredits"),
    Marketplace: find("Marketplace"),
  };
}

export function explorerFreshTests(env: ExplorerTestEnv): void {
  const web = () => env.stack().webUrl;

  test("an attestation, its facility, device and transaction mined a moment after the indexer's last sync open their explorer pages (200), not 404", async () => {
    const stack = env.stack();
    const ctx = { rpcUrl: stack.rpcUrl, addresses: addresses(stack.addressesFile) };
    // A read warms the indexer (a sync, then 250 ms in which reads share it); the transactions are
    // mined right after, inside that window, so the pages' first lookups miss them. The indexer's
    // background sync may still land in between: three rounds, so that a page trusting that miss
    // is caught.
    let last: { attestation: string } | undefined;
    for (let round = 1; round <= 3; round++) {
      const ids = await prepareFreshIds(ctx, `e${round}${Date.now().toString(36)}`);
      const warm = await fetch(`${web()}/explorer/facilities/ktda-kangaita`);
      assert.equal(warm.status, 200);
      const warmedAt = Date.now();
      const sent = await ids.send();
      const askedAfterMs = Date.now() - warmedAt;
      const pages: [path: string, shows: string][] = [
        [`/explorer/attestations/${ids.attestationId}`, ids.attestationId],
        [`/explorer/facilities/${ids.facility}`, ids.facility],
        [`/explorer/devices/${ids.device}`, ids.device],
        // the receipt alone answered 200 before; the indexer's summary of it is what a miss lost
        [`/explorer/tx/${sent.attestationTx}`, 'data-testid="tx-summary"'],
      ];
      const answers = await Promise.all(
        pages.map(async ([path]) => {
          const r = await fetch(`${web()}${path}`);
          return { status: r.status, html: await r.text() };
        }),
      );
      pages.forEach(([path, shows], i) => {
        assert.equal(answers[i]!.status, 200, `${path}, created just now, answers 200`);
        assert.ok(answers[i]!.html.includes(shows), `${path} shows ${shows}`);
        assert.ok(!answers[i]!.html.includes('data-testid="not-indexed"'), `${path}: the indexer caught up`);
      });
      env.log(
        `round ${round}: ${ids.facility} (block ${sent.blockNumber}), asked ${askedAfterMs} ms after the warm read: 200 ×4`,
      );
      last = { attestation: `/explorer/attestations/${ids.attestationId}` };
    }
    // and in the browser: the attestation's page, with its audit link
    const context = await env.browser().newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    page.setDefaultTimeout(30_000);
    const response = await page.goto(`${web()}${last!.attestation}`);
    assert.equal(response?.status(), 200);
    assert.match(await page.getByRole("heading", { level: 1 }).innerText(), /^Attestation 0x/);
    await page.getByRole("link", { name: "Audit this attestation in the browser" }).waitFor();
    await env.axe(page, "explorer-fresh-attestation");
    await context.close();
  });
}
