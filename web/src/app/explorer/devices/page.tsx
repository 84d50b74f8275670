import type { Metadata } from "next";
import { ListPage } from "@/components/explorer/ListPage.tsx";
import { DevicesTable } from "@/components/explorer/tables.tsx";
import { devicesList } from "@/lib/explorer/lists.ts";

export const metadata: Metadata = { title: devicesList.title };

type Props = { searchParams: Promise<Record<string, string | string[] | undefined>> };

export default async function Page({ searchParams }: Props) {
  return (
    <ListPage
      spec={devicesList}
      path="/explorer/devices"
      searchParams={await searchParams}
      intro="Every registered sensor and meter. Each signs its readings with a P-256 key held in its secure element; the device page lists its keys and history."
      render={(rows) => <DevicesTable rows={rows} />}
    />
  );
}
