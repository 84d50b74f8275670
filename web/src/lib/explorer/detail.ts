/**
 * What each explorer detail page (attestation, device, facility, transaction, account) reads from
 * the indexer, and the decision a miss goes through before the page says "not found".
 *
 * A read waits for the indexer's catch-up with the chain only so long, so an attestation submitted
 * a second ago can be missing from it although it exists. A miss therefore goes through the dApp
 * pages' decision (server/settlePresence.ts, through indexedPresence): absent (→ 404) only once the
 * indexer has read up to the chain's head as it was after the miss; present when a later read finds
 * it (the page shows that read); unknown when the indexer does not get there in time, or the
 * indexer or the chain cannot be read (→ the "not indexed yet" page, with both blocks).
 */
import {
  IndexerError,
  type DetailListName,
  type DetailLists,
  type ExplorerIndexer,
  type Hex,
  type ListPage,
} from "@carbonproof/subgraph/client";
import type { Presence } from "../../server/settlePresence.ts";
import type { PresenceSeen } from "../../server/indexedPresence.ts";
import { PAGE_SIZE, parseCursor, type ListCursor } from "./lists.ts";

/** One detail page's indexer read, and whether its answer holds the thing looked up. */
export type DetailRoute<T> = {
  /** names the id in log lines */
  what: string;
  read: (ix: ExplorerIndexer) => Promise<T>;
  found: (data: T) => boolean;
};

/** indexedPresence's signature (the pages pass it; tests pass the same decision on their own indexer). */
export type PresenceLookup = (
  what: string,
  lookup: (ix: ExplorerIndexer) => Promise<boolean>,
  seen: PresenceSeen,
) => Promise<Presence>;

export type Detail<T> =
  | { presence: "present"; data: T; /** found only by a read after the first */ settled: boolean }
  | { presence: "absent" }
  | { presence: "unknown"; indexedBlock: number | null; head: bigint | null };

/**
 * The page's answer for `first`, the page's own read: present with it when it holds the thing;
 * else whatever `presence` decides, reading with `route.read` again (present: with the read that
 * found it).
 */
export async function settleDetail<T>(route: DetailRoute<T>, first: T, presence: PresenceLookup): Promise<Detail<T>> {
  if (route.found(first)) return { presence: "present", data: first, settled: false };
  let last = first;
  const seen: PresenceSeen = { indexedBlock: null, head: null };
  const decided = await presence(route.what, async (ix) => route.found((last = await route.read(ix))), seen);
  if (decided === "present") return { presence: "present", data: last, settled: true };
  if (decided === "absent") return { presence: "absent" };
  return { presence: "unknown", indexedBlock: seen.indexedBlock, head: seen.head };
}

/** How many rows of each kind the account page shows (it reads one more, to know there are more). */
export const ACCOUNT_RECENT = 10;

/**
 * Where the lists of a detail page start. A page link carries one list's cursor: `?after=` /
 * `?before=` alone for the page's first list (a facility's attestations, an attestation's or a
 * device's readings, an account's holdings), with `list=<its anchor>` for another
 * (`?list=devices&after=…#devices`: a facility's devices and projects, a device's keys and history,
 * an attestation's corrections). The page's other lists show their first page.
 */
export type DetailCursor = ListCursor & { list?: string };

const LIST_NAME = /^[a-z]{1,32}$/;

export function parseDetailCursor(params: URLSearchParams): DetailCursor {
  const list = params.get("list");
  return { ...parseCursor(params), ...(list && LIST_NAME.test(list) ? { list } : {}) };
}

/** `at`'s cursor when it is of `list` (the page's anchor for it; none: the page's first list), else the top. */
export function cursorOf(at: DetailCursor, list?: string): ListCursor {
  if (at.list !== list) return {};
  if (at.after !== undefined) return { after: at.after };
  return at.before !== undefined ? { before: at.before } : {};
}

/**
 * What the page links of the detail page's list `list` carry beside their cursor: `list=<list>`,
 * or nothing for the page's first list (cursorOf reads it back).
 */
export function linkParamsOf(list?: string): Record<string, string> {
  return list === undefined ? {} : { list };
}

/**
 * One page of a list inside a detail page (any of `DetailLists`), PAGE_SIZE rows from the page
 * link's cursor (`?after=` / `?before=`, as the list pages; see DetailCursor) or from the top.
 */
export type DetailListRead<R> = {
  /** null where the indexer backend does not hold the list (readings on the subgraph) */
  page: ListPage<R> | null;
  /** read from a cursor, not from the top */
  paged: boolean;
  /**
   * the indexer's message when the link's cursor is not one of this list (another list's, another
   * backend's, edited by hand): `page` is then the first page, and the rest of the detail shows
   */
  refused: string | null;
};

export async function readDetailList<K extends DetailListName>(
  ix: ExplorerIndexer,
  name: K,
  filter: DetailLists[K]["filter"],
  cursor: ListCursor,
): Promise<DetailListRead<DetailLists[K]["row"]>> {
  const paged = cursor.after !== undefined || cursor.before !== undefined;
  if (!paged) return { page: await ix.detailList(name, filter, { first: PAGE_SIZE }), paged, refused: null };
  try {
    return { page: await ix.detailList(name, filter, { first: PAGE_SIZE, ...cursor }), paged, refused: null };
  } catch (error) {
    if (!(error instanceof IndexerError) || error.code !== "INDEXER_ARGUMENT_INVALID") throw error;
    return { page: await ix.detailList(name, filter, { first: PAGE_SIZE }), paged: false, refused: error.message };
  }
}

