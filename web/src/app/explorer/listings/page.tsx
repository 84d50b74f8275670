import type { Metadata } from "next";
import { ListPage } from "@/components/explorer/ListPage.tsx";
import { ListingsTable } from "@/components/explorer/tables.tsx";
import { listingsList } from "@/lib/explorer/lists.ts";

export const metadata: Metadata = { title: listingsList.title };

type Props = { searchParams: Promise<Record<string, string | string[] | undefined>> };

export default async function Page({ searchParams }: Props) {
  return (
    <ListPage
      spec={listingsList}
      path="/explorer/listings"
      searchParams={await searchParams}
      intro="Credits offered for sale on the marketplace."
      render={(rows) => <ListingsTable rows={rows} />}
    />
  );
}
