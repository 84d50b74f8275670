import type { Metadata } from "next";
import { ListPage } from "@/components/explorer/ListPage.tsx";
import { AttestationsTable } from "@/components/explorer/tables.tsx";
import { attestationsList } from "@/lib/explorer/lists.ts";

export const metadata: Metadata = { title: attestationsList.title };

type Props = { searchParams: Promise<Record<string, string | string[] | undefined>> };

export default async function Page({ searchParams }: Props) {
  return (
    <ListPage
      spec={attestationsList}
      path="/explorer/attestations"
      searchParams={await searchParams}
      intro="Each attestation commits a facility's signed readings for one period to the chain: Merkle root, evidence bundle CID, totals and the oracle quorum's signatures."
      render={(rows) => <AttestationsTable rows={rows} />}
    />
  );
}
