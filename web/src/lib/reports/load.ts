/**
 * Server-side reads of the dashboard, leaderboard and report pages: the indexer (chain events and
 * indexed bundles), the oracle node's device health, the built-in factor sets. Pure assembly lives in
 * the modules beside this one; this file only fetches.
 */
import { cache } from "react";
import { z } from "zod";
import type { ExplorerIndexer, Hex, ReadingSummary } from "@carbonproof/subgraph/client";
import { getExplorerIndexer } from "@/server/indexer/index.ts";
import { indexedPresence } from "@/server/indexedPresence.ts";
import { runtimeConfig } from "@/lib/config.server.ts";
import { notIndexedYet, type PresenceLookup } from "../explorer/detail.ts";
import { attestationDetails, facilityListsForReport, lookUpFacilityFacts } from "./facility.ts";
import { defaultFactorSet } from "../../../../sdk/src/factors/factorSet.ts";
import { type DayRange, rangeSeconds } from "./period.ts";
import { buildReport, readingsPlan, type CbamReport, type KnownFactorSet } from "./report.ts";

export const indexer = cache((): ExplorerIndexer => getExplorerIndexer());

export { facilityWithAttestations, lookUpFacility } from "./facility.ts";
import { readingsOfAttestation } from "./readings.ts";
export { readingsOfAttestation };

/** The built-in factor sets by id (lower-case), so a report can name the grid factor an attestation used. */
export const knownFactorSets = cache((): Record<string, KnownFactorSet> => {
  const out: Record<string, KnownFactorSet> = {};
  for (const gwp of ["AR6", "AR5"] as const)
    for (const sector of ["manufacturing", "energy"] as const) {
      const set = defaultFactorSet({ gwp, sector });
      out[set.id.toLowerCase()] = {
        label: set.content.name,
        source: set.content.source,
        gridCitation: set.content.grid?.citation ?? "no grid factors in this set",
        gridMgCo2ePerKwh: set.content.grid?.mgCo2ePerKwh ?? {},
      };
    }
  return out;
});

/** Facility names and countries (off-chain directory, CARBONPROOF_FACILITIES). */
export const facilityDirectory = cache(() => runtimeConfig().facilities);

// ---------------------------------------------------------------- oracle node

/** The oracle node whose HTTP API reports device health (`npm start` runs one on 8787). */
export function oracleUrl(): string {
  return (process.env.CARBONPROOF_ORACLE_URL || "http://127.0.0.1:8787").replace(/\/+$/, "");
}

const healthSchema = z.object({
  node: z.string(),
  nowMs: z.number(),
  sinceMs: z.number(),
  gapS: z.number(),
  devices: z.array(
    z.object({
      deviceId: z.string(),
      facilityId: z.string().nullable(),
      readingCount: z.number(),
      lastReadingTs: z.number().nullable(),
      lastReadingReceivedAtMs: z.number().nullable(),
      heartbeatCount: z.number(),
      unverifiedHeartbeatCount: z.number(),
      lastHeartbeatAtMs: z.number().nullable(),
      lastHeartbeat: z
        .object({
          ts: z.number().nullable(),
          lastSeq: z.number().nullable(),
          bufferDepth: z.number().nullable(),
          dropped: z.number().nullable(),
          // from schema 6 of the oracle's storage on; absent from an older node: unknown
          held: z.number().nullable().default(null),
          heldDropped: z.number().nullable().default(null),
          rssiDbm: z.number().nullable(),
          uptimeS: z.number().nullable(),
          fw: z.string().nullable(),
          faults: z.array(z.string()),
        })
        .nullable(),
      maxHeartbeatGapMs: z.number().nullable(),
      heartbeatGaps: z.array(z.object({ fromMs: z.number(), toMs: z.number() })),
      heartbeatGapCount: z.number(),
      rejected: z.record(z.string(), z.number()),
      rejectedTotal: z.number(),
    }),
  ),
  /** the last device id of a full page (more may follow), null when this page is the last */
  next: z.string().nullable().optional(),
});
export type OracleDeviceHealth = z.infer<typeof healthSchema>;
// The oracle's own type must fit this schema: a change there fails the web typecheck, not a page.
type OracleDevice = import("../../../../oracle/src/storage/types.ts").DeviceHealth;
const _oracleFits: (d: OracleDevice) => OracleDeviceHealth["devices"][number] = (d) => d;
void _oracleFits;

export type OracleHealthRead =
  { ok: true; url: string; data: OracleDeviceHealth } | { ok: false; url: string; message: string };

/** Devices a page of the node's device health holds (its most), and the most pages read for one facility. */
const HEALTH_PAGE = 1000;
const HEALTH_PAGES = 5;

