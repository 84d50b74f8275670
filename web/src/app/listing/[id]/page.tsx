import type { Metadata } from "next";
import { BuyView } from "@/components/BuyView.tsx";

export const metadata: Metadata = { title: "Buy credits" };

export default async function ListingPage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  return <BuyView id={id} />;
}
