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

const LISTING_GONE = "This listing is closed: sold out or cancelled.";
const PRICE_MOVED =
  "The price changed above the most you allowed (price protection). Review the new price and try again.";
const BELOW_AMOUNT = "The amount must be at least 0.001 t.";
const ATTESTATION_TAKEN = "This attestation has already been issued, settled or recorded; reload the page.";

/**
 * Custom errors → words, by the names the contracts define (contracts/credits, contracts/market,
 * contracts/retirement, OpenZeppelin's ERC-1155/ERC-721 errors in their ABIs, and OpenZeppelin's
 * ERC-20 errors, `erc20ErrorsAbi`). Every error a dApp write can hit, directly or bubbling up
 * from a contract it calls, has an entry; errors.test.ts checks that against the generated ABIs
 * (`NOT_FROM_DAPP_WRITES` lists the rest) and that no entry names an error no contract defines.
 */
export const CONTRACT_ERRORS: Readonly<Record<string, DescribedError>> = {
  // the payment token (ERC-20, OpenZeppelin IERC20Errors)
  ERC20InsufficientBalance: {
    kind: "insufficient-payment",
    message: "Your wallet does not hold enough of the payment token for this purchase.",
  },
  ERC20InsufficientAllowance: {
    kind: "insufficient-payment",
    message: "The marketplace is not approved to spend that much of your payment token: approve first, then buy.",
  },
  SafeERC20FailedOperation: {
    kind: "insufficient-payment",
    message: "The payment token refused the transfer (balance or approval too low). Check both, then try again.",
  },
  // credits (ERC-1155)
  ERC1155InsufficientBalance: {
    kind: "insufficient-credits",
    message: "You do not hold that many credits (some may already be listed, sold or retired).",
  },
  ERC1155MissingApprovalForAll: {
    kind: "not-allowed",
    message: "The marketplace is not approved to move your credits: approve it first, then list.",
  },
  ERC1155InvalidReceiver: {
    kind: "not-allowed",
    message: "Your wallet is a contract that does not accept ERC-1155 credits; buy from a wallet that does.",
  },
  // marketplace
  MarketplaceListingClosed: { kind: "listing-gone", message: LISTING_GONE },
  MarketplaceListingExpired: { kind: "listing-gone", message: "This listing has expired." },
  MarketplaceListingNotExpired: {
    kind: "not-allowed",
    message: "Only the seller can cancel this listing before it expires.",
  },
  MarketplaceAmountExceedsRemaining: {
    kind: "listing-gone",
    message: "The listing has fewer credits left than you asked for: someone bought part of it. Lower the amount.",
  },
  MarketplaceSlippage: { kind: "price-moved", message: PRICE_MOVED },
  MarketplaceWrongValue: {
    kind: "price-moved",
    message: "The amount of ETH sent does not match the price now (it may have changed). Reload and try again.",
  },
  MarketplaceNativeTransferFailed: {
    kind: "not-allowed",
    message: "The seller's or the treasury's address refused the ETH payment; this listing cannot be bought in ETH.",
  },
  MarketplaceNotSeller: { kind: "not-allowed", message: "Only the seller can change or cancel this listing." },
  MarketplaceZeroAmount: { kind: "invalid-input", message: BELOW_AMOUNT },
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
  MarketplaceInvalidTokenId: { kind: "invalid-input", message: "That is not a credit the marketplace can list." },
  ReentrancyGuardReentrantCall: {
    kind: "not-allowed",
    message: "The payment token called back into the marketplace during the purchase; it was refused.",
  },
  SafeCastOverflowedUintDowncast: {
    kind: "invalid-input",
    message: "A number is too large for the contract to store; use a smaller amount or price.",
  },
  EnforcedPause: { kind: "not-allowed", message: "This contract is paused by its operators; try again later." },
  // retirement
  RetirementCertificatesTextTooLong: {
    kind: "invalid-input",
    message: "The beneficiary name (≤ 64 bytes) or the reason (≤ 160 bytes) is too long.",
  },
  RetirementCertificatesInvalidPeriod: {
    kind: "invalid-input",
    message: "The consumption period ends before it starts.",
  },
  RetirementCertificatesZeroAmount: { kind: "invalid-input", message: BELOW_AMOUNT },
  RetirementCertificatesAlreadyMinted: {
    kind: "unknown",
    message: "The certificate for this retirement already exists: nothing was retired. Reload and try again.",
  },
  ERC721InvalidReceiver: {
    kind: "invalid-input",
    message: "The certificate cannot go to that beneficiary address; enter another one.",
  },
  CarbonCreditsZeroAmount: { kind: "invalid-input", message: BELOW_AMOUNT },
  // recording a correction or a period above the baseline (audit/project), anyone may send
  CarbonCreditsUnknownProject: { kind: "invalid-input", message: "No project goes by that id." },
  CarbonCreditsUnknownAttestation: {
    kind: "invalid-input",
    message: "The chain has no attestation with this header; the indexer may be on another deployment.",
  },
  CarbonCreditsAttestationRevoked: { kind: "not-allowed", message: "This attestation has been revoked." },
  CarbonCreditsAttestationUsed: { kind: "not-allowed", message: ATTESTATION_TAKEN },
  CarbonCreditsChallengeWindowOpen: {
    kind: "not-allowed",
    message: "The attestation's challenge window is still open; try again once it has closed.",
  },
  CarbonCreditsChallengePending: {
    kind: "not-allowed",
    message: "A challenge of this attestation is awaiting its resolution; try again once it is resolved.",
  },
  CarbonCreditsCorrectionBacksNoIssuance: {
    kind: "invalid-input",
    message: "This attestation is a correction: record it as a correction, not as a period.",
  },
  CarbonCreditsNotACorrection: { kind: "invalid-input", message: "This attestation does not correct another one." },
  CarbonCreditsWrongFacility: {
    kind: "invalid-input",
    message: "The attestation is of another facility than the project's.",
  },
  CarbonCreditsWrongMethodology: {
    kind: "invalid-input",
    message: "The attestation uses another methodology than the project's.",
  },
  CarbonCreditsNoBaseline: {
    kind: "invalid-input",
    message: "The project has no baseline for this period yet.",
  },
  CarbonCreditsInvalidPeriod: { kind: "invalid-input", message: "The attested period ends before it starts." },
  CarbonCreditsNoShortfall: {
    kind: "not-allowed",
    message: "This period is at or below the project's baseline: it is issued, not recorded as a shortfall.",
  },
};

