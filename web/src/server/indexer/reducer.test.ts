/**
 * Reducer paths the spec's scenario does not take, each fed as contract events into a real SQLite
 * store and read back through EmbeddedIndexer: device status changes, oracle nodes removed and
 * re-added, correction batches, batch transfers, price updates, and a dismissed challenge.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { protocolIdKey, type Hex } from "@carbonproof/subgraph/client";
import { addr, hex32 } from "../../../../subgraph/test/support/explorer.behavior.ts";
import { EmbeddedIndexer } from "./embedded.ts";
import type { IndexedContract, JsonValue } from "./events.ts";
import { recordEvent } from "./reducer.ts";
import { openStore, setMeta } from "./store.ts";

const facility = protocolIdKey("ktda-gitugi");
const t0 = 1_763_900_000;

/** Project 1, of the test facility, as CarbonCredits announces it. */
const gitugiProject: [IndexedContract, string, { [k: string]: JsonValue }] = [
  "CarbonCredits",
  "ProjectRegistered",
  {
    projectId: "1",
    facilityId: facility,
    methodologyId: hex32(1),
    proponent: addr(0xbeef),
    name: "Gitugi",
    standard: "CarbonProof v1",
  },
];

/** AttestationRegistry's AttestationSubmitted of the test facility's `header`, signed by node 0. */
function submitted(id: Hex, h: ReturnType<typeof header>): [IndexedContract, string, { [k: string]: JsonValue }] {
  return ["AttestationRegistry", "AttestationSubmitted", { id, facilityId: facility, signerBitmap: "1", header: h }];
}

/** CarbonCredits' CreditsIssued for project 1, to 0xbeef (decimal strings). */
function creditsIssued(
  tokenId: bigint,
  attestationId: Hex,
  amount: string,
  o: { boundKg: string; correctionGramsCovered: string },
): [IndexedContract, string, { [k: string]: JsonValue }] {
  return [
    "CarbonCredits",
    "CreditsIssued",
    { tokenId: String(tokenId), attestationId, projectId: "1", to: addr(0xbeef), amount, ...o },
  ];
}

/** An hour's batch header of the test facility as AttestationSubmitted carries it (decimal strings). */
function header(start: number, fossil: number, over: { readingCount?: number; correctionOf?: Hex } = {}) {
  return {
    facilityId: facility,
    periodStart: String(start),
    periodEnd: String(start + 3600),
    merkleRoot: hex32(0x400 + start),
    readingCount: String(over.readingCount ?? 10),
    fossilCo2eGrams: String(fossil),
    biogenicCo2Grams: "0",
    methodologyId: hex32(1),
    factorSetId: hex32(2),
    bundleCid: "bafkreitest",
    correctionOf: over.correctionOf ?? hex32(0),
  };
}

/** A fresh in-memory store and an `emit` that puts one transaction's logs in the next block. */
function chain() {
  const db = openStore(":memory:");
  let block = 0;
  const emit = (ts: number, logs: [IndexedContract, string, { [k: string]: JsonValue }][], from: Hex = addr(0x11)) => {
    block++;
    logs.forEach(([contract, eventName, args], logIndex) =>
      recordEvent(db, {
        blockNumber: block,
        blockHash: hex32(0xb00 + block),
        timestamp: ts,
        transactionHash: hex32(0x7000 + block),
        transactionFrom: from,
        logIndex,
        contract,
        address: addr(0xc0 + contract.length),
        eventName,
        args,
      }),
    );
    setMeta(db, "cursor", String(block));
  };
  return { db, emit, ix: new EmbeddedIndexer(db) };
}

test("device status: suspended, reactivated, retired keep the facility's active count and the history", async () => {
  const { emit, ix } = chain();
  const device = protocolIdKey("gitugi-meter-1");
  emit(t0, [
    [
      "DeviceRegistry",
      "DeviceRegistered",
      { id: device, facilityId: facility, kind: 1, keyX: hex32(1), keyY: hex32(2), metadataURI: "ipfs://a" },
    ],
  ]);
  emit(t0 + 10, [["DeviceRegistry", "DeviceSuspended", { id: device, reason: "calibration overdue" }]]);
  let f = (await ix.facilities())[0]!;
  assert.deepEqual([f.deviceCount, f.activeDeviceCount], [1, 0]);
  assert.equal((await ix.device("gitugi-meter-1"))?.statusReason, "calibration overdue");
  emit(t0 + 20, [["DeviceRegistry", "DeviceReactivated", { id: device }]]);
  emit(t0 + 30, [["DeviceRegistry", "DeviceMetadataUpdated", { id: device, metadataURI: "ipfs://b" }]]);
  emit(t0 + 40, [["DeviceRegistry", "DeviceRetired", { id: device, reason: "replaced" }]]);
  f = (await ix.facilities())[0]!;
  assert.deepEqual([f.deviceCount, f.activeDeviceCount], [1, 0]);
  const d = (await ix.device(device))!;
  assert.deepEqual(
    [d.status, d.statusReason, d.metadataURI, d.kind],
    ["Retired", "replaced", "ipfs://b", "ElectricityMeter"],
  );
  assert.deepEqual(
    d.history.map((h) => [h.kind, h.reason]),
    [
      ["Registered", null],
      ["Suspended", "calibration overdue"],
      ["Reactivated", null],
      ["MetadataUpdated", null],
      ["Retired", "replaced"],
    ],
  );
  assert.deepEqual(
    (await ix.devices({ status: "Retired" })).map((x) => x.id),
    [device],
  );
  assert.equal((await ix.overview()).deviceCount, 1);
});

