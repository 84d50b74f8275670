"use client";
import Link from "next/link";
import { usePathname } from "next/navigation";
import { detailMiss, type DetailKind } from "@/lib/detailMiss.ts";

/**
 * The not-found page of /credit/{id}, /certificate/{id} and /listing/{id} (HTTP 404): Next renders
 * it without the route's params, so the id is read back from the path, to say what form an id has
 * or that none goes by it, and where to go instead.
 */
export function DetailNotFound({ kind }: { kind: DetailKind }) {
  const miss = detailMiss(kind, usePathname() ?? "");
  return (
    <>
      <title>{`${miss.title} · CarbonProof`}</title>
      <h1>{miss.title}</h1>
      <div
        role="status"
        className="status status--bad"
        data-testid="not-found"
        data-well-formed={miss.wellFormed}
        style={{ overflowWrap: "anywhere" }}
      >
        <p>{miss.message}</p>
      </div>
      <p className="actions">
        {miss.links.map((l) => (
          <Link key={l.href} href={l.href}>
            {l.label}
          </Link>
        ))}
      </p>
    </>
  );
}
