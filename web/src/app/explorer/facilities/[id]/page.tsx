import type { Metadata } from "next";
import Link from "next/link";
import { facilityDirectory, readExplorerDetail } from "@/components/explorer/data.ts";
import { AccountLink, Time } from "@/components/explorer/Links.tsx";
import { DetailList } from "@/components/explorer/DetailList.tsx";
import { notFound } from "next/navigation";
import { IndexerStatus, IndexerUnavailable, NotIndexedYet } from "@/components/explorer/Status.tsx";
import { Table } from "@/components/explorer/Table.tsx";
import { AttestationsTable, Badge, DevicesTable } from "@/components/explorer/tables.tsx";
import styles from "@/components/explorer/explorer.module.css";
import { formatCount, formatGramsAsTonnes } from "@/lib/explorer/format.ts";
import { explorerDetails, parseDetailCursor } from "@/lib/explorer/detail.ts";
import { wellFormed } from "@/lib/explorer/notFound.ts";
import { facilityKey, toParams } from "@/lib/explorer/lists.ts";
import { formatTonnes, formatTonnesNumber } from "@/lib/units.ts";
import { decodeParam } from "@/lib/params.ts";

export const metadata: Metadata = { title: "Facility" };

type Props = {
  params: Promise<{ id: string }>;
  searchParams: Promise<Record<string, string | string[] | undefined>>;
};

export default async function FacilityPage({ params, searchParams }: Props) {
  const id = decodeParam((await params).id);
  const cursor = parseDetailCursor(toParams(await searchParams));
  if (!wellFormed("facilities", id)) notFound();
  const read = await readExplorerDetail(explorerDetails.facility(id, cursor));
  if (!read.ok)
    return (
      <>
        <h1>Facility {id}</h1>
        <IndexerUnavailable failure={read} what="this facility" />
      </>
    );
  if (read.detail.presence === "absent") notFound();
  if (read.detail.presence === "unknown")
    return (
      <>
        <h1>Facility {id}</h1>
        <IndexerStatus status={read.status} />
        <NotIndexedYet
          what="facility"
          term={id}
          href={`/explorer/facilities/${encodeURIComponent(id)}`}
          indexedBlock={read.detail.indexedBlock}
          head={read.detail.head}
        />
      </>
    );
  const { facility: f, attestations, devices, projects } = read.detail.data;
  if (!f) notFound(); // present: found() saw it
  const key = facilityKey(f);
  const dir = f.code ? facilityDirectory()[f.code] : undefined;
  const path = `/explorer/facilities/${key}`;
  return (
    <>
      <h1>
        {dir?.name ?? f.code ?? "Facility"} {dir?.name && f.code ? <span className="muted">({f.code})</span> : null}
      </h1>
      <IndexerStatus status={read.status} />
      <div className="grid-2">
        <section className="panel" aria-labelledby="facts-heading">
          <h2 id="facts-heading" className={styles.panelHeading}>
            Facility
          </h2>
          <dl className="facts">
            <dt>Facility id</dt>
            <dd className="mono">{f.code ?? "—"}</dd>
            <dt>Key (bytes32)</dt>
            <dd className="mono">{f.id}</dd>
            {dir?.country ? (
              <>
                <dt>Country</dt>
                <dd>{dir.country}</dd>
              </>
            ) : null}
            <dt>Devices</dt>
            <dd>
              {f.deviceCount} ({f.activeDeviceCount} active)
            </dd>
            <dt>Attestations</dt>
            <dd>
              {formatCount(f.attestationCount)} ({formatCount(f.revokedAttestationCount)} revoked)
            </dd>
            <dt>Attested readings</dt>
            <dd>{formatCount(f.readingCount)}</dd>
            <dt>Attested until</dt>
            <dd>
              <Time at={f.attestedUntil} />
            </dd>
          </dl>
        </section>
        <section className="panel" aria-labelledby="totals-heading">
          <h2 id="totals-heading" className={styles.panelHeading}>
            Totals
          </h2>
          <dl className="facts">
            <dt>Fossil emissions</dt>
            <dd>{formatGramsAsTonnes(f.fossilCo2eGrams)} t CO2e</dd>
            <dt>Biogenic CO2 (apart)</dt>
            <dd>{formatGramsAsTonnes(f.biogenicCo2Grams)} t CO2</dd>
            <dt>Credits issued</dt>
            <dd>{formatTonnes(f.creditsIssuedKg)}</dd>
            <dt>Credits retired</dt>
            <dd>{formatTonnes(f.creditsRetiredKg)}</dd>
            <dt>Outstanding</dt>
            <dd>{formatTonnes(f.creditsIssuedKg - f.creditsRetiredKg)}</dd>
          </dl>
          <p className={styles.pager}>
            <Link href={`/explorer/totals?facility=${key}`}>Totals by month</Link>
            <Link href={`/dashboard/${key}`}>Dashboard</Link>
            <Link href={`/reports/${key}`}>Emissions report</Link>
          </p>
        </section>
      </div>
      <p className={styles.pager}>
        <Link href={`/explorer/issuances?facility=${key}`}>Issuances</Link>
        <Link href={`/explorer/retirements?facility=${key}`}>Retirements</Link>
        <Link href={`/explorer/devices?facility=${key}`}>Devices</Link>
      </p>

      <h2 id="projects">Projects</h2>
      <DetailList
        read={projects}
        path={path}
        anchor="projects"
        list="projects"
        label="projects"
        none="No credit project is registered for this facility."
        render={(rows) => (
          <Table
            testId="projects-table"
            caption="Credit projects of this facility, t CO2e. Owed: corrections and periods above the baseline that the project's next credits cover first."
            columns={[
              { label: "Project", cell: (p) => `${p.id.toString()} · ${p.name}` },
              { label: "Standard", cell: (p) => p.standard },
              { label: "Proponent", cell: (p) => <AccountLink address={p.proponent} /> },
              {
                label: "State",
                cell: (p) => (p.active ? <Badge tone="ok">Active</Badge> : <Badge tone="bad">Inactive</Badge>),
              },
              { label: "Issued, t CO2e", num: true, cell: (p) => formatTonnesNumber(p.issuedKg) },
              { label: "Retired, t CO2e", num: true, cell: (p) => formatTonnesNumber(p.retiredKg) },
              // CarbonCredits' correctionDebtGrams: corrections and periods above the baseline, not yet covered
              { label: "Owed, t CO2e", num: true, cell: (p) => formatGramsAsTonnes(p.owedGrams) },
              {
                label: "Periods above the baseline",
                cell: (p) => <Link href={`/audit/project/${p.id.toString()}`}>Check project {p.id.toString()}</Link>,
              },
            ]}
            rows={rows}
            rowKey={(p) => p.id.toString()}
          />
        )}
      />

      <h2 id="devices">Devices</h2>
      <DetailList
        read={devices}
        path={path}
        anchor="devices"
        list="devices"
        label="devices"
        none="No device is registered to this facility."
        render={(rows) => (
          <DevicesTable rows={rows} withFacility={false} caption="Devices registered to this facility, oldest first." />
        )}
      />

      <h2 id="attestations">Attestations</h2>
      <DetailList
        read={attestations}
        path={path}
        anchor="attestations"
        label="attestations"
        none="No attestation has been submitted for this facility."
        render={(rows) => (
          <AttestationsTable
            rows={rows}
            withFacility={false}
            caption="This facility's attestations, newest period first."
          />
        )}
      />
    </>
  );
}