test("oracle nodes: a removed node is inactive until re-added at the same index", async () => {
  const { emit, ix } = chain();
  emit(t0, [["OracleSet", "OracleNodeAdded", { node: addr(0x11), index: 0, reactivated: false }]]);
  emit(t0 + 5, [["OracleSet", "OracleNodeRemoved", { node: addr(0x11), index: 0 }]]);
  assert.deepEqual(
    (await ix.oracleNodes()).map((n) => [n.active, n.removedAt]),
    [[false, BigInt(t0 + 5)]],
  );
  assert.equal((await ix.search(addr(0x11)))[0]?.label, "oracle node #0 (removed)");
  emit(t0 + 9, [["OracleSet", "OracleNodeAdded", { node: addr(0x11), index: 0, reactivated: true }]]);
  assert.deepEqual(
    (await ix.oracleNodes()).map((n) => [n.active, n.removedAt, n.addedAt]),
    [[true, null, BigInt(t0 + 9)]],
  );
  assert.equal((await ix.overview()).oracleNodeCount, 1);
  assert.match((await ix.search(hex32(0x7003)))[0]!.label, /oracle node reactivated/);
});

test("a correction batch counts on its own, leaves attestedUntil, and is listed under its original", async () => {
  const { emit, ix } = chain();
  const [original, correction] = [hex32(0xa1), hex32(0xc1)];
  emit(t0 + 3700, [submitted(original, header(t0, 1000, { readingCount: 10 }))]);
  emit(t0 + 9000, [
    [
      "AttestationRegistry",
      "AttestationSubmitted",
      {
        id: correction,
        facilityId: facility,
        signerBitmap: "1",
        header: header(t0 - 7200, 300, { readingCount: 2, correctionOf: original }),
      },
    ],
    [
      "CarbonCredits",
      "CorrectionRecorded",
      { correctionId: correction, originalId: original, projectId: "0", fossilCo2eGrams: "300" },
    ],
  ]);
  const f = (await ix.facility("ktda-gitugi"))!;
  assert.deepEqual([f.attestationCount, f.readingCount, f.fossilCo2eGrams], [2, 12n, 1300n]);
  assert.equal(f.attestedUntil, BigInt(t0 + 3600), "a correction does not move attestedUntil");
  assert.deepEqual((await ix.attestation(original))?.corrections, [correction]);
  assert.equal((await ix.attestation(correction))?.correctionOf, original);
  assert.deepEqual(
    (await ix.attestations({ isCorrection: true })).map((a) => a.id),
    [correction],
  );
  assert.equal((await ix.attestation(correction))?.submitter, addr(0x11));
});

