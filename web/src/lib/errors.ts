/**
 * Turns what wallets, RPC nodes and contracts throw into sentences a buyer can act
 * on. Contract reverts are recognised by their custom error name (viem decodes them
 * from the ABI); wallet and node errors by their EIP-1193 / JSON-RPC codes and text.
 */

export type ErrorKind =
  | "rejected"
  | "insufficient-gas"
  | "insufficient-payment"
  | "insufficient-credits"
  | "listing-gone"
  | "price-moved"
  | "wrong-network"
  | "not-allowed"
  | "invalid-input"
  | "network"
  | "unknown";

export type DescribedError = { kind: ErrorKind; message: string };

/** Custom errors → words. Names from contracts/credits, contracts/market, contracts/retirement and OpenZeppelin. */
const CONTRACT_ERRORS: Record<string, DescribedError> = {
  ERC20InsufficientBalance: {
    kind: "insufficient-payment",
    message: "Your wallet does not hold enough of the payment token for this purchase.",
  },
  ERC20InsufficientAllowance: {
    kind: "insufficient-payment",
    message: "The marketplace is not approved to spend that much of your payment token: approve first, then buy.",
  },
  ERC1155InsufficientBalance: {
    kind: "insufficient-credits",
    message: "You do not hold that many credits (some may already be listed, sold or retired).",
  },
  ERC1155MissingApprovalForAll: {
    kind: "not-allowed",
    message: "The marketplace is not approved to move your credits: approve it first, then list.",
  },
  MarketplaceListingNotFound: {
    kind: "listing-gone",
    message: "This listing no longer exists (cancelled or sold out).",
  },
  MarketplaceListingInactive: { kind: "listing-gone", message: "This listing was cancelled or sold out." },
  MarketplaceListingClosed: { kind: "listing-gone", message: "This listing was cancelled or sold out." },
  MarketplaceUnknownListing: {
    kind: "listing-gone",
    message: "This listing no longer exists (cancelled or sold out).",
  },
  MarketplaceInsufficientAvailable: {
    kind: "listing-gone",
    message: "The listing has fewer credits left than you asked for: someone bought part of it. Lower the amount.",
  },
  MarketplaceAmountExceedsAvailable: {
    kind: "listing-gone",
    message: "The listing has fewer credits left than you asked for: someone bought part of it. Lower the amount.",
  },
  MarketplacePriceExceedsMax: {
    kind: "price-moved",
    message: "The price changed above the most you allowed (slippage guard). Review the new price and try again.",
  },
  MarketplaceMaxTotalPriceExceeded: {
    kind: "price-moved",
    message: "The price changed above the most you allowed (slippage guard). Review the new price and try again.",
  },
  MarketplaceSlippage: {
    kind: "price-moved",
    message: "The price changed above the most you allowed (slippage guard). Review the new price and try again.",
  },
  MarketplaceNotSeller: { kind: "not-allowed", message: "Only the seller can change or cancel this listing." },
  MarketplaceSelfPurchase: { kind: "not-allowed", message: "You cannot buy from your own listing." },
  MarketplaceZeroAmount: { kind: "invalid-input", message: "The amount must be at least 0.001 t." },
  MarketplaceZeroPrice: { kind: "invalid-input", message: "The price must be more than zero." },
  CarbonCreditsZeroAmount: { kind: "invalid-input", message: "The amount must be at least 0.001 t." },
  CarbonCreditsCertificatesNotSet: {
    kind: "not-allowed",
    message: "Retirement is not open on this deployment yet (no certificate contract set).",
  },
  RetirementCertificatesTextTooLong: {
    kind: "invalid-input",
    message: "The beneficiary name (≤ 64 bytes) or the reason (≤ 160 bytes) is too long.",
  },
  RetirementCertificatesInvalidPeriod: {
    kind: "invalid-input",
    message: "The consumption period ends before it starts.",
  },
  RetirementCertificatesZeroAmount: { kind: "invalid-input", message: "The amount must be at least 0.001 t." },
  MarketplaceListingExpired: { kind: "listing-gone", message: "This listing has expired." },
  MarketplaceBelowMinFill: {
    kind: "invalid-input",
    message: "That is less than the seller's smallest purchase (buy more, or everything that is left).",
  },
  MarketplacePaymentTokenNotAllowed: {
    kind: "not-allowed",
    message: "The marketplace does not accept that payment token.",
  },
  MarketplaceInvalidMinFill: {
    kind: "invalid-input",
    message: "The smallest purchase must be between 0.001 t and the amount listed.",
  },
  MarketplaceInvalidExpiry: {
    kind: "invalid-input",
    message: "The listing must stay open until a time in the future.",
  },
  RetirementCertificatesInvalidDetails: {
    kind: "invalid-input",
    message: "The retirement details were refused: check the beneficiary name (≤ 64 bytes) and reason (≤ 160 bytes).",
  },
  EnforcedPause: { kind: "not-allowed", message: "This contract is paused by its operators; try again later." },
};

type ErrorLike = {
  name?: string;
  code?: number | string;
  message?: string;
  shortMessage?: string;
  details?: string;
  cause?: unknown;
  data?: { errorName?: string };
  errorName?: string;
};

/** Walks the `cause` chain (viem nests the revert under several wrappers). */
function* chain(error: unknown): Generator<ErrorLike> {
  let current: unknown = error;
  for (let depth = 0; current && typeof current === "object" && depth < 12; depth++) {
    yield current as ErrorLike;
    current = (current as ErrorLike).cause;
  }
}

export function describeError(error: unknown): DescribedError {
  const links = [...chain(error)];
  for (const e of links) {
    const errorName = e.data?.errorName ?? e.errorName;
    if (errorName && CONTRACT_ERRORS[errorName]) return CONTRACT_ERRORS[errorName];
  }
  const text = links
    .map((e) => `${e.name ?? ""} ${e.shortMessage ?? ""} ${e.details ?? ""} ${e.message ?? ""}`)
    .join(" ");
  for (const name of Object.keys(CONTRACT_ERRORS)) if (text.includes(name)) return CONTRACT_ERRORS[name]!;
  if (
    links.some((e) => e.code === 4001 || e.name === "UserRejectedRequestError") ||
    /user (rejected|denied)/i.test(text)
  )
    return { kind: "rejected", message: "You rejected the request in your wallet. Nothing was sent." };
  if (/insufficient funds/i.test(text))
    return {
      kind: "insufficient-gas",
      message: "Your wallet does not have enough of the network's coin (ETH) to pay the transaction fee.",
    };
  if (
    links.some((e) => e.name === "ChainMismatchError" || e.name === "SwitchChainError") ||
    /chain mismatch/i.test(text)
  )
    return { kind: "wrong-network", message: "Your wallet is on another network: switch to the app's network first." };
  if (
    links.some((e) => e.name === "HttpRequestError" || e.name === "TimeoutError") ||
    /fetch failed|ECONNREFUSED/i.test(text)
  )
    return { kind: "network", message: "The blockchain node did not answer. Check your connection and try again." };
  const revert = links.find((e) => e.name === "ContractFunctionRevertedError");
  if (revert)
    return {
      kind: "unknown",
      message: `The contract refused the transaction: ${revert.shortMessage ?? revert.message ?? "no reason given"}.`,
    };
  const first = links[0];
  return {
    kind: "unknown",
    message: `Something went wrong: ${first?.shortMessage ?? first?.message ?? String(error)}`,
  };
}
