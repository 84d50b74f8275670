/**
 * The checks behind the "verified" badge and the certificate's "verify" button,
 * as pure functions of facts read from the chain (reads.ts gathers them). Each
 * check says what it checked and, when it fails, why, so an auditor sees which
 * link of the chain of custody broke.
 */
import type { Address, Hex } from "viem";
import { isAddressEqual } from "viem";
import type { BatchHeader } from "../../../sdk/src/eip712/batchHeader.ts";
import { formatDuration } from "./units.ts";

export type Check = { id: string; label: string; ok: boolean; detail: string };

/** `CarbonCredits.AttestationState`. */
export const ATTESTATION_STATE = ["None", "Challenged", "Dismissed", "Upheld", "Issued", "Correction"] as const;

export type AttestationFacts = {
  id: Hex;
  /** The header from the registry's `AttestationSubmitted` event (undefined if no event was found). */
  header: BatchHeader | undefined;
  /** EIP-712 digest of `header` recomputed in the browser with the sdk (undefined without header). */
  recomputedId: Hex | undefined;
  exists: boolean;
  revoked: boolean;
  submittedAt: bigint;
  signers: readonly Address[];
  /** CarbonCredits' view of the attestation (`ATTESTATION_STATE` index). */
  useState: number;
  everChallenged: boolean;
};

export type IssuanceFacts = {
  attestationId: Hex;
  amountKg: bigint;
  boundKg: bigint;
  issuedAt: bigint;
  txHash: Hex;
  /** Where its `CreditsIssued` log is in the chain: the credit page's cursor (reads.ts). */
  position?: { blockNumber: bigint; logIndex: number };
  attestation: AttestationFacts;
};

export type CreditFacts = {
  tokenId: bigint;
  projectId: number;
  vintage: number;
  facilityId: Hex;
  methodologyId: Hex;
  projectName: string;
  issuedKg: bigint;
  retiredKg: bigint;
  retirements: bigint;
  totalSupplyKg: bigint;
  issuances: readonly IssuanceFacts[];
  challengeWindowS: bigint;
  quorumThreshold: number;
};

function check(id: string, label: string, failures: string[], okDetail: string): Check {
  return failures.length === 0
    ? { id, label, ok: true, detail: okDetail }
    : { id, label, ok: false, detail: failures.join("; ") };
}

const short = (h: string) => `${h.slice(0, 10)}…`;

