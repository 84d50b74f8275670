/**
 * A detail page's list read from its link's cursor (readDetailList), on the embedded indexer with
 * the explorer spec's scenario in a real SQLite store: a cursor of the list pages, one that is not
 * of the list shows the first page with the indexer's reason, and any other failure is not hidden.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { encodeCursor, IndexerError } from "@carbonproof/subgraph/client";
import { att1, att2, t0 } from "../../../../subgraph/test/support/explorer.behavior.ts";
import { EmbeddedIndexer } from "../../server/indexer/embedded.ts";
import { recordEvent } from "../../server/indexer/reducer.ts";
import { scenario } from "../../server/indexer/scenario.ts";
import { openStore, type Store } from "../../server/indexer/store.ts";
import { cursorOf, explorerDetails, linkParamsOf, parseDetailCursor, readDetailList } from "./detail.ts";
import { listHref, toParams } from "./lists.ts";

let dir: string;
let db: Store;
let ix: EmbeddedIndexer;

before(() => {
  dir = mkdtempSync(join(tmpdir(), "carbonproof-detail-list-"));
  db = openStore(join(dir, "indexer.sqlite"));
  for (const e of scenario()) recordEvent(db, e);
  ix = new EmbeddedIndexer(db);
});

after(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

test("from the top, and from a cursor of the list: its rows, paged only when a cursor was given", async () => {
  const top = await readDetailList(ix, "facilityAttestations", { facility: "ktda-kangaita" }, {});
  assert.deepEqual([top.paged, top.refused, top.page?.rows.map((a) => a.id)], [false, null, [att2, att1]]);
  // a cursor above every row of the facility (period, block, log): the same rows, read past it
  const above = encodeCursor([t0 + 86_400, 0, 0]);
  const paged = await readDetailList(ix, "facilityAttestations", { facility: "ktda-kangaita" }, { after: above });
  assert.deepEqual([paged.paged, paged.refused, paged.page?.rows.map((a) => a.id)], [true, null, [att2, att1]]);
  assert.notEqual(paged.page?.previous, null, "read from a cursor: the first page's link shows");
});

test("a cursor that is not of the list: the first page, with the indexer's reason to show", async () => {
  const read = await readDetailList(
    ix,
    "facilityAttestations",
    { facility: "ktda-kangaita" },
    { before: encodeCursor(["0xabc"]) },
  );
  assert.equal(read.paged, false);
  assert.match(read.refused ?? "", /not a cursor of this list/);
  assert.deepEqual(
    read.page?.rows.map((a) => a.id),
    [att2, att1],
  );
});

test("an argument the list itself refuses (not the cursor) fails the read, from a cursor or not", async () => {
  await assert.rejects(
    readDetailList(ix, "attestationReadings", { attestationId: "0xnot" as never }, { after: encodeCursor([1]) }),
    (e: unknown) => e instanceof IndexerError && e.code === "INDEXER_ARGUMENT_INVALID" && /bytes32/.test(e.message),
  );
});

test("a detail page's link pages the list it names (`list=`), or its first list without one; the page's other lists start at the top", async () => {
  const after = encodeCursor([0, 0]); // below every device's and project's (block, log): all of them
  const at = parseDetailCursor(toParams({ list: "devices", after, before: "ignored" }));
  assert.deepEqual([cursorOf(at, "devices"), cursorOf(at), cursorOf(at, "projects")], [{ after }, {}, {}]);
  const facility = await explorerDetails.facility("ktda-kangaita", at).read(ix);
  assert.deepEqual(
    [facility.devices.paged, facility.projects.paged, facility.attestations.paged],
    [true, false, false],
    "the devices list read from the cursor, the others from the top",
  );
  assert.deepEqual(
    facility.devices.page?.rows.map((d) => d.code),
    ["kangaita-chimney-1"],
  );
  assert.deepEqual(
    facility.attestations.page?.rows.map((a) => a.id),
    [att2, att1],
  );
  // without `list=`, the cursor is the first list's (the attestations); a name of no list pages none
  const above = encodeCursor([t0 + 86_400, 0, 0]); // above every attestation's (period, block, log)
  const first = await explorerDetails.facility("ktda-kangaita", parseDetailCursor(toParams({ after: above }))).read(ix);
  assert.deepEqual([first.attestations.paged, first.devices.paged], [true, false]);
  const device = await explorerDetails
    .device("kangaita-chimney-1", { list: "keys", after: encodeCursor([0]) })
    .read(ix);
  assert.deepEqual([device.keys.paged, device.history.paged, device.readings?.paged], [true, false, false]);
  assert.deepEqual(
    device.keys.page?.rows.map((k) => k.index),
    [1],
    "the keys after index 0",
  );
  assert.deepEqual(parseDetailCursor(toParams({ list: "../x", after })), { after }, "a list name is letters only");
});

test("a DetailList's page link carries `list=<name>` when given, none for the page's first list; the page reads it back", async () => {
  const after = encodeCursor([0, 0]);
  const href = listHref("/explorer/facilities/ktda-kangaita", linkParamsOf("devices"), { after }, "devices");
  assert.equal(href, `/explorer/facilities/ktda-kangaita?list=devices&after=${after}#devices`);
  const at = parseDetailCursor(new URL(href, "http://x").searchParams);
  const facility = await explorerDetails.facility("ktda-kangaita", at).read(ix);
  assert.deepEqual([facility.devices.paged, facility.attestations.paged], [true, false]);
  const first = listHref("/explorer/facilities/ktda-kangaita", linkParamsOf(), { after }, "attestations");
  assert.equal(first, `/explorer/facilities/ktda-kangaita?after=${after}#attestations`);
  assert.deepEqual(cursorOf(parseDetailCursor(new URL(first, "http://x").searchParams)), { after });
});

test("the facility, device and attestation pages read their facts without the nested lists they page by cursor", async () => {
  const { facility } = await explorerDetails.facility("ktda-kangaita").read(ix);
  const { device } = await explorerDetails.device("kangaita-chimney-1").read(ix);
  const { attestation } = await explorerDetails.attestation(att1).read(ix);
  assert.deepEqual([facility?.code, device?.code, attestation?.id], ["ktda-kangaita", "kangaita-chimney-1", att1]);
  const nested = (o: object | undefined) =>
    ["devices", "projects", "attestations", "keys", "history", "corrections"].filter((k) => o && k in o);
  assert.deepEqual([nested(facility), nested(device), nested(attestation)], [[], [], []]);
});
