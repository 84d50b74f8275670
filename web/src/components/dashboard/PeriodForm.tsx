import Link from "next/link";
import { type DayRange, dayToIso, presetRanges, rangeQuery } from "@/lib/reports/period.ts";
import styles from "./dashboard.module.css";

/**
 * The period selector of the dashboard, leaderboard and report: two dates (UTC, inclusive) in a GET
 * form, so a period is a shareable URL and works without JavaScript, plus quick choices.
 */
export function PeriodForm({
  action,
  range,
  today,
  error,
}: {
  action: string;
  range: DayRange;
  today: number;
  error?: string;
}) {
  return (
    <section className={`panel no-print ${styles.period}`} aria-labelledby="period-heading">
      <h2 id="period-heading" className={styles.periodHeading}>
        Period
      </h2>
      <form method="get" action={action} className={styles.periodForm}>
        <div className="field">
          <label htmlFor="period-from">From (UTC)</label>
          <input id="period-from" name="from" type="date" defaultValue={dayToIso(range.fromDay)} required />
        </div>
        <div className="field">
          <label htmlFor="period-to">To, inclusive (UTC)</label>
          <input id="period-to" name="to" type="date" defaultValue={dayToIso(range.toDay)} required />
        </div>
        <button type="submit">Show</button>
      </form>
      <ul className={styles.presets} aria-label="Quick periods">
        {presetRanges(today).map((p) => (
          <li key={p.label}>
            <Link href={`${action}?${rangeQuery(p.range)}`}>{p.label}</Link>
          </li>
        ))}
      </ul>
      {error ? (
        <p className="error" role="alert">
          {error}
        </p>
      ) : null}
    </section>
  );
}
