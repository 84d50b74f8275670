import type { Metadata } from "next";
import styles from "@/components/explorer/explorer.module.css";
import { readExplorerDetail } from "@/components/explorer/data.ts";
import { AttestationLink, FacilityLink, Time, TxLink } from "@/components/explorer/Links.tsx";
import { ReadingsTable, digestColumn } from "@/components/explorer/Readings.tsx";
import { notFound } from "next/navigation";
import { DetailList } from "@/components/explorer/DetailList.tsx";
import { IndexerStatus, IndexerUnavailable, NotIndexedYet } from "@/components/explorer/Status.tsx";
import { Table } from "@/components/explorer/Table.tsx";
import { Badge } from "@/components/explorer/tables.tsx";
import { explorerDetails, parseDetailCursor } from "@/lib/explorer/detail.ts";
import { formatDateTime, shortHash } from "@/lib/explorer/format.ts";
import { toParams } from "@/lib/explorer/lists.ts";
import { decodeParam } from "@/lib/params.ts";
import { wellFormed } from "@/lib/explorer/notFound.ts";

export const metadata: Metadata = { title: "Device" };

type Props = {
  params: Promise<{ id: string }>;
  searchParams: Promise<Record<string, string | string[] | undefined>>;
};

export default async function DevicePage({ params, searchParams }: Props) {
  const id = decodeParam((await params).id);
  if (!wellFormed("devices", id)) notFound();
  const cursor = parseDetailCursor(toParams(await searchParams));
  const read = await readExplorerDetail(explorerDetails.device(id, cursor));
  if (!read.ok)
    return (
      <>
        <h1>Device {id}</h1>
        <IndexerUnavailable failure={read} what="this device" />
      </>
    );
  if (read.detail.presence === "absent") notFound();
  if (read.detail.presence === "unknown")
    return (
      <>
        <h1>Device {id}</h1>
        <IndexerStatus status={read.status} />
        <NotIndexedYet
          what="device"
          term={id}
          href={`/explorer/devices/${encodeURIComponent(id)}`}
          indexedBlock={read.detail.indexedBlock}
          head={read.detail.head}
        />
      </>
    );
  const { device: d, keys, history, readings } = read.detail.data;
  if (!d || !readings) notFound(); // present: found() saw it, and its readings were read
  const path = `/explorer/devices/${d.code ?? d.id}`;
  return (
    <>
      <h1>
        Device {d.code ?? shortHash(d.id)}{" "}
        <Badge tone={d.status === "Active" ? "ok" : d.status === "Suspended" ? "warn" : "bad"}>{d.status}</Badge>
      </h1>
      <IndexerStatus status={read.status} />
      <section className="panel" aria-labelledby="facts-heading">
        <h2 id="facts-heading" className={styles.panelHeading}>
          Device
        </h2>
        <dl className="facts">
          <dt>Device id</dt>
          <dd className="mono">{d.code ?? "—"}</dd>
          <dt>Key (bytes32)</dt>
          <dd className="mono">{d.id}</dd>
          <dt>Facility</dt>
          <dd>
            <FacilityLink facility={d.facility} />
          </dd>
          <dt>Kind</dt>
          <dd>{d.kind}</dd>
          <dt>Status</dt>
          <dd>
            {d.status}
            {d.statusReason ? ` — ${d.statusReason}` : null}
          </dd>
          <dt>Registered</dt>
          <dd>
            <Time at={d.registeredAt} />
          </dd>
          <dt>Metadata</dt>
          <dd className="mono">{d.metadataURI || "—"}</dd>
        </dl>
      </section>

      <h2 id="keys">Signing keys</h2>
      <DetailList
        read={keys}
        path={path}
        anchor="keys"
        list="keys"
        label="keys"
        none="No key is registered."
        render={(rows) => (
          <Table
            testId="keys-table"
            caption="P-256 public keys the device signs readings with; a reading verifies against the key valid at its time."
            columns={[
              { label: "Key", num: true, cell: (k) => k.index },
              { label: "Public key x", cell: (k) => <span className="mono">{k.x}</span> },
              { label: "Public key y", cell: (k) => <span className="mono">{k.y}</span> },
              { label: "Valid from", cell: (k) => (k.validFrom ? <Time at={k.validFrom} /> : "registration") },
              { label: "Valid until", cell: (k) => (k.validUntil === null ? "now" : formatDateTime(k.validUntil)) },
            ]}
            rows={rows}
            rowKey={(k) => String(k.index)}
          />
        )}
      />

      <h2 id="history">History</h2>
      <DetailList
        read={history}
        path={path}
        anchor="history"
        list="history"
        label="events"
        none="No history is indexed."
        render={(rows) => (
          <Table
            testId="history-table"
            caption="Registration, key rotations and status changes."
            columns={[
              { label: "Event", cell: (h) => h.kind },
              { label: "Reason", cell: (h) => h.reason ?? <span className="muted">—</span> },
              { label: "Time", cell: (h) => <Time at={h.timestamp} /> },
              { label: "Transaction", cell: (h) => <TxLink hash={h.transactionHash} /> },
            ]}
            rows={rows}
            rowKey={(h) => `${h.transactionHash}-${h.kind}-${h.timestamp}`}
          />
        )}
      />

      <h2 id="readings">Attested readings</h2>
      <ReadingsTable
        readings={readings}
        path={path}
        caption="Signed readings of this device found in indexed evidence bundles; the digest opens its audit trail."
        columns={[
          { label: "Seq", num: true, cell: (r) => r.seq },
          digestColumn,
          { label: "Time", cell: (r) => <Time at={r.ts} /> },
          { label: "Kind", cell: (r) => r.kind },
          { label: "Attestation", cell: (r) => <AttestationLink id={r.attestationId} /> },
        ]}
        notRead={
          <>
            This indexer backend does not read evidence bundles, so it cannot list readings; each attestation&apos;s
            bundle holds them.
          </>
        }
        none="No attested reading of this device is indexed."
      />
    </>
  );
}
