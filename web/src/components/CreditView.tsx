"use client";

import Link from "next/link";
import { useRuntimeConfig } from "@/app/providers.tsx";
import { bundleUrl } from "@/lib/config.ts";
import { useChainQuery } from "@/lib/chain/hooks.ts";
import {
  ISSUANCE_PAGE_SIZE,
  idString,
  issuanceCursor,
  issuancePage,
  methodologyLabel,
  readCreditFacts,
  type IssuanceCursor,
} from "@/lib/chain/reads.ts";
import { describeError } from "@/lib/errors.ts";
import { decodeCreditId, parseUintId } from "@/lib/ids.ts";
import { formatDate, formatTonnes, shortAddress } from "@/lib/units.ts";
import { ATTESTATION_STATE, allPass, attestedReadings, creditChecks } from "@/lib/verification.ts";
import { Checks, VerifiedBadge } from "./Checks.tsx";
import { NumTh } from "@/components/NumTh.tsx";
import { CursorPager, CursorRefused } from "@/components/explorer/CursorPager.tsx";

export function CreditView({ id, cursor = {} }: { id: string; cursor?: IssuanceCursor }) {
  const runtime = useRuntimeConfig();
  const tokenId = parseUintId(id);
  const q = useChainQuery(["credit", id], (client, addresses) => readCreditFacts(client, addresses, tokenId!), {
    enabled: tokenId !== undefined,
  });
  if (tokenId === undefined)
    return (
      <p role="alert" className="status status--bad">
        “{id}” is not a credit id (a credit id is a decimal number).
      </p>
    );
  const { projectId, vintage } = decodeCreditId(tokenId);
  return (
    <>
      <h1>
        Credit {tokenId.toString()}{" "}
        <span className="muted">
          (project {projectId.toString()}, vintage {vintage})
        </span>
      </h1>
      {q.isPending ? <p role="status">Reading the credit from the chain…</p> : null}
      {q.isError ? (
        <p role="alert" className="status status--bad">
          Could not read this credit: {describeError(q.error).message}
        </p>
      ) : null}
      {q.data ? (
        <CreditDetails
          facts={q.data}
          facilityName={runtime.facilities[idString(q.data.facilityId)]?.name}
          cursor={cursor}
        />
      ) : null}
    </>
  );
}

