/**
 * The subgraph backend of the explorer's indexer: GraphQL over HTTP to a graph-node (or The
 * Graph's gateway), with fetch and nothing else. Every response is validated with zod at this
 * edge; inside, the explorer gets typed values with bigint amounts.
 */
import { z } from "zod";
import {
  readPage,
  windowOf,
  type DetailListReaders,
  type Keyed,
  type KeyValue,
  type ListReaders,
  type Window,
} from "./cursor.ts";
import { checkDayRange, IndexerError } from "./errors.ts";
import { protocolIdKey } from "./ids.ts";
import { bigintString, facilityRef, hex } from "./schemas.ts";
import type { ExplorerIndexer } from "./indexer.ts";
import {
  ACCOUNT_HOLDINGS_QUERY,
  ATTESTATION_QUERY,
  ATTESTATIONS_QUERY,
  CHALLENGES_QUERY,
  CREDIT_QUERY,
  DAILY_QUERY,
  DEVICE_HISTORY_QUERY,
  DEVICE_KEYS_QUERY,
  DEVICE_QUERY,
  DEVICES_QUERY,
  FACILITIES_QUERY,
  FACILITY_ATTESTATIONS_QUERY,
  FACILITY_CREDITS_QUERY,
  FACILITY_DAILY_QUERY,
  FACILITIES_DAILY_QUERY,
  FACILITY_DEVICES_QUERY,
  FACILITY_PROJECTS_QUERY,
  FACILITY_QUERY,
  HOLDINGS_QUERY,
  ISSUANCES_QUERY,
  LISTINGS_QUERY,
  ORACLE_NODES_QUERY,
  OVERVIEW_QUERY,
  RETIREMENT_QUERY,
  RETIREMENTS_QUERY,
  SALES_QUERY,
  SEARCH_QUERY,
  TRANSFERS_QUERY,
} from "./queries.ts";
import { searchHits, searchResult, searchVariables } from "./search.ts";
import type {
  AttestationDetail,
  AttestationHeader,
  AttestationSummary,
  ChallengeSummary,
  CreditDetail,
  DailyTotals,
  FacilityDailyTotals,
  DetailListName,
  DetailLists,
  DeviceDetail,
  DeviceHeader,
  DeviceStatus,
  FacilityDetail,
  FacilitySummary,
  Hex,
  Holding,
  IssuanceSummary,
  ListName,
  ListPage,
  Lists,
  ListingStatus,
  ListingSummary,
  OracleNodeSummary,
  Page,
  ProtocolOverview,
  ReadingSummary,
  RetirementDetail,
  RetirementSummary,
  SaleSummary,
  SearchHit,
  SourceTotals,
  TransferKind,
  TransferSummary,
} from "./types.ts";

export type SubgraphIndexerOptions = {
  /** the subgraph's query URL, e.g. http://127.0.0.1:8000/subgraphs/name/carbonproof */
  url: string;
  /** extra headers (e.g. an Authorization for a gateway) */
  headers?: Record<string, string>;
  /** defaults to the global fetch */
  fetch?: typeof fetch;
  /** per-request timeout, milliseconds (default 15 s) */
  timeoutMs?: number;
};

// ---------------------------------------------------------------- response schemas

const facilityFields = facilityRef.extend({
  deviceCount: z.number().int(),
  activeDeviceCount: z.number().int(),
  attestationCount: z.number().int(),
  revokedAttestationCount: z.number().int(),
  readingCount: bigintString,
  fossilCo2eGrams: bigintString,
  biogenicCo2Grams: bigintString,
  attestedUntil: bigintString,
  creditsIssuedKg: bigintString,
  creditsRetiredKg: bigintString,
});

const challengeState = z.enum(["None", "Pending", "Dismissed", "Upheld"]);

const attestationSummary = z
  .object({
    id: hex,
    facility: facilityRef,
    periodStart: bigintString,
    periodEnd: bigintString,
    readingCount: bigintString,
    fossilCo2eGrams: bigintString,
    biogenicCo2Grams: bigintString,
    isCorrection: z.boolean(),
    revoked: z.boolean(),
    challengeState,
    submittedAt: bigintString,
    // credit is null for an issuance of 0 kg (nothing minted)
    issuance: z.object({ credit: z.object({ tokenId: bigintString }).nullable() }).nullable(),
  })
  .transform(({ issuance, ...a }): AttestationSummary => ({
    ...a,
    issuedCreditId: issuance?.credit?.tokenId ?? null,
  }));

const projectFields = z.object({
  projectId: bigintString,
  name: z.string(),
  standard: z.string(),
  active: z.boolean(),
  proponent: hex,
  issuedKg: bigintString,
  retiredKg: bigintString,
  owedGrams: bigintString,
  shortfallGramsRecorded: bigintString,
});

const deviceSummary = z.object({
  id: hex,
  code: z.string().nullable(),
  kind: z.enum(["FlueGas", "ElectricityMeter", "FuelMeter", "ManualEntry"]),
  status: z.enum(["Active", "Suspended", "Retired"]),
  keyCount: z.number().int(),
  registeredAt: bigintString,
});

const deviceKey = z.object({
  index: z.number().int(),
  x: hex,
  y: hex,
  validFrom: bigintString,
  validUntil: bigintString.nullable(),
});

const deviceHistoryEntry = z.object({
  kind: z.enum(["Registered", "Suspended", "Reactivated", "KeyRotated", "Retired", "MetadataUpdated"]),
  reason: z.string().nullable(),
  timestamp: bigintString,
  transactionHash: hex,
});

