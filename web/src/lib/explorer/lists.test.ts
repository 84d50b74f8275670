import { test } from "node:test";
import assert from "node:assert/strict";
import {
  CSV_EXPORTS,
  devicesList,
  exportHref,
  listHref,
  parseCursor,
  salesList,
  toParams,
  attestationsList,
} from "./lists.ts";

test("a list page starts after or before a cursor from the URL; text that cannot be a cursor is the top", () => {
  assert.deepEqual(parseCursor(toParams({ after: "WyIxMjMiLCIweGFiIl0" })), { after: "WyIxMjMiLCIweGFiIl0" });
  assert.deepEqual(parseCursor(toParams({ before: "WyIxMjMiLCIweGFiIl0" })), { before: "WyIxMjMiLCIweGFiIl0" });
  assert.deepEqual(parseCursor(toParams({ after: "abc", before: "def" })), { after: "abc" }, "one of them");
  assert.deepEqual(parseCursor(toParams({ after: "a b/c" })), {});
  assert.deepEqual(parseCursor(toParams({ after: "x".repeat(513) })), {});
  assert.deepEqual(parseCursor(toParams({ page: "3" })), {});
});

test("filters are read from the URL, checked, and kept for links; bad values are named", () => {
  const p = toParams({
    credit: "65538",
    account: "0xABCDEF0123456789abcdef0123456789ABCDEF01",
    listing: "x1",
    page: "2",
  });
  const parsed = salesList.parse(p);
  assert.deepEqual(parsed.filter, {
    creditId: 65538n,
    account: "0xabcdef0123456789abcdef0123456789abcdef01",
    listingId: undefined,
  });
  assert.deepEqual(parsed.active, { credit: "65538", account: "0xABCDEF0123456789abcdef0123456789ABCDEF01" });
  assert.equal(parsed.errors.length, 1);
  assert.match(parsed.errors[0], /“x1” is not a listing id/);
});

test("enumerations and yes/no filters accept only their values", () => {
  assert.deepEqual(devicesList.parse(toParams({ status: "Suspended", facility: "ktda-gitugi" })).filter, {
    facility: "ktda-gitugi",
    status: "Suspended",
  });
  assert.equal(devicesList.parse(toParams({ status: "broken" })).errors.length, 1);
  assert.deepEqual(attestationsList.parse(toParams({ revoked: "yes", correction: "no" })).filter, {
    revoked: true,
    isCorrection: false,
  });
});

test("page and export links carry the same filters", () => {
  const active = { credit: "65538", status: "Open" };
  assert.equal(listHref("/explorer/listings", active), "/explorer/listings?credit=65538&status=Open");
  assert.equal(listHref("/explorer/oracles", {}), "/explorer/oracles");
  assert.equal(
    listHref("/explorer/listings", active, { after: "abc" }),
    "/explorer/listings?credit=65538&status=Open&after=abc",
  );
  assert.equal(listHref("/explorer/oracles", {}, { before: "abc" }), "/explorer/oracles?before=abc");
  assert.equal(
    listHref("/explorer/facilities/ktda-kangaita", {}, { after: "abc" }, "attestations"),
    "/explorer/facilities/ktda-kangaita?after=abc#attestations",
    "a detail page's list: its links land on it",
  );
  assert.equal(listHref("/explorer/devices/d1", {}, {}, "readings"), "/explorer/devices/d1#readings");
  assert.equal(exportHref("listings", active), "/explorer/export/listings?credit=65538&status=Open");
});

test("every list exports a header row whose amount and time columns name their unit", () => {
  for (const [name, e] of Object.entries(CSV_EXPORTS)) {
    const header = e.header();
    assert.match(header, /\r\n$/, name);
    for (const col of header.trim().split(",")) {
      if (/amount|co2|price|fee|credits_|sold|remaining|min_fill|bound/.test(col))
        assert.match(col, /_(kg|g|token_base_units|token_base_units_per_kg)$/, `${name}.${col}`);
      if (/_at_|timestamp|period_|until/.test(col)) assert.match(col, /_utc$/, `${name}.${col}`);
    }
  }
});
