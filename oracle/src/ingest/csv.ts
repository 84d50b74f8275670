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
import { csvRowToEnvelope, parseCsvRecords } from "../../../sdk/src/index.ts";
import { Ingestor, inSubmissionOrder } from "./ingestor.ts";

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
      const chunk = rows.slice(start, start + CHUNK).map((r) => ({ ...r, env: csvRowToEnvelope(names, r.cells) }));
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
