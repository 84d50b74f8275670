import { test } from "node:test";
import assert from "node:assert/strict";
import { foldListingEvents, ownListingStatus, type ListedEvent } from "./listings.ts";

const at = (blockNumber: number, logIndex = 0) => ({ blockNumber: BigInt(blockNumber), logIndex });
const listed = (id: number, amount: bigint, block: number): ListedEvent => ({
  ...at(block),
  args: {
    listingId: BigInt(id),
    seller: "0x0000000000000000000000000000000000000006",
    tokenId: 65536n + 2026n,
    amount,
    paymentToken: "0x0000000000000000000000000000000000000009",
    unitPrice: 18_500n,
    minFill: 100n,
    expiresAt: 2_000_000_000n,
  },
});

test("partial buys lower what remains, cancels close, the last price update wins", () => {
  const state = foldListingEvents(
    [listed(2, 500n, 2), listed(1, 1000n, 1)],
    [
      { ...at(5, 1), args: { listingId: 1n, unitPrice: 30_000n } },
      { ...at(4, 0), args: { listingId: 1n, unitPrice: 20_000n } },
    ],
    [
      { ...at(3), args: { listingId: 1n, amount: 250n } },
      { ...at(6), args: { listingId: 1n, amount: 100n } },
    ],
    [{ ...at(7), args: { listingId: 2n } }],
  );
  assert.deepEqual(
    state.map((s) => [s.listingId, s.remaining, s.unitPrice]),
    [
      [1n, 650n, 30_000n],
      [2n, 0n, 18_500n],
    ],
  );
  assert.equal(state[0]!.expiresAt, 2_000_000_000);
});

test("events of unknown listings are ignored", () => {
  const state = foldListingEvents([], [{ ...at(1), args: { listingId: 9n, unitPrice: 1n } }], [], []);
  assert.deepEqual(state, []);
});

test("a seller's listing with credits in escrow is expired from its expiry on, by chain time", () => {
  const l = { remaining: 500n, expiresAt: 2_000_000_000 };
  assert.equal(ownListingStatus(l, 1_999_999_999), "open");
  // the Marketplace refuses a purchase at block.timestamp == expiresAt already
  assert.equal(ownListingStatus(l, 2_000_000_000), "expired");
  assert.equal(ownListingStatus(l, 2_100_000_000), "expired");
  assert.equal(ownListingStatus({ ...l, remaining: 0n }, 2_100_000_000), "closed");
  assert.equal(ownListingStatus({ ...l, remaining: 0n }, 1), "closed");
});