const deviceHeader = deviceSummary.extend({
  statusReason: z.string().nullable(),
  metadataURI: z.string(),
  facility: facilityRef,
});

const deviceDetail = deviceHeader.extend({
  keys: z.array(deviceKey),
  history: z.array(deviceHistoryEntry),
});

const dailyFields = z.object({
  day: z.number().int(),
  date: bigintString,
  attestationCount: z.number().int(),
  revokedAttestationCount: z.number().int(),
  readingCount: bigintString,
  fossilCo2eGrams: bigintString,
  biogenicCo2Grams: bigintString,
  issuedKg: bigintString,
  retiredKg: bigintString,
  saleCount: z.number().int(),
  soldKg: bigintString,
});

const facilityDailyFields = dailyFields.extend({ facility: facilityRef, issuedAgainstKg: bigintString });

const holding = z
  .object({
    amountKg: bigintString,
    credit: z.object({ tokenId: bigintString, vintage: z.number().int(), project: z.object({ name: z.string() }) }),
  })
  .transform(({ amountKg, credit }): Holding => ({
    creditId: credit.tokenId,
    vintage: credit.vintage,
    projectName: credit.project.name,
    amountKg,
  }));

const graphqlResponse = z.object({
  data: z.record(z.string(), z.unknown()).nullable().optional(),
  errors: z.array(z.object({ message: z.string() }).passthrough()).optional(),
});

/** Deepest `skip` graph-node answers by default: a list read in pages reaches row SUBGRAPH_MAX_SKIP + first, no further. */
export const SUBGRAPH_MAX_SKIP = 5000;

function page(p: Page | undefined): { first: number; skip: number } {
  const first = p?.first ?? 100;
  const skip = p?.skip ?? 0;
  // graph-node caps `first` at 1000 and `skip` at 5000 by default; larger values are an error there.
  if (!Number.isInteger(first) || first < 1 || first > 1000) {
    throw new IndexerError("INDEXER_ARGUMENT_INVALID", `page.first must be an integer in 1…1000, got ${first}`);
  }
  if (!Number.isInteger(skip) || skip < 0 || skip > SUBGRAPH_MAX_SKIP) {
    throw new IndexerError(
      "INDEXER_ARGUMENT_INVALID",
      `page.skip must be an integer in 0…${SUBGRAPH_MAX_SKIP}, got ${skip}`,
    );
  }
  return { first, skip };
}

function projectOf(p: z.infer<typeof projectFields>) {
  const { projectId, shortfallGramsRecorded, ...rest } = p;
  return { id: projectId, ...rest, shortfallGrams: shortfallGramsRecorded };
}

function address(account: Hex, what: string): Hex {
  if (!/^0x[0-9a-fA-F]{40}$/.test(account)) {
    throw new IndexerError("INDEXER_ARGUMENT_INVALID", `${what} is a 20-byte hex address, got ${account}`);
  }
  return account.toLowerCase() as Hex;
}

function bytes32Arg(id: Hex, what: string): Hex {
  if (!/^0x[0-9a-fA-F]{64}$/.test(id))
    throw new IndexerError("INDEXER_ARGUMENT_INVALID", `${what} is a bytes32 hex, got ${id}`);
  return id.toLowerCase() as Hex;
}

function tokenIdArg(id: bigint, what: string): string {
  if (id < 0n) throw new IndexerError("INDEXER_ARGUMENT_INVALID", `${what} is a non-negative integer, got ${id}`);
  return id.toString();
}

/**
 * A where filter matching `base` and any one of `sides` (an account as sender or receiver, …).
 * graph-node rejects `or` beside other fields of the same filter, so `base` goes into each branch.
 */
function eitherSide(base: Record<string, unknown>, sides: Record<string, unknown>[] | undefined) {
  return sides ? { or: sides.map((side) => ({ ...base, ...side })) } : base;
}

/** How a list is ordered: graph-node breaks ties on `field` by `id`, in the same direction. */
type Order = { field: string; direction: "asc" | "desc" };

const flip = (d: "asc" | "desc") => (d === "asc" ? "desc" : "asc");

/** A list's window on the subgraph: `skip` up to SUBGRAPH_MAX_SKIP, any depth by cursor (key: order field, id). */
const subgraphWindow = (p: Page | undefined) => windowOf(p, 2, SUBGRAPH_MAX_SKIP);

const sortKey = z.object({ id: z.string() }).passthrough();

/** The subgraph's TransferKind, as the explorer names ERC-1155 movements. */
const TRANSFER_KIND: Record<"Issuance" | "Retirement" | "Transfer", TransferKind> = {
  Issuance: "Mint",
  Retirement: "Burn",
  Transfer: "Transfer",
};

export class SubgraphIndexer implements ExplorerIndexer {
  readonly backend = "subgraph" as const;
  readonly #url: string;
  /** the URL as messages name it: a Studio gateway's holds its API key in the path */
  readonly #shownUrl: string;
  readonly #headers: Record<string, string>;
  readonly #fetch: typeof fetch;
  readonly #timeoutMs: number;

  constructor(options: SubgraphIndexerOptions) {
    this.#url = options.url;
    this.#shownUrl = urlForMessages(options.url);
    this.#headers = options.headers ?? {};
    this.#fetch = options.fetch ?? globalThis.fetch;
    this.#timeoutMs = options.timeoutMs ?? 15_000;
  }

