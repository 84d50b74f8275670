/**
 * The embedded backend beyond the shared spec, on the spec's scenario (scenario.ts) fed through
 * the real reducer into a real SQLite file: the explorer's list methods and search, rebuilding
 * the derived tables from the raw log, a handler failure counted as an indexing error, and the
 * evidence-bundle states (unavailable with backoff, invalid bytes).
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { IndexerError } from "@carbonproof/subgraph/client";
import {
  addr,
  att1,
  att2,
  att3,
  certificateId,
  day,
  device1,
  facilityA,
  hex32,
  t0,
  tokenId,
} from "../../../../subgraph/test/support/explorer.behavior.ts";
import { mapSource } from "../../../../sdk/src/index.ts";
import { BundleIndexer, readingSource } from "./bundles.ts";
import { EmbeddedIndexer } from "./embedded.ts";
import { applyEventSafely, rebuildDerived, recordEvent } from "./reducer.ts";
import { scenario } from "./scenario.ts";
import { openStore, setMeta, type Store } from "./store.ts";

let dir: string;
let db: Store;
let ix: EmbeddedIndexer;

before(() => {
  dir = mkdtempSync(join(tmpdir(), "carbonproof-indexer-lists-"));
  db = openStore(join(dir, "indexer.sqlite"));
  const events = scenario();
  for (const e of events) recordEvent(db, e);
  setMeta(db, "cursor", String(events.at(-1)!.blockNumber));
  ix = new EmbeddedIndexer(db);
});

after(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

test("devices: newest registration first, by facility and status, each row the device's facts (deviceHeader)", async () => {
  const all = await ix.devices();
  assert.deepEqual(
    all.map((d) => [d.code, d.facility.code, d.status, d.keyCount]),
    [["kangaita-chimney-1", "ktda-kangaita", "Active", 2]],
  );
  assert.deepEqual(all, [await ix.deviceHeader(device1)]);
  assert.equal((await ix.device(device1))!.keys.length, 2);
  assert.deepEqual(await ix.devices({ facility: "ktda-chinga" }), []);
  assert.deepEqual(await ix.devices({ status: "Suspended" }), []);
  assert.equal((await ix.devices({ facility: "ktda-kangaita", status: "Active" }))[0]!.id, device1);
});

test("oracle nodes: by index, with the attestations each co-signed", async () => {
  assert.deepEqual(
    (await ix.oracleNodes()).map((n) => [n.index, n.address, n.active, n.attestationsSigned]),
    [
      [0, addr(0x11), true, 2],
      [1, addr(0x22), true, 2],
      [2, addr(0x33), true, 2],
    ],
  );
  assert.deepEqual(
    (await ix.oracleNodes({ first: 1, skip: 2 })).map((n) => n.index),
    [2],
  );
});

test("issuances, transfers, sales, retirements and challenges: newest first, filtered", async () => {
  assert.deepEqual(await ix.issuances(), [
    {
      creditId: tokenId,
      attestationId: att1,
      facility: { id: facilityA, code: "ktda-kangaita" },
      projectId: 1n,
      amountKg: 800n,
      boundKg: 812n,
      timestamp: BigInt(t0 + 90_000),
      transactionHash: hex32(0x7f),
    },
  ]);
  assert.deepEqual(await ix.issuances({ facility: "ktda-chinga" }), []);

  const transfers = await ix.transfers({ creditId: tokenId });
  assert.deepEqual(
    transfers.map((t) => t.kind),
    ["Burn", "Transfer", "Transfer", "Transfer", "Transfer", "Transfer", "Transfer", "Transfer", "Mint"],
  );
  assert.deepEqual(
    (await ix.transfers({ account: addr(0xca7) })).map((t) => [t.from, t.to, t.amountKg]),
    [
      [addr(0xca7), addr(0x3a7), 100n],
      [addr(0xbeef), addr(0xca7), 100n],
    ],
  );
  assert.equal(new Set(transfers.map((t) => t.id)).size, transfers.length, "transfer ids are unique");
  assert.deepEqual(await ix.transfers({ creditId: tokenId + 1n }), []);
  // filters combine: an account's transfers of one credit (both sides of the UNION filtered)
  assert.deepEqual(
    (await ix.transfers({ account: addr(0xca7), creditId: tokenId })).map((t) => [t.from, t.to]),
    [
      [addr(0xca7), addr(0x3a7)],
      [addr(0xbeef), addr(0xca7)],
    ],
  );
  assert.deepEqual(await ix.transfers({ account: addr(0xca7), creditId: tokenId + 1n }), []);
  // an id beyond SQLite's integers matches nothing (no row can hold it) instead of failing
  const huge = 1n << 64n;
  for (const list of [
    ix.transfers({ creditId: huge }),
    ix.transfers({ creditId: huge, account: addr(0xca7) }),
    ix.issuances({ creditId: huge }),
    ix.listings({ creditId: huge }),
    ix.sales({ listingId: huge }),
    ix.sales({ creditId: huge }),
    ix.retirements({ creditId: huge }),
  ])
    assert.deepEqual(await list, []);

  const sales = await ix.sales();
  assert.deepEqual(
    sales.map((s) => [s.listingId, s.buyer, s.seller, s.amountKg, s.totalPrice, s.retired, s.certificateId]),
    [[1n, addr(0xb0b), addr(0xbeef), 100n, 2_500_000_000n, false, null]],
  );
  assert.equal((await ix.sales({ account: addr(0xbeef) })).length, 1, "the seller's sales");
  assert.deepEqual(await ix.sales({ listingId: 2n }), []);
  assert.equal(
    (await ix.sales({ listingId: 1n, creditId: tokenId, account: addr(0xb0b) })).length,
    1,
    "filters combine",
  );
  assert.deepEqual(await ix.sales({ listingId: 1n, account: addr(0xca7) }), []);

  assert.deepEqual(
    (await ix.retirements({ facility: "ktda-kangaita" })).map((r) => [r.certificateId, r.beneficiaryName, r.retiree]),
    [[certificateId, "Acme Tea Ltd", addr(0xb0b)]],
  );
  assert.equal((await ix.retirements({ account: addr(0xca7) })).length, 1, "as beneficiary");
  assert.deepEqual(await ix.retirements({ account: addr(0x999) }), []);
  assert.equal(
    (await ix.retirements({ account: addr(0xca7), facility: "ktda-kangaita", creditId: tokenId })).length,
    1,
  );
  assert.deepEqual(await ix.retirements({ account: addr(0xca7), facility: "ktda-chinga" }), []);

  assert.deepEqual(
    (await ix.challenges()).map((c) => [c.attestationId, c.facility.code, c.state, c.note, c.resolvedAt]),
    [[att2, "ktda-kangaita", "Upheld", "confirmed", BigInt(t0 + 8000)]],
  );
  assert.deepEqual(await ix.challenges({ state: "Pending" }), []);
});

test("search: each kind of term finds its record; exact matches only", async () => {
  const kinds = async (term: string) => (await ix.search(term)).map((h) => [h.kind, String(h.id)]);
  assert.deepEqual(await kinds("ktda-kangaita"), [["facility", facilityA]]);
  assert.deepEqual(await kinds(facilityA), [["facility", facilityA]]);
  assert.deepEqual(await kinds("kangaita-chimney-1"), [["device", device1]]);
  assert.deepEqual(await kinds(att1), [["attestation", att1]]);
  assert.deepEqual(await kinds(hex32(0x7f)), [["transaction", hex32(0x7f)]]);
  assert.deepEqual(await kinds(addr(0x11)), [["oracleNode", addr(0x11)]], "an oracle node that never held credits");
  assert.match(
    (await ix.search(hex32(0x90)))[0]!.label,
    /^transaction: credits transferred, certificate minted, credits retired$/,
  );
  assert.deepEqual(await kinds(addr(0xbeef).toUpperCase().replace("0X", "0x")), [["account", addr(0xbeef)]]);
  assert.deepEqual(await kinds(tokenId.toString()), [["credit", tokenId.toString()]]);
  assert.deepEqual(await kinds(certificateId.toString()), [["retirement", certificateId.toString()]]);
  assert.deepEqual(await kinds("2"), [["listing", "2"]]);
  assert.deepEqual(
    (await ix.search("bafybeibundle")).map((h) => (h.kind === "bundle" ? h.attestationId : null)).sort(),
    [att1, att2, att3].sort(),
  );
  for (const miss of ["ktda", "kangaita-chimney-2", hex32(0xdead), addr(0x999), "424242", ""])
    assert.deepEqual(await ix.search(miss), [], `no hit for ${JSON.stringify(miss)}`);
});

test("readings and source totals are empty until a bundle is indexed; bad arguments are IndexerErrors", async () => {
  assert.deepEqual(await ix.readings({ attestationId: att1 }), []);
  assert.deepEqual(await ix.sourceTotals({ fromDay: day, toDay: day + 1, facility: "ktda-kangaita" }), []);
  for (const call of [
    () => ix.facilities({ first: 0 }),
    () => ix.attestation("0x1234" as never),
    () => ix.holdings("0xnot" as never),
    () => ix.daily({ fromDay: 5, toDay: 4 }),
    () => ix.facility("Not An Id"),
  ])
    await assert.rejects(call(), (e: unknown) => e instanceof IndexerError && e.code === "INDEXER_ARGUMENT_INVALID");
});

test("rebuilding from the raw log gives the same derived state", async () => {
  const snapshot = async () => ({
    overview: await ix.overview(),
    facilities: await ix.facilities(),
    attestations: await ix.attestations(),
    transfers: await ix.transfers(),
    holdings: await ix.holdings(addr(0xbeef)),
    daily: await ix.daily({ fromDay: day - 1, toDay: day + 2 }),
    device: await ix.device("kangaita-chimney-1"),
  });
  const before = await snapshot();
  assert.equal(rebuildDerived(db), scenario().length);
  assert.deepEqual(await snapshot(), before);
});

test("an event the reducer cannot apply leaves no half-written rows and flags indexing errors", async () => {
  const [first] = scenario();
  const broken = { ...first!, blockNumber: 999, logIndex: 0, eventName: "OracleNodeAdded", args: { node: addr(0x44) } };
  const lines: string[] = [];
  const nodesBefore = (await ix.oracleNodes()).length;
  assert.equal(
    applyEventSafely(db, broken, (line) => lines.push(line)),
    false,
  );
  assert.equal((await ix.oracleNodes()).length, nodesBefore);
  assert.equal((await ix.overview()).indexingErrors, true);
  assert.match(lines[0]!, /could not be applied/);
  rebuildDerived(db); // the broken event was never stored in the raw log: a rebuild clears the flag
  assert.equal((await ix.overview()).indexingErrors, false);
});

test("a retirement whose consumption period ends at 2^64 − 1 (any retiree may write it) is indexed, not dropped", async () => {
  // review: bound as an INTEGER it threw past 2^63, the Retired event was rolled back, its
  // certificate page answered 404 and every explorer page warned of indexing errors
  const retired = scenario().find((e) => e.eventName === "Retired")!;
  const id = certificateId + 1000n;
  const far = {
    ...retired,
    blockNumber: retired.blockNumber + 10,
    args: {
      ...retired.args,
      certificateId: id.toString(),
      consumptionStart: "1",
      consumptionEnd: (2n ** 64n - 1n).toString(),
    },
  };
  const lines: string[] = [];
  assert.equal(
    applyEventSafely(db, far, (line) => lines.push(line)),
    true,
    lines.join("\n"),
  );
  const r = await ix.retirement(id);
  assert.equal(r?.consumptionEnd, 2n ** 64n - 1n);
  assert.equal(r?.consumptionStart, 1n);
  assert.equal((await ix.overview()).indexingErrors, false);
});

test("a bundle nobody has is 'unavailable' and retried with backoff; bytes of another CID are 'invalid'", async () => {
  let now = 1_000_000;
  const bundles = new BundleIndexer(db, { sources: [mapSource(new Map(), "an empty test store")], now: () => now });
  assert.equal(await bundles.runOnce(), 0);
  assert.equal(ix.bundleStatus(att1)?.state, "unavailable");
  assert.equal(ix.bundleStatus(att1)?.attempts, 1);
  assert.match(ix.bundleStatus(att1)!.error!, /No bundle for CID bafybeibundle/);
  assert.equal(await bundles.runOnce(), 0);
  assert.equal(ix.bundleStatus(att1)?.attempts, 1, "not retried before its backoff ends");
  now += 2_000;
  await bundles.runOnce();
  assert.equal(ix.bundleStatus(att1)?.attempts, 2);

  const wrong = new BundleIndexer(db, {
    sources: [mapSource(new Map([["bafybeibundle", new TextEncoder().encode("{}")]]), "a lying store")],
    now: () => now + 60_000,
  });
  await wrong.runOnce();
  assert.equal(ix.bundleStatus(att1)?.state, "invalid");
  assert.match(ix.bundleStatus(att1)!.error!, /do not hash to bafybeibundle/);
  assert.deepEqual(await ix.readings({ attestationId: att1 }), []);
});

test("reading sources: stack, grid, on-site renewable, fuel, manual", () => {
  const base = { v: 1 as const, deviceId: "d", facilityId: "f", seq: 0, ts: 0, intervalS: 60 };
  assert.equal(
    readingSource({
      ...base,
      kind: "flue-gas",
      m: { co2Ppm: 1, tempCentiC: 0, velocityMmS: 0, pressurePa: 0, ductDiameterMm: 0 },
    }),
    "flue-gas",
  );
  assert.equal(readingSource({ ...base, kind: "electricity", m: { energyWh: 10 } }), "electricity-grid");
  assert.equal(
    readingSource({ ...base, kind: "electricity", m: { energyWh: 10, renewableWh: 5 } }),
    "electricity-grid",
  );
  assert.equal(
    readingSource({ ...base, kind: "electricity", m: { energyWh: 0, renewableWh: 5 } }),
    "electricity-onsite-renewable",
  );
  assert.equal(readingSource({ ...base, kind: "fuel", m: { fuel: "diesel", volumeMl: 1 } }), "fuel");
  assert.equal(
    readingSource({ ...base, kind: "manual", m: { energyWh: 1, evidenceSha256: "0".repeat(64) } }),
    "manual",
  );
});

test("facilitiesDaily reads a range of days through the (day, facility) index, without sorting the table", async () => {
  // every statement the indexer prepares, so that the plans checked are those of the queries it runs
  const prepared: string[] = [];
  const spied = new Proxy(db, {
    get(target, prop) {
      if (prop === "prepare")
        return (sql: string) => {
          prepared.push(sql);
          return target.prepare(sql);
        };
      const v = Reflect.get(target, prop) as unknown;
      return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  const spiedIx = new EmbeddedIndexer(spied);
  const first = await spiedIx.facilitiesDaily({ fromDay: day - 500, toDay: day + 499 }, { first: 1 });
  assert.ok(first.rows.length === 1 && first.next, "the scenario has more than one facility-day");
  await spiedIx.facilitiesDaily({ fromDay: day - 500, toDay: day + 499 }, { first: 1, after: first.next });
  const reads = prepared.filter((s) => /\bFROM daily\b/.test(s));
  assert.ok(reads.length >= 2, `the first page and the next read the daily table: ${reads.join(" | ")}`);
  for (const sql of reads) {
    const plan = (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all() as { detail: string }[]).map((r) => r.detail);
    assert.ok(
      plan.some((d) => /\bdaily_day\b/.test(d)),
      `searched by day through daily_day: ${plan.join("; ")}`,
    );
    assert.ok(!plan.some((d) => /TEMP B-TREE/.test(d)), `no sort of its own: ${plan.join("; ")}`);
  }
});
