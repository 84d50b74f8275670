"use client";

import Link from "next/link";
import { memo, useEffect, useEffectEvent, useState } from "react";
import { useRuntimeConfig } from "@/app/providers.tsx";
import { useReader } from "@/lib/chain/hooks.ts";
import { idString } from "@/lib/chain/reads.ts";
import { bundleUrl } from "@/lib/config.ts";
import { describeError } from "@/lib/errors.ts";
import { auditHref } from "@/lib/audit/target.ts";
import { runAudit, verdictOf } from "@/lib/audit/run.ts";
import { formatDate } from "@/lib/units.ts";
import type { LineageReport, LineageSection, LineageTarget } from "../../../../sdk/src/verify/verifyLineage.ts";
import styles from "./Lineage.module.css";
import { NumTh } from "@/components/NumTh.tsx";

/** How often the rows of a running walk are re-rendered. */
const PROGRESS_MS = 150;

type State =
  | { status: "running"; report: LineageReport | undefined }
  | { status: "done"; report: LineageReport; verifyMs: number; signatures: string }
  | { status: "error"; report: LineageReport | undefined; message: string; verifyMs: number };

/** How a walk ended: with its verdicts, or stopped by an error (the links decided until then, if any). */
export type LineageEnd =
  { status: "done"; report: LineageReport } | { status: "error"; report: LineageReport | undefined; message: string };

/**
 * Runs the sdk's lineage walk for `target` in this browser and shows every link as it is
 * decided, PASS/FAIL/SKIP with the reason. The root carries the data-* contract the e2e tests
 * and the benchmark read: data-testid="lineage", data-state, and when done data-verify-ms and
 * data-ok; each link row data-link and data-verdict.
 */
