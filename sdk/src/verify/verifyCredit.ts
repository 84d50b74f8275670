import { BaseError, ContractFunctionRevertedError, type Address, type Hex } from "viem";
import type { LinkCheck } from "../bundle/check.ts";
import { attestationRegistryAbi, carbonCreditsAbi, retirementCertificatesAbi } from "./abi.ts";
import { verifyAttestation, type VerifyOptions, type VerifyReport } from "./verifyAttestation.ts";

export type CreditVerifyOptions = Omit<VerifyOptions, "target"> & { credits: Address; tokenId: bigint };

export type CreditReport = {
  /** Links of the credit itself (issuance, bound, issuer), then each backing attestation's report. */
  checks: LinkCheck[];
  attestations: VerifyReport[];
  ok: boolean;
};

const pass = (link: string, detail: string): LinkCheck => ({ link, ok: true, detail });
const fail = (link: string, detail: string): LinkCheck => ({ link, ok: false, detail });

/**
 * Walks a credit (CarbonCredits ERC-1155 token id) back to its attestations: every
 * `CreditsIssued` of the token, the amount within the bound CarbonCredits computed
 * (baseline − attested emissions), an issuer who did not co-sign the attestation, and
 * the full chain of custody of each backing attestation (verifyAttestation).
 */
export async function verifyCredit(o: CreditVerifyOptions): Promise<CreditReport> {
  const checks: LinkCheck[] = [];
  const logs = await o.client.getLogs({
    address: o.credits,
    event: carbonCreditsAbi.find((x) => x.type === "event" && x.name === "CreditsIssued") as Extract<
      (typeof carbonCreditsAbi)[number],
      { type: "event"; name: "CreditsIssued" }
    >,
    args: { tokenId: o.tokenId },
    fromBlock: o.fromBlock ?? 0n,
    toBlock: "latest",
  });
  if (logs.length === 0) {
    checks.push(fail("credit issued", `no CreditsIssued for token ${o.tokenId} at ${o.credits}`));
    return { checks, attestations: [], ok: false };
  }
  const attestations: VerifyReport[] = [];
  for (const log of logs) {
    const { attestationId, amount, boundKg, projectId } = log.args as {
      attestationId: Hex;
      amount: bigint;
      boundKg: bigint;
      projectId: number;
    };
    const link = `credit ${o.tokenId} issued from attestation ${attestationId}`;
    checks.push(
      amount <= boundKg
        ? pass(link, `${amount} kg ≤ bound ${boundKg} kg (project ${projectId}, tx ${log.transactionHash})`)
        : fail(link, `${amount} kg exceeds the bound ${boundKg} kg`),
    );
    const tx = await o.client.getTransaction({ hash: log.transactionHash as Hex });
    const signed = await o.client.readContract({
      address: o.registry,
      abi: attestationRegistryAbi,
      functionName: "wasSignedBy",
      args: [attestationId, tx.from],
    });
    checks.push(
      signed
        ? fail("issuer did not co-sign the attestation", `${tx.from} issued and co-signed ${attestationId}`)
        : pass("issuer did not co-sign the attestation", `${tx.from} is not among the signers of ${attestationId}`),
    );
    attestations.push(await verifyAttestation({ ...o, target: { attestationId } }));
  }
  return { checks, attestations, ok: checks.every((c) => c.ok) && attestations.every((a) => a.ok) };
}

/** A retirement certificate back to its credit and attestations. */
export async function verifyRetirement(
  o: Omit<VerifyOptions, "target"> & { certificates: Address; certificateId: bigint },
): Promise<CreditReport> {
  let certificate: { creditId: bigint; amount: bigint; beneficiary: Address; beneficiaryName: string; reason: string };
  try {
    certificate = await o.client.readContract({
      address: o.certificates,
      abi: retirementCertificatesAbi,
      functionName: "getCertificate",
      args: [o.certificateId],
    });
  } catch (error) {
    // Only a revert (no such certificate) is an answer; RPC failures propagate.
    if (!(error instanceof BaseError) || error.walk((e) => e instanceof ContractFunctionRevertedError) === null) {
      throw error;
    }
    const checks = [fail("retirement certificate", `certificate ${o.certificateId}: ${error.shortMessage}`)];
    return { checks, attestations: [], ok: false };
  }
  const credits = await o.client.readContract({
    address: o.certificates,
    abi: retirementCertificatesAbi,
    functionName: "credits",
  });
  const cert = pass(
    "retirement certificate",
    `${o.certificateId}: ${certificate.amount} kg of credit ${certificate.creditId} retired for ${certificate.beneficiaryName || certificate.beneficiary} (${certificate.reason})`,
  );
  const credit = await verifyCredit({ ...o, credits, tokenId: certificate.creditId });
  return { ...credit, checks: [cert, ...credit.checks], ok: credit.ok };
}