/**
 * The reads of the explorer's detail pages (app/explorer/<kind>/[id]/page.tsx); `cursor`: where the
 * page's own list starts.
 */
export const explorerDetails = {
  attestation: (id: Hex, at: DetailCursor = {}) => ({
    what: `attestation ${id}`,
    read: async (ix: ExplorerIndexer) => {
      const [attestation, readings, corrections] = await Promise.all([
        ix.attestationHeader(id),
        readDetailList(ix, "attestationReadings", { attestationId: id }, cursorOf(at)),
        readDetailList(ix, "attestationCorrections", { attestationId: id }, cursorOf(at, "corrections")),
      ]);
      return { attestation, readings, corrections };
    },
    found: (d: { attestation: unknown }) => d.attestation !== undefined,
  }),
  device: (id: string, at: DetailCursor = {}) => ({
    what: `device ${id}`,
    read: async (ix: ExplorerIndexer) => {
      const [device, keys, history] = await Promise.all([
        ix.deviceHeader(id),
        readDetailList(ix, "deviceKeys", { device: id }, cursorOf(at, "keys")),
        readDetailList(ix, "deviceHistory", { device: id }, cursorOf(at, "history")),
      ]);
      const readings = device
        ? await readDetailList(ix, "deviceReadings", { deviceId: device.code ?? device.id }, cursorOf(at))
        : null;
      return { device, keys, history, readings };
    },
    found: (d: { device: unknown }) => d.device !== undefined,
  }),
  facility: (id: string, at: DetailCursor = {}) => ({
    what: `facility ${id}`,
    read: async (ix: ExplorerIndexer) => {
      // The page shows every list by cursor: the facility's own read holds none of them.
      const [facility, attestations, devices, projects] = await Promise.all([
        ix.facilityHeader(id),
        readDetailList(ix, "facilityAttestations", { facility: id }, cursorOf(at)),
        readDetailList(ix, "facilityDevices", { facility: id }, cursorOf(at, "devices")),
        readDetailList(ix, "facilityProjects", { facility: id }, cursorOf(at, "projects")),
      ]);
      return { facility, attestations, devices, projects };
    },
    found: (d: { facility: unknown }) => d.facility !== undefined,
  }),
  /**
   * The indexer's hits for a transaction (its events, and what they touched). `hasEvents`: the
   * chain's receipt holds CarbonProof events; without them an empty answer is complete, not a miss.
   */
  transaction: (hash: Hex, hasEvents: boolean) => ({
    what: `transaction ${hash}`,
    read: (ix: ExplorerIndexer) => ix.search(hash),
    found: (hits: readonly unknown[]) => hits.length > 0 || !hasEvents,
  }),
  account: (address: Hex, at: DetailCursor = {}) => ({
    what: `account ${address}`,
    read: async (ix: ExplorerIndexer) => {
      const [holdings, transfers, sales, retirements, oracles, hits] = await Promise.all([
        readDetailList(ix, "accountHoldings", { account: address }, cursorOf(at)),
        ix.transfers({ account: address }, { first: ACCOUNT_RECENT + 1 }),
        ix.sales({ account: address }, { first: ACCOUNT_RECENT + 1 }),
        ix.retirements({ account: address }, { first: ACCOUNT_RECENT + 1 }),
        ix.oracleNodes({ first: 1000 }),
        ix.search(address),
      ]);
      const oracle = oracles.find((o) => o.address.toLowerCase() === address);
      return {
        holdings,
        transfers,
        sales,
        retirements,
        oracle,
        hits: hits.filter((h) => h.kind !== "account" && h.kind !== "oracleNode"),
      };
    },
    // a page of holdings read from a cursor came from a page that had some
    found: (d: {
      holdings: DetailListRead<unknown>;
      transfers: unknown[];
      sales: unknown[];
      retirements: unknown[];
      oracle: unknown;
    }) =>
      d.holdings.paged ||
      !!d.holdings.page?.rows.length ||
      d.transfers.length > 0 ||
      d.sales.length > 0 ||
      d.retirements.length > 0 ||
      !!d.oracle,
  }),
};

/**
 * What the "not indexed yet" page says of `what` (e.g. "attestation"): how far the indexer and the
 * chain are, and to reload; or which of them could not be read.
 */
export function notIndexedYet(what: string, indexedBlock: number | null, head: bigint | null): string {
  if (head === null)
    return `Whether this ${what} exists cannot be told now: the chain could not be read (CARBONPROOF_SERVER_RPC_URL, or CARBONPROOF_RPC_URL). Reload in a few seconds; if it persists, the server's log says why.`;
  if (indexedBlock === null)
    return `The indexer has not finished its first read of the chain (the chain is at block ${head}). If this ${what} was created recently, reload in a few seconds.`;
  if (BigInt(indexedBlock) >= head)
    return `Whether this ${what} exists cannot be told now: the indexer could not be read. Reload in a few seconds; if it persists, the server's log says why.`;
  const article = /^[aeiou]/.test(what) ? "an" : "a";
  return `The indexer is at block ${indexedBlock}, the chain at block ${head}: ${article} ${what} created in the last ${head - BigInt(indexedBlock)} block(s) is not indexed yet. Reload in a few seconds.`;
}
