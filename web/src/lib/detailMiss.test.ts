import { test } from "node:test";
import assert from "node:assert/strict";
import { detailMiss, wellFormedId } from "./detailMiss.ts";

test("a malformed id gets the form the kind's ids have", () => {
  const credit = detailMiss("credit", "/credit/abc");
  assert.equal(credit.title, "Credit not found");
  assert.equal(credit.wellFormed, false);
  assert.match(credit.message, /^“abc” is not a credit id\. A credit id is a token id in decimal digits/);
  assert.match(detailMiss("certificate", "/certificate/zzz").message, /^“zzz” is not a certificate id\./);
  assert.match(
    detailMiss("listing", "/listing/-1").message,
    /^“-1” is not a listing id\. A listing id is a whole number/,
  );
});

test("a well-formed id that names nothing says so, and links back", () => {
  const miss = detailMiss("credit", "/credit/999999999");
  assert.equal(miss.wellFormed, true);
  assert.equal(miss.message, "No credit “999999999” has been issued: no project and vintage go by this token id.");
  assert.deepEqual(
    miss.links.map((l) => l.href),
    ["/", "/portfolio"],
  );
  assert.match(detailMiss("certificate", "/certificate/42").message, /^No retirement certificate “42” has been minted/);
  assert.equal(detailMiss("listing", "/listing/7").message, "No listing “7” has been created on the marketplace.");
  assert.ok(detailMiss("listing", "/listing/7").links.some((l) => l.href === "/"));
});

test("the id is decoded from the path, and a broken escape is shown as it came", () => {
  assert.equal(detailMiss("credit", "/credit/%31%32").term, "12");
  assert.equal(detailMiss("credit", "/credit/%31%32").wellFormed, true);
  assert.equal(detailMiss("listing", "/listing/a%20b").term, "a b");
  assert.equal(detailMiss("listing", "/listing/%E0%A4%A").term, "%E0%A4%A");
});

test("wellFormedId: decimal digits below 2^256 only", () => {
  assert.ok(wellFormedId("0"));
  assert.ok(wellFormedId("1"));
  assert.ok(wellFormedId(((1n << 256n) - 1n).toString()));
  for (const bad of ["", "-1", "1.5", "0x10", " 1", "1e3", (1n << 256n).toString(), "abc"])
    assert.ok(!wellFormedId(bad), bad);
});
