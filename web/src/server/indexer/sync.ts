/**
 * Chain → store: reads the logs of the six CarbonProof contracts with viem in block ranges,
 * decodes them with the sdk's generated ABIs, and writes each range (raw events, block hashes,
 * derived rows through the reducer, the cursor) in one SQLite transaction, so a crash leaves
 * the store at the end of the last whole range and a restart resumes from there.
 *
 * Reorgs: before each sync the stored hash of the cursor's block is compared with the chain.
 * Block hashes chain, so a match there means every earlier stored block still stands; on a
 * mismatch the stored blocks (every block with events, and the last `reorgDepth` range ends) are
 * searched for the highest that still matches (binary search: the blocks that stand form a
 * prefix), the raw log above it is deleted and the derived tables are rebuilt from the log
 * (events are few; readings are keyed by attestation and stay). A chain restarted under the same
 * addresses (a new local Hardhat node) is the same case, with the fork point at its start.
 */
import { createPublicClient, decodeEventLog, http, type Abi, type Address, type Log, type PublicClient } from "viem";
import type { Hex } from "@carbonproof/subgraph/client";
import { contractAbis } from "../../../../sdk/src/contracts/generated.ts";
import { INDEXED_CONTRACTS, toJsonArgs, type IndexedContract, type IndexedEvent } from "./events.ts";
import { rebuildDerived, recordEvent, stmt } from "./reducer.ts";
import { clearAll, getMeta, inTransaction, setMeta, type Store } from "./store.ts";
import { scrubUrls, urlForMessages, urlScrubber } from "../../../../sdk/src/urls.ts";

/** Events whose transaction's sender the reducer stores (one eth_getTransaction per transaction). */
const SENDER_NEEDED = new Set(["AttestationSubmitted", "CreditsIssued", "ShortfallRecorded"]);

export type SyncLog = (line: string, fields?: Record<string, unknown>) => void;

export type ChainSyncOptions = {
  rpcUrl: string;
  /** the chain id the deployment is on; the RPC must report the same */
  chainId: number;
  addresses: Record<IndexedContract, Address>;
  /** first block to read (a deployment's block); default 0 */
  startBlock?: number;
  /** blocks per getLogs call (halved while the RPC answers "too many results") */
  rangeSize?: number;
  /** range-end blocks without events kept below the cursor for the reorg search */
  reorgDepth?: number;
  log?: SyncLog;
  /** a viem client for tests; by default one over http(rpcUrl) */
  client?: PublicClient;
};

export type SyncResult = { fromBlock: number; toBlock: number; head: number; events: number; reorgedTo?: number };

/** An RPC problem the web app shows as is: it names the setting to check. */
export class ChainSyncError extends Error {
  readonly code: "INDEXER_RPC_UNREACHABLE" | "INDEXER_CHAIN_MISMATCH";
  constructor(code: ChainSyncError["code"], message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "ChainSyncError";
    this.code = code;
  }
}

const TOO_MANY = /too many|limit exceeded|response size|query returned more than|range is too (large|wide)|exceed/i;

/** Where the store stands: which chain and deployment it indexed (a different one starts it over). */
export function deploymentFingerprint(chainId: number, addresses: Record<IndexedContract, Address>): string {
  return `${chainId}:${INDEXED_CONTRACTS.map((n) => `${n}=${addresses[n].toLowerCase()}`).join(",")}`;
}

export class ChainSync {
  readonly #db: Store;
  readonly #o: Required<Omit<ChainSyncOptions, "client">>;
  readonly #client: PublicClient;
  readonly #contracts: Map<string, { name: IndexedContract; abi: Abi }>;
  /** the RPC as messages name it (scheme, host and port): its URL may hold a provider's key */
  readonly #shown: string;
  readonly #scrub: (text: string) => string;
  #initialised = false;

