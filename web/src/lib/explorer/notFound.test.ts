import { test } from "node:test";
import assert from "node:assert/strict";
import { explorerMiss, wellFormed } from "./notFound.ts";

const H32 = `0x${"ab".repeat(32)}`;

test("a well-formed term that is not indexed: what was looked up, and the kind's hint when it has one", () => {
  assert.deepEqual(explorerMiss(`/explorer/tx/${H32}`), {
    title: "Transaction",
    what: "transaction",
    term: H32,
    hint: "Neither the indexer nor the chain knows this transaction.",
  });
  assert.deepEqual(explorerMiss(`/explorer/attestations/${H32}`), {
    title: "Attestation",
    what: "attestation",
    term: H32,
    hint: undefined,
  });
  assert.equal(explorerMiss("/explorer/facilities/ktda-nowhere").hint, undefined);
  assert.match(explorerMiss("/explorer/devices/no-such-meter").hint!, /registered under/);
});

test("a malformed term gets the form the kind expects", () => {
  assert.equal(explorerMiss("/explorer/tx/0x1234").hint, "A transaction hash is 0x followed by 64 hex digits.");
  assert.equal(explorerMiss("/explorer/accounts/bob").hint, "An address is 0x followed by 40 hex digits.");
  assert.match(explorerMiss("/explorer/facilities/Not%20Lower").hint!, /lower case/);
  assert.equal(explorerMiss("/explorer/facilities/Not%20Lower").term, "Not Lower");
});

test("the term is decoded from the path, and a broken escape is shown as it came", () => {
  assert.equal(explorerMiss("/explorer/devices/kangaita%2Fchimney").term, "kangaita/chimney");
  assert.equal(explorerMiss("/explorer/devices/%E0%A4%A").term, "%E0%A4%A");
});

test("a path that is no detail page is a missing explorer page", () => {
  assert.deepEqual(explorerMiss("/explorer/nowhere"), {
    title: "Page not found",
    what: "explorer page",
    term: "/explorer/nowhere",
  });
  assert.equal(explorerMiss("/explorer/tx/").what, "explorer page");
});

test("wellFormed holds each page to its kind's form", () => {
  assert.ok(wellFormed("tx", H32));
  assert.ok(!wellFormed("tx", H32.slice(0, -1)));
  assert.ok(wellFormed("accounts", `0x${"12".repeat(20)}`));
  assert.ok(wellFormed("facilities", "ktda-kangaita"));
  assert.ok(!wellFormed("facilities", "KTDA"));
  assert.ok(wellFormed("devices", "kangaita-chimney-1"));
  assert.ok(wellFormed("devices", `0x${"ab".repeat(32)}`));
  // an id no device can have: a 404 saying what a device id looks like, not a failed indexer read
  assert.ok(!wellFormed("devices", "ABC"));
  assert.match(explorerMiss("/explorer/devices/ABC").hint!, /A device id is lower case/);
});
