import { test } from "node:test";
import assert from "node:assert/strict";
import { searchLagNote } from "./lag.ts";

test("a search miss while the indexer is behind the head says by how many blocks", () => {
  assert.equal(
    searchLagNote(100, 103n),
    "The indexer is 3 blocks behind the chain (indexed up to block 100, the chain is at block 103): a new id may not show yet. Search again in a few seconds.",
  );
  assert.match(searchLagNote(100, 101n)!, /^The indexer is 1 block behind/);
});

test("a search miss before the indexer's first pass says so", () => {
  assert.match(searchLagNote(null, 42n)!, /not finished its first read of the chain \(the chain is at block 42\)/);
});

test("a search miss adds nothing when the indexer is not known to be behind", () => {
  assert.equal(searchLagNote(100, 100n), null, "at the head: a plain no-match");
  assert.equal(searchLagNote(100, null), null, "the chain could not be read");
  assert.equal(searchLagNote(null, null), null);
});