  /** Sends one GraphQL document and returns its `data`, validated by `schema`. */
  async query<T extends z.ZodTypeAny>(
    document: string,
    variables: Record<string, unknown>,
    schema: T,
  ): Promise<z.output<T>> {
    let response: Response;
    try {
      response = await this.#fetch(this.#url, {
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/json", ...this.#headers },
        body: JSON.stringify({ query: document, variables }),
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
    } catch (cause) {
      throw new IndexerError(
        "INDEXER_UNREACHABLE",
        `cannot reach the subgraph at ${this.#shownUrl}: check CARBONPROOF_SUBGRAPH_URL and that graph-node is running`,
        { cause },
      );
    }
    const text = await response.text();
    if (!response.ok) {
      throw new IndexerError(
        "INDEXER_HTTP_ERROR",
        `the subgraph at ${this.#shownUrl} answered HTTP ${response.status}: ${text.slice(0, 200)}`,
        { cause: text },
      );
    }
    let body: z.infer<typeof graphqlResponse>;
    try {
      body = graphqlResponse.parse(JSON.parse(text));
    } catch (cause) {
      throw new IndexerError("INDEXER_RESPONSE_INVALID", `the subgraph answered something that is not GraphQL JSON`, {
        cause,
      });
    }
    if (body.errors?.length) {
      throw new IndexerError(
        "INDEXER_QUERY_FAILED",
        `the subgraph rejected the query: ${body.errors.map((e) => e.message).join("; ")} (is the deployed subgraph built from this schema.graphql?)`,
        { cause: body.errors },
      );
    }
    const parsed = schema.safeParse(body.data);
    if (!parsed.success) {
      throw new IndexerError(
        "INDEXER_RESPONSE_INVALID",
        `the subgraph's data does not have the expected shape: ${parsed.error.issues
          .slice(0, 3)
          .map((i) => `${i.path.join(".")}: ${i.message}`)
          .join("; ")}`,
        { cause: parsed.error },
      );
    }
    return parsed.data;
  }

  async overview(): Promise<ProtocolOverview> {
    const stat = z.object({
      facilityCount: z.number().int(),
      deviceCount: z.number().int(),
      oracleNodeCount: z.number().int(),
      attestationCount: z.number().int(),
      revokedAttestationCount: z.number().int(),
      readingCount: bigintString,
      fossilCo2eGrams: bigintString,
      biogenicCo2Grams: bigintString,
      projectCount: z.number().int(),
      issuedKg: bigintString,
      retiredKg: bigintString,
      retirementCount: z.number().int(),
      listingCount: z.number().int(),
      saleCount: z.number().int(),
      soldKg: bigintString,
    });
    const data = await this.query(
      OVERVIEW_QUERY,
      {},
      z.object({
        protocolStat: stat.nullable(),
        _meta: z.object({ block: z.object({ number: z.number().int() }), hasIndexingErrors: z.boolean() }).nullable(),
      }),
    );
    const s = data.protocolStat ?? {
      facilityCount: 0,
      deviceCount: 0,
      oracleNodeCount: 0,
      attestationCount: 0,
      revokedAttestationCount: 0,
      readingCount: 0n,
      fossilCo2eGrams: 0n,
      biogenicCo2Grams: 0n,
      projectCount: 0,
      issuedKg: 0n,
      retiredKg: 0n,
      retirementCount: 0,
      listingCount: 0,
      saleCount: 0,
      soldKg: 0n,
    };
    return {
      ...s,
      indexedBlock: data._meta?.block.number ?? null,
      indexingErrors: data._meta?.hasIndexingErrors ?? false,
    };
  }