/** `GET /v1/devices/health` of the oracle node; unreachable or malformed → a message to show instead. */
export async function oracleDeviceHealth(facilityCode: string, sinceMs: number): Promise<OracleHealthRead> {
  const url = oracleUrl();
  const q = new URLSearchParams({
    facilityId: facilityCode,
    sinceMs: String(Math.max(0, sinceMs)),
    limit: String(HEALTH_PAGE),
  });
  try {
    // the node answers a page of devices at a time; a facility's are read whole, up to HEALTH_PAGES pages
    let data: OracleDeviceHealth | undefined;
    for (let page = 0; page < HEALTH_PAGES; page++) {
      const res = await fetch(`${url}/v1/devices/health?${q}`, {
        signal: AbortSignal.timeout(2500),
        cache: "no-store",
      });
      if (!res.ok) return { ok: false, url, message: `the oracle node answered HTTP ${res.status}` };
      const parsed = healthSchema.safeParse(await res.json());
      if (!parsed.success)
        return { ok: false, url, message: "the oracle node's answer is not a device-health report (an older node?)" };
      data = data ? { ...parsed.data, devices: [...data.devices, ...parsed.data.devices] } : parsed.data;
      if (!parsed.data.next) break;
      q.set("after", parsed.data.next);
    }
    return { ok: true, url, data: data! };
  } catch (error) {
    const e = error as { name?: string; cause?: { code?: string }; message?: string };
    const why = e.name === "TimeoutError" ? "no answer within 2.5 s" : (e.cause?.code ?? e.message ?? String(error));
    return { ok: false, url, message: `the oracle node at ${url} is not reachable (${why})` };
  }
}

// ---------------------------------------------------------------- report

/** Seconds a client is told to wait (Retry-After) before asking again for a facility not indexed yet. */
export const NOT_INDEXED_RETRY_S = 5;

export type ReportLoad =
  | { ok: true; report: CbamReport; ipfsGateway: string | undefined }
  | { ok: false; status: 404; code: "NOT_FOUND"; message: string }
  | { ok: false; status: 503; code: "INDEXER_UNAVAILABLE"; message: string }
  /** the indexer has not read the chain far enough to tell (lookUpFacility): the facility may exist */
  | {
      ok: false;
      status: 503;
      code: "NOT_INDEXED_YET";
      message: string;
      indexedBlock: number | null;
      head: bigint | null;
    };

/**
 * Everything the report needs: the facility's facts (`lookUpFacilityFacts`: no nested list), its
 * devices and projects by cursor up to their caps (`facilityListsForReport`; the report says when
 * one is reached), the details of its attestations in the period, the
 * readings of each counted one (for the split by source and the reconciliation), the runtime's
 * chain and facility directory. Failures come back as a status, a code and a message; a facility
 * the indexer has not found is NOT_FOUND only once it has read up to the chain's head
 * (lookUpFacilityFacts), NOT_INDEXED_YET before. `presence` is indexedPresence but in tests.
 */
export async function loadReport(
  facilityParam: string,
  range: DayRange,
  nowS: number,
  presence: PresenceLookup = indexedPresence,
): Promise<ReportLoad> {
  const ix = indexer();
  try {
    const found = await lookUpFacilityFacts(ix, facilityParam, rangeSeconds(range), presence);
    if (found.presence === "absent")
      return {
        ok: false,
        status: 404,
        code: "NOT_FOUND",
        message: `no facility "${facilityParam}" is registered on-chain`,
      };
    if (found.presence === "unknown")
      return {
        ok: false,
        status: 503,
        code: "NOT_INDEXED_YET",
        message: notIndexedYet("facility", found.indexedBlock, found.head),
        indexedBlock: found.indexedBlock,
        head: found.head,
      };
    const detail = found.facility;
    const lists = await facilityListsForReport(ix, detail.id);
    const details = await attestationDetails(ix, detail, range);
    const { read, omitted: readingsOmitted } = readingsPlan(details);
    let readings: Map<string, ReadingSummary[]> | null = readingsOmitted ? null : new Map();
    for (const a of read) {
      const list = await readingsOfAttestation(ix, a.id);
      if (list === null) {
        readings = null;
        break;
      }
      readings!.set(a.id.toLowerCase(), list);
    }
    const runtime = runtimeConfig();
    const dir = detail.code ? runtime.facilities[detail.code] : undefined;
    const byId = readings;
    const report = buildReport({
      facility: {
        id: detail.id,
        code: detail.code,
        name: dir?.name ?? null,
        country: dir?.country ?? null,
        deviceCount: detail.deviceCount,
        ...lists,
      },
      range,
      generatedAtS: nowS,
      chain: {
        chainId: runtime.chainId,
        chainName: runtime.chainName,
        attestationRegistry: runtime.addresses.AttestationRegistry ?? null,
      },
      attestations: details,
      readingsOf: byId ? (id) => byId.get(id.toLowerCase()) ?? [] : null,
      readingsOmitted,
      knownFactorSets: knownFactorSets(),
    });
    return { ok: true, report, ipfsGateway: runtime.ipfsGateway };
  } catch (e) {
    const err = e as { message?: string; code?: string };
    console.error("reports: indexer read failed", e);
    return {
      ok: false,
      status: 503,
      code: "INDEXER_UNAVAILABLE",
      message: `the indexer could not be read${err.code ? ` (${err.code})` : ""}: ${err.message ?? String(e)}`,
    };
  }
}
