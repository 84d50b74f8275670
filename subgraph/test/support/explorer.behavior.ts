/**
 * One explorer scenario, backend-independent: its ids and the answers every ExplorerIndexer must
 * give for it. A backend's test lays the scenario's data out its own way (client.test.ts: as the
 * subgraph mappings store entities) and runs explorerIndexerBehavior on it, so the explorer's
 * page-level reads are held to the same expectations on every backend.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { protocolIdKey } from "../../client/ids.ts";
import type { ExplorerIndexer } from "../../client/indexer.ts";
import type { DetailListName, DetailLists, Hex, ListName, ListPage, Page } from "../../client/types.ts";

export const facilityA = protocolIdKey("ktda-kangaita");
export const facilityB = protocolIdKey("ktda-chinga");
export const device1 = protocolIdKey("kangaita-chimney-1");
export const hex32 = (n: number) => `0x${n.toString(16).padStart(64, "0")}` as Hex;
export const addr = (n: number) => `0x${n.toString(16).padStart(40, "0")}` as Hex;
export const att1 = hex32(0xa1);
export const att2 = hex32(0xa2);
export const att3 = hex32(0xa3);
export const oracleSet = addr(0x05e7);
export const tokenId = (1n << 16n) | 2026n;
export const certificateId = (tokenId << 64n) | 0n;
export const day = 20415; // 2025-11-23
export const t0 = day * 86_400;

/** The page-level reads of the explorer against `indexer()` holding the scenario's data. */
export function explorerIndexerBehavior(backend: string, indexer: () => ExplorerIndexer, indexedBlock: number): void {
  test(`${backend}: every list by cursor, a row a page, gives its method's rows in order, forth and back`, async () => {
    const ix = indexer();
    const lists: Record<ListName, () => Promise<unknown[]>> = {
      facilities: () => ix.facilities(),
      devices: () => ix.devices(),
      oracles: () => ix.oracleNodes(),
      attestations: () => ix.attestations(),
      issuances: () => ix.issuances(),
      transfers: () => ix.transfers(),
      listings: () => ix.listings(),
      sales: () => ix.sales(),
      retirements: () => ix.retirements(),
      challenges: () => ix.challenges(),
    };
    for (const [name, all] of Object.entries(lists) as [ListName, () => Promise<unknown[]>][]) {
      const expected = await all();
      assert.ok(expected.length > 0, `${name}: the scenario has rows`);
      let page = await ix.list(name, {}, { first: 1 });
      assert.equal(page.previous, null, `${name}: the first page has no previous`);
      const forth = [...page.rows];
      while (page.next) {
        page = await ix.list(name, {}, { first: 1, after: page.next });
        forth.push(...page.rows);
      }
      assert.deepEqual(forth, expected, name);
      const back = [...page.rows];
      while (page.previous) {
        page = await ix.list(name, {}, { first: 1, before: page.previous });
        back.unshift(...page.rows);
      }
      assert.deepEqual(back, expected, `${name}, walked back`);
    }
  });

  test(`${backend}: every detail page's list by cursor, a row a page, gives its method's rows in order, forth and back`, async () => {
    const ix = indexer();
    /** `row`: what of a row the method gives (an attestation's corrections: their ids) */
    type Case = {
      filter: DetailLists[DetailListName]["filter"];
      all: () => Promise<unknown[] | null>;
      row?: (r: never) => unknown;
    };
    const facilities = ["ktda-kangaita", facilityA, "ktda-chinga"];
    const devices = ["kangaita-chimney-1", device1];
    const cases: Record<DetailListName, Case[]> = {
      facilityAttestations: ["ktda-kangaita", facilityA, "ktda-chinga"].map((facility) => ({
        filter: { facility },
        all: async () => (await ix.facility(facility, { first: 1000 }))!.attestations,
      })),
      attestationReadings: [att1, att2, att3].map((attestationId) => ({
        filter: { attestationId },
        all: () => ix.readings({ attestationId }, { first: 1000 }),
      })),
      deviceReadings: ["kangaita-chimney-1", device1].map((deviceId) => ({
        filter: { deviceId },
        all: () => ix.readings({ deviceId }, { first: 1000 }),
      })),
      accountHoldings: [addr(0xbeef), addr(0xb0b), addr(0xca7), addr(0x999)].map((account) => ({
        filter: { account },
        all: () => ix.holdings(account),
      })),
      facilityDevices: facilities.map((facility) => ({
        filter: { facility },
        all: async () => (await ix.facility(facility, { first: 1 }))!.devices,
      })),
      facilityProjects: facilities.map((facility) => ({
        filter: { facility },
        all: async () => (await ix.facility(facility, { first: 1 }))!.projects,
      })),
      deviceKeys: devices.map((device) => ({
        filter: { device },
        all: async () => (await ix.device(device))!.keys,
      })),
      deviceHistory: devices.map((device) => ({
        filter: { device },
        all: async () => (await ix.device(device))!.history,
      })),
      attestationCorrections: [att1, att2, att3].map((attestationId) => ({
        filter: { attestationId },
        all: async () => (await ix.attestation(attestationId))!.corrections,
        row: (a: { id: Hex }) => a.id,
      })),
      facilityReadings: facilities.map((facility) => ({
        filter: { facility },
        all: () => ix.readings({ facility }, { first: 1000 }),
      })),
    };
    for (const [name, each] of Object.entries(cases) as [DetailListName, Case[]][]) {
      for (const { filter, all, row } of each) {
        const what = `${name} ${JSON.stringify(filter)}`;
        const expected = await all();
        const read = async (page: Page) => {
          const p = (await ix.detailList(name, filter as never, page)) as ListPage<never> | null;
          return p && { ...p, rows: row ? p.rows.map(row) : p.rows };
        };
        let page = await read({ first: 1 });
        if (expected === null) {
          // a backend without the list (readings on the subgraph) says so as its method does
          assert.equal(page, null, what);
          continue;
        }
        assert.ok(page, what);
        assert.equal(page.previous, null, `${what}: the first page has no previous`);
        const forth = [...page.rows];
        while (page.next) {
          page = (await read({ first: 1, after: page.next }))!;
          forth.push(...page.rows);
        }
        assert.deepEqual(forth, expected, what);
        const back = [...page.rows];
        while (page.previous) {
          page = (await read({ first: 1, before: page.previous }))!;
          back.unshift(...page.rows);
        }
        assert.deepEqual(back, expected, `${what}, walked back`);
      }
    }
    const kangaita = await ix.detailList("facilityAttestations", { facility: "ktda-kangaita" }, { first: 50 });
    assert.deepEqual(
      kangaita?.rows.map((a) => a.id),
      [att2, att1],
      "a facility's attestations: newest period first",
    );
  });

  test(`${backend}: overview: protocol totals and the indexed block`, async () => {
    const o = await indexer().overview();
    assert.equal(o.facilityCount, 2);
    assert.equal(o.fossilCo2eGrams, 14_000_000n);
    assert.equal(o.issuedKg, 800n);
    assert.equal(o.indexedBlock, indexedBlock);
    assert.equal(o.indexingErrors, false);
  });

  test(`${backend}: facilities: largest attested fossil emissions first, paged`, async () => {
    const all = await indexer().facilities();
    assert.deepEqual(
      all.map((f) => f.code),
      ["ktda-chinga", "ktda-kangaita"],
    );
    const second = await indexer().facilities({ first: 1, skip: 1 });
    assert.deepEqual(
      second.map((f) => f.code),
      ["ktda-kangaita"],
    );
  });

  test(`${backend}: facility page by protocol id: devices, projects and attestations newest period first`, async () => {
    const f = await indexer().facility("ktda-kangaita");
    assert.ok(f);
    assert.equal(f.id, facilityA);
    assert.equal(f.readingCount, 120n);
    assert.deepEqual(
      f.devices.map((d) => [d.code, d.kind, d.keyCount]),
      [["kangaita-chimney-1", "FlueGas", 2]],
    );
    assert.deepEqual(
      f.projects.map((p) => [p.id, p.name]),
      [[1n, "Kangaita biomass switch"]],
    );
    assert.deepEqual(
      f.attestations.map((a) => a.id),
      [att2, att1],
    );
    assert.equal(f.attestations[1]!.issuedCreditId, tokenId);
    assert.equal(await indexer().facility("no-such-facility"), undefined);
  });

  test(`${backend}: device page: key history in order with validity windows, and its history`, async () => {
    const d = await indexer().device("kangaita-chimney-1");
    assert.ok(d);
    assert.equal(d.facility.code, "ktda-kangaita");
    assert.deepEqual(
      d.keys.map((k) => [k.index, k.validFrom, k.validUntil]),
      [
        [0, 0n, BigInt(t0 + 100)],
        [1, BigInt(t0 + 100), null],
      ],
    );
    assert.deepEqual(
      d.history.map((h) => h.kind),
      ["Registered", "KeyRotated"],
    );
  });

  test(`${backend}: facility, device and attestation headers: the detail's facts without its nested lists, by either id`, async () => {
    const ix = indexer();
    const { devices, projects, attestations, ...facility } = (await ix.facility("ktda-kangaita"))!;
    assert.ok(devices.length && projects.length && attestations.length, "the detail holds each list");
    assert.deepEqual(await ix.facilityHeader("ktda-kangaita"), facility);
    assert.deepEqual(await ix.facilityHeader(facilityA), facility);
    const { keys, history, ...device } = (await ix.device("kangaita-chimney-1"))!;
    assert.ok(keys.length && history.length, "the detail holds each list");
    assert.deepEqual(await ix.deviceHeader("kangaita-chimney-1"), device);
    assert.deepEqual(await ix.deviceHeader(device1), device);
    for (const id of [att1, att2, att3]) {
      const { corrections, ...attestation } = (await ix.attestation(id))!;
      assert.ok(Array.isArray(corrections));
      assert.deepEqual(await ix.attestationHeader(id), attestation, id);
    }
    assert.deepEqual(
      [
        await ix.facilityHeader("no-such-facility"),
        await ix.deviceHeader("no-such-device"),
        await ix.attestationHeader(hex32(0xdead)),
      ],
      [undefined, undefined, undefined],
    );
  });

  test(`${backend}: devices list: each row the device's facts as its header gives them (keys and history not read), the key count its detail's`, async () => {
    const ix = indexer();
    const rows = await ix.devices();
    assert.ok(rows.length, "the scenario has devices");
    for (const row of rows) {
      assert.deepEqual(row, await ix.deviceHeader(row.id), row.id);
      assert.ok(!("keys" in row) && !("history" in row), `${row.id}: no nested list`);
    }
    const listed = rows.find((r) => r.id === device1)!;
    assert.equal(listed.keyCount, (await ix.device(device1))!.keys.length);
    assert.deepEqual((await ix.list("devices", { facility: "ktda-kangaita" }, { first: 100 })).rows, [listed]);
  });

  test(`${backend}: attestations: newest first, filtered by revocation`, async () => {
    const all = await indexer().attestations();
    assert.deepEqual(
      all.map((a) => a.id),
      [att2, att3, att1],
    );
    const standing = await indexer().attestations({ revoked: false });
    assert.deepEqual(
      standing.map((a) => a.id),
      [att3, att1],
    );
  });

  test(`${backend}: attestation page: signers by index, revocation through an upheld challenge, issuance`, async () => {
    const a = await indexer().attestation(att1);
    assert.ok(a);
    assert.deepEqual(
      a.signers.map((s) => [s.index, s.address]),
      [
        [0, addr(0x11)],
        [2, addr(0x33)],
      ],
    );
    assert.deepEqual(a.issuance, { creditId: tokenId, amountKg: 800n, boundKg: 812n, transactionHash: hex32(0x7f) });
    assert.equal(a.revocation, null);
    const revoked = await indexer().attestation(att2);
    assert.ok(revoked);
    assert.equal(revoked.revoked, true);
    assert.equal(revoked.revocation?.byChallenge, true);
    assert.equal(revoked.challenge?.state, "Upheld");
    assert.equal(await indexer().attestation(hex32(0xdead)), undefined);
  });

  test(`${backend}: credit page: supply, holders, project and the attestations behind each issuance`, async () => {
    const c = await indexer().credit(tokenId);
    assert.ok(c);
    assert.equal(c.vintage, 2026);
    assert.equal(c.supplyKg, 700n);
    assert.equal(c.project.facility.code, "ktda-kangaita");
    assert.deepEqual(
      c.issuances.map((i) => [i.attestationId, i.amountKg]),
      [[att1, 800n]],
    );
  });

  test(`${backend}: listings: open ones of a credit, newest first`, async () => {
    const open = await indexer().listings({ status: "Open", creditId: tokenId });
    assert.deepEqual(
      open.map((l) => [l.id, l.remainingKg]),
      [[2n, 100n]],
    );
    const all = await indexer().listings();
    assert.deepEqual(
      all.map((l) => l.id),
      [3n, 2n, 1n],
    );
  });

  test(`${backend}: retirement page: beneficiary, reason, country and the locked certificate`, async () => {
    const r = await indexer().retirement(certificateId);
    assert.ok(r);
    assert.equal(r.creditId, tokenId);
    assert.equal(r.beneficiaryName, "Acme Tea Ltd");
    assert.equal(r.consumptionCountry, "KEN");
    assert.equal(r.locked, true);
    assert.equal(r.project.facility.code, "ktda-kangaita");
  });

  test(`${backend}: holdings: positive balances only, largest first`, async () => {
    assert.deepEqual(
      (await indexer().holdings(addr(0xbeef))).map((h) => [h.creditId, h.amountKg]),
      [[tokenId, 500n]],
    );
    assert.deepEqual(await indexer().holdings(addr(0xca7)), [], "a zero balance is not a holding");
    assert.deepEqual(await indexer().holdings(addr(0x999)), [], "an unknown account holds nothing");
  });

  test(`${backend}: daily totals: a range of days, overall and for one facility`, async () => {
    const days = await indexer().daily({ fromDay: day, toDay: day + 30 });
    assert.deepEqual(
      days.map((d) => [d.day, d.issuedKg]),
      [
        [day, 0n],
        [day + 1, 800n],
      ],
    );
    const chinga = await indexer().daily({ fromDay: day, toDay: day, facility: "ktda-chinga" });
    assert.deepEqual(
      chinga.map((d) => d.fossilCo2eGrams),
      [9_000_000n],
    );
  });

  test(`${backend}: every facility's daily totals in one read by cursor: each facility's \`daily\`, by day then facility`, async () => {
    const ix = indexer();
    const range = { fromDay: day - 5, toDay: day + 30 };
    const all = await ix.facilitiesDaily(range, { first: 999 });
    assert.equal(all.next, null);
    const expected = [];
    // the credits issued against a facility's attestations by the day their period starts: att1's
    // 800 kg (issued the next day, when `issuedKg` counts them); att2, revoked, had none
    const issuedAgainst = (facility: string, d: number) => (facility === facilityA && d === day ? 800n : 0n);
    for (const facility of [facilityA, facilityB])
      for (const d of await ix.daily({ ...range, facility }))
        expected.push({
          ...d,
          facility: (await ix.facilityHeader(facility))!.id,
          issuedAgainstKg: issuedAgainst(facility, d.day),
        });
    expected.sort((a, b) => a.day - b.day || (a.facility < b.facility ? -1 : 1));
    assert.ok(expected.length >= 2, "the scenario has days of both facilities");
    assert.deepEqual(
      all.rows.map((r) => ({ ...r, facility: r.facility.id })),
      expected,
    );
    const paged = [];
    let page = await ix.facilitiesDaily(range, { first: 1 });
    for (;;) {
      paged.push(...page.rows);
      if (page.next === null) break;
      page = await ix.facilitiesDaily(range, { first: 1, after: page.next });
    }
    assert.deepEqual(paged, all.rows, "a row a page gives the same rows");
    assert.deepEqual((await ix.facilitiesDaily({ fromDay: day + 2, toDay: day + 30 }, { first: 999 })).rows, []);
    await assert.rejects(ix.facilitiesDaily({ fromDay: day, toDay: day + 1000 }, { first: 1 }), /at most 1000 days/);
  });
}
