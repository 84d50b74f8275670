import type { Metadata } from "next";
import { notFound } from "next/navigation";
import { BuyView } from "@/components/BuyView.tsx";
import { parseUintId } from "@/lib/ids.ts";
import { decodeParam } from "@/lib/params.ts";
import { indexedPresence } from "@/server/indexedPresence.ts";

export const metadata: Metadata = { title: "Buy credits" };

export default async function ListingPage({ params }: { params: Promise<{ id: string }> }) {
  const id = decodeParam((await params).id);
  const listingId = parseUintId(id);
  // 404 (not-found.tsx) for an id of the wrong form, or one the indexer, at the chain's head, has not seen.
  if (listingId === undefined) notFound();
  // The indexer interface looks listings up by id through search (both backends: a decimal term
  // is matched against listing ids); a sold-out, cancelled or expired listing is still found.
  const presence = await indexedPresence(`listing ${id}`, async (ix) =>
    (await ix.search(listingId.toString())).some((hit) => hit.kind === "listing" && hit.id === listingId),
  );
  if (presence === "absent") notFound();
  return <BuyView id={id} />;
}
