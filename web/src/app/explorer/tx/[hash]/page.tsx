import type { Metadata } from "next";
import styles from "@/components/explorer/explorer.module.css";
import Link from "next/link";
import type { Hex } from "@carbonproof/subgraph/client";
import { readExplorerDetail, runtimeOnce } from "@/components/explorer/data.ts";
import { AccountLink, Time } from "@/components/explorer/Links.tsx";
import { readTransaction } from "@/components/explorer/receipt.ts";
import { notFound } from "next/navigation";
import { IndexerStatus, IndexerUnavailable, NotIndexedYet } from "@/components/explorer/Status.tsx";
import { Table } from "@/components/explorer/Table.tsx";
import { Badge } from "@/components/explorer/tables.tsx";
import { formatCount } from "@/lib/explorer/format.ts";
import { explorerDetails } from "@/lib/explorer/detail.ts";
import { wellFormed } from "@/lib/explorer/notFound.ts";
import { HIT_KIND_LABEL, hitHref } from "@/lib/explorer/search.ts";
import { eventArgs } from "@/lib/explorer/txEvents.ts";
import { decodeParam } from "@/lib/params.ts";

export const metadata: Metadata = { title: "Transaction" };

export default async function TransactionPage({ params }: { params: Promise<{ hash: string }> }) {
  const raw = decodeParam((await params).hash);
  if (!wellFormed("tx", raw)) notFound();
  const hash = raw.toLowerCase() as Hex;
  // The receipt first: when the chain shows CarbonProof events of it, an indexer miss is settled
  // (lib/explorer/detail.ts) so that a transaction mined a moment ago shows what the indexer links to it.
  const tx = await readTransaction(hash);
  const read = await readExplorerDetail(explorerDetails.transaction(hash, tx.ok && !!tx.facts?.events.length));
  const runtime = runtimeOnce();
  const heading = (
    <h1>
      Transaction <span className="mono">{hash}</span>
    </h1>
  );
  if (!read.ok)
    return (
      <>
        {heading}
        <IndexerUnavailable failure={read} what="this transaction" />
      </>
    );
  const behind = read.detail.presence === "unknown" ? read.detail : undefined;
  const hits = (read.detail.presence === "present" ? read.detail.data : []).map((h) => ({ hit: h, href: hitHref(h) }));
  const own = hits.filter((r) => r.hit.kind === "transaction");
  const touched = hits.filter((r) => r.hit.kind !== "transaction");
  if (!hits.length && tx.ok && !tx.facts) notFound();
  return (
    <>
      {heading}
      <IndexerStatus status={read.status} />
      {own.map((r) => (
        <p key={r.hit.label} data-testid="tx-summary">
          {r.hit.label}
        </p>
      ))}
      {behind ? (
        <NotIndexedYet
          what="transaction"
          term={hash}
          href={`/explorer/tx/${hash}`}
          indexedBlock={behind.indexedBlock}
          head={behind.head}
        >
          <p>Its receipt below is read from the chain itself.</p>
        </NotIndexedYet>
      ) : !hits.length ? (
        <p>The indexer holds no CarbonProof event of this transaction.</p>
      ) : null}
      {touched.length ? (
        <Table
          caption="What the indexer links to this transaction."
          columns={[
            { label: "What", cell: (r) => HIT_KIND_LABEL[r.hit.kind] },
            { label: "Page", cell: (r) => <Link href={r.href}>{r.hit.label}</Link> },
          ]}
          rows={touched}
          rowKey={(r) => r.href}
        />
      ) : null}

      {!tx.ok ? (
        <p role="alert" className="status status--bad">
          The transaction&apos;s events cannot be shown: {tx.message}
        </p>
      ) : tx.facts ? (
        <>
          <section className="panel" aria-labelledby="receipt-heading">
            <h2 id="receipt-heading" className={styles.panelHeading}>
              Receipt
            </h2>
            <dl className="facts">
              <dt>Status</dt>
              <dd>
                {tx.facts.status === "success" ? <Badge tone="ok">Success</Badge> : <Badge tone="bad">Reverted</Badge>}
              </dd>
              <dt>Block</dt>
              <dd>{formatCount(tx.facts.blockNumber)}</dd>
              <dt>Time</dt>
              <dd>
                <Time at={tx.facts.timestamp} />
              </dd>
              <dt>From</dt>
              <dd>
                <AccountLink address={tx.facts.from} full />
              </dd>
              <dt>To</dt>
              <dd>{tx.facts.to ? <span className="mono">{tx.facts.to}</span> : "contract creation"}</dd>
            </dl>
          </section>
          <h2>CarbonProof events</h2>
          {tx.facts.events.length ? (
            <Table
              testId="tx-events"
              caption={`Events of the CarbonProof contracts in this transaction, in log order (amounts in chain units: kg of credits, g CO2e, token base units)${
                tx.facts.otherLogs
                  ? `; ${tx.facts.otherLogs} other log(s), e.g. the payment token's, are not shown`
                  : ""
              }.`}
              columns={[
                { label: "Log", num: true, cell: (e) => e.logIndex },
                { label: "Event", cell: (e) => `${e.contract}.${e.eventName}` },
                {
                  label: "Arguments",
                  cell: (e) => (
                    <dl className="facts">
                      {eventArgs(e).map((a) => (
                        <div key={a.name} style={{ display: "contents" }}>
                          <dt>{a.name}</dt>
                          <dd className="mono">{a.href ? <Link href={a.href}>{a.text}</Link> : a.text}</dd>
                        </div>
                      ))}
                    </dl>
                  ),
                },
              ]}
              rows={tx.facts.events}
              rowKey={(e) => String(e.logIndex)}
            />
          ) : (
            <p>This transaction emitted no event of the CarbonProof contracts.</p>
          )}
        </>
      ) : null}
      {runtime.explorerUrl ? (
        <p>
          <a href={`${runtime.explorerUrl.replace(/\/$/, "")}/tx/${hash}`}>Open on the chain&apos;s block explorer</a>
        </p>
      ) : null}
    </>
  );
}
