/**
 * Transactions sent from a page and not yet settled, kept in the tab's sessionStorage so a
 * reload, or a wallet disconnect that unmounts the form, does not lose the hash: the form
 * resumes waiting for it when it mounts again (useTransaction in hooks.ts). One entry per
 * (page, key); an entry is dropped once its transaction is settled.
 */
import { z } from "zod";
import type { SentTransaction } from "./track.ts";

export const PENDING_TX_STORAGE_KEY = "carbonproof.pendingTransactions";

const entrySchema = z.object({
  hash: z.string().regex(/^0x[0-9a-fA-F]{64}$/),
  label: z.string(),
  /** location.pathname of the page that sent it */
  page: z.string(),
  /** which form on the page (a page can have several) */
  key: z.string(),
  /** what did not happen if it is replaced: "nothing was bought" */
  undone: z.string(),
  /**
   * sender, nonce and call as the node showed it (absent until then): finds a replacement mined
   * while the page was away (track.ts minedInSlot); the value in wei as decimal text
   */
  sent: z
    .object({
      from: z.string().regex(/^0x[0-9a-fA-F]{40}$/),
      nonce: z.number().int().nonnegative(),
      to: z
        .string()
        .regex(/^0x[0-9a-fA-F]{40}$/)
        .nullable(),
      value: z.string().regex(/^\d+$/),
      input: z.string().regex(/^0x([0-9a-fA-F]{2})*$/),
    })
    .optional(),
});

type StoredEntry = z.infer<typeof entrySchema>;

export type PendingTx = Omit<StoredEntry, "hash" | "sent"> & { hash: `0x${string}`; sent?: SentTransaction };

const fromStored = ({ sent, ...e }: StoredEntry): PendingTx => ({
  ...(e as Omit<PendingTx, "sent">),
  ...(sent ? { sent: { ...(sent as Omit<SentTransaction, "value">), value: BigInt(sent.value) } } : {}),
});

const toStored = ({ sent, ...e }: PendingTx): StoredEntry => ({
  ...e,
  ...(sent ? { sent: { ...sent, value: sent.value.toString() } } : {}),
});

/** The part of the Web Storage API used here (sessionStorage in the browser). */
export type KeyValueStore = Pick<Storage, "getItem" | "setItem">;

/** Every entry stored; an unreadable store (edited by hand, an older format) reads as empty. */
export function readPending(store: KeyValueStore): PendingTx[] {
  const text = store.getItem(PENDING_TX_STORAGE_KEY);
  if (!text) return [];
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    // not ours to repair: start afresh rather than break the page
    return [];
  }
  const parsed = z.array(entrySchema).safeParse(json);
  return parsed.success ? parsed.data.map(fromStored) : [];
}

/** Records `entry`, replacing what the same form on the same page had pending. */
export function savePending(store: KeyValueStore, entry: PendingTx): void {
  const rest = readPending(store).filter((e) => !(e.page === entry.page && e.key === entry.key));
  store.setItem(PENDING_TX_STORAGE_KEY, JSON.stringify([...rest, entry].map(toStored)));
}

/** The transaction form `key` on `page` left pending, if any. */
export function findPending(store: KeyValueStore, page: string, key: string): PendingTx | undefined {
  return readPending(store).find((e) => e.page === page && e.key === key);
}

/** Forgets transaction `hash` once settled. */
export function dropPending(store: KeyValueStore, hash: string): void {
  const all = readPending(store);
  const rest = all.filter((e) => e.hash.toLowerCase() !== hash.toLowerCase());
  if (rest.length !== all.length) store.setItem(PENDING_TX_STORAGE_KEY, JSON.stringify(rest.map(toStored)));
}
