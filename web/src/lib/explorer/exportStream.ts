/**
 * The body of an explorer list's CSV export: its first page (read before answering, so an
 * unreachable indexer is a 503 rather than a truncated file), then the next pages as the client
 * pulls them, one at a time, so a slow reader holds one page on the server, not the whole export.
 * Pages follow the list's cursor (ExplorerIndexer.list), so an export reaches as deep on the
 * subgraph, whose `skip` stops at 5,000 rows, as on the embedded indexer.
 */

/** Rows asked of the indexer at a time (The Graph answers at most 1,000; `list` reads one more). */
export const EXPORT_CHUNK = 500;
/** An export stops here and says so in its last line rather than running without end. */
export const EXPORT_MAX_ROWS = 200_000;

/** One page of an export: its rows as CSV records, how many, and the cursor of the page after it. */
export type ExportPage = { rows: number; text: string; next: string | null };

export type PageReader = (page: { first: number; after: string }) => Promise<ExportPage>;

/**
 * A stream of `header`, the first page's text, then every next page `read` gives by cursor, until
 * a page has no next or `maxRows` are written (then a last `# truncated after N rows: narrow the
 * filters` line). A page that fails after the headers are sent fails the download: the only
 * honest signal left.
 */
export function csvExportStream(opts: {
  header: string;
  first: ExportPage;
  read: PageReader;
  maxRows?: number;
  chunk?: number;
  onError?: (error: unknown, rowsWritten: number) => void;
}): ReadableStream<Uint8Array> {
  const chunk = opts.chunk ?? EXPORT_CHUNK;
  const maxRows = opts.maxRows ?? EXPORT_MAX_ROWS;
  const encoder = new TextEncoder();
  let written = opts.first.rows;
  let next = opts.first.next;
  return new ReadableStream<Uint8Array>(
    {
      start(controller) {
        controller.enqueue(encoder.encode(opts.header + opts.first.text));
      },
      async pull(controller) {
        if (next === null || written >= maxRows) {
          if (next !== null)
            controller.enqueue(encoder.encode(`# truncated after ${written} rows: narrow the filters\r\n`));
          controller.close();
          return;
        }
        try {
          const page = await opts.read({ first: Math.min(chunk, maxRows - written), after: next });
          controller.enqueue(encoder.encode(page.text));
          written += page.rows;
          next = page.next;
        } catch (error) {
          opts.onError?.(error, written);
          controller.error(error);
        }
      },
    },
    { highWaterMark: 1 },
  );
}
