import { test } from "node:test";
import assert from "node:assert/strict";
import { settlePresence, type PresenceProbe } from "./settlePresence.ts";

/**
 * An indexer that reaches block `reaches[i]` on its i-th read and holds the id from block `mintedAt`
 * (never when null), on a chain whose head is `head`; a clock that the pauses move.
 */
function probe(o: { reaches: number[]; mintedAt: number | null; head: number; settleMs?: number }) {
  let reads = 0;
  let block: number | null = null;
  let clock = 0;
  const sleeps: number[] = [];
  const p: PresenceProbe = {
    indexedBlock: async () => (block = o.reaches[Math.min(reads++, o.reaches.length - 1)]!),
    found: async () => {
      if (block === null) block = o.reaches[Math.min(reads++, o.reaches.length - 1)]!;
      return o.mintedAt !== null && block >= o.mintedAt;
    },
    head: async () => BigInt(o.head),
    settleMs: o.settleMs ?? 1_000,
    retryMs: 300,
    now: () => clock,
    sleep: async (ms) => {
      sleeps.push(ms);
      clock += ms;
    },
  };
  return { p, sleeps, reads: () => reads };
}

test("an id the indexer holds is present on the first read, without asking the chain", async () => {
  const { p, reads } = probe({ reaches: [10], mintedAt: 5, head: 10 });
  let asked = false;
  assert.equal(await settlePresence({ ...p, head: async () => ((asked = true), 10n) }), "present");
  assert.equal(reads(), 1);
  assert.equal(asked, false);
});

test("a miss by an indexer that has read up to the chain's head is absent", async () => {
  const { p, sleeps } = probe({ reaches: [10], mintedAt: null, head: 10 });
  assert.equal(await settlePresence(p), "absent");
  assert.deepEqual(sleeps, []);
});

test("a credit minted a block after the indexer's last sync is found once the indexer catches up, not absent", async () => {
  // first read answers from block 9 (the sync of the burst before the mint); the chain is at 10
  const { p, sleeps } = probe({ reaches: [9, 9, 10], mintedAt: 10, head: 10 });
  assert.equal(await settlePresence(p), "present");
  assert.deepEqual(sleeps, [300]);
});

test("an indexer that does not reach the head in time is unknown, never absent", async () => {
  const { p } = probe({ reaches: [3], mintedAt: null, head: 10, settleMs: 1_000 });
  assert.equal(await settlePresence(p), "unknown");
  const never = probe({ reaches: [], mintedAt: null, head: 10 });
  never.p.indexedBlock = async () => null; // never synced
  never.p.found = async () => false;
  assert.equal(await settlePresence(never.p), "unknown");
});

test("a failed read or head is thrown to the caller (which renders the client view)", async () => {
  const { p } = probe({ reaches: [9], mintedAt: null, head: 10 });
  await assert.rejects(settlePresence({ ...p, head: async () => Promise.reject(new Error("rpc down")) }), /rpc down/);
});
