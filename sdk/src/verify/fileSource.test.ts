import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { folderSource } from "./fileSource.ts";

test("folderSource reads <cid>.json or <cid> from a folder and names a missing CID", async () => {
  const dir = mkdtempSync(join(tmpdir(), "carbonproof-folder-"));
  try {
    writeFileSync(join(dir, "bafkreiaaa.json"), "one");
    writeFileSync(join(dir, "bafkreibbb"), "two");
    const source = folderSource(dir);
    assert.equal(new TextDecoder().decode(await source.get("bafkreiaaa")), "one");
    assert.equal(new TextDecoder().decode(await source.get("bafkreibbb")), "two");
    await assert.rejects(source.get("bafkreiccc"), /No bundle bafkreiccc\.json in the folder/);
    await assert.rejects(source.get("../etc/passwd"), /is not a CID/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
