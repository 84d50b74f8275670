/** Test data for the report tests: attestation details as an indexer answers them. */
import type { AttestationDetail, DeviceSummary, Hex, ReadingSummary } from "@carbonproof/subgraph/client";

export const FACILITY: Hex = `0x${"ab".repeat(32)}`;
const hex32 = (n: number): Hex => `0x${n.toString(16).padStart(64, "0")}`;
export const DAY = 86_400n;
/** 2026-11-01 00:00 UTC */
export const NOV1 = 1_793_491_200n;
export const NOV1_DAY = Number(NOV1 / DAY);

export function attestation(n: number, over: Partial<AttestationDetail> = {}): AttestationDetail {
  return {
    id: hex32(n),
    facility: { id: FACILITY, code: "ktda-kangaita" },
    periodStart: NOV1 + BigInt(n) * 43_200n,
    periodEnd: NOV1 + BigInt(n + 1) * 43_200n,
    readingCount: 2n,
    fossilCo2eGrams: 1_000n,
    biogenicCo2Grams: 5_000n,
    isCorrection: false,
    revoked: false,
    challengeState: "None",
    submittedAt: NOV1 + BigInt(n + 1) * 43_200n + 60n,
    issuedCreditId: null,
    merkleRoot: hex32(1000 + n),
    methodologyId: hex32(7),
    factorSetId: hex32(9),
    bundleCid: `bafy${"a".repeat(20)}${n}`,
    correctionOf: null,
    corrections: [],
    signers: [{ address: `0x${"11".repeat(20)}`, index: 0 }],
    submitter: `0x${"22".repeat(20)}`,
    transactionHash: hex32(2000 + n),
    revocation: null,
    challenge: null,
    issuance: null,
    shortfall: null,
    ...over,
  };
}

export function reading(a: AttestationDetail, over: Partial<ReadingSummary>): ReadingSummary {
  return {
    digest: hex32(Math.floor(Math.random() * 1e9)),
    attestationId: a.id,
    facility: a.facility,
    deviceId: "kangaita-chimney-1",
    seq: 1,
    ts: Number(a.periodStart) + 5,
    kind: "flue-gas",
    source: "flue-gas",
    fossilCo2eMg: 0n,
    biogenicCo2Mg: 0n,
    leafIndex: 0,
    ...over,
  };
}

export const DEVICES: DeviceSummary[] = [
  { id: hex32(501), code: "kangaita-chimney-1", kind: "FlueGas", status: "Active", keyCount: 1, registeredAt: NOV1 },
  {
    id: hex32(502),
    code: "kangaita-meter-1",
    kind: "ElectricityMeter",
    status: "Active",
    keyCount: 1,
    registeredAt: NOV1,
  },
];
