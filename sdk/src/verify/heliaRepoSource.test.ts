import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FsBlockstore } from "blockstore-fs";
import { CID } from "multiformats/cid";
import * as raw from "multiformats/codecs/raw";
import { sha256 } from "multiformats/hashes/sha2";
import { heliaRepoSource } from "./heliaRepoSource.ts";

// A real FsBlockstore laid out as the oracle's Helia repository (<repo>/blocks).
async function repoWith(bytes: Uint8Array): Promise<{ dir: string; cid: string }> {
  const dir = mkdtempSync(join(tmpdir(), "carbonproof-helia-"));
  const store = new FsBlockstore(join(dir, "blocks"));
  await store.open();
  const cid = CID.createV1(raw.code, await sha256.digest(bytes));
  await store.put(cid, bytes);
  await store.close();
  return { dir, cid: cid.toString() };
}

test("heliaRepoSource reads a raw block by CID from the repository or its blocks folder", async () => {
  const bytes = new TextEncoder().encode('{"format":"carbonproof.bundle/1"}');
  const { dir, cid } = await repoWith(bytes);
  try {
    assert.deepEqual(await heliaRepoSource(dir).get(cid), bytes);
    assert.deepEqual(await heliaRepoSource(join(dir, "blocks")).get(cid), bytes);
    assert.equal(heliaRepoSource(dir).byCid, true);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("heliaRepoSource says which CID is missing and rejects a non-CID", async () => {
  const { dir } = await repoWith(new Uint8Array([1, 2, 3]));
  try {
    const other = CID.createV1(raw.code, await sha256.digest(new Uint8Array([9]))).toString();
    await assert.rejects(heliaRepoSource(dir).get(other), (e: Error) => e.message.includes(`No block ${other}`));
    await assert.rejects(heliaRepoSource(dir).get("not-a-cid"), /is not a CID/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
