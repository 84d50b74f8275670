/** The explorer's tables, one per kind of row; list pages and detail pages share them. */
import type { ReactNode } from "react";
import type {
  AttestationSummary,
  ChallengeState,
  ChallengeSummary,
  DeviceDetail,
  DeviceSummary,
  FacilitySummary,
  IssuanceSummary,
  ListingSummary,
  OracleNodeSummary,
  RetirementSummary,
  SaleSummary,
  TransferSummary,
} from "@carbonproof/subgraph/client";
import { formatCount, formatGramsAsTonnes } from "@/lib/explorer/format.ts";
import { formatDate, formatTokenAmount, formatTonnesNumber, pricePerTonne } from "@/lib/units.ts";
import { paymentTokens } from "./chain.ts";
import {
  AccountLink,
  AttestationLink,
  CertificateLink,
  CreditLink,
  DeviceLink,
  FacilityLink,
  ListingLink,
  Time,
  TxLink,
} from "./Links.tsx";
import { Table, type Column } from "./Table.tsx";

type TableProps<R> = { rows: readonly R[]; caption?: ReactNode };

const T_CO2E = "t CO2e";

export function Badge({ tone, children }: { tone: "ok" | "warn" | "bad"; children: ReactNode }) {
  return <span className={`badge badge--${tone}`}>{children}</span>;
}

export function ChallengeStateBadge({ state }: { state: ChallengeState }) {
  if (state === "None") return <span className="muted">none</span>;
  return <Badge tone={state === "Upheld" ? "bad" : state === "Pending" ? "warn" : "ok"}>{state}</Badge>;
}

function AttestationState({ a }: { a: AttestationSummary }) {
  return (
    <>
      {a.revoked ? <Badge tone="bad">Revoked</Badge> : <Badge tone="ok">Valid</Badge>}
      {a.isCorrection ? (
        <>
          {" "}
          <Badge tone="warn">Correction</Badge>
        </>
      ) : null}
      {a.challengeState !== "None" ? (
        <>
          {" "}
          <ChallengeStateBadge state={a.challengeState} />
        </>
      ) : null}
    </>
  );
}

export function FacilitiesTable({ rows, caption }: TableProps<FacilitySummary>) {
  const cols: Column<FacilitySummary>[] = [
    { label: "Facility", cell: (r) => <FacilityLink facility={r} /> },
    {
      label: "Devices",
      num: true,
      cell: (r) =>
        r.activeDeviceCount === r.deviceCount ? r.deviceCount : `${r.deviceCount} (${r.activeDeviceCount} active)`,
    },
    { label: "Attestations", num: true, cell: (r) => formatCount(r.attestationCount) },
    { label: "Readings", num: true, cell: (r) => formatCount(r.readingCount) },
    { label: `Fossil, ${T_CO2E}`, num: true, cell: (r) => formatGramsAsTonnes(r.fossilCo2eGrams) },
    { label: "Biogenic, t CO2", num: true, cell: (r) => formatGramsAsTonnes(r.biogenicCo2Grams) },
    { label: `Issued, ${T_CO2E}`, num: true, cell: (r) => formatTonnesNumber(r.creditsIssuedKg) },
    { label: `Retired, ${T_CO2E}`, num: true, cell: (r) => formatTonnesNumber(r.creditsRetiredKg) },
    {
      label: `Outstanding, ${T_CO2E}`,
      num: true,
      cell: (r) => formatTonnesNumber(r.creditsIssuedKg - r.creditsRetiredKg),
    },
    { label: "Attested until", cell: (r) => (r.attestedUntil ? formatDate(r.attestedUntil) : "—") },
  ];
  return (
    <Table
      testId="facilities-table"
      caption={
        caption ??
        "Attested emissions (fossil CO2e; biogenic CO2 from burning biomass reported apart) and credits (1 credit = 1 kg CO2e), largest emitters first."
      }
      columns={cols}
      rows={rows}
      rowKey={(r) => r.id}
    />
  );
}

