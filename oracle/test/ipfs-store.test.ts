/**
 * The embedded IPFS store (ipfs/helia.ts) on a real Helia node over a temp dir, when a block
 * file is corrupt (a disk error, a copy cut short): Helia itself serves such a block as it is,
 * and skips the put of a block it holds, so a good copy could not mend it.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
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

test("rawCid is the sdk's bundleCid (CIDv1, raw, sha2-256) with Node's hash: a known answer, and equal on other bytes", () => {
  // the CID of no bytes, as `ipfs add --raw-leaves --cid-version 1` of an empty file gives it
  const empty = "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku";
  assert.equal(rawCid(new Uint8Array()), empty);
  assert.equal(bundleCid(new Uint8Array()), empty);
  assert.equal(rawCidFromSha256("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"), empty);
  for (const bytes of [Buffer.from("{}"), Buffer.alloc(70_000, 7), Buffer.from("\u00e9t\u00e9 \u{1F331}")])
    assert.equal(rawCid(bytes), bundleCid(bytes));
});
