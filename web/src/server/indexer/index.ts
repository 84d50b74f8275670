/**
 * The explorer's indexer for server code: `getExplorerIndexer()` (one per process).
 *
 * The backend is chosen by configuration (subgraph/client/config.ts): CARBONPROOF_INDEXER=embedded
 * (default) or subgraph (with CARBONPROOF_SUBGRAPH_URL). The embedded backend reads the chain that
 * deployment runtimeConfig() names (CARBONPROOF_CHAIN_ID, CARBONPROOF_ADDRESSES) from the server's
 * RPC (serverRpc(): CARBONPROOF_SERVER_RPC_URL, else CARBONPROOF_RPC_URL) into a
 * SQLite file and keeps it current in the background; each read first waits (at most
 * CARBONPROOF_INDEXER_FRESH_MS, default 2 s) for the chain's newest blocks.
 *
 *   CARBONPROOF_INDEXER_DB           SQLite file; default ../.carbonproof/web/indexer.sqlite (beside
 *                                    the facility directory seed-demo writes)
 *   CARBONPROOF_INDEXER_START_BLOCK  first block to read; default the deployment's first block as the
 *                                    dApp reads it (CARBONPROOF_START_BLOCK, the Ignition journal), else 0
 *   CARBONPROOF_INDEXER_POLL_MS      background poll interval; default 1000
 *   CARBONPROOF_BUNDLES              folder of <cid>.json evidence bundles; default ../.carbonproof/web/bundles
 *   CARBONPROOF_ORACLE_IPFS          the oracle's Helia repository; default ../.carbonproof/oracle/ipfs (if present)
 *   CARBONPROOF_IPFS_GATEWAY         an IPFS gateway to fetch bundles from (trustless raw blocks)
 */
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import type { Address } from "viem";
import { createIndexer, IndexerError, indexerConfigFromEnv, type ExplorerIndexer } from "@carbonproof/subgraph/client";
import { gatewaySource, type BundleSource } from "../../../../sdk/src/index.ts";
import { folderSource } from "../../../../sdk/src/verify/fileSource.ts";
import { runtimeConfig, serverRpc } from "../../lib/config.server.ts";
import { BundleIndexer } from "./bundles.ts";
import { EmbeddedIndexer } from "./embedded.ts";
import { INDEXED_CONTRACTS, type IndexedContract } from "./events.ts";
import { openStore, type Store } from "./store.ts";
import { ChainSync, ChainSyncError, type SyncLog, type SyncResult } from "./sync.ts";

export { EmbeddedIndexer } from "./embedded.ts";
export { ChainSync, ChainSyncError } from "./sync.ts";
export { BundleIndexer, readingSource } from "./bundles.ts";
export { applyEvent, rebuildDerived, recordEvent } from "./reducer.ts";
export { openStore } from "./store.ts";
export type { IndexedEvent } from "./events.ts";

/** Longest a read waits for the very first sync of an empty store. */
const FIRST_SYNC_MS = 15_000;

export type EmbeddedIndexerConfig = {
  dbPath: string;
  rpcUrl: string;
  chainId: number;
  addresses: Record<IndexedContract, Address>;
  startBlock: number;
  bundleSources: BundleSource[];
  pollMs: number;
  /** longest a read waits for the chain's newest blocks */
  freshMs: number;
  log: SyncLog;
};

/** One log line per event: message, then its fields as JSON (bigints as decimals). */
export const consoleLog: SyncLog = (line, fields) =>
  console.info(
    fields ? `${line} ${JSON.stringify(fields, (_k, v) => (typeof v === "bigint" ? v.toString() : v))}` : line,
  );

function intEnv(env: Record<string, string | undefined>, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 0)
    throw new IndexerError("INDEXER_CONFIG_INVALID", `${name} must be an integer ≥ 0, got ${JSON.stringify(raw)}`);
  return n;
}

