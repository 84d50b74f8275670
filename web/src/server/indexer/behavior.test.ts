/**
 * The explorer's backend-independent behaviour spec (subgraph/test/support/explorer.behavior.ts)
 * against the embedded backend: the spec's scenario written as the contract events that produce
 * it (scenario.ts), fed in chain order through the real reducer into a real SQLite store, then read
 * back through EmbeddedIndexer. The subgraph backend runs the same spec (subgraph/test/client.test.ts).
 */
import { after, before } from "node:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { explorerIndexerBehavior } from "../../../../subgraph/test/support/explorer.behavior.ts";
import { EmbeddedIndexer } from "./embedded.ts";
import { recordEvent } from "./reducer.ts";
import { scenario } from "./scenario.ts";
import { openStore, setMeta, type Store } from "./store.ts";

let dir: string;
let db: Store;
let indexer: EmbeddedIndexer;
const events = scenario();
const indexedBlock = events.at(-1)!.blockNumber;

before(() => {
  dir = mkdtempSync(join(tmpdir(), "carbonproof-indexer-spec-"));
  db = openStore(join(dir, "indexer.sqlite"));
  for (const e of events) recordEvent(db, e);
  setMeta(db, "cursor", String(indexedBlock));
  indexer = new EmbeddedIndexer(db);
});

after(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

explorerIndexerBehavior("embedded", () => indexer, indexedBlock);
