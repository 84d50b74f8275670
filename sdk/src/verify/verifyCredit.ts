import type { Address } from "viem";
import type { LinkCheck } from "../bundle/check.ts";
import type { VerifyOptions, VerifyReport } from "./verifyAttestation.ts";
import { verifyLineage, type LineageOptions, type LineageReport } from "./verifyLineage.ts";

/** Called after every decided link with the walk so far (a progress line, a page's rows). */
type WalkProgress = { onProgress?: (report: LineageReport) => void };

export type CreditVerifyOptions = Omit<VerifyOptions, "target"> & WalkProgress & { credits: Address; tokenId: bigint };

export type CreditReport = {
  /** Links of the credit itself (retirement, purchase, issuance, bound, issuer), then each backing attestation's report. */
  checks: LinkCheck[];
  attestations: VerifyReport[];
  ok: boolean;
};

/** A lineage report in the CLI's shape: the walk's own links, then one report per attestation. */
function toCreditReport(r: LineageReport): CreditReport {
  const attestations = r.sections
    .filter((s) => s.kind === "attestation")
    .map((s) => ({
      attestationId: s.attestationId ?? null,
      checks: s.checks,
      ok: s.checks.every((c) => c.ok),
      ...(s.evidence ? { evidence: s.evidence } : {}),
    }));
  const checks = r.sections.filter((s) => s.kind !== "attestation").flatMap((s) => s.checks);
  return { checks, attestations, ok: r.ok };
}

function lineageOptions(o: Omit<VerifyOptions, "target"> & WalkProgress): Omit<LineageOptions, "target"> {
  const { onCheck: _onCheck, ...rest } = o;
  return rest;
}

/**
 * Walks a credit (CarbonCredits ERC-1155 token id) back to its attestations: every
 * `CreditsIssued` of the token, the amount within the bound CarbonCredits computed
 * (baseline − attested emissions), an issuer who did not co-sign the attestation, and
 * the full chain of custody of each backing attestation (verifyAttestation). The same walk
 * as the web app's audit trail ({@link verifyLineage}).
 */
export async function verifyCredit(o: CreditVerifyOptions): Promise<CreditReport> {
  return toCreditReport(
    await verifyLineage({ ...lineageOptions(o), credits: o.credits, target: { tokenId: o.tokenId } }),
  );
}

/** A retirement certificate back to its purchase, credit and attestations. */
export async function verifyRetirement(
  o: Omit<VerifyOptions, "target"> &
    WalkProgress & {
      certificates: Address;
      certificateId: bigint;
      credits?: Address;
      marketplace?: Address;
    },
): Promise<CreditReport> {
  return toCreditReport(
    await verifyLineage({
      ...lineageOptions(o),
      certificates: o.certificates,
      ...(o.credits ? { credits: o.credits } : {}),
      ...(o.marketplace ? { marketplace: o.marketplace } : {}),
      target: { certificateId: o.certificateId },
    }),
  );
}
