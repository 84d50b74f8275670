"use client";

import Link from "next/link";
import { usePathname } from "next/navigation";
import styles from "./explorer.module.css";

const SECTIONS = [
  { href: "/explorer", label: "Overview" },
  { href: "/explorer/facilities", label: "Facilities" },
  { href: "/explorer/devices", label: "Devices" },
  { href: "/explorer/oracles", label: "Oracle nodes" },
  { href: "/explorer/attestations", label: "Attestations" },
  { href: "/explorer/issuances", label: "Issuances" },
  { href: "/explorer/transfers", label: "Transfers" },
  { href: "/explorer/listings", label: "Listings" },
  { href: "/explorer/sales", label: "Sales" },
  { href: "/explorer/retirements", label: "Retirements" },
  { href: "/explorer/challenges", label: "Challenges" },
  { href: "/explorer/totals", label: "Totals" },
  { href: "/explorer/search", label: "Search" },
] as const;

/** The explorer's sections; a detail page marks its list as the current section. */
export function ExplorerNav() {
  const path = usePathname();
  const current = SECTIONS.filter((s) => path === s.href || (s.href !== "/explorer" && path.startsWith(`${s.href}/`)));
  return (
    <nav aria-label="Explorer" className={styles.nav}>
      <ul>
        {SECTIONS.map((s) => (
          <li key={s.href}>
            <Link
              href={s.href}
              aria-current={current.includes(s) ? (path === s.href ? "page" : "location") : undefined}
            >
              {s.label}
            </Link>
          </li>
        ))}
      </ul>
    </nav>
  );
}
