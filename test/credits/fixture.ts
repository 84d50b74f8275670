/**
 * Shared deployment for the credits, market and retirement tests: the attestation registry with
 * three oracle nodes (quorum 2), CarbonCredits, RetirementCertificates, Marketplace and TestUSD,
 * roles wired as in ignition/modules/Credits.ts.
 *
 * Batch headers are signed here with ethers wallets over the EIP-712 digest of docs/protocol.md,
 * and every test checks the registry computes the same id (the cross-language hash check).
 */
import type { HardhatEthers } from "@nomicfoundation/hardhat-ethers/types";
import { Wallet, TypedDataEncoder, encodeBytes32String, keccak256, toUtf8Bytes, concat } from "ethers";

export const DAY = 86_400n;
export const CHALLENGE_WINDOW = 3n * DAY;
export const FEE_BPS = 250n;

export interface BatchHeader {
  facilityId: string;
  periodStart: bigint;
  periodEnd: bigint;
  merkleRoot: string;
  readingCount: number;
  fossilCo2eGrams: bigint;
  biogenicCo2Grams: bigint;
  methodologyId: string;
  factorSetId: string;
  bundleCid: string;
  correctionOf: string;
}

export const BATCH_HEADER_TYPES = {
  BatchHeader: [
    { name: "facilityId", type: "bytes32" },
    { name: "periodStart", type: "uint64" },
    { name: "periodEnd", type: "uint64" },
    { name: "merkleRoot", type: "bytes32" },
    { name: "readingCount", type: "uint32" },
    { name: "fossilCo2eGrams", type: "uint128" },
    { name: "biogenicCo2Grams", type: "uint128" },
    { name: "methodologyId", type: "bytes32" },
    { name: "factorSetId", type: "bytes32" },
    { name: "bundleCid", type: "string" },
    { name: "correctionOf", type: "bytes32" },
  ],
};

export const FACILITY = encodeBytes32String("ktda-kangaita");
export const METHODOLOGY = keccak256(toUtf8Bytes("carbonproof/flue-gas/v1"));
export const ZERO32 = "0x" + "00".repeat(32);
/** 1 Jan 2026 00:00:00 UTC. */
export const Y2026 = 1_767_225_600n;

/** A regular batch header for the test facility. */
export function header(over: Partial<BatchHeader> = {}): BatchHeader {
  return {
    facilityId: FACILITY,
    periodStart: Y2026,
    periodEnd: Y2026 + DAY,
    merkleRoot: keccak256(toUtf8Bytes(`root-${over.periodStart ?? Y2026}-${over.fossilCo2eGrams ?? 0}`)),
    readingCount: 17_280,
    fossilCo2eGrams: 600_000n,
    biogenicCo2Grams: 250_000n,
    methodologyId: METHODOLOGY,
    factorSetId: keccak256(toUtf8Bytes("ipcc-2006-v1")),
    bundleCid: "bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi",
    correctionOf: ZERO32,
    ...over,
  };
}

export async function deployAll(ethers: HardhatEthers) {
  const [admin, verifier, auditor, arbiter, proponent, buyer, treasury, other] = await ethers.getSigners();
  const nodes = [0, 1, 2].map(() => Wallet.createRandom());

  // Stands in for the AttestationRegistry of branch main until it is merged (see the contract).
  const registry = await ethers.deployContract("AttestationRegistryStandIn", [
    nodes.map((n) => n.address),
    2n,
    admin.address,
  ]);
  const credits = await ethers.deployContract("CarbonCredits", [
    await registry.getAddress(),
    admin.address,
    CHALLENGE_WINDOW,
  ]);
  const certificates = await ethers.deployContract("RetirementCertificates", [
    await credits.getAddress(),
    admin.address,
  ]);
  const market = await ethers.deployContract("Marketplace", [
    await credits.getAddress(),
    await certificates.getAddress(),
    admin.address,
    treasury.address,
    FEE_BPS,
  ]);
  const usd = await ethers.deployContract("TestUSD");

  await credits.setCertificates(await certificates.getAddress());
  await credits.setExplorerBaseUrl("https://explorer.carbonproof.local");
  await credits.grantRole(await credits.VERIFIER_ROLE(), verifier.address);
  await credits.grantRole(await credits.AUDITOR_ROLE(), auditor.address);
  await credits.grantRole(await credits.ARBITER_ROLE(), arbiter.address);
  await credits.grantRole(await credits.PAUSER_ROLE(), admin.address);
  await certificates.grantRole(await certificates.ESCROW_ROLE(), await market.getAddress());
  await registry.grantRole(await registry.VERIFIER_ROLE(), await credits.getAddress());
  await market.grantRole(await market.PAUSER_ROLE(), admin.address);
  await market.setPaymentToken(await usd.getAddress(), true);
  await market.setPaymentToken(ethers.ZeroAddress, true);

  const { chainId } = await ethers.provider.getNetwork();
  const domain = {
    name: "CarbonProof AttestationRegistry",
    version: "1",
    chainId,
    verifyingContract: await registry.getAddress(),
  };

  /** EIP-712 digest = attestation id (docs/protocol.md). */
  const attestationId = (h: BatchHeader) => TypedDataEncoder.hash(domain, BATCH_HEADER_TYPES, h);

  /** Quorum signatures by `signers` (default: nodes 0 and 1), ordered by increasing address. */
  function sign(h: BatchHeader, signers: Wallet[] = [nodes[0], nodes[1]]): string {
    const digest = attestationId(h);
    const sorted = [...signers].sort((a, b) => (BigInt(a.address) < BigInt(b.address) ? -1 : 1));
    return concat(sorted.map((w) => w.signingKey.sign(digest).serialized));
  }

  /** Submits `h` with a quorum; returns its id (checked against the registry's own hash). */
  async function attest(h: BatchHeader, signers?: Wallet[]): Promise<string> {
    const id = attestationId(h);
    const onChain = await registry.attestationIdOf(h);
    if (onChain !== id) throw new Error(`EIP-712 mismatch: sdk ${id} registry ${onChain}`);
    await registry.connect(other).submit(h, sign(h, signers));
    return id;
  }

  /** Registers the test project: baseline `gramsPerDay` from 2026-01-01. */
  async function registerProject(gramsPerDay = 1_000_000n, effectiveFrom = Y2026): Promise<bigint> {
    await credits.connect(verifier).registerProject({
      proponent: proponent.address,
      facilityId: FACILITY,
      methodologyId: METHODOLOGY,
      name: "Kangaita biomass boiler",
      standard: "CarbonProof Standard v1",
      baselineEffectiveFrom: effectiveFrom,
      baselineGramsPerDay: gramsPerDay,
      baselineCid: "bafkreibaselinejustification",
    });
    return await credits.projectCount();
  }

  return {
    admin, verifier, auditor, arbiter, proponent, buyer, treasury, other, nodes,
    registry, credits, certificates, market, usd, domain, attestationId, sign, attest, registerProject,
  };
}

/** Plain retirement details. */
export function details(beneficiary: string, over: Record<string, unknown> = {}) {
  return {
    beneficiary,
    beneficiaryName: "Acme Tea Ltd",
    reason: "FY2026 scope 1 offset",
    consumptionCountry: "0x000000",
    consumptionStart: 0n,
    consumptionEnd: 0n,
    ...over,
  };
}
