import { decodeParam } from "../params.ts";
import { isFacilityRef } from "../ids.ts";

/**
 * What an explorer detail page says when the thing looked up does not exist. The pages answer
 * with `notFound()` (HTTP 404, so link checkers and crawlers see a missing page as missing), and
 * the explorer's not-found page, which Next renders without the route's params, finds the term
 * again in the path with `explorerMiss`.
 */
export type ExplorerMiss = {
  /** heading of the page, as the detail page's own */
  title: string;
  /** "No {what} “{term}” is indexed." */
  what: string;
  term: string;
  hint?: string;
};

type Kind = {
  title: string;
  what: string;
  /** the form a valid term has; a term of another form gets `formatHint` */
  pattern: { test(term: string): boolean };
  formatHint?: string;
  /** said of a well-formed term that is not indexed */
  unknownHint?: string;
};

const KINDS: Record<string, Kind> = {
  tx: {
    title: "Transaction",
    what: "transaction",
    pattern: /^0x[0-9a-fA-F]{64}$/,
    formatHint: "A transaction hash is 0x followed by 64 hex digits.",
    unknownHint: "Neither the indexer nor the chain knows this transaction.",
  },
  accounts: {
    title: "Account",
    what: "account",
    pattern: /^0x[0-9a-fA-F]{40}$/,
    formatHint: "An address is 0x followed by 40 hex digits.",
  },
  attestations: {
    title: "Attestation",
    what: "attestation",
    pattern: /^0x[0-9a-fA-F]{64}$/,
    formatHint: "An attestation id is 0x followed by 64 hex digits.",
  },
  facilities: {
    title: "Facility",
    what: "facility",
    pattern: { test: isFacilityRef },
    formatHint: "A facility id is lower case (e.g. ktda-kangaita) or its 32-byte key (0x + 64 hex digits).",
  },
  devices: {
    title: "Device",
    what: "device",
    // the same id rules as a facility's (sdk ids.ts): lower case, 1–32 characters, or the 32-byte key
    pattern: { test: isFacilityRef },
    formatHint:
      "A device id is lower case (e.g. kangaita-chimney-1), 1–32 characters of a-z, 0-9, '.', '_', '-', or its 32-byte key (0x + 64 hex digits).",
    unknownHint: "A device id is the id it was registered under (e.g. kangaita-chimney-1) or its 32-byte key.",
  },
};

/** Whether `term` has the form of a `kind` (a detail page checks this before asking the indexer). */
export function wellFormed(kind: keyof typeof KINDS, term: string): boolean {
  return KINDS[kind]!.pattern.test(term);
}

/**
 * The miss a path under /explorer stands for: `/explorer/{kind}/{term}`; any other path is a
 * page the explorer does not have.
 */
export function explorerMiss(pathname: string): ExplorerMiss {
  const [, section, kind, encoded] = pathname.split("/");
  const k = section === "explorer" && kind !== undefined ? KINDS[kind] : undefined;
  if (!k || encoded === undefined || encoded === "") {
    return { title: "Page not found", what: "explorer page", term: pathname };
  }
  const term = decodeParam(encoded);
  const hint = k.pattern.test(term) ? k.unknownHint : k.formatHint;
  return { title: k.title, what: k.what, term, hint };
}
