import type { PublicClient } from "viem";

/**
 * The smallest block in [lo, hi] stamped at or after `t` (unix s; hi + 1 if none), by binary search
 * over the blocks' timestamps, which never decrease: about log2(hi − lo) `eth_getBlockByNumber`
 * calls. `signal`: no further block is read once it is aborted.
 */
export async function firstStampedFrom(
  client: PublicClient,
  t: bigint,
  lo: bigint,
  hi: bigint,
  signal?: AbortSignal,
): Promise<bigint> {
  let a = lo;
  let b = hi + 1n;
  while (a < b) {
    signal?.throwIfAborted();
    const mid = (a + b) / 2n;
    if ((await client.getBlock({ blockNumber: mid })).timestamp >= t) b = mid;
    else a = mid + 1n;
  }
  return a;
}
