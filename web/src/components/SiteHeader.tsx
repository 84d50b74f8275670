"use client";

import Link from "next/link";
import { usePathname } from "next/navigation";
import { WalletButton } from "./WalletButton.tsx";
import { NetworkGuard } from "./NetworkGuard.tsx";

const LINKS = [
  { href: "/", label: "Market" },
  { href: "/sell", label: "Sell" },
  { href: "/portfolio", label: "Portfolio" },
] as const;

export function SiteHeader() {
  const path = usePathname();
  return (
    <header className="site-header">
      <div className="site-header__inner">
        <Link href="/" className="brand">
          CarbonProof
        </Link>
        <nav aria-label="Main">
          <ul>
            {LINKS.map((l) => (
              <li key={l.href}>
                <Link href={l.href} aria-current={path === l.href ? "page" : undefined}>
                  {l.label}
                </Link>
              </li>
            ))}
          </ul>
        </nav>
        {/* The slot keeps its size while RainbowKit mounts after hydration: no layout shift. */}
        <div className="wallet-slot">
          <WalletButton />
        </div>
      </div>
      <NetworkGuard />
    </header>
  );
}
