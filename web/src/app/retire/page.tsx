import type { Metadata } from "next";
import { Suspense } from "react";
import { RetireView } from "@/components/RetireView.tsx";

export const metadata: Metadata = { title: "Retire credits" };

export default function RetirePage() {
  return (
    <>
      <h1>Retire credits</h1>
      <Suspense fallback={<p role="status">Loading…</p>}>
        <RetireView />
      </Suspense>
    </>
  );
}