export function DevicesTable({
  rows,
  caption,
  withFacility = true,
}: TableProps<DeviceSummary | DeviceDetail> & { withFacility?: boolean }) {
  const cols: Column<DeviceSummary | DeviceDetail>[] = [
    { label: "Device", cell: (r) => <DeviceLink id={r.id} code={r.code} /> },
    ...(withFacility
      ? [
          {
            label: "Facility",
            cell: (r: DeviceSummary | DeviceDetail) =>
              "facility" in r ? <FacilityLink facility={r.facility} /> : null,
          },
        ]
      : []),
    { label: "Kind", cell: (r) => r.kind },
    {
      label: "Status",
      cell: (r) => (
        <Badge tone={r.status === "Active" ? "ok" : r.status === "Suspended" ? "warn" : "bad"}>{r.status}</Badge>
      ),
    },
    { label: "Keys", num: true, cell: (r) => r.keyCount },
    { label: "Registered", cell: (r) => <Time at={r.registeredAt} /> },
  ];
  return (
    <Table
      testId="devices-table"
      caption={caption ?? "Sensors and meters that sign readings, newest registration first."}
      columns={cols}
      rows={rows}
      rowKey={(r) => r.id}
    />
  );
}

export function OraclesTable({ rows, caption }: TableProps<OracleNodeSummary>) {
  const cols: Column<OracleNodeSummary>[] = [
    { label: "Signer index", num: true, cell: (r) => r.index },
    { label: "Address", cell: (r) => <AccountLink address={r.address} full /> },
    { label: "Status", cell: (r) => (r.active ? <Badge tone="ok">Active</Badge> : <Badge tone="bad">Removed</Badge>) },
    { label: "Attestations signed", num: true, cell: (r) => formatCount(r.attestationsSigned) },
    { label: "Added", cell: (r) => <Time at={r.addedAt} /> },
    { label: "Removed", cell: (r) => <Time at={r.removedAt} /> },
  ];
  return (
    <Table
      testId="oracles-table"
      caption={caption ?? "Oracle nodes of the OracleSet by signer index; a quorum of them co-signs each attestation."}
      columns={cols}
      rows={rows}
      rowKey={(r) => r.address}
    />
  );
}

export function AttestationsTable({
  rows,
  caption,
  withFacility = true,
}: TableProps<AttestationSummary> & { withFacility?: boolean }) {
  const cols: Column<AttestationSummary>[] = [
    { label: "Attestation", cell: (r) => <AttestationLink id={r.id} /> },
    ...(withFacility
      ? [{ label: "Facility", cell: (r: AttestationSummary) => <FacilityLink facility={r.facility} /> }]
      : []),
    {
      label: "Period",
      cell: (r) => (
        <>
          <Time at={r.periodStart} /> – <Time at={r.periodEnd} />
        </>
      ),
    },
    { label: "Readings", num: true, cell: (r) => formatCount(r.readingCount) },
    { label: `Fossil, ${T_CO2E}`, num: true, cell: (r) => formatGramsAsTonnes(r.fossilCo2eGrams) },
    { label: "Biogenic, t CO2", num: true, cell: (r) => formatGramsAsTonnes(r.biogenicCo2Grams) },
    { label: "State", cell: (r) => <AttestationState a={r} /> },
    {
      label: "Credit",
      // null also for an issuance of 0 kg (nothing minted; the attestation's page says so)
      cell: (r) =>
        r.issuedCreditId !== null ? <CreditLink id={r.issuedCreditId} /> : <span className="muted">none</span>,
    },
    { label: "Submitted", cell: (r) => <Time at={r.submittedAt} /> },
  ];
  return (
    <Table
      testId="attestations-table"
      caption={caption ?? "Attested batches of signed readings, newest submission first."}
      columns={cols}
      rows={rows}
      rowKey={(r) => r.id}
    />
  );
}

