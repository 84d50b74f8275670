/**
 * The explorer's search over the subgraph: what a term can be, the variables of SEARCH_QUERY
 * (./queries.ts) that look it up, and the hits made of the answer. Exact matches only:
 *
 * - a protocol id (`ktda-kangaita`) or a bytes32 hex → a facility or device with that key;
 * - a bytes32 hex → also an attestation id, and a transaction hash (one hit naming what the
 *   transaction did, from the entities that record their transaction);
 * - a 20-byte address → an account (any address the credits or certificates touched) and the
 *   oracle nodes with that address;
 * - a decimal → a credit token id, a listing id, a certificate (retirement) id;
 * - a CID → the attestations whose evidence bundle it is.
 *
 * Reading digests are not searchable here: they live in the evidence bundles on IPFS, which The
 * Graph does not read.
 */
import { z } from "zod";
import { isProtocolId, protocolIdKey } from "./ids.ts";
import { bigintString, facilityRef, hex } from "./schemas.ts";
import type { FacilityRef, Hex, SearchHit } from "./types.ts";

export type SearchVariables = {
  key: string;
  byKey: boolean;
  hash: string;
  byHash: boolean;
  address: string;
  addressBytes: string;
  byAddress: boolean;
  number: string;
  byNumber: boolean;
  cid: string;
  byCid: boolean;
};

const BYTES32 = /^0x[0-9a-fA-F]{64}$/;
const ADDRESS = /^0x[0-9a-fA-F]{40}$/;
/** a uint256 has at most 78 decimal digits */
const DECIMAL = /^[0-9]{1,78}$/;
/** CIDv0 (base58btc, Qm…) or CIDv1 in base32 (b…, what the sdk writes) */
const CID = /^(Qm[1-9A-HJ-NP-Za-km-z]{44}|b[a-z2-7]{58,})$/;

/** The variables of SEARCH_QUERY for `term`, or null when the term can be nothing the subgraph holds. */
export function searchVariables(term: string): SearchVariables | null {
  const t = term.trim();
  const bytes32 = BYTES32.test(t);
  const protocolId = isProtocolId(t);
  const v: SearchVariables = {
    key: bytes32 || protocolId ? protocolIdKey(t) : "0x00",
    byKey: bytes32 || protocolId,
    hash: bytes32 ? t.toLowerCase() : "0x00",
    byHash: bytes32,
    address: ADDRESS.test(t) ? t.toLowerCase() : "0x00",
    addressBytes: ADDRESS.test(t) ? t.toLowerCase() : "0x00",
    byAddress: ADDRESS.test(t),
    number: DECIMAL.test(t) ? BigInt(t).toString() : "0",
    byNumber: DECIMAL.test(t),
    cid: CID.test(t) ? t : "",
    byCid: CID.test(t),
  };
  return v.byKey || v.byHash || v.byAddress || v.byNumber || v.byCid ? v : null;
}

const ids = z.array(z.object({ id: z.string() })).optional();

/** SEARCH_QUERY's data; the lookups `@include` skipped are absent. */
export const searchResult = z.object({
  facility: facilityRef.nullish(),
  device: z.object({ id: hex, code: z.string().nullable(), facility: facilityRef }).nullish(),
  attestation: z.object({ id: hex, facility: facilityRef, periodStart: bigintString }).nullish(),
  oracleNodes: z.array(z.object({ address: hex, index: z.number().int(), active: z.boolean() })).optional(),
  account: z.object({ id: hex }).nullish(),
  credit: z
    .object({ tokenId: bigintString, vintage: z.number().int(), project: z.object({ name: z.string() }) })
    .nullish(),
  listing: z.object({ listingId: bigintString, status: z.string(), remainingKg: bigintString }).nullish(),
  retirement: z.object({ id: bigintString, amountKg: bigintString, beneficiaryName: z.string() }).nullish(),
  bundles: z.array(z.object({ id: hex, facility: facilityRef })).optional(),
  txAttestations: ids,
  txRevocations: ids,
  txChallenges: ids,
  txChallengeResolutions: ids,
  txCorrections: ids,
  txProjects: ids,
  txBaselines: ids,
  txIssuances: ids,
  txTransfers: ids,
  txListings: ids,
  txPriceChanges: ids,
  txSales: ids,
  txRetirements: ids,
  txDeviceEvents: z.array(z.object({ kind: z.string() })).optional(),
  txQuorumChanges: z.array(z.object({ kind: z.string() })).optional(),
  txPauseChanges: z.array(z.object({ paused: z.boolean() })).optional(),
  txFeeChanges: ids,
  txRoleAdminChanges: ids,
});

