/** Blocks per `eth_getLogs` unless configured: within most RPC providers' limits (many cap a query at 10,000). */
export const DEFAULT_LOG_RANGE_BLOCKS = 5_000n;

/**
 * Blocks `from` to `to` (both included) as consecutive `eth_getLogs` ranges of at most `size`
 * blocks, oldest first, the last one ending at `to`; none when `from > to`. Lazy: a caller that
 * stops early (a search bounded to so many ranges) never builds the rest.
 *
 * @throws RangeError when `size` is below 1 block
 */
export function* blockRanges(
  from: bigint,
  to: bigint,
  size: bigint = DEFAULT_LOG_RANGE_BLOCKS,
): Generator<{ fromBlock: bigint; toBlock: bigint }> {
  if (size < 1n) throw new RangeError(`a log range must be at least 1 block, got ${size}`);
  for (let a = from; a <= to; a += size) yield { fromBlock: a, toBlock: a + size - 1n < to ? a + size - 1n : to };
}
