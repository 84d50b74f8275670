import Link from "next/link";
import { sourceInfo } from "@/lib/reports/aggregate.ts";
import { count, gramsAsKg, gramsAsTonnes, mgAsKg, short, utc } from "@/lib/reports/format.ts";
import type { CbamReport, EvidenceRef } from "@/lib/reports/report.ts";
import { formatTonnesNumber } from "@/lib/units.ts";
import styles from "./report.module.css";
import { NumTh } from "@/components/NumTh.tsx";

function bundleHref(cid: string, gateway: string | undefined): string {
  return gateway ? `${gateway.replace(/\/+$/, "")}/ipfs/${cid}` : `/bundles/${cid}`;
}

function EvidenceTable({
  rows,
  caption,
  gateway,
  testId,
}: {
  rows: EvidenceRef[];
  caption: string;
  gateway?: string;
  testId: string;
}) {
  return (
    <div className="table-wrap">
      <table className={`${styles.evidence} cards-mobile`} data-testid={testId}>
        <caption>{caption}</caption>
        <thead>
          <tr>
            <th scope="col">Attestation and period (UTC)</th>
            <NumTh>Readings</NumTh>
            <NumTh>Fossil CO2e (g)</NumTh>
            <NumTh>Biogenic CO2 (g)</NumTh>
            <th scope="col">References</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((e) => (
            <tr
              key={e.attestationId}
              data-attestation={e.attestationId}
              data-fossil-grams={e.fossilCo2eGrams.toString()}
            >
              <td data-label="Attestation">
                <Link href={e.auditPath} className={styles.hash} title="Audit trail of this attestation">
                  {e.attestationId}
                </Link>
                <br />
                {utc(e.periodStartUnixS)} – {utc(e.periodEndUnixS)}
                <br />
                {e.revocationReason !== null ? (
                  <span className="badge badge--bad">revoked: {e.revocationReason}</span>
                ) : (
                  <>
                    {e.isCorrection ? <span className="badge badge--warn">correction</span> : null}{" "}
                    {e.challengeState !== "None" ? (
                      <span className="badge badge--warn">challenge {e.challengeState}</span>
                    ) : null}{" "}
                    {e.readingsReconciled === true ? (
                      <span className="badge badge--ok">readings reconciled</span>
                    ) : e.readingsReconciled === false ? (
                      <span className="badge badge--bad">readings differ</span>
                    ) : null}{" "}
                    {e.creditsIssuedKg !== null ? (
                      <span>{formatTonnesNumber(e.creditsIssuedKg)} t credited</span>
                    ) : null}
                  </>
                )}
              </td>
              <td data-label="Readings" className="num">
                {count(e.readingCount)}
              </td>
              <td data-label="Fossil CO2e (g)" className="num">
                {count(e.fossilCo2eGrams)}
              </td>
              <td data-label="Biogenic CO2 (g)" className="num">
                {count(e.biogenicCo2Grams)}
              </td>
              <td data-label="References">
                <dl className={styles.refs}>
                  <dt>Merkle root</dt>
                  <dd className={styles.hash}>{e.merkleRoot}</dd>
                  <dt>Bundle CID</dt>
                  <dd>
                    <a href={bundleHref(e.bundleCid, gateway)} className={styles.hash}>
                      {e.bundleCid}
                    </a>
                  </dd>
                  <dt>Transaction</dt>
                  <dd>
                    <Link href={`/explorer/tx/${e.transactionHash}`} className={styles.hash}>
                      {e.transactionHash}
                    </Link>
                  </dd>
                  <dt>Factor set</dt>
                  <dd className={styles.hash}>{e.factorSetId}</dd>
                </dl>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** The printable CBAM-shaped report (A4); the JSON route serves the same object. */
export function CbamReportView({ report: r, gateway }: { report: CbamReport; gateway?: string }) {
  const e = r.emissions;
  return (
    <article className={styles.report} data-testid="cbam-report" data-schema={r.schema}>
      <section className={styles.section} aria-labelledby="r-installation">
        <h2 id="r-installation">1. Installation</h2>
        <dl className="facts">
          <dt>Name</dt>
          <dd>{r.installation.name ?? "not in the facility directory"}</dd>
          <dt>Facility id</dt>
          <dd className="mono">{r.installation.facilityId}</dd>
          <dt>On-chain id (bytes32)</dt>
          <dd className={styles.hash}>{r.installation.facilityIdBytes32}</dd>
          <dt>Country</dt>
          <dd>{r.installation.country ?? "not in the facility directory"}</dd>
          <dt>Projects</dt>
          <dd>
            {r.installation.projects.length
              ? r.installation.projects
                  .map((p) => `${p.name} (${p.standard}${p.active ? "" : ", inactive"})`)
                  .join("; ")
              : "none"}
          </dd>
          <dt>Monitoring devices</dt>
          <dd>
            {r.installation.devices.map((d) => `${d.deviceId} (${d.kind}, ${d.status})`).join("; ") ||
              "none registered"}
          </dd>
          <dt>Chain</dt>
          <dd>
            {r.chain.chainName} ({r.chain.chainId}), AttestationRegistry{" "}
            <span className={styles.hash}>{r.chain.attestationRegistry ?? "unknown"}</span>
          </dd>
        </dl>
      </section>

      <section className={styles.section} aria-labelledby="r-period">
        <h2 id="r-period">2. Reporting period</h2>
        <p>
          <strong>
            {r.reportingPeriod.from} to {r.reportingPeriod.to}
          </strong>{" "}
          (UTC, both days included). {r.reportingPeriod.rule}
        </p>
      </section>

      <section className={styles.section} aria-labelledby="r-processes">
        <h2 id="r-processes">3. Production processes and monitoring</h2>
        <div className="table-wrap">
          <table className="cards-mobile">
            <caption>Processes by monitored source, with the monitoring approach of each</caption>
            <thead>
              <tr>
                <th scope="col">Process</th>
                <th scope="col">Monitoring approach</th>
                <th scope="col">Emissions</th>
                <th scope="col">Devices</th>
              </tr>
            </thead>
            <tbody>
              {r.processes.map((p) => (
                <tr key={p.process}>
                  <td data-label="Process">{p.process}</td>
                  <td data-label="Approach">{p.monitoringApproach}</td>
                  <td data-label="Emissions">{p.scope}</td>
                  <td data-label="Devices" className="mono">
                    {p.deviceIds.join(", ")}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        <p>
          <strong>Production route and output:</strong> {r.production.reason} The specific embedded emissions field is
          therefore left empty.
        </p>
      </section>

      <section className={styles.section} aria-labelledby="r-emissions">
        <h2 id="r-emissions">4. Emissions</h2>
        <div className="table-wrap">
          <table className="cards-mobile">
            <caption>Emissions of the installation in the period</caption>
            <thead>
              <tr>
                <th scope="col">Item</th>
                <NumTh>kg CO2e</NumTh>
                <th scope="col">Basis</th>
              </tr>
            </thead>
            <tbody>
              <tr>
                <th scope="row">Direct emissions (scope 1), fossil</th>
                <td data-label="kg CO2e" className="num">
                  {e.directFossilCo2eMg === null ? "—" : mgAsKg(e.directFossilCo2eMg)}
                </td>
                <td data-label="Basis">Flue gas and fuel readings of the bundles (mg, rounded down to the gram)</td>
              </tr>
              <tr>
                <th scope="row">Indirect emissions: electricity from the grid (scope 2, location-based)</th>
                <td data-label="kg CO2e" className="num">
                  {e.indirectFossilCo2eMg === null ? "—" : mgAsKg(e.indirectFossilCo2eMg)}
                </td>
                <td data-label="Basis">Metered kWh × grid emission factor (below)</td>
              </tr>
              {e.bySource
                ?.filter((s) => s.scope === "manual")
                .map((s) => (
                  <tr key={s.source}>
                    <th scope="row">{s.label}</th>
                    <td data-label="kg CO2e" className="num">
                      {mgAsKg(s.fossilCo2eMg)}
                    </td>
                    <td data-label="Basis">{s.approach}</td>
                  </tr>
                ))}
              <tr className={styles.total}>
                <th scope="row">Total attested fossil emissions (on-chain)</th>
                <td
                  className="num"
                  data-testid="report-total-fossil"
                  data-grams={e.attested.fossilCo2eGrams.toString()}
                >
                  {gramsAsKg(e.attested.fossilCo2eGrams)}
                </td>
                <td data-label="Basis">
                  Σ of the {e.attested.attestationCount} attestations below ({gramsAsTonnes(e.attested.fossilCo2eGrams)}{" "}
                  t; {count(e.attested.readingCount)} signed readings)
                </td>
              </tr>
              <tr>
                <th scope="row">Biogenic CO2, reported separately (not in the total)</th>
                <td
                  data-label="kg CO2e"
                  className="num"
                  data-testid="report-total-biogenic"
                  data-grams={e.biogenicCo2Grams.toString()}
                >
                  {gramsAsKg(e.biogenicCo2Grams)}
                </td>
                <td data-label="Basis">CO2 from biomass burnt (firewood); its CH4 and N2O are in the fossil total</td>
              </tr>
            </tbody>
          </table>
        </div>
        {e.bySource === null ? (
          <p className="muted">
            Direct and indirect emissions are split from the readings in the evidence bundles; this needs the embedded
            indexer (bundles). The on-chain total above does not depend on it.
          </p>
        ) : (
          <p className="muted">
            The split comes from the signed readings (milligrams); the total is the chain&apos;s, where each attestation
            floors its milligrams to grams once, so the parts may sum to a few grams more than the total.
          </p>
        )}
        {e.bySource && e.bySource.length ? (
          <div className="table-wrap">
            <table className="cards-mobile">
              <caption>Emissions by source (from the bundles&apos; readings)</caption>
              <thead>
                <tr>
                  <th scope="col">Source</th>
                  <th scope="col">Monitoring approach</th>
                  <NumTh>Readings</NumTh>
                  <NumTh>Fossil CO2e (kg)</NumTh>
                  <NumTh>Biogenic CO2 (kg)</NumTh>
                </tr>
              </thead>
              <tbody>
                {e.bySource.map((s) => (
                  <tr key={s.source}>
                    <td data-label="Source">{sourceInfo(s.source).label}</td>
                    <td data-label="Approach">{s.approach}</td>
                    <td data-label="Readings" className="num">
                      {count(s.readingCount)}
                    </td>
                    <td data-label="Fossil CO2e (kg)" className="num">
                      {mgAsKg(s.fossilCo2eMg)}
                    </td>
                    <td data-label="Biogenic CO2 (kg)" className="num">
                      {mgAsKg(s.biogenicCo2Mg)}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        ) : null}
        <h3>Electricity emission factor</h3>
        {e.electricityEmissionFactors.length === 0 ? (
          <p>No electricity is monitored at this installation.</p>
        ) : (
          <ul>
            {e.electricityEmissionFactors.map((f) => (
              <li key={f.factorSetId}>
                {f.mgCo2ePerKwh !== null ? (
                  <>
                    <strong>
                      {(f.mgCo2ePerKwh / 1000).toLocaleString("en", { maximumFractionDigits: 3 })} g CO2e/kWh
                    </strong>{" "}
                    for {f.country} ({f.method})
                  </>
                ) : (
                  <>Grid factor for {f.country ?? "the facility's country"}</>
                )}
                . Source: {f.source}. Factor set <span className={styles.hash}>{f.factorSetId}</span>.
              </li>
            ))}
          </ul>
        )}
      </section>

      <section className={styles.section} aria-labelledby="r-method">
        <h2 id="r-method">5. Methodology</h2>
        <p>
          Per reading, with the sdk methodology (docs/methodology.md): flue gas measurement-based (ideal-gas density at
          stack conditions), fuels calculation-based with IPCC 2006 Tier 1 defaults, electricity location-based; integer
          milligrams per reading, floored to grams once per attestation.
        </p>
        <dl className="facts">
          <dt>Methodology id</dt>
          <dd className={styles.hash}>{r.methodology.methodologyIds.join(", ") || "—"}</dd>
          {r.methodology.factorSets.map((f) => (
            <div key={f.factorSetId} style={{ display: "contents" }}>
              <dt>Factor set</dt>
              <dd>
                <span className={styles.hash}>{f.factorSetId}</span>: {f.description}
              </dd>
            </div>
          ))}
        </dl>
      </section>

      <section className={styles.section} aria-labelledby="r-quality">
        <h2 id="r-quality">6. Data quality</h2>
        <ul>
          {r.dataQuality.statements.map((s) => (
            <li key={s}>{s}</li>
          ))}
          {r.dataQuality.attestationsNotReconciled.map((n) => (
            <li key={n.attestationId} className="error">
              Attestation <span className={styles.hash}>{n.attestationId}</span>: {n.problems.join("; ")}
            </li>
          ))}
          {r.dataQuality.challenged.length ? (
            <li>Challenged attestations: {r.dataQuality.challenged.map(short).join(", ")}</li>
          ) : null}
          {r.dataQuality.corrections ? (
            <li>{r.dataQuality.corrections} correction attestation(s) of late readings are included.</li>
          ) : null}
        </ul>
      </section>

      <section className={styles.section} aria-labelledby="r-evidence">
        <h2 id="r-evidence">7. Evidence</h2>
        <p>
          Each attestation links to its audit trail, where the browser checks the bundle against its CID, every device
          signature, every Merkle proof against the on-chain root and the recomputed totals.{" "}
          {r.credits.attestationsIssued
            ? `${formatTonnesNumber(r.credits.issuedKg)} t CO2e of credits were issued against ${r.credits.attestationsIssued} of them.`
            : "No credits were issued against them."}
        </p>
        {r.evidence.length ? (
          <EvidenceTable
            rows={r.evidence}
            caption="Attestations counted in the period"
            gateway={gateway}
            testId="report-evidence"
          />
        ) : (
          <p>No attestation of this facility starts in the period.</p>
        )}
        {r.revoked.length ? (
          <EvidenceTable
            rows={r.revoked}
            caption="Revoked attestations of the period: listed apart, not counted"
            gateway={gateway}
            testId="report-revoked"
          />
        ) : null}
      </section>

      <footer className={styles.basis}>
        <p>
          Basis: {r.basis.title} (CELEX {r.basis.celex}, <a href={r.basis.url}>{r.basis.url}</a>), {r.basis.sections}.{" "}
          {r.basis.note}
        </p>
        <p>
          Generated {r.generatedAt} from the chain through the explorer&apos;s indexer. Schema {r.schema}.
        </p>
      </footer>
    </article>
  );
}
