import type { Metadata } from "next";
import { LineageView } from "@/components/audit/LineageView.tsx";
import { decodeParam } from "@/lib/params.ts";

const short = (id: string) => (id.length > 20 ? `${id.slice(0, 10)}…${id.slice(-4)}` : id);

export async function generateMetadata({ params }: { params: Promise<{ id: string }> }): Promise<Metadata> {
  const { id } = await params;
  return { title: `Audit trail of retirement certificate ${short(decodeParam(id))}` };
}

export default async function AuditCertificatePage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  return (
    <article aria-labelledby="audit-heading">
      <h1 id="audit-heading" style={{ overflowWrap: "anywhere" }}>
        Audit trail of retirement certificate {decodeParam(id)}
      </h1>
      <LineageView kind="certificate" id={id} />
    </article>
  );
}
