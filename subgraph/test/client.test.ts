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
import { z } from "zod";
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
/** An index as the mappings append it to an id (graph-ts `concatI32`: 4 bytes, little-endian). */
const le32 = (i: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(i);
  return b.toString("hex");
};

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
    deviceCount: 2,
    activeDeviceCount: 1,
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
      id: `${oracleSet}${le32(i)}`,
      oracleSet,
      address: a,
      index: i,
      active: i !== 1,
      addedAt: String(t0),
      removedAt: i === 1 ? String(t0 + 5000) : null,
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
    shortfall: null,
    ...o,
  });
  put(
    s,
    "Attestation",
    attestation(att1, facilityA, {
      issuance: att1,
      submittedAt: String(t0 + 3700),
      bundleCid: bundleCid1,
      challengeState: "Dismissed",
      challenge: att1,
    }),
  );
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
    attestation(att3, facilityB, {
      readingCount: "10",
      fossilCo2eGrams: "9000000",
      submittedAt: String(t0 + 3800),
      issuance: att3,
      challengeState: "Pending",
      challenge: att3,
    }),
  );
  put(s, "AttestationSignature", { id: `${att1}${le32(2)}`, attestation: att1, node: `${oracleSet}${le32(2)}` });
  put(s, "AttestationSignature", { id: `${att1}${le32(0)}`, attestation: att1, node: `${oracleSet}${le32(0)}` });
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
    shortfallGramsRecorded: "0",
    correctionGramsCovered: "0",
    owedGrams: "0",
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
    tokenId: tokenId.toString(),
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
  put(s, "Listing", listing(1, { amountKg: "110", remainingKg: "0", soldKg: "110", saleCount: 2, status: "Filled" }));
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
  seedBrowsing(s);
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
    issuedAgainstKg: "800",
  });
  put(s, "FacilityDailyStat", {
    id: `${facilityB}${day.toString(16)}`,
    facility: facilityB,
    ...daily(day, { attestationCount: 1, readingCount: "10", fossilCo2eGrams: "9000000" }),
    issuedAgainstKg: "0",
  });
  return s;
}

// ---------------------------------------------------------------- the lists the explorer browses

const device2 = protocolIdKey("chinga-chimney-1");
const device3 = protocolIdKey("chinga-meter-1");
const tokenId2 = (2n << 16n) | 2026n;
const certificateId1 = (tokenId << 64n) | 1n;
const certificateId2 = (tokenId2 << 64n) | 0n;
const marketplace = addr(0x3a7);
/** a CIDv1 (raw, sha2-256, base32) as the sdk writes bundle CIDs */
const bundleCid1 = "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku";
/** transaction hash ++ log index, as the mappings key per-event entities */
const eventKey = (tx: Hex, logIndex: number) => `${tx}${logIndex.toString(16).padStart(8, "0")}` as Hex;

const transferIds = {
  mint1: eventKey(hex32(0x7f), 1),
  escrow: eventKey(hex32(0x81), 0),
  sale: eventKey(hex32(0x95), 0),
  mint2: eventKey(hex32(0x7b), 1),
  burn0: eventKey(hex32(0x90), 0),
  burn2: eventKey(hex32(0x91), 0),
  burn1: eventKey(hex32(0x96), 1),
};
const saleA = eventKey(hex32(0x95), 1);
const saleB = eventKey(hex32(0x96), 0);

/**
 * Devices, issuances, transfers, sales, retirements and challenges beyond the shared scenario, for
 * the list reads only this file tests. The aggregates (ProtocolStat, DailyStat, …) stay those the
 * shared scenario expects.
 */
