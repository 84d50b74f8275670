/**
 * Everything the pages read from the chain, as plain async functions of a viem
 * PublicClient and the deployment's addresses. Reads are issued concurrently and
 * the HTTP transport batches them into JSON-RPC batches, so a market of 1,000
 * listings costs a handful of round trips. History (issuances, retirements,
 * listings of an account) comes from contract events, read from the deployment's block in
 * bounded ranges (events.ts).
 */
import type { Address, Hex, Log, PublicClient } from "viem";
import { hexToString, parseEventLogs, zeroAddress } from "viem";
import { hashBatchHeader, type BatchHeader } from "../../../../sdk/src/eip712/batchHeader.ts";
import { DEFAULT_FETCH_CONCURRENCY, limiter } from "../../../../sdk/src/verify/cache.ts";
import {
  METHODOLOGY_ID,
  METHODOLOGY_NAME,
  METHODOLOGY_VERSION,
} from "../../../../sdk/src/methodology/methodologyId.ts";
import type { ContractName } from "../config.ts";
import { foldListingEvents } from "../listings.ts";
import type { MarketListing } from "../market.ts";
import {
  attestedReadings,
  allPass,
  challengeSummary,
  creditChecks,
  decodeDataJson,
  type AttestationFacts,
  type CertificateFacts,
  type CertificateMetadata,
  type CertificateRecord,
  type CreditFacts,
  type IssuanceFacts,
} from "../verification.ts";
import {
  attestationRegistryAbi,
  carbonCreditsAbi,
  marketplaceAbi,
  oracleSetAbi,
  paymentTokenAbi,
  retirementCertificatesAbi,
} from "./abis.ts";
import { eventReads, readContractEvents, type EventReads } from "./events.ts";

export type Addresses = Partial<Record<ContractName, Address>>;

/**
 * The deployment the reads are about: its contracts' addresses, and where and how its events are
 * read (from its first block, in ranges: {@link EventReads}); without `events`, from block 0 in
 * the default ranges.
 */
export type Deployment = Addresses & { readonly events?: EventReads };

/** Facility id → what the chain does not hold about it (display name, country), from the deployment. */
export type FacilityDirectory = Record<string, { name?: string; country?: string }>;

export class MissingContractError extends Error {
  constructor(name: ContractName) {
    super(`The ${name} contract is not deployed on this chain (no address configured).`);
  }
}

function need(addresses: Addresses, name: ContractName): Address {
  const a = addresses[name];
  if (!a) throw new MissingContractError(name);
  return a;
}

type RawListing = {
  seller: Address;
  remaining: bigint;
  paymentToken: Address;
  expiresAt: number;
  tokenId: bigint;
  unitPrice: bigint;
  minFill: bigint;
};

export type Listing = RawListing & { listingId: bigint };

export type PaymentTokenInfo = { address: Address; symbol: string; decimals: number };

/** The id as people write it (`ktda-kangaita`), or the hex when it is not an ASCII id. */
export function idString(bytes32: Hex): string {
  try {
    const s = hexToString(bytes32, { size: 32 }).replace(/\0+$/, "");
    return /^[a-z0-9][a-z0-9._-]{0,31}$/.test(s) ? s : bytes32;
  } catch {
    return bytes32;
  }
}

/** Methodology ids are SHA-256 hashes of `name@version` (sdk); name the ones the sdk knows. */
export function methodologyLabel(bytes32: Hex): string {
  if (bytes32.toLowerCase() === METHODOLOGY_ID.toLowerCase()) return `${METHODOLOGY_NAME}@${METHODOLOGY_VERSION}`;
  const s = idString(bytes32);
  return s === bytes32 ? `${bytes32.slice(0, 10)}…` : s;
}

export async function readListing(client: PublicClient, addresses: Addresses, listingId: bigint): Promise<Listing> {
  const raw = (await client.readContract({
    address: need(addresses, "Marketplace"),
    abi: marketplaceAbi,
    functionName: "getListing",
    args: [listingId],
  })) as RawListing;
  return { ...raw, listingId, expiresAt: Number(raw.expiresAt) };
}

