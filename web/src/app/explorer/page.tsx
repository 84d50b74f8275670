import type { Metadata } from "next";
import Link from "next/link";
import type { ProtocolOverview } from "@carbonproof/subgraph/client";
import { readExplorer } from "@/components/explorer/data.ts";
import { SearchForm } from "@/components/explorer/SearchForm.tsx";
import { IndexerStatus, IndexerUnavailable } from "@/components/explorer/Status.tsx";
import { AttestationsTable, RetirementsTable } from "@/components/explorer/tables.tsx";
import styles from "@/components/explorer/explorer.module.css";
import { formatCount, formatGramsAsTonnes } from "@/lib/explorer/format.ts";
import { formatTonnes } from "@/lib/units.ts";

export const metadata: Metadata = { title: "Explorer" };

const LATEST = 5;

export default async function ExplorerOverview() {
  const read = await readExplorer(async (ix) => {
    const [attestations, retirements] = await Promise.all([
      ix.attestations({}, { first: LATEST }),
      ix.retirements({}, { first: LATEST }),
    ]);
    return { attestations, retirements };
  });
  return (
    <>
      <h1>Explorer</h1>
      <p>
        Every facility, device, oracle node, attestation, credit, sale and retirement, from the chain and the evidence
        behind it. No wallet is needed.
      </p>
      <SearchForm />
      {!read.ok ? (
        <IndexerUnavailable failure={read} what="the protocol's totals" />
      ) : (
        <>
          <IndexerStatus status={read.status} />
          <Overview o={read.status.overview} />
          <h2 id="latest-attestations">Latest attestations</h2>
          {read.data.attestations.length ? (
            <AttestationsTable rows={read.data.attestations} caption="The five newest attestations." />
          ) : (
            <p>No attestation has been submitted yet.</p>
          )}
          <p>
            <Link href="/explorer/attestations">All attestations →</Link>
          </p>
          <h2>Latest retirements</h2>
          {read.data.retirements.length ? (
            <RetirementsTable rows={read.data.retirements} caption="The five newest retirements." />
          ) : (
            <p>No credit has been retired yet.</p>
          )}
          <p>
            <Link href="/explorer/retirements">All retirements →</Link>
          </p>
        </>
      )}
    </>
  );
}

function Overview({ o }: { o: ProtocolOverview }) {
  const stats: [string, string, string?][] = [
    ["Facilities", formatCount(o.facilityCount), "/explorer/facilities"],
    ["Devices", formatCount(o.deviceCount), "/explorer/devices"],
    ["Oracle nodes", formatCount(o.oracleNodeCount), "/explorer/oracles"],
    [
      "Attestations (revoked)",
      `${formatCount(o.attestationCount)} (${formatCount(o.revokedAttestationCount)})`,
      "/explorer/attestations",
    ],
    ["Attested readings", formatCount(o.readingCount)],
    ["Fossil emissions attested", `${formatGramsAsTonnes(o.fossilCo2eGrams)} t CO2e`, "/explorer/totals"],
    ["Biogenic CO2 (reported apart)", `${formatGramsAsTonnes(o.biogenicCo2Grams)} t CO2`, "/explorer/totals"],
    ["Credits issued", formatTonnes(o.issuedKg), "/explorer/issuances"],
    ["Credits retired", formatTonnes(o.retiredKg), "/explorer/retirements"],
    ["Credits outstanding", formatTonnes(o.issuedKg - o.retiredKg), "/explorer/totals"],
    ["Listings", formatCount(o.listingCount), "/explorer/listings"],
    ["Sales", `${formatCount(o.saleCount)} (${formatTonnes(o.soldKg)})`, "/explorer/sales"],
  ];
  return (
    <section aria-labelledby="totals-heading">
      <h2 id="totals-heading">Protocol totals</h2>
      <dl className={styles.stats} data-testid="overview">
        {stats.map(([label, value, href]) => (
          <div key={label}>
            <dt>{href ? <Link href={href}>{label}</Link> : label}</dt>
            <dd>{value}</dd>
          </div>
        ))}
      </dl>
    </section>
  );
}
