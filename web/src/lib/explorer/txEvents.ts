/**
 * What a transaction did, for its explorer page: each CarbonProof event in its receipt, decoded
 * with the contracts' ABIs (on the server), becomes a row whose arguments link to the pages of what
 * they name (an attestation id to its attestation, a certificate id to its certificate, …).
 */

export type DecodedEvent = {
  contract: string;
  eventName: string;
  logIndex: number;
  args: Record<string, unknown>;
};

export type EventArg = { name: string; text: string; href?: string };

const ZERO_ADDRESS = /^0x0{40}$/i;
const ADDRESS = /^0x[0-9a-fA-F]{40}$/;
const BYTES32 = /^0x[0-9a-fA-F]{64}$/;

/** The page an event argument names, if any. */
export function argHref(contract: string, eventName: string, name: string, value: unknown): string | undefined {
  if (typeof value === "string" && ADDRESS.test(value))
    return ZERO_ADDRESS.test(value) ? undefined : `/explorer/accounts/${value}`;
  if (typeof value === "string" && BYTES32.test(value)) {
    if (name === "facilityId") return `/explorer/facilities/${value}`;
    if (contract === "DeviceRegistry" && name === "id") return `/explorer/devices/${value}`;
    if (["id", "attestationId", "correctionId", "originalId"].includes(name)) return `/explorer/attestations/${value}`;
    return undefined;
  }
  if (typeof value === "bigint") {
    if (name === "certificateId") return value === 0n ? undefined : `/certificate/${value}`;
    if (contract === "RetirementCertificates" && name === "tokenId") return `/certificate/${value}`;
    if (name === "listingId") return `/listing/${value}`;
    if (name === "creditId" || name === "tokenId") return `/credit/${value}`;
    if (contract === "CarbonCredits" && eventName === "TransferSingle" && name === "id") return `/credit/${value}`;
  }
  return undefined;
}

function text(value: unknown): string {
  if (typeof value === "bigint") return value.toString();
  if (typeof value === "string") return value;
  if (typeof value === "boolean" || typeof value === "number") return String(value);
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v));
}

/** An event's arguments in ABI order, each with its text and its page. */
export function eventArgs(e: DecodedEvent): EventArg[] {
  return Object.entries(e.args).map(([name, value]) => ({
    name,
    text: text(value),
    href: argHref(e.contract, e.eventName, name, value),
  }));
}
