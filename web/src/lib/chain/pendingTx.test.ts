import { test } from "node:test";
import assert from "node:assert/strict";
import {
  PENDING_TX_STORAGE_KEY,
  dropPending,
  findPending,
  readPending,
  savePending,
  type KeyValueStore,
} from "./pendingTx.ts";

/** sessionStorage's getItem/setItem over a Map (no browser in unit tests). */
function memoryStore(): KeyValueStore & { map: Map<string, string> } {
  const map = new Map<string, string>();
  return { map, getItem: (k) => map.get(k) ?? null, setItem: (k, v) => void map.set(k, v) };
}

const HASH_A = `0x${"a1".repeat(32)}` as const;
const HASH_B = `0x${"b2".repeat(32)}` as const;

test("a pending transaction survives a reload: found again by page and form, dropped once settled", () => {
  const store = memoryStore();
  savePending(store, {
    hash: HASH_A,
    label: "Buy 1.000 t CO2e",
    page: "/listing/3",
    key: "buy",
    undone: "nothing was bought",
  });
  savePending(store, {
    hash: HASH_B,
    label: "Cancel listing 4",
    page: "/sell",
    key: "listing-4",
    undone: "it did not run",
  });
  assert.equal(findPending(store, "/listing/3", "buy")?.hash, HASH_A);
  assert.equal(findPending(store, "/listing/4", "buy"), undefined);
  assert.equal(findPending(store, "/sell", "listing-4")?.label, "Cancel listing 4");
  dropPending(store, HASH_A.toUpperCase().replace("0X", "0x"));
  assert.equal(findPending(store, "/listing/3", "buy"), undefined);
  assert.equal(readPending(store).length, 1);
});

test("a shortfall recording survives a reload on its project's audit page, and only there", () => {
  // ProjectShortfallsView: one form ("record") per /audit/project/<id>, every Record button and
  // "Record all" sending through it one at a time
  const store = memoryStore();
  const label = (h: string) => `Record the period of ${h.slice(0, 10)} above the baseline`;
  savePending(store, {
    hash: HASH_A,
    label: label(HASH_A),
    page: "/audit/project/3",
    key: "record",
    undone: "the period was not recorded",
  });
  savePending(store, {
    hash: HASH_B,
    label: "Record the correction 0xb2b2",
    page: "/audit/project/4",
    key: "record",
    undone: "the correction was not recorded",
  });
  assert.equal(findPending(store, "/audit/project/3", "record")?.undone, "the period was not recorded");
  assert.equal(findPending(store, "/audit/project/4", "record")?.hash, HASH_B);
  assert.equal(findPending(store, "/audit/project/5", "record"), undefined);
  // "Record all": the next period's transaction takes the place of the one just mined
  dropPending(store, HASH_A);
  savePending(store, {
    hash: HASH_B.replace("b2", "c3") as `0x${string}`,
    label: label("0xc3"),
    page: "/audit/project/3",
    key: "record",
    undone: "the period was not recorded",
  });
  assert.equal(readPending(store).filter((e) => e.page === "/audit/project/3").length, 1);
});

test("the sender, nonce and call the node showed survive a reload (the value in wei as text)", () => {
  const store = memoryStore();
  const sent = {
    from: "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC" as const,
    nonce: 12,
    to: "0x5FbDB2315678afecb367f032d93F642f64180aa3" as const,
    value: 10n ** 24n + 1n,
    input: "0xa9059cbb" as const,
  };
  savePending(store, { hash: HASH_A, label: "Buy", page: "/listing/3", key: "purchase", undone: "nothing", sent });
  assert.deepEqual(findPending(store, "/listing/3", "purchase")?.sent, sent);
  assert.match(store.map.get(PENDING_TX_STORAGE_KEY)!, /"value":"1000000000000000000000001"/);
  // an entry saved before the node showed the transaction has none
  savePending(store, { hash: HASH_B, label: "Sell", page: "/sell", key: "list", undone: "nothing" });
  assert.equal(findPending(store, "/sell", "list")?.sent, undefined);
});

test("a new transaction of the same form replaces the one it had pending", () => {
  const store = memoryStore();
  savePending(store, { hash: HASH_A, label: "a", page: "/retire", key: "retire", undone: "x" });
  savePending(store, { hash: HASH_B, label: "b", page: "/retire", key: "retire", undone: "x" });
  assert.deepEqual(
    readPending(store).map((e) => e.hash),
    [HASH_B],
  );
});

test("an unreadable store reads as empty instead of breaking the page", () => {
  const store = memoryStore();
  store.map.set(PENDING_TX_STORAGE_KEY, "{not json");
  assert.deepEqual(readPending(store), []);
  store.map.set(PENDING_TX_STORAGE_KEY, JSON.stringify([{ hash: "0x12", label: 1 }]));
  assert.deepEqual(readPending(store), []);
});
