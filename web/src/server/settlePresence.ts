/**
 * Whether the indexer knows an id, for the dApp's detail pages (server only): they answer 404 for
 * an id the indexer reports absent, and render their client view as before in every other case.
 *
 * A read waits for the indexer's catch-up with the chain, but only so long (a burst of reads shares
 * one sync; a slow sync answers from the store), so a credit minted a second ago can be missing
 * from a read although it exists. A miss therefore counts only once the indexer has read up to the
 * chain's head as it was after that miss: until then the page reads again; when the indexer does
 * not get there in time, or the indexer or the chain cannot be read, the answer is "unknown" and the
 * page renders the client view, which reads the chain itself.
 */

export type Presence = "present" | "absent" | "unknown";

/** Longest a page waits, after a miss, for the indexer to reach the chain's head. */
const SETTLE_MS = 4_000;
/** Pause between reads: past the indexer's 250 ms "one sync per burst", so the next read syncs. */
const RETRY_MS = 300;

export type PresenceProbe = {
  /** whether the id is indexed (one fresh read) */
  found: () => Promise<boolean>;
  /** the block the indexer has read up to (null before its first sync) */
  indexedBlock: () => Promise<number | null>;
  /** the chain's newest block */
  head: () => Promise<bigint>;
  settleMs?: number;
  retryMs?: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
};

/** The decision, with its reads passed in: found → present; a miss by an indexer at the head → absent. */
export async function settlePresence(probe: PresenceProbe): Promise<Presence> {
  const now = probe.now ?? Date.now;
  const sleep = probe.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  if (await probe.found()) return "present";
  // Read after the miss: any block the user's transaction went into is at or below it.
  const head = await probe.head();
  const deadline = now() + (probe.settleMs ?? SETTLE_MS);
  for (;;) {
    // The indexed block before the lookup: the lookup reads a store at least that far along.
    const indexed = await probe.indexedBlock();
    if (await probe.found()) return "present";
    if (indexed !== null && BigInt(indexed) >= head) return "absent";
    if (now() >= deadline) return "unknown";
    await sleep(probe.retryMs ?? RETRY_MS);
  }
}
