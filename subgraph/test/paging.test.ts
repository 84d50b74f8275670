/**
 * Lists deeper than graph-node's `skip` limit, read by cursor through the subgraph client from the
 * graph-node stand-in (support/graph-node-standin.ts; graph-node cannot run here), which refuses
 * skip > 5000 and orders ties by id in the order's direction, as graph-node does: a browsable list
 * (transfers) and the lists inside detail pages (a facility's attestations, an account's holdings,
 * and the lists the detail methods nest: a facility's devices and projects, a device's keys and
 * history, an attestation's corrections).
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import { emptyStore, MAX_SKIP, put, startStandIn, type Store } from "./support/graph-node-standin.ts";
import { SubgraphIndexer } from "../client/subgraph.ts";
import { IndexerError } from "../client/errors.ts";
import { protocolIdKey } from "../client/ids.ts";
import type { DetailListName, DetailLists, Hex, Page } from "../client/types.ts";

const schemaSdl = readFileSync(join(dirname(fileURLToPath(import.meta.url)), "../schema.graphql"), "utf8");

/** More than graph-node pages to with `skip`, plus a page and an odd remainder. */
const COUNT = MAX_SKIP + 500 + 123;
/** Transfers of one block share a timestamp: 7 to a block, so pages end inside runs of ties. */
const PER_BLOCK = 7;
const t0 = 2_000_000_000;
const hex = (n: number, bytes: number) => `0x${n.toString(16).padStart(bytes * 2, "0")}` as Hex;
const account = hex(0xacc, 20);

/** Ids in another order than the timestamps (a permutation of 1…COUNT), so ties are ordered by id alone. */
const idOf = (i: number) => hex(((i * 7919) % COUNT) + 1, 32);

let server: { url: string; close: () => Promise<void> };
let indexer: SubgraphIndexer;
/** every transfer id in graph-node's order: timestamp desc, then id desc */
let expected: string[];
let expectedOfAccount: string[];
const deep = protocolIdKey("deep-facility");
/** the deep facility's attestation ids in graph-node's order: periodStart desc, then id desc */
let attestationsOfDeep: string[];
/** each of the deep facility's attestations' period start */
const periodStartOfDeep = new Map<string, number>();
/** the account's positive balances (token ids) in graph-node's order: amountKg desc, then id desc */
let holdingsOfAccount: string[];
/** the lists the detail methods nest (first 1,000), each of WIDE rows, in graph-node's order */
let nested: ReturnType<typeof putNested>;
/** More rows than the detail methods' nested lists hold (1,000), and an odd remainder. */
const WIDE = 1_000 + 123;
const wideDevice = protocolIdKey("wide-device");

