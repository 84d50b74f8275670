import { createHash, type Hash } from "node:crypto";
import { join, resolve } from "node:path";
import type { Logger } from "pino";
import { createPublicClient, http, type PublicClient } from "viem";
import { createCommon } from "../common.ts";
import type { Config } from "../config/schema.ts";
import type { EmissionsCalculator } from "../compute/emissions.ts";
import { chainFor } from "../chain/viem.ts";
import { ChainDeviceDirectory } from "../devices/chain.ts";
import { loadDeviceFile, type DeviceDirectory } from "../devices/directory.ts";
import { openStorage, storageSpec } from "../storage/open.ts";
import {
  canonicalJson,
  checkSignedCsvHeader,
  csvRowToEnvelope,
  readCsvRecords,
  type CsvRecord,
} from "../../../sdk/src/index.ts";
import { Ingestor, inSubmissionOrder } from "./ingestor.ts";

/** A row's (device, seq), when it names them, to keep repeats of it in file order. */
function deviceSeqKey(env: unknown): string | null {
  const r = (env as { reading?: { deviceId?: unknown; seq?: unknown } }).reading;
  return typeof r?.deviceId === "string" && r.seq !== undefined ? `${r.deviceId}\u0000${String(r.seq)}` : null;
}

export type ImportRow = {
  /** the line of the file the row starts on (the header is line 1) */
  row: number;
  /**
   * `already-stored`: the same reading with the same signature was stored before this import
   * began (an import run again after it stopped half-way, or a file that overlaps an earlier one);
   * nothing is written for it. A repeat of a row stored by this same import is a `replay`.
   */
  status: "stored" | "already-stored" | "rejected";
  digest?: string;
  /**
   * why the row was rejected: a dead letter's reason (`bad-signature`, `replay`, …), or, upper
   * case, the code of an error that left it undecided (`DEVICE_LOOKUP_FAILED`,
   * `STORAGE_FAILED`): no dead letter, and the import stopped after its chunk (IMPORT_FAILED)
   */
  reason?: string;
  detail?: string;
};

/** Where an import has got to: rows decided so far, and of those stored, already stored and rejected. */
export type ImportCounts = { rows: number; stored: number; alreadyStored: number; rejected: number };

const noRows = (): ImportCounts => ({ rows: 0, stored: 0, alreadyStored: 0, rejected: 0 });

/**
 * An import that stopped after its check pass, with `counts` of the rows decided (and reported
 * to `onRows`) before it stopped: those rows stay as reported, and running the import again
 * reports them as `already-stored`. With `IMPORT_FAILED` the counts also hold the rows of the
 * last chunk whose ingest failed, reported `rejected` with the error's code and not stored:
 * running the import again decides them. `FILE_CHANGED`: the file read the second time was not the
 * file checked the first time. `INTERRUPTED`: the caller's signal was aborted (the CLI on SIGINT
 * or SIGTERM); the import stops between chunks, so every row reported is decided and no chunk is
 * left half-stored.
 */
export class ImportStoppedError extends Error {
  readonly code: "FILE_CHANGED" | "IMPORT_FAILED" | "INTERRUPTED";
  readonly counts: ImportCounts;
  constructor(code: ImportStoppedError["code"], message: string, counts: ImportCounts, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = "ImportStoppedError";
    this.code = code;
    this.counts = counts;
  }
}

/** What a pass read: its bytes' SHA-256 and count, to tell whether the second pass read the first's file. */
class Fingerprint {
  readonly #hash: Hash = createHash("sha256");
  bytes = 0;
  /** `source`'s pieces, unchanged, fingerprinted as they pass; `onPiece` may throw to stop the pass. */
  async *tap(
    source: AsyncIterable<string | Uint8Array> | Iterable<string | Uint8Array>,
    onPiece?: () => void,
  ): AsyncGenerator<string | Uint8Array> {
    for await (const piece of source) {
      this.#hash.update(piece);
      this.bytes += typeof piece === "string" ? Buffer.byteLength(piece) : piece.byteLength;
      onPiece?.();
      yield piece;
    }
  }
  digest(): string {
    return this.#hash.digest("hex");
  }
}

/** Rows ingested together: one group commit, validated concurrently. */
const CHUNK_ROWS = 1000;