/** The on-chain checks of one credit (token id). */
export function creditChecks(c: CreditFacts): Check[] {
  const iss = c.issuances;
  const n = iss.length;
  const checks: Check[] = [];
  checks.push(
    n === 0
      ? { id: "issued", label: "Issued against attestations", ok: false, detail: "no issuance of this credit found" }
      : {
          id: "issued",
          label: "Issued against attestations",
          ok: true,
          detail: `${n} issuance${n === 1 ? "" : "s"}, each naming its attestation`,
        },
  );
  checks.push(
    check(
      "exists",
      "Attestations are in the registry",
      iss.filter((i) => !i.attestation.exists).map((i) => `${short(i.attestationId)} unknown to the registry`),
      "every attestation id is recorded by the AttestationRegistry",
    ),
  );
  checks.push(
    check(
      "header",
      "Attestation headers hash to their ids",
      iss
        .filter(
          (i) => !i.attestation.header || i.attestation.recomputedId?.toLowerCase() !== i.attestationId.toLowerCase(),
        )
        .map((i) =>
          i.attestation.header
            ? `${short(i.attestationId)}: header hashes to ${short(i.attestation.recomputedId ?? "?")}`
            : `${short(i.attestationId)}: no AttestationSubmitted event`,
        ),
      "the EIP-712 digest of each submitted header, recomputed here, equals its id",
    ),
  );
  checks.push(
    check(
      "facility",
      "Attestations are of this project's facility and methodology",
      iss
        .filter(
          (i) =>
            i.attestation.header &&
            (i.attestation.header.facilityId.toLowerCase() !== c.facilityId.toLowerCase() ||
              i.attestation.header.methodologyId.toLowerCase() !== c.methodologyId.toLowerCase()),
        )
        .map((i) => `${short(i.attestationId)} is of another facility or methodology`),
      "facility and methodology match the project",
    ),
  );
  checks.push(
    check(
      "quorum",
      "Co-signed by the oracle quorum",
      iss
        .filter((i) => i.attestation.signers.length < c.quorumThreshold)
        .map((i) => `${short(i.attestationId)} has ${i.attestation.signers.length} of ${c.quorumThreshold} signatures`),
      `each attestation carries at least ${c.quorumThreshold} oracle signatures`,
    ),
  );
  checks.push(
    check(
      "not-revoked",
      "No attestation revoked",
      iss.filter((i) => i.attestation.revoked).map((i) => `${short(i.attestationId)} was revoked`),
      "none of the attestations behind it was revoked",
    ),
  );
  checks.push(
    check(
      "challenge-window",
      "Challenge windows closed before issuance",
      iss
        .filter((i) => i.issuedAt < i.attestation.submittedAt + c.challengeWindowS)
        .map((i) => `${short(i.attestationId)} was issued inside its challenge window`),
      `each issuance came at least ${formatDuration(c.challengeWindowS)} after its attestation`,
    ),
  );
  const seen = new Set<string>();
  const reused: string[] = [];
  for (const i of iss) {
    const key = i.attestationId.toLowerCase();
    if (seen.has(key)) reused.push(`${short(i.attestationId)} backs more than one issuance`);
    seen.add(key);
    if (ATTESTATION_STATE[i.attestation.useState] !== "Issued")
      reused.push(
        `${short(i.attestationId)} is in state ${ATTESTATION_STATE[i.attestation.useState] ?? i.attestation.useState}`,
      );
  }
  checks.push(check("once", "Each attestation backs one issuance", reused, "no attestation was used twice"));
  checks.push(
    check(
      "bound",
      "Amounts within the attested reduction",
      iss
        .filter((i) => i.amountKg > i.boundKg)
        .map((i) => `${short(i.attestationId)}: ${i.amountKg} kg issued over a bound of ${i.boundKg} kg`),
      "every issuance is at most baseline − attested emissions",
    ),
  );
  const sum = iss.reduce((s, i) => s + i.amountKg, 0n);
  const supplyFailures: string[] = [];
  if (sum !== c.issuedKg)
    supplyFailures.push(`issuances add up to ${sum} kg but the contract says ${c.issuedKg} kg issued`);
  if (c.issuedKg - c.retiredKg !== c.totalSupplyKg)
    supplyFailures.push(`issued − retired ≠ supply (${c.issuedKg} − ${c.retiredKg} ≠ ${c.totalSupplyKg})`);
  checks.push(check("supply", "Supply adds up", supplyFailures, "issued − retired = supply in circulation"));
  return checks;
}

export function allPass(checks: readonly Check[]): boolean {
  return checks.length > 0 && checks.every((c) => c.ok);
}

/** Readings behind a credit: the leaf counts of the attestations of its issuances. */
export function attestedReadings(c: CreditFacts): number {
  return c.issuances.reduce((s, i) => s + (i.attestation.header?.readingCount ?? 0), 0);
}

export type ChallengeSummary = "cleared" | "challenged" | "revoked";

/** What the market's challenge column says about a credit. */
export function challengeSummary(c: CreditFacts): ChallengeSummary {
  if (c.issuances.some((i) => i.attestation.revoked)) return "revoked";
  if (c.issuances.some((i) => i.attestation.everChallenged)) return "challenged";
  return "cleared";
}

// ---------------------------------------------------------------- certificates

export type CertificateRecord = {
  certificateId: bigint;
  creditId: bigint;
  beneficiary: Address;
  retiree: Address;
  amountKg: bigint;
  retiredAt: bigint;
  beneficiaryName: string;
  reason: string;
  consumptionCountry: string | undefined;
  consumptionStart: bigint;
  consumptionEnd: bigint;
};

/** The `certificate` object of the on-chain tokenURI JSON (docs/credits.md). */
export type CertificateMetadata = {
  name: string;
  image: string;
  certificate: {
    id: string;
    creditId: string;
    amountKg: number | string;
    beneficiary: string;
    beneficiaryName: string;
    retiree: string;
    reason: string;
    retiredAt: number;
  };
};

/** RetirementCertificates' `Retired` event and the ERC-1155 burn in the same transaction. */
export type RetirementEvent = {
  certificateId: bigint;
  tokenId: bigint;
  amountKg: bigint;
  beneficiary: Address;
  retiree: Address;
  txHash: Hex;
  /** CarbonCredits `TransferSingle(…, to = 0)` of that transaction, if any. */
  burn: { tokenId: bigint; amountKg: bigint } | undefined;
};

export type CertificateFacts = {
  record: CertificateRecord;
  owner: Address;
  locked: boolean;
  metadata: CertificateMetadata | undefined;
  metadataError: string | undefined;
  retirement: RetirementEvent | undefined;
  credit: CreditFacts;
};

