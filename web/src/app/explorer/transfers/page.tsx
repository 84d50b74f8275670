import type { Metadata } from "next";
import { ListPage } from "@/components/explorer/ListPage.tsx";
import { TransfersTable } from "@/components/explorer/tables.tsx";
import { transfersList } from "@/lib/explorer/lists.ts";

export const metadata: Metadata = { title: transfersList.title };

type Props = { searchParams: Promise<Record<string, string | string[] | undefined>> };

export default async function Page({ searchParams }: Props) {
  return (
    <ListPage
      spec={transfersList}
      path="/explorer/transfers"
      searchParams={await searchParams}
      intro="Every movement of credits (ERC-1155), including issuance (mint) and retirement (burn)."
      render={(rows) => <TransfersTable rows={rows} />}
    />
  );
}
