"use client";

import { useEffect, useState, type ReactNode } from "react";
import styles from "./dashboard.module.css";

/** True until the browser says otherwise: no animation is the safe default (WCAG 2.3.3). */
export function usePrefersReducedMotion(): boolean {
  const [reduced, setReduced] = useState(true);
  useEffect(() => {
    const query = window.matchMedia("(prefers-reduced-motion: reduce)");
    const update = () => setReduced(query.matches);
    update();
    query.addEventListener("change", update);
    return () => query.removeEventListener("change", update);
  }, []);
  return reduced;
}

/**
 * Draws its chart in the browser only (charts measure their box), in a box of fixed height so the
 * page does not shift when it appears. The chart itself is hidden from assistive technology: the
 * table under it carries the same figures.
 */
export function ChartFrame({ children, label }: { children: (reducedMotion: boolean) => ReactNode; label: string }) {
  const [mounted, setMounted] = useState(false);
  const reduced = usePrefersReducedMotion();
  useEffect(() => setMounted(true), []);
  return (
    <div className={styles.chart} aria-hidden="true" data-chart={label} data-state={mounted ? "drawn" : "pending"}>
      {mounted ? children(reduced) : <div className={styles.chartPlaceholder}>Drawing the chart…</div>}
    </div>
  );
}
