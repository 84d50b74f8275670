"use client";

/** Print (or save as PDF from the print dialog) and download the same report as JSON. */
export function ReportActions({ jsonHref, fileName }: { jsonHref: string; fileName: string }) {
  return (
    <div className="actions no-print">
      <button type="button" onClick={() => window.print()}>
        Print or save as PDF
      </button>
      <a className="button secondary" href={jsonHref} download={fileName} data-testid="report-json">
        Download JSON
      </a>
    </div>
  );
}
