/**
 * What the search page adds to "nothing indexed matches" when the indexer was behind the chain's
 * head at the time of the search (the miss was settled with the detail pages' rule,
 * lib/explorer/detail.ts, and came out "unknown"): an id created in the last blocks may exist.
 */

/**
 * The note for an indexer at `indexedBlock` (null: its first pass over the chain is not done) and a
 * chain at `head`; null when it cannot be told that the indexer is behind (the chain could not be
 * read, or the indexer is at the head and could not be read), so the page says no more than "no match".
 */
export function searchLagNote(indexedBlock: number | null, head: bigint | null): string | null {
  if (head === null) return null;
  if (indexedBlock === null)
    return `The indexer has not finished its first read of the chain (the chain is at block ${head}): a new id may not show yet. Search again in a few seconds.`;
  const behind = head - BigInt(indexedBlock);
  if (behind <= 0n) return null;
  return `The indexer is ${behind} block${behind === 1n ? "" : "s"} behind the chain (indexed up to block ${indexedBlock}, the chain is at block ${head}): a new id may not show yet. Search again in a few seconds.`;
}
