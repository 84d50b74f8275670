/**
 * The explorer's subgraph backend (client/): its queries validated against the API graph-node
 * derives from schema.graphql (graphql-js), and the explorer's page-level reads run over HTTP
 * against a graph-node stand-in (support/graph-node-standin.ts: graph-node cannot run here) that
 * holds entities as the mappings write them.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parse, validate } from "graphql";
import { getNamedType, isNonNullType, type GraphQLObjectType } from "graphql";
import { entitySchema, graphNodeApi } from "./support/graph-node-api.ts";
import { emptyStore, put, startStandIn, type Store } from "./support/graph-node-standin.ts";
import { ALL_QUERIES } from "../client/queries.ts";
import { SubgraphIndexer } from "../client/subgraph.ts";
import { IndexerError } from "../client/errors.ts";
import { createIndexer, indexerConfigFromEnv } from "../client/config.ts";
import { protocolIdKey } from "../client/ids.ts";
import type { Hex } from "../client/types.ts";

const schemaSdl = readFileSync(join(dirname(fileURLToPath(import.meta.url)), "../schema.graphql"), "utf8");
const api = graphNodeApi(schemaSdl);

for (const [name, document] of Object.entries(ALL_QUERIES)) {
  test(`${name} is valid against the subgraph's GraphQL API`, () => {
    const errors = validate(api, parse(document));
    assert.deepEqual(
      errors.map((e) => e.message),
      [],
    );
  });
}

test("the validation catches a query that the schema cannot answer", () => {
  const errors = validate(api, parse(`{ facilities(where: { colour: "red" }) { id tonnes } }`));
  assert.ok(errors.some((e) => /colour/.test(e.message)));
  assert.ok(errors.some((e) => /tonnes/.test(e.message)));
});

// ---------------------------------------------------------------- data as the mappings write it

import {
  addr,
  att1,
  att2,
  att3,
  certificateId,
  day,
  device1,
  explorerIndexerBehavior,
  facilityA,
  facilityB,
  hex32,
  oracleSet,
  t0,
  tokenId,
} from "./support/explorer.behavior.ts";

function seed(): Store {
  const s = emptyStore();
  const totals = (o: Record<string, unknown>) => ({
    attestationCount: 0,
    revokedAttestationCount: 0,
    readingCount: "0",
    fossilCo2eGrams: "0",
    biogenicCo2Grams: "0",
    ...o,
  });
  put(s, "Facility", {
    id: facilityA,
    code: "ktda-kangaita",
    deviceCount: 1,
    activeDeviceCount: 1,
    ...totals({
      attestationCount: 2,
      revokedAttestationCount: 1,
      readingCount: "120",
      fossilCo2eGrams: "5000000",
      biogenicCo2Grams: "900000",
    }),
    attestedUntil: String(t0 + 7200),
    creditsIssuedKg: "800",
    creditsRetiredKg: "100",
    firstSeenAt: String(t0),
  });
  put(s, "Facility", {
    id: facilityB,
    code: "ktda-chinga",
    deviceCount: 0,
    activeDeviceCount: 0,
    ...totals({ attestationCount: 1, readingCount: "10", fossilCo2eGrams: "9000000" }),
    attestedUntil: String(t0 + 3600),
    creditsIssuedKg: "0",
    creditsRetiredKg: "0",
    firstSeenAt: String(t0),
  });
  put(s, "DeviceKey", {
    id: `${device1}00000000`,
    device: device1,
    index: 0,
    x: hex32(1),
    y: hex32(2),
    validFrom: "0",
    validUntil: String(t0 + 100),
    addedAt: String(t0),
    transactionHash: hex32(0x71),
  });
  put(s, "DeviceKey", {
    id: `${device1}00000001`,
    device: device1,
    index: 1,
    x: hex32(3),
    y: hex32(4),
    validFrom: String(t0 + 100),
    validUntil: null,
    addedAt: String(t0 + 100),
    transactionHash: hex32(0x72),
  });
  put(s, "Device", {
    id: device1,
    code: "kangaita-chimney-1",
    facility: facilityA,
    kind: "FlueGas",
    status: "Active",
    statusReason: null,
    metadataURI: "ipfs://device",
    registeredAt: String(t0),
    registeredBlock: "3",
    statusChangedAt: String(t0),
    currentKey: `${device1}00000001`,
    keyCount: 2,
  });
  put(s, "DeviceEvent", {
    id: hex32(0xe1),
    device: device1,
    kind: "Registered",
    reason: null,
    timestamp: String(t0),
    blockNumber: "3",
    transactionHash: hex32(0x71),
  });
  put(s, "DeviceEvent", {
    id: hex32(0xe2),
    device: device1,
    kind: "KeyRotated",
    reason: null,
    timestamp: String(t0 + 100),
    blockNumber: "4",
    transactionHash: hex32(0x72),
  });
  for (const [i, a] of [addr(0x11), addr(0x22), addr(0x33)].entries()) {
    put(s, "OracleNode", {
      id: `${oracleSet}${i.toString(16).padStart(8, "0")}`,
      oracleSet,
      address: a,
      index: i,
      active: true,
      addedAt: String(t0),
      attestationsSigned: 1,
    });
  }
  const attestation = (id: Hex, facility: Hex, o: Record<string, unknown>) => ({
    id,
    registry: addr(0xa77),
    facility,
    periodStart: String(t0),
    periodEnd: String(t0 + 3600),
    merkleRoot: hex32(0x400),
    readingCount: "60",
    fossilCo2eGrams: "2500000",
    biogenicCo2Grams: "450000",
    methodologyId: hex32(0x111),
    factorSetId: hex32(0x222),
    bundleCid: "bafybeibundle",
    correctionOf: null,
    isCorrection: false,
    signerBitmap: "5",
    signerCount: 2,
    submitter: addr(0x11),
    submittedAt: String(t0 + 3700),
    submittedBlock: "10",
    transactionHash: hex32(0x7a),
    revoked: false,
    revocation: null,
    challengeState: "None",
    challenge: null,
    issuance: null,
    correctionRecord: null,
    ...o,
  });
  put(s, "Attestation", attestation(att1, facilityA, { issuance: att1, submittedAt: String(t0 + 3700) }));
  put(
    s,
    "Attestation",
    attestation(att2, facilityA, {
      periodStart: String(t0 + 3600),
      periodEnd: String(t0 + 7200),
      revoked: true,
      revocation: att2,
      challengeState: "Upheld",
      challenge: att2,
      submittedAt: String(t0 + 7300),
    }),
  );
  put(
    s,
    "Attestation",
    attestation(att3, facilityB, { readingCount: "10", fossilCo2eGrams: "9000000", submittedAt: String(t0 + 3800) }),
  );
  put(s, "AttestationSignature", { id: `${att1}00000002`, attestation: att1, node: `${oracleSet}00000002` });
  put(s, "AttestationSignature", { id: `${att1}00000000`, attestation: att1, node: `${oracleSet}00000000` });
  put(s, "Challenge", {
    id: att2,
    attestation: att2,
    challenger: addr(0xa0d),
    reason: "stuck sensor",
    evidenceCid: "bafyevidence",
    challengedAt: String(t0 + 7400),
    transactionHash: hex32(0x7c),
    state: "Upheld",
    arbiter: addr(0xa4b),
    note: "confirmed",
    resolvedAt: String(t0 + 8000),
    resolvedTransactionHash: hex32(0x7d),
  });
  put(s, "Revocation", {
    id: att2,
    attestation: att2,
    verifier: addr(0xcc),
    reason: "confirmed",
    challenge: att2,
    timestamp: String(t0 + 8000),
    transactionHash: hex32(0x7d),
  });
  put(s, "Baseline", {
    id: "1-0",
    project: "1",
    index: 0,
    effectiveFrom: String(t0 - 86_400),
    gramsPerDay: "100000000",
    justificationCid: "bafybaseline",
    setAt: String(t0),
    transactionHash: hex32(0x7e),
  });
  put(s, "Project", {
    id: "1",
    projectId: "1",
    facility: facilityA,
    methodologyId: hex32(0x111),
    proponent: addr(0xbeef),
    name: "Kangaita biomass switch",
    standard: "CarbonProof v1",
    active: true,
    registeredAt: String(t0),
    transactionHash: hex32(0x7e),
    baselineCount: 1,
    currentBaseline: "1-0",
    issuedKg: "800",
    retiredKg: "100",
    correctionGramsRecorded: "0",
  });
  put(s, "Credit", {
    id: tokenId.toString(),
    tokenId: tokenId.toString(),
    project: "1",
    vintage: 2026,
    issuedKg: "800",
    retiredKg: "100",
    supplyKg: "700",
    retirementCount: 1,
    holderCount: 2,
    uri: null,
  });
  put(s, "Issuance", {
    id: att1,
    credit: tokenId.toString(),
    project: "1",
    attestation: att1,
    to: addr(0xbeef),
    amountKg: "800",
    boundKg: "812",
    correctionGramsCovered: "0",
    issuer: addr(0x44),
    timestamp: String(t0 + 90_000),
    blockNumber: "20",
    transactionHash: hex32(0x7f),
  });
  put(s, "Account", { id: addr(0xbeef) });
  put(s, "Account", { id: addr(0xb0b) });
  put(s, "Account", { id: addr(0xca7) });
  put(s, "Balance", {
    id: `${addr(0xbeef)}01`,
    account: addr(0xbeef),
    credit: tokenId.toString(),
    amountKg: "500",
    updatedAt: String(t0),
  });
  put(s, "Balance", {
    id: `${addr(0xb0b)}01`,
    account: addr(0xb0b),
    credit: tokenId.toString(),
    amountKg: "200",
    updatedAt: String(t0),
  });
  put(s, "Balance", {
    id: `${addr(0xca7)}01`,
    account: addr(0xca7),
    credit: tokenId.toString(),
    amountKg: "0",
    updatedAt: String(t0),
  });
  const listing = (id: number, o: Record<string, unknown>) => ({
    id: String(id),
    listingId: String(id),
    seller: addr(0xbeef),
    credit: tokenId.toString(),
    amountKg: "100",
    remainingKg: "100",
    paymentToken: addr(0x05d),
    unitPrice: "25000000",
    minFillKg: "1",
    expiresAt: String(t0 + 999_999),
    status: "Open",
    createdAt: String(t0 + id),
    transactionHash: hex32(0x80 + id),
    cancelledAt: null,
    amountReturnedKg: null,
    soldKg: "0",
    saleCount: 0,
    ...o,
  });
  put(s, "Listing", listing(1, { remainingKg: "0", soldKg: "100", saleCount: 1, status: "Filled" }));
  put(s, "Listing", listing(2, {}));
  put(s, "Listing", listing(3, { status: "Cancelled", remainingKg: "0" }));
  put(s, "Certificate", {
    id: certificateId.toString(),
    certificateId: certificateId.toString(),
    owner: addr(0xca7),
    locked: true,
    retirement: certificateId.toString(),
    mintedAt: String(t0 + 100_000),
    transactionHash: hex32(0x90),
  });
  put(s, "Retirement", {
    id: certificateId.toString(),
    certificate: certificateId.toString(),
    credit: tokenId.toString(),
    beneficiary: addr(0xca7),
    retiree: addr(0xb0b),
    holder: addr(0x3a7),
    amountKg: "100",
    beneficiaryName: "Acme Tea Ltd",
    reason: "FY2026 scope 1 offset",
    consumptionCountry: "0x4b454e",
    consumptionCountryCode: "KEN",
    consumptionStart: "0",
    consumptionEnd: "0",
    timestamp: String(t0 + 100_000),
    blockNumber: "30",
    transactionHash: hex32(0x90),
  });
  put(s, "ProtocolStat", {
    id: "all",
    facilityCount: 2,
    deviceCount: 1,
    oracleNodeCount: 3,
    attestationCount: 3,
    revokedAttestationCount: 1,
    readingCount: "130",
    fossilCo2eGrams: "14000000",
    biogenicCo2Grams: "900000",
    projectCount: 1,
    issuedKg: "800",
    retiredKg: "100",
    retirementCount: 1,
    listingCount: 3,
    saleCount: 1,
    soldKg: "100",
  });
  const daily = (d: number, o: Record<string, unknown>) => ({
    day: d,
    date: String(d * 86_400),
    attestationCount: 0,
    revokedAttestationCount: 0,
    readingCount: "0",
    fossilCo2eGrams: "0",
    biogenicCo2Grams: "0",
    devicesRegistered: 0,
    issuedKg: "0",
    issuanceCount: 0,
    retiredKg: "0",
    retirementCount: 0,
    saleCount: 0,
    soldKg: "0",
    ...o,
  });
  put(s, "DailyStat", {
    id: String(day),
    ...daily(day, {
      attestationCount: 3,
      revokedAttestationCount: 1,
      readingCount: "130",
      fossilCo2eGrams: "14000000",
    }),
  });
  put(s, "DailyStat", {
    id: String(day + 1),
    ...daily(day + 1, { issuedKg: "800", issuanceCount: 1, retiredKg: "100", retirementCount: 1 }),
  });
  put(s, "DailyStat", { id: String(day + 40), ...daily(day + 40, {}) });
  put(s, "FacilityDailyStat", {
    id: `${facilityA}${day.toString(16)}`,
    facility: facilityA,
    ...daily(day, { attestationCount: 2, revokedAttestationCount: 1, readingCount: "60", fossilCo2eGrams: "2500000" }),
  });
  put(s, "FacilityDailyStat", {
    id: `${facilityB}${day.toString(16)}`,
    facility: facilityB,
    ...daily(day, { attestationCount: 1, readingCount: "10", fossilCo2eGrams: "9000000" }),
  });
  return s;
}

test("the stand-in's entities have exactly the stored fields of schema.graphql, non-null ones set", () => {
  const entities = entitySchema(schemaSdl);
  for (const [type, records] of seed()) {
    const t = entities.getType(type) as GraphQLObjectType | undefined;
    assert.ok(t, `${type} is an entity of the schema`);
    const stored = Object.values(t.getFields()).filter(
      (f) => !f.astNode?.directives?.some((d) => d.name.value === "derivedFrom"),
    );
    for (const r of records.values()) {
      const unknown = Object.keys(r).filter((k) => !stored.some((f) => f.name === k));
      assert.deepEqual(unknown, [], `${type} ${r.id}: fields not in the schema`);
      for (const f of stored) {
        if (isNonNullType(f.type)) assert.ok(r[f.name] !== undefined && r[f.name] !== null, `${type}.${f.name} set`);
        const named = getNamedType(f.type).name;
        const v = r[f.name];
        if (v === null || v === undefined) continue;
        if (named === "Int") assert.equal(typeof v, "number", `${type}.${f.name} is a number`);
        if (named === "BigInt") assert.match(String(v), /^-?\d+$/, `${type}.${f.name} is a decimal string`);
      }
    }
  }
});

let server: { url: string; close: () => Promise<void> };
let indexer: SubgraphIndexer;

before(async () => {
  server = await startStandIn(schemaSdl, seed(), 42);
  indexer = new SubgraphIndexer({ url: server.url });
});

after(async () => {
  await server.close();
});

explorerIndexerBehavior("subgraph", () => indexer, 42);

test("errors: HTTP failure, GraphQL errors, unreachable server and bad arguments each have their code", async () => {
  const http500 = new SubgraphIndexer({
    url: "http://x.invalid/",
    fetch: async () => new Response("overloaded", { status: 503 }),
  });
  await assert.rejects(
    http500.overview(),
    (e: unknown) => e instanceof IndexerError && e.code === "INDEXER_HTTP_ERROR",
  );
  const gqlError = new SubgraphIndexer({
    url: "http://x.invalid/",
    fetch: async () => Response.json({ errors: [{ message: "Type `Query` has no field `protocolStat`" }] }),
  });
  await assert.rejects(
    gqlError.overview(),
    (e: unknown) => e instanceof IndexerError && e.code === "INDEXER_QUERY_FAILED" && /protocolStat/.test(e.message),
  );
  const badShape = new SubgraphIndexer({
    url: "http://x.invalid/",
    fetch: async () => Response.json({ data: { facilities: [{ id: "not hex" }] } }),
  });
  await assert.rejects(
    badShape.facilities(),
    (e: unknown) => e instanceof IndexerError && e.code === "INDEXER_RESPONSE_INVALID",
  );
  const down = new SubgraphIndexer({ url: "http://127.0.0.1:9/subgraphs/name/x", timeoutMs: 2000 });
  await assert.rejects(down.overview(), (e: unknown) => e instanceof IndexerError && e.code === "INDEXER_UNREACHABLE");
  await assert.rejects(
    indexer.facility("Not An Id"),
    (e: unknown) => e instanceof IndexerError && e.code === "INDEXER_ARGUMENT_INVALID",
  );
  await assert.rejects(
    indexer.facilities({ first: 5000 }),
    (e: unknown) => e instanceof IndexerError && e.code === "INDEXER_ARGUMENT_INVALID",
  );
});

test("configuration chooses the backend: embedded by default, subgraph with a URL", async () => {
  assert.deepEqual(indexerConfigFromEnv({}), { backend: "embedded" });
  const config = indexerConfigFromEnv({ CARBONPROOF_INDEXER: "subgraph", CARBONPROOF_SUBGRAPH_URL: server.url });
  assert.equal(config.backend, "subgraph");
  const chosen = createIndexer(config);
  assert.equal(chosen.backend, "subgraph");
  assert.equal((await chosen.overview()).indexedBlock, 42);
  assert.throws(() => indexerConfigFromEnv({ CARBONPROOF_INDEXER: "subgraph" }), /CARBONPROOF_SUBGRAPH_URL/);
  assert.throws(
    () => indexerConfigFromEnv({ CARBONPROOF_INDEXER: "thegraph" }),
    (e: unknown) => e instanceof IndexerError && e.code === "INDEXER_CONFIG_INVALID",
  );
  assert.throws(() => createIndexer({ backend: "embedded" }), /embedded indexer was chosen but none was provided/);
});

test("protocolIdKey encodes protocol ids as the subgraph's bytes32 keys", () => {
  assert.equal(protocolIdKey("ab"), `0x6162${"0".repeat(60)}`);
  assert.equal(protocolIdKey(`0x${"AB".repeat(32)}`), `0x${"ab".repeat(32)}`);
});
