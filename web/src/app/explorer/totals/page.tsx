import type { Metadata } from "next";
import Link from "next/link";
import { facilityDirectory, readExplorer } from "@/components/explorer/data.ts";
import { IndexerStatus, IndexerUnavailable } from "@/components/explorer/Status.tsx";
import { Table } from "@/components/explorer/Table.tsx";
import styles from "@/components/explorer/explorer.module.css";
import { formatCount, formatGramsAsTonnes } from "@/lib/explorer/format.ts";
import { exportHref, facilityKey, toParams } from "@/lib/explorer/lists.ts";
import { aggregateDaily, dayOf, dayToIso, grandTotal, PERIODS, type PeriodTotals } from "@/lib/explorer/periods.ts";
import { parseTotalsQuery, readDaily } from "@/lib/explorer/totals.ts";
import { formatTonnesNumber } from "@/lib/units.ts";

export const metadata: Metadata = { title: "Totals per period" };

type Props = { searchParams: Promise<Record<string, string | string[] | undefined>> };

const PERIOD_WORDS = { day: "Day", month: "Month", year: "Year" } as const;

export default async function TotalsPage({ searchParams }: Props) {
  const params = toParams(await searchParams);
  const q = parseTotalsQuery(params, dayOf(Date.now() / 1000));
  const read = await readExplorer(async (ix) => {
    const [daily, facilities] = await Promise.all([readDaily(ix, q), ix.facilities({ first: 1000 })]);
    return { periods: aggregateDaily(daily, q.period), facilities };
  });
  const names = facilityDirectory();
  const from = q.active.from;
  return (
    <>
      <h1>Totals per period</h1>
      <p>
        Attested emissions and credits by {q.period}
        {q.facility ? (
          <>
            {" "}
            for facility{" "}
            <Link href={`/explorer/facilities/${q.facility}`}>{names[q.facility]?.name ?? q.facility}</Link>
          </>
        ) : (
          " for all facilities"
        )}
        . Fossil emissions are t CO2e; biogenic CO2 from burning biomass is reported apart, as the GHG Protocol asks.
        Credits are t CO2e (1 credit = 1 kg); outstanding = issued − retired.
      </p>
      <form
        // keyed by the query: "Clear" navigates on the client, and a mounted <select> keeps its
        // choice when its defaultValue changes; a new query mounts a fresh form (FilterForm.tsx)
        key={params.toString()}
        action="/explorer/totals"
        method="get"
        className="filters panel"
        aria-label="Choose facility and period"
      >
        <div>
          <label htmlFor="t-facility">Facility</label>
          <select id="t-facility" name="facility" defaultValue={q.facility ?? ""}>
            <option value="">All facilities</option>
            {read.ok
              ? read.data.facilities.map((f) => {
                  const key = facilityKey(f);
                  return (
                    <option key={f.id} value={key}>
                      {(f.code && names[f.code]?.name) || key}
                    </option>
                  );
                })
              : null}
            {q.facility && read.ok && !read.data.facilities.some((f) => facilityKey(f) === q.facility) ? (
              <option value={q.facility}>{q.facility}</option>
            ) : null}
          </select>
        </div>
        <div>
          <label htmlFor="t-period">Period</label>
          <select id="t-period" name="period" defaultValue={q.period}>
            {PERIODS.map((p) => (
              <option key={p} value={p}>
                {PERIOD_WORDS[p]}
              </option>
            ))}
          </select>
        </div>
        <div>
          <label htmlFor="t-from">From (UTC)</label>
          <input id="t-from" name="from" type="date" defaultValue={q.active.from ?? ""} />
        </div>
        <div>
          <label htmlFor="t-to">To (UTC)</label>
          <input id="t-to" name="to" type="date" defaultValue={q.active.to ?? ""} />
        </div>
        <div className={styles.filterActions}>
          <button type="submit">Show</button>
          <Link href="/explorer/totals" className="button secondary">
            Clear
          </Link>
        </div>
      </form>
      {q.errors.length ? (
        <div role="alert" className="status status--bad">
          <ul>
            {q.errors.map((e) => (
              <li key={e}>{e}</li>
            ))}
          </ul>
        </div>
      ) : null}
      {!read.ok ? (
        <IndexerUnavailable failure={read} what="the totals" />
      ) : (
        <>
          <IndexerStatus status={read.status} />
          <div className={styles.toolbar}>
            <p role="status" data-testid="row-count">
              {read.data.periods.length
                ? `${read.data.periods.length} ${q.period}${read.data.periods.length === 1 ? "" : "s"} with activity.`
                : "Nothing was attested, issued or retired in this range."}
            </p>
            <a className="button secondary" href={exportHref("totals", q.active)} download>
              Download CSV<span className="visually-hidden"> of these totals</span>
            </a>
          </div>
          {read.data.periods.length ? (
            <TotalsTable periods={read.data.periods} period={PERIOD_WORDS[q.period]} from={from} />
          ) : null}
        </>
      )}
    </>
  );
}

function TotalsTable({ periods, period, from }: { periods: PeriodTotals[]; period: string; from: string | undefined }) {
  const total = grandTotal(periods)!;
  const cells = (r: PeriodTotals) => [
    formatCount(r.attestationCount),
    formatCount(r.readingCount),
    formatGramsAsTonnes(r.fossilCo2eGrams),
    formatGramsAsTonnes(r.biogenicCo2Grams),
    formatTonnesNumber(r.issuedKg),
    formatTonnesNumber(r.retiredKg),
    formatTonnesNumber(r.outstandingKg),
  ];
  const labels = [
    "Attestations",
    "Readings",
    "Fossil, t CO2e",
    "Biogenic, t CO2",
    "Issued, t CO2e",
    "Retired, t CO2e",
    "Outstanding at end, t CO2e",
  ];
  return (
    <Table
      testId="totals-table"
      caption={`Per ${period.toLowerCase()}, oldest first (UTC days). “Outstanding at end” sums issued − retired from ${
        from ? dayToIso(periods[0].firstDay) : "the first credit ever issued"
      } to the end of each ${period.toLowerCase()}.`}
      columns={[
        { label: period, cell: (r: PeriodTotals) => r.period },
        ...labels.map((label, i) => ({ label, num: true, cell: (r: PeriodTotals) => cells(r)[i] })),
      ]}
      rows={periods}
      rowKey={(r) => r.period}
      footer={
        <tr className={styles.total}>
          <td data-label={period}>All</td>
          {cells(total).map((c, i) => (
            <td key={labels[i]} data-label={labels[i]} className="num">
              {c}
            </td>
          ))}
        </tr>
      }
    />
  );
}
