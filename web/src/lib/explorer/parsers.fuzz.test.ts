import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { decodeCursor, encodeCursor, IndexerError } from "@carbonproof/subgraph/client";
import { CSV_EXPORTS, parseCursor, toParams } from "./lists.ts";
import { parseTotalsQuery } from "./totals.ts";
import { parseRange } from "../reports/period.ts";
import { decodeParam } from "../params.ts";

/**
 * What the explorer, its CSV exports and the reports read from a URL, under arbitrary input (rule
 * 7: fuzz what parses): every parser answers, never throws, and whatever it did not understand is
 * a sentence in `errors`, not a filter applied. The field names and the odd values are drawn the
 * most, since a random string is rarely a field name.
 */
const today = 20_000;
/** No lone surrogate (what `encodeURIComponent` refuses); String#isWellFormed is past this lib target. */
const wellFormed = (s: string) => !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(s);
const text = fc.oneof(
  fc.string(),
  fc.string({ unit: "binary" }),
  fc.constantFrom(
    "",
    " ",
    "0",
    "-1",
    "1e309",
    "NaN",
    "2025-02-30",
    "9999-12-31",
    "0000-01-01",
    "%E0%A4%A",
    "x".repeat(500),
  ),
  fc.integer().map(String),
  fc.date({ noInvalidDate: true }).map((d) => d.toISOString().slice(0, 10)),
);
const names = fc.oneof(
  fc.constantFrom(
    "facility",
    "status",
    "revoked",
    "correction",
    "credit",
    "account",
    "listing",
    "state",
    "period",
    "from",
    "to",
    "page",
  ),
  fc.string(),
);
const query = fc.dictionary(names, text, { maxKeys: 5 }).map((d) => new URLSearchParams(d));

test("every list's filter parser answers any query: valid filters as strings, one sentence per value it did not take", () => {
  fc.assert(
    fc.property(fc.constantFrom(...Object.values(CSV_EXPORTS)), query, (list, params) => {
      const { active, errors } = list.parse(params);
      for (const [k, v] of Object.entries(active)) {
        assert.equal(typeof v, "string", `${list.name}: ${k}`);
        assert.ok(params.has(k), `${list.name}: "${k}" is active, but the query has no such parameter`);
      }
      for (const e of errors) assert.ok(typeof e === "string" && e.length > 0, `${list.name}: ${e}`);
    }),
    { numRuns: 2000 },
  );
});

test("the totals query: a period always, days as integers in order, or errors", () => {
  fc.assert(
    fc.property(query, (params) => {
      const q = parseTotalsQuery(params, today);
      assert.ok(["day", "month", "year"].includes(q.period));
      assert.ok(Number.isInteger(q.fromDay) && Number.isInteger(q.toDay), JSON.stringify(q));
      if (q.errors.length === 0) assert.ok(q.fromDay <= q.toDay, JSON.stringify(q));
    }),
    { numRuns: 2000 },
  );
});

test("a report's period: a range of whole days in order whatever comes in, and a problem when it was not what was asked", () => {
  fc.assert(
    fc.property(fc.option(text, { nil: undefined }), fc.option(text, { nil: undefined }), (from, to) => {
      const r = parseRange(from, to, today);
      assert.ok(Number.isInteger(r.range.fromDay) && Number.isInteger(r.range.toDay), JSON.stringify(r));
      assert.ok(r.range.fromDay <= r.range.toDay, JSON.stringify({ from, to, r }));
      assert.equal(r.problem === undefined, r.error === undefined);
    }),
    { numRuns: 2000 },
  );
});

test("route segments: any text gives a decoded or verbatim segment", () => {
  fc.assert(
    fc.property(text, (segment) => {
      if (wellFormed(segment)) assert.equal(decodeParam(encodeURIComponent(segment)), segment);
      assert.equal(typeof decodeParam(segment), "string");
    }),
    { numRuns: 2000 },
  );
  assert.equal(toParams({ a: ["1", "2"], b: undefined, c: "x" }).toString(), "a=1&c=x");
});

test("list cursors: any URL text gives at most one cursor of base64url text; a cursor decodes to the key encoded", () => {
  fc.assert(
    fc.property(fc.option(text, { nil: undefined }), fc.option(text, { nil: undefined }), (after, before) => {
      const c = parseCursor(toParams({ after, before }));
      const given = [c.after, c.before].filter((v) => v !== undefined);
      assert.ok(given.length <= 1, JSON.stringify(c));
      for (const v of given) assert.match(v!, /^[A-Za-z0-9_-]{1,512}$/);
    }),
    { numRuns: 2000 },
  );
  const key = fc.array(fc.oneof(fc.string({ unit: "binary" }), fc.maxSafeInteger(), fc.bigInt().map(String)), {
    minLength: 1,
    maxLength: 4,
  });
  fc.assert(
    fc.property(key, (k) => assert.deepEqual(decodeCursor(encodeCursor(k), k.length), k)),
    { numRuns: 2000 },
  );
  // anything else is refused as an argument, never another error
  fc.assert(
    fc.property(text, fc.integer({ min: 1, max: 4 }), (t, length) => {
      try {
        assert.equal(decodeCursor(t, length).length, length);
      } catch (e) {
        assert.ok(e instanceof IndexerError && e.code === "INDEXER_ARGUMENT_INVALID", String(e));
      }
    }),
    { numRuns: 2000 },
  );
});
