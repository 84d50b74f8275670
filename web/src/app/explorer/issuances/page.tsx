import type { Metadata } from "next";
import { ListPage } from "@/components/explorer/ListPage.tsx";
import { IssuancesTable } from "@/components/explorer/tables.tsx";
import { issuancesList } from "@/lib/explorer/lists.ts";

export const metadata: Metadata = { title: issuancesList.title };

type Props = { searchParams: Promise<Record<string, string | string[] | undefined>> };

export default async function Page({ searchParams }: Props) {
  return (
    <ListPage
      spec={issuancesList}
      path="/explorer/issuances"
      searchParams={await searchParams}
      intro="Credits issued by a verifier against an attestation. The contract allows at most baseline − attested emissions, and one issuance per attestation."
      render={(rows) => <IssuancesTable rows={rows} />}
    />
  );
}