/** "Verify this certificate": every check an auditor would make from the chain alone. */
export function certificateChecks(f: CertificateFacts): Check[] {
  const r = f.record;
  const checks: Check[] = [];
  checks.push(
    check(
      "owner",
      "Held by the beneficiary, non-transferable",
      [
        ...(isAddressEqual(f.owner, r.beneficiary)
          ? []
          : [`owned by ${f.owner}, not the beneficiary ${r.beneficiary}`]),
        ...(f.locked ? [] : ["the certificate is not locked (ERC-5192)"]),
      ],
      `owned by ${r.beneficiary}, locked (soulbound)`,
    ),
  );
  checks.push(
    check(
      "id",
      "Certificate id names its credit",
      r.certificateId >> 64n === r.creditId
        ? []
        : [`certificate id encodes credit ${r.certificateId >> 64n}, record says ${r.creditId}`],
      `certificate ${r.certificateId} is retirement ${r.certificateId & 0xffffffffffffffffn} of credit ${r.creditId}`,
    ),
  );
  const ev = f.retirement;
  const burnFailures: string[] = [];
  if (!ev) burnFailures.push("no Retired event for this certificate");
  else {
    if (ev.tokenId !== r.creditId) burnFailures.push(`the retirement was of credit ${ev.tokenId}`);
    if (ev.amountKg !== r.amountKg) burnFailures.push(`retired ${ev.amountKg} kg, certificate says ${r.amountKg} kg`);
    if (!isAddressEqual(ev.beneficiary, r.beneficiary)) burnFailures.push("the retirement names another beneficiary");
    if (!isAddressEqual(ev.retiree, r.retiree)) burnFailures.push("the retirement names another retiree");
    if (!ev.burn) burnFailures.push("no credits were burned in the retirement transaction");
    else {
      if (ev.burn.tokenId !== r.creditId) burnFailures.push(`the burn was of credit ${ev.burn.tokenId}`);
      if (ev.burn.amountKg !== r.amountKg)
        burnFailures.push(`burned ${ev.burn.amountKg} kg, certificate says ${r.amountKg} kg`);
    }
  }
  checks.push(
    check(
      "burn",
      "Credits burned for it",
      burnFailures,
      `${r.amountKg} kg of credit ${r.creditId} were burned in the retirement transaction`,
    ),
  );
  const metaFailures: string[] = [];
  if (!f.metadata) metaFailures.push(f.metadataError ?? "tokenURI could not be read");
  else {
    const m = f.metadata.certificate;
    if (m.id !== r.certificateId.toString()) metaFailures.push("rendered id differs");
    if (m.creditId !== r.creditId.toString()) metaFailures.push("rendered credit differs");
    if (BigInt(m.amountKg) !== r.amountKg) metaFailures.push("rendered amount differs");
    if (m.beneficiaryName !== r.beneficiaryName) metaFailures.push("rendered beneficiary name differs");
    if (m.reason !== r.reason) metaFailures.push("rendered reason differs");
    if (m.beneficiary.toLowerCase() !== r.beneficiary.toLowerCase()) metaFailures.push("rendered beneficiary differs");
  }
  checks.push(
    check(
      "metadata",
      "The rendering is the record",
      metaFailures,
      "the on-chain tokenURI shows the same amount, credit, beneficiary and reason as the stored record",
    ),
  );
  const credit = creditChecks(f.credit);
  const failed = credit.filter((c) => !c.ok);
  checks.push({
    id: "credit",
    label: "The retired credit is backed by attested readings",
    ok: failed.length === 0 && credit.length > 0,
    detail:
      failed.length === 0
        ? `${credit.length} checks passed on credit ${r.creditId}: ${attestedReadings(f.credit)} signed readings behind it`
        : failed.map((c) => `${c.label}: ${c.detail}`).join("; "),
  });
  return checks;
}

/** Decodes `data:application/json;base64,…` (what tokenURI returns) without trusting its shape. */
export function decodeDataJson(uri: string): { ok: true; value: unknown } | { ok: false; error: string } {
  const prefix = "data:application/json;base64,";
  if (!uri.startsWith(prefix)) return { ok: false, error: "tokenURI is not a base64 JSON data URI" };
  try {
    const bytes = Uint8Array.from(atob(uri.slice(prefix.length)), (ch) => ch.charCodeAt(0));
    return { ok: true, value: JSON.parse(new TextDecoder().decode(bytes)) };
  } catch (cause) {
    return { ok: false, error: `tokenURI does not decode: ${cause instanceof Error ? cause.message : String(cause)}` };
  }
}
