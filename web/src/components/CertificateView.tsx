"use client";

import Link from "next/link";
import { useState } from "react";
import { useRuntimeConfig } from "@/app/providers.tsx";
import { runtimeEventReads } from "@/lib/chain/events.ts";
import { useChainQuery, useReader } from "@/lib/chain/hooks.ts";
import { idString, methodologyLabel, readCertificateFacts } from "@/lib/chain/reads.ts";
import { describeError } from "@/lib/errors.ts";
import { parseUintId } from "@/lib/ids.ts";
import { formatDate, formatTonnes } from "@/lib/units.ts";
import { allPass, attestedReadings, certificateChecks, type Check } from "@/lib/verification.ts";
import { Checks } from "./Checks.tsx";

export function CertificateView({ id }: { id: string }) {
  const runtime = useRuntimeConfig();
  const reader = useReader();
  const certificateId = parseUintId(id);
  const q = useChainQuery(["certificate", id], (c, a) => readCertificateFacts(c, a, certificateId!), {
    enabled: certificateId !== undefined,
  });
  const [verification, setVerification] = useState<
    | { status: "idle" }
    | { status: "running" }
    | { status: "done"; checks: Check[]; at: string }
    | { status: "error"; message: string }
  >({ status: "idle" });

  if (certificateId === undefined)
    return (
      <p role="alert" className="status status--bad">
        “{id}” is not a certificate id.
      </p>
    );
  if (q.isPending) return <p role="status">Reading certificate from the chain…</p>;
  if (q.isError)
    return (
      <>
        <h1>Retirement certificate</h1>
        <p role="alert" className="status status--bad">
          No such certificate on {runtime.chainName}, or it could not be read: {describeError(q.error).message}
        </p>
      </>
    );
  const f = q.data;
  const r = f.record;

  async function verify() {
    setVerification({ status: "running" });
    try {
      // Fresh reads straight from the chain, not the page's cached data.
      // from the deployment's block in the configured ranges, as the page's first read
      const fresh = await readCertificateFacts(
        reader,
        { ...runtime.addresses, events: runtimeEventReads(runtime) },
        certificateId!,
      );
      setVerification({ status: "done", checks: certificateChecks(fresh), at: new Date().toISOString() });
    } catch (cause) {
      setVerification({ status: "error", message: describeError(cause).message });
    }
  }

  const facility = idString(f.credit.facilityId);
  return (
    <article aria-labelledby="cert-heading">
      <h1 id="cert-heading">Retirement certificate</h1>
      <p className="muted">
        Public record on {runtime.chainName}. Anyone can open this page and check it against the chain without a wallet.
      </p>
      <div className="grid-2">
        {f.imageDataUri ? (
          <figure className="certificate-art" style={{ margin: 0 }}>
            {/* eslint-disable-next-line @next/next/no-img-element -- an on-chain data: URI, nothing to optimise */}
            <img
              src={f.imageDataUri}
              alt={`Certificate: ${formatTonnes(r.amountKg)} retired for ${r.beneficiaryName || r.beneficiary}, reason: ${r.reason}`}
            />
            <figcaption className="muted">
              The image is rendered by the certificate contract itself (tokenURI).
            </figcaption>
          </figure>
        ) : null}
        <section className="panel" aria-label="Certificate record">
          <dl className="facts" data-testid="certificate-record">
            <dt>Amount retired</dt>
            <dd data-testid="cert-amount">{formatTonnes(r.amountKg)}</dd>
            <dt>Beneficiary</dt>
            <dd data-testid="cert-beneficiary">{r.beneficiaryName || "—"}</dd>
            <dt>Beneficiary address</dt>
            <dd className="mono">{r.beneficiary}</dd>
            <dt>Retired by</dt>
            <dd className="mono">{r.retiree}</dd>
            <dt>Reason</dt>
            <dd data-testid="cert-reason">{r.reason || "—"}</dd>
            <dt>Retired on</dt>
            <dd>{formatDate(r.retiredAt)} (UTC)</dd>
            {r.consumptionCountry ? (
              <>
                <dt>Consumption country</dt>
                <dd>{r.consumptionCountry}</dd>
              </>
            ) : null}
            {r.consumptionEnd ? (
              <>
                <dt>Consumption period</dt>
                <dd>
                  {formatDate(r.consumptionStart)} to {formatDate(r.consumptionEnd - 1n)}
                </dd>
              </>
            ) : null}
            <dt>Credit</dt>
            <dd>
              <Link href={`/credit/${r.creditId}`}>
                {f.credit.projectName}, vintage {f.credit.vintage}
              </Link>
            </dd>
            <dt>Facility</dt>
            <dd>{runtime.facilities[facility]?.name ?? facility}</dd>
            <dt>Methodology</dt>
            <dd>{methodologyLabel(f.credit.methodologyId)}</dd>
            <dt>Signed readings behind the credit</dt>
            <dd>{attestedReadings(f.credit).toLocaleString("en")}</dd>
            <dt>Certificate id</dt>
            <dd className="mono">{r.certificateId.toString()}</dd>
            {f.retirement ? (
              <>
                <dt>Retirement transaction</dt>
                <dd className="mono">{f.retirement.txHash}</dd>
              </>
            ) : null}
          </dl>
        </section>
      </div>
      <section aria-labelledby="verify-heading" className="panel">
        <h2 id="verify-heading">Verify this certificate</h2>
        <p>
          Checks, in your browser and against the chain directly: the certificate is held by its beneficiary and cannot
          be transferred, the credits were burned for it, the rendering matches the record, and the retired credit is
          backed by quorum-signed attestations of sensor readings (each header re-hashed here).
        </p>
        <div className="actions no-print">
          <button
            type="button"
            onClick={() => void verify()}
            disabled={verification.status === "running"}
            data-testid="verify"
          >
            {verification.status === "running" ? "Verifying…" : "Verify this certificate"}
          </button>
          <button type="button" className="secondary" onClick={() => window.print()}>
            Print
          </button>
          <Link className="button secondary" href={`/credit/${r.creditId}`}>
            Readings and attestations behind it
          </Link>
          <Link
            className="button secondary"
            href={`/audit/certificate/${r.certificateId}`}
            data-testid="audit-trail-link"
          >
            Audit trail: every link checked in your browser
          </Link>
        </div>
        <div aria-live="polite">
          {verification.status === "done" ? (
            <>
              <p
                className={`status ${allPass(verification.checks) ? "status--ok" : "status--bad"}`}
                data-testid="verify-result"
                data-ok={allPass(verification.checks)}
              >
                {allPass(verification.checks)
                  ? `Verified: all ${verification.checks.length} checks passed (${verification.at}).`
                  : `Verification FAILED: ${verification.checks.filter((c) => !c.ok).length} of ${verification.checks.length} checks failed.`}
              </p>
              <Checks checks={verification.checks} label="Certificate checks" />
            </>
          ) : null}
          {verification.status === "error" ? (
            <p role="alert" className="status status--bad">
              Could not verify: {verification.message}
            </p>
          ) : null}
        </div>
      </section>
    </article>
  );
}
