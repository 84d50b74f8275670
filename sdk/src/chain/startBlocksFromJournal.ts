import { SdkError } from "../errors.ts";

/**
 * Start blocks from the text of an Ignition journal (`journal.jsonl`): the block of each
 * contract's deployment receipt, keyed by future id (`Module#Contract`); the lowest when a future
 * has several. Entries that are not deployment confirmations (calls, run starts) are skipped.
 *
 * @param source the file the text is of, for the error
 * @throws SdkError `INVALID_IGNITION_JOURNAL` naming the line when one is not JSON
 */
export function startBlocksFromJournal(journal: string, source = "the Ignition journal"): Map<string, number> {
  const out = new Map<string, number>();
  journal.split("\n").forEach((line, i) => {
    if (!line.trim()) return;
    let entry: unknown;
    try {
      entry = JSON.parse(line);
    } catch (cause) {
      throw new SdkError(
        `Line ${i + 1} of ${source} is not JSON (${line.slice(0, 80)}): the journal is damaged, e.g. by an interrupted deployment. Deploy again with Ignition (or remove the line), or give the start block yourself.`,
        { code: "INVALID_IGNITION_JOURNAL", cause, details: { source, line: i + 1 } },
      );
    }
    const e = entry as { futureId?: unknown; receipt?: { blockNumber?: unknown; contractAddress?: unknown } } | null;
    const block = e?.receipt?.blockNumber;
    if (typeof e?.futureId === "string" && e.receipt?.contractAddress && typeof block === "number") {
      const prev = out.get(e.futureId);
      out.set(e.futureId, prev === undefined ? block : Math.min(prev, block));
    }
  });
  return out;
}
