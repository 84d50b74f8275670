/**
 * The embedded indexer's lists read by cursor (keyset) on a real SQLite store: thousands of
 * transfers with ties on the block (several logs, and several transfers of one batch log) and
 * facilities with equal emissions (ordered by id), walked page by page in both directions; and the
 * lists inside detail pages (detailList): a facility's 5,623 attestations with ties on the period
 * and on the block, an attestation's 5,623 readings, a device's readings tied on the time and
 * repeated in a correction batch, an account's 5,623 holdings tied on the amount, and 1,123 rows of
 * each list a detail method nests (a facility's devices and projects, a device's keys and history, an
 * attestation's corrections); the dashboard's reads of a facility's readings of a period and of its
 * devices, and the report's of its devices and projects, by cursor; and the header reads and the
 * devices list, counted in SQL rows.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  IndexerError,
  protocolIdKey,
  type DetailListName,
  type DetailLists,
  type Hex,
  type ListName,
  type ListPage,
  type Lists,
  type Page,
} from "@carbonproof/subgraph/client";
import {
  facilityDevicesUpTo,
  facilityFactsWithAttestations,
  facilityListsForReport,
  facilityWithAttestations,
} from "../../lib/reports/facility.ts";
import { buildReport, reportJson } from "../../lib/reports/report.ts";
import { facilityReadingsInRange, readingsOfAttestation } from "../../lib/reports/readings.ts";
import { EmbeddedIndexer } from "./embedded.ts";
import { openStore, type Store } from "./store.ts";
import { countingRows } from "./countingRows.test-support.ts";

const TRANSFERS = 2_345;
const FACILITIES = 230;
/** More rows than graph-node's skip reaches (5,000), plus a page and an odd remainder, as in subgraph/test/paging.test.ts. */
const DEEP = 5_000 + 500 + 123;
const deepFacility = protocolIdKey("deep-facility");
const device = "deep-device";
const hex = (n: number, bytes: number) => `0x${n.toString(16).padStart(bytes * 2, "0")}` as Hex;
const account = hex(0xacc, 20);

let dir: string;
let db: Store;
let ix: EmbeddedIndexer;
/** transfer ids newest first: block desc, log desc, sub-index desc */
let transfers: string[];
let transfersOfAccount: string[];
/** facility ids by fossil grams desc, then id asc */
let facilities: string[];
/** the deep facility's attestation ids: period desc, then block desc, log desc */
let attestationsOfFacility: Hex[];
/** the attestation holding DEEP readings, and their digests by leaf */
let bundle: Hex;
let readingsOfBundle: string[];
/** the account's positive balances (token ids), largest first, then token id ascending */
let holdingsOfAccount: string[];
/** the device's readings (attestation:leaf) newest first: ts desc, seq desc, attestation desc, leaf desc */
let readingsOfDevice: string[];
/** the lists the detail methods nest (first 1,000), WIDE rows each, in their order */
let nested: ReturnType<typeof seedNested>;
/** More rows than the detail methods' nested lists hold (1,000), and an odd remainder. */
const WIDE = 1_000 + 123;
const wideFacility = protocolIdKey("wide-facility");
const wideDevice = protocolIdKey("wide-device");

before(() => {
  dir = mkdtempSync(join(tmpdir(), "carbonproof-indexer-keyset-"));
  db = openStore(join(dir, "indexer.sqlite"));
  const rows: { id: string; block: number; log: number; sub: number; to: string }[] = [];
  const insert = db.prepare(
    `INSERT INTO transfers (id, credit, kind, operator, from_address, to_address, amount_kg, timestamp, block_number,
       log_index, sub_index, tx_hash) VALUES (?, 65538, 'Transfer', ?, ?, ?, 1, ?, ?, ?, ?, ?)`,
  );
  db.exec("BEGIN");
  for (let i = 0; i < TRANSFERS; i++) {
    // 3 logs a block, the second a batch of 2: ties on the block, and on block and log
    const block = Math.floor(i / 4);
    const log = [0, 1, 1, 2][i % 4]!;
    const sub = i % 4 === 2 ? 1 : 0;
    const row = { id: hex(((i * 7919) % TRANSFERS) + 1, 32), block, log, sub, to: i % 3 ? hex(0xb0b, 20) : account };
    rows.push(row);
    insert.run(row.id, hex(1, 20), hex(2, 20), row.to, 1_700_000_000 + block, block, log, sub, row.id);
  }
  const facility = db.prepare("INSERT INTO facilities (id, code, fossil_g, first_seen_at) VALUES (?, NULL, ?, 0)");
  const facilityRows: { id: string; fossil: number }[] = [];
  for (let i = 0; i < FACILITIES; i++) {
    const row = { id: hex(((i * 37) % FACILITIES) + 1, 32), fossil: 1000 * (i % 5) };
    facilityRows.push(row);
    facility.run(row.id, row.fossil);
  }
  // the facilities of the detail lists, with grams no other has (two more rows of the facilities list)
  facility.run(deepFacility, 1_000_000);
  facilityRows.push({ id: deepFacility, fossil: 1_000_000 });
  facility.run(wideFacility, 999_999);
  facilityRows.push({ id: wideFacility, fossil: 999_999 });
  seedDetailLists();
  holdingsOfAccount = seedHoldings();
  nested = seedNested();
  db.exec("COMMIT");
  rows.sort((a, b) => b.block - a.block || b.log - a.log || b.sub - a.sub);
  transfers = rows.map((r) => r.id);
  transfersOfAccount = rows.filter((r) => r.to === account).map((r) => r.id);
  facilityRows.sort((a, b) => b.fossil - a.fossil || (a.id < b.id ? -1 : 1));
  facilities = facilityRows.map((r) => r.id);
  ix = new EmbeddedIndexer(db);
});

