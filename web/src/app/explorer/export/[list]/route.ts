import type { ExplorerIndexer } from "@carbonproof/subgraph/client";
import { getExplorerIndexer } from "@/server/indexer/index.ts";
import { csvHeader, csvRows } from "@/lib/explorer/csv.ts";
import { CSV_EXPORTS, type ListName } from "@/lib/explorer/lists.ts";
import { aggregateDaily, dayOf } from "@/lib/explorer/periods.ts";
import { parseTotalsQuery, readDaily, TOTALS_CSV } from "@/lib/explorer/totals.ts";
import { csvExportStream, EXPORT_CHUNK, type ExportPage } from "@/lib/explorer/exportStream.ts";

/**
 * `/explorer/export/<list>?<filters>`: the whole list (every page) as CSV, with the same filters the
 * list page reads from its URL. The first chunk is read before answering, so an unreachable indexer
 * is a 503 with a message rather than a truncated file; the rest are pulled by cursor (exportStream.ts).
 */
export async function GET(req: Request, { params }: { params: Promise<{ list: string }> }): Promise<Response> {
  const { list } = await params;
  const query = new URL(req.url).searchParams;
  const stamp = new Date().toISOString().slice(0, 10);
  if (list === "totals") return totals(query, stamp);
  const spec = CSV_EXPORTS[list as ListName];
  if (!Object.hasOwn(CSV_EXPORTS, list) || !spec)
    return text(
      404,
      `No explorer list is called "${list}". Lists: ${[...Object.keys(CSV_EXPORTS), "totals"].join(", ")}.`,
    );
  const { active, errors } = spec.parse(query);
  if (errors.length) return text(400, `No CSV was written:\n${errors.join("\n")}`);

  let ix: ExplorerIndexer;
  let first: ExportPage;
  try {
    ix = await getExplorerIndexer();
    first = await spec.page(ix, query, { first: EXPORT_CHUNK });
  } catch (error) {
    return unavailable(error);
  }
  const stream = csvExportStream({
    header: spec.header(),
    first,
    read: (page) => spec.page(ix, query, page),
    onError: (error, rows) => console.error(`explorer: CSV export of ${list} failed after ${rows} rows`, error),
  });
  return new Response(stream, { headers: csvHeaders(`carbonproof-${list}${suffix(active)}-${stamp}.csv`) });
}

async function totals(query: URLSearchParams, stamp: string): Promise<Response> {
  const q = parseTotalsQuery(query, dayOf(Date.now() / 1000));
  if (q.errors.length) return text(400, `No CSV was written:\n${q.errors.join("\n")}`);
  try {
    const ix = await getExplorerIndexer();
    const daily = await readDaily(ix, q);
    const body = csvHeader(TOTALS_CSV) + csvRows(TOTALS_CSV, aggregateDaily(daily, q.period));
    return new Response(body, { headers: csvHeaders(`carbonproof-totals${suffix(q.active)}-${stamp}.csv`) });
  } catch (error) {
    return unavailable(error);
  }
}

function suffix(active: Record<string, string>): string {
  const parts = Object.entries(active).map(([k, v]) => `${k}-${v}`.replace(/[^A-Za-z0-9._-]/g, "_").slice(0, 40));
  return parts.length ? `-${parts.join("-")}` : "";
}

function csvHeaders(filename: string): HeadersInit {
  return {
    "content-type": "text/csv; charset=utf-8; header=present",
    "content-disposition": `attachment; filename="${filename}"`,
    "cache-control": "no-store",
  };
}

function text(status: number, message: string): Response {
  return new Response(`${message}\n`, { status, headers: { "content-type": "text/plain; charset=utf-8" } });
}

function unavailable(error: unknown): Response {
  console.error("explorer: CSV export could not read the indexer", error);
  const e = error as { code?: unknown; message?: unknown };
  const code = typeof e?.code === "string" ? `${e.code}: ` : "";
  return text(
    503,
    `The explorer's indexer could not answer, so no CSV was written. ${code}${typeof e?.message === "string" ? e.message : String(error)}`,
  );
}
