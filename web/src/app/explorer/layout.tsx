import type { ReactNode } from "react";
import { ExplorerNav } from "@/components/explorer/ExplorerNav.tsx";

export default function ExplorerLayout({ children }: { children: ReactNode }) {
  return (
    <>
      <ExplorerNav />
      {children}
    </>
  );
}
