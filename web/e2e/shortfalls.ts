/**
 * Browser end-to-end of a period above a project's baseline (e2e/run.ts, on its one stack, after
 * the tests that read the seeded chain's clock: this one moves it past a challenge window). A new
 * facility's project is registered by the verifier, its quorum attests an hour that emitted far
 * more than the baseline, and the window passes. Then `/audit/project/<id>` lists the period,
 * an account that has nothing to do with the project (anyone may) records it with its wallet,
 * (reloading the page while its transaction is pending, which the page resumes), and the page,
 * the explorer's attestation and facility pages, and the project's debt on chain all show the
 * excess owed.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { BrowserContext, Page } from "playwright-core";
import { createPublicClient, createWalletClient, http, keccak256, toHex, type Hex, type PublicClient } from "viem";
import {
  chainFor,
  hashBatchHeader,
  idToBytes32,
  METHODOLOGY_ID,
  packQuorumSignatures,
  signBatchHeader,
  type BatchHeader,
} from "../../sdk/src/index.ts";
import type { ExplorerTestEnv } from "./explorer.ts";
import { addresses as deployed } from "./explorerFresh.ts";
import { abi, localQuorum } from "./freshIds.ts";

export type ShortfallTestEnv = Omit<ExplorerTestEnv, "fixture"> & {
  walletPage: (account: string) => Promise<{ context: BrowserContext; page: Page }>;
  connect: (page: Page) => Promise<void>;
  waitConfirmed: (page: Page) => Promise<void>;
};

const VERIFIER = 5; // seed-demo's verifier (registers projects)
const PROPONENT = 7;
const ANYONE = 9; // neither verifier, oracle node nor proponent

export function shortfallTests(env: ShortfallTestEnv): void {
  test("a period above the baseline: /audit/project lists it, any wallet records it, and the explorer shows what the project owes", async () => {
    const stack = env.stack();
    const a = deployed(stack.addressesFile);
    const credits = a.CarbonCredits;
    const transport = http(stack.rpcUrl);
    const client = createPublicClient({ transport, pollingInterval: 50 }) as PublicClient;
    const chainId = await client.getChainId();
    const chain = chainFor(chainId, stack.rpcUrl);
    const { accounts, signers } = await localQuorum(client, a.OracleSet);
    const wallet = (i: number) => createWalletClient({ account: accounts[i]!, chain, transport });
    const mined = async (hash: Hex) =>
      assert.equal((await client.waitForTransactionReceipt({ hash })).status, "success", `${hash} reverted`);

    const tag = `s${Date.now().toString(36)}`;
    const facility = `shortfall-${tag}`;
    const now = (await client.getBlock()).timestamp;
    // 24 kg a day: 1 kg an hour; the hour attested below emitted 12.345 t
    await mined(
      await wallet(VERIFIER).writeContract({
        address: credits,
        abi: abi("CarbonCredits"),
        functionName: "registerProject",
        args: [
          {
            proponent: accounts[PROPONENT]!.address,
            facilityId: idToBytes32(facility),
            methodologyId: METHODOLOGY_ID,
            name: `Shortfall ${tag}`,
            standard: "CarbonProof v1",
            baselineEffectiveFrom: now - 86_400n,
            baselineGramsPerDay: 24_000n,
            baselineCid: "",
          },
        ],
      }),
    );
    const projectId = Number(
      await client.readContract({ address: credits, abi: abi("CarbonCredits"), functionName: "projectCount" }),
    );
    const header: BatchHeader = {
      facilityId: idToBytes32(facility),
      periodStart: now - 3600n,
      periodEnd: now - 60n,
      merkleRoot: keccak256(toHex(`shortfall ${tag}`)),
      readingCount: 708,
      fossilCo2eGrams: 12_345_000n,
      biogenicCo2Grams: 0n,
      methodologyId: METHODOLOGY_ID,
      factorSetId: keccak256(toHex("shortfall factor set")),
      bundleCid: `bafkreishortfall${tag}`,
      correctionOf: `0x${"00".repeat(32)}`,
    } as BatchHeader;
    const domain = { chainId, verifyingContract: a.AttestationRegistry };
    const signatures = packQuorumSignatures(
      await Promise.all(
        signers.map(async (s) => ({ signer: s.address, signature: await signBatchHeader(s, header, domain) })),
      ),
    );
    await mined(
      await wallet(accounts.indexOf(signers[0]!)).writeContract({
        address: a.AttestationRegistry,
        abi: abi("AttestationRegistry"),
        functionName: "submit",
        args: [header, signatures],
      }),
    );
    const attestationId = hashBatchHeader(header, domain);
    const window = (await client.readContract({
      address: credits,
      abi: abi("CarbonCredits"),
      functionName: "challengeWindow",
    })) as bigint;
    await client.request({ method: "evm_increaseTime" as never, params: [Number(window) + 60] as never });
    await client.request({ method: "evm_mine" as never, params: [] as never });
    // 1 kg a day for 3,540 s is 983 g (rounded down by the contract): the rest is owed
    const baseline = (24_000n * 3540n) / 86_400n;
    const excess = 12_345_000n - baseline;
    env.log(`project ${projectId} of ${facility}: ${attestationId} is ${excess} g above its baseline`);

    const { context, page } = await env.walletPage(accounts[ANYONE]!.address);
    try {
      await page.goto(`${stack.webUrl}/audit/project/${projectId}`);
      const record = page.getByRole("button", { name: `Record the period of ${attestationId} above the baseline` });
      const row = page.locator("[data-testid=shortfalls-table] tbody tr").filter({ has: record });
      await row.waitFor();
      assert.equal(await page.locator("[data-testid=shortfalls-table] tbody tr").count(), 1);
      assert.match(await row.innerText(), /12\.345[\s\S]*12\.344/);
      assert.equal(await page.getByTestId("owed").innerText(), "0.000 t CO2e");
      await env.shot(page, "37-project-shortfalls");
      await env.axe(page, "project-shortfalls");
      await page.setViewportSize({ width: 375, height: 800 });
      await env.shot(page, "37-project-shortfalls-phone");
      await env.axe(page, "project-shortfalls-phone");
      await page.setViewportSize({ width: 1280, height: 900 });
      // without a wallet the button waits for one
      assert.equal(await record.isDisabled(), true);
      await env.connect(page);
      // the recording still pending when the page reloads (blocks mined by hand meanwhile): the page
      // picks it up again from its first render, every Record button held until it settles
      await client.request({ method: "evm_setAutomine" as never, params: [false] as never });
      try {
        await record.click();
        await page.locator("[data-tx=pending]").waitFor();
        await page.reload();
        await page.locator("[data-tx=pending]").waitFor();
        await record.waitFor();
        assert.equal(await record.isDisabled(), true, "Record is held while the resumed recording is pending");
      } finally {
        await client.request({ method: "evm_setAutomine" as never, params: [true] as never });
        await client.request({ method: "evm_mine" as never, params: [] as never });
      }
      await env.waitConfirmed(page);
      await page.getByTestId("shortfalls-none").waitFor();
      assert.equal(await page.getByTestId("owed").innerText(), "12.344 t CO2e");
      await env.shot(page, "38-project-shortfall-recorded");
    } finally {
      await context.close();
    }
    const project = (await client.readContract({
      address: credits,
      abi: abi("CarbonCredits"),
      functionName: "getProject",
      args: [projectId],
    })) as { correctionDebtGrams: bigint };
    assert.equal(project.correctionDebtGrams, excess, "the project owes the excess on chain");

    // the explorer (embedded indexer): the attestation names the shortfall, the facility the debt
    // (React separates adjacent text nodes with <!-- --> in server HTML)
    const text = async (path: string) =>
      (await (await fetch(`${stack.webUrl}${path}`)).text()).replaceAll("<!-- -->", "");
    assert.match(
      await text(`/explorer/attestations/${attestationId}`),
      new RegExp(
        `none: the period emitted 12\\.344 t CO2e above the baseline\\s+of project ${projectId}, which owes it`,
      ),
    );
    const facilityPage = await text(`/explorer/facilities/${facility}`);
    assert.ok(facilityPage.includes(">12.344<"), "the facility's projects table shows 12.344 t owed");
    assert.ok(facilityPage.includes(`href="/audit/project/${projectId}"`), "and links to the project's check");
  });
}