  constructor(db: Store, options: ChainSyncOptions) {
    this.#db = db;
    this.#o = { startBlock: 0, rangeSize: 2_000, reorgDepth: 64, log: () => {}, ...options };
    this.#shown = urlForMessages(options.rpcUrl, "the server's RPC URL");
    // the configured URL whole first, then any other URL an error quotes (a redirect's, a library's)
    const scrubGiven = urlScrubber([options.rpcUrl]);
    this.#scrub = (text) => scrubUrls(scrubGiven(text));
    this.#client =
      options.client ??
      (createPublicClient({
        transport: http(options.rpcUrl, { batch: { batchSize: 100, wait: 0 }, retryCount: 1, timeout: 10_000 }),
      }) as PublicClient);
    this.#contracts = new Map(
      INDEXED_CONTRACTS.map((name) => [
        options.addresses[name].toLowerCase(),
        { name, abi: contractAbis[name] as unknown as Abi },
      ]),
    );
  }

  /** The last block whose events are in the store (startBlock − 1 before the first range). */
  cursor(): number {
    const v = getMeta(this.#db, "cursor");
    return v === null ? this.#o.startBlock - 1 : Number(v);
  }

  async #rpc<T>(what: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (cause) {
      const message = (cause as Error).message ?? String(cause);
      if (/fetch failed|ECONNREFUSED|ENOTFOUND|timed? ?out|HTTP request failed|socket/i.test(message))
        throw new ChainSyncError(
          "INDEXER_RPC_UNREACHABLE",
          `the explorer's indexer cannot reach the chain at ${this.#shown} (${what}): check CARBONPROOF_SERVER_RPC_URL (or CARBONPROOF_RPC_URL) and that the node is running`,
          { cause },
        );
      // viem quotes the URL it called, and this message reaches the explorer's status line
      const scrubbed = this.#scrub(message);
      if (scrubbed !== message) throw new Error(scrubbed, { cause });
      throw cause;
    }
  }

  /** Checks the chain id and starts the store over when it indexed another chain or deployment. */
  async init(): Promise<void> {
    if (this.#initialised) return;
    const chainId = await this.#rpc("eth_chainId", () => this.#client.getChainId());
    if (chainId !== this.#o.chainId)
      throw new ChainSyncError(
        "INDEXER_CHAIN_MISMATCH",
        `the chain at ${this.#shown} has chain id ${chainId}, the deployment is on ${this.#o.chainId}: check CARBONPROOF_SERVER_RPC_URL (or CARBONPROOF_RPC_URL) and CARBONPROOF_CHAIN_ID`,
      );
    const fingerprint = deploymentFingerprint(this.#o.chainId, this.#o.addresses);
    const stored = getMeta(this.#db, "deployment");
    if (stored !== fingerprint) {
      if (stored !== null)
        this.#o.log("indexer: the store indexed another chain or deployment; starting fresh", {
          was: stored,
          now: fingerprint,
        });
      inTransaction(this.#db, () => {
        clearAll(this.#db);
        setMeta(this.#db, "deployment", fingerprint);
      });
    }
    this.#initialised = true;
  }

  /** The chain's block `number` now (hash, timestamp), null when the chain has no such block (any more). */
  async #block(number: number): Promise<{ hash: Hex; timestamp: number } | null> {
    let block;
    try {
      block = await this.#rpc(`block ${number}`, () => this.#client.getBlock({ blockNumber: BigInt(number) }));
    } catch (cause) {
      if (cause instanceof ChainSyncError) throw cause;
      if (/not (be )?found|could not be found/i.test((cause as Error).message)) return null;
      throw cause;
    }
    return { hash: block.hash!.toLowerCase() as Hex, timestamp: Number(block.timestamp) };
  }

  /** Finds the highest stored block still on the chain and rolls the store back to it. */
  async #handleReorg(): Promise<number | undefined> {
    const cursor = this.cursor();
    // the top row alone at each sync; every stored block only when it no longer stands (review:
    // each sync read the whole table, which keeps every block that had events)
    const top = stmt(this.#db, "SELECT number, hash FROM blocks WHERE number <= ? ORDER BY number DESC LIMIT 1").get(
      cursor,
    ) as { number: bigint; hash: string } | undefined;
    if (top === undefined) return undefined;
    const current = await this.#block(Number(top.number));
    if (current?.hash === top.hash) return undefined;
    const stored = stmt(this.#db, "SELECT number, hash FROM blocks WHERE number <= ? ORDER BY number DESC").all(
      cursor,
    ) as { number: bigint; hash: string }[];
    // Stored blocks that still stand form a prefix (hashes chain): binary search for its end.
    let lo = 1; // stored[lo..] are candidates, highest first
    let hi = stored.length; // stored[hi] (if any) is known to match
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const row = stored[mid]!;
      const onChain = await this.#block(Number(row.number));
      if (onChain?.hash === row.hash) hi = mid;
      else lo = mid + 1;
    }
    const forkPoint = hi < stored.length ? Number(stored[hi]!.number) : this.#o.startBlock - 1;
    this.#o.log("indexer: chain reorganisation; rolling back and rebuilding from the event log", {
      storedHead: cursor,
      forkPoint,
    });
    inTransaction(this.#db, () => {
      stmt(this.#db, "DELETE FROM events WHERE block_number > ?").run(forkPoint);
      stmt(this.#db, "DELETE FROM blocks WHERE number > ?").run(forkPoint);
      setMeta(this.#db, "cursor", String(forkPoint));
      rebuildDerived(this.#db, this.#o.log);
    });
    return forkPoint;
  }

  async #logs(fromBlock: number, toBlock: number): Promise<Log[]> {
    return this.#rpc(`eth_getLogs ${fromBlock}–${toBlock}`, () =>
      this.#client.getLogs({
        address: [...this.#contracts.keys()] as Address[],
        fromBlock: BigInt(fromBlock),
        toBlock: BigInt(toBlock),
      }),
    );
  }

  /** Decoded events of one range, block facts attached, in chain order. */
  async #range(
    fromBlock: number,
    toBlock: number,
  ): Promise<{ events: IndexedEvent[]; end: { hash: Hex; timestamp: number } }> {
    // the range's last block read before its logs and again after: a reorg in between (logs of
    // the old fork, the end block of the new one) is retried, never stored (review: events of the
    // new fork in blocks without logs on the old one were lost for good, the stored hash matching)
    const endBefore = await this.#block(toBlock);
    const logs = await this.#logs(fromBlock, toBlock);
    const numbers = [...new Set(logs.map((l) => Number(l.blockNumber)))];
    const blocks = new Map<number, { hash: Hex; timestamp: number }>();
    // Requests of one tick go out as one JSON-RPC batch (the transport batches them).
    for (let i = 0; i < numbers.length; i += 50)
      await Promise.all(
        numbers.slice(i, i + 50).map(async (n) => {
          const b = await this.#block(n);
          if (!b) throw new Error(`block ${n} disappeared while syncing (reorg): retrying`);
          blocks.set(n, b);
        }),
      );
    const end = await this.#block(toBlock);
    if (!end || !endBefore) throw new Error(`block ${toBlock} disappeared while syncing (reorg): retrying`);
    if (end.hash !== endBefore.hash) throw new Error(`block ${toBlock} changed while syncing (reorg): retrying`);
    const senders = new Map<string, Hex>();
    const events: IndexedEvent[] = [];
    for (const log of logs) {
      const contract = this.#contracts.get(log.address.toLowerCase())!;
      let decoded;
      try {
        decoded = decodeEventLog({ abi: contract.abi, data: log.data, topics: log.topics });
      } catch (cause) {
        this.#o.log("indexer: a log the ABI does not describe was skipped", {
          contract: contract.name,
          block: Number(log.blockNumber),
          logIndex: log.logIndex,
          error: (cause as Error).message.split("\n")[0],
        });
        continue;
      }
      const block = blocks.get(Number(log.blockNumber))!;
      if (log.blockHash!.toLowerCase() !== block.hash)
        throw new Error(`block ${log.blockNumber} changed while syncing (reorg): retrying`);
      const eventName = String(decoded.eventName);
      let transactionFrom: Hex | null = null;
      // The reducer records who submitted an attestation, who issued credits and who recorded a
      // shortfall: the transaction's sender.
      if (SENDER_NEEDED.has(eventName)) {
        const hash = log.transactionHash!.toLowerCase();
        if (!senders.has(hash)) {
          const tx = await this.#rpc(`transaction ${hash}`, () => this.#client.getTransaction({ hash: hash as Hex }));
          senders.set(hash, tx.from.toLowerCase() as Hex);
        }
        transactionFrom = senders.get(hash)!;
      }
      events.push({
        blockNumber: Number(log.blockNumber),
        blockHash: block.hash,
        timestamp: block.timestamp,
        transactionHash: log.transactionHash!.toLowerCase() as Hex,
        transactionFrom,
        logIndex: Number(log.logIndex),
        contract: contract.name,
        address: log.address.toLowerCase() as Hex,
        eventName,
        args: toJsonArgs(decoded.args ?? {}) as IndexedEvent["args"],
      });
    }
    events.sort((a, b) => a.blockNumber - b.blockNumber || a.logIndex - b.logIndex);
    return { events, end };
  }

  /**
   * Brings the store up to the chain head: reorg check, then ranges from the cursor. Returns what
   * was done. Callers run one at a time (index.ts serialises them).
   */
  async syncOnce(): Promise<SyncResult> {
    await this.init();
    const reorgedTo = await this.#handleReorg();
    const head = Number(await this.#rpc("eth_blockNumber", () => this.#client.getBlockNumber({ cacheTime: 0 })));
    const start = this.cursor() + 1;
    let from = start;
    let size = this.#o.rangeSize;
    let total = 0;
    const long = head - start + 1 > this.#o.rangeSize;
    if (long) this.#o.log("indexer: catching up with the chain", { from: start, head });
    while (from <= head) {
      const to = Math.min(head, from + size - 1);
      let range;
      try {
        range = await this.#range(from, to);
      } catch (cause) {
        if (!(cause instanceof ChainSyncError) && TOO_MANY.test((cause as Error).message) && size > 1) {
          size = Math.max(1, Math.floor(size / 2));
          continue;
        }
        throw cause;
      }
      inTransaction(this.#db, () => {
        const putBlock = stmt(
          this.#db,
          `INSERT INTO blocks (number, hash, timestamp, has_events) VALUES (?, ?, ?, ?)
           ON CONFLICT (number) DO UPDATE SET hash = excluded.hash, timestamp = excluded.timestamp,
             has_events = MAX(has_events, excluded.has_events)`,
        );
        for (const e of range.events) putBlock.run(e.blockNumber, e.blockHash, e.timestamp, 1);
        putBlock.run(to, range.end.hash, range.end.timestamp, 0);
        for (const e of range.events) recordEvent(this.#db, e, this.#o.log);
        setMeta(this.#db, "cursor", String(to));
        // Blocks without events are only needed near the head, for the reorg check.
        stmt(this.#db, "DELETE FROM blocks WHERE has_events = 0 AND number < ?").run(to - this.#o.reorgDepth);
      });
      total += range.events.length;
      if (long) this.#o.log("indexer: synced", { blocksDone: to - start + 1, toBlock: to, head, events: total });
      from = to + 1;
    }
    return { fromBlock: start, toBlock: head, head, events: total, reorgedTo };
  }
}
