import type { Metadata } from "next";
import Link from "next/link";
import { PeriodForm } from "@/components/dashboard/PeriodForm.tsx";
import { CbamReportView } from "@/components/reports/CbamReportView.tsx";
import { ReportActions } from "@/components/reports/ReportActions.tsx";
import { NotIndexedYet } from "@/components/explorer/Status.tsx";
import { loadReport } from "@/lib/reports/load.ts";
import { dayOf, parseRange, rangeQuery } from "@/lib/reports/period.ts";
import { notFound } from "next/navigation";
import { decodeParam } from "@/lib/params.ts";

export const metadata: Metadata = { title: "Emissions report" };

type Props = {
  params: Promise<{ facility: string }>;
  searchParams: Promise<{ from?: string; to?: string }>;
};

export default async function ReportPage({ params, searchParams }: Props) {
  const { facility: raw } = await params;
  const sp = await searchParams;
  const facility = decodeParam(raw);
  const nowS = Math.floor(Date.now() / 1000);
  const today = dayOf(nowS);
  const { range, error } = parseRange(sp.from, sp.to, today);
  const loaded = await loadReport(facility, range, nowS);
  if (!loaded.ok && loaded.code === "NOT_FOUND") notFound();
  // 200, not 404: the facility may have been registered after the indexer's last block (docs/web.md)
  if (!loaded.ok && loaded.code === "NOT_INDEXED_YET")
    return (
      <>
        <h1>Emissions report</h1>
        <NotIndexedYet
          what="facility"
          term={facility}
          href={`/reports/${encodeURIComponent(facility)}?${rangeQuery(range)}`}
          indexedBlock={loaded.indexedBlock}
          head={loaded.head}
        >
          <p>The report is made from what the indexer has read: it shows once the facility is indexed.</p>
        </NotIndexedYet>
      </>
    );
  if (!loaded.ok)
    return (
      <>
        <h1>Emissions report</h1>
        <p className="status status--bad" role="alert">
          The report cannot be made now: {loaded.message}
        </p>
      </>
    );
  const r = loaded.report;
  const id = encodeURIComponent(r.installation.facilityId);
  const query = rangeQuery(range);
  return (
    <>
      <h1>
        Emissions report: {r.installation.name ?? r.installation.facilityId}, {r.reportingPeriod.from} to{" "}
        {r.reportingPeriod.to}
      </h1>
      {r.omissions.length ? (
        // what the report leaves out, above everything else (printed too): never a silent omission
        <div className="status status--bad" role="alert" data-testid="report-omissions">
          <strong>This report is incomplete.</strong>
          <ul>
            {r.omissions.map((o) => (
              <li key={o}>{o}</li>
            ))}
          </ul>
        </div>
      ) : null}
      <p className="muted">
        Shaped after the operator communication of EU CBAM reporting, Commission Implementing Regulation (EU) 2023/1773
        (Annex IV), from what is attested on-chain. See the basis at the end.
      </p>
      <ReportActions
        jsonHref={`/reports/${id}/json?${query}`}
        fileName={`carbonproof-report-${r.installation.facilityId}-${r.reportingPeriod.from}-${r.reportingPeriod.to}.json`}
      />
      <p className="no-print">
        <Link href={`/dashboard/${id}?${query}`}>Dashboard of this facility</Link>
      </p>
      <PeriodForm action={`/reports/${id}`} range={range} today={today} error={error} />
      <CbamReportView report={r} gateway={loaded.ipfsGateway} />
    </>
  );
}
