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
import { csvRowToEnvelope, readCsvRecords, type CsvRecord } from "../../../sdk/src/index.ts";
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

/** Where an import has got to: rows decided so far, and of those stored and rejected. */
export type ImportCounts = { rows: number; stored: number; rejected: number };

/** Rows ingested together: one group commit, validated concurrently. */
const CHUNK_ROWS = 1000;

/**
 * Imports a CSV of signed readings into the node's storage, read in pieces (`source` is called
 * once per pass: a file or stdin stream of bytes or text), so that memory stays bounded however
 * long the file. Two passes: the first only checks that the whole file is CSV, so that one that
 * is not is refused (`INVALID_CSV`, with its line) before anything of it is stored, and counts
 * its rows; the second ingests chunks of 1000 rows and hands each chunk's reports, in file
 * order, to `onRows` as the chunk completes.
 */
export async function importCsv(opts: {
  config: Config;
  logger: Logger;
  calculator: EmissionsCalculator;
  source: () => AsyncIterable<string | Uint8Array> | Iterable<string | Uint8Array>;
  devices?: DeviceDirectory;
  /** every chunk's reports, in file order, as it completes */
  onRows?: (rows: ImportRow[], sofar: ImportCounts) => void | Promise<void>;
  /** every 1000 rows of the check pass: rows checked so far (a long file takes a while) */
  onChecking?: (rows: number) => void;
  /** after the check pass: how many rows the file holds (header not counted) */
  onChecked?: (rows: number) => void;
}): Promise<ImportCounts> {
  let total = -1; // the header is not a row
  const check = readCsvRecords(opts.source());
  while (!(await check.next()).done) if (++total % CHUNK_ROWS === 0) opts.onChecking?.(total);
  if (total < 0) return { rows: 0, stored: 0, rejected: 0 };
  opts.onChecked?.(total);
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
  const counts: ImportCounts = { rows: 0, stored: 0, rejected: 0 };
  try {
    let names: string[] | null = null;
    let chunk: CsvRecord[] = [];
    const ingestChunk = async () => {
      const header = names!;
      const rows = chunk.map((r) => ({ ...r, env: csvRowToEnvelope(header, r.cells) }));
      chunk = [];
      // Within a chunk rows are validated concurrently, and a row repeating an earlier row's
      // (device, seq) waits for that row's outcome (inSubmissionOrder): the first row in the file
      // is the one stored, the repeat is reported as the replay. Across chunks the earlier row is
      // already stored when the repeat comes.
      const outcomes = await inSubmissionOrder(
        rows,
        (row) => (row.cells.length > header.length ? null : deviceSeqKey(row.env)),
        (row) =>
          row.cells.length > header.length
            ? // a cell past the header's columns would be dropped unread: the row is refused instead
              ingestor
                .rejectMalformed(
                  row.cells.join(","),
                  `${row.cells.length} cells, but the header names ${header.length} columns`,
                  { source: "csv" },
                )
                .then((o) => [o])
            : ingestor.submit(row.env, { source: "csv" }, row.cells.join(",")),
      );
      const reports = outcomes.map(([o], j): ImportRow => {
        const row = rows[j]!.line;
        return o!.status === "stored"
          ? { row, status: "stored", digest: o!.digest }
          : { row, status: "rejected", reason: o!.reason, detail: o!.detail };
      });
      for (const r of reports) counts[r.status]++;
      counts.rows += reports.length;
      await opts.onRows?.(reports, { ...counts });
    };
    for await (const record of readCsvRecords(opts.source())) {
      if (names === null) names = record.cells.map((h) => h.trim());
      else if (chunk.push(record) === CHUNK_ROWS) await ingestChunk();
    }
    if (chunk.length > 0) await ingestChunk();
    return counts;
  } finally {
    await ingestor.close();
    chainDir?.close();
    storage.close();
  }
}

/**
 * `importCsv` of a CSV held as text, with every row's report returned (for tests and
 * small files; the CLI streams).
 */
export async function importCsvText(opts: {
  config: Config;
  logger: Logger;
  calculator: EmissionsCalculator;
  csv: string;
  devices?: DeviceDirectory;
}): Promise<{ rows: ImportRow[]; stored: number; rejected: number }> {
  const rows: ImportRow[] = [];
  const { csv, ...rest } = opts;
  const counts = await importCsv({ ...rest, source: () => [csv], onRows: (r) => void rows.push(...r) });
  return { rows, stored: counts.stored, rejected: counts.rejected };
}
