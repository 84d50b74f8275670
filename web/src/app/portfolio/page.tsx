import type { Metadata } from "next";
import { PortfolioView } from "@/components/PortfolioView.tsx";

export const metadata: Metadata = { title: "Portfolio" };

export default function PortfolioPage() {
  return (
    <>
      <h1>Your portfolio</h1>
      <PortfolioView />
    </>
  );
}
