"use client";

import Link from "next/link";
import { usePathname } from "next/navigation";
import { WalletButton } from "./WalletButton.tsx";
import { NetworkGuard } from "./NetworkGuard.tsx";
import styles from "./SiteHeader.module.css";

const LINKS = [
  { href: "/", label: "Market" },
  { href: "/explorer", label: "Explorer" },
  { href: "/verify", label: "Verify" },
  { href: "/leaderboard", label: "Leaderboard" },
  { href: "/sell", label: "Sell" },
  { href: "/portfolio", label: "Portfolio" },
] as const;

/** "page" on the link's own page, "location" inside its section (an explorer detail page). */
function current(path: string, href: string): "page" | "location" | undefined {
  if (path === href) return "page";
  if (href !== "/" && path.startsWith(`${href}/`)) return "location";
  // The audit trail and dashboards are reached from the explorer.
  if (href === "/explorer" && /^\/(audit|dashboard|reports)(\/|$)/.test(path)) return "location";
  return undefined;
}

export function SiteHeader() {
  const path = usePathname();
  return (
    <header className="site-header">
      <div className="site-header__inner">
        <Link href="/" className="brand">
          CarbonProof
        </Link>
        <nav aria-label="Main" className={styles.nav}>
          <ul>
            {LINKS.map((l) => (
              <li key={l.href}>
                <Link href={l.href} aria-current={current(path, l.href)}>
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
