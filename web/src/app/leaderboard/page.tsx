import type { Metadata } from "next";
import Link from "next/link";
import { PeriodForm } from "@/components/dashboard/PeriodForm.tsx";
import { gramsAsKg } from "@/lib/reports/format.ts";
import { formatBasisPoints, rankByChange, rankByReduction, type LeaderboardInput } from "@/lib/reports/leaderboard.ts";
import { facilityDirectory, indexer } from "@/lib/reports/load.ts";
import { loadLeaderboard } from "@/lib/reports/loadLeaderboard.ts";
import { dayOf, dayToIso, parseRange, previousRange, rangeQuery } from "@/lib/reports/period.ts";
import { formatTonnesNumber } from "@/lib/units.ts";
import { NumTh } from "@/components/NumTh.tsx";

export const metadata: Metadata = { title: "Leaderboard" };

type Props = { searchParams: Promise<{ from?: string; to?: string }> };

export default async function LeaderboardPage({ searchParams }: Props) {
  const sp = await searchParams;
  const today = dayOf(Date.now() / 1000);
  const { range, error } = parseRange(sp.from, sp.to, today);
  const previous = previousRange(range);
  const ix = indexer();
  const directory = facilityDirectory();

  let rows: LeaderboardInput[];
  try {
    rows = await loadLeaderboard(ix, range, directory);
  } catch (e) {
    const err = e as { message?: string; code?: string };
    return (
      <>
        <h1>Leaderboard</h1>
        <p className="status status--bad" role="alert">
          The indexer could not be read{err.code ? ` (${err.code})` : ""}: {err.message ?? String(e)}
        </p>
      </>
    );
  }

  const byReduction = rankByReduction(rows);
  const byChange = rankByChange(rows);
  const query = rangeQuery(range);
  const label = (r: LeaderboardInput) => (
    <Link href={`/dashboard/${encodeURIComponent(r.facility)}?${query}`}>{r.name ?? r.facility}</Link>
  );

  return (
    <>
      <h1>Leaderboard</h1>
      <p className="muted">
        Facilities ranked by what is attested on-chain for the period {dayToIso(range.fromDay)} to{" "}
        {dayToIso(range.toDay)} (UTC; an attestation belongs to the day its period starts; revoked attestations are not
        counted).
      </p>
      <PeriodForm action="/leaderboard" range={range} today={today} error={error} />

      <h2 id="by-reduction">By verified reduction</h2>
      <div className="table-wrap">
        <table className="cards-mobile" data-testid="leaderboard-reduction">
          <caption>
            Credits issued against the period&apos;s attestations: each credit is 1 kg CO2e of reduction a verifier
            approved within the on-chain bound (baseline − attested emissions)
          </caption>
          <thead>
            <tr>
              <NumTh>Rank</NumTh>
              <th scope="col">Facility</th>
              <th scope="col">Country</th>
              <NumTh>Reductions credited (t CO2e)</NumTh>
              <NumTh>Attested fossil CO2e (kg)</NumTh>
              <NumTh>Attestations</NumTh>
            </tr>
          </thead>
          <tbody>
            {byReduction.map((r) => (
              <tr key={r.facility}>
                <td data-label="Rank" className="num">
                  {r.rank}
                </td>
                <td data-label="Facility">{label(r)}</td>
                <td data-label="Country">{r.country ?? "—"}</td>
                <td data-label="Reductions credited (t CO2e)" className="num">
                  {formatTonnesNumber(r.creditsIssuedKg)}
                </td>
                <td data-label="Attested fossil CO2e (kg)" className="num">
                  {gramsAsKg(r.current.fossilCo2eGrams)}
                </td>
                <td data-label="Attestations" className="num">
                  {r.current.attestationCount}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>

      <h2 id="by-change">By change of attested fossil emissions</h2>
      <p className="muted">
        Against the previous {range.toDay - range.fromDay + 1} days ({dayToIso(previous.fromDay)} to{" "}
        {dayToIso(previous.toDay)}); the largest fall first.
      </p>
      {byChange.ranked.length === 0 ? (
        <p data-testid="leaderboard-change-empty">No facility has attested emissions in both periods to compare.</p>
      ) : (
        <div className="table-wrap">
          <table className="cards-mobile" data-testid="leaderboard-change">
            <caption>Period-over-period change of attested fossil CO2e</caption>
            <thead>
              <tr>
                <NumTh>Rank</NumTh>
                <th scope="col">Facility</th>
                <NumTh>Previous period (kg)</NumTh>
                <NumTh>This period (kg)</NumTh>
                <NumTh>Change</NumTh>
              </tr>
            </thead>
            <tbody>
              {byChange.ranked.map((r) => (
                <tr key={r.facility}>
                  <td data-label="Rank" className="num">
                    {r.rank}
                  </td>
                  <td data-label="Facility">{label(r)}</td>
                  <td data-label="Previous period (kg)" className="num">
                    {gramsAsKg(r.previous.fossilCo2eGrams)}
                  </td>
                  <td data-label="This period (kg)" className="num">
                    {gramsAsKg(r.current.fossilCo2eGrams)}
                  </td>
                  <td data-label="Change" className="num">
                    {formatBasisPoints(r.changeBp)} ({gramsAsKg(r.changeGrams)} kg)
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {byChange.unranked.length ? (
        <>
          <p>Not compared:</p>
          <ul>
            {byChange.unranked.map((u) => (
              <li key={u.row.facility}>
                {label(u.row)}: {u.reason}
              </li>
            ))}
          </ul>
        </>
      ) : null}

      <h2 id="by-intensity">By emission intensity</h2>
      <p data-testid="intensity">
        Not ranked: intensity is emissions per unit of output (per tonne of made tea, per part machined), and no reading
        carries production output (<code>sdk/src/reading/schema.ts</code> has flue-gas, electricity, fuel and manual
        measurements only). Comparing totals across facilities of different sizes would rank size, not performance.
      </p>
    </>
  );
}
