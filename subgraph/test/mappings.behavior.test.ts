/**
 * The explorer's behaviour spec (support/explorer.behavior.ts) on entities the mappings wrote: the
 * spec's scenario as contract events (web/src/server/indexer/scenario.ts, which the embedded
 * indexer's behaviour test feeds through its reducer) fed through the real handlers of the
 * generated manifest (support/mapping-runner.ts), the resulting store served by the graph-node
 * stand-in and read through the subgraph client. client.test.ts runs the same spec on entities laid
 * out by hand; this one holds the mappings themselves to it.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { register } from "node:module";
import { addr, att1, day, explorerIndexerBehavior, facilityA, hex32 } from "./support/explorer.behavior.ts";
import { startStandIn } from "./support/graph-node-standin.ts";
import { SubgraphIndexer } from "../client/subgraph.ts";
import { ADDRESSES, scenario } from "../../web/src/server/indexer/scenario.ts";

register("./support/hooks.ts", import.meta.url);
const { prepareMappings, standInStore, entities } = await import("./support/mapping-runner.ts");

const schemaSdl = readFileSync(new URL("../schema.graphql", import.meta.url), "utf8");
const events = scenario();
const indexedBlock = events.at(-1)!.blockNumber;

let mappings: Awaited<ReturnType<typeof prepareMappings>>;
let server: { url: string; close: () => Promise<void> };
let indexer: SubgraphIndexer;
let handled: Map<string, number>;

before(async () => {
  mappings = await prepareMappings({
    "CarbonProof#DeviceRegistry": ADDRESSES.DeviceRegistry,
    "CarbonProof#OracleSet": ADDRESSES.OracleSet,
    "CarbonProof#AttestationRegistry": ADDRESSES.AttestationRegistry,
    "Credits#CarbonCredits": ADDRESSES.CarbonCredits,
    "Credits#RetirementCertificates": ADDRESSES.RetirementCertificates,
    "Credits#Marketplace": ADDRESSES.Marketplace,
  });
  handled = mappings.indexEvents(events);
  server = await startStandIn(schemaSdl, standInStore(), indexedBlock);
  indexer = new SubgraphIndexer({ url: server.url });
});

after(async () => {
  await server?.close();
  mappings?.cleanup();
});

test("every event of the scenario reaches a handler", () => {
  const total = [...handled.values()].reduce((a, n) => a + n, 0);
  assert.equal(total, events.length);
});

explorerIndexerBehavior("subgraph (mappings executed)", () => indexer, indexedBlock);

// after the spec, which reads the scenario's store: one more block on top of it
test("an issued attestation revoked: its credits leave the issuedAgainstKg of its period's day, not the issuedKg of the issuance's", () => {
  const facilityDay = (d: number) =>
    [...entities("FacilityDailyStat").values()].find((x) => x.facility === facilityA.toLowerCase() && x.day === d)!;
  assert.deepEqual([facilityDay(day).issuedAgainstKg, facilityDay(day + 1).issuedKg], [800n, 800n]);
  const last = events.at(-1)!;
  mappings.indexEvents([
    {
      blockNumber: last.blockNumber + 1,
      blockHash: hex32(0xbfff),
      timestamp: last.timestamp + 60,
      transactionHash: hex32(0x7fff),
      transactionFrom: addr(0xcc),
      logIndex: 0,
      address: ADDRESSES.AttestationRegistry,
      eventName: "AttestationRevoked",
      args: { id: att1, verifier: addr(0xcc), reason: "meter miscalibrated" },
    },
  ]);
  assert.deepEqual([facilityDay(day).issuedAgainstKg, facilityDay(day + 1).issuedKg], [0n, 800n]);
});