/** Every listing ever made (open or not), folded from the Marketplace's events (see listings.ts). */
export async function readAllListings(client: PublicClient, addresses: Deployment): Promise<Listing[]> {
  const address = need(addresses, "Marketplace");
  const events = (eventName: string) =>
    readContractEvents<never>(client, addresses.events, { address, abi: marketplaceAbi, eventName });
  const [listed, priceUpdates, bought, cancelled] = await Promise.all([
    events("Listed"),
    events("PriceUpdated"),
    events("Bought"),
    events("Cancelled"),
  ]);
  return foldListingEvents(listed, priceUpdates, bought, cancelled);
}

export async function readPaymentToken(client: PublicClient, token: Address): Promise<PaymentTokenInfo> {
  if (token === zeroAddress) return { address: token, symbol: "ETH", decimals: 18 };
  const [symbol, decimals] = await Promise.all([
    client.readContract({ address: token, abi: paymentTokenAbi, functionName: "symbol" }) as Promise<string>,
    client.readContract({ address: token, abi: paymentTokenAbi, functionName: "decimals" }) as Promise<number>,
  ]);
  return { address: token, symbol, decimals: Number(decimals) };
}

export async function readFeeBps(client: PublicClient, addresses: Addresses): Promise<number> {
  return Number(
    await client.readContract({ address: need(addresses, "Marketplace"), abi: marketplaceAbi, functionName: "feeBps" }),
  );
}

type SubmittedLog = { args: { id: Hex; header: BatchHeader; signerBitmap: bigint } };
/** An attestation's header as its `AttestationSubmitted` event carries it, by lower-case id. */
type Headers = ReadonlyMap<string, BatchHeader>;
type IssuedLog = {
  args: { tokenId: bigint; attestationId: Hex; amount: bigint; boundKg: bigint };
  blockNumber: bigint;
  logIndex: number;
  transactionHash: Hex;
};

/**
 * The headers of the `AttestationSubmitted` events of `facilityId` up to `toBlock`: one ranged
 * query for all of a credit's attestations (an issuance's attestation is of its credit's facility,
 * CarbonCredits checks that, and submitted before it), instead of one query per attestation.
 */
async function readHeaders(
  client: PublicClient,
  addresses: Deployment,
  facilityId: Hex,
  toBlock: bigint,
): Promise<Headers> {
  const logs = await readContractEvents<SubmittedLog>(client, addresses.events, {
    address: need(addresses, "AttestationRegistry"),
    abi: attestationRegistryAbi,
    eventName: "AttestationSubmitted",
    args: { facilityId },
    toBlock,
  });
  const headers = new Map<string, BatchHeader>();
  // the first event of an id, as the per-id query took it
  for (const l of logs) if (!headers.has(l.args.id.toLowerCase())) headers.set(l.args.id.toLowerCase(), l.args.header);
  return headers;
}

async function readAttestation(
  client: PublicClient,
  addresses: Addresses,
  id: Hex,
  chainId: number,
  headers: Headers,
): Promise<AttestationFacts> {
  const registry = need(addresses, "AttestationRegistry");
  const credits = need(addresses, "CarbonCredits");
  const [exists, revoked, use, challenger] = await Promise.all([
    client.readContract({
      address: registry,
      abi: attestationRegistryAbi,
      functionName: "exists",
      args: [id],
    }) as Promise<boolean>,
    client.readContract({
      address: registry,
      abi: attestationRegistryAbi,
      functionName: "isRevoked",
      args: [id],
    }) as Promise<boolean>,
    client.readContract({
      address: credits,
      abi: carbonCreditsAbi,
      functionName: "attestationUse",
      args: [id],
    }) as Promise<{
      state: number;
    }>,
    client.readContract({
      address: credits,
      abi: carbonCreditsAbi,
      functionName: "challengerOf",
      args: [id],
    }) as Promise<Address>,
  ]);
  let submittedAt = 0n;
  let signers: readonly Address[] = [];
  if (exists) {
    const record = (await client.readContract({
      address: registry,
      abi: attestationRegistryAbi,
      functionName: "getAttestation",
      args: [id],
    })) as { submittedAt: bigint; signerBitmap: bigint };
    submittedAt = BigInt(record.submittedAt);
    signers = (await client.readContract({
      address: need(addresses, "OracleSet"),
      abi: oracleSetAbi,
      functionName: "signersOf",
      args: [record.signerBitmap],
    })) as Address[];
  }
  const header = headers.get(id.toLowerCase());
  return {
    id,
    header,
    recomputedId: header ? hashBatchHeader(header, { chainId, verifyingContract: registry }) : undefined,
    exists,
    revoked,
    submittedAt,
    signers,
    useState: Number(use.state),
    everChallenged: challenger !== zeroAddress,
  };
}