/**
 * Errors in the ABIs of the contracts the dApp writes to that none of its writes can hit: they
 * come from admin, verifier, issuer and auditor functions, transfers of soulbound certificates,
 * views, or argument forms the dApp never sends (a zero operator, batch arrays). errors.test.ts
 * requires every other error of those ABIs to be in CONTRACT_ERRORS; the rest still read as
 * "The contract refused the transaction: <name>". A name here may run ahead of the generated ABIs
 * (an error a contract change adds before generated.ts is regenerated).
 */
export const NOT_FROM_DAPP_WRITES: ReadonlySet<string> = new Set([
  "AccessControlBadConfirmation",
  "AccessControlUnauthorizedAccount",
  "ExpectedPause",
  "MarketplaceFeeTooHigh",
  "MarketplaceInvalidTreasury",
  "MarketplaceUnexpectedCredits",
  "CarbonCreditsAmountExceedsBound",
  "CarbonCreditsBaselineTooEarly",
  "CarbonCreditsCertificatesAlreadySet",
  "CarbonCreditsChallengeWindowClosed",
  "CarbonCreditsChallengeWindowTooLong",
  "CarbonCreditsEmptyText",
  "CarbonCreditsInvalidProject",
  "CarbonCreditsNotChallenged",
  "CarbonCreditsNotProponent",
  "CarbonCreditsOnlyCertificates",
  "CarbonCreditsPeriodAboveBaseline",
  "CarbonCreditsPeriodSpansVintages",
  "CarbonCreditsProjectInactive",
  "CarbonCreditsProponentIsVerifier",
  "CarbonCreditsScopeTaken",
  "CarbonCreditsSelfResolution",
  "CarbonCreditsSignerCannotIssue",
  "CarbonCreditsTooManyBaselineSegments",
  "ERC1155InvalidApprover",
  "ERC1155InvalidArrayLength",
  "ERC1155InvalidOperator",
  "ERC1155InvalidSender",
  "ERC20InvalidApprover",
  "ERC20InvalidReceiver",
  "ERC20InvalidSender",
  "ERC20InvalidSpender",
  "ERC721IncorrectOwner",
  "ERC721InsufficientApproval",
  "ERC721InvalidApprover",
  "ERC721InvalidOperator",
  "ERC721InvalidOwner",
  "ERC721InvalidSender",
  "ERC721NonexistentToken",
  "RetirementCertificatesLengthMismatch",
  "RetirementCertificatesSoulbound",
  "StringsInsufficientHexLength",
]);

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
  // a ranged event read the node refused (sdk EventRangeError): its message names the range and
  // the setting to lower, whether the node answered with a JSON-RPC error or an HTTP status
  const range = links.find((e) => e.code === "EVENT_RANGE_FAILED");
  if (range?.message) return { kind: "network", message: range.message };
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
