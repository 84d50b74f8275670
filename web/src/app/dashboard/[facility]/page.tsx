import type { Metadata } from "next";
import Link from "next/link";
import { notFound } from "next/navigation";
import type { SourceTotals } from "@carbonproof/subgraph/client";
import { DeviceHealth } from "@/components/dashboard/DeviceHealth.tsx";
import { EmissionsChart } from "@/components/dashboard/EmissionsChart.tsx";
import { PeriodForm } from "@/components/dashboard/PeriodForm.tsx";
import { SourceChart } from "@/components/dashboard/SourceChart.tsx";
import styles from "@/components/dashboard/dashboard.module.css";
import {
  attestationsInRange,
  dailyEmissions,
  deviceActivity,
  scopeTotals,
  sourceBreakdown,
  sumAttestations,
} from "@/lib/reports/aggregate.ts";
import { count, gramsAsKg, gramsToKgNumber, mgAsKg, mgToKgNumber } from "@/lib/reports/format.ts";
import { facilityDirectory, indexer, oracleDeviceHealth, type OracleHealthRead } from "@/lib/reports/load.ts";
import { facilityDevicesUpTo, lookUpFacilityFacts } from "@/lib/reports/facility.ts";
import { NotIndexedYet } from "@/components/explorer/Status.tsx";
import { indexedPresence } from "@/server/indexedPresence.ts";
import { dayOf, parseRange, rangeQuery, rangeSeconds } from "@/lib/reports/period.ts";
import { facilityReadingsInRange } from "@/lib/reports/readings.ts";
import { decodeParam } from "@/lib/params.ts";
import { NumTh } from "@/components/NumTh.tsx";

export const metadata: Metadata = { title: "Facility dashboard" };

/** Readings read for device activity at most (newest first, by cursor); the page says when it stopped there. */
const MAX_ACTIVITY_READINGS = 20_000;
/** Devices read for device activity at most (oldest registration first, by cursor); the page says when it stopped there. */
const MAX_ACTIVITY_DEVICES = 5_000;

type Props = {
  params: Promise<{ facility: string }>;
  searchParams: Promise<{ from?: string; to?: string }>;
};