const name = (f: FacilityRef) => f.code ?? f.id;
const isoDate = (seconds: bigint) => new Date(Number(seconds) * 1000).toISOString().slice(0, 10);

const DEVICE_EVENT: Record<string, string> = {
  Registered: "device registered",
  Suspended: "device suspended",
  Reactivated: "device reactivated",
  KeyRotated: "device key rotated",
  Retired: "device retired",
  MetadataUpdated: "device metadata updated",
};
const QUORUM_CHANGE: Record<string, string> = {
  NodeAdded: "oracle node added",
  NodeReactivated: "oracle node reactivated",
  NodeRemoved: "oracle node removed",
  ThresholdChanged: "quorum threshold changed",
};

/** What a transaction did, from the entities that record it; empty when the subgraph knows no such transaction. */
function transactionParts(d: z.infer<typeof searchResult>): string[] {
  const parts: string[] = [];
  const when = (list: unknown[] | undefined, what: string) => {
    if (list?.length) parts.push(what);
  };
  when(d.txAttestations, "attestation submitted");
  when(d.txChallenges, "attestation challenged");
  when(d.txChallengeResolutions, "challenge resolved");
  when(d.txRevocations, "attestation revoked");
  when(d.txCorrections, "correction recorded");
  when(d.txProjects, "project registered");
  when(d.txBaselines, "baseline set");
  when(d.txIssuances, "credits issued");
  when(d.txListings, "listing created");
  when(d.txPriceChanges, "listing price changed");
  when(d.txSales, "credits bought");
  when(d.txTransfers, "credits transferred");
  when(d.txRetirements, "credits retired");
  for (const e of d.txDeviceEvents ?? []) parts.push(DEVICE_EVENT[e.kind] ?? `device ${e.kind}`);
  for (const c of d.txQuorumChanges ?? []) parts.push(QUORUM_CHANGE[c.kind] ?? `oracle set ${c.kind}`);
  for (const c of d.txPauseChanges ?? []) parts.push(c.paused ? "contract paused" : "contract unpaused");
  when(d.txFeeChanges, "marketplace fee changed");
  when(d.txRoleAdminChanges, "role admin changed");
  return [...new Set(parts)];
}

/** The hits of one search, in the order of SearchHit's kinds (facility, device, oracleNode, attestation, …). */
export function searchHits(v: SearchVariables, d: z.infer<typeof searchResult>): SearchHit[] {
  const hits: SearchHit[] = [];
  if (d.facility) hits.push({ kind: "facility", id: d.facility.id, label: name(d.facility) });
  if (d.device) {
    hits.push({
      kind: "device",
      id: d.device.id,
      label: `${d.device.code ?? d.device.id} at ${name(d.device.facility)}`,
    });
  }
  for (const n of d.oracleNodes ?? []) {
    hits.push({ kind: "oracleNode", id: n.address, label: `oracle node #${n.index}${n.active ? "" : " (removed)"}` });
  }
  if (d.attestation) {
    hits.push({
      kind: "attestation",
      id: d.attestation.id,
      label: `attestation of ${name(d.attestation.facility)}, period from ${isoDate(d.attestation.periodStart)}`,
    });
  }
  if (d.credit) {
    hits.push({ kind: "credit", id: d.credit.tokenId, label: `${d.credit.project.name}, vintage ${d.credit.vintage}` });
  }
  if (d.listing) {
    hits.push({
      kind: "listing",
      id: d.listing.listingId,
      label: `listing #${d.listing.listingId} (${d.listing.status})`,
    });
  }
  if (d.retirement) {
    hits.push({
      kind: "retirement",
      id: d.retirement.id,
      label: `${d.retirement.amountKg} kg CO2e retired for ${d.retirement.beneficiaryName}`,
    });
  }
  if (d.account) hits.push({ kind: "account", id: d.account.id, label: `account ${d.account.id}` });
  const tx = transactionParts(d);
  if (tx.length) hits.push({ kind: "transaction", id: v.hash as Hex, label: `transaction: ${tx.join(", ")}` });
  for (const a of d.bundles ?? []) {
    hits.push({
      kind: "bundle",
      id: v.cid,
      label: `evidence bundle of an attestation of ${name(a.facility)}`,
      attestationId: a.id,
    });
  }
  return hits;
}