/**
 * Per-issuance reads (a block's time, an attestation's facts) a credit's loader has in flight at
 * once: as many as the sdk's verify walk fetches bundles ({@link DEFAULT_FETCH_CONCURRENCY}). A
 * credit of hourly attestations has up to 8,760 issuances a year; unbounded, that was tens of
 * thousands of concurrent RPC calls.
 */
export const CREDIT_READ_CONCURRENCY = DEFAULT_FETCH_CONCURRENCY;

/**
 * All the facts about one credit (token id) the checks and the credit page need: every issuance
 * with its attestation, since every check but "supply" needs each attestation's facts (existence,
 * header, signers, revocation, submission time, state). They are read `concurrency` at a time,
 * each block's time once; the headers come from one ranged query of the facility's
 * `AttestationSubmitted` events, not one per attestation. The page shows the issuances a page at
 * a time ({@link issuancePage}).
 *
 * @param opts.concurrency per-issuance reads in flight (default {@link CREDIT_READ_CONCURRENCY})
 * @param opts.slot runs each of its reads instead (the credit's own, its block times and
 *   attestations), when a page reads several credits under one bound ({@link readMarket}); no read
 *   run in it takes a slot itself, so it may be the events' `slot`
 */
export async function readCreditFacts(
  client: PublicClient,
  addresses: Deployment,
  tokenId: bigint,
  opts: { concurrency?: number; slot?: EventReads["slot"] } = {},
): Promise<CreditFacts> {
  const credits = need(addresses, "CarbonCredits");
  const slot = opts.slot ?? limiter(opts.concurrency ?? CREDIT_READ_CONCURRENCY);
  // the credit's own reads take a slot too, so that a page reading many credits (readMarket) stays
  // within its one bound
  const chainId = await slot(() => client.getChainId());
  const [info, supply, totalSupply, window, threshold, issued] = await Promise.all([
    slot(
      () =>
        client.readContract({
          address: credits,
          abi: carbonCreditsAbi,
          functionName: "creditInfo",
          args: [tokenId],
        }) as Promise<readonly [number, number, Hex, Hex, string]>,
    ),
    slot(
      () =>
        client.readContract({
          address: credits,
          abi: carbonCreditsAbi,
          functionName: "supplyOf",
          args: [tokenId],
        }) as Promise<{ issued: bigint; retired: bigint; retirements: bigint }>,
    ),
    slot(
      () =>
        client.readContract({
          address: credits,
          abi: carbonCreditsAbi,
          functionName: "totalSupply",
          args: [tokenId],
        }) as Promise<bigint>,
    ),
    slot(
      () =>
        client.readContract({
          address: credits,
          abi: carbonCreditsAbi,
          functionName: "challengeWindow",
        }) as Promise<bigint>,
    ),
    slot(
      () =>
        client.readContract({
          address: need(addresses, "OracleSet"),
          abi: oracleSetAbi,
          functionName: "threshold",
        }) as Promise<number>,
    ),
    readContractEvents<IssuedLog>(client, addresses.events, {
      address: credits,
      abi: carbonCreditsAbi,
      eventName: "CreditsIssued",
      args: { tokenId },
    }),
  ]);
  const last = issued[issued.length - 1];
  const headers: Headers = last ? await readHeaders(client, addresses, info[2], last.blockNumber) : new Map();
  // one read per block and per attestation, shared by the issuances in it or naming it
  const blockTimes = new Map<bigint, Promise<bigint>>();
  const attestations = new Map<string, Promise<AttestationFacts>>();
  for (const l of issued) {
    if (!blockTimes.has(l.blockNumber))
      blockTimes.set(
        l.blockNumber,
        slot(async () => (await client.getBlock({ blockNumber: l.blockNumber })).timestamp),
      );
    const key = l.args.attestationId.toLowerCase();
    if (!attestations.has(key))
      attestations.set(
        key,
        slot(() => readAttestation(client, addresses, l.args.attestationId, chainId, headers)),
      );
  }
  // every read has its handler before any of them settles (no rejection left unhandled meanwhile)
  await Promise.all([...blockTimes.values(), ...attestations.values()]);
  const issuances: IssuanceFacts[] = await Promise.all(
    issued.map(async (l) => ({
      attestationId: l.args.attestationId,
      amountKg: l.args.amount,
      boundKg: l.args.boundKg,
      issuedAt: await blockTimes.get(l.blockNumber)!,
      txHash: l.transactionHash,
      position: { blockNumber: l.blockNumber, logIndex: Number(l.logIndex) },
      attestation: await attestations.get(l.args.attestationId.toLowerCase())!,
    })),
  );
  return {
    tokenId,
    projectId: Number(info[0]),
    vintage: Number(info[1]),
    facilityId: info[2],
    methodologyId: info[3],
    projectName: info[4],
    issuedKg: BigInt(supply.issued),
    retiredKg: BigInt(supply.retired),
    retirements: BigInt(supply.retirements),
    totalSupplyKg: totalSupply,
    issuances,
    challengeWindowS: BigInt(window),
    quorumThreshold: Number(threshold),
  };
}

