import { test } from "node:test";
import assert from "node:assert/strict";
import { malformedPathPage, malformedSegment } from "./malformedPath.ts";

test("finds the segment that is not valid percent-encoding, and only that", () => {
  assert.equal(malformedSegment("/explorer/devices/%E0%A4%A"), "%E0%A4%A");
  assert.equal(malformedSegment("/explorer/devices/%ZZ"), "%ZZ");
  assert.equal(malformedSegment("/audit/reading/100%"), "100%");
  assert.equal(malformedSegment("/explorer/devices/kangaita%2Fchimney%20%C3%A9"), null);
  assert.equal(malformedSegment("/explorer/facilities/ktda-kangaita"), null);
});

test("the page names the segment, escaped", () => {
  const html = malformedPathPage("/explorer/devices/<b>%ZZ", "<b>%ZZ");
  assert.match(html, /&lt;b&gt;%ZZ/);
  assert.doesNotMatch(html, /<b>%ZZ/);
  assert.match(html, /href="\/explorer\/search"/);
});