test("batch transfers move every id; a dismissed challenge and a price update land on their records", async () => {
  const { emit, ix } = chain();
  const [a, b] = [(1n << 16n) | 2025n, (1n << 16n) | 2026n].map(String) as [string, string];
  emit(t0, [gitugiProject]);
  emit(t0 + 1, [
    [
      "CarbonCredits",
      "TransferBatch",
      { operator: addr(5), from: addr(0), to: addr(0xbeef), ids: [a, b], values: ["100", "40"] },
    ],
  ]);
  emit(t0 + 2, [
    [
      "CarbonCredits",
      "TransferBatch",
      { operator: addr(0xbeef), from: addr(0xbeef), to: addr(0xb0b), ids: [a, b], values: ["30", "40"] },
    ],
  ]);
  assert.deepEqual(
    (await ix.holdings(addr(0xbeef))).map((h) => [h.creditId, h.amountKg, h.vintage, h.projectName]),
    [[BigInt(a), 70n, 2025, "Gitugi"]],
  );
  assert.deepEqual(
    (await ix.holdings(addr(0xb0b))).map((h) => [h.creditId, h.amountKg]),
    [
      [BigInt(b), 40n],
      [BigInt(a), 30n],
    ],
  );
  const transfers = await ix.transfers();
  assert.equal(transfers.length, 4);
  assert.equal(new Set(transfers.map((t) => t.id)).size, 4);
  assert.deepEqual([(await ix.credit(BigInt(a)))?.holderCount, (await ix.credit(BigInt(b)))?.holderCount], [2, 1]);

  emit(t0 + 3, [
    [
      "Marketplace",
      "Listed",
      {
        listingId: "7",
        seller: addr(0xbeef),
        tokenId: a,
        amount: "10",
        paymentToken: addr(0),
        unitPrice: "1000",
        minFill: "1",
        expiresAt: String(t0 + 1000),
      },
    ],
  ]);
  emit(t0 + 4, [["Marketplace", "PriceUpdated", { listingId: "7", previousUnitPrice: "1000", unitPrice: "900" }]]);
  assert.equal((await ix.listings())[0]?.unitPrice, 900n);

  emit(t0 + 5, [
    [
      "CarbonCredits",
      "AttestationChallenged",
      { attestationId: hex32(0xa1), challenger: addr(0xc), reason: "r", evidenceCid: "bafkreievidence" },
    ],
  ]);
  assert.deepEqual(
    (await ix.challenges({ state: "Pending" })).map((c) => c.attestationId),
    [hex32(0xa1)],
  );
  emit(t0 + 6, [
    [
      "CarbonCredits",
      "ChallengeResolved",
      { attestationId: hex32(0xa1), arbiter: addr(0xd), upheld: false, note: "sensor fine" },
    ],
  ]);
  assert.deepEqual(
    (await ix.challenges()).map((c) => [c.state, c.note, c.resolvedAt]),
    [["Dismissed", "sensor fine", BigInt(t0 + 6)]],
  );
});

test("a period above the baseline: its shortfall is on the attestation, and the project owes it until credits cover it", async () => {
  const { emit, ix } = chain();
  const [above, below, correction] = [hex32(0xa1), hex32(0xa2), hex32(0xc1)];
  emit(t0, [gitugiProject]);
  emit(t0 + 3700, [submitted(above, header(t0, 9_000_000))]);
  emit(t0 + 7300, [submitted(below, header(t0 + 3600, 1_000_000))]);
  const owed = async () =>
    (await ix.facility("ktda-gitugi"))!.projects.map((p) => [p.id, p.owedGrams, p.shortfallGrams]);
  assert.deepEqual(await owed(), [[1n, 0n, 0n]]);
  assert.equal((await ix.attestation(above))?.shortfall, null);

  // recordShortfall by anyone (0xa0d), once the window is over
  emit(
    t0 + 90_000,
    [["CarbonCredits", "ShortfallRecorded", { attestationId: above, projectId: "1", excessGrams: "4833334" }]],
    addr(0xa0d),
  );
  assert.deepEqual((await ix.attestation(above))?.shortfall, {
    projectId: 1n,
    excessGrams: 4_833_334n,
    transactionHash: hex32(0x7000 + 4), // the fourth block
  });
  assert.deepEqual(await owed(), [[1n, 4_833_334n, 4_833_334n]]);
  // a correction of the settled period is charged to the project too
  emit(t0 + 91_000, [
    submitted(correction, header(t0, 66, { correctionOf: above })),
    [
      "CarbonCredits",
      "CorrectionRecorded",
      { correctionId: correction, originalId: above, projectId: "1", fossilCo2eGrams: "66" },
    ],
  ]);
  assert.deepEqual(await owed(), [[1n, 4_833_400n, 4_833_334n]]);
  // a correction of the unissued period below the baseline is the attestation's, not the project's
  const late = hex32(0xc2);
  emit(t0 + 91_500, [
    submitted(late, header(t0 + 3600, 100, { correctionOf: below })),
    [
      "CarbonCredits",
      "CorrectionRecorded",
      { correctionId: late, originalId: below, projectId: "0", fossilCo2eGrams: "100" },
    ],
  ]);
  assert.deepEqual(await owed(), [[1n, 4_833_400n, 4_833_334n]]);
  // the next issuance covers the debt first; its correctionGramsCovered also counts the 100 g of the
  // period's own correction, which were never the project's debt (CarbonCredits.issue)
  emit(t0 + 92_000, [
    creditsIssued((1n << 16n) | 2025n, below, "0", { boundKg: "0", correctionGramsCovered: "3166766" }),
  ]);
  assert.deepEqual(await owed(), [[1n, 1_666_734n, 4_833_334n]]);
  assert.equal((await ix.attestation(below))?.shortfall, null);
});

