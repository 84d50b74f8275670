/**
 * The indexer lookup of the dApp's detail pages (/credit, /certificate, /listing; server only):
 * present, absent (→ 404) or unknown (→ the client view renders as before). The decision, and why a
 * miss waits for the chain's head, is settlePresence's.
 */
import type { ExplorerIndexer } from "@carbonproof/subgraph/client";
import { chainClient } from "@/components/explorer/chain.ts";
import { getExplorerIndexer } from "@/server/indexer/index.ts";
import { settlePresence, type Presence } from "./settlePresence.ts";

/** The indexer's block and the chain's head as the lookup last read them (null: not read). */
export type PresenceSeen = { indexedBlock: number | null; head: bigint | null };

/**
 * Whether `lookup` finds its id in the configured indexer (fresh, as the explorer reads it), or
 * "unknown" when that cannot be told; `what` names the id in the log line of a failure. `seen` is
 * filled in as the blocks are read, for a page that says how far behind the indexer is.
 */
export async function indexedPresence(
  what: string,
  lookup: (ix: ExplorerIndexer) => Promise<boolean>,
  seen: PresenceSeen = { indexedBlock: null, head: null },
): Promise<Presence> {
  try {
    const ix = getExplorerIndexer();
    return await settlePresence({
      found: () => lookup(ix),
      indexedBlock: async () => (seen.indexedBlock = (await ix.overview()).indexedBlock),
      head: async () => (seen.head = await chainClient().getBlockNumber({ cacheTime: 0 })),
    });
  } catch (error) {
    // Never a 404 on a failure: the page renders its client view, which reads the chain.
    console.error(`${what}: the indexer or the chain could not be read; rendering without a lookup`, error);
    return "unknown";
  }
}