/** Issuances the credit page shows at a time, newest first. */
export const ISSUANCE_PAGE_SIZE = 50;

/** Where a page of issuances starts: `after` an issuance (older ones) or `before` it (newer ones). */
export type IssuanceCursor = { after?: string; before?: string };

export type IssuancePage = {
  /** Newest first. */
  rows: IssuanceFacts[];
  /** Position (1-based, newest = 1) of the first row among all issuances. */
  first: number;
  total: number;
  /** Cursor of the older page (`?after=`), null on the oldest. */
  next: string | null;
  /** Cursor of the newer page (`?before=`), null on the newest. */
  previous: string | null;
  /** Why the cursor was refused (then the page is the newest). */
  refused?: string;
};

/** An issuance's place in the chain as a cursor: `<block>-<log index>`. */
export function issuanceCursor(i: IssuanceFacts): string {
  return `${i.position?.blockNumber ?? 0n}-${i.position?.logIndex ?? 0}`;
}

function compareAt(i: IssuanceFacts, at: readonly [bigint, bigint]): number {
  const b = i.position?.blockNumber ?? 0n;
  const l = BigInt(i.position?.logIndex ?? 0);
  return b !== at[0] ? (b < at[0] ? -1 : 1) : l === at[1] ? 0 : l < at[1] ? -1 : 1;
}

/**
 * One page of a credit's issuances (all of them, oldest first, as {@link readCreditFacts} reads
 * them), newest first: the newest `pageSize`, or those just older than `cursor.after`, or just
 * newer than `cursor.before`. The cursor is a chain position, so a page stays put as new
 * issuances arrive.
 */
