import type { Metadata } from "next";
import { ListPage } from "@/components/explorer/ListPage.tsx";
import { RetirementsTable } from "@/components/explorer/tables.tsx";
import { retirementsList } from "@/lib/explorer/lists.ts";

export const metadata: Metadata = { title: retirementsList.title };

type Props = { searchParams: Promise<Record<string, string | string[] | undefined>> };

export default async function Page({ searchParams }: Props) {
  return (
    <ListPage
      spec={retirementsList}
      path="/explorer/retirements"
      searchParams={await searchParams}
      intro="Retired credits can never be sold again; each retirement names its beneficiary and reason and has a public certificate."
      render={(rows) => <RetirementsTable rows={rows} />}
    />
  );
}
