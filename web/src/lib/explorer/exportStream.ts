/**
 * The body of an explorer list's CSV export: its first page (read before answering, so an
 * unreachable indexer is a 503 rather than a truncated file), then the next pages as the client
 * pulls them, one at a time, so a slow reader holds one page on the server, not the whole export.
 */
import { SUBGRAPH_MAX_SKIP, type ExplorerIndexer, type Page } from "@carbonproof/subgraph/client";

/** Rows asked of the indexer at a time (The Graph answers at most 1,000). */
export const EXPORT_CHUNK = 500;
/** An export stops here and says so in its last line rather than running without end. */
export const EXPORT_MAX_ROWS = 200_000;

export type PageReader = (page: Required<Pick<Page, "first" | "skip">>) => Promise<{ rows: number; text: string }>;

/**
 * How far an export can read with `ix`: EXPORT_MAX_ROWS, or less where the backend pages no deeper
 * (graph-node answers no `skip` over SUBGRAPH_MAX_SKIP), with the line that says why it stopped.
 */
export function exportReach(ix: Pick<ExplorerIndexer, "backend">): { maxRows: number; why: string } {
  if (ix.backend === "subgraph" && SUBGRAPH_MAX_SKIP + EXPORT_CHUNK < EXPORT_MAX_ROWS)
    return {
      maxRows: SUBGRAPH_MAX_SKIP + EXPORT_CHUNK,
      why: `the subgraph pages no deeper than ${SUBGRAPH_MAX_SKIP + EXPORT_CHUNK} rows of a list: narrow the filters`,
    };
  return { maxRows: EXPORT_MAX_ROWS, why: "narrow the filters" };
}

/**
 * A stream of `header`, the first page's text, then every next page `read` gives, until a page
 * comes back short or `maxRows` are written (then a last `# truncated after N rows: <why>` line).
 * A page that fails after the headers are sent fails the download: the only honest signal left.
 */
export function csvExportStream(opts: {
  header: string;
  first: { rows: number; text: string };
  read: PageReader;
  maxRows: number;
  why: string;
  chunk?: number;
  onError?: (error: unknown, rowsWritten: number) => void;
}): ReadableStream<Uint8Array> {
  const chunk = opts.chunk ?? EXPORT_CHUNK;
  const encoder = new TextEncoder();
  let skip = opts.first.rows;
  let more = opts.first.rows === chunk; // a full page may have more after it
  return new ReadableStream<Uint8Array>(
    {
      start(controller) {
        controller.enqueue(encoder.encode(opts.header + opts.first.text));
      },
      async pull(controller) {
        if (!more || skip >= opts.maxRows) {
          if (more) controller.enqueue(encoder.encode(`# truncated after ${skip} rows: ${opts.why}\r\n`));
          controller.close();
          return;
        }
        try {
          const asked = Math.min(chunk, opts.maxRows - skip);
          const next = await opts.read({ first: asked, skip });
          controller.enqueue(encoder.encode(next.text));
          more = next.rows === asked;
          skip += next.rows;
        } catch (error) {
          opts.onError?.(error, skip);
          controller.error(error);
        }
      },
    },
    { highWaterMark: 1 },
  );
}
