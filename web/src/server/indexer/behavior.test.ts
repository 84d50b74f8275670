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
import {
  att1,
  att2,
  explorerIndexerBehavior,
  facilityA,
  t0,
} from "../../../../subgraph/test/support/explorer.behavior.ts";
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
  putReadings(db);
  setMeta(db, "cursor", String(indexedBlock));
  indexer = new EmbeddedIndexer(db);
});

/**
 * Readings of the device in att1's and att2's bundles, as the bundle indexer (bundles.ts) writes
 * them from IPFS, which the scenario's events do not reach: so the spec's detail lists of readings
 * have rows to page on this backend (the subgraph backend holds none). Leaves out of time order, two
 * readings to a second, and att2 (a later batch) repeating two of att1's at other leaves.
 */
function putReadings(store: Store): void {
  const insert = store.prepare(
    `INSERT INTO readings (attestation_id, leaf_index, digest, facility, device_id, seq, ts, day, kind, source,
       fossil_mg, biogenic_mg) VALUES (?, ?, ?, ?, ?, ?, ?, 0, 'flue-gas', 'flue-gas', ?, 0)`,
  );
  const digest = (seq: number) => `0x${(0xd000 + seq).toString(16).padStart(64, "0")}`;
  for (let leaf = 0; leaf < 7; leaf++) {
    const seq = (leaf * 3) % 7;
    insert.run(att1, leaf, digest(seq), facilityA, "kangaita-chimney-1", seq, t0 + Math.floor(seq / 2), 1000 + seq);
  }
  for (const [leaf, seq] of [
    [0, 5],
    [1, 2],
  ] as const)
    insert.run(att2, leaf, digest(seq), facilityA, "kangaita-chimney-1", seq, t0 + Math.floor(seq / 2), 1000 + seq);
}

after(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

explorerIndexerBehavior("embedded", () => indexer, indexedBlock);
