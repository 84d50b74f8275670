/**
 * The periods of a credit project above its baseline that nobody has recorded yet
 * (CarbonCredits.recordShortfall, docs/credits.md "Periods above the baseline"). Until one is
 * recorded, its excess is not owed by the project and its other periods' credits can exceed the
 * project's net reduction: the audit walk fails on them (verifyLineage), the CLI lists them
 * (`carbonproof shortfalls`) and the web's project page lets anyone record them with a wallet.
 * Browser-safe (viem only).
 */
import { BaseError, type Address, type Hex, type PublicClient } from "viem";
import type { BatchHeader } from "../eip712/batchHeader.ts";
import { revertName } from "../chain/revertName.ts";
import { carbonCreditsAbi } from "./abi.ts";
import { concurrencyOf, type VerifyCache } from "./cache.ts";
import type { BundleSource } from "./sources.ts";
import { findSubmissions } from "./verifyAttestation.ts";
import { walkEvents, type EventReadOptions } from "./walkEvents.ts";

/**
 * The reverts of recordShortfall that mean "nothing to record now": at or below the baseline,
 * settled already, before the first baseline, not a regular period of the project, revoked, or
 * still in its challenge window or under challenge (asked again on a later run).
 */
const NOTHING_TO_RECORD = new Set([
  "CarbonCreditsNoShortfall",
  "CarbonCreditsAttestationUsed",
  "CarbonCreditsNoBaseline",
  "CarbonCreditsCorrectionBacksNoIssuance",
  "CarbonCreditsWrongFacility",
  "CarbonCreditsWrongMethodology",
  "CarbonCreditsAttestationRevoked",
  "CarbonCreditsInvalidPeriod",
  "CarbonCreditsPeriodSpansVintages",
  "CarbonCreditsUnknownAttestation",
  "CarbonCreditsChallengeWindowOpen",
  "CarbonCreditsChallengePending",
]);

export type ShortfallOptions = EventReadOptions & {
  client: PublicClient;
  /** AttestationRegistry: the facility's submissions (AttestationSubmitted) */
  registry: Address;
  /** CarbonCredits: the project, its issued and recorded periods, and the calls */
  credits: Address;
  projectId: number;
  /** calls in flight at once (default 4) */
  concurrency?: number;
  /** shared with a walk's other verifications (verifyLineage) */
  cache?: VerifyCache;
};

export type UnrecordedShortfall = {
  attestationId: Hex;
  header: BatchHeader;
  /** grams above the baseline, which recordShortfall would charge to the project */
  excessGrams: bigint;
  txHash: Hex;
  blockNumber: bigint;
};

export type UnrecordedCorrection = {
  attestationId: Hex;
  header: BatchHeader;
  /** the regular attestation it corrects */
  corrects: Hex;
  /** its fossil grams: what recordCorrection would count against the period it corrects */
  fossilCo2eGrams: bigint;
  txHash: Hex;
  blockNumber: bigint;
};

export type ProjectShortfalls = {
  projectId: number;
  facilityId: Hex;
  methodologyId: Hex;
  /** CarbonCredits' correctionDebtGrams now: corrections and recorded shortfalls not yet covered */
  owedGrams: bigint;
  /** regular attestations of the project's facility and methodology */
  regular: number;
  /** of those, the ones the project issued or recorded (no call needed) */
  settled: number;
  /** above the baseline, window over, not recorded: oldest period first */
  unrecorded: UnrecordedShortfall[];
  /** correction batches of the project's facility and methodology */
  corrections: number;
  /** of those, the ones whose window is over and that nobody recorded (recordCorrection): until then they count against nothing */
  unrecordedCorrections: UnrecordedCorrection[];
  /** attestations that could not be asked (a pause, an unknown revert, the RPC): `id: reason` */
  unasked: string[];
  /** of those, the correction batches */
  unaskedCorrections: string[];
};

/**
 * Asks each regular attestation of the project's facility that the project has neither issued
 * nor recorded with an `eth_call` of `recordShortfall`, which succeeds exactly for a period above
 * its baseline whose challenge window is over and which is still unsettled. A revert named in
 * NOTHING_TO_RECORD means nothing to record now; any other failure (a paused contract, another
 * revert, the RPC) is reported in `unasked`, never taken as nothing to record.
 */
