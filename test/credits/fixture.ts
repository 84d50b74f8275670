/**
 * Shared deployment for the credits, market and retirement tests and for bench/gas-credits.ts:
 * the real DeviceRegistry / OracleSet / AttestationRegistry (test/carbonProofFixture.ts, three
 * oracle nodes, quorum 2) plus CarbonCredits, RetirementCertificates, Marketplace and TestUSD,
 * roles wired as in ignition/modules/Credits.ts.
 *
 * Batch headers are signed here with ethers wallets over the EIP-712 digest of docs/protocol.md,
 * and `attest` checks that the registry computes the same id (the cross-language hash check).
 */
import type { HardhatEthers } from "@nomicfoundation/hardhat-ethers/types";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import type { Wallet } from "ethers";
import { TypedDataEncoder, encodeBytes32String, keccak256, toUtf8Bytes, concat, ZeroAddress } from "ethers";
import { deployCarbonProof, type Connection } from "../carbonProofFixture.ts";
import { batchHeaderTypes } from "../../sdk/src/eip712/batchHeader.ts";

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

/** The sdk's EIP-712 type (one definition), in the mutable shape ethers' TypedDataEncoder takes. */
export const BATCH_HEADER_TYPES = { BatchHeader: [...batchHeaderTypes.BatchHeader] };

export const FACILITY = encodeBytes32String("ktda-kangaita");
export const METHODOLOGY = keccak256(toUtf8Bytes("carbonproof/flue-gas/v1"));
export const ZERO32 = "0x" + "00".repeat(32);
/** 1 Jan 2026 00:00:00 UTC. */
export const Y2026 = 1_767_225_600n;
/** 1 Jan 2025 00:00:00 UTC. */
export const Y2025 = 1_735_689_600n;

