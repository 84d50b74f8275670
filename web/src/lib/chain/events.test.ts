/**
 * The settings of the dApp's event reads: the environment's (config.ts `eventReadSettings`) and
 * `eventReads`. The reads themselves run on a real chain in creditPage.hardhat.test.ts.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { eventReadSettings } from "../config.ts";
import { DEFAULT_LOG_RANGE_BLOCKS, eventReads } from "./events.ts";

test("eventReadSettings: CARBONPROOF_START_BLOCK, else the deployment's block, else 0; the range as given", () => {
  assert.deepEqual(eventReadSettings({}), { startBlock: 0, logRangeBlocks: undefined });
  assert.deepEqual(eventReadSettings({}, 17), { startBlock: 17, logRangeBlocks: undefined });
  assert.deepEqual(
    eventReadSettings({ CARBONPROOF_START_BLOCK: "21000000", CARBONPROOF_LOG_RANGE_BLOCKS: "2000" }, 17),
    { startBlock: 21_000_000, logRangeBlocks: 2000 },
  );
  assert.deepEqual(eventReadSettings({ CARBONPROOF_START_BLOCK: "", CARBONPROOF_LOG_RANGE_BLOCKS: "" }, 5), {
    startBlock: 5,
    logRangeBlocks: undefined,
  });
});

test("eventReadSettings refuses a value that is not a whole number of blocks, naming the setting", () => {
  assert.throws(() => eventReadSettings({ CARBONPROOF_LOG_RANGE_BLOCKS: "5k" }), /CARBONPROOF_LOG_RANGE_BLOCKS/);
  assert.throws(
    () => eventReadSettings({ CARBONPROOF_LOG_RANGE_BLOCKS: "0" }),
    /CARBONPROOF_LOG_RANGE_BLOCKS.*at least 1/,
  );
  assert.throws(() => eventReadSettings({ CARBONPROOF_START_BLOCK: "-1" }), /CARBONPROOF_START_BLOCK/);
});

test("eventReads: from block 0 in ranges of the default size unless told", () => {
  const d = eventReads();
  assert.equal(d.fromBlock, 0n);
  assert.equal(d.rangeBlocks, BigInt(DEFAULT_LOG_RANGE_BLOCKS));
  const r = eventReads({ startBlock: 42, rangeBlocks: 3 });
  assert.equal(r.fromBlock, 42n);
  assert.equal(r.rangeBlocks, 3n);
  assert.throws(() => eventReads({ rangeBlocks: 0 }), RangeError);
});
