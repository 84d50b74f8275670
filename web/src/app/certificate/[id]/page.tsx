import type { Metadata } from "next";
import { notFound } from "next/navigation";
import { CertificateView } from "@/components/CertificateView.tsx";
import { parseUintId } from "@/lib/ids.ts";
import { decodeParam } from "@/lib/params.ts";
import { indexedPresence } from "@/server/indexedPresence.ts";

export async function generateMetadata({ params }: { params: Promise<{ id: string }> }): Promise<Metadata> {
  const id = decodeParam((await params).id);
  return { title: `Retirement certificate ${id.length > 16 ? `${id.slice(0, 8)}…${id.slice(-4)}` : id}` };
}

export default async function CertificatePage({ params }: { params: Promise<{ id: string }> }) {
  const id = decodeParam((await params).id);
  const certificateId = parseUintId(id);
  // 404 (not-found.tsx) for an id of the wrong form, or one the indexer, at the chain's head, has not seen.
  if (certificateId === undefined) notFound();
  const presence = await indexedPresence(
    `certificate ${id}`,
    async (ix) => (await ix.retirement(certificateId)) !== undefined,
  );
  if (presence === "absent") notFound();
  return <CertificateView id={id} />;
}