export function issuancePage(
  issuances: readonly IssuanceFacts[],
  cursor: IssuanceCursor,
  pageSize: number = ISSUANCE_PAGE_SIZE,
): IssuancePage {
  const newest = [...issuances].reverse();
  const total = newest.length;
  const raw = cursor.after ?? cursor.before;
  const m = raw === undefined ? null : /^(\d{1,20})-(\d{1,10})$/.exec(raw);
  let start = 0;
  let refused: string | undefined;
  if (raw !== undefined && !m) refused = `“${raw}” is not an issuance position (<block>-<log index>)`;
  else if (m) {
    const at = [BigInt(m[1]!), BigInt(m[2]!)] as const;
    if (cursor.after !== undefined) {
      // the first issuance older than `at`
      const i = newest.findIndex((x) => compareAt(x, at) < 0);
      // past the oldest (the issuances it followed were all older): the oldest page
      start = i === -1 ? Math.max(0, total - pageSize) : i;
    } else {
      // the page that ends just before the first issuance not newer than `at`
      const i = newest.findIndex((x) => compareAt(x, at) <= 0);
      start = Math.max(0, (i === -1 ? total : i) - pageSize);
    }
  }
  const rows = newest.slice(start, start + pageSize);
  return {
    rows,
    first: start + 1,
    total,
    next: start + pageSize < total && rows.length > 0 ? issuanceCursor(rows[rows.length - 1]!) : null,
    previous: start > 0 && rows.length > 0 ? issuanceCursor(rows[0]!) : null,
    refused,
  };
}

export type MarketData = {
  listings: MarketListing[];
  /** Raw open listings by id (payment token, min fill, expiry) for the buy form. */
  tokens: Record<string, PaymentTokenInfo>;
  feeBps: number;
  nowS: number;
};

/**
 * Open, unexpired listings joined with their credits' provenance and verification. Every read of
 * the listed credits (their own, their event ranges, their issuances) and of their payment tokens
 * goes through the deployment's one events `slot`
 * (else one made for this call): the page's bound, however many credits are listed, where each
 * credit's own limiter let (credits × the limit) out at once.
 */
export async function readMarket(
  client: PublicClient,
  addresses: Deployment,
  facilities: FacilityDirectory,
): Promise<MarketData> {
  const events = addresses.events ?? eventReads();
  const deployment: Deployment = { ...addresses, events };
  const slot = events.slot;
  const [all, block, feeBps] = await Promise.all([
    readAllListings(client, deployment),
    slot(() => client.getBlock()),
    slot(() => readFeeBps(client, deployment)),
  ]);
  const nowS = Number(block.timestamp);
  const open = all.filter((l) => l.remaining > 0n && l.expiresAt > nowS);
  const tokenIds = [...new Set(open.map((l) => l.tokenId))];
  const paymentTokens = [...new Set(open.map((l) => l.paymentToken))];
  const [facts, tokens] = await Promise.all([
    Promise.all(tokenIds.map((id) => readCreditFacts(client, deployment, id, { slot }))),
    Promise.all(paymentTokens.map((t) => slot(() => readPaymentToken(client, t)))),
  ]);
  const byToken = new Map(facts.map((f) => [f.tokenId, f]));
  const listings = open.map((l): MarketListing => {
    const f = byToken.get(l.tokenId)!;
    const facility = idString(f.facilityId);
    return {
      listingId: l.listingId,
      tokenId: l.tokenId,
      seller: l.seller,
      pricePerKg: l.unitPrice,
      availableKg: l.remaining,
      projectId: f.projectId,
      projectName: f.projectName,
      facilityId: facility,
      facilityName: facilities[facility]?.name,
      country: facilities[facility]?.country,
      methodology: methodologyLabel(f.methodologyId),
      vintage: f.vintage,
      attestedReadings: attestedReadings(f),
      challengeStatus: challengeSummary(f),
      verified: allPass(creditChecks(f)),
      paymentToken: l.paymentToken,
      minFillKg: l.minFill,
      expiresAt: l.expiresAt,
    };
  });
  return { listings, tokens: Object.fromEntries(tokens.map((t) => [t.address, t])), feeBps, nowS };
}

// ---------------------------------------------------------------- certificates

type RetiredLog = {
  args: {
    certificateId: bigint;
    creditId: bigint;
    beneficiary: Address;
    retiree: Address;
    holder: Address;
    amount: bigint;
  };
  transactionHash: Hex;
};