/** A regular batch header of the test facility: day `day` of 2025 (0-based) unless overridden. */
export function header(over: Partial<BatchHeader> & { day?: bigint } = {}): BatchHeader {
  const { day = 0n, ...rest } = over;
  const periodStart = rest.periodStart ?? Y2025 + day * DAY;
  return {
    facilityId: FACILITY,
    periodStart,
    periodEnd: periodStart + DAY,
    merkleRoot: keccak256(toUtf8Bytes(`root-${periodStart}-${rest.fossilCo2eGrams ?? 0}-${rest.correctionOf ?? ""}`)),
    readingCount: 17_280,
    fossilCo2eGrams: 600_000n,
    biogenicCo2Grams: 250_000n,
    methodologyId: METHODOLOGY,
    factorSetId: keccak256(toUtf8Bytes("ipcc-2006-v1")),
    bundleCid: "bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi",
    correctionOf: ZERO32,
    ...rest,
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

/**
 * Deploys CarbonCredits, RetirementCertificates, Marketplace and TestUSD against `registry`,
 * with `admin` holding every admin role. The registry's VERIFIER_ROLE is granted to CarbonCredits
 * (upheld challenges revoke) when `admin` may grant it.
 */
export async function deployCredits(
  ethers: HardhatEthers,
  registryAddress: string,
  admin: HardhatEthersSigner,
  treasury: string,
  challengeWindow: bigint = CHALLENGE_WINDOW,
) {
  const credits = await ethers.deployContract(
    "CarbonCredits",
    [registryAddress, admin.address, challengeWindow],
    admin,
  );
  const certificates = await ethers.deployContract(
    "RetirementCertificates",
    [await credits.getAddress(), admin.address],
    admin,
  );
  const market = await ethers.deployContract(
    "Marketplace",
    [await credits.getAddress(), await certificates.getAddress(), admin.address, treasury, FEE_BPS],
    admin,
  );
  const usd = await ethers.deployContract("TestUSD", [], admin);
  await (await credits.setCertificates(await certificates.getAddress())).wait();
  await (await credits.setExplorerBaseUrl("https://explorer.carbonproof.local")).wait();
  await (await certificates.grantRole(await certificates.ESCROW_ROLE(), await market.getAddress())).wait();
  await (await market.setPaymentToken(await usd.getAddress(), true)).wait();
  await (await market.setPaymentToken(ZeroAddress, true)).wait();
  const registry = await ethers.getContractAt("AttestationRegistry", registryAddress, admin);
  await (await registry.grantRole(await registry.VERIFIER_ROLE(), await credits.getAddress())).wait();
  return { credits, certificates, market, usd };
}

/** Quorum signatures of `digest` by `wallets` (ethers), ordered by increasing address. */
export function quorumSignatures(digest: string, wallets: Wallet[]): string {
  const sorted = [...wallets].sort((a, b) => (BigInt(a.address) < BigInt(b.address) ? -1 : 1));
  return concat(sorted.map((w) => w.signingKey.sign(digest).serialized));
}

export async function deployAll(connection: Connection) {
  const { ethers } = connection;
  const cp = await deployCarbonProof(connection, 3, 2);
  const signers = await ethers.getSigners();
  const admin = cp.admin;
  const verifier = signers[1]; // also the registry's verifier in carbonProofFixture
  const [auditor, arbiter, proponent, buyer, treasury, other, buyer2] = signers.slice(5, 12);
  const nodes = cp.oracles.map((o) => o.wallet);
  const { registry } = cp;

  const { credits, certificates, market, usd } = await deployCredits(
    ethers,
    await registry.getAddress(),
    admin,
    treasury.address,
  );
  await credits.grantRole(await credits.VERIFIER_ROLE(), verifier.address);
  await credits.grantRole(await credits.AUDITOR_ROLE(), auditor.address);
  await credits.grantRole(await credits.ARBITER_ROLE(), arbiter.address);
  await credits.grantRole(await credits.PAUSER_ROLE(), admin.address);
  await market.grantRole(await market.PAUSER_ROLE(), admin.address);

  const { chainId } = await ethers.provider.getNetwork();
  const domain = {
    name: "CarbonProof AttestationRegistry",
    version: "1",
    chainId,
    verifyingContract: await registry.getAddress(),
  };

  /** EIP-712 digest = attestation id (docs/protocol.md). */
  const attestationId = (h: BatchHeader) => TypedDataEncoder.hash(domain, BATCH_HEADER_TYPES, h);

  /** Submits a regular batch `h` signed by nodes `signers` (default 0 and 1); returns its id,
   * checked against the registry's own hash of the header. */
  async function attest(h: BatchHeader, signerIdx: number[] = [0, 1]): Promise<string> {
    const id = attestationId(h);
    const onChain = await registry.attestationIdOf(h);
    if (onChain !== id) throw new Error(`EIP-712 mismatch: ethers ${id} registry ${onChain}`);
    const sigs = quorumSignatures(
      id,
      signerIdx.map((i) => nodes[i]),
    );
    await (registry.connect(nodes[signerIdx[0]]) as typeof registry).submit(h, sigs);
    return id;
  }

  /** Submits correction `h` of `original`. */
  async function attestCorrection(h: BatchHeader, original: BatchHeader, signerIdx: number[] = [0, 1]) {
    const id = attestationId(h);
    const sigs = quorumSignatures(
      id,
      signerIdx.map((i) => nodes[i]),
    );
    await (registry.connect(nodes[signerIdx[0]]) as typeof registry).submitCorrection(h, original, sigs);
    return id;
  }

  /** Registers the test project: baseline `gramsPerDay` from 2025-01-01. */
  async function registerProject(gramsPerDay = 1_000_000n, effectiveFrom = Y2025): Promise<bigint> {
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
    ...cp,
    admin,
    verifier,
    auditor,
    arbiter,
    proponent,
    buyer,
    buyer2,
    treasury,
    other,
    nodes,
    registry,
    credits,
    certificates,
    market,
    usd,
    domain,
    attestationId,
    attest,
    attestCorrection,
    registerProject,
  };
}
