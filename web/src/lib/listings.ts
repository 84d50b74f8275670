/**
 * The state of every listing, folded from Marketplace events (Listed, PriceUpdated,
 * Bought, Cancelled) in log order: four `eth_getLogs` instead of one `getListing` call
 * per listing, which keeps a market of thousands of listings to one round trip. The
 * events determine the state exactly: `remaining` only falls through buys and cancels,
 * and the price only changes through PriceUpdated. (The buy page still reads
 * `getListing` itself before anyone signs.)
 */

export type ListingState = {
  listingId: bigint;
  seller: `0x${string}`;
  tokenId: bigint;
  paymentToken: `0x${string}`;
  unitPrice: bigint;
  minFill: bigint;
  expiresAt: number;
  remaining: bigint;
};

type Ordered = { blockNumber: bigint; logIndex: number };
export type ListedEvent = Ordered & {
  args: {
    listingId: bigint;
    seller: `0x${string}`;
    tokenId: bigint;
    amount: bigint;
    paymentToken: `0x${string}`;
    unitPrice: bigint;
    minFill: bigint;
    expiresAt: bigint;
  };
};
export type PriceUpdatedEvent = Ordered & { args: { listingId: bigint; unitPrice: bigint } };
export type BoughtEvent = Ordered & { args: { listingId: bigint; amount: bigint } };
export type CancelledEvent = Ordered & { args: { listingId: bigint } };

const byLogOrder = (a: Ordered, b: Ordered) =>
  a.blockNumber === b.blockNumber ? a.logIndex - b.logIndex : a.blockNumber < b.blockNumber ? -1 : 1;

export function foldListingEvents(
  listed: readonly ListedEvent[],
  priceUpdates: readonly PriceUpdatedEvent[],
  bought: readonly BoughtEvent[],
  cancelled: readonly CancelledEvent[],
): ListingState[] {
  const state = new Map<bigint, ListingState>();
  for (const e of listed) {
    const a = e.args;
    state.set(a.listingId, {
      listingId: a.listingId,
      seller: a.seller,
      tokenId: a.tokenId,
      paymentToken: a.paymentToken,
      unitPrice: a.unitPrice,
      minFill: a.minFill,
      expiresAt: Number(a.expiresAt),
      remaining: a.amount,
    });
  }
  for (const e of [...priceUpdates].sort(byLogOrder)) {
    const s = state.get(e.args.listingId);
    if (s) s.unitPrice = e.args.unitPrice;
  }
  for (const e of bought) {
    const s = state.get(e.args.listingId);
    if (s) s.remaining -= e.args.amount;
  }
  for (const e of cancelled) {
    const s = state.get(e.args.listingId);
    if (s) s.remaining = 0n;
  }
  return [...state.values()].sort((a, b) => (a.listingId < b.listingId ? -1 : 1));
}

/**
 * A listing as its seller sees it: `open` while it can be bought, `expired` once the chain's time
 * reaches `expiresAt` with credits still in escrow (Marketplace refuses purchases from then on;
 * only a cancel returns the credits, and a new price would change nothing), `closed` when nothing
 * is left (sold out or cancelled).
 */
export function ownListingStatus(
  l: Pick<ListingState, "remaining" | "expiresAt">,
  nowS: number,
): "open" | "expired" | "closed" {
  if (l.remaining === 0n) return "closed";
  // Marketplace._buy: `block.timestamp >= expiresAt` reverts MarketplaceListingExpired
  return nowS >= l.expiresAt ? "expired" : "open";
}
