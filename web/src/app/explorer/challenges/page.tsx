import type { Metadata } from "next";
import { ListPage } from "@/components/explorer/ListPage.tsx";
import { ChallengesTable } from "@/components/explorer/tables.tsx";
import { challengesList } from "@/lib/explorer/lists.ts";

export const metadata: Metadata = { title: challengesList.title };

type Props = { searchParams: Promise<Record<string, string | string[] | undefined>> };

export default async function Page({ searchParams }: Props) {
  return (
    <ListPage
      spec={challengesList}
      path="/explorer/challenges"
      searchParams={await searchParams}
      intro="Anyone may challenge an attestation during its challenge window; a verifier dismisses the challenge or upholds it (which revokes the attestation)."
      render={(rows) => <ChallengesTable rows={rows} />}
    />
  );
}