export async function projectShortfalls(o: ShortfallOptions): Promise<ProjectShortfalls> {
  const concurrency = concurrencyOf(o.concurrency, 4);
  const project = (await o.client.readContract({
    address: o.credits,
    abi: carbonCreditsAbi,
    functionName: "getProject",
    args: [o.projectId],
  })) as { facilityId: Hex; methodologyId: Hex; correctionDebtGrams: bigint };
  // the attestations the project issued or settled already need no call (a mature facility has thousands)
  const settledLogs = await Promise.all(
    (["CreditsIssued", "ShortfallRecorded"] as const).map((eventName) =>
      walkEvents(o, { address: o.credits, abi: carbonCreditsAbi, eventName, args: { projectId: o.projectId } }),
    ),
  );
  const settled = new Set(
    settledLogs.flat().map((l) => ((l.args as { attestationId?: Hex }).attestationId ?? "").toLowerCase()),
  );
  const submissions = await findSubmissions(
    {
      client: o.client,
      registry: o.registry,
      fromBlock: o.fromBlock,
      logRangeBlocks: o.logRangeBlocks,
      eventSettings: o.eventSettings,
      cache: o.cache,
      source: noSource,
    },
    { facilityId: project.facilityId },
  );
  const all = submissions.filter(
    (s) => BigInt(s.header.correctionOf) === 0n && s.header.methodologyId === project.methodologyId,
  );
  // corrections of this project's periods, whatever their own methodology (a facility that moved
  // to a new methodology corrects its old periods with it; recordCorrection charges the original's)
  const ids = new Set(all.map((s) => s.id.toLowerCase()));
  const corrections = submissions.filter(
    (s) => BigInt(s.header.correctionOf) !== 0n && ids.has(s.header.correctionOf.toLowerCase()),
  );
  const open = all.filter((s) => !settled.has(s.id.toLowerCase()));
  // the ones recorded already (CorrectionRecorded, indexed by correction id: asked 100 ids a query)
  const recordedCorrections = new Set<string>();
  for (let i = 0; i < corrections.length; i += 100) {
    const logs = await walkEvents(o, {
      address: o.credits,
      abi: carbonCreditsAbi,
      eventName: "CorrectionRecorded",
      args: { correctionId: corrections.slice(i, i + 100).map((c) => c.id) },
    });
    for (const l of logs)
      recordedCorrections.add(((l.args as { correctionId?: Hex }).correctionId ?? "").toLowerCase());
  }
  const openCorrections = corrections.filter((s) => !recordedCorrections.has(s.id.toLowerCase()));
  const unrecorded: UnrecordedShortfall[] = [];
  const unrecordedCorrections: UnrecordedCorrection[] = [];
  const unaskedShortfalls: string[] = [];
  const unaskedCorrections: string[] = [];
  const queue = [
    ...openCorrections.map((s) => ({ kind: "correction" as const, s })),
    ...open.map((s) => ({ kind: "shortfall" as const, s })),
  ];
  const worker = async () => {
    for (let item = queue.shift(); item; item = queue.shift()) {
      const { kind, s } = item;
      try {
        if (kind === "correction") {
          // a correction of a revoked period is listed too: recorded, it re-attests the period and
          // settles it, charging its excess over the baseline to the project (docs/credits.md)
          await o.client.readContract({
            address: o.credits,
            abi: carbonCreditsAbi,
            functionName: "recordCorrection",
            args: [s.header],
          } as never);
          unrecordedCorrections.push({
            attestationId: s.id,
            header: s.header,
            corrects: s.header.correctionOf,
            fossilCo2eGrams: BigInt(s.header.fossilCo2eGrams),
            txHash: s.txHash,
            blockNumber: s.blockNumber,
          });
          continue;
        }
        const [, grams] = (await o.client.readContract({
          address: o.credits,
          abi: carbonCreditsAbi,
          functionName: "recordShortfall",
          args: [o.projectId, s.header],
        } as never)) as readonly [Hex, bigint];
        unrecorded.push({
          attestationId: s.id,
          header: s.header,
          excessGrams: grams,
          txHash: s.txHash,
          blockNumber: s.blockNumber,
        });
      } catch (err) {
        const name = revertName(err, carbonCreditsAbi);
        if (name !== null && NOTHING_TO_RECORD.has(name)) continue;
        // a pause, another revert, or no revert at all (the RPC): never read as "nothing to record"
        (kind === "correction" ? unaskedCorrections : unaskedShortfalls).push(
          `${s.id}: ${name ?? (err instanceof BaseError ? err.shortMessage : String(err))}`,
        );
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, queue.length) }, worker));
  unrecorded.sort((a, b) => (a.header.periodStart < b.header.periodStart ? -1 : 1));
  unrecordedCorrections.sort((a, b) => (a.header.periodStart < b.header.periodStart ? -1 : 1));
  return {
    projectId: o.projectId,
    facilityId: project.facilityId,
    methodologyId: project.methodologyId,
    owedGrams: project.correctionDebtGrams,
    regular: all.length,
    settled: all.length - open.length,
    unrecorded,
    corrections: corrections.length,
    unrecordedCorrections,
    unasked: [...unaskedCorrections, ...unaskedShortfalls],
    unaskedCorrections,
  };
}

/** findSubmissions reads events only; its options type asks for a bundle source it never uses. */
const noSource: BundleSource = {
  describe: "no bundle source",
  get: () => Promise.reject(new Error("no bundle source: shortfalls read events only")),
  byCid: false,
};