export async function readCertificateFacts(
  client: PublicClient,
  addresses: Deployment,
  certificateId: bigint,
): Promise<CertificateFacts & { imageDataUri: string | undefined }> {
  const certs = need(addresses, "RetirementCertificates");
  const raw = (await client.readContract({
    address: certs,
    abi: retirementCertificatesAbi,
    functionName: "getCertificate",
    args: [certificateId],
  })) as {
    creditId: bigint;
    beneficiary: Address;
    retiree: Address;
    amount: bigint;
    retiredAt: bigint;
    beneficiaryName: string;
    reason: string;
    consumptionCountry: Hex;
    consumptionStart: bigint;
    consumptionEnd: bigint;
  };
  const record: CertificateRecord = {
    certificateId,
    creditId: raw.creditId,
    beneficiary: raw.beneficiary,
    retiree: raw.retiree,
    amountKg: raw.amount,
    retiredAt: raw.retiredAt,
    beneficiaryName: raw.beneficiaryName,
    reason: raw.reason,
    consumptionCountry: /^0x0+$/.test(raw.consumptionCountry) ? undefined : hexToString(raw.consumptionCountry),
    consumptionStart: BigInt(raw.consumptionStart),
    consumptionEnd: BigInt(raw.consumptionEnd),
  };
  const [owner, locked, uri, retiredLogs, credit] = await Promise.all([
    client.readContract({
      address: certs,
      abi: retirementCertificatesAbi,
      functionName: "ownerOf",
      args: [certificateId],
    }) as Promise<Address>,
    client.readContract({
      address: certs,
      abi: retirementCertificatesAbi,
      functionName: "locked",
      args: [certificateId],
    }) as Promise<boolean>,
    client.readContract({
      address: certs,
      abi: retirementCertificatesAbi,
      functionName: "tokenURI",
      args: [certificateId],
    }) as Promise<string>,
    readContractEvents<RetiredLog>(client, addresses.events, {
      address: certs,
      abi: retirementCertificatesAbi,
      eventName: "Retired",
      args: { certificateId },
    }),
    readCreditFacts(client, addresses, raw.creditId),
  ]);
  const decoded = decodeDataJson(uri);
  let metadata: CertificateMetadata | undefined;
  let metadataError: string | undefined;
  if (decoded.ok && typeof decoded.value === "object" && decoded.value && "certificate" in decoded.value)
    metadata = decoded.value as CertificateMetadata;
  else metadataError = decoded.ok ? "tokenURI JSON has no certificate record" : decoded.error;
  const ev = retiredLogs[0];
  // The burn itself: CarbonCredits' ERC-1155 TransferSingle to the zero address in the same transaction.
  let burn: { tokenId: bigint; amountKg: bigint } | undefined;
  if (ev) {
    const credits = need(addresses, "CarbonCredits").toLowerCase();
    const receipt = await client.getTransactionReceipt({ hash: ev.transactionHash });
    const transfers = parseEventLogs({
      abi: carbonCreditsAbi,
      logs: receipt.logs.filter((l) => l.address.toLowerCase() === credits),
      eventName: "TransferSingle",
    }) as unknown as { args: { from: Address; to: Address; id: bigint; value: bigint } }[];
    const burned = transfers.find((t) => t.args.to === zeroAddress && t.args.id === ev.args.creditId);
    if (burned) burn = { tokenId: burned.args.id, amountKg: burned.args.value };
  }
  return {
    record,
    owner,
    locked,
    metadata,
    metadataError,
    retirement: ev
      ? {
          certificateId: ev.args.certificateId,
          tokenId: ev.args.creditId,
          amountKg: ev.args.amount,
          beneficiary: ev.args.beneficiary,
          retiree: ev.args.retiree,
          txHash: ev.transactionHash,
          burn,
        }
      : undefined,
    credit,
    imageDataUri:
      typeof metadata?.image === "string" && metadata.image.startsWith("data:image/svg+xml")
        ? metadata.image
        : undefined,
  };
}

// ---------------------------------------------------------------- portfolio

export type Holding = { tokenId: bigint; balanceKg: bigint; projectName: string; vintage: number; facilityId: string };
export type OwnCertificate = {
  certificateId: bigint;
  creditId: bigint;
  amountKg: bigint;
  beneficiaryName: string;
  reason: string;
};

