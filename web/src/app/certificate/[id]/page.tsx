import type { Metadata } from "next";
import { CertificateView } from "@/components/CertificateView.tsx";

export async function generateMetadata({ params }: { params: Promise<{ id: string }> }): Promise<Metadata> {
  const { id } = await params;
  return { title: `Retirement certificate ${id.length > 16 ? `${id.slice(0, 8)}…${id.slice(-4)}` : id}` };
}

export default async function CertificatePage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  return <CertificateView id={id} />;
}
