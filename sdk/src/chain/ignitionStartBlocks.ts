import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { startBlocksFromJournal } from "./startBlocksFromJournal.ts";

/**
 * The deployment blocks of the contracts of an Ignition deployment directory
 * (`ignition/deployments/chain-<id>`, beside its `deployed_addresses.json`), from its
 * `journal.jsonl`: future id (`Module#Contract`) → block of its deployment receipt. Empty when
 * the directory has no journal (addresses written by hand). A deployment's start block, where
 * readers of its events begin, is the lowest of its contracts' (all of them known).
 * Node-only (reads the file).
 *
 * @throws SdkError `INVALID_IGNITION_JOURNAL` when a line of the journal is not JSON
 */
export function ignitionStartBlocks(dir: string): Map<string, number> {
  const file = join(dir, "journal.jsonl");
  if (!existsSync(file)) return new Map();
  return startBlocksFromJournal(readFileSync(file, "utf8"), file);
}