/**
 * DEEP attestations of one facility (7 to a period, 3 to a block: ties on the period, and on the
 * period and block), inserted in another order than their key; the first holds DEEP readings (leaf
 * order ≠ insertion order) of which every 4th is `device`'s, 5 to a second; the second attestation,
 * a correction, repeats 500 of them (same digest, seq and time, another leaf).
 */
function seedDetailLists(): void {
  const attestation = db.prepare(
    `INSERT INTO attestations (id, facility, period_start, period_end, merkle_root, reading_count, fossil_g, biogenic_g,
       methodology_id, factor_set_id, bundle_cid, correction_of, signer_bitmap, signer_count, submitter, submitted_at,
       submitted_block, submitted_log, tx_hash)
     VALUES (?, ?, ?, ?, ?, 0, 0, 0, ?, ?, 'bafy', ?, '0', 0, ?, ?, ?, ?, ?)`,
  );
  const rows: { id: Hex; period: number; block: number; log: number }[] = [];
  for (let i = 0; i < DEEP; i++) {
    const j = (i * 7919) % DEEP;
    const row = { id: hex(0xa77e_0000 + j + 1, 32), period: Math.floor(j / 7), block: Math.floor(j / 3), log: j % 3 };
    rows.push(row);
    const start = 1_700_000_000 + row.period * 3600;
    const [z, a] = [hex(0, 32), hex(1, 20)];
    attestation.run(
      row.id,
      deepFacility,
      start,
      start + 3600,
      z,
      z,
      z,
      null,
      a,
      start + 7200,
      row.block,
      row.log,
      row.id,
    );
  }
  rows.sort((a, b) => b.period - a.period || b.block - a.block || b.log - a.log);
  attestationsOfFacility = rows.map((r) => r.id);

  bundle = attestationsOfFacility[0]!;
  const correction = attestationsOfFacility[1]!;
  const reading = db.prepare(
    `INSERT INTO readings (attestation_id, leaf_index, digest, facility, device_id, seq, ts, day, kind, source, fossil_mg,
       biogenic_mg) VALUES (?, ?, ?, ?, ?, ?, ?, 0, 'flue-gas', 'flue-gas', 1, 0)`,
  );
  const digests: string[] = [];
  const ofDevice: { key: string; ts: number; seq: number; attestation: string; leaf: number }[] = [];
  for (let i = 0; i < DEEP; i++) {
    const leaf = (i * 7919) % DEEP;
    const digest = hex(0xd1_0000 + leaf, 32);
    digests[leaf] = digest;
    const mine = leaf % 4 === 0;
    const seq = Math.floor(leaf / 4);
    const ts = 1_700_000_000 + Math.floor(seq / 5);
    reading.run(bundle, leaf, digest, deepFacility, mine ? device : "other", seq, ts);
    if (mine) ofDevice.push({ key: `${bundle}:${leaf}`, ts, seq, attestation: bundle, leaf });
    if (mine && seq < 500) {
      // the correction batch holds the same reading at another leaf
      const again = 10_000 + seq;
      reading.run(correction, again, digest, deepFacility, device, seq, ts);
      ofDevice.push({ key: `${correction}:${again}`, ts, seq, attestation: correction, leaf: again });
    }
  }
  readingsOfBundle = digests;
  ofDevice.sort(
    (a, b) =>
      b.ts - a.ts ||
      b.seq - a.seq ||
      (a.attestation < b.attestation ? 1 : a.attestation > b.attestation ? -1 : 0) ||
      b.leaf - a.leaf,
  );
  readingsOfDevice = ofDevice.map((r) => r.key);
}