before(async () => {
  const store = emptyStore();
  put(store, "Credit", {
    id: "65538",
    tokenId: "65538",
    project: "1",
    vintage: 2026,
    issuedKg: "0",
    retiredKg: "0",
    supplyKg: "0",
    retirementCount: 0,
    holderCount: 0,
    uri: null,
  });
  const rows: { id: string; timestamp: number; to: string }[] = [];
  for (let i = 0; i < COUNT; i++) {
    const row = {
      id: idOf(i),
      timestamp: t0 + Math.floor(i / PER_BLOCK),
      to: i % 3 === 0 ? account : hex(0xb0b, 20),
    };
    rows.push(row);
    put(store, "CreditTransfer", {
      id: row.id,
      credit: "65538",
      kind: "Transfer",
      operator: hex(1, 20),
      from: hex(2, 20),
      to: row.to,
      amountKg: "1",
      timestamp: String(row.timestamp),
      blockNumber: String(Math.floor(i / PER_BLOCK)),
      transactionHash: row.id,
    });
  }
  rows.sort((a, b) => b.timestamp - a.timestamp || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
  expected = rows.map((r) => r.id);
  expectedOfAccount = rows.filter((r) => r.to === account).map((r) => r.id);
  attestationsOfDeep = putAttestations(store);
  holdingsOfAccount = putBalances(store);
  nested = putNested(store);
  server = await startStandIn(schemaSdl, store);
  indexer = new SubgraphIndexer({ url: server.url });
});

/**
 * COUNT attestations of the deep facility (7 to a period, ids in another order) and, interleaved,
 * 300 of another facility that its list must not hold; gives the deep ones' ids in graph-node's order.
 */
function putAttestations(store: Store): string[] {
  const facility = (id: Hex, code: string) =>
    put(store, "Facility", {
      id,
      code,
      deviceCount: 0,
      activeDeviceCount: 0,
      attestationCount: 0,
      revokedAttestationCount: 0,
      readingCount: "0",
      fossilCo2eGrams: "0",
      biogenicCo2Grams: "0",
      attestedUntil: "0",
      creditsIssuedKg: "0",
      creditsRetiredKg: "0",
      firstSeenAt: String(t0),
    });
  const other = protocolIdKey("other-facility");
  facility(deep, "deep-facility");
  facility(other, "other-facility");
  const rows: { id: string; periodStart: number }[] = [];
  for (let i = 0; i < COUNT + 300; i++) {
    const id = hex(0xa77e_0000 + ((i * 7919) % (COUNT + 300)) + 1, 32);
    // the other facility's 300 share the periods of the deep one's first 300
    const ofDeep = i < COUNT;
    const periodStart = t0 + Math.floor((i % COUNT) / PER_BLOCK) * 3600;
    if (ofDeep) rows.push({ id, periodStart });
    put(store, "Attestation", {
      id,
      registry: hex(0xa77, 20),
      facility: ofDeep ? deep : other,
      periodStart: String(periodStart),
      periodEnd: String(periodStart + 3600),
      merkleRoot: hex(0x400, 32),
      readingCount: "60",
      fossilCo2eGrams: "1",
      biogenicCo2Grams: "0",
      methodologyId: hex(0x111, 32),
      factorSetId: hex(0x222, 32),
      bundleCid: "bafybeibundle",
      correctionOf: null,
      isCorrection: false,
      signerBitmap: "5",
      signerCount: 2,
      submitter: hex(0x11, 20),
      // submitted in another order than the periods (a late batch, a correction), as happens
      submittedAt: String(t0 + ((i * 104_729) % 9_973)),
      submittedBlock: String(i),
      transactionHash: id,
      revoked: false,
      revocation: null,
      challengeState: "None",
      challenge: null,
      issuance: null,
      correctionRecord: null,
      shortfall: null,
      pendingCorrectionGrams: null,
    });
  }
  rows.sort((a, b) => b.periodStart - a.periodStart || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
  for (const r of rows) periodStartOfDeep.set(r.id, r.periodStart);
  return rows.map((r) => r.id);
}

/**
 * COUNT positive balances of `account`, one per token id, amounts tied by 37s (so ties are ordered
 * by id, account ++ token id), inserted in another order; 100 zero balances of it and 200 of another
 * account that its holdings must not hold. Gives its holdings' token ids in graph-node's order.
 */
function putBalances(store: Store): string[] {
  put(store, "Project", { id: "1", projectId: "1", name: "Deep project" });
  put(store, "Account", { id: account });
  const rows: { id: string; tokenId: string; amountKg: number }[] = [];
  for (let i = 0; i < COUNT + 300; i++) {
    const k = (i * 7919) % (COUNT + 300);
    const tokenId = String(1_000_000 + k);
    const owner = k < COUNT + 100 ? account : hex(0xb0b, 20);
    const amountKg = k < COUNT ? 1 + (k % ((COUNT / 37) | 0)) : k < COUNT + 100 ? 0 : 5;
    const id = `${owner}${BigInt(tokenId).toString(16).padStart(64, "0")}`;
    put(store, "Credit", {
      id: tokenId,
      tokenId,
      project: "1",
      vintage: 2026,
      issuedKg: "0",
      retiredKg: "0",
      supplyKg: "0",
      retirementCount: 0,
      holderCount: 0,
      uri: null,
    });
    put(store, "Balance", { id, account: owner, credit: tokenId, amountKg: String(amountKg), updatedAt: String(t0) });
    if (owner === account && amountKg > 0) rows.push({ id, tokenId, amountKg });
  }
  rows.sort((a, b) => b.amountKg - a.amountKg || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
  return rows.map((r) => r.tokenId);
}

/**
 * WIDE rows of each list a detail method nests, inserted in another order than their key, tied 7
 * to a value of the order field (so ties are ordered by id), among rows of another owner that the
 * list must not hold: the deep facility's devices and projects (project ids decimal text, which
 * graph-node orders as text: "1000" before "999"), a device's keys and events, an attestation's
 * corrections. Gives each list's ids in graph-node's order: the field ascending, then id ascending.
 */
function putNested(store: Store) {
  const other = protocolIdKey("other-facility");
  const corrected = hex(0xc0ffee, 32);
  const byKey = (rows: { id: string; key: number; mine: boolean }[]) =>
    rows
      .filter((r) => r.mine)
      .sort((a, b) => a.key - b.key || (a.id.toLowerCase() < b.id.toLowerCase() ? -1 : 1))
      .map((r) => r.id);
  const devices: { id: string; key: number; mine: boolean }[] = [];
  const projects: { id: string; key: number; mine: boolean }[] = [];
  const keys: { id: string; key: number; mine: boolean }[] = [];
  const events: { id: string; key: number; mine: boolean }[] = [];
  const corrections: { id: string; key: number; mine: boolean }[] = [];
  for (let i = 0; i < WIDE + 77; i++) {
    const k = (i * 7919) % (WIDE + 77);
    const mine = k < WIDE;
    const tied = t0 + Math.floor(k / 7);
    const device = { id: hex(0xde0000 + k, 32), key: tied, mine };
    devices.push(device);
    put(store, "Device", {
      id: device.id,
      code: null,
      facility: mine ? deep : other,
      kind: "FlueGas",
      status: "Active",
      statusReason: null,
      metadataURI: "",
      registeredAt: String(tied),
      registeredBlock: String(k),
      statusChangedAt: String(tied),
      currentKey: hex(0, 32),
      keyCount: 1,
    });
    const project = { id: String(900 + k), key: tied, mine };
    projects.push(project);
    put(store, "Project", {
      id: project.id,
      projectId: project.id,
      facility: mine ? deep : other,
      methodologyId: hex(0x111, 32),
      proponent: hex(0x22, 20),
      name: `project ${project.id}`,
      standard: "test",
      active: true,
      registeredAt: String(tied),
      transactionHash: hex(k, 32),
      issuedKg: "0",
      retiredKg: "0",
      owedGrams: "0",
      shortfallGramsRecorded: "0",
    });
    const key = { id: `${wideDevice}${k.toString(16).padStart(8, "0")}`, key: k, mine };
    keys.push(key);
    put(store, "DeviceKey", {
      id: key.id,
      device: mine ? wideDevice : device.id,
      index: k,
      x: hex(1, 32),
      y: hex(2, 32),
      validFrom: String(tied),
      validUntil: null,
      addedAt: String(tied),
      transactionHash: hex(k, 32),
    });
    const event = { id: hex(0xe0000 + ((k * 104_729) % (WIDE + 77)), 32), key: tied, mine };
    events.push(event);
    put(store, "DeviceEvent", {
      id: event.id,
      device: mine ? wideDevice : device.id,
      kind: "MetadataUpdated",
      reason: null,
      metadataURI: "",
      key: null,
      timestamp: String(tied),
      blockNumber: String(k),
      transactionHash: event.id,
    });
    const correction = { id: hex(0xc0000 + ((k * 104_729) % (WIDE + 77)), 32), key: tied, mine };
    corrections.push(correction);
    put(store, "Attestation", {
      id: correction.id,
      registry: hex(0xa77, 20),
      facility: other,
      periodStart: String(tied),
      periodEnd: String(tied + 3600),
      merkleRoot: hex(0x400, 32),
      readingCount: "1",
      fossilCo2eGrams: "1",
      biogenicCo2Grams: "0",
      methodologyId: hex(0x111, 32),
      factorSetId: hex(0x222, 32),
      bundleCid: "bafybeibundle",
      correctionOf: mine ? corrected : null,
      isCorrection: mine,
      signerBitmap: "5",
      signerCount: 2,
      submitter: hex(0x11, 20),
      submittedAt: String(tied),
      submittedBlock: String(k),
      transactionHash: correction.id,
      revoked: false,
      revocation: null,
      challengeState: "None",
      challenge: null,
      issuance: null,
      correctionRecord: null,
      shortfall: null,
      pendingCorrectionGrams: null,
    });
  }
  // the owners of the device's and the attestation's lists
  put(store, "Device", {
    id: wideDevice,
    code: "wide-device",
    facility: other,
    kind: "FlueGas",
    status: "Active",
    statusReason: null,
    metadataURI: "",
    registeredAt: String(t0),
    registeredBlock: "0",
    statusChangedAt: String(t0),
    currentKey: hex(0, 32),
    keyCount: WIDE,
  });
  put(store, "Attestation", {
    ...store.get("Attestation")!.get(corrections[0]!.id)!,
    id: corrected,
    correctionOf: null,
    isCorrection: false,
    transactionHash: corrected,
  });
  return {
    corrected,
    devices: byKey(devices),
    projects: byKey(projects),
    keys: byKey(keys).map((id) => Number.parseInt(id.slice(-8), 16)),
    events: byKey(events),
    corrections: byKey(corrections),
  };
}

after(async () => {
  await server.close();
});

/** Every page of `transfers` from the top by `next`, or from the bottom by `previous`. */
async function walk(filter: { account?: Hex }, first: number, from: "top" | "bottom") {
  const pages: string[][] = [];
  let cursor: string | null | undefined;
  if (from === "bottom") {
    // the last page: the one whose next is null, found by walking down
    let p = await indexer.list("transfers", filter, { first });
    while (p.next) p = await indexer.list("transfers", filter, { first, after: p.next });
    pages.push(p.rows.map((t) => t.id));
    cursor = p.previous;
    while (cursor) {
      p = await indexer.list("transfers", filter, { first, before: cursor });
      pages.unshift(p.rows.map((t) => t.id));
      cursor = p.previous;
    }
    return pages;
  }
  do {
    const p = await indexer.list("transfers", filter, cursor ? { first, after: cursor } : { first });
    pages.push(p.rows.map((t) => t.id));
    cursor = p.next;
  } while (cursor);
  return pages;
}

test("the stand-in refuses skip above 5000 as graph-node does, and the client does not send it", async () => {
  await assert.rejects(
    indexer.query(
      `query { creditTransfers(first: 10, skip: ${MAX_SKIP + 1}) { id } }`,
      {},
      z.object({ creditTransfers: z.array(z.unknown()) }),
    ),
    (e: unknown) =>
      e instanceof IndexerError &&
      e.code === "INDEXER_QUERY_FAILED" &&
      /The `skip` argument must be between 0 and 5000, but is 5001/.test(e.message),
  );
  await assert.rejects(
    indexer.transfers({}, { first: 100, skip: MAX_SKIP + 100 }),
    (e: unknown) => e instanceof IndexerError && e.code === "INDEXER_ARGUMENT_INVALID" && /page.after/.test(e.message),
  );
});

test("list: a list deeper than skip reaches, walked by `next` to the end, gives every row once, ties in id order", async () => {
  const pages = await walk({}, 100, "top");
  assert.equal(pages.length, Math.ceil(COUNT / 100));
  assert.ok(pages.slice(0, -1).every((p) => p.length === 100));
  assert.deepEqual(pages.flat(), expected);
});

test("list: walked back by `previous` from the last page, the same rows in the same order", async () => {
  const pages = await walk({}, 500, "bottom");
  assert.deepEqual(pages.flat(), expected);
  assert.equal(pages.at(-1)!.length, COUNT % 500 || 500);
});

test("list: a filter with `or` (an account on either side) is combined with the cursor, every row once", async () => {
  const pages = await walk({ account }, 250, "top");
  assert.deepEqual(pages.flat(), expectedOfAccount);
});

test("list: the first page has no previous, the last no next; a cursor of another shape is refused", async () => {
  const top = await indexer.list("transfers", {}, { first: 10 });
  assert.equal(top.previous, null);
  assert.deepEqual(
    top.rows.map((t) => t.id),
    expected.slice(0, 10),
  );
  const second = await indexer.list("transfers", {}, { first: 10, after: top.next! });
  assert.deepEqual(
    (await indexer.list("transfers", {}, { first: 10, before: second.previous! })).rows.map((t) => t.id),
    expected.slice(0, 10),
  );
  await assert.rejects(
    indexer.list("transfers", {}, { first: 10, after: "not-a-cursor" }),
    (e: unknown) => e instanceof IndexerError && e.code === "INDEXER_ARGUMENT_INVALID",
  );
  await assert.rejects(
    indexer.list("transfers", {}, { first: 10, after: top.next!, skip: 10 }),
    (e: unknown) => e instanceof IndexerError && e.code === "INDEXER_ARGUMENT_INVALID",
  );
});

/** Every page of the deep facility's attestations from the top by `next`, or from the last page back by `previous`. */
async function walkAttestations(
  first: number,
  from: "top" | "bottom",
  periodStartBefore?: bigint,
): Promise<string[][]> {
  const filter = { facility: "deep-facility", ...(periodStartBefore !== undefined && { periodStartBefore }) };
  const read = async (page: Page) => {
    const p = await indexer.detailList("facilityAttestations", filter, page);
    assert.ok(p, "the subgraph holds a facility's attestations");
    return p;
  };
  const pages: string[][] = [];
  let p = await read({ first });
  assert.equal(p.previous, null);
  if (from === "top") {
    pages.push(p.rows.map((a) => a.id));
    while (p.next) {
      p = await read({ first, after: p.next });
      pages.push(p.rows.map((a) => a.id));
    }
    return pages;
  }
  while (p.next) p = await read({ first, after: p.next });
  pages.push(p.rows.map((a) => a.id));
  while (p.previous) {
    p = await read({ first, before: p.previous });
    pages.unshift(p.rows.map((a) => a.id));
  }
  return pages;
}

test("detailList: a facility's 5,623 attestations (7 to a period) by `next` and back by `previous`, each once in graph-node's order", async () => {
  const down = await walkAttestations(50, "top");
  assert.equal(down.length, Math.ceil(COUNT / 50));
  assert.deepEqual(down.flat(), attestationsOfDeep);
  assert.deepEqual((await walkAttestations(500, "bottom")).flat(), attestationsOfDeep);
});

test("detailList: a facility's attestations of the periods starting before a time (periodStart_lt), by cursor both ways: a past span's read starts at its end", async () => {
  const before = t0 + 400 * 3600;
  const wanted = attestationsOfDeep.filter((id) => periodStartOfDeep.get(id)! < before);
  assert.ok(wanted.length > 2_000 && wanted.length < attestationsOfDeep.length - 2_000, `${wanted.length} before`);
  assert.deepEqual((await walkAttestations(500, "top", BigInt(before))).flat(), wanted);
  assert.deepEqual((await walkAttestations(300, "bottom", BigInt(before))).flat(), wanted);
  // past any period: all of them
  assert.deepEqual((await walkAttestations(999, "top", 2n ** 64n)).flat(), attestationsOfDeep);
});

test("detailList: the facility page's own attestations are the list's first rows; past skip 5000 it says to page by cursor", async () => {
  const top = await indexer.detailList("facilityAttestations", { facility: deep }, { first: 50 });
  assert.deepEqual((await indexer.facility("deep-facility", { first: 50 }))!.attestations, top!.rows);
  await assert.rejects(
    indexer.facility("deep-facility", { first: 50, skip: 5050 }),
    (e: unknown) => e instanceof IndexerError && e.code === "INDEXER_ARGUMENT_INVALID",
  );
  assert.equal(
    await indexer.detailList("attestationReadings", { attestationId: attestationsOfDeep[0] as Hex }, { first: 10 }),
    null,
  );
});

test("detailList: an account's 5,623 holdings (amounts tied) by `next` and back by `previous`, each once in graph-node's order", async () => {
  const read = async (page: Page) => {
    const p = await indexer.detailList("accountHoldings", { account }, page);
    assert.ok(p);
    return p;
  };
  const tokenIds = (rows: { creditId: bigint }[]) => rows.map((h) => String(h.creditId));
  const forth: string[] = [];
  let p = await read({ first: 200 });
  forth.push(...tokenIds(p.rows));
  while (p.next) {
    p = await read({ first: 200, after: p.next });
    forth.push(...tokenIds(p.rows));
  }
  assert.deepEqual(forth, holdingsOfAccount);
  const back = tokenIds(p.rows);
  while (p.previous) {
    p = await read({ first: 200, before: p.previous });
    back.unshift(...tokenIds(p.rows));
  }
  assert.deepEqual(back, holdingsOfAccount);
  assert.deepEqual(
    tokenIds(await indexer.holdings(account)),
    holdingsOfAccount.slice(0, 1000),
    "holdings(): the first 1000",
  );
});

test("detailList: the lists the detail methods nest (a facility's devices and projects, a device's keys and history, an attestation's corrections), 1,123 each, by `next` and back by `previous`, each once in graph-node's order", async () => {
  /** every row of a detail list by `next` from the top, then by `previous` from the last page */
  async function both<K extends DetailListName>(name: K, filter: DetailLists[K]["filter"], first: number) {
    const read = async (page: Page) => (await indexer.detailList(name, filter, page))!;
    let p = await read({ first });
    const forth = [...p.rows];
    while (p.next) {
      p = await read({ first, after: p.next });
      forth.push(...p.rows);
    }
    const back = [...p.rows];
    while (p.previous) {
      p = await read({ first, before: p.previous });
      back.unshift(...p.rows);
    }
    return { forth, back };
  }
  const devices = await both("facilityDevices", { facility: "deep-facility" }, 200);
  const projects = await both("facilityProjects", { facility: deep }, 200);
  const keys = await both("deviceKeys", { device: "wide-device" }, 200);
  const history = await both("deviceHistory", { device: wideDevice }, 200);
  const corrections = await both("attestationCorrections", { attestationId: nested.corrected }, 200);
  const got = {
    devices: [devices.forth.map((d) => d.id), devices.back.map((d) => d.id)],
    projects: [projects.forth.map((x) => String(x.id)), projects.back.map((x) => String(x.id))],
    keys: [keys.forth.map((k) => k.index), keys.back.map((k) => k.index)],
    history: [history.forth.map((h) => h.transactionHash), history.back.map((h) => h.transactionHash)],
    corrections: [corrections.forth.map((a) => a.id), corrections.back.map((a) => a.id)],
  };
  const expected = {
    devices: nested.devices,
    projects: nested.projects,
    keys: nested.keys,
    // an event's transaction hash is its id here
    history: nested.events,
    corrections: nested.corrections,
  };
  for (const [list, [forth, back]] of Object.entries(got) as [keyof typeof expected, unknown[][]][]) {
    assert.equal(expected[list].length, WIDE, list);
    assert.deepEqual(forth, expected[list], `${list}, walked by next`);
    assert.deepEqual(back, expected[list], `${list}, walked back by previous`);
  }
  const facility = (await indexer.facility("deep-facility", { first: 1 }))!;
  assert.deepEqual(
    facility.devices.map((d) => d.id),
    nested.devices.slice(0, 1000),
    "facility(id).devices: the first 1000",
  );
});

test("the header reads ask no nested list: a facility's, a device's and an attestation's facts, their lists left out of the query, where the detail reads answer 1,000 of each", async () => {
  /** the objects (entities and their parts) of each answer the client got */
  const objects: number[] = [];
  const count = (v: unknown): number =>
    Array.isArray(v)
      ? v.reduce((n: number, x) => n + count(x), 0)
      : v !== null && typeof v === "object"
        ? 1 + Object.values(v).reduce((n: number, x) => n + count(x), 0)
        : 0;
  const counted = new SubgraphIndexer({
    url: server.url,
    fetch: async (input, init) => {
      const response = await fetch(input, init);
      objects.push(count(await response.clone().json()));
      return response;
    },
  });
  const cost = async <T>(read: () => Promise<T>): Promise<[T, number]> => {
    const value = await read();
    return [value, objects.at(-1)!];
  };
  const [facility, facilityObjects] = await cost(() => counted.facility("deep-facility", { first: 1 }));
  const [facilityHeader, facilityHeaderObjects] = await cost(() => counted.facilityHeader("deep-facility"));
  const { devices, projects, attestations, ...facilityFacts } = facility!;
  assert.deepEqual([devices.length, projects.length, attestations.length], [1000, 1000, 1]);
  assert.ok(facilityObjects > 2000, `the detail: ${facilityObjects} objects`);
  // the answer, its data and the facility
  assert.deepEqual([facilityHeader, facilityHeaderObjects], [facilityFacts, 3]);

  const [device, deviceObjects] = await cost(() => counted.device("wide-device"));
  const [deviceHeader, deviceHeaderObjects] = await cost(() => counted.deviceHeader(wideDevice));
  const { keys, history, ...deviceFacts } = device!;
  assert.deepEqual([keys.length, history.length], [1000, 1000]);
  assert.ok(deviceObjects > 2000, `the detail: ${deviceObjects} objects`);
  // the answer, its data, the device and its facility's reference
  assert.deepEqual([deviceHeader, deviceHeaderObjects], [deviceFacts, 4]);

  const [attestation, attestationObjects] = await cost(() => counted.attestation(nested.corrected));
  const [attestationHeader, attestationHeaderObjects] = await cost(() => counted.attestationHeader(nested.corrected));
  const { corrections, ...attestationFacts } = attestation!;
  assert.equal(corrections.length, 1000);
  assert.ok(attestationObjects > 1000, `the detail: ${attestationObjects} objects`);
  assert.deepEqual(attestationHeader, attestationFacts);
  assert.equal(attestationObjects - attestationHeaderObjects, 1000, "the corrections alone left out");
});

test("the devices list reads each device's facts (as deviceHeader), never its keys or history: a few objects a device", async () => {
  const objects: number[] = [];
  const count = (v: unknown): number =>
    Array.isArray(v)
      ? v.reduce((n: number, x) => n + count(x), 0)
      : v !== null && typeof v === "object"
        ? 1 + Object.values(v).reduce((n: number, x) => n + count(x), 0)
        : 0;
  const counted = new SubgraphIndexer({
    url: server.url,
    fetch: async (input, init) => {
      const response = await fetch(input, init);
      objects.push(count(await response.clone().json()));
      return response;
    },
  });
  // the other facility's 77 devices of a key and an event each, and the device of 1,123 of each
  const page = await counted.list("devices", { facility: "other-facility" }, { first: 100 });
  assert.equal(page.rows.length, 78);
  assert.ok(page.rows.some((d) => d.id === wideDevice));
  // the answer and its data, then each device and its facility's reference
  assert.equal(objects.at(-1), 2 + 2 * page.rows.length);
  assert.deepEqual(page.rows, await Promise.all(page.rows.map(async (d) => indexer.deviceHeader(d.id))));
});
