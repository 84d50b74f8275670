import type { Metadata } from "next";
import { CreditView } from "@/components/CreditView.tsx";

export const metadata: Metadata = { title: "Credit" };

export default async function CreditPage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  return <CreditView id={id} />;
}
