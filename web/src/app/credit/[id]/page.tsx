import type { Metadata } from "next";
import { notFound } from "next/navigation";
import { CreditView } from "@/components/CreditView.tsx";
import { parseUintId } from "@/lib/ids.ts";
import { decodeParam } from "@/lib/params.ts";
import { indexedPresence } from "@/server/indexedPresence.ts";

export const metadata: Metadata = { title: "Credit" };

type Props = {
  params: Promise<{ id: string }>;
  searchParams: Promise<Record<string, string | string[] | undefined>>;
};

/** The first value of a query parameter (`?after=a&after=b` reads `a`). */
const first = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v);

export default async function CreditPage({ params, searchParams }: Props) {
  const id = decodeParam((await params).id);
  const query = await searchParams;
  // ?after= (older issuances) / ?before= (newer), as the explorer's lists page
  const after = first(query.after);
  const before = after === undefined ? first(query.before) : undefined;
  const tokenId = parseUintId(id);
  // 404 (not-found.tsx) for an id of the wrong form, or one the indexer, at the chain's head, has not seen.
  if (tokenId === undefined) notFound();
  const presence = await indexedPresence(`credit ${id}`, async (ix) => (await ix.credit(tokenId)) !== undefined);
  if (presence === "absent") notFound();
  return <CreditView id={id} cursor={{ after, before }} />;
}