/**
 * Imports a CSV of signed readings into the node's storage, read in pieces (`source` is called
 * once per pass: a file or stdin stream of bytes or text), so that memory stays bounded however
 * long the file. Two passes: the first only checks that the whole file is CSV, so that one that
 * is not is refused (`INVALID_CSV`, with its line) before anything of it is stored, and counts
 * its rows; the second ingests chunks of 1000 rows and hands each chunk's reports, in file
 * order, to `onRows` as the chunk completes.
 *
 * Rows are stored chunk by chunk, so an import can stop half-way (the file changed between the
 * passes, the disk filled, the device registry could not be read): it then throws
 * `ImportStoppedError` with the counts of what was decided, and the same import run again reports
 * the rows stored before as `already-stored` and goes on with the rest. A chunk whose ingest fails
 * for some of its rows is still reported whole, the rows that failed with the error, before the
 * import stops: the others were stored or dead-lettered meanwhile.
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
  /**
   * aborted: stop at the next chunk boundary (or check-pass step) with `INTERRUPTED`; the rows
   * decided so far stay as reported, and the same import run again goes on after them
   */
  signal?: AbortSignal;
}): Promise<ImportCounts> {
  // as the node refuses to start (node.ts), before the file is read or a database opened
  if (!opts.devices && opts.config.devices.source === "chain" && !opts.config.chain.deviceRegistry)
    throw new Error(
      "devices.source = chain needs chain.deviceRegistry (the DeviceRegistry address): set it, or use devices.source = file",
    );
  let total = -1; // the header is not a row
  const counts = noRows();
  let checking = true;
  const stopIfAborted = () => {
    if (!opts.signal?.aborted) return;
    throw new ImportStoppedError(
      "INTERRUPTED",
      checking
        ? `the import was interrupted while the file was checked (${Math.max(total, 0)} rows read): nothing was stored`
        : `the import was interrupted after ${counts.rows} of ${total} rows; the rows decided stay as reported; run the same import again to go on: rows already stored are reported as already stored`,
      { ...counts },
    );
  };
  const checked = new Fingerprint();
  const check = readCsvRecords(checked.tap(opts.source()));
  try {
    for (let next = await check.next(); !next.done; next = await check.next()) {
      // a header that does not name the reading's columns refuses the file, not each of its rows
      if (total === -1) checkSignedCsvHeader(next.value.cells);
      if (++total % CHUNK_ROWS === 0) {
        opts.onChecking?.(total);
        stopIfAborted();
      }
    }
  } finally {
    await check.return(undefined); // the file closed, read to its end or not
  }
  checking = false;
  if (total < 0) return noRows();
  const checkedDigest = checked.digest();
  opts.onChecked?.(total);
  const { config } = opts;
  const common = createCommon(config, { logger: opts.logger, defaultMetrics: false });
  const storage = openStorage(storageSpec(config));
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
        logger: common.logger, // its errors' URLs scrubbed (an RPC URL may hold a key)
        pollMs: config.chain.pollMs,
      });
    }
  }
  const ingestor = new Ingestor({ common, storage, devices, calculator: opts.calculator });
  // readings stored from now on are this import's own: a repeat of one of them is a replay
  const startedAtMs = common.clock.nowMs();
  /** The digest of the reading `env` holds when it and its signature were stored before this import. */
  const storedBefore = (env: unknown): string | null => {
    const { reading: r, sig } = env as { reading?: { deviceId?: unknown; seq?: unknown }; sig?: unknown };
    if (typeof r?.deviceId !== "string" || !Number.isSafeInteger(r.seq) || typeof sig !== "string") return null;
    const stored = storage.getReadingByDeviceSeq(r.deviceId, r.seq as number);
    if (!stored || stored.receivedAtMs >= startedAtMs || stored.sig.toLowerCase() !== sig.toLowerCase()) return null;
    try {
      return canonicalJson(r) === stored.canonical ? stored.digest : null;
    } catch {
      return null; // not a reading the schema would take: validation says why
    }
  };
  const changed = (detail: string) =>
    new ImportStoppedError(
      "FILE_CHANGED",
      `the file changed while it was imported (${detail}): ${counts.rows} rows were decided from the changed file and stay as reported; import the finished file again: rows already stored are reported as already stored`,
      { ...counts },
    );
  try {
    let names: string[] | null = null;
    let chunk: CsvRecord[] = [];
    /** Rows whose ingest failed, reported with the error (`notDecided`), and the first one's error. */
    let undecided = 0;
    let undecidedError: unknown;
    /**
     * The report of a row whose ingest failed (the device registry or the database out of reach):
     * neither stored nor dead-lettered, so the same import run again decides it. Reported as
     * `rejected` with the error's code (upper case, as the HTTP API's 503 gives it) so that the
     * report still has a line for every row of the chunk.
     */
    const notDecided = (row: number, err: unknown): ImportRow => {
      if (undecided++ === 0) undecidedError = err;
      const code = (err as { code?: unknown } | null)?.code;
      return {
        row,
        status: "rejected",
        reason: typeof code === "string" ? code : "IMPORT_FAILED",
        detail: `${err instanceof Error ? err.message : String(err)}: not stored, no dead letter: run the same import again`,
      };
    };
    const ingestChunk = async () => {
      // between chunks only: a chunk is one group commit, stored and reported whole
      stopIfAborted();
      const header = names!;
      const rows = chunk.map(({ line, cells }) => {
        const env = csvRowToEnvelope(header, cells);
        const extra = cells.length > header.length;
        let report: ImportRow | null = null;
        try {
          const digest = extra ? null : storedBefore(env);
          if (digest !== null) report = { row: line, status: "already-stored", digest };
        } catch (err) {
          report = notDecided(line, err); // the database could not be read: not submitted
        }
        return { line, cells, env, extra, report };
      });
      chunk = [];
      // Within a chunk rows are validated concurrently, and a row repeating an earlier row's
      // (device, seq) waits for that row's outcome (inSubmissionOrder): the first row in the file
      // is the one stored, the repeat is reported as the replay. Across chunks the earlier row is
      // already stored when the repeat comes.
      // rows whose reading was stored before this import (an import run again), or whose check
      // for it failed, are not submitted
      const submitted = rows.filter((row) => row.report === null);
      // Every row's outcome is waited for, a row whose ingest fails included: the others of the
      // chunk go on to be stored or dead-lettered regardless, and each is reported as it was decided
      const reports = await inSubmissionOrder(
        submitted,
        (row) => (row.extra ? null : deviceSeqKey(row.env)),
        async (row): Promise<ImportRow> => {
          try {
            const [o] = row.extra
              ? // a cell past the header's columns would be dropped unread: the row is refused instead
                [
                  await ingestor.rejectMalformed(
                    row.cells.join(","),
                    `${row.cells.length} cells, but the header names ${header.length} columns`,
                    { source: "csv" },
                  ),
                ]
              : await ingestor.submit(row.env, { source: "csv" }, row.cells.join(","));
            return o!.status === "stored"
              ? { row: row.line, status: "stored", digest: o!.digest }
              : { row: row.line, status: "rejected", reason: o!.reason, detail: o!.detail };
          } catch (err) {
            return notDecided(row.line, err);
          }
        },
      );
      let next = 0;
      for (const row of rows) row.report ??= reports[next++]!;
      const all = rows.map((row) => row.report!);
      for (const r of all) counts[r.status === "already-stored" ? "alreadyStored" : r.status]++;
      counts.rows += all.length;
      await opts.onRows?.(all, { ...counts });
      if (undecided > 0) throw undecidedError;
    };
    const read = new Fingerprint();
    const longer = () => {
      if (read.bytes > checked.bytes) throw changed(`more than the ${checked.bytes} bytes checked`);
    };
    try {
      for await (const record of readCsvRecords(read.tap(opts.source(), longer))) {
        if (names === null) names = record.cells.map((h) => h.trim());
        else if (chunk.push(record) === CHUNK_ROWS) await ingestChunk();
      }
      // the last rows are stored only if the whole file read is the file checked
      if (read.bytes !== checked.bytes || read.digest() !== checkedDigest)
        throw changed(
          read.bytes === checked.bytes
            ? "the same length, other bytes"
            : `${read.bytes} bytes, ${checked.bytes} checked`,
        );
      if (chunk.length > 0) await ingestChunk();
    } catch (err) {
      if (err instanceof ImportStoppedError) throw err;
      const notStored =
        undecided > 0
          ? `, ${undecided} of them not decided (reported with the error's code as reason, no dead letter)`
          : "";
      throw new ImportStoppedError(
        "IMPORT_FAILED",
        `the import stopped after ${counts.rows} of ${total} rows${notStored}: ${(err as Error).message ?? String(err)}; the rows decided stay as reported; run the same import again: rows already stored are reported as already stored`,
        { ...counts },
        err,
      );
    }
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
}): Promise<{ rows: ImportRow[]; stored: number; alreadyStored: number; rejected: number }> {
  const rows: ImportRow[] = [];
  const { csv, ...rest } = opts;
  const counts = await importCsv({ ...rest, source: () => [csv], onRows: (r) => void rows.push(...r) });
  return { rows, stored: counts.stored, alreadyStored: counts.alreadyStored, rejected: counts.rejected };
}