export type Portfolio = {
  holdings: Holding[];
  /** The account's listings with credits still in escrow: open, or expired and not yet cancelled. */
  listings: Listing[];
  certificates: OwnCertificate[];
  /** The chain head's timestamp (Unix seconds): listings expire by chain time (listings.ts). */
  nowS: number;
};

export async function readPortfolio(client: PublicClient, addresses: Deployment, account: Address): Promise<Portfolio> {
  const credits = need(addresses, "CarbonCredits");
  const market = addresses.Marketplace;
  const events = addresses.events;
  const [single, batch, listed, minted] = await Promise.all([
    readContractEvents<{ args: { id: bigint } }>(client, events, {
      address: credits,
      abi: carbonCreditsAbi,
      eventName: "TransferSingle",
      args: { to: account },
    }),
    readContractEvents<{ args: { ids: bigint[] } }>(client, events, {
      address: credits,
      abi: carbonCreditsAbi,
      eventName: "TransferBatch",
      args: { to: account },
    }),
    market
      ? readContractEvents<{ args: { listingId: bigint } }>(client, events, {
          address: market,
          abi: marketplaceAbi,
          eventName: "Listed",
          args: { seller: account },
        })
      : Promise.resolve([]),
    addresses.RetirementCertificates
      ? readContractEvents<{
          args: { certificateId: bigint; creditId: bigint; amount: bigint; beneficiaryName: string; reason: string };
        }>(client, events, {
          address: addresses.RetirementCertificates,
          abi: retirementCertificatesAbi,
          eventName: "Retired",
          args: { beneficiary: account },
        })
      : Promise.resolve([]),
  ]);
  const ids = [...new Set([...single.map((l) => l.args.id), ...batch.flatMap((l) => l.args.ids)])];
  const balances = ids.length
    ? ((await client.readContract({
        address: credits,
        abi: carbonCreditsAbi,
        functionName: "balanceOfBatch",
        args: [ids.map(() => account), ids],
      })) as bigint[])
    : [];
  const held = ids.map((tokenId, i) => ({ tokenId, balanceKg: balances[i] ?? 0n })).filter((h) => h.balanceKg > 0n);
  const infos = await Promise.all(
    held.map(
      (h) =>
        client.readContract({
          address: credits,
          abi: carbonCreditsAbi,
          functionName: "creditInfo",
          args: [h.tokenId],
        }) as Promise<readonly [number, number, Hex, Hex, string]>,
    ),
  );
  const [found, head] = await Promise.all([
    Promise.all(listed.map((l) => readListing(client, addresses, l.args.listingId))),
    client.getBlock(),
  ]);
  const listings = found.filter((l) => l.remaining > 0n);
  return {
    nowS: Number(head.timestamp),
    holdings: held.map((h, i) => ({
      ...h,
      projectName: infos[i]![4],
      vintage: Number(infos[i]![1]),
      facilityId: idString(infos[i]![2]),
    })),
    listings,
    certificates: minted.map((m) => ({
      certificateId: m.args.certificateId,
      creditId: m.args.creditId,
      amountKg: m.args.amount,
      beneficiaryName: m.args.beneficiaryName,
      reason: m.args.reason,
    })),
  };
}

/**
 * The retirement certificate a confirmed transaction minted: the `certificateId` of its
 * RetirementCertificates `Retired` event (a retirement) or of its Marketplace `Bought` event (a
 * purchase: 0 unless retired in the same transaction); undefined without such an event.
 */
export function certificateIdIn(logs: readonly Log[], event: "Retired" | "Bought"): bigint | undefined {
  const [ev] = (event === "Retired"
    ? parseEventLogs({ abi: retirementCertificatesAbi, logs: [...logs], eventName: "Retired" })
    : parseEventLogs({ abi: marketplaceAbi, logs: [...logs], eventName: "Bought" })) as unknown as {
    args: { certificateId: bigint };
  }[];
  return ev?.args.certificateId;
}
