import type { Metadata } from "next";
import { notFound } from "next/navigation";
import { CreditView } from "@/components/CreditView.tsx";
import { parseUintId } from "@/lib/ids.ts";
import { decodeParam } from "@/lib/params.ts";
import { indexedPresence } from "@/server/indexedPresence.ts";

export const metadata: Metadata = { title: "Credit" };

export default async function CreditPage({ params }: { params: Promise<{ id: string }> }) {
  const id = decodeParam((await params).id);
  const tokenId = parseUintId(id);
  // 404 (not-found.tsx) for an id of the wrong form, or one the indexer, at the chain's head, has not seen.
  if (tokenId === undefined) notFound();
  const presence = await indexedPresence(`credit ${id}`, async (ix) => (await ix.credit(tokenId)) !== undefined);
  if (presence === "absent") notFound();
  return <CreditView id={id} />;
}
