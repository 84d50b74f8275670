/**
 * The facility lookup of the dashboard and report pages (facility.ts lookUpFacility) against the
 * embedded indexer on a real chain (server/indexer/testChain.ts: Hardhat, Ignition, seed-demo): a
 * facility registered on the chain after the indexer's last block is "unknown" (the pages' "not
 * indexed yet", JSON 503 NOT_INDEXED_YET), not absent (404), while the indexer is behind the head;
 * once the indexer catches up it is present, and a facility nothing goes by is absent.
 *
 * The indexer behind the chain is a real one whose store was synced, then reopened with its RPC on
 * a port nothing listens on, so it cannot read on while the chain moves. `presence` is
 * indexedPresence's decision (settlePresence on the indexer's block and the chain's head) on this
 * test's indexer and chain, as in lib/explorer/detail.test.ts: indexedPresence itself reads the
 * process-wide indexer through Next's "@/" paths, which node's test runner cannot load; the web
 * app's e2e (e2e/notIndexedYet.ts) renders the pages for real.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createPublicClient, http, type PublicClient } from "viem";
import { freePort } from "../../../../sdk/src/test/ports.ts";
import { EmbeddedRuntime, type EmbeddedIndexerConfig } from "../../server/indexer/index.ts";
import { indexerConfigFor, presenceOn, startTestChain, type TestChain } from "../../server/indexer/testChain.ts";
import { prepareFreshIds } from "../../../e2e/freshIds.ts";
import { notIndexedYet, type PresenceLookup } from "../explorer/detail.ts";
import { lookUpFacility } from "./facility.ts";

let chain: TestChain;
let client: PublicClient;
let dir: string;
const runtimes: EmbeddedRuntime[] = [];

function runtime(overrides: Partial<EmbeddedIndexerConfig> = {}): EmbeddedRuntime {
  const r = new EmbeddedRuntime(
    indexerConfigFor(chain, {
      dbPath: join(dir, "indexer.sqlite"),
      pollMs: 60_000, // never started: syncs only when a read asks
      freshMs: 0, // answers from its store without waiting, as a busy indexer does
      log: () => {},
      ...overrides,
    }),
  );
  runtimes.push(r);
  return r;
}

before(async () => {
  chain = await startTestChain();
  client = createPublicClient({ transport: http(chain.rpcUrl) }) as PublicClient;
  dir = mkdtempSync(join(tmpdir(), "carbonproof-reports-facility-"));
});

after(async () => {
  for (const r of runtimes) await r.stop().catch(() => undefined);
  await chain?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test("a facility registered after the indexer's last block is not indexed yet (not absent) until the indexer catches up", async () => {
  const synced = runtime();
  await synced.syncNow();
  const indexedBlock = synced.indexer.indexedBlock();
  assert.ok(indexedBlock !== null);
  await synced.stop();
  const ids = await prepareFreshIds(
    { rpcUrl: chain.rpcUrl, addresses: chain.addresses },
    `r${Date.now().toString(36)}`,
  );
  const sent = await ids.send();
  assert.ok(sent.blockNumber > BigInt(indexedBlock), "registered after the indexer's last block");

  // The same store, cut off from the chain: it stays at indexedBlock while the chain is past it.
  const behind = runtime({ rpcUrl: `http://127.0.0.1:${await freePort()}` });
  const head = await client.getBlockNumber({ cacheTime: 0 });
  for (const id of [ids.facility, "ktda-nowhere"]) {
    const found = await lookUpFacility(behind.indexer, id, 0n, presenceOn(behind, client, 1_500));
    // even a facility that does not exist cannot be called absent by an indexer behind the head
    assert.deepEqual(found, { presence: "unknown", indexedBlock: Number(indexedBlock), head }, id);
  }
  assert.match(
    notIndexedYet("facility", Number(indexedBlock), head),
    new RegExp(
      `^The indexer is at block ${indexedBlock}, the chain at block ${head}: a facility created in the last ${head - BigInt(indexedBlock)} block\\(s\\) is not indexed yet\\. Reload in a few seconds\\.$`,
    ),
  );
  await behind.stop();

  // The indexer reads the chain again: the page's first read still answers from the old store, and
  // the decision waits for the sync it starts.
  const caughtUp = runtime();
  const found = await lookUpFacility(caughtUp.indexer, ids.facility, 0n, presenceOn(caughtUp, client, 60_000));
  assert.equal(found.presence, "present");
  assert.equal(found.presence === "present" && found.facility.code, ids.facility);
  assert.deepEqual(found.presence === "present" && found.facility.attestations.map((a) => a.id), [ids.attestationId]);
  assert.deepEqual(await lookUpFacility(caughtUp.indexer, "ktda-nowhere", 0n, presenceOn(caughtUp, client, 60_000)), {
    presence: "absent",
  });
});

test("a facility id of a form nothing can be registered under is absent without asking", async () => {
  const r = runtime({ dbPath: join(dir, "malformed.sqlite") });
  let asked = false;
  const presence: PresenceLookup = async () => ((asked = true), "unknown");
  for (const id of ["Not A Facility", "ktda/kangaita", "KTDA-Kangaita", "-leading-dash"])
    assert.deepEqual(await lookUpFacility(r.indexer, id, 0n, presence), { presence: "absent" }, id);
  assert.equal(asked, false);
});
