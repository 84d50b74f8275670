import { Suspense } from "react";
import { MarketView } from "@/components/MarketView.tsx";

export default function MarketPage() {
  return (
    <>
      <h1>Carbon credit market</h1>
      <p className="muted">
        Every credit here was issued against sensor readings signed by their devices and attested on-chain by a quorum
        of oracle nodes. No wallet is needed to browse.
      </p>
      <Suspense fallback={<p role="status">Loading listings…</p>}>
        <MarketView />
      </Suspense>
    </>
  );
}
