import type { Metadata } from "next";
import styles from "@/components/explorer/explorer.module.css";
import Link from "next/link";
import type { Hex } from "@carbonproof/subgraph/client";
import { readExplorerDetail, runtimeOnce } from "@/components/explorer/data.ts";
import { AccountLink, AttestationLink, CreditLink, FacilityLink, Time, TxLink } from "@/components/explorer/Links.tsx";
import { ReadingsTable, digestColumn } from "@/components/explorer/Readings.tsx";
import { notFound } from "next/navigation";
import { DetailList } from "@/components/explorer/DetailList.tsx";
import { IndexerStatus, IndexerUnavailable, NotIndexedYet } from "@/components/explorer/Status.tsx";
import { Table } from "@/components/explorer/Table.tsx";
import { AttestationsTable, Badge, ChallengeStateBadge } from "@/components/explorer/tables.tsx";
import { bundleUrl } from "@/lib/config.ts";
import { explorerDetails, parseDetailCursor } from "@/lib/explorer/detail.ts";
import { wellFormed } from "@/lib/explorer/notFound.ts";
import { formatCount, formatGramsAsTonnes, formatMgAsGrams, shortHash } from "@/lib/explorer/format.ts";
import { toParams } from "@/lib/explorer/lists.ts";
import { CHALLENGE_LAPSE_DAYS } from "@/lib/explorer/challenges.ts";
import { formatTonnes } from "@/lib/units.ts";

export const metadata: Metadata = { title: "Attestation" };

type Props = {
  params: Promise<{ id: string }>;
  searchParams: Promise<Record<string, string | string[] | undefined>>;
};

