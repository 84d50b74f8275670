/**
 * The explorer's detail pages on an indexer miss (detail.ts), per route, against the embedded
 * indexer on a real chain (server/indexer/testChain.ts: Hardhat, Ignition, seed-demo): an id created
 * after the indexer's last sync is missing from the page's first read, and opens (present, with the
 * read that found it) instead of a 404; an id nothing goes by is absent once the indexer is at the
 * head; an indexer that cannot reach the head is unknown, with both blocks for the page.
 *
 * The indexer answers from its store without waiting for the chain (freshMs 0), as a busy one does
 * when its catch-up takes longer than a read waits. `presence` is indexedPresence's decision
 * (settlePresence on the indexer's block and the chain's head) on this test's indexer and chain:
 * indexedPresence itself reads the process-wide indexer and RPC client through Next's "@/" paths,
 * which node's test runner cannot load; the web app's e2e (e2e/explorerFresh.ts) runs it for real.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createPublicClient, createWalletClient, http, type Abi, type Hex, type PublicClient } from "viem";
import { mnemonicToAccount } from "viem/accounts";
import { chainFor } from "../../../../sdk/src/chain.ts";
import { carbonCreditsAbi } from "../../../../sdk/src/contracts/generated.ts";
import { freePort } from "../../../../sdk/src/test/ports.ts";
import { EmbeddedRuntime, type EmbeddedIndexerConfig } from "../../server/indexer/index.ts";
import { indexerConfigFor, presenceOn, startTestChain, type TestChain } from "../../server/indexer/testChain.ts";
import { prepareFreshIds } from "../../../e2e/freshIds.ts";
import { explorerDetails, notIndexedYet, settleDetail, type DetailRoute } from "./detail.ts";

const DEV = "test test test test test test test test test test test junk";
const UNKNOWN_HASH = `0x${"ab".repeat(32)}` as Hex;

let chain: TestChain;
let client: PublicClient;
let dir: string;
const runtimes: EmbeddedRuntime[] = [];
/** the indexer of the routes' cases */
let main: EmbeddedRuntime;
let tags = 0;

function runtime(overrides: Partial<EmbeddedIndexerConfig> = {}): EmbeddedRuntime {
  const r = new EmbeddedRuntime(
    indexerConfigFor(chain, {
      dbPath: join(dir, "indexer.sqlite"),
      pollMs: 60_000, // never started: syncs only when a read asks
      freshMs: 0,
      log: () => {},
      ...overrides,
    }),
  );
  runtimes.push(r);
  return r;
}

/**
 * Syncs `r` to the head, sends `create` (mined at once), then reads `route(made)` from `r` as the
 * page does first: that read must miss (else the test proves nothing); then the page's decision.
 */
async function freshCase<M, T>(
  r: EmbeddedRuntime,
  create: () => Promise<M>,
  route: (made: M) => DetailRoute<T>,
): Promise<{ made: M; first: T; detail: Awaited<ReturnType<typeof settleDetail<T>>> }> {
  await r.syncNow();
  const made = await create();
  const page = route(made);
  const first = await page.read(r.indexer);
  assert.equal(page.found(first), false, `${page.what}: the page's first read answers from before it was created`);
  return { made, first, detail: await settleDetail(page, first, presenceOn(r, client)) };
}

const chainCtx = () => ({ rpcUrl: chain.rpcUrl, addresses: chain.addresses });
const fresh = async () => {
  const ids = await prepareFreshIds(chainCtx(), `t${++tags}`);
  return async () => ({ ...ids, ...(await ids.send()) });
};

before(async () => {
  chain = await startTestChain();
  client = createPublicClient({ transport: http(chain.rpcUrl) }) as PublicClient;
  dir = mkdtempSync(join(tmpdir(), "carbonproof-explorer-detail-"));
  main = runtime();
});

