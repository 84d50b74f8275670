import { parseUintId } from "./ids.ts";
import { decodeParam } from "./params.ts";

/**
 * What the dApp's detail pages (/credit/{id}, /certificate/{id}, /listing/{id}) say when the id
 * names nothing. The pages answer with `notFound()` (HTTP 404) for an id that is not a decimal
 * number and for one the indexer has not seen although it has read up to the chain's head; their
 * not-found pages, which Next renders without the route's params, find the id again in the path.
 */
export type DetailKind = "credit" | "certificate" | "listing";

export type DetailMiss = {
  /** heading of the not-found page */
  title: string;
  /** the id as the user typed it (percent-decoded) */
  term: string;
  /** whether the id has the form of one (it then names nothing that exists) */
  wellFormed: boolean;
  /** what is wrong: the form an id has, or that none goes by it */
  message: string;
  /** where to go instead */
  links: { href: string; label: string }[];
};

type Kind = {
  title: string;
  formatHint: string;
  unknown: (term: string) => string;
  links: DetailMiss["links"];
};

const MARKET = { href: "/", label: "Back to the market" };

const KINDS: Record<DetailKind, Kind> = {
  credit: {
    title: "Credit not found",
    formatHint: "A credit id is a token id in decimal digits, as the market and your portfolio link to.",
    unknown: (t) => `No credit ${t} has been issued: no project and vintage go by this token id.`,
    links: [MARKET, { href: "/portfolio", label: "Your portfolio" }],
  },
  certificate: {
    title: "Certificate not found",
    formatHint: "A certificate id is a number in decimal digits, as the retirement that minted it links to.",
    unknown: (t) => `No retirement certificate ${t} has been minted: no retirement goes by this id.`,
    links: [
      { href: "/portfolio", label: "Your portfolio" },
      { href: "/explorer/retirements", label: "All retirements" },
      MARKET,
    ],
  },
  listing: {
    title: "Listing not found",
    formatHint: "A listing id is a whole number (1, 2, 3, …), as the market links to.",
    unknown: (t) => `No listing ${t} has been created on the marketplace.`,
    links: [MARKET, { href: "/sell", label: "Sell credits" }],
  },
};

/** Whether `term` (percent-decoded) has the form of a credit, certificate or listing id: decimal digits, below 2^256. */
export function wellFormedId(term: string): boolean {
  return parseUintId(term) !== undefined;
}

/** The miss that `pathname` (/{kind}/{id}) stands for, on `kind`'s not-found page. */
export function detailMiss(kind: DetailKind, pathname: string): DetailMiss {
  const k = KINDS[kind];
  const encoded = pathname.split("/")[2] ?? "";
  const term = decodeParam(encoded);
  const wellFormed = wellFormedId(term);
  return {
    title: k.title,
    term,
    wellFormed,
    message: wellFormed ? k.unknown(`“${term}”`) : `“${term}” is not a ${kind} id. ${k.formatHint}`,
    links: k.links,
  };
}
