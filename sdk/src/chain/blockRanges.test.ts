import assert from "node:assert/strict";
import { test } from "node:test";
import { DEFAULT_LOG_RANGE_BLOCKS, blockRanges } from "./blockRanges.ts";

const ranges = (from: bigint, to: bigint, size?: bigint) =>
  [...blockRanges(from, to, size)].map((r) => [r.fromBlock, r.toBlock]);

test("blockRanges tiles from..to in ranges of size, the last one cut at to", () => {
  assert.deepEqual(ranges(10n, 20n, 4n), [
    [10n, 13n],
    [14n, 17n],
    [18n, 20n],
  ]);
});

test("blockRanges: an exact multiple of the size ends on a full range, with no empty one after it", () => {
  assert.deepEqual(ranges(0n, 8n, 3n), [
    [0n, 2n],
    [3n, 5n],
    [6n, 8n],
  ]);
  assert.deepEqual(ranges(5n, 9n, 5n), [[5n, 9n]]);
});

test("blockRanges: a range of 1 block gives every block alone; from = to gives one range", () => {
  assert.deepEqual(ranges(7n, 9n, 1n), [
    [7n, 7n],
    [8n, 8n],
    [9n, 9n],
  ]);
  assert.deepEqual(ranges(42n, 42n, 1000n), [[42n, 42n]]);
});

test("blockRanges: from > to gives no range (a deployment block past the head asks for nothing)", () => {
  assert.deepEqual(ranges(11n, 10n, 3n), []);
  assert.deepEqual(ranges(11n, 10n, 1n), []);
});

test("blockRanges: the default size is DEFAULT_LOG_RANGE_BLOCKS; a size below 1 is refused", () => {
  assert.deepEqual(ranges(0n, 12_000n), [
    [0n, DEFAULT_LOG_RANGE_BLOCKS - 1n],
    [DEFAULT_LOG_RANGE_BLOCKS, 2n * DEFAULT_LOG_RANGE_BLOCKS - 1n],
    [2n * DEFAULT_LOG_RANGE_BLOCKS, 12_000n],
  ]);
  assert.throws(() => ranges(0n, 10n, 0n), RangeError);
  assert.throws(() => ranges(0n, 10n, -1n), RangeError);
});
