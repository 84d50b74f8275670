/**
 * The embedded indexer's settings: its first block defaults to the deployment's, as the dApp's own
 * event reads take it (an Ignition deployed_addresses.json and the journal.jsonl beside it, or
 * CARBONPROOF_START_BLOCK), unless CARBONPROOF_INDEXER_START_BLOCK is set for it alone.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CONTRACT_NAMES } from "../../lib/config.ts";
import { embeddedConfigFromEnv } from "./index.ts";

test("the indexer starts at the deployment's first block unless told otherwise", (t) => {
  const dir = mkdtempSync(join(tmpdir(), "cp-indexer-config-"));
  const saved = { ...process.env };
  t.after(() => {
    process.env = saved;
    rmSync(dir, { recursive: true, force: true });
  });
  // every contract of an Ignition deployment, deployed in blocks 7, 8, 9, …
  const ids = CONTRACT_NAMES.map((name) => `CarbonProof#${name}`);
  const address = (i: number) => `0x${(i + 1).toString(16).padStart(40, "0")}`;
  writeFileSync(
    join(dir, "deployed_addresses.json"),
    JSON.stringify(Object.fromEntries(ids.map((id, i) => [id, address(i)]))),
  );
  writeFileSync(
    join(dir, "journal.jsonl"),
    ids
      .map((futureId, i) =>
        JSON.stringify({
          futureId,
          type: "TRANSACTION_CONFIRM",
          receipt: { blockNumber: 7 + i, contractAddress: address(i), status: "SUCCESS" },
        }),
      )
      .join("\n") + "\n",
  );
  process.env.CARBONPROOF_ADDRESSES = join(dir, "deployed_addresses.json");
  delete process.env.CARBONPROOF_START_BLOCK;
  assert.equal(embeddedConfigFromEnv({}).startBlock, 7, "the journal's lowest deployment block");
  process.env.CARBONPROOF_START_BLOCK = "5";
  assert.equal(embeddedConfigFromEnv({}).startBlock, 5, "the dApp's setting");
  assert.equal(embeddedConfigFromEnv({ CARBONPROOF_INDEXER_START_BLOCK: "3" }).startBlock, 3, "the indexer's own");
});
