/**
 * From a search term and the indexer's hits to where the explorer goes: one page → redirect there;
 * several → a list; none → say what the term looked like and which forms are accepted.
 */
import type { SearchHit } from "@carbonproof/subgraph/client";

export type TermShape = "empty" | "bytes32" | "address" | "decimal" | "cid" | "protocolId" | "unknown";

/** What an auditor may paste, in the words the "nothing found" page uses. */
export const ACCEPTED_FORMS: readonly { shape: TermShape; form: string; example: string }[] = [
  {
    shape: "bytes32",
    form: "a reading digest, attestation id, transaction hash, or facility/device key (0x + 64 hex digits)",
    example: "0x9f2c…e41a",
  },
  {
    shape: "address",
    form: "an account, seller, beneficiary or oracle node address (0x + 40 hex digits)",
    example: "0x7099…79C8",
  },
  { shape: "decimal", form: "a credit token id, certificate id or listing id (decimal digits)", example: "65538" },
  { shape: "protocolId", form: "a facility or device id as registered (lower case)", example: "ktda-kangaita" },
  {
    shape: "cid",
    form: "an evidence bundle CID (CIDv1, bafy…; ipfs:// and /ipfs/ prefixes are fine)",
    example: "bafkrei…",
  },
];

const SHAPE_WORDS: Record<TermShape, string> = {
  empty: "nothing",
  bytes32: "a 32-byte hash (reading digest, attestation id, transaction hash or key)",
  address: "an address",
  decimal: "a decimal id (credit, certificate or listing)",
  cid: "a CID",
  protocolId: "a facility or device id",
  unknown: "none of the accepted forms",
};

/** Trims what was pasted and drops the wrappers a CID often comes in. */
export function normaliseTerm(raw: string): string {
  return raw
    .trim()
    .replace(/^["'“”‘’]+|["'“”‘’]+$/g, "")
    .replace(/^ipfs:\/\//i, "")
    .replace(/^\/ipfs\//i, "")
    .trim();
}

export function termShape(term: string): TermShape {
  if (term === "") return "empty";
  if (/^0x[0-9a-fA-F]{64}$/.test(term)) return "bytes32";
  if (/^0x[0-9a-fA-F]{40}$/.test(term)) return "address";
  if (/^\d{1,78}$/.test(term)) return "decimal";
  if (/^(baf[a-z2-7]{20,120}|Qm[1-9A-HJ-NP-Za-km-z]{44})$/.test(term)) return "cid";
  if (/^[a-z0-9][a-z0-9._-]{0,31}$/.test(term)) return "protocolId";
  return "unknown";
}

export function describeShape(shape: TermShape): string {
  return SHAPE_WORDS[shape];
}

/**
 * A protocol id's text from its bytes32 key (`0x6b7464…00` → `ktda-kangaita`), when the key is such
 * text zero-padded; undefined for a key that is a hash.
 */
export function protocolIdFromKey(key: string): string | undefined {
  if (!/^0x[0-9a-fA-F]{64}$/.test(key)) return undefined;
  const hex = key.slice(2).replace(/(00)+$/, "");
  if (hex.length % 2) return undefined;
  let text = "";
  for (let i = 0; i < hex.length; i += 2) text += String.fromCharCode(parseInt(hex.slice(i, i + 2), 16));
  return /^[a-z0-9][a-z0-9._-]{0,31}$/.test(text) ? text : undefined;
}

/** The explorer (or market, certificate, audit) page of a hit: the route map of issue 8. */
export function hitHref(hit: SearchHit): string {
  switch (hit.kind) {
    case "facility":
      return `/explorer/facilities/${protocolIdFromKey(hit.id) ?? hit.id}`;
    case "device":
      return `/explorer/devices/${protocolIdFromKey(hit.id) ?? hit.id}`;
    case "oracleNode":
    case "account":
      return `/explorer/accounts/${hit.id}`;
    case "attestation":
      return `/explorer/attestations/${hit.id}`;
    case "credit":
      return `/credit/${hit.id.toString()}`;
    case "listing":
      return `/listing/${hit.id.toString()}`;
    case "retirement":
      return `/certificate/${hit.id.toString()}`;
    case "transaction":
      return `/explorer/tx/${hit.id}`;
    case "reading":
      return `/audit/reading/${hit.id}`;
    case "bundle":
      return `/explorer/attestations/${hit.attestationId}`;
  }
}

export const HIT_KIND_LABEL: Record<SearchHit["kind"], string> = {
  facility: "Facility",
  device: "Device",
  oracleNode: "Oracle node",
  attestation: "Attestation",
  credit: "Credit",
  listing: "Listing",
  retirement: "Retirement certificate",
  account: "Account",
  transaction: "Transaction",
  reading: "Reading",
  bundle: "Evidence bundle",
};

export type SearchOutcome =
  | { kind: "empty" }
  | { kind: "redirect"; href: string }
  | { kind: "many"; hits: { hit: SearchHit; href: string }[] }
  | { kind: "none"; term: string; shape: TermShape };

/**
 * Where a search ends. Hits that lead to the same page count once (an oracle node is also an
 * account), so a term with one destination always redirects.
 */
export function routeSearch(term: string, hits: readonly SearchHit[]): SearchOutcome {
  if (term === "") return { kind: "empty" };
  const seen = new Map<string, { hit: SearchHit; href: string }>();
  for (const hit of hits) {
    const href = hitHref(hit);
    if (!seen.has(href)) seen.set(href, { hit, href });
  }
  const unique = [...seen.values()];
  if (unique.length === 0) return { kind: "none", term, shape: termShape(term) };
  if (unique.length === 1) return { kind: "redirect", href: unique[0].href };
  return { kind: "many", hits: unique };
}
