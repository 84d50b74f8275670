/**
 * The explorer behaviour spec's scenario (subgraph/test/support/explorer.behavior.ts) as the
 * contract events that produce it, in chain order: what the embedded backend's tests feed through
 * the real reducer.
 *
 * The spec's stand-in data for the subgraph lists, for facility ktda-kangaita, two attestations of
 * 60 readings each with one revoked while the facility still counts 120 readings and 5,000,000 g.
 * Events cannot produce that (a revocation takes its readings and grams out of the totals), so here
 * att1 carries 120 readings and 5,000,000 g and att2 is the one revoked: every figure the spec
 * asserts comes out of the reducer exactly as the mappings would compute it.
 */
import type { Hex } from "@carbonproof/subgraph/client";
import {
  addr,
  att1,
  att2,
  att3,
  certificateId,
  device1,
  facilityA,
  facilityB,
  hex32,
  oracleSet,
  t0,
  tokenId,
} from "../../../../subgraph/test/support/explorer.behavior.ts";
import type { IndexedContract, IndexedEvent, JsonValue } from "./events.ts";

const ZERO = addr(0);
const registry = addr(0xa77);
const devices = addr(0xde1);
const credits = addr(0xcc0);
const market = addr(0x3a3);
const certificates = addr(0xce7);
export const ADDRESSES: Record<IndexedContract, Hex> = {
  AttestationRegistry: registry,
  OracleSet: oracleSet,
  DeviceRegistry: devices,
  CarbonCredits: credits,
  Marketplace: market,
  RetirementCertificates: certificates,
};