test("a revoked period re-attested at or below its baseline: a 0 g settlement links the attestation, and the project owes nothing more", async () => {
  const { emit, ix } = chain();
  const [revoked, correction] = [hex32(0xa3), hex32(0xc3)];
  emit(t0, [gitugiProject]);
  emit(t0 + 3700, [submitted(revoked, header(t0, 9_000_000))]);
  emit(t0 + 3800, [
    ["AttestationRegistry", "AttestationRevoked", { id: revoked, verifier: addr(0x5), reason: "meter" }],
  ]);
  // recordCorrection of the revoked, unissued period: CarbonCredits settles it (_settleRevoked) in the
  // same transaction; its corrections' 500 g are below the baseline, so the excess is 0
  emit(t0 + 90_000, [
    submitted(correction, header(t0, 500, { correctionOf: revoked })),
    [
      "CarbonCredits",
      "CorrectionRecorded",
      { correctionId: correction, originalId: revoked, projectId: "0", fossilCo2eGrams: "500" },
    ],
    ["CarbonCredits", "ShortfallRecorded", { attestationId: revoked, projectId: "1", excessGrams: "0" }],
  ]);
  assert.deepEqual((await ix.attestation(revoked))?.shortfall, {
    projectId: 1n,
    excessGrams: 0n,
    transactionHash: hex32(0x7000 + 4),
  });
  assert.deepEqual(
    (await ix.facility("ktda-gitugi"))!.projects.map((p) => [p.id, p.owedGrams, p.shortfallGrams]),
    [[1n, 0n, 0n]],
  );
});

test("an issuance of 0 kg (its reduction paid the project's debt) makes no credit: the attestation's issuance and the issuance list keep the token id", async () => {
  const { emit, ix } = chain();
  const [paid, minted] = [hex32(0xa4), hex32(0xa5)];
  const tokenId = (1n << 16n) | 2025n;
  emit(t0, [gitugiProject]);
  emit(t0 + 7300, [submitted(paid, header(t0, 1_000)), submitted(minted, header(t0 + 3600, 1_000))]);
  const issued = (attestationId: Hex, amount: string) =>
    creditsIssued(tokenId, attestationId, amount, { boundKg: "3", correctionGramsCovered: "4000" });
  emit(t0 + 90_000, [issued(paid, "0")]); // CarbonCredits.issue mints nothing for 0: no TransferSingle
  assert.equal(await ix.credit(tokenId), undefined);
  const a = await ix.attestation(paid);
  assert.equal(a?.issuedCreditId, null);
  assert.deepEqual(a?.issuance, { creditId: tokenId, amountKg: 0n, boundKg: 3n, transactionHash: hex32(0x7000 + 3) });
  assert.deepEqual(
    (await ix.issuances({ creditId: tokenId })).map((i) => [i.attestationId, i.amountKg]),
    [[paid, 0n]],
  );

  // a later issuance of the same token id mints it: the credit lists that one only
  emit(t0 + 91_000, [
    issued(minted, "2"),
    [
      "CarbonCredits",
      "TransferSingle",
      { operator: addr(0x5), from: addr(0), to: addr(0xbeef), id: String(tokenId), value: "2" },
    ],
  ]);
  const c = await ix.credit(tokenId);
  assert.deepEqual([c?.issuedKg, c?.supplyKg], [2n, 2n]);
  assert.deepEqual(
    c?.issuances.map((i) => [i.attestationId, i.amountKg]),
    [[minted, 2n]],
  );
  assert.equal((await ix.attestation(minted))?.issuedCreditId, tokenId);
});

test("a facility's day counts the credits issued against its attestations by the day their period starts, less those of an attestation revoked since", async () => {
  const { emit, ix } = chain();
  const [kept, revoked] = [hex32(0xb1), hex32(0xb2)];
  const tokenId = (1n << 16n) | 2025n;
  const day = Math.floor(t0 / 86_400);
  emit(t0, [gitugiProject]);
  emit(t0 + 7300, [submitted(kept, header(t0, 1_000)), submitted(revoked, header(t0 + 3600, 1_000))]);
  const issued = (attestationId: Hex, amount: string) =>
    creditsIssued(tokenId, attestationId, amount, { boundKg: amount, correctionGramsCovered: "0" });
  // issued two days later: `issuedKg` counts them that day, `issuedAgainstKg` on their period's day
  emit(t0 + 2 * 86_400, [issued(kept, "30"), issued(revoked, "12")]);
  const days = async () =>
    (await ix.facilitiesDaily({ fromDay: day, toDay: day + 2 }, { first: 999 })).rows.map((d) => [
      d.day - day,
      d.issuedKg,
      d.issuedAgainstKg,
    ]);
  assert.deepEqual(await days(), [
    [0, 0n, 42n],
    [2, 42n, 0n],
  ]);
  emit(t0 + 3 * 86_400, [
    ["AttestationRegistry", "AttestationRevoked", { id: revoked, verifier: addr(0xcc), reason: "stuck sensor" }],
  ]);
  assert.deepEqual(await days(), [
    [0, 0n, 30n],
    [2, 42n, 0n],
  ]);
});