/** The embedded indexer's settings from the environment and the web app's runtime config. */
export function embeddedConfigFromEnv(env: Record<string, string | undefined> = process.env): EmbeddedIndexerConfig {
  const runtime = runtimeConfig();
  const missing = INDEXED_CONTRACTS.filter((n) => !runtime.addresses[n]);
  if (missing.length)
    throw new IndexerError(
      "INDEXER_CONFIG_INVALID",
      `the embedded indexer needs the addresses of ${missing.join(", ")} (from ${runtime.addressSource}): deploy with npm start, or set CARBONPROOF_ADDRESSES to an Ignition deployed_addresses.json`,
    );
  const stateDir = env.CARBONPROOF_FACILITIES
    ? dirname(resolve(env.CARBONPROOF_FACILITIES))
    : join(process.cwd(), "..", ".carbonproof", "web");
  const bundleDir = env.CARBONPROOF_BUNDLES ? resolve(env.CARBONPROOF_BUNDLES) : join(stateDir, "bundles");
  const heliaDir = env.CARBONPROOF_ORACLE_IPFS
    ? resolve(env.CARBONPROOF_ORACLE_IPFS)
    : join(process.cwd(), "..", ".carbonproof", "oracle", "ipfs");
  const sources: BundleSource[] = [folderSource(bundleDir)];
  if (existsSync(heliaDir)) sources.push(heliaBundleSource(heliaDir));
  if (env.CARBONPROOF_IPFS_GATEWAY) sources.push(gatewaySource(env.CARBONPROOF_IPFS_GATEWAY));
  return {
    dbPath: env.CARBONPROOF_INDEXER_DB
      ? resolve(env.CARBONPROOF_INDEXER_DB)
      : join(process.cwd(), "..", ".carbonproof", "web", "indexer.sqlite"),
    rpcUrl: serverRpc(env).url,
    chainId: runtime.chainId,
    addresses: Object.fromEntries(INDEXED_CONTRACTS.map((n) => [n, runtime.addresses[n]!])) as Record<
      IndexedContract,
      Address
    >,
    // the deployment's first block, as the dApp's own event reads take it (CARBONPROOF_START_BLOCK, or
    // the Ignition journal's / the generated file's), unless set for the indexer alone
    startBlock: intEnv(env, "CARBONPROOF_INDEXER_START_BLOCK", runtime.startBlock ?? 0),
    bundleSources: sources,
    pollMs: Math.max(100, intEnv(env, "CARBONPROOF_INDEXER_POLL_MS", 1000)),
    freshMs: intEnv(env, "CARBONPROOF_INDEXER_FRESH_MS", 2000),
    log: consoleLog,
  };
}

/** The oracle's Helia blockstore, opened on first use (blockstore-fs is loaded only then). */
export function heliaBundleSource(dir: string): BundleSource {
  let source: Promise<BundleSource> | undefined;
  return {
    describe: `Helia repository ${dir}`,
    byCid: true,
    async get(cid) {
      source ??= import("../../../../sdk/src/verify/heliaRepoSource.ts").then((m) => m.heliaRepoSource(dir));
      return (await source).get(cid);
    },
  };
}

/**
 * The embedded indexer with its chain sync and bundle indexer: a background loop (every pollMs,
 * never two syncs at once) and `ensureFresh()` for reads.
 */
export class EmbeddedRuntime {
  readonly db: Store;
  readonly sync: ChainSync;
  readonly bundles: BundleIndexer;
  readonly indexer: EmbeddedIndexer;
  readonly #config: EmbeddedIndexerConfig;
  #syncing: Promise<SyncResult> | undefined;
  #bundling: Promise<unknown> | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #stopped = false;
  #lastError: string | undefined;
  #synced = false;
  #syncedAt = 0;

  constructor(config: EmbeddedIndexerConfig) {
    this.#config = config;
    this.db = openStore(config.dbPath);
    this.sync = new ChainSync(this.db, {
      rpcUrl: config.rpcUrl,
      chainId: config.chainId,
      addresses: config.addresses,
      startBlock: config.startBlock,
      log: config.log,
    });
    this.bundles = new BundleIndexer(this.db, { sources: config.bundleSources, log: config.log });
    this.indexer = new EmbeddedIndexer(this.db, { sync: () => this.ensureFresh() });
  }

