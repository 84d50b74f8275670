import type { Metadata } from "next";
import { ListPage } from "@/components/explorer/ListPage.tsx";
import { FacilitiesTable } from "@/components/explorer/tables.tsx";
import { facilitiesList } from "@/lib/explorer/lists.ts";

export const metadata: Metadata = { title: facilitiesList.title };

type Props = { searchParams: Promise<Record<string, string | string[] | undefined>> };

export default async function Page({ searchParams }: Props) {
  return (
    <ListPage
      spec={facilitiesList}
      path="/explorer/facilities"
      searchParams={await searchParams}
      intro="Every facility with registered devices or attestations: what it emitted according to its signed readings, and the credits issued and retired against it."
      render={(rows) => <FacilitiesTable rows={rows} />}
    />
  );
}
