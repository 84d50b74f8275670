/**
 * Keyset (cursor) paging, shared by both backends. A cursor is the sort key of one row (the list's
 * ordering values, the last one unique), as base64url JSON: the next page is the rows strictly
 * after it in the list's order, so a page costs the same at any depth and a row inserted meanwhile
 * above the cursor neither shifts nor repeats the rows below it, as `skip` would.
 */
import { IndexerError } from "./errors.ts";
import type { DetailListName, DetailLists, ListName, ListPage, Lists, Page } from "./types.ts";

/** One sort-key value: a decimal string (BigInt, ids), a number (Int) or text. */
export type KeyValue = string | number;

/** A list read whose rows each carry the sort key they were ordered by, in the list's order. */
export type Keyed<R> = { rows: R[]; keys: KeyValue[][] };

/** How a backend reads each list in a window: one function per list, its filter and its rows typed. */
export type ListReaders = {
  [K in ListName]: (filter: Lists[K]["filter"], w: Window) => Promise<Keyed<Lists[K]["row"]>>;
};

/**
 * How a backend reads each list inside a detail page in a window; `null` for a list the backend
 * does not hold (readings on the subgraph backend).
 */
export type DetailListReaders = {
  [K in DetailListName]:
    ((filter: DetailLists[K]["filter"], w: Window) => Promise<Keyed<DetailLists[K]["row"]>>) | null;
};

/** `page` checked: `first` rows, and at most one of `skip`, `after`, `before` (decoded). */
export type Window = { first: number; skip: number; after?: KeyValue[]; before?: KeyValue[] };

export function encodeCursor(key: readonly KeyValue[]): string {
  return Buffer.from(JSON.stringify(key), "utf8").toString("base64url");
}

export function decodeCursor(cursor: string, length: number): KeyValue[] {
  let key: unknown;
  try {
    key = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
  } catch (cause) {
    throw new IndexerError("INDEXER_ARGUMENT_INVALID", `not a list cursor: ${cursor.slice(0, 40)}`, { cause });
  }
  if (
    !Array.isArray(key) ||
    key.length !== length ||
    !key.every((v) => typeof v === "string" || (typeof v === "number" && Number.isSafeInteger(v)))
  )
    throw new IndexerError(
      "INDEXER_ARGUMENT_INVALID",
      `not a cursor of this list: ${cursor.slice(0, 40)} (a cursor is only valid for the list and backend that gave it)`,
    );
  return key as KeyValue[];
}

/**
 * `page` as a window over a list whose sort key has `keyLength` values; `maxSkip` is the deepest
 * `skip` the backend answers, `maxFirst` the most rows (999 for `list`, which reads one more).
 */
export function windowOf(
  page: Page | undefined,
  keyLength: number,
  maxSkip = Number.MAX_SAFE_INTEGER,
  maxFirst = 1000,
): Window {
  const first = page?.first ?? 100;
  const skip = page?.skip ?? 0;
  if (!Number.isInteger(first) || first < 1 || first > maxFirst)
    throw new IndexerError("INDEXER_ARGUMENT_INVALID", `page.first must be an integer in 1…${maxFirst}, got ${first}`);
  if (!Number.isInteger(skip) || skip < 0 || skip > maxSkip)
    throw new IndexerError(
      "INDEXER_ARGUMENT_INVALID",
      `page.skip must be an integer in 0…${maxSkip}, got ${skip}${maxSkip < Number.MAX_SAFE_INTEGER ? ": page deeper with a cursor (page.after)" : ""}`,
    );
  if ([skip > 0, page?.after !== undefined, page?.before !== undefined].filter(Boolean).length > 1)
    throw new IndexerError("INDEXER_ARGUMENT_INVALID", "page takes one of skip, after and before");
  return {
    first,
    skip,
    after: page?.after === undefined ? undefined : decodeCursor(page.after, keyLength),
    before: page?.before === undefined ? undefined : decodeCursor(page.before, keyLength),
  };
}

/**
 * One page of a keyed list by cursor (or from the top), for every list read by cursor on either
 * backend: `page` checked as a window over a key of `keyLength` values (at most 999 rows), `read`
 * asked for one row more than the page (it says whether there is more that way), the rows in the
 * list's order and the cursors either side.
 */
export async function readPage<R>(
  page: Page,
  keyLength: number,
  read: (w: Window) => Promise<Keyed<R>>,
  maxSkip?: number,
): Promise<ListPage<R>> {
  const w = windowOf(page, keyLength, maxSkip, 999);
  return listPageOf(await read({ ...w, first: w.first + 1 }), page, w.first);
}

/**
 * The ListPage of a read made with `first + 1` rows of `page` (the extra row says whether there is
 * more in the direction read): rows in the list's order and the cursors either side.
 */
export function listPageOf<R>(read: Keyed<R>, page: Page, first: number): ListPage<R> {
  const more = read.rows.length > first;
  if (page.before !== undefined) {
    // read backwards from the cursor: the extra row is the furthest from it, first in list order
    const drop = more ? 1 : 0;
    const keys = read.keys.slice(drop);
    return {
      rows: read.rows.slice(drop),
      previous: more ? encodeCursor(keys[0]!) : null,
      next: keys.length ? encodeCursor(keys.at(-1)!) : null,
    };
  }
  const keys = read.keys.slice(0, first);
  const fromTop = page.after === undefined && !page.skip;
  return {
    rows: read.rows.slice(0, first),
    next: more ? encodeCursor(keys.at(-1)!) : null,
    previous: !fromTop && keys.length ? encodeCursor(keys[0]!) : null,
  };
}
