import { join, resolve } from "node:path";
import type { Logger } from "pino";
import { createPublicClient, http, type PublicClient } from "viem";
import { createCommon } from "../common.ts";
import type { Config } from "../config/schema.ts";
import type { EmissionsCalculator } from "../compute/emissions.ts";
import { chainFor } from "../chain/viem.ts";
import { ChainDeviceDirectory } from "../devices/chain.ts";
import { loadDeviceFile, type DeviceDirectory } from "../devices/directory.ts";
import { SqliteStorage } from "../storage/sqlite.ts";
import { parseCsvRecords } from "../../../sdk/src/index.ts";
import { Ingestor, inSubmissionOrder } from "./ingestor.ts";

const INT_FIELDS = new Set([
  "v",
  "seq",
  "ts",
  "intervalS",
  "co2Ppm",
  "tempCentiC",
  "velocityMmS",
  "pressurePa",
  "ductDiameterMm",
  "energyWh",
  "renewableWh",
  "massGrams",
  "volumeMl",
  "energyKj",
]);
const READING_FIELDS = new Set(["v", "deviceId", "facilityId", "seq", "ts", "intervalS", "kind"]);

/**
 * One CSV row to a signed envelope. Columns: deviceId, facilityId, seq, ts, intervalS, kind,
 * the measurement fields by their protocol names (empty cells left out), sig, optional keyId
 * and v (default 1). Integers stay integers; a cell that is not one goes through as text and
 * fails the schema with a clear message. An ERP export is signed by the facility's manual-entry
 * device key before import (the oracle never signs readings).
 */
export function rowToEnvelope(header: string[], cells: string[]): unknown {
  const reading: Record<string, unknown> = { v: 1 };
  const m: Record<string, unknown> = {};
  const env: Record<string, unknown> = {};
  header.forEach((name, i) => {
    const raw = (cells[i] ?? "").trim();
    if (raw === "") return;
    const value = INT_FIELDS.has(name) && /^-?\d+$/.test(raw) ? Number(raw) : raw;
    if (name === "sig" || name === "keyId") env[name] = value;
    else if (READING_FIELDS.has(name)) reading[name] = value;
    else m[name] = value;
  });
  return { reading: { ...reading, m }, ...env };
}

/** A row's (device, seq), when it names them, to keep repeats of it in file order. */
function deviceSeqKey(env: unknown): string | null {
  const r = (env as { reading?: { deviceId?: unknown; seq?: unknown } }).reading;
  return typeof r?.deviceId === "string" && r.seq !== undefined ? `${r.deviceId}\u0000${String(r.seq)}` : null;
}

export type ImportRow = {
  /** the line of the file the row starts on (the header is line 1) */
  row: number;
  status: "stored" | "rejected";
  digest?: string;
  reason?: string;
  detail?: string;
};

/** Imports a CSV of signed readings into the node's storage; one report line per row. */
export async function importCsv(opts: {
  config: Config;
  logger: Logger;
  calculator: EmissionsCalculator;
  csv: string;
  devices?: DeviceDirectory;
}) {
  // the whole file is read first: one that is not CSV is refused (INVALID_CSV, with its line)
  // before anything of it is stored
  const [header, ...rows] = parseCsvRecords(opts.csv);
  if (!header) return { rows: [] as ImportRow[], stored: 0, rejected: 0 };
  const { config } = opts;
  const common = createCommon(config, { logger: opts.logger, defaultMetrics: false });
  const storage = new SqliteStorage(join(resolve(config.dataDir), "oracle.db"), {
    synchronous: config.storage.synchronous,
  });
  let devices = opts.devices;
  let chainDir: ChainDeviceDirectory | null = null;
  if (!devices) {
    if (config.devices.source === "file")
      devices = loadDeviceFile(config.devices.file ?? join(resolve(config.dataDir), "devices.json"));
    else {
      const client = createPublicClient({
        chain: chainFor(config.chain.chainId, config.chain.rpcUrl),
        transport: http(config.chain.rpcUrl),
      }) as PublicClient;
      devices = chainDir = new ChainDeviceDirectory({
        client,
        address: config.chain.deviceRegistry as `0x${string}`,
        ttlMs: config.devices.cacheTtlMs,
        logger: opts.logger,
      });
    }
  }
  const ingestor = new Ingestor({ common, storage, devices, calculator: opts.calculator });
  try {
    const names = header.cells.map((h) => h.trim());
    const out: ImportRow[] = [];
    // Chunks share a group commit. Within a chunk rows are validated concurrently, and a row
    // repeating an earlier row's (device, seq) waits for that row's outcome (inSubmissionOrder):
    // the first row in the file is the one stored, the repeat is reported as the replay.
    const CHUNK = 1000;
    for (let start = 0; start < rows.length; start += CHUNK) {
      const chunk = rows.slice(start, start + CHUNK).map((r) => ({ ...r, env: rowToEnvelope(names, r.cells) }));
      const outcomes = await inSubmissionOrder(
        chunk,
        (row) => (row.cells.length > names.length ? null : deviceSeqKey(row.env)),
        (row) =>
          row.cells.length > names.length
            ? // a cell past the header's columns would be dropped unread: the row is refused instead
              ingestor
                .rejectMalformed(
                  row.cells.join(","),
                  `${row.cells.length} cells, but the header names ${names.length} columns`,
                  { source: "csv" },
                )
                .then((o) => [o])
            : ingestor.submit(row.env, { source: "csv" }, row.cells.join(",")),
      );
      outcomes.forEach(([o], j) => {
        const row = chunk[j]!.line;
        out.push(
          o!.status === "stored"
            ? { row, status: "stored", digest: o!.digest }
            : { row, status: "rejected", reason: o!.reason, detail: o!.detail },
        );
      });
    }
    return {
      rows: out,
      stored: out.filter((r) => r.status === "stored").length,
      rejected: out.filter((r) => r.status === "rejected").length,
    };
  } finally {
    await ingestor.close();
    chainDir?.close();
    storage.close();
  }
}
