/** Links between explorer pages: every id on a page leads to that thing's own page. */
import Link from "next/link";
import type { FacilityRef, Hex } from "@carbonproof/subgraph/client";
import { facilityKey } from "@/lib/explorer/lists.ts";
import { formatDateTime, shortHash } from "@/lib/explorer/format.ts";
import { shortAddress } from "@/lib/units.ts";
import { facilityDirectory } from "./data.ts";

const ZERO_ADDRESS = `0x${"0".repeat(40)}`;

export function FacilityLink({ facility }: { facility: FacilityRef }) {
  const key = facilityKey(facility);
  const name = facility.code ? facilityDirectory()[facility.code]?.name : undefined;
  return (
    <Link href={`/explorer/facilities/${key}`} title={facility.id}>
      {name ?? (facility.code || shortHash(facility.id))}
    </Link>
  );
}

export function DeviceLink({ id, code }: { id: Hex; code: string | null }) {
  return (
    <Link href={`/explorer/devices/${code ?? id}`} className={code ? undefined : "mono"} title={id}>
      {code ?? shortHash(id)}
    </Link>
  );
}

export function AccountLink({ address, full }: { address: Hex; full?: boolean }) {
  if (address.toLowerCase() === ZERO_ADDRESS) return <span className="muted">none (mint/burn)</span>;
  return (
    <Link href={`/explorer/accounts/${address}`} className="mono" title={address}>
      {full ? address : shortAddress(address)}
    </Link>
  );
}

export function TxLink({ hash, full }: { hash: Hex; full?: boolean }) {
  return (
    <Link href={`/explorer/tx/${hash}`} className="mono" title={hash}>
      {full ? hash : shortHash(hash)}
    </Link>
  );
}

export function AttestationLink({ id, full }: { id: Hex; full?: boolean }) {
  return (
    <Link href={`/explorer/attestations/${id}`} className="mono" title={id}>
      {full ? id : shortHash(id)}
    </Link>
  );
}

export function CreditLink({ id }: { id: bigint }) {
  return <Link href={`/credit/${id.toString()}`}>{id.toString()}</Link>;
}

export function CertificateLink({ id }: { id: bigint }) {
  return (
    <Link href={`/certificate/${id.toString()}`} className="mono" title={`Certificate ${id.toString()}`}>
      {id.toString().length > 14 ? `${id.toString().slice(0, 6)}…${id.toString().slice(-6)}` : id.toString()}
    </Link>
  );
}

export function ListingLink({ id }: { id: bigint }) {
  return <Link href={`/listing/${id.toString()}`}>{id.toString()}</Link>;
}

export function Time({ at }: { at: bigint | number | null }) {
  if (at === null || at === 0n || at === 0) return <span className="muted">—</span>;
  const iso = new Date(Number(at) * 1000).toISOString();
  return <time dateTime={iso}>{formatDateTime(at)}</time>;
}