after(async () => {
  for (const r of runtimes) await r.stop().catch(() => undefined);
  await chain?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test("an attestation submitted after the indexer's last sync opens its page, not a 404", async () => {
  const r = main;
  const { made, detail } = await freshCase(r, await fresh(), (m) => explorerDetails.attestation(m.attestationId));
  assert.equal(detail.presence, "present");
  assert.ok(detail.presence === "present" && detail.settled, "found by a read after the first");
  assert.equal(detail.data.attestation?.id, made.attestationId);
  assert.equal(detail.data.attestation?.readingCount, 6n);
});

test("a device registered after the indexer's last sync opens its page, not a 404", async () => {
  const r = main;
  const { made, detail } = await freshCase(r, await fresh(), (m) => explorerDetails.device(m.device));
  assert.equal(detail.presence, "present");
  assert.equal(detail.presence === "present" && detail.data.device?.code, made.device);
});

test("a facility first seen after the indexer's last sync opens its page, not a 404", async () => {
  const r = main;
  const { made, detail } = await freshCase(r, await fresh(), (m) => explorerDetails.facility(m.facility));
  assert.equal(detail.presence, "present");
  assert.equal(detail.presence === "present" && detail.data.facility?.code, made.facility);
  assert.equal(detail.presence === "present" && detail.data.facility?.attestationCount, 1);
  assert.equal(detail.presence === "present" && detail.data.attestations.page?.rows.length, 1, "its attestations list");
});

test("a transaction mined after the indexer's last sync shows what the indexer links to it", async () => {
  const r = main;
  const { made, detail } = await freshCase(r, await fresh(), (m) => explorerDetails.transaction(m.attestationTx, true));
  assert.equal(detail.presence, "present");
  assert.deepEqual(detail.presence === "present" && detail.data.map((h) => [h.kind, h.id, h.label]), [
    ["transaction", made.attestationTx, "transaction: attestation submitted"],
  ]);
});

test("an account that received credits after the indexer's last sync shows them", async () => {
  const r = main;
  await r.syncNow();
  // A holder of seed-demo's credits sends 1 kg to an address nothing has touched.
  const accounts = Array.from({ length: 10 }, (_, i) => mnemonicToAccount(DEV, { addressIndex: i }));
  let holder: { index: number; creditId: bigint } | undefined;
  for (const [index, a] of accounts.entries()) {
    const h = (await r.indexer.holdings(a.address.toLowerCase() as Hex)).find((x) => x.amountKg > 0n);
    if (h) {
      holder = { index, creditId: h.creditId };
      break;
    }
  }
  assert.ok(holder, "seed-demo leaves credits with a dev account");
  const to = mnemonicToAccount(DEV, { addressIndex: 19 }).address.toLowerCase() as Hex;
  const from = accounts[holder.index]!;
  const wallet = createWalletClient({
    account: from,
    chain: chainFor(31337, chain.rpcUrl),
    transport: http(chain.rpcUrl),
  });
  const { detail } = await freshCase(
    r,
    async () => {
      const hash = await wallet.writeContract({
        address: chain.addresses.CarbonCredits,
        abi: carbonCreditsAbi as Abi,
        functionName: "safeTransferFrom",
        args: [from.address, to, holder.creditId, 1n, "0x"],
        chain: undefined,
      });
      assert.equal((await client.waitForTransactionReceipt({ hash })).status, "success");
    },
    () => explorerDetails.account(to),
  );
  assert.equal(detail.presence, "present");
  assert.deepEqual(
    detail.presence === "present" && detail.data.holdings.page?.rows.map((h) => [h.creditId, h.amountKg]),
    [[holder.creditId, 1n]],
  );
});

test("an id nothing goes by is absent once the indexer is at the chain's head, on every route", async () => {
  const r = main;
  await r.syncNow();
  const routes: DetailRoute<unknown>[] = [
    explorerDetails.attestation(UNKNOWN_HASH),
    explorerDetails.device("no-such-meter"),
    explorerDetails.facility("ktda-nowhere"),
    explorerDetails.transaction(UNKNOWN_HASH, true),
    explorerDetails.account(`0x${"cd".repeat(20)}`),
  ] as DetailRoute<unknown>[];
  for (const route of routes) {
    const first = await route.read(r.indexer);
    assert.deepEqual(await settleDetail(route, first, presenceOn(r, client)), { presence: "absent" }, route.what);
  }
  // a transaction whose receipt has no CarbonProof event: nothing to wait for, the empty answer stands
  const none = explorerDetails.transaction(UNKNOWN_HASH, false);
  let asked = false;
  const detail = await settleDetail(none, await none.read(r.indexer), async () => ((asked = true), "absent"));
  assert.deepEqual([detail, asked], [{ presence: "present", data: [], settled: false }, false]);
});

test("an indexer that cannot reach the chain's head is unknown, with its block and the chain's for the page", async () => {
  // An indexer whose store is synced up to some block, then cut off from the chain (its RPC is a
  // port nothing listens on) while the chain moves on: it answers from its store.
  const dbPath = join(dir, "behind.sqlite");
  const synced = runtime({ dbPath });
  await synced.syncNow();
  const indexedBlock = synced.indexer.indexedBlock();
  assert.ok(indexedBlock !== null);
  await synced.stop();
  const behind = runtime({ dbPath, rpcUrl: `http://127.0.0.1:${await freePort()}` });
  const made = await (await fresh())();
  const route = explorerDetails.attestation(made.attestationId);
  const detail = await settleDetail(route, await route.read(behind.indexer), presenceOn(behind, client, 1_500));
  const head = await client.getBlockNumber({ cacheTime: 0 });
  assert.deepEqual(detail, { presence: "unknown", indexedBlock: Number(indexedBlock), head });
  assert.match(
    notIndexedYet("attestation", Number(indexedBlock), head),
    new RegExp(`indexer is at block ${indexedBlock}, the chain at block ${head}: .*Reload in a few seconds`),
  );
});
