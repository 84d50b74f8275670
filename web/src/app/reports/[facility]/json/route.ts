import { loadReport } from "@/lib/reports/load.ts";
import { dayOf, parseRange } from "@/lib/reports/period.ts";
import { reportJson } from "@/lib/reports/report.ts";
import { decodeParam } from "@/lib/params.ts";

/**
 * The report of /reports/<facility> as JSON (schema carbonproof.cbam-report/1): the same object the
 * page renders, bigint figures as decimal strings, units in the key names. A bad period is an error
 * here (400), not a silent default: a machine asked for exactly that period.
 */
export async function GET(req: Request, { params }: { params: Promise<{ facility: string }> }): Promise<Response> {
  const { facility: raw } = await params;
  const url = new URL(req.url);
  const nowS = Math.floor(Date.now() / 1000);
  const { range, problem } = parseRange(
    url.searchParams.get("from") ?? undefined,
    url.searchParams.get("to") ?? undefined,
    dayOf(nowS),
  );
  if (problem)
    return Response.json(
      { error: "BAD_PERIOD", message: `${problem}: give from and to as YYYY-MM-DD (UTC, inclusive)` },
      { status: 400 },
    );
  const loaded = await loadReport(decodeParam(raw), range, nowS);
  if (!loaded.ok)
    return Response.json(
      { error: loaded.status === 404 ? "NOT_FOUND" : "INDEXER_UNAVAILABLE", message: loaded.message },
      { status: loaded.status },
    );
  const r = loaded.report;
  return new Response(reportJson(r), {
    headers: {
      "content-type": "application/json; charset=utf-8",
      "content-disposition": `attachment; filename="carbonproof-report-${r.installation.facilityId}-${r.reportingPeriod.from}-${r.reportingPeriod.to}.json"`,
      "cache-control": "no-store",
    },
  });
}
