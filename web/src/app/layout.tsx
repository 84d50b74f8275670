import type { Metadata, Viewport } from "next";
import { connection } from "next/server";
import type { ReactNode } from "react";
import "./globals.css";
import { Providers } from "./providers.tsx";
import { SiteHeader } from "@/components/SiteHeader.tsx";
import { runtimeConfig } from "@/lib/config.server.ts";

export const metadata: Metadata = {
  title: { default: "CarbonProof market", template: "%s · CarbonProof" },
  description: "Carbon credits traced back to signed sensor readings: buy, retire, verify.",
};

export const viewport: Viewport = { width: "device-width", initialScale: 1 };

export default async function RootLayout({ children }: { children: ReactNode }) {
  // The deployment is read at request time, not baked into the build.
  await connection();
  const runtime = runtimeConfig();
  return (
    <html lang="en">
      <body>
        <a className="skip-link" href="#main">
          Skip to content
        </a>
        <Providers runtime={runtime}>
          <SiteHeader />
          <main id="main" tabIndex={-1}>
            {children}
          </main>
          <footer className="site-footer">
            <p>
              1 credit = 1 kg CO2e reduced, issued only against sensor readings attested on-chain. Amounts are shown in
              tonnes (t CO2e).
            </p>
            <p className="muted">
              Chain {runtime.chainName} ({runtime.chainId}) · contracts from{" "}
              {runtime.addressSource.split("/").slice(-3).join("/")}
            </p>
          </footer>
        </Providers>
      </body>
    </html>
  );
}
