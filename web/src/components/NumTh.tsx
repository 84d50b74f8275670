import type { ReactNode } from "react";

/** A column header over numbers: a column's header cell, aligned with its figures (the `num` class). */
export function NumTh({ children }: { children: ReactNode }) {
  return (
    <th scope="col" className="num">
      {children}
    </th>
  );
}