export function IssuancesTable({ rows, caption }: TableProps<IssuanceSummary>) {
  const cols: Column<IssuanceSummary>[] = [
    {
      label: "Credit",
      // 0 kg: the period's reduction paid the project's debt, and the token id may never have been minted
      cell: (r) => (r.amountKg > 0n ? <CreditLink id={r.creditId} /> : <span className="muted">none minted</span>),
    },
    { label: "Facility", cell: (r) => <FacilityLink facility={r.facility} /> },
    { label: "Attestation", cell: (r) => <AttestationLink id={r.attestationId} /> },
    { label: `Amount, ${T_CO2E}`, num: true, cell: (r) => formatTonnesNumber(r.amountKg) },
    { label: `Bound, ${T_CO2E}`, num: true, cell: (r) => formatTonnesNumber(r.boundKg) },
    { label: "Issued", cell: (r) => <Time at={r.timestamp} /> },
    { label: "Transaction", cell: (r) => <TxLink hash={r.transactionHash} /> },
  ];
  return (
    <Table
      testId="issuances-table"
      caption={
        caption ?? "Credits issued against attestations (amount ≤ bound = baseline − attested emissions), newest first."
      }
      columns={cols}
      rows={rows}
      rowKey={(r) => `${r.attestationId}`}
    />
  );
}

export function TransfersTable({ rows, caption }: TableProps<TransferSummary>) {
  const cols: Column<TransferSummary>[] = [
    {
      label: "Kind",
      cell: (r) => <Badge tone={r.kind === "Burn" ? "warn" : "ok"}>{r.kind}</Badge>,
    },
    { label: "Credit", cell: (r) => <CreditLink id={r.creditId} /> },
    { label: "From", cell: (r) => <AccountLink address={r.from} /> },
    { label: "To", cell: (r) => <AccountLink address={r.to} /> },
    { label: `Amount, ${T_CO2E}`, num: true, cell: (r) => formatTonnesNumber(r.amountKg) },
    { label: "Block", num: true, cell: (r) => formatCount(r.blockNumber) },
    { label: "Time", cell: (r) => <Time at={r.timestamp} /> },
    { label: "Transaction", cell: (r) => <TxLink hash={r.transactionHash} /> },
  ];
  return (
    <Table
      testId="transfers-table"
      caption={caption ?? "ERC-1155 credit transfers, mints (from none) and burns (to none), newest first."}
      columns={cols}
      rows={rows}
      rowKey={(r) => r.id}
    />
  );
}

/** `12.50 TUSD`, or base units when the token's decimals could not be read. */
function price(amount: bigint, token: { symbol: string; decimals: number } | undefined): string {
  return token ? `${formatTokenAmount(amount, token.decimals)} ${token.symbol}` : `${formatCount(amount)} base units`;
}

export async function ListingsTable({ rows, caption }: TableProps<ListingSummary>) {
  const tokens = await paymentTokens(rows.map((r) => r.paymentToken));
  const cols: Column<ListingSummary>[] = [
    { label: "Listing", cell: (r) => <ListingLink id={r.id} /> },
    { label: "Credit", cell: (r) => <CreditLink id={r.creditId} /> },
    { label: "Seller", cell: (r) => <AccountLink address={r.seller} /> },
    { label: `Listed, ${T_CO2E}`, num: true, cell: (r) => formatTonnesNumber(r.amountKg) },
    { label: `Remaining, ${T_CO2E}`, num: true, cell: (r) => formatTonnesNumber(r.remainingKg) },
    {
      label: "Price per tonne",
      num: true,
      cell: (r) => price(pricePerTonne(r.unitPrice), tokens.get(r.paymentToken.toLowerCase())),
    },
    {
      label: "Status",
      cell: (r) => <Badge tone={r.status === "Open" ? "ok" : r.status === "Filled" ? "warn" : "bad"}>{r.status}</Badge>,
    },
    { label: "Expires", cell: (r) => <Time at={r.expiresAt} /> },
  ];
  return (
    <Table
      testId="listings-table"
      caption={caption ?? "Marketplace listings, newest first; prices per tonne CO2e in the listing's payment token."}
      columns={cols}
      rows={rows}
      rowKey={(r) => r.id.toString()}
    />
  );
}