/** The scenario as a chain: one block per call, events in the order the contracts emit them. */
export function scenario(): IndexedEvent[] {
  const events: IndexedEvent[] = [];
  let block = 0;
  const tx = (
    timestamp: number,
    transactionHash: Hex,
    logs: [IndexedContract, string, { [key: string]: JsonValue }][],
    from: Hex = addr(0x11),
  ) => {
    block += 1;
    logs.forEach(([contract, eventName, args], logIndex) =>
      events.push({
        blockNumber: block,
        blockHash: hex32(0xb000 + block),
        timestamp,
        transactionHash,
        transactionFrom: from,
        logIndex,
        contract,
        address: ADDRESSES[contract],
        eventName,
        args,
      }),
    );
  };
  const header = (facility: Hex, start: number, readings: number, fossil: number, biogenic: number) => ({
    facilityId: facility,
    periodStart: String(start),
    periodEnd: String(start + 3600),
    merkleRoot: hex32(0x400),
    readingCount: readings,
    fossilCo2eGrams: String(fossil),
    biogenicCo2Grams: String(biogenic),
    methodologyId: hex32(0x111),
    factorSetId: hex32(0x222),
    bundleCid: "bafybeibundle",
    correctionOf: hex32(0),
  });

  tx(t0, hex32(0x70), [
    ["OracleSet", "OracleNodeAdded", { node: addr(0x11), index: 0, reactivated: false }],
    ["OracleSet", "OracleNodeAdded", { node: addr(0x22), index: 1, reactivated: false }],
    ["OracleSet", "OracleNodeAdded", { node: addr(0x33), index: 2, reactivated: false }],
    ["OracleSet", "ThresholdChanged", { previous: 0, threshold: 2 }],
  ]);
  tx(t0, hex32(0x71), [
    [
      "DeviceRegistry",
      "DeviceRegistered",
      { id: device1, facilityId: facilityA, kind: 0, keyX: hex32(1), keyY: hex32(2), metadataURI: "ipfs://device" },
    ],
  ]);
  tx(t0 + 100, hex32(0x72), [
    [
      "DeviceRegistry",
      "DeviceKeyRotated",
      { id: device1, keyIndex: "1", x: hex32(3), y: hex32(4), validFrom: String(t0 + 100) },
    ],
  ]);
  tx(t0 + 200, hex32(0x7e), [
    [
      "CarbonCredits",
      "ProjectRegistered",
      {
        projectId: "1",
        facilityId: facilityA,
        methodologyId: hex32(0x111),
        proponent: addr(0xbeef),
        name: "Kangaita biomass switch",
        standard: "CarbonProof v1",
      },
    ],
    [
      "CarbonCredits",
      "BaselineSet",
      {
        projectId: "1",
        effectiveFrom: String(t0 - 86_400),
        gramsPerDay: "100000000",
        justificationCid: "bafybaseline",
      },
    ],
  ]);
  tx(t0 + 3700, hex32(0x7a), [
    [
      "AttestationRegistry",
      "AttestationSubmitted",
      { id: att1, facilityId: facilityA, signerBitmap: "5", header: header(facilityA, t0, 120, 5_000_000, 900_000) },
    ],
  ]);
  tx(t0 + 3800, hex32(0x7b), [
    [
      "AttestationRegistry",
      "AttestationSubmitted",
      { id: att3, facilityId: facilityB, signerBitmap: "3", header: header(facilityB, t0, 10, 9_000_000, 0) },
    ],
  ]);
  tx(t0 + 7300, hex32(0x7c0), [
    [
      "AttestationRegistry",
      "AttestationSubmitted",
      {
        id: att2,
        facilityId: facilityA,
        signerBitmap: "6",
        header: header(facilityA, t0 + 3600, 60, 2_500_000, 450_000),
      },
    ],
  ]);
  tx(t0 + 7400, hex32(0x7c), [
    [
      "CarbonCredits",
      "AttestationChallenged",
      { attestationId: att2, challenger: addr(0xa0d), reason: "stuck sensor", evidenceCid: "bafyevidence" },
    ],
  ]);
  // Upholding a challenge: CarbonCredits announces the resolution, then has the registry revoke.
  tx(t0 + 8000, hex32(0x7d), [
    [
      "CarbonCredits",
      "ChallengeResolved",
      { attestationId: att2, arbiter: addr(0xa4b), upheld: true, note: "confirmed" },
    ],
    ["AttestationRegistry", "AttestationRevoked", { id: att2, verifier: addr(0xcc), reason: "confirmed" }],
  ]);
  tx(
    t0 + 90_000,
    hex32(0x7f),
    [
      [
        "CarbonCredits",
        "TransferSingle",
        { operator: addr(0x44), from: ZERO, to: addr(0xbeef), id: tokenId.toString(), value: "800" },
      ],
      [
        "CarbonCredits",
        "CreditsIssued",
        {
          tokenId: tokenId.toString(),
          attestationId: att1,
          projectId: "1",
          to: addr(0xbeef),
          amount: "800",
          boundKg: "812",
          correctionGramsCovered: "0",
        },
      ],
    ],
    addr(0x44),
  );
  const list = (id: number) =>
    tx(t0 + 90_000 + id, hex32(0x80 + id), [
      [
        "CarbonCredits",
        "TransferSingle",
        { operator: market, from: addr(0xbeef), to: market, id: tokenId.toString(), value: "100" },
      ],
      [
        "Marketplace",
        "Listed",
        {
          listingId: String(id),
          seller: addr(0xbeef),
          tokenId: tokenId.toString(),
          amount: "100",
          paymentToken: addr(0x05d),
          unitPrice: "25000000",
          minFill: "1",
          expiresAt: String(t0 + 999_999),
        },
      ],
    ]);
  list(1);
  list(2);
  list(3);
  tx(t0 + 95_000, hex32(0x85), [
    [
      "CarbonCredits",
      "TransferSingle",
      { operator: market, from: market, to: addr(0xb0b), id: tokenId.toString(), value: "100" },
    ],
    [
      "Marketplace",
      "Bought",
      {
        listingId: "1",
        buyer: addr(0xb0b),
        tokenId: tokenId.toString(),
        amount: "100",
        totalPrice: "2500000000",
        fee: "25000000",
        retired: false,
        certificateId: "0",
      },
    ],
  ]);
  tx(t0 + 96_000, hex32(0x86), [
    [
      "CarbonCredits",
      "TransferSingle",
      { operator: market, from: market, to: addr(0xbeef), id: tokenId.toString(), value: "100" },
    ],
    ["Marketplace", "Cancelled", { listingId: "3", by: addr(0xbeef), amountReturned: "100" }],
  ]);
  // 0xca7 held credits once and passed them on: a zero balance, which is no holding.
  tx(t0 + 97_000, hex32(0x87), [
    [
      "CarbonCredits",
      "TransferSingle",
      { operator: addr(0xbeef), from: addr(0xbeef), to: addr(0xca7), id: tokenId.toString(), value: "100" },
    ],
  ]);
  tx(t0 + 98_000, hex32(0x88), [
    [
      "CarbonCredits",
      "TransferSingle",
      { operator: addr(0xca7), from: addr(0xca7), to: addr(0x3a7), id: tokenId.toString(), value: "100" },
    ],
  ]);
  tx(t0 + 100_000, hex32(0x90), [
    [
      "CarbonCredits",
      "TransferSingle",
      { operator: certificates, from: addr(0x3a7), to: ZERO, id: tokenId.toString(), value: "100" },
    ],
    ["RetirementCertificates", "Transfer", { from: ZERO, to: addr(0xca7), tokenId: certificateId.toString() }],
    ["RetirementCertificates", "Locked", { tokenId: certificateId.toString() }],
    [
      "RetirementCertificates",
      "Retired",
      {
        certificateId: certificateId.toString(),
        creditId: tokenId.toString(),
        beneficiary: addr(0xca7),
        retiree: addr(0xb0b),
        holder: addr(0x3a7),
        amount: "100",
        beneficiaryName: "Acme Tea Ltd",
        reason: "FY2026 scope 1 offset",
        consumptionCountry: "0x4b454e",
        consumptionStart: "0",
        consumptionEnd: "0",
      },
    ],
  ]);
  return events;
}
