"use client";
import { usePathname } from "next/navigation";
import { explorerMiss } from "@/lib/explorer/notFound.ts";
import { NotFound } from "./Status.tsx";

/**
 * The explorer's not-found page (app/explorer/not-found.tsx): the detail pages answer 404 with
 * `notFound()`, and Next renders this without their params, so the term looked up is read back
 * from the path, to say what was not found and link to a search for it.
 */
export function ExplorerNotFound() {
  const miss = explorerMiss(usePathname() ?? "");
  return (
    <>
      <title>{`${miss.title} not found · CarbonProof`}</title>
      <h1>{miss.title}</h1>
      <NotFound what={miss.what} term={miss.term} hint={miss.hint} />
    </>
  );
}