function CreditDetails({
  facts,
  facilityName,
  cursor,
}: {
  facts: Awaited<ReturnType<typeof readCreditFacts>>;
  facilityName: string | undefined;
  cursor: IssuanceCursor;
}) {
  const runtime = useRuntimeConfig();
  const checks = creditChecks(facts);
  const page = issuancePage(facts.issuances, cursor);
  const path = `/credit/${facts.tokenId}`;
  const facility = idString(facts.facilityId);
  if (facts.projectId === 0 || facts.facilityId === `0x${"00".repeat(32)}`)
    return <p role="alert">No project is registered for this credit id: nothing was ever issued under it.</p>;
  return (
    <>
      <section className="panel" aria-labelledby="summary-heading">
        <h2 id="summary-heading">
          {facts.projectName} <VerifiedBadge verified={allPass(checks)} />
        </h2>
        <dl className="facts">
          <dt>Facility</dt>
          <dd>{facilityName ? `${facilityName} (${facility})` : facility}</dd>
          <dt>Methodology</dt>
          <dd>{methodologyLabel(facts.methodologyId)}</dd>
          <dt>Vintage</dt>
          <dd>{facts.vintage}</dd>
          <dt>Issued</dt>
          <dd data-testid="issued">{formatTonnes(facts.issuedKg)}</dd>
          <dt>Retired</dt>
          <dd data-testid="retired">
            {formatTonnes(facts.retiredKg)} in {facts.retirements.toString()} retirement
            {facts.retirements === 1n ? "" : "s"}
          </dd>
          <dt>In circulation</dt>
          <dd data-testid="supply">{formatTonnes(facts.totalSupplyKg)}</dd>
          <dt>Signed readings behind it</dt>
          <dd>{attestedReadings(facts).toLocaleString("en")}</dd>
        </dl>
        <p className="actions">
          <Link className="button secondary" href={`/?q=${encodeURIComponent(facts.projectName)}`}>
            Listings of this project
          </Link>
          <Link className="button secondary" href={`/audit/credit/${facts.tokenId}`} data-testid="audit-trail-link">
            Audit trail: back to the signed readings
          </Link>
        </p>
      </section>
      <section aria-labelledby="checks-heading">
        <h2 id="checks-heading">On-chain checks</h2>
        <Checks checks={checks} label="Checks of this credit" />
        <p className="muted" data-testid="checks-scope">
          The checks are over all {page.total.toLocaleString("en")} issuance{page.total === 1 ? "" : "s"} of this credit
          and their attestations; the table below shows {ISSUANCE_PAGE_SIZE} at a time.
        </p>
      </section>
      <section id="issuances" aria-labelledby="issuances-heading">
        <h2 id="issuances-heading">Issuances and the attestations behind them</h2>
        {page.refused ? <CursorRefused message={page.refused} href={`${path}#issuances`} /> : null}
        {page.total > 0 ? (
          <p className="muted" data-testid="issuances-range">
            Issuances {page.first.toLocaleString("en")}–{(page.first + page.rows.length - 1).toLocaleString("en")} of{" "}
            {page.total.toLocaleString("en")}, newest first.
          </p>
        ) : null}
        <div className="table-wrap">
          <table className="cards-mobile">
            <thead>
              <tr>
                <th scope="col">Issued on</th>
                <NumTh>Amount</NumTh>
                <NumTh>Bound</NumTh>
                <th scope="col">Attestation</th>
                <th scope="col">Period (UTC)</th>
                <NumTh>Readings</NumTh>
                <NumTh>Attested fossil emissions</NumTh>
                <th scope="col">Quorum</th>
                <th scope="col">Evidence bundle</th>
                <th scope="col">State</th>
              </tr>
            </thead>
            <tbody>
              {page.rows.map((i) => {
                const h = i.attestation.header;
                return (
                  <tr key={issuanceCursor(i)}>
                    <td data-label="Issued on">{formatDate(i.issuedAt)}</td>
                    <td data-label="Amount" className="num">
                      {formatTonnes(i.amountKg)}
                    </td>
                    <td data-label="Bound" className="num">
                      {formatTonnes(i.boundKg)}
                    </td>
                    <td data-label="Attestation" className="mono" title={i.attestationId}>
                      {i.attestationId.slice(0, 18)}…
                    </td>
                    <td data-label="Period (UTC)">
                      {h
                        ? `${new Date(Number(h.periodStart) * 1000).toISOString().slice(0, 16).replace("T", " ")} – ${new Date(Number(h.periodEnd) * 1000).toISOString().slice(11, 16)}`
                        : "—"}
                    </td>
                    <td data-label="Readings" className="num">
                      {h?.readingCount.toLocaleString("en") ?? "—"}
                    </td>
                    <td data-label="Attested fossil emissions" className="num">
                      {h ? formatTonnes(h.fossilCo2eGrams / 1000n) : "—"}
                    </td>
                    <td data-label="Quorum">
                      {i.attestation.signers.map((s) => (
                        <span key={s} className="mono" title={s}>
                          {shortAddress(s)}{" "}
                        </span>
                      ))}
                    </td>
                    <td data-label="Evidence bundle" className="mono">
                      {h ? (
                        <a href={bundleUrl(runtime, h.bundleCid)} data-testid="bundle-link" title={h.bundleCid}>
                          Signed readings
                          <span className="visually-hidden">: evidence bundle {h.bundleCid}</span>
                        </a>
                      ) : (
                        "—"
                      )}
                    </td>
                    <td data-label="State">
                      {i.attestation.revoked ? "revoked" : (ATTESTATION_STATE[i.attestation.useState] ?? "?")}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
        <CursorPager
          path={path}
          active={{}}
          page={page}
          pageSize={ISSUANCE_PAGE_SIZE}
          label="Issuances"
          anchor="issuances"
        />
        <p className="muted">
          Each attestation commits to its readings with a SHA-256 Merkle root; the evidence bundle (readings,
          signatures, factors) is content-addressed by its CID, so any reading can be checked against the root with the{" "}
          <code>carbonproof</code> CLI.
        </p>
      </section>
    </>
  );
}
