import type { Metadata } from "next";
import Link from "next/link";
import type { Hex } from "@carbonproof/subgraph/client";
import { readExplorerDetail } from "@/components/explorer/data.ts";
import { DetailList } from "@/components/explorer/DetailList.tsx";
import { CreditLink } from "@/components/explorer/Links.tsx";
import { notFound } from "next/navigation";
import { IndexerStatus, IndexerUnavailable, NotIndexedYet } from "@/components/explorer/Status.tsx";
import { Table } from "@/components/explorer/Table.tsx";
import { Badge, RetirementsTable, SalesTable, TransfersTable } from "@/components/explorer/tables.tsx";
import { ACCOUNT_RECENT, explorerDetails } from "@/lib/explorer/detail.ts";
import { parseCursor, toParams } from "@/lib/explorer/lists.ts";
import { wellFormed } from "@/lib/explorer/notFound.ts";
import { HIT_KIND_LABEL, hitHref } from "@/lib/explorer/search.ts";
import { formatTonnesNumber } from "@/lib/units.ts";
import { decodeParam } from "@/lib/params.ts";

export const metadata: Metadata = { title: "Account" };

const RECENT = ACCOUNT_RECENT;

type Props = {
  params: Promise<{ address: string }>;
  searchParams: Promise<Record<string, string | string[] | undefined>>;
};

export default async function AccountPage({ params, searchParams }: Props) {
  const raw = decodeParam((await params).address);
  if (!wellFormed("accounts", raw)) notFound();
  const address = raw.toLowerCase() as Hex;
  const cursor = parseCursor(toParams(await searchParams));
  const read = await readExplorerDetail(explorerDetails.account(address, cursor));
  if (!read.ok)
    return (
      <>
        <h1>Account</h1>
        <IndexerUnavailable failure={read} what="this account" />
      </>
    );
  // absent: nothing of this address is indexed, at the chain's head (said below); unknown: the indexer is behind
  const behind = read.detail.presence === "unknown" ? read.detail : undefined;
  const d =
    read.detail.presence === "present"
      ? read.detail.data
      : {
          holdings: { page: { rows: [], next: null, previous: null }, paged: false, refused: null },
          transfers: [],
          sales: [],
          retirements: [],
          oracle: undefined,
          hits: [],
        };
  const more = (rows: unknown[], list: string) =>
    rows.length > RECENT ? (
      <p>
        <Link href={`/explorer/${list}?account=${address}`}>All {list} of this account →</Link>
      </p>
    ) : null;
  const nothing =
    !d.holdings.page?.rows.length &&
    !d.holdings.paged &&
    !d.transfers.length &&
    !d.sales.length &&
    !d.retirements.length &&
    !d.oracle;
  return (
    <>
      <h1>
        Account <span className="mono">{raw}</span>
      </h1>
      <IndexerStatus status={read.status} />
      {d.oracle ? (
        <p>
          <Badge tone={d.oracle.active ? "ok" : "bad"}>
            Oracle node #{d.oracle.index}
            {d.oracle.active ? "" : " (removed)"}
          </Badge>{" "}
          co-signed {d.oracle.attestationsSigned} attestations. <Link href="/explorer/oracles">All oracle nodes</Link>
        </p>
      ) : null}
      {d.hits.length ? (
        <ul aria-label="Also known as">
          {d.hits.map((h) => (
            <li key={hitHref(h)}>
              {HIT_KIND_LABEL[h.kind]}: <Link href={hitHref(h)}>{h.label}</Link>
            </li>
          ))}
        </ul>
      ) : null}
      {behind ? (
        <NotIndexedYet
          what="account"
          term={raw}
          href={`/explorer/accounts/${raw}`}
          indexedBlock={behind.indexedBlock}
          head={behind.head}
        />
      ) : nothing ? (
        <p role="status">The indexer has no credits, trades or retirements of this address.</p>
      ) : null}

      <h2 id="holdings">Credits held</h2>
      <DetailList
        read={d.holdings}
        path={`/explorer/accounts/${address}`}
        anchor="holdings"
        label="holdings"
        none="No credits held."
        render={(rows) => (
          <Table
            testId="holdings-table"
            caption="Credit balances of this account, largest first (t CO2e; 1 credit = 1 kg)."
            columns={[
              { label: "Credit", cell: (h) => <CreditLink id={h.creditId} /> },
              { label: "Project", cell: (h) => h.projectName },
              { label: "Vintage", num: true, cell: (h) => h.vintage },
              { label: "Held, t CO2e", num: true, cell: (h) => formatTonnesNumber(h.amountKg) },
            ]}
            rows={rows}
            rowKey={(h) => h.creditId.toString()}
          />
        )}
      />

      <h2>Recent transfers</h2>
      {d.transfers.length ? (
        <TransfersTable rows={d.transfers.slice(0, RECENT)} caption="Newest first." />
      ) : (
        <p>None.</p>
      )}
      {more(d.transfers, "transfers")}

      <h2>Recent purchases and sales</h2>
      {d.sales.length ? (
        <SalesTable rows={d.sales.slice(0, RECENT)} caption="As buyer or seller, newest first." />
      ) : (
        <p>None.</p>
      )}
      {more(d.sales, "sales")}

      <h2>Recent retirements</h2>
      {d.retirements.length ? (
        <RetirementsTable rows={d.retirements.slice(0, RECENT)} caption="As beneficiary or retiree, newest first." />
      ) : (
        <p>None.</p>
      )}
      {more(d.retirements, "retirements")}
    </>
  );
}