function seedBrowsing(s: Store): void {
  const device = (id: Hex, code: string, o: Record<string, unknown>) => {
    put(s, "DeviceKey", {
      id: `${id}00000000`,
      device: id,
      index: 0,
      x: hex32(5),
      y: hex32(6),
      validFrom: "0",
      validUntil: null,
      addedAt: o.registeredAt,
      transactionHash: o.tx,
    });
    put(s, "DeviceEvent", {
      id: eventKey(o.tx as Hex, 0),
      device: id,
      kind: "Registered",
      reason: null,
      timestamp: o.registeredAt,
      blockNumber: o.registeredBlock,
      transactionHash: o.tx,
    });
    const { tx: _tx, ...fields } = o;
    put(s, "Device", {
      id,
      code,
      facility: facilityB,
      kind: "FlueGas",
      status: "Active",
      statusReason: null,
      metadataURI: `ipfs://${code}`,
      statusChangedAt: o.registeredAt,
      currentKey: `${id}00000000`,
      keyCount: 1,
      ...fields,
    });
  };
  device(device2, "chinga-chimney-1", { registeredAt: String(t0 + 200), registeredBlock: "5", tx: hex32(0xd2) });
  device(device3, "chinga-meter-1", {
    kind: "ElectricityMeter",
    status: "Suspended",
    statusReason: "calibration overdue",
    registeredAt: String(t0 + 300),
    registeredBlock: "6",
    statusChangedAt: String(t0 + 400),
    tx: hex32(0xd3),
  });
  put(s, "DeviceEvent", {
    id: eventKey(hex32(0xd4), 0),
    device: device3,
    kind: "Suspended",
    reason: "calibration overdue",
    timestamp: String(t0 + 400),
    blockNumber: "7",
    transactionHash: hex32(0xd4),
  });

  put(s, "Baseline", {
    id: "2-0",
    project: "2",
    index: 0,
    effectiveFrom: String(t0 - 86_400),
    gramsPerDay: "50000000",
    justificationCid: "bafybaseline2",
    setAt: String(t0),
    transactionHash: hex32(0x7e2),
  });
  put(s, "Project", {
    id: "2",
    projectId: "2",
    facility: facilityB,
    methodologyId: hex32(0x111),
    proponent: addr(0xc0de),
    name: "Chinga boiler retrofit",
    standard: "CarbonProof v1",
    active: true,
    registeredAt: String(t0),
    transactionHash: hex32(0x7e2),
    baselineCount: 1,
    currentBaseline: "2-0",
    issuedKg: "300",
    retiredKg: "50",
    correctionGramsRecorded: "0",
    shortfallGramsRecorded: "0",
    correctionGramsCovered: "0",
    owedGrams: "0",
  });
  put(s, "Credit", {
    id: tokenId2.toString(),
    tokenId: tokenId2.toString(),
    project: "2",
    vintage: 2026,
    issuedKg: "300",
    retiredKg: "50",
    supplyKg: "250",
    retirementCount: 1,
    holderCount: 1,
    uri: null,
  });
  put(s, "Issuance", {
    id: att3,
    tokenId: tokenId2.toString(),
    credit: tokenId2.toString(),
    project: "2",
    attestation: att3,
    to: addr(0xc0de),
    amountKg: "300",
    boundKg: "310",
    correctionGramsCovered: "0",
    issuer: addr(0x44),
    timestamp: String(t0 + 95_500),
    blockNumber: "22",
    transactionHash: hex32(0x7b),
  });
  for (const a of [addr(0xd00d), addr(0xc0de), marketplace]) put(s, "Account", { id: a });

  const transfer = (id: Hex, credit: bigint, kind: string, from: Hex, to: Hex, amountKg: number, at: number) =>
    put(s, "CreditTransfer", {
      id,
      credit: credit.toString(),
      kind,
      operator: from === addr(0) ? addr(0x44) : from,
      from,
      to,
      amountKg: String(amountKg),
      timestamp: String(t0 + at),
      blockNumber: String(at),
      transactionHash: id.slice(0, 66),
    });
  transfer(transferIds.mint1, tokenId, "Issuance", addr(0), addr(0xbeef), 800, 90_000);
  transfer(transferIds.escrow, tokenId, "Transfer", addr(0xbeef), marketplace, 310, 90_100);
  transfer(transferIds.sale, tokenId, "Transfer", marketplace, addr(0xb0b), 100, 95_000);
  transfer(transferIds.mint2, tokenId2, "Issuance", addr(0), addr(0xc0de), 300, 95_500);
  transfer(transferIds.burn0, tokenId, "Retirement", addr(0xb0b), addr(0), 100, 100_000);
  transfer(transferIds.burn2, tokenId2, "Retirement", addr(0xc0de), addr(0), 50, 110_000);
  transfer(transferIds.burn1, tokenId, "Retirement", marketplace, addr(0), 10, 120_000);

  const sale = (id: Hex, buyer: Hex, amountKg: number, at: number, certificate: bigint | null) =>
    put(s, "Sale", {
      id,
      listing: "1",
      buyer,
      credit: tokenId.toString(),
      amountKg: String(amountKg),
      totalPrice: String(amountKg * 25_000_000),
      fee: String(amountKg * 250_000),
      paymentToken: addr(0x05d),
      retired: certificate !== null,
      certificate: certificate?.toString() ?? null,
      timestamp: String(t0 + at),
      transactionHash: id.slice(0, 66),
    });
  sale(saleA, addr(0xb0b), 100, 95_000, null);
  sale(saleB, addr(0xd00d), 10, 120_000, certificateId1);

  const retirement = (id: bigint, credit: bigint, who: Hex, name: string, holder: Hex, kg: number, at: number) => {
    const tx = at === 110_000 ? hex32(0x91) : hex32(0x96);
    put(s, "Certificate", {
      id: id.toString(),
      certificateId: id.toString(),
      owner: who,
      locked: true,
      retirement: id.toString(),
      mintedAt: String(t0 + at),
      transactionHash: tx,
    });
    put(s, "Retirement", {
      id: id.toString(),
      certificate: id.toString(),
      credit: credit.toString(),
      beneficiary: who,
      retiree: who,
      holder,
      amountKg: String(kg),
      beneficiaryName: name,
      reason: "scope 1 offset",
      consumptionCountry: "0x000000",
      consumptionCountryCode: null,
      consumptionStart: "0",
      consumptionEnd: "0",
      timestamp: String(t0 + at),
      blockNumber: String(at),
      transactionHash: tx,
    });
  };
  retirement(certificateId1, tokenId, addr(0xd00d), "Dudu Estates", marketplace, 10, 120_000);
  retirement(certificateId2, tokenId2, addr(0xc0de), "Chinga Tea Factory", addr(0xc0de), 50, 110_000);

  const challenge = (id: Hex, o: Record<string, unknown>) =>
    put(s, "Challenge", {
      id,
      attestation: id,
      challenger: addr(0xa0e),
      reason: "gap in readings",
      evidenceCid: "bafyevidence2",
      transactionHash: hex32(0xc0 + Number(BigInt(id) & 0xfn)),
      arbiter: null,
      note: null,
      resolvedAt: null,
      resolvedTransactionHash: null,
      ...o,
    });
  challenge(att1, {
    challengedAt: String(t0 + 3750),
    state: "Dismissed",
    arbiter: addr(0xa4b),
    note: "gap explained by a planned shutdown",
    resolvedAt: String(t0 + 5000),
    resolvedTransactionHash: hex32(0xc9),
  });
  challenge(att3, { challengedAt: String(t0 + 7500), state: "Pending" });
}

