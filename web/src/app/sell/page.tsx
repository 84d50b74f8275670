import type { Metadata } from "next";
import { Suspense } from "react";
import { SellView } from "@/components/SellView.tsx";

export const metadata: Metadata = { title: "Sell credits" };

export default function SellPage() {
  return (
    <>
      <h1>Sell credits</h1>
      <Suspense fallback={<p role="status">Loading…</p>}>
        <SellView />
      </Suspense>
    </>
  );
}