  /** One sync now, or the one already running. */
  syncNow(): Promise<SyncResult> {
    this.#syncing ??= this.sync.syncOnce().then(
      (result) => {
        this.#syncing = undefined;
        this.#synced = true;
        this.#syncedAt = Date.now();
        if (this.#lastError) this.#config.log("indexer: the chain is reachable again", { head: result.head });
        this.#lastError = undefined;
        this.#kickBundles();
        return result;
      },
      (cause: unknown) => {
        this.#syncing = undefined;
        const message = (cause as Error).message;
        if (message !== this.#lastError) this.#config.log("indexer: sync failed", { error: message });
        this.#lastError = message;
        throw cause;
      },
    );
    return this.#syncing;
  }

  #kickBundles(): void {
    this.#bundling ??= this.bundles
      .runOnce()
      .catch((cause: unknown) => this.#config.log("indexer: bundle pass failed", { error: (cause as Error).message }))
      .finally(() => (this.#bundling = undefined));
  }

  /** Waits for the bundle pass under way, if any (tests). */
  async bundlesSettled(): Promise<void> {
    while (this.#bundling) await this.#bundling;
  }

  /**
   * Catches up with the chain before a read, waiting at most freshMs (at most FIRST_SYNC_MS while
   * the store has never been synced, so the first page after a start shows the chain, not zeros). When the chain cannot be
   * read and nothing was ever indexed, the read fails with a message naming the setting to check;
   * with data indexed earlier it answers from that (the overview's indexedBlock shows how far).
   */
  async ensureFresh(): Promise<void> {
    // The reads of one page come in a burst: one sync serves them all.
    if (Date.now() - this.#syncedAt < 250) return;
    const run = this.syncNow().then(
      () => undefined,
      (cause: unknown) => cause,
    );
    let timer: ReturnType<typeof setTimeout> | undefined;
    const outcome = await Promise.race([
      run,
      new Promise<"late">(
        (r) =>
          (timer = setTimeout(
            () => r("late"),
            this.indexer.indexedBlock() === null ? Math.max(this.#config.freshMs, FIRST_SYNC_MS) : this.#config.freshMs,
          )),
      ),
    ]);
    clearTimeout(timer);
    if (outcome === undefined || outcome === "late") return;
    if (!this.#synced && this.indexer.indexedBlock() === null) {
      const code =
        outcome instanceof ChainSyncError
          ? outcome.code === "INDEXER_CHAIN_MISMATCH"
            ? "INDEXER_CONFIG_INVALID"
            : "INDEXER_UNREACHABLE"
          : "INDEXER_QUERY_FAILED";
      throw new IndexerError(code, (outcome as Error).message, { cause: outcome });
    }
  }

  /** Starts the background loop (idempotent). */
  start(): this {
    if (this.#timer || this.#stopped) return this;
    const tick = async () => {
      try {
        await this.syncNow();
      } catch {
        // logged once per distinct error by syncNow; the next tick retries
      }
      if (!this.#stopped) {
        this.#timer = setTimeout(tick, this.#config.pollMs);
        this.#timer.unref?.();
      }
    };
    this.#timer = setTimeout(tick, 0);
    this.#timer.unref?.();
    return this;
  }

  /** Stops the loop, waits for work under way, closes the store. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#syncing?.catch(() => undefined);
    await this.bundlesSettled();
    this.db.close();
  }
}

const KEY = Symbol.for("carbonproof.explorerIndexer");
type Singleton = { indexer?: ExplorerIndexer; runtime?: EmbeddedRuntime };

/**
 * The explorer's indexer of this process, created on first use (kept on globalThis so that
 * Next's dev-mode module reloads do not open a second store or a second sync loop).
 */
export function getExplorerIndexer(): ExplorerIndexer {
  const g = globalThis as unknown as { [KEY]?: Singleton };
  const s = (g[KEY] ??= {});
  s.indexer ??= createIndexer(indexerConfigFromEnv(process.env), () => {
    s.runtime = new EmbeddedRuntime(embeddedConfigFromEnv(process.env)).start();
    return s.runtime.indexer;
  });
  return s.indexer;
}

/** The embedded runtime behind getExplorerIndexer(), when that is the embedded backend (status pages, tests). */
export function embeddedRuntime(): EmbeddedRuntime | undefined {
  return (globalThis as unknown as { [KEY]?: Singleton })[KEY]?.runtime;
}