export async function SalesTable({ rows, caption }: TableProps<SaleSummary>) {
  const tokens = await paymentTokens(rows.map((r) => r.paymentToken));
  const cols: Column<SaleSummary>[] = [
    { label: "Listing", cell: (r) => <ListingLink id={r.listingId} /> },
    { label: "Credit", cell: (r) => <CreditLink id={r.creditId} /> },
    { label: "Buyer", cell: (r) => <AccountLink address={r.buyer} /> },
    { label: "Seller", cell: (r) => <AccountLink address={r.seller} /> },
    { label: `Amount, ${T_CO2E}`, num: true, cell: (r) => formatTonnesNumber(r.amountKg) },
    { label: "Total paid", num: true, cell: (r) => price(r.totalPrice, tokens.get(r.paymentToken.toLowerCase())) },
    {
      label: "Retired",
      cell: (r) =>
        r.retired ? (
          r.certificateId !== null ? (
            <>
              yes, <CertificateLink id={r.certificateId} />
            </>
          ) : (
            "yes"
          )
        ) : (
          <span className="muted">no</span>
        ),
    },
    { label: "Time", cell: (r) => <Time at={r.timestamp} /> },
    { label: "Transaction", cell: (r) => <TxLink hash={r.transactionHash} /> },
  ];
  return (
    <Table
      testId="sales-table"
      caption={caption ?? "Marketplace purchases, newest first; “retired” means bought and retired in one transaction."}
      columns={cols}
      rows={rows}
      rowKey={(r) => r.id}
    />
  );
}

export function RetirementsTable({ rows, caption }: TableProps<RetirementSummary>) {
  const cols: Column<RetirementSummary>[] = [
    { label: "Certificate", cell: (r) => <CertificateLink id={r.certificateId} /> },
    { label: "Credit", cell: (r) => <CreditLink id={r.creditId} /> },
    { label: "Facility", cell: (r) => <FacilityLink facility={r.facility} /> },
    {
      label: "Beneficiary",
      cell: (r) => (
        <>
          {r.beneficiaryName || <span className="muted">unnamed</span>} (<AccountLink address={r.beneficiary} />)
        </>
      ),
    },
    { label: `Amount, ${T_CO2E}`, num: true, cell: (r) => formatTonnesNumber(r.amountKg) },
    { label: "Reason", cell: (r) => r.reason },
    { label: "Retired", cell: (r) => <Time at={r.timestamp} /> },
    { label: "Transaction", cell: (r) => <TxLink hash={r.transactionHash} /> },
  ];
  return (
    <Table
      testId="retirements-table"
      caption={caption ?? "Credits retired (burnt) for a named beneficiary, newest first; each has a certificate."}
      columns={cols}
      rows={rows}
      rowKey={(r) => r.certificateId.toString()}
    />
  );
}

export function ChallengesTable({ rows, caption }: TableProps<ChallengeSummary>) {
  const cols: Column<ChallengeSummary>[] = [
    { label: "Attestation", cell: (r) => <AttestationLink id={r.attestationId} /> },
    { label: "Facility", cell: (r) => <FacilityLink facility={r.facility} /> },
    { label: "Challenger", cell: (r) => <AccountLink address={r.challenger} /> },
    { label: "State", cell: (r) => <ChallengeStateBadge state={r.state} /> },
    { label: "Reason", cell: (r) => r.reason },
    { label: "Resolution note", cell: (r) => r.note ?? <span className="muted">—</span> },
    { label: "Challenged", cell: (r) => <Time at={r.challengedAt} /> },
    { label: "Resolved", cell: (r) => <Time at={r.resolvedAt} /> },
    { label: "Transaction", cell: (r) => <TxLink hash={r.transactionHash} /> },
  ];
  return (
    <Table
      testId="challenges-table"
      caption={caption ?? "Challenges of attestations during their challenge window, newest first."}
      columns={cols}
      rows={rows}
      rowKey={(r) => `${r.attestationId}-${r.transactionHash}`}
    />
  );
}