/**
 * The seed and a later period of project 1 above its baseline, settled by recordShortfall
 * (handleShortfallRecorded: a Shortfall, the attestation's link to it, the project's grams owed).
 */
const att4 = hex32(0xa4);
function withShortfall(s: Store): Store {
  const byId = (type: string, id: string) => s.get(type)!.get(id)!;
  put(s, "Attestation", {
    ...byId("Attestation", att1),
    id: att4,
    periodStart: String(t0 + 7200),
    periodEnd: String(t0 + 10_800),
    fossilCo2eGrams: "5666667",
    submittedAt: String(t0 + 10_900),
    submittedBlock: "30",
    transactionHash: hex32(0x7a4),
    challengeState: "None",
    challenge: null,
    issuance: null,
    shortfall: att4,
  });
  put(s, "Shortfall", {
    id: att4,
    attestation: att4,
    project: "1",
    excessGrams: "1500000",
    recorder: addr(0xa0d),
    timestamp: String(t0 + 200_000),
    transactionHash: hex32(0x5f),
  });
  put(s, "Project", { ...byId("Project", "1"), shortfallGramsRecorded: "1500000", owedGrams: "1500000" });
  return s;
}

test("the stand-in's entities have exactly the stored fields of schema.graphql, non-null ones set", () => {
  const entities = entitySchema(schemaSdl);
  for (const [type, records] of withZeroIssuance(withShortfall(seed()))) {
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

test("a period above the baseline: its attestation names the shortfall, its project the grams owed", async () => {
  assert.equal((await indexer.attestation(att1))?.shortfall, null);
  assert.deepEqual(
    (await indexer.facility("ktda-kangaita"))?.projects.map((p) => [p.id, p.owedGrams, p.shortfallGrams]),
    [[1n, 0n, 0n]],
  );
  const settled = await startStandIn(schemaSdl, withShortfall(seed()), 43);
  try {
    const ix = new SubgraphIndexer({ url: settled.url });
    assert.deepEqual((await ix.attestation(att4))?.shortfall, {
      projectId: 1n,
      excessGrams: 1_500_000n,
      transactionHash: hex32(0x5f),
    });
    assert.deepEqual(
      (await ix.facility("ktda-kangaita"))?.projects.map((p) => [p.id, p.owedGrams, p.shortfallGrams]),
      [[1n, 1_500_000n, 1_500_000n]],
    );
    assert.deepEqual((await ix.credit(tokenId))?.project.owedGrams, 1_500_000n);
  } finally {
    await settled.close();
  }
});

/** seed() plus a period of project 1 issued for 0 kg (its reduction paid the project's debt): no Credit, as the mapping writes it. */
const att5 = hex32(0xa5);
const unminted = (1n << 16n) | 2027n;
function withZeroIssuance(s: Store): Store {
  const byId = (type: string, id: string) => s.get(type)!.get(id)!;
  put(s, "Attestation", {
    ...byId("Attestation", att1),
    id: att5,
    periodStart: String(t0 + 14_400),
    periodEnd: String(t0 + 18_000),
    submittedAt: String(t0 + 18_100),
    submittedBlock: "31",
    transactionHash: hex32(0x7a5),
    challengeState: "None",
    challenge: null,
    issuance: att5,
  });
  put(s, "Issuance", {
    ...byId("Issuance", att1),
    id: att5,
    tokenId: unminted.toString(),
    credit: null,
    attestation: att5,
    amountKg: "0",
    boundKg: "3",
    correctionGramsCovered: "4000000",
    timestamp: String(t0 + 300_000),
    blockNumber: "40",
    transactionHash: hex32(0x7e5),
  });
  return s;
}

test("an issuance of 0 kg: on its attestation and in the issuance lists under its token id, with no credit", async () => {
  const zero = await startStandIn(schemaSdl, withZeroIssuance(seed()), 44);
  try {
    const ix = new SubgraphIndexer({ url: zero.url });
    const a = await ix.attestation(att5);
    assert.equal(a?.issuedCreditId, null);
    assert.deepEqual(a?.issuance, { creditId: unminted, amountKg: 0n, boundKg: 3n, transactionHash: hex32(0x7e5) });
    assert.deepEqual(
      (await ix.issuances()).map((i) => [i.attestationId, i.creditId, i.amountKg]),
      [
        [att5, unminted, 0n],
        [att3, tokenId2, 300n],
        [att1, tokenId, 800n],
      ],
    );
    assert.deepEqual(
      (await ix.issuances({ creditId: unminted })).map((i) => i.attestationId),
      [att5],
    );
    assert.equal(await ix.credit(unminted), undefined);
    assert.equal((await ix.facility("ktda-kangaita"))?.attestations.find((x) => x.id === att5)?.issuedCreditId, null);
  } finally {
    await zero.close();
  }
});

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
  // a Studio gateway's URL holds its API key in the path: messages (shown on pages) name the host
  const keyed = "https://gateway.example/api/SECRET-GATEWAY-KEY/subgraphs/id/Qm1";
  for (const [ix, code] of [
    [
      new SubgraphIndexer({ url: keyed, fetch: async () => new Response("quota", { status: 429 }) }),
      "INDEXER_HTTP_ERROR",
    ],
    [
      new SubgraphIndexer({
        url: keyed,
        fetch: async () => {
          throw new TypeError("fetch failed");
        },
      }),
      "INDEXER_UNREACHABLE",
    ],
  ] as const)
    await assert.rejects(ix.overview(), (e: unknown) => {
      assert.ok(e instanceof IndexerError && e.code === code, String(e));
      assert.doesNotMatch(e.message, /SECRET-GATEWAY-KEY/);
      assert.match(e.message, /the subgraph at https:\/\/gateway\.example\/…[: ]/);
      return true;
    });
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

// ---------------------------------------------------------------- the lists the explorer browses

test("devices: newest registration first, each row the device's facts (deviceHeader, no keys or history read), filtered by facility and status, paged", async () => {
  const all = await indexer.devices();
  assert.deepEqual(
    all.map((d) => d.code),
    ["chinga-meter-1", "chinga-chimney-1", "kangaita-chimney-1"],
  );
  const meter = all[0]!;
  assert.equal(meter.facility.code, "ktda-chinga");
  assert.equal(meter.statusReason, "calibration overdue");
  for (const d of all) assert.deepEqual(d, await indexer.deviceHeader(d.id), d.code ?? d.id);
  assert.ok(all.every((d) => !("keys" in d) && !("history" in d)));
  // the count of keys the list shows is the device's own
  assert.deepEqual(
    all.map((d) => d.keyCount),
    [1, 1, 2],
  );
  assert.deepEqual(
    (await indexer.devices({ facility: "ktda-chinga" })).map((d) => d.id),
    [device3, device2],
  );
  assert.deepEqual(
    (await indexer.devices({ facility: facilityA })).map((d) => d.id),
    [device1],
    "a facility's bytes32 id works as well as its protocol id",
  );
  assert.deepEqual(
    (await indexer.devices({ facility: "ktda-chinga", status: "Active" })).map((d) => d.code),
    ["chinga-chimney-1"],
  );
  assert.deepEqual(
    (await indexer.devices({}, { first: 1, skip: 1 })).map((d) => d.code),
    ["chinga-chimney-1"],
  );
  assert.deepEqual(await indexer.devices({ facility: "no-such-facility" }), []);
});

test("oracleNodes: by index, removed nodes marked, paged", async () => {
  const nodes = await indexer.oracleNodes();
  assert.deepEqual(
    nodes.map((n) => [n.index, n.address, n.active, n.removedAt]),
    [
      [0, addr(0x11), true, null],
      [1, addr(0x22), false, BigInt(t0 + 5000)],
      [2, addr(0x33), true, null],
    ],
  );
  assert.deepEqual(
    (await indexer.oracleNodes({ first: 2, skip: 1 })).map((n) => n.index),
    [1, 2],
  );
});

test("issuances: newest first, with attestation, project and facility; filtered by credit and by facility", async () => {
  const all = await indexer.issuances();
  assert.deepEqual(
    all.map((i) => [i.attestationId, i.creditId, i.facility.code, i.projectId, i.amountKg, i.boundKg]),
    [
      [att3, tokenId2, "ktda-chinga", 2n, 300n, 310n],
      [att1, tokenId, "ktda-kangaita", 1n, 800n, 812n],
    ],
  );
  assert.equal(all[1]!.transactionHash, hex32(0x7f));
  assert.deepEqual(
    (await indexer.issuances({ creditId: tokenId })).map((i) => i.attestationId),
    [att1],
  );
  assert.deepEqual(
    (await indexer.issuances({ facility: "ktda-chinga" })).map((i) => i.attestationId),
    [att3],
  );
  assert.deepEqual(await indexer.issuances({ facility: "ktda-chinga", creditId: tokenId }), []);
  assert.deepEqual(
    (await indexer.issuances(undefined, { first: 1, skip: 1 })).map((i) => i.attestationId),
    [att1],
  );
});

test("transfers: newest first, mints and burns named as such; by credit, by account on either side; paged", async () => {
  const all = await indexer.transfers();
  assert.deepEqual(
    all.map((t) => t.id),
    [
      transferIds.burn1,
      transferIds.burn2,
      transferIds.burn0,
      transferIds.mint2,
      transferIds.sale,
      transferIds.escrow,
      transferIds.mint1,
    ],
  );
  assert.deepEqual([all[0]!.kind, all[4]!.kind, all[6]!.kind], ["Burn", "Transfer", "Mint"]);
  assert.equal(all[6]!.transactionHash, hex32(0x7f));
  assert.equal(all[6]!.blockNumber, 90_000n);
  assert.deepEqual(
    (await indexer.transfers({ account: addr(0xb0b) })).map((t) => t.id),
    [transferIds.burn0, transferIds.sale],
    "as sender and as receiver",
  );
  assert.deepEqual(
    (await indexer.transfers({ account: marketplace.toUpperCase().replace("0X", "0x") as Hex })).map((t) => t.id),
    [transferIds.burn1, transferIds.sale, transferIds.escrow],
    "an address in any case",
  );
  assert.deepEqual(
    (await indexer.transfers({ creditId: tokenId2 })).map((t) => t.id),
    [transferIds.burn2, transferIds.mint2],
  );
  assert.deepEqual(
    (await indexer.transfers({ creditId: tokenId, account: addr(0xbeef) })).map((t) => t.id),
    [transferIds.escrow, transferIds.mint1],
  );
  assert.deepEqual(
    (await indexer.transfers({}, { first: 2, skip: 5 })).map((t) => t.id),
    [transferIds.escrow, transferIds.mint1],
  );
  await assert.rejects(
    indexer.transfers({ account: "0x1234" }),
    (e: unknown) => e instanceof IndexerError && e.code === "INDEXER_ARGUMENT_INVALID",
  );
});

test("sales: newest first, seller from the listing, certificate of a buy-and-retire; by account as buyer or seller", async () => {
  const all = await indexer.sales();
  assert.deepEqual(
    all.map((x) => [x.id, x.listingId, x.buyer, x.seller, x.amountKg, x.retired, x.certificateId]),
    [
      [saleB, 1n, addr(0xd00d), addr(0xbeef), 10n, true, certificateId1],
      [saleA, 1n, addr(0xb0b), addr(0xbeef), 100n, false, null],
    ],
  );
  assert.equal(all[1]!.totalPrice, 2_500_000_000n);
  assert.deepEqual(
    (await indexer.sales({ account: addr(0xbeef) })).map((x) => x.id),
    [saleB, saleA],
    "the seller sees both",
  );
  assert.deepEqual(
    (await indexer.sales({ account: addr(0xb0b) })).map((x) => x.id),
    [saleA],
  );
  assert.deepEqual(
    (await indexer.sales({ account: addr(0xd00d), listingId: 1n, creditId: tokenId })).map((x) => x.id),
    [saleB],
  );
  assert.deepEqual(await indexer.sales({ listingId: 2n }), []);
  assert.deepEqual(await indexer.sales({ creditId: tokenId2 }), []);
  assert.deepEqual(
    (await indexer.sales(undefined, { first: 1 })).map((x) => x.id),
    [saleB],
  );
});

test("retirements: newest first with facility; by credit, by beneficiary or retiree, by facility; paged", async () => {
  const all = await indexer.retirements();
  assert.deepEqual(
    all.map((r) => [r.certificateId, r.creditId, r.facility.code, r.beneficiaryName, r.amountKg]),
    [
      [certificateId1, tokenId, "ktda-kangaita", "Dudu Estates", 10n],
      [certificateId2, tokenId2, "ktda-chinga", "Chinga Tea Factory", 50n],
      [certificateId, tokenId, "ktda-kangaita", "Acme Tea Ltd", 100n],
    ],
  );
  assert.deepEqual(
    (await indexer.retirements({ account: addr(0xb0b) })).map((r) => r.certificateId),
    [certificateId],
    "as retiree",
  );
  assert.deepEqual(
    (await indexer.retirements({ account: addr(0xca7) })).map((r) => r.certificateId),
    [certificateId],
    "as beneficiary",
  );
  assert.deepEqual(
    (await indexer.retirements({ creditId: tokenId })).map((r) => r.certificateId),
    [certificateId1, certificateId],
  );
  assert.deepEqual(
    (await indexer.retirements({ facility: "ktda-chinga" })).map((r) => r.certificateId),
    [certificateId2],
  );
  assert.deepEqual(
    (await indexer.retirements({ facility: "ktda-kangaita", account: addr(0xd00d) })).map((r) => r.certificateId),
    [certificateId1],
  );
  assert.deepEqual(await indexer.retirements({ facility: "ktda-chinga", creditId: tokenId }), []);
  assert.deepEqual(await indexer.retirements({ facility: "no-such-facility" }), []);
  assert.deepEqual(
    (await indexer.retirements({}, { first: 1, skip: 2 })).map((r) => r.certificateId),
    [certificateId],
  );
});

test("challenges: newest first with the attestation's facility, filtered by state", async () => {
  const all = await indexer.challenges();
  assert.deepEqual(
    all.map((c) => [c.attestationId, c.state, c.facility.code]),
    [
      [att3, "Pending", "ktda-chinga"],
      [att2, "Upheld", "ktda-kangaita"],
      [att1, "Dismissed", "ktda-kangaita"],
    ],
  );
  assert.equal(all[0]!.resolvedAt, null);
  assert.equal(all[2]!.note, "gap explained by a planned shutdown");
  assert.deepEqual(
    (await indexer.challenges({ state: "Pending" })).map((c) => c.attestationId),
    [att3],
  );
  assert.deepEqual(
    (await indexer.challenges({}, { first: 1, skip: 1 })).map((c) => c.attestationId),
    [att2],
  );
});

test("list reads refuse pages beyond graph-node's limits", async () => {
  for (const read of [
    () => indexer.devices({}, { first: 1001 }),
    () => indexer.oracleNodes({ skip: 5001 }),
    () => indexer.issuances({}, { first: 0 }),
    () => indexer.transfers({}, { first: 1.5 }),
    () => indexer.sales({}, { skip: -1 }),
    () => indexer.retirements({}, { first: 2000 }),
    () => indexer.challenges({}, { first: 2000 }),
  ]) {
    await assert.rejects(read(), (e: unknown) => e instanceof IndexerError && e.code === "INDEXER_ARGUMENT_INVALID");
  }
});

// ---------------------------------------------------------------- search

/** An indexer over the stand-in that counts the requests it sends. */
function countingIndexer(): { indexer: SubgraphIndexer; requests: () => number } {
  let n = 0;
  const counting = new SubgraphIndexer({
    url: server.url,
    fetch: (input, init) => {
      n++;
      return fetch(input, init);
    },
  });
  return { indexer: counting, requests: () => n };
}

test("search: a facility or device by protocol id or bytes32 key", async () => {
  assert.deepEqual(await indexer.search("ktda-kangaita"), [
    { kind: "facility", id: facilityA, label: "ktda-kangaita" },
  ]);
  assert.deepEqual(await indexer.search(` ${facilityB.toUpperCase().replace("0X", "0x")} `), [
    { kind: "facility", id: facilityB, label: "ktda-chinga" },
  ]);
  assert.deepEqual(await indexer.search("chinga-meter-1"), [
    { kind: "device", id: device3, label: "chinga-meter-1 at ktda-chinga" },
  ]);
  assert.deepEqual(
    (await indexer.search(device1)).map((h) => [h.kind, h.id]),
    [["device", device1]],
  );
});

test("search: an attestation by id, and the evidence bundle by its CID", async () => {
  const hits = await indexer.search(att1);
  assert.deepEqual(
    hits.map((h) => [h.kind, h.id]),
    [["attestation", att1]],
  );
  assert.match(hits[0]!.label, /ktda-kangaita/);
  assert.deepEqual(await indexer.search(bundleCid1), [
    {
      kind: "bundle",
      id: bundleCid1,
      label: "evidence bundle of an attestation of ktda-kangaita",
      attestationId: att1,
    },
  ]);
});

test("search: a transaction hash, named by what the transaction did", async () => {
  const label = async (hash: Hex) => {
    const hits = await indexer.search(hash);
    assert.deepEqual(
      hits.map((h) => [h.kind, h.id]),
      [["transaction", hash]],
    );
    return hits[0]!.label;
  };
  assert.equal(await label(hex32(0x7a)), "transaction: attestation submitted");
  assert.equal(await label(hex32(0x7f)), "transaction: credits issued");
  assert.equal(await label(hex32(0x81)), "transaction: listing created, credits transferred");
  assert.equal(await label(hex32(0x96)), "transaction: credits bought, credits retired");
  assert.equal(await label(hex32(0xc9)), "transaction: challenge resolved");
  assert.equal(await label(hex32(0xd4)), "transaction: device suspended");
  assert.equal(await label(hex32(0x7d)), "transaction: challenge resolved, attestation revoked");
  assert.deepEqual(await indexer.search(hex32(0xdead)), [], "an unknown bytes32 matches nothing");
});

test("search: an address as an account and as an oracle node", async () => {
  assert.deepEqual(await indexer.search(addr(0xbeef)), [
    { kind: "account", id: addr(0xbeef), label: `account ${addr(0xbeef)}` },
  ]);
  assert.deepEqual(await indexer.search(addr(0x22)), [
    { kind: "oracleNode", id: addr(0x22), label: "oracle node #1 (removed)" },
  ]);
  assert.deepEqual(await indexer.search(addr(0x999)), []);
});

test("search: a decimal as a credit token id, a listing id or a certificate id", async () => {
  assert.deepEqual(await indexer.search(tokenId.toString()), [
    { kind: "credit", id: tokenId, label: "Kangaita biomass switch, vintage 2026" },
  ]);
  assert.deepEqual(await indexer.search("002"), [{ kind: "listing", id: 2n, label: "listing #2 (Open)" }]);
  assert.deepEqual(await indexer.search(certificateId2.toString()), [
    { kind: "retirement", id: certificateId2, label: "50 kg CO2e retired for Chinga Tea Factory" },
  ]);
  assert.deepEqual(
    await indexer.search("1"),
    [{ kind: "listing", id: 1n, label: "listing #1 (Filled)" }],
    "also looked up as a protocol id, which no facility or device has",
  );
  assert.deepEqual(await indexer.search("987654321"), []);
});

test("search: every kind of lookup in one request, and none for a term that can be nothing", async () => {
  const { indexer: counting, requests } = countingIndexer();
  await counting.search(hex32(0x96));
  assert.equal(requests(), 1);
  await counting.search("1");
  assert.equal(requests(), 2);
  for (const term of ["", "   ", "Hello World", "0xZZ", `0x${"g".repeat(64)}`, "-5", "1,5", "a".repeat(40)]) {
    assert.deepEqual(await counting.search(term), [], JSON.stringify(term));
  }
  assert.equal(requests(), 2);
});

test("readings and sourceTotals: null, without a request (The Graph does not read evidence bundles on IPFS)", async () => {
  const { indexer: counting, requests } = countingIndexer();
  assert.equal(await counting.readings({ attestationId: att1 }), null);
  assert.equal(await counting.readings({ facility: "ktda-kangaita" }, { first: 10 }), null);
  assert.equal(await counting.sourceTotals({ fromDay: day, toDay: day + 1, facility: "ktda-kangaita" }), null);
  assert.equal(requests(), 0);
});

test("the stand-in refuses what graph-node refuses: `or` beside other filters, nested child filters", async () => {
  const refused = async (where: Record<string, unknown>, pattern: RegExp) =>
    assert.rejects(
      indexer.query(`query($w: Sale_filter) { sales(where: $w) { id } }`, { w: where }, z.unknown()),
      (e: unknown) => e instanceof IndexerError && e.code === "INDEXER_QUERY_FAILED" && pattern.test(e.message),
    );
  await refused({ credit: "1", or: [{ buyer: addr(1) }, { retired: true }] }, /Cannot mix column filters/);
  await refused({ listing_: { credit_: { vintage: 2026 } } }, /Child filter nesting/);
});
