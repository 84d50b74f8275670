/**
 * The embedded IPFS store (ipfs/helia.ts) on a real Helia node over a temp dir, when a block
 * file is corrupt (a disk error, a copy cut short): Helia itself serves such a block as it is,
 * and skips the put of a block it holds, so a good copy could not mend it. And what it syncs
 * before `addAndPin` resolves.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { base32upper } from "multiformats/bases/base32";
import { base36 } from "multiformats/bases/base36";
import { CID } from "multiformats/cid";
import { CorruptBlockError, HeliaStore, openBlockReader } from "../src/ipfs/helia.ts";
import { rawCid, rawCidFromSha256 } from "../src/ipfs/store.ts";
import { bundleCid } from "../../sdk/src/index.ts";
import { tempDir } from "./helpers.ts";

/** Every file under `dir`. */
const filesUnder = (dir: string): string[] =>
  readdirSync(dir).flatMap((n) => (statSync(join(dir, n)).isDirectory() ? filesUnder(join(dir, n)) : [join(dir, n)]));

test("a corrupt block is refused by get, naming it and what to do, and a put of its good bytes writes over it; an intact one is not written again", async () => {
  const { dir, cleanup } = tempDir();
  try {
    const good = Buffer.from(`{"bundle":"the good bytes ${Date.now()}"}`);
    const cid = rawCid(good);
    let store = await HeliaStore.open(dir);
    assert.equal(await store.addAndPin(good), cid);
    await store.close();
    const [file, ...others] = filesUnder(join(dir, "blocks"));
    assert.equal(others.length, 0, "one block file");
    const intactAt = statSync(file!).mtimeMs;

    store = await HeliaStore.open(dir);
    try {
      // held and intact: not written again
      await new Promise((r) => setTimeout(r, 20));
      assert.equal(await store.addAndPin(good), cid);
      assert.equal(statSync(file!).mtimeMs, intactAt);

      writeFileSync(file!, good.subarray(0, 10)); // cut short
      await assert.rejects(store.get(cid), (err: Error) => {
        assert.ok(err instanceof CorruptBlockError);
        assert.match(err.message, new RegExp(`block ${cid} in the embedded IPFS store is corrupt`));
        assert.match(err.message, /carbonproof-oracle pin FILE/);
        return true;
      });
      // the reader beside a running node gives the bytes as they are: `backup --content` checks them
      const reader = await openBlockReader(dir);
      assert.deepEqual(Buffer.from((await reader.get(cid))!), good.subarray(0, 10));

      assert.equal(await store.addAndPin(good), cid);
      assert.deepEqual(Buffer.from((await store.get(cid))!), good);
      assert.equal(await store.isPinned(cid), true);
    } finally {
      await store.close();
    }
    // and it stays mended
    store = await HeliaStore.open(dir);
    try {
      assert.deepEqual(Buffer.from((await store.get(cid))!), good);
    } finally {
      await store.close();
    }
  } finally {
    cleanup();
  }
});

test("addAndPin resolves only once the block file, its folder and the pin records are synced; a second add of the same bytes at once waits for them too", async () => {
  // Stands in for a power cut right after addAndPin resolves (the node then answers an evidence
  // upload 201 and puts a bundle's CID on-chain), which cannot be caused here: the store's fsync
  // is a recorder, and what it synced is checked the moment addAndPin resolves. Paths are computed
  // here from the CID, as blockstore-fs and Helia lay them out, not asked of the store.
  const tmp = tempDir();
  const dir = join(tmp.dir, "ipfs");
  try {
    const events: string[] = [];
    const slow = new Set<string>();
    /** called as a file starts to be synced */
    let onSync = (_path: string) => {};
    const store = await HeliaStore.open(dir, {
      fsync: async (path) => {
        onSync(path);
        // a slow disk: a sync that returns late must still come before addAndPin resolves
        if (slow.has(path)) await new Promise((r) => setTimeout(r, 50));
        events.push(path);
      },
    });
    try {
      // a store made now: its directories, each in its parent
      for (const p of [tmp.dir, dir]) assert.ok(events.includes(p), `${p} synced: ${events.join(", ")}`);
      const bytes = Buffer.from(`{"invoice":"KPLC-2026-11 ${Date.now()}"}`);
      const cid = CID.parse(rawCid(bytes));
      // blockstore-fs's NextToLast: base32upper of the multihash, in the folder of its last 2 characters
      const name = base32upper.encode(cid.multihash.bytes);
      const folder = join(dir, "blocks", name.slice(-2));
      const file = join(folder, `${name}.data`);
      // Helia's pin records: /pin/<CID in base36> and /pinned-block/<multihash in base36>
      const pin = join(dir, "data", "pin", `${cid.toString(base36)}.data`);
      const pinnedBlock = join(dir, "data", "pinned-block", `${base36.encode(cid.multihash.bytes)}.data`);
      for (const p of [file, pin, pinnedBlock]) slow.add(p);

      events.length = 0;
      // the same bytes again (a second upload of the same invoice) while the first add syncs its
      // pin record: the block and that record are in place then, not yet on disk
      let second: Promise<unknown> | null = null;
      onSync = (path) => {
        if (path === pinnedBlock && !second) second = store.addAndPin(bytes).then(() => events.push("second resolved"));
      };
      await store.addAndPin(bytes).then(() => events.push("first resolved"));
      assert.ok(second, "the second add started while the first synced");
      await second;
      onSync = () => {};
      for (const p of [file, pin, pinnedBlock]) assert.ok(existsSync(p), `${p} written`);
      const at = (p: string) => events.indexOf(p);
      const resolved = Math.min(at("first resolved"), at("second resolved"));
      for (const p of [file, folder, join(dir, "blocks"), pin, join(dir, "data", "pin"), pinnedBlock])
        assert.ok(at(p) >= 0 && at(p) < resolved, `${p} synced before addAndPin resolved: ${events.join(", ")}`);
      // a new folder's entry in its parent too (the first write there in this process)
      assert.ok(at(join(dir, "data")) >= 0 && at(join(dir, "data")) < resolved);
      assert.ok(at(file) < at(folder), "the file before its folder");
      assert.equal(await store.isPinned(cid.toString()), true);

      // held and intact already: synced again before it resolves (cheap on disk), not written again
      const writtenAt = statSync(file).mtimeMs;
      events.length = 0;
      await store.addAndPin(bytes);
      assert.ok(events.includes(file) && events.includes(folder), events.join(", "));
      assert.equal(statSync(file).mtimeMs, writtenAt);
    } finally {
      await store.close();
    }
  } finally {
    tmp.cleanup();
  }
});

test("rawCid is the sdk's bundleCid (CIDv1, raw, sha2-256) with Node's hash: a known answer, and equal on other bytes", () => {
  // the CID of no bytes, as `ipfs add --raw-leaves --cid-version 1` of an empty file gives it
  const empty = "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku";
  assert.equal(rawCid(new Uint8Array()), empty);
  assert.equal(bundleCid(new Uint8Array()), empty);
  assert.equal(rawCidFromSha256("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"), empty);
  for (const bytes of [Buffer.from("{}"), Buffer.alloc(70_000, 7), Buffer.from("\u00e9t\u00e9 \u{1F331}")])
    assert.equal(rawCid(bytes), bundleCid(bytes));
});