export function Lineage({
  target,
  onDone,
  again = "Reload the page to check again.",
}: {
  target: LineageTarget;
  /**
   * Called once when the walk ends, with its verdicts or with the error that stopped it (e.g. to
   * show where the attestation leads, or to take a new input). Not called for a walk abandoned
   * (unmounted or restarted) before it ended.
   */
  onDone?: (end: LineageEnd) => void;
  /** What to do after an error stopped the walk, shown after it. */
  again?: string;
}) {
  const runtime = useRuntimeConfig();
  const client = useReader();
  const [state, setState] = useState<State>({ status: "running", report: undefined });
  // the latest onDone, without restarting the walk when a parent passes a new function
  const ended = useEffectEvent((end: LineageEnd) => onDone?.(end));

  useEffect(() => {
    let live = true;
    setState({ status: "running", report: undefined });
    const started = performance.now();
    // Links are decided ~200 times a walk; re-rendering (and laying out) the page for each one
    // took a fifth of the main thread that the checks need. The rows are brought up to date at
    // most every PROGRESS_MS instead, and at once when the walk ends.
    let latest: LineageReport | undefined;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const flush = () => {
      timer = undefined;
      const report = latest;
      if (live && report) setState((s) => (s.status === "running" ? { status: "running", report } : s));
    };
    runAudit(client, runtime, target, (report) => {
      latest = report;
      timer ??= setTimeout(flush, PROGRESS_MS);
    }).then(
      ({ report, verifyMs, signatures }) => {
        clearTimeout(timer);
        if (!live) return;
        setState({ status: "done", report, verifyMs, signatures });
        ended({ status: "done", report });
      },
      (cause: unknown) => {
        clearTimeout(timer);
        if (!live) return;
        // an error ends the walk as surely as a verdict does: whoever waits for it is told
        const message = describeError(cause).message;
        setState({ status: "error", report: latest, message, verifyMs: Math.round(performance.now() - started) });
        ended({ status: "error", report: latest, message });
      },
    );
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [client, runtime, target]);

  const report = state.report;
  const done = state.status !== "running";
  const ok = state.status === "done" && state.report.ok;
  const checks = report?.sections.flatMap((s) => s.checks) ?? [];
  const failed = checks.filter((c) => !c.ok);
  return (
    <section
      data-testid="lineage"
      data-state={done ? "done" : "running"}
      data-verify-ms={done ? state.verifyMs : undefined}
      data-ok={done ? String(ok) : undefined}
      aria-busy={!done}
      aria-labelledby="lineage-summary"
    >
      <p
        id="lineage-summary"
        role="status"
        className={`status ${!done ? "status--pending" : ok ? "status--ok" : "status--bad"}`}
      >
        {state.status === "running"
          ? `Checking in your browser… ${checks.length} link${checks.length === 1 ? "" : "s"} decided so far.`
          : state.status === "error"
            ? `Could not finish the checks: ${state.message} ${again}`
            : ok
              ? `Every link verified: ${checks.filter((c) => !c.skipped).length} PASS${
                  checks.some((c) => c.skipped) ? `, ${checks.filter((c) => c.skipped).length} SKIP` : ""
                }, in ${state.verifyMs} ms (device signatures with ${state.signatures}).`
              : `FAIL: ${failed.length} link${failed.length === 1 ? "" : "s"} broke, first “${failed[0]?.link}”: ${failed[0]?.detail} (${state.verifyMs} ms).`}
      </p>
      {state.status === "error" ? (
        <ul className={styles.links}>
          <li data-link="verification" data-verdict="FAIL">
            <span className={`badge badge--bad ${styles.verdict}`}>FAIL</span>
            <strong>verification</strong>
            <span className={styles.detail}>{state.message}</span>
          </li>
        </ul>
      ) : null}
      <ol className={styles.walk}>
        {report?.sections.map((s) => (
          <Step key={s.key} section={s} target={target} />
        ))}
      </ol>
    </section>
  );
}

/**
 * A section re-renders only when it changed: every progress report copies all sections, but a
 * section's checks are only ever appended (decided links never change), so the same length, state
 * and evidence mean the same rows.
 */
const Step = memo(
  StepRows,
  (a, b) =>
    a.target === b.target &&
    a.section.key === b.section.key &&
    a.section.kind === b.section.kind &&
    a.section.title === b.section.title &&
    a.section.done === b.section.done &&
    a.section.checks.length === b.section.checks.length &&
    a.section.evidence === b.section.evidence &&
    a.section.attestationId === b.section.attestationId &&
    a.section.tokenId === b.section.tokenId,
);

/** The sdk's shortfall and correction links (verifyLineage `shortfallsSettled`): on a FAIL, where to record them. */
const SHORTFALL_LINK = /^(?:periods above the baseline|corrections) recorded \(project (\d+)\)$/;
function RecordShortfalls({ link, verdict }: { link: string; verdict: string }) {
  const project = SHORTFALL_LINK.exec(link)?.[1];
  if (!project || verdict !== "FAIL") return null;
  return (
    <span className={styles.detail}>
      <Link href={`/audit/project/${project}`}>Record them with a wallet</Link>
    </span>
  );
}

function StepRows({ section: s, target }: { section: LineageSection; target: LineageTarget }) {
  const verdict = s.checks.some((c) => !c.ok) ? "FAIL" : s.done ? "PASS" : "running";
  return (
    <li className={styles.step} data-section={s.key} data-verdict={verdict} aria-busy={!s.done}>
      <h2>{s.title}</h2>
      <Evidence section={s} target={target} />
      <ul className={styles.links} aria-label={`Checks: ${s.title}`}>
        {s.checks.map((c, i) => {
          const v = verdictOf(c);
          return (
            <li key={`${c.link}-${i}`} data-link={c.link} data-verdict={v}>
              <span
                className={`badge ${v === "PASS" ? "badge--ok" : v === "FAIL" ? "badge--bad" : "badge--warn"} ${styles.verdict}`}
              >
                {v}
              </span>
              <strong>{c.link}</strong>
              <span className={styles.detail}>{c.detail}</span>
              <RecordShortfalls link={c.link} verdict={v} />
            </li>
          );
        })}
        {!s.done ? (
          <li className="muted" aria-hidden="true">
            checking…
          </li>
        ) : null}
      </ul>
    </li>
  );
}

function Evidence({ section: s, target }: { section: LineageSection; target: LineageTarget }) {
  const runtime = useRuntimeConfig();
  if (s.kind === "retirement" && "certificateId" in target)
    return (
      <p className={styles.evidence}>
        <Link href={`/certificate/${target.certificateId}`}>Certificate page</Link> (the contract&apos;s own rendering
        and record)
      </p>
    );
  if (s.kind === "credit" && s.tokenId !== undefined)
    return (
      <p className={styles.evidence}>
        <Link href={`/credit/${s.tokenId}`}>Credit page</Link> (issuances, supply and market)
      </p>
    );
  const e = s.evidence;
  if (s.kind !== "attestation" || !e) return null;
  const h = e.header;
  const facility = idString(h.facilityId);
  return (
    <div className={styles.evidence}>
      <dl className="facts">
        <dt>Facility</dt>
        <dd>{runtime.facilities[facility]?.name ? `${runtime.facilities[facility]?.name} (${facility})` : facility}</dd>
        <dt>Period (UTC)</dt>
        <dd>
          {formatDate(h.periodStart)} {new Date(Number(h.periodStart) * 1000).toISOString().slice(11, 16)} to{" "}
          {formatDate(h.periodEnd)} {new Date(Number(h.periodEnd) * 1000).toISOString().slice(11, 16)}
        </dd>
        <dt>Readings</dt>
        <dd>{h.readingCount.toLocaleString("en")}</dd>
        <dt>Attested fossil emissions (g CO2e)</dt>
        <dd>{h.fossilCo2eGrams.toLocaleString("en")}</dd>
        <dt>Biogenic CO2 (g, reported apart)</dt>
        <dd>{h.biogenicCo2Grams.toLocaleString("en")}</dd>
        <dt>Evidence bundle</dt>
        <dd className="mono">
          <a href={bundleUrl(runtime, h.bundleCid)}>{h.bundleCid}</a>
          {e.bundleBytes !== undefined ? ` (${e.bundleBytes.toLocaleString("en")} bytes)` : ""}
        </dd>
        <dt>Submitted in</dt>
        <dd className="mono">
          {runtime.explorerUrl ? <a href={`${runtime.explorerUrl}/tx/${e.txHash}`}>{e.txHash}</a> : e.txHash} (block{" "}
          {e.blockNumber.toString()})
        </dd>
        {s.attestationId ? (
          <>
            <dt>In the explorer</dt>
            <dd>
              <Link href={`/explorer/attestations/${s.attestationId}`}>
                Attestation {s.attestationId.slice(0, 10)}…
              </Link>
            </dd>
          </>
        ) : null}
      </dl>
      {e.readings && e.readings.length > 0 ? (
        <div className="table-wrap">
          <table className={`cards-mobile ${styles.readings}`}>
            <caption>First {e.readings.length} signed readings of the bundle</caption>
            <thead>
              <tr>
                <th scope="col">Device</th>
                <NumTh>Seq</NumTh>
                <th scope="col">Time (UTC)</th>
                <NumTh>Fossil CO2e (mg)</NumTh>
                <th scope="col">Digest</th>
              </tr>
            </thead>
            <tbody>
              {e.readings.map((r) => (
                <tr key={r.digest}>
                  <td data-label="Device">{r.deviceId}</td>
                  <td data-label="Seq" className="num">
                    {r.seq}
                  </td>
                  <td data-label="Time (UTC)">{new Date(r.ts * 1000).toISOString().slice(0, 19).replace("T", " ")}</td>
                  <td data-label="Fossil CO2e (mg)" className="num">
                    {Number(r.fossilCo2eMg).toLocaleString("en")}
                  </td>
                  <td data-label="Digest" className="mono">
                    <Link href={auditHref("reading", r.digest)}>{r.digest.slice(0, 14)}…</Link>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </div>
  );
}
