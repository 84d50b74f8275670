/**
 * What an audit page or the verify form walks from, parsed from what a person typed or a URL
 * segment. Only parsing lives here: every check is the sdk's (verifyLineage).
 */
import type { Hex } from "viem";
import type { LineageTarget } from "../../../../sdk/src/verify/verifyLineage.ts";
import { parseUintId } from "../ids.ts";
import { decodeParam } from "../params.ts";

export type AuditKind = "credit" | "certificate" | "attestation" | "reading";

export const AUDIT_KINDS: readonly AuditKind[] = ["credit", "certificate", "attestation", "reading"];

/** The page of an audit trail. */
export function auditHref(kind: AuditKind, id: string | bigint): string {
  return `/audit/${kind}/${id.toString()}`;
}

const BYTES32 = /^0x[0-9a-fA-F]{64}$/;

/** Target of `/audit/<kind>/<id>`, or a sentence saying why the id is not one. */
export function parseAuditTarget(kind: AuditKind, id: string): LineageTarget | string {
  const text = decodeParam(id).trim();
  switch (kind) {
    case "credit": {
      const tokenId = parseUintId(text);
      return tokenId === undefined ? `“${text}” is not a credit id (a decimal token id).` : { tokenId };
    }
    case "certificate": {
      const certificateId = parseUintId(text);
      return certificateId === undefined ? `“${text}” is not a certificate id (a decimal number).` : { certificateId };
    }
    case "attestation":
      return BYTES32.test(text)
        ? { attestationId: text.toLowerCase() as Hex }
        : `“${text}” is not an attestation id (0x and 64 hex digits).`;
    case "reading":
      return BYTES32.test(text)
        ? { readingDigest: text.toLowerCase() as Hex }
        : `“${text}” is not a reading digest (0x and 64 hex digits).`;
  }
}

/**
 * An id pasted into the verify form: a decimal below 2^64 is a credit (token ids are
 * projectId << 16 | vintage), at or above it a certificate (creditId << 64 | n); a bytes32 is an
 * attestation id or a reading digest (`isAttestation` tells them apart, from the chain).
 */
export async function targetOfPastedId(
  text: string,
  isAttestation: (id: Hex) => Promise<boolean>,
): Promise<{ kind: AuditKind; id: string; target: LineageTarget } | string> {
  const t = text.trim();
  const n = parseUintId(t);
  if (n !== undefined) {
    return n >= 1n << 64n
      ? { kind: "certificate", id: t, target: { certificateId: n } }
      : { kind: "credit", id: t, target: { tokenId: n } };
  }
  if (BYTES32.test(t)) {
    const id = t.toLowerCase() as Hex;
    return (await isAttestation(id))
      ? { kind: "attestation", id, target: { attestationId: id } }
      : { kind: "reading", id, target: { readingDigest: id } };
  }
  return `“${t.slice(0, 80)}” is not an id: paste a credit or certificate id (decimal), an attestation id or a reading digest (0x + 64 hex).`;
}

/**
 * A dropped or pasted file: a signed reading envelope (`{ reading, sig }`) or an evidence
 * bundle (checked by its exact bytes, so a changed byte changes its CID).
 */
export function targetOfFile(bytes: Uint8Array, name: string): LineageTarget | string {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch (error) {
    return `${name} is not UTF-8 JSON: ${(error as Error).message}`;
  }
  if (value && typeof value === "object" && "reading" in value && "sig" in value) {
    return { envelope: value as Extract<LineageTarget, { envelope: unknown }>["envelope"] };
  }
  if (value && typeof value === "object" && "readings" in value && "facilityId" in value) {
    return { bundleBytes: bytes, name };
  }
  return `${name} is neither a signed reading envelope ({ reading, sig }) nor an evidence bundle (format carbonproof.bundle/1).`;
}