  async facilities(p?: Page): Promise<FacilitySummary[]> {
    return (await this.#facilities(subgraphWindow(p))).rows;
  }

  #facilities(w: Window): Promise<Keyed<FacilitySummary>> {
    return this.#keyed(
      FACILITIES_QUERY,
      "facilities",
      { field: "fossilCo2eGrams", direction: "desc" },
      {},
      w,
      facilityFields,
    );
  }

  async facility(id: string, p?: Page): Promise<FacilityDetail | undefined> {
    const data = await this.query(
      FACILITY_QUERY,
      { id: protocolIdKey(id), ...page(p), nested: true },
      z.object({
        facility: facilityFields
          .extend({
            devices: z.array(deviceSummary),
            projects: z.array(projectFields),
            attestations: z.array(attestationSummary),
          })
          .nullable(),
      }),
    );
    if (!data.facility) return undefined;
    return { ...data.facility, projects: data.facility.projects.map(projectOf) };
  }

  async facilityHeader(id: string): Promise<FacilitySummary | undefined> {
    const data = await this.query(
      FACILITY_QUERY,
      { id: protocolIdKey(id), first: 1, skip: 0, nested: false },
      z.object({ facility: facilityFields.nullable() }),
    );
    return data.facility ?? undefined;
  }

  async device(id: string): Promise<DeviceDetail | undefined> {
    const data = await this.query(
      DEVICE_QUERY,
      { id: protocolIdKey(id), nested: true },
      z.object({ device: deviceDetail.nullable() }),
    );
    return data.device ?? undefined;
  }

  async deviceHeader(id: string): Promise<DeviceHeader | undefined> {
    const data = await this.query(
      DEVICE_QUERY,
      { id: protocolIdKey(id), nested: false },
      z.object({ device: deviceHeader.nullable() }),
    );
    return data.device ?? undefined;
  }

  async attestations(filter?: { revoked?: boolean; isCorrection?: boolean }, p?: Page): Promise<AttestationSummary[]> {
    return (await this.#attestations(filter, subgraphWindow(p))).rows;
  }

  async #attestations(
    filter: { revoked?: boolean; isCorrection?: boolean } | undefined,
    w: Window,
  ): Promise<Keyed<AttestationSummary>> {
    const where: Record<string, unknown> = {};
    if (filter?.revoked !== undefined) where.revoked = filter.revoked;
    if (filter?.isCorrection !== undefined) where.isCorrection = filter.isCorrection;
    return this.#keyed(
      ATTESTATIONS_QUERY,
      "attestations",
      { field: "submittedAt", direction: "desc" },
      where,
      w,
      attestationSummary,
    );
  }

  async attestation(id: Hex): Promise<AttestationDetail | undefined> {
    const read = await this.#attestation(id, true);
    if (!read) return undefined;
    const corrections = z.object({ corrections: z.array(z.object({ id: hex })) }).safeParse(read.raw);
    if (!corrections.success) {
      throw new IndexerError("INDEXER_RESPONSE_INVALID", `attestation ${id}: unexpected shape`, {
        cause: corrections.error,
      });
    }
    return { ...read.header, corrections: corrections.data.corrections.map((c) => c.id) };
  }

  async attestationHeader(id: Hex): Promise<AttestationHeader | undefined> {
    return (await this.#attestation(id, false))?.header;
  }

  /** An attestation's facts, and the answer they came from (which holds its corrections when `nested`). */
  async #attestation(id: Hex, nested: boolean): Promise<{ header: AttestationHeader; raw: unknown } | undefined> {
    if (!/^0x[0-9a-fA-F]{64}$/.test(id)) {
      throw new IndexerError("INDEXER_ARGUMENT_INVALID", `an attestation id is a bytes32 hex, got ${id}`);
    }
    const detail = z.object({
      merkleRoot: hex,
      methodologyId: hex,
      factorSetId: hex,
      bundleCid: z.string(),
      correctionOf: z.object({ id: hex }).nullable(),
      signatures: z.array(z.object({ node: z.object({ address: hex, index: z.number().int() }) })),
      submitter: hex,
      transactionHash: hex,
      revocation: z
        .object({
          verifier: hex,
          reason: z.string(),
          timestamp: bigintString,
          challenge: z.object({ id: hex }).nullable(),
        })
        .nullable(),
      challenge: z
        .object({
          challenger: hex,
          reason: z.string(),
          evidenceCid: z.string(),
          state: challengeState,
          note: z.string().nullable(),
        })
        .nullable(),
      issuance: z
        .object({ tokenId: bigintString, amountKg: bigintString, boundKg: bigintString, transactionHash: hex })
        .nullable(),
      shortfall: z
        .object({ project: z.object({ projectId: bigintString }), excessGrams: bigintString, transactionHash: hex })
        .nullable(),
    });
    const data = await this.query(
      ATTESTATION_QUERY,
      { id: id.toLowerCase(), nested },
      z.object({ attestation: z.unknown() }),
    );
    if (data.attestation == null) return undefined;
    const summary = attestationSummary.safeParse(data.attestation);
    const rest = detail.safeParse(data.attestation);
    if (!summary.success || !rest.success) {
      throw new IndexerError("INDEXER_RESPONSE_INVALID", `attestation ${id}: unexpected shape`, {
        cause: summary.success ? rest.error : summary.error,
      });
    }
    const d = rest.data;
    const s = summary.data;
    const header: AttestationHeader = {
      ...s,
      merkleRoot: d.merkleRoot,
      methodologyId: d.methodologyId,
      factorSetId: d.factorSetId,
      bundleCid: d.bundleCid,
      correctionOf: d.correctionOf?.id ?? null,
      signers: d.signatures.map((x) => x.node).sort((a, b) => a.index - b.index),
      submitter: d.submitter,
      transactionHash: d.transactionHash,
      revocation: d.revocation
        ? {
            verifier: d.revocation.verifier,
            reason: d.revocation.reason,
            timestamp: d.revocation.timestamp,
            byChallenge: d.revocation.challenge !== null,
          }
        : null,
      challenge: d.challenge,
      issuance: d.issuance
        ? {
            creditId: d.issuance.tokenId,
            amountKg: d.issuance.amountKg,
            boundKg: d.issuance.boundKg,
            transactionHash: d.issuance.transactionHash,
          }
        : null,
      shortfall: d.shortfall
        ? {
            projectId: d.shortfall.project.projectId,
            excessGrams: d.shortfall.excessGrams,
            transactionHash: d.shortfall.transactionHash,
          }
        : null,
    };
    return { header, raw: data.attestation };
  }

  async credit(tokenId: bigint): Promise<CreditDetail | undefined> {
    const data = await this.query(
      CREDIT_QUERY,
      { id: tokenId.toString() },
      z.object({
        credit: z
          .object({
            tokenId: bigintString,
            vintage: z.number().int(),
            issuedKg: bigintString,
            retiredKg: bigintString,
            supplyKg: bigintString,
            holderCount: z.number().int(),
            retirementCount: z.number().int(),
            project: projectFields.extend({ facility: facilityRef }),
            issuances: z.array(
              z.object({
                attestation: z.object({ id: hex }),
                amountKg: bigintString,
                boundKg: bigintString,
                timestamp: bigintString,
                transactionHash: hex,
              }),
            ),
          })
          .nullable(),
      }),
    );
    const c = data.credit;
    if (!c) return undefined;
    return {
      ...c,
      project: { ...projectOf(c.project), facility: c.project.facility },
      issuances: c.issuances.map(({ attestation, ...i }) => ({ attestationId: attestation.id, ...i })),
    };
  }

  async listings(filter?: { status?: ListingStatus; creditId?: bigint }, p?: Page): Promise<ListingSummary[]> {
    return (await this.#listings(filter, subgraphWindow(p))).rows;
  }

  #listings(filter: { status?: ListingStatus; creditId?: bigint } | undefined, w: Window) {
    const where: Record<string, unknown> = {};
    if (filter?.status) where.status = filter.status;
    if (filter?.creditId !== undefined) where.credit = filter.creditId.toString();
    return this.#keyed(
      LISTINGS_QUERY,
      "listings",
      { field: "createdAt", direction: "desc" },
      where,
      w,
      z
        .object({
          listingId: bigintString,
          seller: z.object({ id: hex }),
          credit: z.object({ tokenId: bigintString }),
          amountKg: bigintString,
          remainingKg: bigintString,
          paymentToken: hex,
          unitPrice: bigintString,
          minFillKg: bigintString,
          expiresAt: bigintString,
          status: z.enum(["Open", "Filled", "Cancelled"]),
        })
        .transform(({ listingId, seller, credit, ...l }): ListingSummary => ({
          id: listingId,
          seller: seller.id,
          creditId: credit.tokenId,
          ...l,
        })),
    );
  }

  async retirement(certificateId: bigint): Promise<RetirementDetail | undefined> {
    const data = await this.query(
      RETIREMENT_QUERY,
      { id: certificateId.toString() },
      z.object({
        retirement: z
          .object({
            id: bigintString,
            credit: z.object({
              tokenId: bigintString,
              vintage: z.number().int(),
              project: z.object({ projectId: bigintString, name: z.string(), facility: facilityRef }),
            }),
            beneficiary: z.object({ id: hex }),
            retiree: z.object({ id: hex }),
            holder: hex,
            amountKg: bigintString,
            beneficiaryName: z.string(),
            reason: z.string(),
            consumptionCountryCode: z.string().nullable(),
            consumptionStart: bigintString,
            consumptionEnd: bigintString,
            timestamp: bigintString,
            transactionHash: hex,
            certificate: z.object({ locked: z.boolean() }),
          })
          .nullable(),
      }),
    );
    const r = data.retirement;
    if (!r) return undefined;
    return {
      certificateId: r.id,
      creditId: r.credit.tokenId,
      vintage: r.credit.vintage,
      project: { id: r.credit.project.projectId, name: r.credit.project.name, facility: r.credit.project.facility },
      beneficiary: r.beneficiary.id,
      retiree: r.retiree.id,
      holder: r.holder,
      amountKg: r.amountKg,
      beneficiaryName: r.beneficiaryName,
      reason: r.reason,
      consumptionCountry: r.consumptionCountryCode,
      consumptionStart: r.consumptionStart,
      consumptionEnd: r.consumptionEnd,
      timestamp: r.timestamp,
      transactionHash: r.transactionHash,
      locked: r.certificate.locked,
    };
  }

  async holdings(account: Hex): Promise<Holding[]> {
    const data = await this.query(
      HOLDINGS_QUERY,
      { id: address(account, "an account") },
      z.object({ account: z.object({ balances: z.array(holding) }).nullable() }),
    );
    return data.account?.balances ?? [];
  }

  /** An account's positive balances as `holdings` orders them (amountKg desc, ties by id desc), by cursor. */
  #holdings(account: Hex, w: Window): Promise<Keyed<Holding>> {
    const where = { account: address(account, "an account"), amountKg_gt: "0" };
    return this.#keyed(ACCOUNT_HOLDINGS_QUERY, "balances", { field: "amountKg", direction: "desc" }, where, w, holding);
  }

  async daily(range: { fromDay: number; toDay: number; facility?: string }): Promise<DailyTotals[]> {
    checkDayRange("daily", range);
    const vars = { from: range.fromDay, to: range.toDay };
    if (range.facility === undefined) {
      const data = await this.query(DAILY_QUERY, vars, z.object({ dailyStats: z.array(dailyFields) }));
      return data.dailyStats;
    }
    const data = await this.query(
      FACILITY_DAILY_QUERY,
      { ...vars, facility: protocolIdKey(range.facility) },
      z.object({ facility: z.object({ days: z.array(dailyFields) }).nullable() }),
    );
    return data.facility?.days ?? [];
  }

  async facilitiesDaily(range: { fromDay: number; toDay: number }, p: Page): Promise<ListPage<FacilityDailyTotals>> {
    checkDayRange("facilitiesDaily", range);
    const where = { day_gte: range.fromDay, day_lte: range.toDay };
    // by day, then id (facility id ++ day: facility id order within a day)
    const read = (w: Window) =>
      this.#keyed(
        FACILITIES_DAILY_QUERY,
        "facilityDailyStats",
        { field: "day", direction: "asc" },
        where,
        w,
        facilityDailyFields,
      );
    return readPage(p, 2, read, SUBGRAPH_MAX_SKIP);
  }

  // ---------------------------------------------------------------- lists the explorer browses

  async list<K extends ListName>(name: K, filter: Lists[K]["filter"], p: Page): Promise<ListPage<Lists[K]["row"]>> {
    const read = (w: Window) => (this.#readers[name] as ListReaders[K])(filter, w);
    return readPage(p, 2, read, SUBGRAPH_MAX_SKIP);
  }

  /** Readings are `null` here, as `readings` answers: they live in evidence bundles on IPFS, which The Graph does not read. */
  async detailList<K extends DetailListName>(
    name: K,
    filter: DetailLists[K]["filter"],
    p: Page,
  ): Promise<ListPage<DetailLists[K]["row"]> | null> {
    const read = this.#detailReaders[name] as DetailListReaders[K];
    return read && readPage(p, 2, (w) => read(filter, w), SUBGRAPH_MAX_SKIP);
  }

  /** Each detail list's read in a window (`detailList`); the nested lists of the detail methods, by cursor. */
  readonly #detailReaders: DetailListReaders = {
    facilityAttestations: ({ facility, periodStartBefore }, w) =>
      this.#facilityAttestations(facility, w, periodStartBefore),
    attestationReadings: null,
    deviceReadings: null,
    accountHoldings: ({ account }, w) => this.#holdings(account, w),
    facilityDevices: ({ facility }, w) =>
      this.#keyed(
        FACILITY_DEVICES_QUERY,
        "devices",
        { field: "registeredAt", direction: "asc" },
        { facility: protocolIdKey(facility) },
        w,
        deviceSummary,
      ),
    facilityProjects: ({ facility }, w) =>
      this.#keyed(
        FACILITY_PROJECTS_QUERY,
        "projects",
        { field: "registeredAt", direction: "asc" },
        { facility: protocolIdKey(facility) },
        w,
        projectFields.transform(projectOf),
      ),
    deviceKeys: ({ device }, w) =>
      this.#keyed(
        DEVICE_KEYS_QUERY,
        "deviceKeys",
        { field: "index", direction: "asc" },
        { device: protocolIdKey(device) },
        w,
        deviceKey,
      ),
    deviceHistory: ({ device }, w) =>
      this.#keyed(
        DEVICE_HISTORY_QUERY,
        "deviceEvents",
        { field: "timestamp", direction: "asc" },
        { device: protocolIdKey(device) },
        w,
        deviceHistoryEntry,
      ),
    // ATTESTATION_QUERY's nested corrections: by period, ties by id
    attestationCorrections: ({ attestationId }, w) =>
      this.#keyed(
        FACILITY_ATTESTATIONS_QUERY,
        "attestations",
        { field: "periodStart", direction: "asc" },
        { correctionOf: bytes32Arg(attestationId, "an attestation id") },
        w,
        attestationSummary,
      ),
    facilityReadings: null,
  };

  /**
   * A facility's attestations as `facility(id).attestations` orders them (periodStart desc, ties by
   * id desc), read from the top-level collection filtered by facility so a cursor can bound them:
   * the nested list takes `skip` alone, which graph-node refuses past 5,000.
   */
  #facilityAttestations(facility: string, w: Window, periodStartBefore?: bigint): Promise<Keyed<AttestationSummary>> {
    const where: Record<string, unknown> = { facility: protocolIdKey(facility) };
    if (periodStartBefore !== undefined) where.periodStart_lt = periodStartBefore.toString();
    return this.#keyed(
      FACILITY_ATTESTATIONS_QUERY,
      "attestations",
      { field: "periodStart", direction: "desc" },
      where,
      w,
      attestationSummary,
    );
  }

  /** Each list's read in a window (`list`). */
  readonly #readers: ListReaders = {
    facilities: (_, w) => this.#facilities(w),
    devices: (filter, w) => this.#devices(filter, w),
    oracles: (_, w) => this.#oracleNodes(w),
    attestations: (filter, w) => this.#attestations(filter, w),
    issuances: (filter, w) => this.#issuances(filter, w),
    transfers: (filter, w) => this.#transfers(filter, w),
    listings: (filter, w) => this.#listings(filter, w),
    sales: (filter, w) => this.#sales(filter, w),
    retirements: (filter, w) => this.#retirements(filter, w),
    challenges: (filter, w) => this.#challenges(filter, w),
  };

  /**
   * One window of a list ordered by `order`, each row with its sort key (order field, id). By cursor:
   * the rows past the key on the order field, or on it with an id past the key's (graph-node's
   * tie-break); `before` reads backwards (direction flipped) and gives the rows back in list order.
   */
  async #keyed<T extends z.ZodTypeAny>(
    document: string,
    key: string,
    order: Order,
    where: Record<string, unknown>,
    w: Window,
    row: T,
  ): Promise<Keyed<z.output<T>>> {
    const cursor = w.after ?? w.before;
    const backwards = w.before !== undefined;
    const direction = backwards ? flip(order.direction) : order.direction;
    let filter = where;
    if (cursor) {
      const op = direction === "desc" ? "lt" : "gt";
      const [value, id] = cursor;
      const past = { or: [{ [`${order.field}_${op}`]: value }, { [order.field]: value, [`id_${op}`]: id }] };
      filter = Object.keys(where).length ? { and: [where, past] } : past;
    }
    const data = await this.query(
      document,
      { first: w.first, skip: w.skip, direction, where: filter },
      z.object({ [key]: z.array(z.unknown()) }),
    );
    const raws = data[key] as unknown[];
    const rows = z.array(row).safeParse(raws);
    const keys = z.array(sortKey).safeParse(raws);
    if (!rows.success || !keys.success) {
      const error = rows.success ? keys.error! : rows.error;
      throw new IndexerError(
        "INDEXER_RESPONSE_INVALID",
        `the subgraph's ${key} do not have the expected shape: ${error.issues
          .slice(0, 3)
          .map((i) => `${i.path.join(".")}: ${i.message}`)
          .join("; ")}`,
        { cause: error },
      );
    }
    const sortKeys = keys.data.map((k): KeyValue[] => [k[order.field] as KeyValue, k.id]);
    return backwards ? { rows: rows.data.reverse(), keys: sortKeys.reverse() } : { rows: rows.data, keys: sortKeys };
  }

  async devices(filter?: { facility?: string; status?: DeviceStatus }, p?: Page): Promise<DeviceHeader[]> {
    return (await this.#devices(filter, subgraphWindow(p))).rows;
  }

  #devices(filter: { facility?: string; status?: DeviceStatus } | undefined, w: Window) {
    const where: Record<string, unknown> = {};
    if (filter?.facility !== undefined) where.facility = protocolIdKey(filter.facility);
    if (filter?.status !== undefined) where.status = filter.status;
    return this.#keyed(DEVICES_QUERY, "devices", { field: "registeredAt", direction: "desc" }, where, w, deviceHeader);
  }

  /**
   * The subgraph indexes the one OracleSet of its manifest's network, so every node it holds is
   * a node of the current set (removed ones included, `active: false`).
   */
  async oracleNodes(p?: Page): Promise<OracleNodeSummary[]> {
    return (await this.#oracleNodes(subgraphWindow(p))).rows;
  }

  #oracleNodes(w: Window) {
    return this.#keyed(
      ORACLE_NODES_QUERY,
      "oracleNodes",
      { field: "index", direction: "asc" },
      {},
      w,
      z.object({
        address: hex,
        index: z.number().int(),
        active: z.boolean(),
        addedAt: bigintString,
        removedAt: bigintString.nullable(),
        attestationsSigned: z.number().int(),
      }),
    );
  }

  async issuances(filter?: { creditId?: bigint; facility?: string }, p?: Page): Promise<IssuanceSummary[]> {
    return (await this.#issuances(filter, subgraphWindow(p))).rows;
  }

  #issuances(filter: { creditId?: bigint; facility?: string } | undefined, w: Window) {
    const where: Record<string, unknown> = {};
    // tokenId, not credit: an issuance of 0 kg has no Credit but counts under its token id (as in the embedded indexer)
    if (filter?.creditId !== undefined) where.tokenId = tokenIdArg(filter.creditId, "creditId");
    if (filter?.facility !== undefined) where.project_ = { facility: protocolIdKey(filter.facility) };
    return this.#keyed(
      ISSUANCES_QUERY,
      "issuances",
      { field: "timestamp", direction: "desc" },
      where,
      w,
      z
        .object({
          tokenId: bigintString,
          attestation: z.object({ id: hex }),
          project: z.object({ projectId: bigintString, facility: facilityRef }),
          amountKg: bigintString,
          boundKg: bigintString,
          timestamp: bigintString,
          transactionHash: hex,
        })
        .transform(({ tokenId, attestation, project, ...i }): IssuanceSummary => ({
          creditId: tokenId,
          attestationId: attestation.id,
          facility: project.facility,
          projectId: project.projectId,
          ...i,
        })),
    );
  }

  async transfers(filter?: { creditId?: bigint; account?: Hex }, p?: Page): Promise<TransferSummary[]> {
    return (await this.#transfers(filter, subgraphWindow(p))).rows;
  }

  #transfers(filter: { creditId?: bigint; account?: Hex } | undefined, w: Window) {
    const base: Record<string, unknown> = {};
    if (filter?.creditId !== undefined) base.credit = tokenIdArg(filter.creditId, "creditId");
    const account = filter?.account === undefined ? undefined : address(filter.account, "account");
    const where = eitherSide(base, account && [{ from: account }, { to: account }]);
    return this.#keyed(
      TRANSFERS_QUERY,
      "creditTransfers",
      { field: "timestamp", direction: "desc" },
      where,
      w,
      z
        .object({
          id: hex,
          credit: z.object({ tokenId: bigintString }),
          kind: z.enum(["Issuance", "Retirement", "Transfer"]),
          operator: hex,
          from: hex,
          to: hex,
          amountKg: bigintString,
          timestamp: bigintString,
          blockNumber: bigintString,
          transactionHash: hex,
        })
        .transform(({ credit, kind, ...t }): TransferSummary => ({
          ...t,
          creditId: credit.tokenId,
          kind: TRANSFER_KIND[kind],
        })),
    );
  }

  /** `account` matches the buyer or the listing's seller. */
  async sales(filter?: { creditId?: bigint; account?: Hex; listingId?: bigint }, p?: Page): Promise<SaleSummary[]> {
    return (await this.#sales(filter, subgraphWindow(p))).rows;
  }

  #sales(filter: { creditId?: bigint; account?: Hex; listingId?: bigint } | undefined, w: Window) {
    const base: Record<string, unknown> = {};
    if (filter?.creditId !== undefined) base.credit = tokenIdArg(filter.creditId, "creditId");
    if (filter?.listingId !== undefined) base.listing = tokenIdArg(filter.listingId, "listingId");
    const account = filter?.account === undefined ? undefined : address(filter.account, "account");
    const where = eitherSide(base, account && [{ buyer: account }, { listing_: { seller: account } }]);
    return this.#keyed(
      SALES_QUERY,
      "sales",
      { field: "timestamp", direction: "desc" },
      where,
      w,
      z
        .object({
          id: hex,
          listing: z.object({ listingId: bigintString, seller: z.object({ id: hex }) }),
          credit: z.object({ tokenId: bigintString }),
          buyer: z.object({ id: hex }),
          amountKg: bigintString,
          totalPrice: bigintString,
          fee: bigintString,
          paymentToken: hex,
          retired: z.boolean(),
          certificate: z.object({ certificateId: bigintString }).nullable(),
          timestamp: bigintString,
          transactionHash: hex,
        })
        .transform((x): SaleSummary => ({
          id: x.id,
          listingId: x.listing.listingId,
          creditId: x.credit.tokenId,
          buyer: x.buyer.id,
          seller: x.listing.seller.id,
          amountKg: x.amountKg,
          totalPrice: x.totalPrice,
          fee: x.fee,
          paymentToken: x.paymentToken,
          retired: x.retired,
          certificateId: x.certificate?.certificateId ?? null,
          timestamp: x.timestamp,
          transactionHash: x.transactionHash,
        })),
    );
  }

  /**
   * `account` matches the beneficiary or the retiree. A retirement reaches its facility only through
   * credit → project → facility, deeper than graph-node's one level of nested filter: with
   * `facility`, a first request reads the token ids of the facility's credits.
   */
  async retirements(
    filter?: { creditId?: bigint; account?: Hex; facility?: string },
    p?: Page,
  ): Promise<RetirementSummary[]> {
    return (await this.#retirements(filter, subgraphWindow(p))).rows;
  }

  async #retirements(
    filter: { creditId?: bigint; account?: Hex; facility?: string } | undefined,
    w: Window,
  ): Promise<Keyed<RetirementSummary>> {
    const account = filter?.account === undefined ? undefined : address(filter.account, "account");
    const credit = filter?.creditId === undefined ? undefined : tokenIdArg(filter.creditId, "creditId");
    const base: Record<string, unknown> = {};
    if (filter?.facility === undefined) {
      if (credit !== undefined) base.credit = credit;
    } else {
      const ids = (await this.#facilityCreditIds(filter.facility)).filter(
        (id) => credit === undefined || id === credit,
      );
      if (ids.length === 0) return { rows: [], keys: [] };
      base.credit_in = ids;
    }
    const where = eitherSide(base, account && [{ beneficiary: account }, { retiree: account }]);
    return this.#keyed(
      RETIREMENTS_QUERY,
      "retirements",
      { field: "timestamp", direction: "desc" },
      where,
      w,
      z
        .object({
          id: bigintString,
          credit: z.object({ tokenId: bigintString, project: z.object({ facility: facilityRef }) }),
          beneficiary: z.object({ id: hex }),
          beneficiaryName: z.string(),
          retiree: z.object({ id: hex }),
          amountKg: bigintString,
          reason: z.string(),
          timestamp: bigintString,
          transactionHash: hex,
        })
        .transform((r): RetirementSummary => ({
          certificateId: r.id,
          creditId: r.credit.tokenId,
          facility: r.credit.project.facility,
          beneficiary: r.beneficiary.id,
          beneficiaryName: r.beneficiaryName,
          retiree: r.retiree.id,
          amountKg: r.amountKg,
          reason: r.reason,
          timestamp: r.timestamp,
          transactionHash: r.transactionHash,
        })),
    );
  }

  /** Token ids (decimal) of the credits of a facility's projects. */
  async #facilityCreditIds(facility: string): Promise<string[]> {
    const data = await this.query(
      FACILITY_CREDITS_QUERY,
      { id: protocolIdKey(facility) },
      z.object({
        facility: z
          .object({ projects: z.array(z.object({ credits: z.array(z.object({ id: z.string() })) })) })
          .nullable(),
      }),
    );
    return (data.facility?.projects ?? []).flatMap((project) => project.credits.map((c) => c.id));
  }

  async challenges(filter?: { state?: ChallengeSummary["state"] }, p?: Page): Promise<ChallengeSummary[]> {
    return (await this.#challenges(filter, subgraphWindow(p))).rows;
  }

  #challenges(filter: { state?: ChallengeSummary["state"] } | undefined, w: Window) {
    const where: Record<string, unknown> = {};
    if (filter?.state !== undefined) where.state = filter.state;
    return this.#keyed(
      CHALLENGES_QUERY,
      "challenges",
      { field: "challengedAt", direction: "desc" },
      where,
      w,
      z
        .object({
          attestation: z.object({ id: hex, facility: facilityRef }),
          challenger: hex,
          reason: z.string(),
          evidenceCid: z.string(),
          state: challengeState,
          challengedAt: bigintString,
          resolvedAt: bigintString.nullable(),
          note: z.string().nullable(),
          transactionHash: hex,
        })
        .transform(({ attestation, ...c }): ChallengeSummary => ({
          attestationId: attestation.id,
          facility: attestation.facility,
          ...c,
        })),
    );
  }

  /**
   * Exact matches of `term`, in one request (none when the term can be nothing the subgraph
   * holds); hits come in the order of SearchHit's kinds. See ./search.ts for how a term is read.
   */
  async search(term: string): Promise<SearchHit[]> {
    const variables = searchVariables(term);
    if (variables === null) return [];
    const data = await this.query(SEARCH_QUERY, variables, searchResult);
    return searchHits(variables, data);
  }

  /** Always `null`: readings live in the evidence bundles on IPFS, and The Graph does not read IPFS. */
  async readings(
    _filter: { attestationId?: Hex; facility?: string; deviceId?: string },
    _p?: Page,
  ): Promise<ReadingSummary[] | null> {
    return null;
  }

  /** Always `null`: per-source totals come from the readings of evidence bundles, which The Graph does not read. */
  async sourceTotals(_range: { fromDay: number; toDay: number; facility: string }): Promise<SourceTotals[] | null> {
    return null;
  }
}

/**
 * `url` as messages (shown on pages) name it: scheme, host and port, then `/…` when it had a path,
 * a query or user info. The Graph Studio's gateway URL holds its API key in the path
 * (`https://gateway.thegraph.com/api/<key>/subgraphs/id/…`).
 */
export function urlForMessages(url: string): string {
  if (!URL.canParse(url)) return "(CARBONPROOF_SUBGRAPH_URL, not a URL)";
  const u = new URL(url);
  const more = u.username || u.password || (u.pathname !== "/" && u.pathname !== "") || u.search || u.hash;
  return `${u.protocol}//${u.host}${more ? "/…" : ""}`;
}
