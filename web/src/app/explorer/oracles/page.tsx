import type { Metadata } from "next";
import { ListPage } from "@/components/explorer/ListPage.tsx";
import { OraclesTable } from "@/components/explorer/tables.tsx";
import { oraclesList } from "@/lib/explorer/lists.ts";

export const metadata: Metadata = { title: oraclesList.title };

type Props = { searchParams: Promise<Record<string, string | string[] | undefined>> };

export default async function Page({ searchParams }: Props) {
  return (
    <ListPage
      spec={oraclesList}
      path="/explorer/oracles"
      searchParams={await searchParams}
      intro="The oracle nodes that validate readings and co-sign attestation headers (EIP-712); an attestation needs the OracleSet's threshold of them."
      render={(rows) => <OraclesTable rows={rows} />}
    />
  );
}
