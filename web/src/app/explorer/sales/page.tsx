import type { Metadata } from "next";
import { ListPage } from "@/components/explorer/ListPage.tsx";
import { SalesTable } from "@/components/explorer/tables.tsx";
import { salesList } from "@/lib/explorer/lists.ts";

export const metadata: Metadata = { title: salesList.title };

type Props = { searchParams: Promise<Record<string, string | string[] | undefined>> };

export default async function Page({ searchParams }: Props) {
  return (
    <ListPage
      spec={salesList}
      path="/explorer/sales"
      searchParams={await searchParams}
      intro="Purchases from marketplace listings."
      render={(rows) => <SalesTable rows={rows} />}
    />
  );
}
