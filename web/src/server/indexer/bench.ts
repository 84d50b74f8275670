/**
 * How fast the embedded indexer answers the explorer's list pages at the size issue 8 names
 * (100 attestations, 100,000 readings): prints p50 / p95 per query, in milliseconds. A benchmark,
 * not a test (docs: "Benchmarks are scripts that print figures").
 *
 *   node web/src/server/indexer/bench.ts [attestations=100] [readings=100000]
 *
 * Events go through the real reducer; the readings rows are written as the bundle indexer writes
 * them (building and signing 100,000 real readings would benchmark the sdk, not the store).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { protocolIdKey, type Hex } from "@carbonproof/subgraph/client";
import { explorerDetails } from "../../lib/explorer/detail.ts";
import { EmbeddedIndexer } from "./embedded.ts";
import type { IndexedContract, IndexedEvent, JsonValue } from "./events.ts";
import { dayOf, recordEvent, stmt } from "./reducer.ts";
import { inTransaction, openStore, setMeta } from "./store.ts";

const attestationCount = Number(process.argv[2] ?? 100);
const readingCount = Number(process.argv[3] ?? 100_000);
const hex = (n: number | bigint, bytes = 32) => `0x${n.toString(16).padStart(bytes * 2, "0")}` as Hex;
const facilities = ["ktda-kangaita", "ktda-gitugi", "ei-works-sheffield"].map((id) => protocolIdKey(id));
const devices = Array.from({ length: 9 }, (_, i) => protocolIdKey(`bench-device-${i}`));
const t0 = 1_763_900_000;

const dir = mkdtempSync(join(tmpdir(), "carbonproof-indexer-bench-"));
const db = openStore(join(dir, "indexer.sqlite"));
let block = 0;
const emit = (ts: number, logs: [IndexedContract, string, { [k: string]: JsonValue }][]) => {
  block++;
  logs.forEach(([contract, eventName, args], logIndex) =>
    recordEvent(db, {
      blockNumber: block,
      blockHash: hex(block),
      timestamp: ts,
      transactionHash: hex(block * 1000 + logIndex),
      transactionFrom: hex(0x11, 20),
      logIndex,
      contract,
      address: hex(contract.length, 20),
      eventName,
      args,
    } satisfies IndexedEvent),
  );
};

const started = Date.now();
inTransaction(db, () => {
  for (let i = 0; i < 3; i++)
    emit(t0, [["OracleSet", "OracleNodeAdded", { node: hex(0x11 + i, 20), index: i, reactivated: false }]]);
  devices.forEach((id, i) =>
    emit(t0, [
      [
        "DeviceRegistry",
        "DeviceRegistered",
        { id, facilityId: facilities[i % 3]!, kind: i % 2, keyX: hex(1), keyY: hex(2), metadataURI: "ipfs://d" },
      ],
    ]),
  );
  facilities.forEach((facilityId, i) =>
    emit(t0, [
      [
        "CarbonCredits",
        "ProjectRegistered",
        {
          projectId: String(i + 1),
          facilityId,
          methodologyId: hex(1),
          proponent: hex(0xb0 + i, 20),
          name: `Project ${i}`,
          standard: "CarbonProof v1",
        },
      ],
    ]),
  );
  for (let a = 0; a < attestationCount; a++) {
    const f = a % 3;
    const start = t0 + Math.floor(a / 3) * 43_200;
    emit(start + 43_300, [
      [
        "AttestationRegistry",
        "AttestationSubmitted",
        {
          id: hex(0xa000 + a),
          facilityId: facilities[f]!,
          signerBitmap: "3",
          header: {
            facilityId: facilities[f]!,
            periodStart: String(start),
            periodEnd: String(start + 43_200),
            merkleRoot: hex(a),
            readingCount: Math.floor(readingCount / attestationCount),
            fossilCo2eGrams: "1000000",
            biogenicCo2Grams: "0",
            methodologyId: hex(1),
            factorSetId: hex(2),
            bundleCid: `bafkreibench${a}`,
            correctionOf: hex(0),
          },
        },
      ],
    ]);
    const tokenId = ((BigInt(f + 1) << 16n) | 2026n).toString();
    emit(start + 90_000, [
      [
        "CarbonCredits",
        "TransferSingle",
        { operator: hex(5, 20), from: hex(0, 20), to: hex(0xb0 + f, 20), id: tokenId, value: "50" },
      ],
      [
        "CarbonCredits",
        "CreditsIssued",
        {
          tokenId,
          attestationId: hex(0xa000 + a),
          projectId: String(f + 1),
          to: hex(0xb0 + f, 20),
          amount: "50",
          boundKg: "60",
          correctionGramsCovered: "0",
        },
      ],
    ]);
    emit(start + 90_100, [
      [
        "CarbonCredits",
        "TransferSingle",
        { operator: hex(0x3a3, 20), from: hex(0xb0 + f, 20), to: hex(0x3a3, 20), id: tokenId, value: "20" },
      ],
      [
        "Marketplace",
        "Listed",
        {
          listingId: String(a + 1),
          seller: hex(0xb0 + f, 20),
          tokenId,
          amount: "20",
          paymentToken: hex(0x5d, 20),
          unitPrice: "25000000",
          minFill: "1",
          expiresAt: String(t0 + 10_000_000),
        },
      ],
    ]);
  }
  setMeta(db, "cursor", String(block));
});
const perAttestation = Math.floor(readingCount / attestationCount);
inTransaction(db, () => {
  const insert = stmt(
    db,
    `INSERT INTO readings (attestation_id, leaf_index, digest, facility, device_id, seq, ts, day, kind, source, fossil_mg,
       biogenic_mg) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  for (let a = 0; a < attestationCount; a++) {
    const start = t0 + Math.floor(a / 3) * 43_200;
    for (let i = 0; i < perAttestation; i++) {
      const ts = start + Math.floor((i * 43_200) / perAttestation);
      const kind = i % 2 ? "electricity" : "flue-gas";
      insert.run(
        hex(0xa000 + a),
        i,
        hex(BigInt(a) * 1_000_000n + BigInt(i) + 1n),
        facilities[a % 3]!,
        `bench-device-${(a % 3) + 3 * (i % 3)}`,
        a * perAttestation + i,
        ts,
        dayOf(ts),
        kind,
        kind === "electricity" ? "electricity-grid" : "flue-gas",
        1000n,
        0n,
      );
    }
  }
});
console.log(
  `store: ${attestationCount} attestations, ${perAttestation * attestationCount} readings, ${block} blocks, built in ${Date.now() - started} ms`,
);

const ix = new EmbeddedIndexer(db);
const day0 = dayOf(t0);
const queries: [string, () => Promise<unknown>][] = [
  ["overview", () => ix.overview()],
  ["facilities", () => ix.facilities()],
  // the detail pages' own reads: the facts (header) and the first page of each of their lists, by cursor
  ["facility page", () => explorerDetails.facility("ktda-kangaita").read(ix)],
  ["attestations", () => ix.attestations({}, { first: 50 })],
  ["attestations, page 2, standing", () => ix.attestations({ revoked: false }, { first: 50, skip: 50 })],
  ["attestation page", () => explorerDetails.attestation(hex(0xa000 + 7)).read(ix)],
  ["devices (facts only)", () => ix.devices()],
  ["issuances", () => ix.issuances({}, { first: 50 })],
  ["transfers", () => ix.transfers({}, { first: 50 })],
  ["transfers of an account", () => ix.transfers({ account: hex(0xb0, 20) }, { first: 50 })],
  ["listings, open", () => ix.listings({ status: "Open" }, { first: 50 })],
  ["holdings", () => ix.holdings(hex(0xb0, 20))],
  ["daily, a year", () => ix.daily({ fromDay: day0, toDay: day0 + 364 })],
  ["readings of an attestation", () => ix.readings({ attestationId: hex(0xa000 + 50) }, { first: 100 })],
  ["readings of a facility", () => ix.readings({ facility: "ktda-kangaita" }, { first: 100 })],
  ["readings of a facility, page 100", () => ix.readings({ facility: "ktda-kangaita" }, { first: 100, skip: 9900 })],
  ["readings of a device", () => ix.readings({ deviceId: "bench-device-0" }, { first: 100 })],
  ["source totals, 30 days", () => ix.sourceTotals({ fromDay: day0, toDay: day0 + 30, facility: "ktda-kangaita" })],
  ["search, a reading digest", () => ix.search(hex(50_000_001n))],
  ["search, a facility", () => ix.search("ktda-kangaita")],
];
for (const [name, run] of queries) {
  const times: number[] = [];
  for (let i = 0; i < 40; i++) {
    const t = performance.now();
    await run();
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  const p = (q: number) => times[Math.min(times.length - 1, Math.floor(q * times.length))]!.toFixed(2);
  console.log(`${name.padEnd(36)} p50 ${p(0.5).padStart(7)} ms   p95 ${p(0.95).padStart(7)} ms`);
}
db.close();
rmSync(dir, { recursive: true, force: true });
