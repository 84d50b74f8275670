import { loadReport, NOT_INDEXED_RETRY_S } from "@/lib/reports/load.ts";
import { dayOf, parseRange } from "@/lib/reports/period.ts";
import { reportJson } from "@/lib/reports/report.ts";
import { decodeParam } from "@/lib/params.ts";

/**
 * The report of /reports/<facility> as JSON (schema carbonproof.cbam-report/1): the same object the
 * page renders, bigint figures as decimal strings, units in the key names. A bad period is an error
 * here (400), not a silent default: a machine asked for exactly that period. A facility the
 * indexer has not read yet (it is behind the chain's head) is 503 NOT_INDEXED_YET with Retry-After,
 * not a 404 and not a report of zeros: the facility may exist; 404 NOT_FOUND only once the indexer
 * is at the head and still has no such facility. What the report leaves out (a list of the
 * installation read up to its cap, readings past what a report reads) is said in `omissions`, after
 * `generatedAt`, as the page says it above the report.
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
  if (!loaded.ok && loaded.code === "NOT_INDEXED_YET")
    return Response.json(
      {
        error: loaded.code,
        message: loaded.message,
        indexedBlock: loaded.indexedBlock,
        headBlock: loaded.head === null ? null : Number(loaded.head),
      },
      { status: loaded.status, headers: { "retry-after": String(NOT_INDEXED_RETRY_S), "cache-control": "no-store" } },
    );
  if (!loaded.ok) return Response.json({ error: loaded.code, message: loaded.message }, { status: loaded.status });
  const r = loaded.report;
  return new Response(reportJson(r), {
    headers: {
      "content-type": "application/json; charset=utf-8",
      "content-disposition": `attachment; filename="carbonproof-report-${r.installation.facilityId}-${r.reportingPeriod.from}-${r.reportingPeriod.to}.json"`,
      "cache-control": "no-store",
    },
  });
}
