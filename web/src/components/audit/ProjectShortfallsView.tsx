"use client";

import Link from "next/link";
import { useState } from "react";
import type { Hex } from "viem";
import { useAccount } from "wagmi";
import { useRuntimeConfig } from "@/app/providers.tsx";
import { Table, type Column } from "@/components/explorer/Table.tsx";
import { TxStatus } from "@/components/TxStatus.tsx";
import { WalletButton } from "@/components/WalletButton.tsx";
import { carbonCreditsAbi } from "@/lib/chain/abis.ts";
import { walkEventOptions } from "@/lib/chain/events.ts";
import { useChainQuery, useTransaction } from "@/lib/chain/hooks.ts";
import { idString } from "@/lib/chain/reads.ts";
import { describeError } from "@/lib/errors.ts";
import { formatDateTime, formatGramsAsTonnes, shortHash } from "@/lib/explorer/format.ts";
import { parseProjectId } from "@/lib/ids.ts";
import type { BatchHeader } from "../../../../sdk/src/eip712/batchHeader.ts";
import {
  projectShortfalls,
  type UnrecordedCorrection,
  type UnrecordedShortfall,
} from "../../../../sdk/src/verify/shortfalls.ts";

/**
 * The page's one transaction form (every Record button sends through it, one at a time); the
 * page's path, /audit/project/<id>, tells the projects apart.
 */
const SHORTFALL_TX_KEY = "record";

const PERIOD: Column<{ header: BatchHeader }> = {
  label: "Period (UTC)",
  cell: (u) => `${formatDateTime(u.header.periodStart)} to ${formatDateTime(u.header.periodEnd)}`,
};

function attestationColumn<R>(label: string, id: (row: R) => Hex): Column<R> {
  return {
    label,
    cell: (u) => (
      <Link href={`/explorer/attestations/${id(u)}`} className="mono">
        {shortHash(id(u))}
      </Link>
    ),
  };
}

/**
 * `/audit/project/<id>`: the project's periods above its baseline, their challenge window over,
 * that nobody has recorded (CarbonCredits.recordShortfall), found in this browser by the sdk's
 * `projectShortfalls` (the audit walk's and `carbonproof shortfalls`' check), and a button per
 * period that records it with the connected wallet: anyone may, and should.
 *
 * A recording sent and not yet mined is remembered for this page (useTransaction's `key`,
 * pendingTx.ts): after a reload the page waits for it again, from its first render rather than
 * once the attestations are read, and keeps every Record button disabled until it settles.
 */
export function ProjectShortfallsView({ id }: { id: string }) {
  const runtime = useRuntimeConfig();
  const tx = useTransaction({ key: SHORTFALL_TX_KEY });
  const projectId = parseProjectId(id);
  const credits = runtime.addresses.CarbonCredits;
  const registry = runtime.addresses.AttestationRegistry;
  const q = useChainQuery(
    ["project-shortfalls", id],
    async (client, deployment) => {
      if (typeof projectId === "string" || !credits || !registry) return null;
      const count = Number(
        await client.readContract({ address: credits, abi: carbonCreditsAbi, functionName: "projectCount" }),
      );
      if (projectId > count) return { missing: count } as const;
      return projectShortfalls({
        client,
        registry,
        credits,
        projectId,
        // from the deployment's block, in the configured ranges (as the page's other reads)
        ...(deployment.events ? walkEventOptions(deployment.events) : {}),
      });
    },
    { enabled: typeof projectId === "number" && Boolean(credits && registry) },
  );
  if (typeof projectId === "string")
    return (
      <p role="alert" className="status status--bad">
        {projectId}
      </p>
    );
  if (!credits || !registry)
    return (
      <p role="alert" className="status status--bad">
        No CarbonCredits or AttestationRegistry address is configured for this chain.
      </p>
    );
  return (
    <>
      <p>
        A period whose attested fossil emissions exceed the project&apos;s baseline earns no credit, and its excess is
        owed by the project once someone records it: the project&apos;s next credits cover it first. Until then, the
        credits of its other periods can exceed its net reduction. The same holds for a correction batch (readings that
        arrived late): its grams count only once it is recorded. Anyone may record either once its challenge window is
        over; the transaction costs gas only. The same check is{" "}
        <code>carbonproof shortfalls --project {projectId}</code>.
      </p>
      {q.isPending ? (
        <p role="status" className="status status--pending">
          Asking each of the facility&apos;s attestations…
        </p>
      ) : q.isError ? (
        <p role="alert" className="status status--bad">
          Could not read the chain: {describeError(q.error).message}
        </p>
      ) : q.data === null ? null : "missing" in q.data ? (
        <p role="alert" className="status status--bad" data-testid="project-missing">
          Project {projectId} is not registered: CarbonCredits has {q.data.missing} project
          {q.data.missing === 1 ? "" : "s"}.
        </p>
      ) : (
        <Shortfalls projectId={projectId} data={q.data} credits={credits} tx={tx} />
      )}
      <TxStatus state={tx.state} explorerUrl={runtime.explorerUrl} />
    </>
  );
}