/**
 * DEEP positive balances of `account`, one per token id, amounts tied by 37s, inserted in another
 * order; 100 zero balances of it and 200 of another account, which its holdings must not hold.
 */
function seedHoldings(): string[] {
  db.prepare(
    `INSERT INTO projects (id, facility, methodology_id, proponent, name, standard, active, registered_at,
       registered_block, registered_log, tx_hash) VALUES (1, ?, '0x', '0x', 'Deep project', 'test', 1, 0, 0, 0, '0x')`,
  ).run(deepFacility);
  const credit = db.prepare("INSERT INTO credits (token_id, project, vintage) VALUES (?, 1, 2026)");
  const balance = db.prepare("INSERT INTO balances (account, credit, amount_kg, updated_at) VALUES (?, ?, ?, 0)");
  const rows: { tokenId: number; amountKg: number }[] = [];
  for (let i = 0; i < DEEP + 300; i++) {
    const k = (i * 7919) % (DEEP + 300);
    const tokenId = 1_000_000 + k;
    const owner = k < DEEP + 100 ? account : hex(0xb0b, 20);
    const amountKg = k < DEEP ? 1 + (k % Math.floor(DEEP / 37)) : k < DEEP + 100 ? 0 : 5;
    credit.run(tokenId);
    balance.run(owner, tokenId, amountKg);
    if (owner === account && amountKg > 0) rows.push({ tokenId, amountKg });
  }
  rows.sort((a, b) => b.amountKg - a.amountKg || a.tokenId - b.tokenId);
  return rows.map((r) => String(r.tokenId));
}

/**
 * WIDE rows of each list a detail method nests, inserted in another order than their key, 3 to a
 * block (ties on the block) and corrections 7 to a period (ties on the period, then the block),
 * among 77 of another owner that the list must not hold: a facility's devices and projects, a
 * device's keys and events, an attestation's corrections. Gives each list's ids in its order.
 */
function seedNested() {
  const device = db.prepare(
    `INSERT INTO devices (id, code, facility, kind, status, metadata_uri, registered_at, registered_block, registered_log,
       status_changed_at, key_count) VALUES (?, NULL, ?, 'FlueGas', 'Active', '', 0, ?, ?, 0, 1)`,
  );
  const project = db.prepare(
    `INSERT INTO projects (id, facility, methodology_id, proponent, name, standard, active, registered_at,
       registered_block, registered_log, tx_hash) VALUES (?, ?, '0x', '0x', 'p', 'test', 1, 0, ?, ?, '0x')`,
  );
  const key = db.prepare(
    "INSERT INTO device_keys (device, idx, x, y, valid_from, added_at, tx_hash) VALUES (?, ?, '0x1', '0x2', 0, 0, '0x')",
  );
  const event = db.prepare(
    `INSERT INTO device_events (device, kind, timestamp, block_number, log_index, tx_hash)
     VALUES (?, 'MetadataUpdated', 0, ?, ?, ?)`,
  );
  const attestation = db.prepare(
    `INSERT INTO attestations (id, facility, period_start, period_end, merkle_root, reading_count, fossil_g, biogenic_g,
       methodology_id, factor_set_id, bundle_cid, correction_of, signer_bitmap, signer_count, submitter, submitted_at,
       submitted_block, submitted_log, tx_hash)
     VALUES (?, ?, ?, 0, '0x', 0, 0, 0, '0x', '0x', 'bafy', ?, '0', 0, '0x', 0, ?, ?, ?)`,
  );
  const corrected = hex(0xc0ffee, 32);
  const rows: { k: number; mine: boolean; block: number; log: number; period: number; submitted: number }[] = [];
  for (let i = 0; i < WIDE + 77; i++) {
    const k = (i * 7919) % (WIDE + 77);
    const row = {
      k,
      // the other owner's 77 rows are spread among the owner's in every key
      mine: k % 15 !== 7 || k >= 15 * 77,
      block: Math.floor(k / 3),
      log: k % 3,
      period: Math.floor(k / 7),
      // corrections submitted in another order than their periods (block = submitted / 3, log = submitted % 3)
      submitted: (k * 104_729) % (WIDE + 77),
    };
    rows.push(row);
    const owner = (mine: string, other: string) => (row.mine ? mine : other);
    device.run(hex(0xde0000 + k, 32), owner(wideFacility, deepFacility), row.block, row.log);
    project.run(10_000 + k, owner(wideFacility, deepFacility), row.block, row.log);
    key.run(owner(wideDevice, hex(0xde0000 + k, 32)), k);
    event.run(owner(wideDevice, hex(0xde0000 + k, 32)), row.block, row.log, hex(0xe0000 + k, 32));
    const [block, log] = [Math.floor(row.submitted / 3), row.submitted % 3];
    attestation.run(hex(0xc0000 + k, 32), wideFacility, row.period, owner(corrected, hex(1, 32)), block, log, "0x");
  }
  // the owners of the device's and the attestation's lists (of a facility no list here walks)
  device.run(wideDevice, hex(0xf, 32), WIDE + 77, 0);
  attestation.run(corrected, wideFacility, 0, null, WIDE + 77, 0, "0x");
  const mine = rows.filter((r) => r.mine);
  const byBlock = [...mine].sort((a, b) => a.block - b.block || a.log - b.log).map((r) => r.k);
  const byPeriod = [...mine].sort((a, b) => a.period - b.period || a.submitted - b.submitted).map((r) => r.k);
  return {
    corrected,
    devices: byBlock.map((k) => hex(0xde0000 + k, 32)),
    projects: byBlock.map((k) => String(10_000 + k)),
    keys: [...mine].sort((a, b) => a.k - b.k).map((r) => r.k),
    events: byBlock.map((k) => hex(0xe0000 + k, 32)),
    corrections: byPeriod.map((k) => hex(0xc0000 + k, 32)),
  };
}