export default async function DashboardPage({ params, searchParams }: Props) {
  const { facility: raw } = await params;
  const sp = await searchParams;
  const facilityParam = decodeParam(raw);
  const today = dayOf(Date.now() / 1000);
  const { range, error } = parseRange(sp.from, sp.to, today);
  const { fromTs, toTsExclusive } = rangeSeconds(range);
  const ix = indexer();

  let found;
  try {
    // a miss is 404 only once the indexer has read up to the chain's head (lib/reports/facility.ts);
    // the facility's facts without its devices (read by cursor below) and projects (not shown)
    found = await lookUpFacilityFacts(ix, facilityParam, { fromTs, toTsExclusive }, indexedPresence);
  } catch (e) {
    return <IndexerProblem error={e} />;
  }
  if (found.presence === "absent") notFound();
  if (found.presence === "unknown")
    return (
      <>
        <h1>Facility dashboard</h1>
        <NotIndexedYet
          what="facility"
          term={facilityParam}
          href={`/dashboard/${encodeURIComponent(facilityParam)}?${rangeQuery(range)}`}
          indexedBlock={found.indexedBlock}
          head={found.head}
        />
      </>
    );
  const detail = found.facility;
  const code = detail.code ?? detail.id;
  const dir = detail.code ? facilityDirectory()[detail.code] : undefined;
  const split = attestationsInRange(detail.attestations, range);
  const totals = sumAttestations(split.counted);
  const daily = dailyEmissions(split.counted, range);

  const [sourceRows, readings, devices, oracle] = await Promise.all([
    ix.sourceTotals({ fromDay: range.fromDay, toDay: range.toDay, facility: code }).catch((e: unknown) => e as Error),
    facilityReadingsInRange(ix, code, fromTs, toTsExclusive, MAX_ACTIVITY_READINGS).catch((e: unknown) => e as Error),
    facilityDevicesUpTo(ix, code, MAX_ACTIVITY_DEVICES).catch((e: unknown) => e as Error),
    detail.code
      ? oracleDeviceHealth(detail.code, Number(fromTs) * 1000)
      : Promise.resolve<OracleHealthRead>({
          ok: false,
          url: "",
          message: "this facility has no text id to ask the oracle about",
        }),
  ]);

  const sources = Array.isArray(sourceRows) ? sourceBreakdown(sourceRows as SourceTotals[]) : null;
  const scopes = sources ? scopeTotals(sources) : null;
  const activity = deviceActivity(
    readings && !(readings instanceof Error) ? readings.list : [],
    devices && !(devices instanceof Error) ? devices.list : [],
  );
  const readingsNote =
    readings instanceof Error
      ? `Readings could not be read from the indexer: ${readings.message}`
      : readings === null
        ? "Attested readings are not indexed by this backend (subgraph): last seen and gaps need the embedded indexer (bundles)."
        : readings.capped
          ? `Last seen and gaps are from the newest ${count(MAX_ACTIVITY_READINGS)} readings of the period.`
          : null;
  const devicesNote =
    devices instanceof Error
      ? `The facility's devices could not be read from the indexer (${devices.message}): only those with readings in the period are listed, without kind or status.`
      : devices?.capped
        ? `The first ${count(MAX_ACTIVITY_DEVICES)} of the facility's ${count(detail.deviceCount)} devices (oldest registration first) are listed, and any other with readings in the period.`
        : null;
  const query = rangeQuery(range);
  const name = dir?.name ?? code;

  return (
    <>
      <h1>
        {name} <span className="muted">dashboard</span>
      </h1>
      <ul className={styles.links}>
        <li>
          <Link href={`/reports/${encodeURIComponent(code)}?${query}`}>
            Emissions report for this period (CBAM-shaped)
          </Link>
        </li>
        <li>
          <Link href={`/explorer/facilities/${encodeURIComponent(code)}`}>Facility in the explorer</Link>
        </li>
        <li>
          <Link href={`/leaderboard?${query}`}>Leaderboard</Link>
        </li>
      </ul>
      <PeriodForm action={`/dashboard/${encodeURIComponent(code)}`} range={range} today={today} error={error} />

      <h2>Attested emissions in the period</h2>
      <ul className={styles.kpis} data-testid="dashboard-totals">
        <li className={styles.kpi}>
          <span className={styles.kpiValue} data-fossil-grams={totals.fossilCo2eGrams.toString()}>
            {gramsAsKg(totals.fossilCo2eGrams)}
          </span>
          <span className={styles.kpiLabel}>kg CO2e fossil (scope 1 + 2)</span>
        </li>
        <li className={styles.kpi}>
          <span className={styles.kpiValue}>{gramsAsKg(totals.biogenicCo2Grams)}</span>
          <span className={styles.kpiLabel}>kg CO2 biogenic, reported apart</span>
        </li>
        <li className={styles.kpi}>
          <span className={styles.kpiValue}>{count(totals.readingCount)}</span>
          <span className={styles.kpiLabel}>signed readings in {totals.attestationCount} attestations</span>
        </li>
        <li className={styles.kpi}>
          <span className={styles.kpiValue}>{split.revoked.length}</span>
          <span className={styles.kpiLabel}>revoked attestations (not counted)</span>
        </li>
      </ul>

      <h2 id="over-time">Emissions over time</h2>
      <figure className={styles.figure} aria-labelledby="over-time">
        <EmissionsChart
          points={daily.map((d) => ({
            date: d.date,
            fossilKg: gramsToKgNumber(d.fossilCo2eGrams),
            biogenicKg: gramsToKgNumber(d.biogenicCo2Grams),
          }))}
        />
        <figcaption>
          Per UTC day, by the day each attestation&apos;s period starts; revoked attestations left out.
        </figcaption>
        <details className={styles.dataTable}>
          <summary>Table of emissions per day</summary>
          <div className="table-wrap">
            <table>
              <caption>Attested emissions per day (kg, exact to the gram)</caption>
              <thead>
                <tr>
                  <th scope="col">Day (UTC)</th>
                  <NumTh>Attestations</NumTh>
                  <NumTh>Fossil CO2e (kg)</NumTh>
                  <NumTh>Biogenic CO2 (kg)</NumTh>
                </tr>
              </thead>
              <tbody>
                {daily
                  .filter((d) => d.attestationCount > 0)
                  .map((d) => (
                    <tr key={d.day}>
                      <th scope="row">{d.date}</th>
                      <td className="num">{d.attestationCount}</td>
                      <td className="num">{gramsAsKg(d.fossilCo2eGrams)}</td>
                      <td className="num">{gramsAsKg(d.biogenicCo2Grams)}</td>
                    </tr>
                  ))}
              </tbody>
            </table>
          </div>
          <p className="muted">Days without attestations are left out of the table (zero in the chart).</p>
        </details>
      </figure>

      <h2 id="by-source">Emissions by source</h2>
      {sourceRows instanceof Error ? (
        <p className="error">The indexer could not sum the readings by source: {sourceRows.message}</p>
      ) : sources === null ? (
        <p className="status status--pending" data-testid="sources-unavailable">
          The split by source needs the embedded indexer (bundles): this backend (subgraph) does not read the evidence
          bundles that hold the readings.
        </p>
      ) : sources.length === 0 ? (
        <p className="muted">No indexed readings in this period (bundles may still be fetched).</p>
      ) : (
        <figure className={styles.figure} aria-labelledby="by-source">
          <SourceChart
            points={sources.map((s) => ({
              label: s.label,
              fossilKg: mgToKgNumber(s.fossilCo2eMg),
              biogenicKg: mgToKgNumber(s.biogenicCo2Mg),
            }))}
          />
          <figcaption>
            From the signed readings in the indexed evidence bundles, by the UTC day of each reading. Direct (scope 1):{" "}
            {mgAsKg(scopes!.direct.fossilCo2eMg)} kg CO2e; indirect, grid electricity (scope 2, location-based):{" "}
            {mgAsKg(scopes!.indirect.fossilCo2eMg)} kg CO2e.
          </figcaption>
          <details className={styles.dataTable}>
            <summary>Table of emissions by source</summary>
            <div className="table-wrap">
              <table>
                <caption>Emissions by source in the period (kg, rounded down to the gram)</caption>
                <thead>
                  <tr>
                    <th scope="col">Source</th>
                    <th scope="col">Scope</th>
                    <NumTh>Readings</NumTh>
                    <NumTh>Fossil CO2e (kg)</NumTh>
                    <NumTh>Biogenic CO2 (kg)</NumTh>
                  </tr>
                </thead>
                <tbody>
                  {sources.map((s) => (
                    <tr key={s.source}>
                      <th scope="row">{s.label}</th>
                      <td>{s.scope}</td>
                      <td className="num">{count(s.readingCount)}</td>
                      <td className="num">{mgAsKg(s.fossilCo2eMg)}</td>
                      <td className="num">{mgAsKg(s.biogenicCo2Mg)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          </details>
        </figure>
      )}

      <h2>Intensity per unit of output</h2>
      <p data-testid="intensity">
        Not available: readings carry no production data (the reading format has flue-gas, electricity, fuel and manual
        energy measurements only, <code>sdk/src/reading/schema.ts</code>), so no emissions per tonne of product can be
        computed from attested data.
      </p>

      <h2>Device health</h2>
      {devicesNote ? (
        <p className="muted" data-testid="devices-note">
          {devicesNote}
        </p>
      ) : null}
      <DeviceHealth activity={activity} oracle={oracle} readingsNote={readingsNote} />
    </>
  );
}

function IndexerProblem({ error }: { error: unknown }) {
  const e = error as { message?: string; code?: string };
  return (
    <>
      <h1>Facility dashboard</h1>
      <p className="status status--bad" role="alert">
        The indexer could not be read{e.code ? ` (${e.code})` : ""}: {e.message ?? String(error)}
      </p>
    </>
  );
}