export default async function AttestationPage({ params, searchParams }: Props) {
  const raw = decodeURIComponent((await params).id);
  const cursor = parseDetailCursor(toParams(await searchParams));
  if (!wellFormed("attestations", raw)) notFound();
  const id = raw.toLowerCase() as Hex;
  const read = await readExplorerDetail(explorerDetails.attestation(id, cursor));
  if (!read.ok)
    return (
      <>
        <h1>Attestation</h1>
        <IndexerUnavailable failure={read} what="this attestation" />
      </>
    );
  if (read.detail.presence === "absent") notFound();
  if (read.detail.presence === "unknown")
    return (
      <>
        <h1>
          Attestation <span className="mono">{shortHash(id)}</span>
        </h1>
        <IndexerStatus status={read.status} />
        <NotIndexedYet
          what="attestation"
          term={id}
          href={`/explorer/attestations/${id}`}
          indexedBlock={read.detail.indexedBlock}
          head={read.detail.head}
        >
          <p>
            The audit trail reads the chain itself:{" "}
            <Link href={`/audit/attestation/${id}`}>audit this attestation in the browser</Link>.
          </p>
        </NotIndexedYet>
      </>
    );
  const { attestation: a, readings, corrections } = read.detail.data;
  if (!a) notFound(); // present: found() saw it
  const runtime = runtimeOnce();
  return (
    <>
      <h1>
        Attestation <span className="mono">{shortHash(a.id)}</span>{" "}
        {a.revoked ? <Badge tone="bad">Revoked</Badge> : <Badge tone="ok">Valid</Badge>}
        {a.isCorrection ? (
          <>
            {" "}
            <Badge tone="warn">Correction</Badge>
          </>
        ) : null}
      </h1>
      <IndexerStatus status={read.status} />
      <p>
        <Link className="button" href={`/audit/attestation/${a.id}`}>
          Audit this attestation in the browser
        </Link>{" "}
        <span className="muted">
          bundle hash, device signatures and status, Merkle proofs, recomputed emissions, quorum.
        </span>
      </p>
      <div className="grid-2">
        <section className="panel" aria-labelledby="facts-heading">
          <h2 id="facts-heading" className={styles.panelHeading}>
            What was attested
          </h2>
          <dl className="facts">
            <dt>Attestation id</dt>
            <dd className="mono">{a.id}</dd>
            <dt>Facility</dt>
            <dd>
              <FacilityLink facility={a.facility} />
            </dd>
            <dt>Period</dt>
            <dd>
              <Time at={a.periodStart} /> – <Time at={a.periodEnd} />
            </dd>
            <dt>Readings</dt>
            <dd>{formatCount(a.readingCount)}</dd>
            <dt>Fossil emissions</dt>
            <dd>{formatGramsAsTonnes(a.fossilCo2eGrams)} t CO2e</dd>
            <dt>Biogenic CO2 (apart)</dt>
            <dd>{formatGramsAsTonnes(a.biogenicCo2Grams)} t CO2</dd>
            <dt>Merkle root</dt>
            <dd className="mono">{a.merkleRoot}</dd>
            <dt>Evidence bundle</dt>
            <dd className="mono">
              <a href={bundleUrl(runtime, a.bundleCid)}>{a.bundleCid}</a>
            </dd>
            <dt>Methodology</dt>
            <dd className="mono">{a.methodologyId}</dd>
            <dt>Factor set</dt>
            <dd className="mono">{a.factorSetId}</dd>
          </dl>
        </section>
        <section className="panel" aria-labelledby="chain-heading">
          <h2 id="chain-heading" className={styles.panelHeading}>
            On chain
          </h2>
          <dl className="facts">
            <dt>Submitted</dt>
            <dd>
              <Time at={a.submittedAt} /> by <AccountLink address={a.submitter} />
            </dd>
            <dt>Transaction</dt>
            <dd>
              <TxLink hash={a.transactionHash} full />
            </dd>
            <dt>Challenge</dt>
            <dd>
              <ChallengeStateBadge state={a.challengeState} />
            </dd>
            <dt>Credits</dt>
            <dd>
              {a.issuance && a.issuance.amountKg === 0n ? (
                <>
                  none minted (bound {formatTonnes(a.issuance.boundKg)}): the issuance only covered the project&apos;s
                  debt (corrections and periods above the baseline), <TxLink hash={a.issuance.transactionHash} />
                </>
              ) : a.issuance ? (
                <>
                  {formatTonnes(a.issuance.amountKg)} of credit <CreditLink id={a.issuance.creditId} /> (bound{" "}
                  {formatTonnes(a.issuance.boundKg)}), <TxLink hash={a.issuance.transactionHash} />
                </>
              ) : a.shortfall && a.shortfall.excessGrams > 0n ? (
                <>
                  none: the period emitted {formatGramsAsTonnes(a.shortfall.excessGrams)} t CO2e above the baseline of
                  project {a.shortfall.projectId.toString()}, which owes it from its next credits,{" "}
                  <TxLink hash={a.shortfall.transactionHash} />
                </>
              ) : a.shortfall ? (
                // a revoked period re-attested by its corrections at or below the baseline: settled, nothing owed
                <>
                  none: settled for project {a.shortfall.projectId.toString()} by its corrections, at or below the
                  baseline (nothing owed); its later corrections are charged to the project,{" "}
                  <TxLink hash={a.shortfall.transactionHash} />
                </>
              ) : (
                "not issued"
              )}
            </dd>
            {a.correctionOf ? (
              <>
                <dt>Corrects</dt>
                <dd>
                  <AttestationLink id={a.correctionOf} />
                </dd>
              </>
            ) : null}
            {corrections.page?.rows.length || corrections.paged || corrections.refused !== null ? (
              <>
                <dt>Corrected by</dt>
                <dd>
                  <a href="#corrections">its correction batches, below</a>
                </dd>
              </>
            ) : null}
          </dl>
        </section>
      </div>

      {a.revocation ? (
        <section className="status status--bad" aria-labelledby="revocation-heading">
          <h2 id="revocation-heading">Revoked</h2>
          <p>
            <Time at={a.revocation.timestamp} /> by <AccountLink address={a.revocation.verifier} />
            {a.revocation.byChallenge ? " (challenge upheld)" : null}: {a.revocation.reason}
          </p>
        </section>
      ) : null}
      {a.challenge ? (
        <section className="panel" aria-labelledby="challenge-heading">
          <h2 id="challenge-heading" className={styles.panelHeading}>
            Challenge
          </h2>
          <dl className="facts">
            <dt>Challenger</dt>
            <dd>
              <AccountLink address={a.challenge.challenger} />
            </dd>
            <dt>State</dt>
            <dd>
              <ChallengeStateBadge state={a.challenge.state} />
            </dd>
            <dt>Reason</dt>
            <dd>{a.challenge.reason}</dd>
            <dt>Evidence</dt>
            <dd className="mono">{a.challenge.evidenceCid || "—"}</dd>
            <dt>Resolution</dt>
            <dd>
              {a.challenge.state === "Pending" && a.shortfall ? (
                <>
                  none, and none can come: the period was settled on its attested figures for project{" "}
                  {a.shortfall.projectId.toString()} (<TxLink hash={a.shortfall.transactionHash} />) after the challenge
                  had been pending {CHALLENGE_LAPSE_DAYS} days past its challenge window (docs/credits.md)
                </>
              ) : (
                (a.challenge.note ?? "—")
              )}
            </dd>
          </dl>
        </section>
      ) : null}

      {corrections.page?.rows.length || corrections.paged || corrections.refused !== null ? (
        <>
          <h2 id="corrections">Corrections</h2>
          <DetailList
            read={corrections}
            path={`/explorer/attestations/${a.id}`}
            anchor="corrections"
            list="corrections"
            label="corrections"
            none="No correction batch corrects this attestation."
            render={(rows) => (
              <AttestationsTable
                rows={rows}
                withFacility={false}
                caption="Correction batches of this attestation's period (late readings), by period, then as submitted."
              />
            )}
          />
        </>
      ) : null}

      <h2>Quorum signers</h2>
      {a.signers.length ? (
        <Table
          testId="signers-table"
          caption="Oracle nodes that co-signed this attestation's header (EIP-712)."
          columns={[
            { label: "Signer index", num: true, cell: (s) => s.index },
            { label: "Oracle node", cell: (s) => <AccountLink address={s.address} full /> },
          ]}
          rows={a.signers}
          rowKey={(s) => s.address}
        />
      ) : (
        <p>No signer is recorded.</p>
      )}

      <h2 id="readings">Readings</h2>
      <ReadingsTable
        readings={readings}
        path={`/explorer/attestations/${a.id}`}
        caption="Signed readings in the evidence bundle, by Merkle leaf; the digest opens the reading's audit trail. Emissions in grams."
        columns={[
          { label: "Leaf", num: true, cell: (r) => r.leafIndex },
          digestColumn,
          { label: "Device", cell: (r) => <Link href={`/explorer/devices/${r.deviceId}`}>{r.deviceId}</Link> },
          { label: "Seq", num: true, cell: (r) => r.seq },
          { label: "Time", cell: (r) => <Time at={r.ts} /> },
          { label: "Source", cell: (r) => r.source },
          { label: "Fossil, g CO2e", num: true, cell: (r) => formatMgAsGrams(r.fossilCo2eMg) },
          { label: "Biogenic, g CO2", num: true, cell: (r) => formatMgAsGrams(r.biogenicCo2Mg) },
        ]}
        notRead={
          <>
            This indexer backend does not read evidence bundles; the readings are in the{" "}
            <a href={bundleUrl(runtime, a.bundleCid)}>bundle</a>.
          </>
        }
        none="The evidence bundle of this attestation is not indexed."
      />
    </>
  );
}
