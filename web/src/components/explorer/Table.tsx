import type { ReactNode } from "react";

export type Column<R> = { label: string; num?: boolean; cell: (row: R) => ReactNode };

/**
 * A data table that becomes one card per row on a phone (the global `cards-mobile` styles read
 * each cell's `data-label`).
 */
export function Table<R>({
  caption,
  columns,
  rows,
  rowKey,
  testId,
  footer,
}: {
  caption: ReactNode;
  columns: readonly Column<R>[];
  rows: readonly R[];
  rowKey: (row: R) => string;
  testId?: string;
  footer?: ReactNode;
}) {
  return (
    <div className="table-wrap">
      <table className="cards-mobile" data-testid={testId}>
        <caption>{caption}</caption>
        <thead>
          <tr>
            {columns.map((c) => (
              <th key={c.label} scope="col" className={c.num ? "num" : undefined}>
                {c.label}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={rowKey(r)}>
              {columns.map((c) => (
                <td key={c.label} data-label={c.label} className={c.num ? "num" : undefined}>
                  {/* one child: on a phone the cell is a flex row of its label and this */}
                  <span>{c.cell(r)}</span>
                </td>
              ))}
            </tr>
          ))}
          {footer}
        </tbody>
      </table>
    </div>
  );
}