function Shortfalls({
  projectId,
  credits,
  data,
  tx,
}: {
  projectId: number;
  credits: `0x${string}`;
  data: Awaited<ReturnType<typeof projectShortfalls>>;
  tx: ReturnType<typeof useTransaction>;
}) {
  const { address } = useAccount();
  const [sending, setSending] = useState<string | null>(null);
  const record = async (rows: UnrecordedShortfall[]) => {
    for (const u of rows) {
      setSending(u.attestationId);
      const r = await tx.send({
        label: `Record the period of ${shortHash(u.attestationId)} above the baseline`,
        address: credits,
        abi: carbonCreditsAbi,
        functionName: "recordShortfall",
        args: [projectId, u.header],
        undone: "the period was not recorded",
      });
      if (!r.ok) break;
    }
    setSending(null);
  };
  const recordCorrection = async (u: UnrecordedCorrection) => {
    setSending(u.attestationId);
    await tx.send({
      label: `Record the correction ${shortHash(u.attestationId)}`,
      address: credits,
      abi: carbonCreditsAbi,
      functionName: "recordCorrection",
      args: [u.header],
      undone: "the correction was not recorded",
    });
    setSending(null);
  };
  const anything = data.unrecorded.length + data.unrecordedCorrections.length > 0;
  /** The Record button of a row: waits for a wallet, one transaction at a time. */
  const recordColumn = <R extends { attestationId: Hex }>(
    what: string,
    onRecord: (row: R) => void,
    after = "",
  ): Column<R> => ({
    label: "Record",
    cell: (u) => (
      <button
        type="button"
        disabled={!address || tx.busy}
        aria-label={`${what} ${u.attestationId}${after ? ` ${after}` : ""}`}
        onClick={() => onRecord(u)}
      >
        {sending === u.attestationId ? "Recording…" : "Record"}
      </button>
    ),
  });
  const total = data.unrecorded.reduce((s, u) => s + u.excessGrams, 0n);
  return (
    <>
      <dl className="facts" data-testid="project-facts">
        <dt>Facility</dt>
        <dd>
          <Link href={`/explorer/facilities/${idString(data.facilityId)}`} title={data.facilityId}>
            {idString(data.facilityId)}
          </Link>
        </dd>
        <dt>Regular attestations</dt>
        <dd>
          {data.regular} ({data.settled} issued or recorded)
        </dd>
        <dt>Owed by the project</dt>
        <dd data-testid="owed">{formatGramsAsTonnes(data.owedGrams)} t CO2e</dd>
      </dl>
      {data.unasked.length > 0 ? (
        <p role="alert" className="status status--bad">
          {data.unasked.length} attestation(s) could not be asked, so this list may be incomplete: {data.unasked[0]}.
          Reload to ask again.
        </p>
      ) : null}
      {!anything && data.unasked.length === 0 ? (
        <p role="status" className="status status--ok" data-testid="shortfalls-none">
          Nothing to record: no period of project {projectId} is above its baseline and unrecorded, and every correction
          batch of its facility is recorded.
        </p>
      ) : null}
      {data.unrecordedCorrections.length > 0 ? (
        <section aria-labelledby="corrections-heading">
          <h2 id="corrections-heading">
            {data.unrecordedCorrections.length} correction batch
            {data.unrecordedCorrections.length === 1 ? "" : "es"} not recorded: their grams count against nothing yet
          </h2>
          <p>
            Record these first: a correction of an unissued period adds its grams to that period, which may take it over
            the baseline.
          </p>
          <Table
            testId="corrections-table"
            caption={`Correction batches of project ${projectId}'s facility not recorded on CarbonCredits (t CO2e).`}
            rows={data.unrecordedCorrections}
            rowKey={(u) => u.attestationId}
            columns={[
              PERIOD,
              attestationColumn<UnrecordedCorrection>("Correction", (u) => u.attestationId),
              attestationColumn<UnrecordedCorrection>("Corrects", (u) => u.corrects),
              { label: "Fossil, t", num: true, cell: (u) => formatGramsAsTonnes(u.fossilCo2eGrams) },
              recordColumn<UnrecordedCorrection>("Record the correction", (u) => void recordCorrection(u)),
            ]}
          />
        </section>
      ) : null}
      {data.unrecorded.length === 0 ? null : (
        <section aria-labelledby="unrecorded-heading">
          <h2 id="unrecorded-heading">
            {data.unrecorded.length} period{data.unrecorded.length === 1 ? "" : "s"} not recorded,{" "}
            {formatGramsAsTonnes(total)} t CO2e the project does not owe yet
          </h2>
          <Table
            testId="shortfalls-table"
            caption={`Periods of project ${projectId} above its baseline, oldest first (t CO2e).`}
            rows={data.unrecorded}
            rowKey={(u) => u.attestationId}
            columns={[
              PERIOD,
              attestationColumn<UnrecordedShortfall>("Attestation", (u) => u.attestationId),
              { label: "Attested fossil, t", num: true, cell: (u) => formatGramsAsTonnes(u.header.fossilCo2eGrams) },
              { label: "Above the baseline, t", num: true, cell: (u) => formatGramsAsTonnes(u.excessGrams) },
              recordColumn<UnrecordedShortfall>("Record the period of", (u) => void record([u]), "above the baseline"),
            ]}
          />
          {address && data.unrecorded.length > 1 ? (
            <p>
              <button type="button" disabled={tx.busy} onClick={() => void record(data.unrecorded)}>
                Record all {data.unrecorded.length}, one transaction each
              </button>
            </p>
          ) : null}
        </section>
      )}
      {anything && !address ? (
        <div className="panel">
          <p>Connect a wallet to record them.</p>
          <WalletButton />
        </div>
      ) : null}
    </>
  );
}