after(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Every page of list `name` from the top by `next`, or from the last page back by `previous`. */
async function walk<K extends ListName>(
  name: K,
  filter: Lists[K]["filter"],
  first: number,
  from: "top" | "bottom",
  id: (row: Lists[K]["row"]) => string,
): Promise<string[][]> {
  const pages: string[][] = [];
  let p = await ix.list(name, filter, { first });
  if (from === "top") {
    pages.push(p.rows.map(id));
    while (p.next) {
      p = await ix.list(name, filter, { first, after: p.next });
      pages.push(p.rows.map(id));
    }
    return pages;
  }
  while (p.next) p = await ix.list(name, filter, { first, after: p.next });
  pages.push(p.rows.map(id));
  while (p.previous) {
    p = await ix.list(name, filter, { first, before: p.previous });
    pages.unshift(p.rows.map(id));
  }
  return pages;
}

test("transfers by cursor: ties on block and log ordered by sub-index, every row once, both directions", async () => {
  const down = await walk("transfers", {}, 100, "top", (t) => t.id);
  assert.equal(down.length, Math.ceil(TRANSFERS / 100));
  assert.deepEqual(down.flat(), transfers);
  assert.deepEqual((await walk("transfers", {}, 333, "bottom", (t) => t.id)).flat(), transfers);
});

test("transfers of an account by cursor (the UNION of both sides), every row once", async () => {
  assert.deepEqual((await walk("transfers", { account }, 97, "top", (t) => t.id)).flat(), transfersOfAccount);
  assert.deepEqual((await walk("transfers", { account }, 97, "bottom", (t) => t.id)).flat(), transfersOfAccount);
});

test("facilities by cursor: equal emissions ordered by id, a descending and an ascending column in one key", async () => {
  assert.deepEqual((await walk("facilities", {}, 17, "top", (f) => f.id)).flat(), facilities);
  assert.deepEqual((await walk("facilities", {}, 17, "bottom", (f) => f.id)).flat(), facilities);
});

test("a cursor gives the page skip would; a cursor of another list or none at all is refused", async () => {
  const top = await ix.list("transfers", {}, { first: 50 });
  assert.equal(top.previous, null);
  const second = await ix.list("transfers", {}, { first: 50, after: top.next! });
  assert.deepEqual(second.rows, await ix.transfers({}, { first: 50, skip: 50 }));
  await assert.rejects(
    ix.list("transfers", {}, { first: 50, after: "bm90IGEgY3Vyc29y" }),
    (e: unknown) => e instanceof IndexerError && e.code === "INDEXER_ARGUMENT_INVALID",
  );
  await assert.rejects(
    ix.list("facilities", {}, { first: 50, after: top.next! }),
    (e: unknown) => e instanceof IndexerError && e.code === "INDEXER_ARGUMENT_INVALID",
    "a transfers cursor (3 values) is not a facilities cursor (2)",
  );
});

/** Every page of detail list `name` from the top by `next`, or from the last page back by `previous`. */
async function walkDetail<K extends DetailListName>(
  name: K,
  filter: DetailLists[K]["filter"],
  first: number,
  from: "top" | "bottom",
  id: (row: DetailLists[K]["row"]) => string,
): Promise<string[][]> {
  const read = async (page: Page): Promise<ListPage<DetailLists[K]["row"]>> => {
    const p = await ix.detailList(name, filter, page);
    assert.ok(p, `${name}: the embedded indexer holds it`);
    return p;
  };
  const pages: string[][] = [];
  let p = await read({ first });
  assert.equal(p.previous, null, "the first page has no previous");
  if (from === "top") {
    pages.push(p.rows.map(id));
    while (p.next) {
      p = await read({ first, after: p.next });
      pages.push(p.rows.map(id));
    }
    return pages;
  }
  while (p.next) p = await read({ first, after: p.next });
  pages.push(p.rows.map(id));
  while (p.previous) {
    p = await read({ first, before: p.previous });
    pages.unshift(p.rows.map(id));
  }
  return pages;
}

test("a facility's attestations by cursor: 5,623 tied on the period and the block, every row once, both ways", async () => {
  const down = await walkDetail("facilityAttestations", { facility: "deep-facility" }, 50, "top", (a) => a.id);
  assert.equal(down.length, Math.ceil(DEEP / 50));
  assert.deepEqual(down.flat(), attestationsOfFacility);
  const up = await walkDetail("facilityAttestations", { facility: deepFacility }, 500, "bottom", (a) => a.id);
  assert.deepEqual(up.flat(), attestationsOfFacility);
  assert.deepEqual(
    (await ix.facility("deep-facility", { first: 50, skip: 5_550 }))!.attestations.map((a) => a.id),
    attestationsOfFacility.slice(5_550, 5_600),
    "facility(id, page) gives the same order",
  );
});

test("the report pages' reads past 1,000 rows: a facility's attestations down to a period start, an attestation's 5,623 readings (by cursor)", async () => {
  const all = await facilityWithAttestations(ix, "deep-facility", 0n);
  assert.deepEqual(
    all!.attestations.map((a) => a.id),
    attestationsOfFacility,
  );
  // down to the period starting at hour 400: those from it on, then what the last page held
  const fromTs = 1_700_000_000n + 400n * 3600n;
  const some = (await facilityWithAttestations(ix, "deep-facility", fromTs))!.attestations;
  const wanted = attestationsOfFacility.filter((_, i) => i < some.length);
  assert.deepEqual(
    some.map((a) => a.id),
    wanted,
  );
  assert.ok(some.at(-1)!.periodStart < fromTs, "read past the period's start");
  const from = some.filter((a) => a.periodStart >= fromTs);
  assert.ok(from.length > 999, `more than a page from the start (${from.length})`);
  // 7 attestations a period: periods 400…802 hold 7 each, the last (803) the 5,623rd's 2
  assert.equal(from.length, 403 * 7 + 2);
  assert.deepEqual(await (await readingsOfAttestation(ix, bundle))!.map((r) => r.digest), readingsOfBundle);
});

test("an attestation's 5,623 readings by cursor, in leaf order, every row once, both ways", async () => {
  const digest = (r: { digest: string }) => r.digest;
  assert.deepEqual(
    (await walkDetail("attestationReadings", { attestationId: bundle }, 50, "top", digest)).flat(),
    readingsOfBundle,
  );
  assert.deepEqual(
    (await walkDetail("attestationReadings", { attestationId: bundle }, 333, "bottom", digest)).flat(),
    readingsOfBundle,
  );
});

test("a device's readings by cursor: tied on the time, the same reading in a batch and its correction, every row once", async () => {
  const key = (r: { attestationId: string; leafIndex: number }) => `${r.attestationId}:${r.leafIndex}`;
  assert.equal(readingsOfDevice.length, Math.ceil(DEEP / 4) + 500);
  assert.deepEqual((await walkDetail("deviceReadings", { deviceId: device }, 50, "top", key)).flat(), readingsOfDevice);
  assert.deepEqual(
    (await walkDetail("deviceReadings", { deviceId: device }, 97, "bottom", key)).flat(),
    readingsOfDevice,
  );
  assert.deepEqual(
    (await ix.readings({ deviceId: device }, { first: 1000 }))!.map(key),
    readingsOfDevice.slice(0, 1000),
    "readings(filter) gives the same order",
  );
});

test("an account's 5,623 holdings by cursor: tied on the amount, zero balances left out, every row once, both ways", async () => {
  const tokenId = (h: { creditId: bigint }) => String(h.creditId);
  assert.deepEqual((await walkDetail("accountHoldings", { account }, 200, "top", tokenId)).flat(), holdingsOfAccount);
  assert.deepEqual((await walkDetail("accountHoldings", { account }, 61, "bottom", tokenId)).flat(), holdingsOfAccount);
  assert.deepEqual(
    (await ix.holdings(account)).map(tokenId),
    holdingsOfAccount.slice(0, 1000),
    "holdings(): the first 1000",
  );
});

test("a detail list's cursor of another list is refused", async () => {
  const readings = (await ix.detailList("attestationReadings", { attestationId: bundle }, { first: 10 }))!;
  await assert.rejects(
    ix.detailList("facilityAttestations", { facility: "deep-facility" }, { first: 10, after: readings.next! }),
    (e: unknown) => e instanceof IndexerError && e.code === "INDEXER_ARGUMENT_INVALID",
  );
});

test("the lists the detail methods nest (a facility's devices and projects, a device's keys and history, an attestation's corrections) by cursor: 1,000 and more, tied on the block or the period, every row once, both ways", async () => {
  const lists = {
    devices: () => walkDetail("facilityDevices", { facility: "wide-facility" }, 200, "top", (d) => d.id),
    projects: () => walkDetail("facilityProjects", { facility: wideFacility }, 200, "bottom", (p) => String(p.id)),
    keys: () => walkDetail("deviceKeys", { device: "wide-device" }, 200, "top", (k) => String(k.index)),
    events: () => walkDetail("deviceHistory", { device: wideDevice }, 200, "bottom", (h) => h.transactionHash),
    corrections: () =>
      walkDetail("attestationCorrections", { attestationId: nested.corrected }, 200, "top", (a) => a.id),
  };
  for (const [name, walkIt] of Object.entries(lists) as [keyof typeof lists, () => Promise<string[][]>][]) {
    const expected = nested[name].map(String);
    assert.equal(expected.length, WIDE, `${name}: past 1,000, without the other owner's`);
    assert.deepEqual((await walkIt()).flat(), expected, name);
  }
});

test("the dashboard's device activity: a facility's readings of a period by cursor (never by skip), from the newest, at most its cap", async () => {
  // the indexer as the dashboard reads it, with readings(filter, page) (OFFSET, skip) refused
  const byCursor = new Proxy(ix, {
    get(target, key) {
      if (key === "readings") throw new Error("read by skip");
      const value: unknown = Reflect.get(target, key, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  const all: string[] = [];
  for (let skip = 0; ; skip += 1000) {
    const page = (await ix.readings({ facility: deepFacility }, { first: 1000, skip }))!;
    all.push(...page.map((r) => `${r.attestationId}:${r.leafIndex}:${r.ts}`));
    if (page.length < 1000) break;
  }
  const key = (r: { attestationId: string; leafIndex: number; ts: number }) =>
    `${r.attestationId}:${r.leafIndex}:${r.ts}`;
  const ts = (k: string) => BigInt(k.split(":")[2]!);
  const [from, to] = [1_700_000_000n + 100n, 1_700_000_000n + 200n];
  const period = (await facilityReadingsInRange(byCursor, "deep-facility", from, to, 20_000))!;
  const inPeriod = all.filter((k) => ts(k) >= from && ts(k) < to);
  assert.ok(inPeriod.length > 1000, `more than a page (${inPeriod.length})`);
  assert.deepEqual([period.list.map(key), period.capped], [inPeriod, false]);
  const everything = (await facilityReadingsInRange(byCursor, "deep-facility", 0n, 2n ** 40n, 20_000))!;
  assert.deepEqual([everything.list.map(key), everything.capped], [all, false]);
  const capped = (await facilityReadingsInRange(byCursor, "deep-facility", 0n, 2n ** 40n, 2_500))!;
  assert.deepEqual([capped.list.map(key), capped.capped], [all.slice(0, 2_500), true]);
  // a past period, with more readings after it than its cap: all of its own, not capped (review:
  // the read began at the newest reading, and those after the period used up the cap)
  const [pastFrom, pastTo] = [from, from + 10n];
  const inPast = all.filter((k) => ts(k) >= pastFrom && ts(k) < pastTo);
  const later = all.filter((k) => ts(k) >= pastTo).length;
  assert.ok(
    inPast.length > 0 && later > inPast.length + 1,
    `${later} readings after the period, ${inPast.length} in it`,
  );
  const past = (await facilityReadingsInRange(byCursor, "deep-facility", pastFrom, pastTo, inPast.length + 1))!;
  assert.deepEqual([past.list.map(key), past.capped], [inPast, false]);
});

test("the header reads ask no nested list: a facility's, a device's and an attestation's facts in one SQL row each, where the detail reads read 1,000 of each list", async () => {
  const counted = countingRows(db);
  // a store object of its own: its statements are prepared (and counted) anew
  const cix = new EmbeddedIndexer(counted.db);
  const cost = async <T>(read: () => Promise<T>): Promise<[T, number]> => {
    const from = counted.rows();
    const value = await read();
    return [value, counted.rows() - from];
  };
  const [facility, facilityRows] = await cost(() => cix.facility("wide-facility", { first: 1 }));
  const [facilityHeader, facilityHeaderRows] = await cost(() => cix.facilityHeader("wide-facility"));
  const { devices, projects, attestations, ...facilityFacts } = facility!;
  assert.deepEqual([devices.length, projects.length, attestations.length], [1000, 1000, 1]);
  assert.ok(facilityRows >= 2001, `the detail: ${facilityRows} rows`);
  assert.deepEqual([facilityHeader, facilityHeaderRows], [facilityFacts, 1]);

  const [device, deviceRows] = await cost(() => cix.device("wide-device"));
  const [deviceHeader, deviceHeaderRows] = await cost(() => cix.deviceHeader(wideDevice));
  const { keys, history, ...deviceFacts } = device!;
  assert.deepEqual([keys.length, history.length], [1000, 1000]);
  assert.ok(deviceRows >= 2001, `the detail: ${deviceRows} rows`);
  assert.deepEqual([deviceHeader, deviceHeaderRows], [deviceFacts, 1]);

  const [attestation, attestationRows] = await cost(() => cix.attestation(nested.corrected));
  const [attestationHeader, attestationHeaderRows] = await cost(() => cix.attestationHeader(nested.corrected));
  const { corrections, ...attestationFacts } = attestation!;
  assert.equal(corrections.length, 1000);
  assert.ok(attestationRows >= 1001, `the detail: ${attestationRows} rows`);
  assert.deepEqual([attestationHeader, attestationHeaderRows], [attestationFacts, 1]);
});

test("the dashboard's facility: its devices past 1,000 by cursor, at most its cap, and its facts and attestations without the detail's nested lists", async () => {
  // the indexer as the dashboard reads it, with facility(id) (its first 1,000 devices and projects) refused
  const byCursor = new Proxy(ix, {
    get(target, key) {
      if (key === "facility") throw new Error("read the facility's nested lists");
      const value: unknown = Reflect.get(target, key, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  const ids = async (max: number) => {
    const read = (await facilityDevicesUpTo(byCursor, "wide-facility", max))!;
    return [read.list.map((d) => d.id), read.capped];
  };
  assert.deepEqual(await ids(5_000), [nested.devices, false], "all 1,123");
  assert.deepEqual(await ids(WIDE), [nested.devices, false], "as many as the cap: all, not capped");
  assert.deepEqual(await ids(1_100), [nested.devices.slice(0, 1_100), true]);
  assert.deepEqual(await ids(999), [nested.devices.slice(0, 999), true], "capped on a page's end");

  const fromTs = 1_700_000_000n + 400n * 3600n;
  const facts = (await facilityFactsWithAttestations(byCursor, "deep-facility", fromTs))!;
  const { devices, projects, attestations, ...header } = (await facilityWithAttestations(ix, "deep-facility", fromTs))!;
  assert.ok(devices.length && projects.length);
  assert.deepEqual(facts, { ...header, attestations });
});

test("the dashboard's and report's read of a past span starts at its end (periodStartBefore): the span's attestations, no page of later ones", async () => {
  const base = 1_700_000_000n;
  const [fromTs, toTs] = [base + 100n * 3600n, base + 300n * 3600n];
  const all = (await facilityWithAttestations(ix, "deep-facility", 0n))!.attestations;
  const pages: number[] = [];
  const counting = new Proxy(ix, {
    get(target, key) {
      const value: unknown = Reflect.get(target, key, target);
      if (key !== "detailList") return typeof value === "function" ? value.bind(target) : value;
      return async (...args: Parameters<EmbeddedIndexer["detailList"]>) => {
        const page = await target.detailList(...args);
        pages.push(page?.rows.length ?? -1);
        return page;
      };
    },
  });
  const read = (await facilityFactsWithAttestations(counting, "deep-facility", fromTs, toTs))!.attestations;
  const id = (a: { id: string }) => a.id;
  const inSpan = all.filter((a) => a.periodStart >= fromTs && a.periodStart < toTs);
  assert.ok(inSpan.length > 999, `more than a page in the span (${inSpan.length})`);
  assert.deepEqual(
    read.map(id),
    all
      .filter((a) => a.periodStart < toTs)
      .slice(0, read.length)
      .map(id),
  );
  assert.deepEqual(read.filter((a) => a.periodStart >= fromTs).map(id), inSpan.map(id));
  assert.ok(read.at(-1)!.periodStart < fromTs, "down to the page holding an older one");
  assert.deepEqual(pages, [999, 999], "two pages: the span's 1,400 and the first older ones");
  // a time past what the column holds bounds nothing (node:sqlite would refuse to bind it)
  const unbounded = await ix.detailList(
    "facilityAttestations",
    { facility: "deep-facility", periodStartBefore: 2n ** 64n },
    { first: 5 },
  );
  assert.deepEqual(unbounded!.rows.map(id), all.slice(0, 5).map(id));
  const readings = await ix.detailList(
    "facilityReadings",
    { facility: "deep-facility", beforeTs: 2n ** 64n },
    { first: 5 },
  );
  assert.equal(readings!.rows.length, 5);
  const none = await ix.detailList(
    "facilityAttestations",
    { facility: "deep-facility", periodStartBefore: -(2n ** 64n) },
    { first: 5 },
  );
  assert.deepEqual(none!.rows, []);
});

test("the devices list reads a device's own row (its facts, as deviceHeader), never its keys or history: a SQL row a device and one to see a next page", async () => {
  const counted = countingRows(db);
  const cix = new EmbeddedIndexer(counted.db);
  // the unfiltered list's first page starts with the device of 1,123 keys and events; the deep facility's 77 hold one each
  for (const [filter, first] of [
    [{}, 100],
    [{ facility: "deep-facility" }, 999],
  ] as const) {
    const from = counted.rows();
    const page = await cix.list("devices", filter, { first });
    const rows = counted.rows() - from;
    assert.ok(page.rows.length > 1, JSON.stringify(filter));
    assert.ok(
      rows <= page.rows.length + 1,
      `${JSON.stringify(filter)}: ${rows} SQL rows for ${page.rows.length} devices`,
    );
    for (const row of page.rows) assert.deepEqual(row, await ix.deviceHeader(row.id));
  }
  assert.equal((await cix.list("devices", {}, { first: 1 })).rows[0]!.id, wideDevice);
});

test("the report of a facility of 1,123 devices and projects lists them all (by cursor, facility() refused), or says at its top and in its JSON that it lists the first of them only", async () => {
  const byCursor = new Proxy(ix, {
    get(target, key) {
      if (key === "facility") throw new Error("read the facility's nested lists (their first 1,000)");
      const value: unknown = Reflect.get(target, key, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  const header = (await byCursor.facilityHeader("wide-facility"))!;
  const report = async (max?: { devices: number; projects: number }) =>
    buildReport({
      facility: {
        id: header.id,
        code: header.code,
        name: null,
        country: null,
        deviceCount: WIDE,
        ...(await facilityListsForReport(byCursor, header.id, max)),
      },
      range: { fromDay: 19_675, toDay: 19_705 },
      generatedAtS: 1_700_000_000,
      chain: { chainId: 31337, chainName: "test", attestationRegistry: null },
      attestations: [],
      readingsOf: null,
      knownFactorSets: {},
    });

  const whole = await report();
  assert.deepEqual(
    whole.installation.devices.map((d) => d.deviceId),
    nested.devices,
    "all 1,123 devices, oldest registration first",
  );
  assert.deepEqual(
    whole.installation.projects.map((p) => String(p.projectId)),
    nested.projects,
  );
  assert.deepEqual([whole.omissions, whole.installation.listedUpTo], [[], { devices: null, projects: null }]);
  assert.deepEqual(
    whole.processes.map((p) => p.deviceIds.length),
    [WIDE],
  );

  const capped = await report({ devices: 1_000, projects: 1_100 });
  assert.deepEqual(
    capped.installation.devices.map((d) => d.deviceId),
    nested.devices.slice(0, 1_000),
  );
  assert.equal(capped.installation.projects.length, 1_100);
  assert.deepEqual(capped.installation.listedUpTo, { devices: 1_000, projects: 1_100 });
  assert.equal(capped.omissions.length, 2);
  assert.match(capped.omissions[0]!, /^Only the first 1,000 monitoring devices .* it has 1,123 monitoring devices/);
  assert.match(capped.omissions[1]!, /^Only the first 1,100 credit projects /);
  // the JSON form says it near its top, before the installation
  const json = reportJson(capped);
  assert.deepEqual(JSON.parse(json).omissions, capped.omissions);
  assert.ok(json.indexOf('"omissions"') < json.indexOf('"installation"'));
});
