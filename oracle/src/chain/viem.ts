import {
  createPublicClient,
  encodeFunctionData,
  http,
  keccak256,
  parseTransaction,
  recoverTransactionAddress,
  type Chain,
  type PublicClient,
  type TransactionSerialized,
} from "viem";
import type { PrivateKeyAccount } from "viem/accounts";
import {
  chainFor,
  isRevertError,
  signBatchHeader,
  ZERO_BYTES32,
  type BatchHeader,
  type Hex,
} from "../../../sdk/src/index.ts";
import type {
  Address,
  ChainPort,
  FEE_CAP_REACHED,
  FeeCap,
  REPLACEMENT_UNDERPRICED,
  TxReceipt,
} from "../batch/pipeline.ts";
import { attestationRegistryAbi, oracleSetAbi } from "./abi.ts";
import { submitRevertName } from "./revert.ts";
import { blockRanges } from "../../../sdk/src/chain/blockRanges.ts";
import { firstStampedFrom } from "../../../sdk/src/chain/firstStampedFrom.ts";

// the sdk's range splitter (its default size is LOG_RANGE's), also the device directory's
export { blockRanges, firstStampedFrom };

/** Blocks per `eth_getLogs` (many RPC nodes cap ranges at 10,000). */
export const LOG_RANGE = 5_000n;

/**
 * Without `chain.maxFeePerGas`, a gas bump bids at most this many times the RPC node's current
 * `maxFeePerGas` estimate: a transaction already bidding that much and still unmined is not held
 * back by its fees (dropped, or behind another), and raising them again would only make it dearer.
 */
export const FEE_CAP_ESTIMATE_MULTIPLE = 3n;

/** The pipeline's {@link FEE_CAP_REACHED} (a value import of the pipeline would load it with this module). */
const FEE_CAP: typeof FEE_CAP_REACHED = "FEE_CAP_REACHED";
/** The pipeline's {@link REPLACEMENT_UNDERPRICED}. */
const UNDERPRICED: typeof REPLACEMENT_UNDERPRICED = "REPLACEMENT_UNDERPRICED";

/** The chain of the node's config, for viem's wallet clients (the sdk's). */
export { chainFor };

/**
 * ChainPort over JSON-RPC with viem: EIP-712 signing with the node's key, `exists` reads,
 * and `submit` transactions signed locally (EIP-1559, fees from the node; a bump raises the
 * replaced transaction's own fees by `gasBumpPercent`) so they can be persisted before they are sent.
 */
export class ViemChain implements ChainPort {
  readonly domain: { chainId: number; verifyingContract: Address };
  readonly signerAddress: Address;
  readonly client: PublicClient;
  readonly #account: PrivateKeyAccount;
  readonly #bumpPercent: number;

  constructor(opts: {
    rpcUrl: string;
    chainId: number;
    registry: Address;
    account: PrivateKeyAccount;
    gasBumpPercent?: number;
    timeoutMs?: number;
  }) {
    this.domain = { chainId: opts.chainId, verifyingContract: opts.registry };
    this.#account = opts.account;
    this.signerAddress = opts.account.address;
    this.#bumpPercent = opts.gasBumpPercent ?? 15;
    this.client = createPublicClient({
      chain: chainFor(opts.chainId, opts.rpcUrl),
      // JSON-RPC batches: the pipeline follows every facility's batches at once (receipts, block
      // number, nonces, `exists`); one HTTP request per event-loop turn instead of one per call
      // took ~10 % of the main thread off at saturation (bench:ingest profile, undici + viem)
      transport: http(opts.rpcUrl, { timeout: opts.timeoutMs ?? 10_000, retryCount: 0, batch: { wait: 0 } }),
    });
  }

  /** The RPC node's chain id once it matched `chain.chainId` (read again after a failed read). */
  #chainChecked: Promise<void> | null = null;

  /**
   * Refuses an RPC node of another chain than `chain.chainId` (error code CHAIN_ID_MISMATCH),
   * before anything is signed for it: every header and transaction carries the chain id, and one
   * signed for another chain is refused there (the transaction holding its nonce for ever) or
   * recorded by co-signers under an id the real chain never sees (review: the default 31337 with
   * chain.rpcUrl on a public network). Checked at start, before every transaction is signed and
   * before a co-signing review (node.ts), read once.
   */
  checkChainId(): Promise<void> {
    this.#chainChecked ??= this.client.getChainId().then(
      (served) => {
        if (served === this.domain.chainId) return;
        this.#chainChecked = null;
        throw Object.assign(
          new Error(
            `the RPC node (chain.rpcUrl) serves chain id ${served}, and chain.chainId is ${this.domain.chainId}: set chain.chainId to ${served}, or point chain.rpcUrl at a node of chain ${this.domain.chainId}; nothing is signed meanwhile`,
          ),
          { code: "CHAIN_ID_MISMATCH" },
        );
      },
      (err: unknown) => {
        this.#chainChecked = null; // read again next time
        throw err;
      },
    );
    return this.#chainChecked;
  }

  /** Signs locally, the RPC node not asked: a chain outage delays the submission, not the signature (its chain id is checked before any transaction). */
  signHeader(header: BatchHeader): Promise<Hex> {
    return signBatchHeader(this.#account, header, this.domain);
  }

  #oracleSet: Promise<Address> | null = null;
  /** The registry's OracleSet, read once. */
  #set(): Promise<Address> {
    this.#oracleSet ??= this.client
      .readContract({ address: this.domain.verifyingContract, abi: attestationRegistryAbi, functionName: "oracleSet" })
      .catch((err: unknown) => {
        this.#oracleSet = null; // read again next time
        throw err;
      }) as Promise<Address>;
    return this.#oracleSet;
  }

  async threshold(): Promise<number> {
    return Number(
      await this.client.readContract({ address: await this.#set(), abi: oracleSetAbi, functionName: "threshold" }),
    );
  }

  async isActiveOracle(address: Address): Promise<boolean> {
    return this.client.readContract({
      address: await this.#set(),
      abi: oracleSetAbi,
      functionName: "isActiveNode",
      args: [address],
    });
  }

  async attestedUntil(facilityId: Hex, blockNumber?: bigint): Promise<bigint> {
    return BigInt(
      await this.client.readContract({
        address: this.domain.verifyingContract,
        abi: attestationRegistryAbi,
        functionName: "attestedUntil",
        args: [facilityId],
        ...(blockNumber === undefined ? {} : { blockNumber }),
      }),
    );
  }

  exists(id: Hex, blockNumber?: bigint): Promise<boolean> {
    return this.client.readContract({
      address: this.domain.verifyingContract,
      abi: attestationRegistryAbi,
      functionName: "exists",
      args: [id],
      ...(blockNumber === undefined ? {} : { blockNumber }),
    });
  }

  /**
   * The transaction and block of `id`'s `AttestationSubmitted` event (the id is indexed), or null
   * when no such event is found. The log query spans only the blocks stamped with the record's
   * `submittedAt` (the attesting block's timestamp), found by bisection over block headers: one
   * block where timestamps strictly increase (Ethereum, Hardhat), a few on chains with sub-second
   * blocks. No look-back window to configure, and far below the block ranges RPC nodes cap
   * `eth_getLogs` at; a node that refuses it anyway makes this throw (the caller confirms without
   * the audit fields). O(log head) header reads, once per batch attested by a transaction it
   * does not list (the pipeline keeps the hash it found).
   */
  async attestedIn(id: Hex): Promise<{ txHash: Hex; blockNumber: bigint } | null> {
    const address = this.domain.verifyingContract;
    const record = await this.client.readContract({
      address,
      abi: attestationRegistryAbi,
      functionName: "getAttestation",
      args: [id],
    });
    const at = BigInt(record.submittedAt);
    const head = await this.client.getBlockNumber({ cacheTime: 0 });
    const fromBlock = await this.#firstStampedFrom(at, 0n, head);
    if (fromBlock > head) return null;
    // the last block stamped `at`: usually fromBlock itself, so probe its successor first
    const toBlock =
      fromBlock === head || (await this.#stamp(fromBlock + 1n)) > at
        ? fromBlock
        : (await this.#firstStampedFrom(at + 1n, fromBlock + 1n, head)) - 1n;
    const logs = await this.client.getContractEvents({
      address,
      abi: attestationRegistryAbi,
      eventName: "AttestationSubmitted",
      args: { id },
      fromBlock,
      toBlock,
    });
    const log = logs.find((l) => !l.removed && l.blockNumber !== null);
    return log ? { txHash: log.transactionHash, blockNumber: log.blockNumber } : null;
  }

  findRegularAttestation(facilityId: Hex, periodStart: bigint, signal?: AbortSignal): Promise<FoundAttestation | null> {
    return findRegularAttestation(this.client, this.domain.verifyingContract, facilityId, periodStart, signal);
  }

  #stamp(n: bigint): Promise<bigint> {
    return blockStamp(this.client, n);
  }

  #firstStampedFrom(t: bigint, lo: bigint, hi: bigint): Promise<bigint> {
    return firstStampedFrom(this.client, t, lo, hi);
  }

  async prepareSubmit(
    header: BatchHeader,
    signatures: Hex,
    nonce: number,
    original?: BatchHeader,
    cap?: FeeCap,
  ): Promise<{ hash: Hex; raw: Hex }> {
    const data = original
      ? encodeFunctionData({
          abi: attestationRegistryAbi,
          functionName: "submitCorrection",
          args: [header, original, signatures],
        })
      : encodeFunctionData({ abi: attestationRegistryAbi, functionName: "submit", args: [header, signatures] });
    const to = this.domain.verifyingContract;
    const call = { account: this.#account.address, to, data } as const;
    // against the pending block (the default: its timestamp is now, where the latest block's may lie
    // before the period's end), then, if that reverts, the latest one: a previous key's transaction
    // of the same header waiting in the mempool (handed over, pipeline #handOver) makes the pending
    // state revert (the id exists there); if both are mined, the registry refuses the second
    const gas = await this.client
      .estimateGas(call)
      .catch((pending: unknown) =>
        this.client.estimateGas({ ...call, blockTag: "latest" }).catch(() => Promise.reject(pending)),
      );
    return this.#signAtCurrentFees(to, data, nonce, (gas * 12n) / 10n, cap);
  }

  /**
   * Signs (does not send) a call of `data` on `to` at `nonce`: gas estimated, at the node's current
   * fee estimate, or `cap.maxFeePerGas` when that is lower (as `prepareSubmit` signs a batch's).
   */
  async prepareCall(to: Address, data: Hex, nonce: number, cap?: FeeCap): Promise<{ hash: Hex; raw: Hex }> {
    const gas = await this.client.estimateGas({ account: this.#account.address, to, data });
    return this.#signAtCurrentFees(to, data, nonce, (gas * 12n) / 10n, cap);
  }

  /** Signs at the node's current fee estimate, or `cap.maxFeePerGas` when that is lower, with gas limit `gas`. */
  async #signAtCurrentFees(
    to: Address,
    data: Hex,
    nonce: number,
    gas: bigint,
    cap?: FeeCap,
  ): Promise<{ hash: Hex; raw: Hex }> {
    const fees = await this.client.estimateFeesPerGas();
    const limit = cap?.maxFeePerGas ?? null;
    const min = (a: bigint, b: bigint | null) => (b !== null && b < a ? b : a);
    return this.#sign({
      to,
      data,
      nonce,
      gas,
      maxFeePerGas: min(fees.maxFeePerGas, limit),
      maxPriorityFeePerGas: min(fees.maxPriorityFeePerGas, limit),
    });
  }

  /**
   * Re-signs `raw` (same nonce, gas limit and call) with both fees at least `gasBumpPercent`
   * above ITS fees, or at the current estimate when that is higher. Nodes accept a replacement
   * only at ≥ 10 % over the transaction it replaces (geth's and Hardhat's rule), so scaling
   * the current estimate instead would be refused as underpriced whenever fees have fallen.
   * The gas limit is kept: estimating again would run against a pending state in which the
   * replaced transaction already recorded the attestation, and revert.
   *
   * With `cap`, `maxFeePerGas` goes no higher than `cap.maxFeePerGas` (null: {@link
   * FEE_CAP_ESTIMATE_MULTIPLE} times the current estimate), the tip no higher than that either;
   * when the capped fees are not 10 % over both of raw's, no node would take the replacement, and
   * this throws (code {@link FEE_CAP_REACHED}).
   */
  async prepareReplacement(raw: Hex, cap?: FeeCap): Promise<{ hash: Hex; raw: Hex; cappedAt?: bigint }> {
    const prev = signedFields(raw);
    const fees = await this.client.estimateFeesPerGas();
    const bumped = (x: bigint) => (x * BigInt(100 + this.#bumpPercent) + 99n) / 100n; // rounded up
    const max = (a: bigint, b: bigint) => (a > b ? a : b);
    let maxPriorityFeePerGas = max(bumped(prev.maxPriorityFeePerGas), fees.maxPriorityFeePerGas);
    let maxFeePerGas = max(max(bumped(prev.maxFeePerGas), fees.maxFeePerGas), maxPriorityFeePerGas);
    let cappedAt: bigint | undefined;
    if (cap) {
      const limit = cap.maxFeePerGas ?? fees.maxFeePerGas * FEE_CAP_ESTIMATE_MULTIPLE;
      if (maxFeePerGas > limit) {
        cappedAt = limit;
        maxFeePerGas = limit;
        if (maxPriorityFeePerGas > limit) maxPriorityFeePerGas = limit;
        // geth and Hardhat take a replacement only at 10 % over both fees of the one it replaces
        const outbids = (next: bigint, old: bigint) => next * 100n >= old * 110n;
        if (!outbids(maxFeePerGas, prev.maxFeePerGas) || !outbids(maxPriorityFeePerGas, prev.maxPriorityFeePerGas)) {
          throw Object.assign(
            new Error(
              `transaction ${keccak256(raw)} bids ${prev.maxFeePerGas} wei per gas, within 10 % of the fee cap ` +
                `${limit} (${cap.maxFeePerGas === null ? `${FEE_CAP_ESTIMATE_MULTIPLE} times the current estimate` : "chain.maxFeePerGas"}): ` +
                `not bumped; raise chain.maxFeePerGas to outbid it`,
            ),
            { code: FEE_CAP, capWei: limit },
          );
        }
      }
    }
    const tx = await this.#sign({
      to: prev.to ?? this.domain.verifyingContract,
      data: prev.data ?? "0x",
      nonce: prev.nonce,
      gas: prev.gas,
      maxFeePerGas,
      maxPriorityFeePerGas,
    });
    return cappedAt === undefined ? tx : { ...tx, cappedAt };
  }

  /**
   * Signs `raw`'s call (same nonce, gas limit, recipient and data) again at the node's current fee
   * estimate, or `cap.maxFeePerGas` when that is lower: for a transaction the RPC node refuses
   * for good (its fees past the account's funds or the node's own cap). Not a replacement: it may
   * bid less than `raw`, which the node does not hold.
   */
  async prepareResend(raw: Hex, cap?: FeeCap): Promise<{ hash: Hex; raw: Hex }> {
    const prev = signedFields(raw);
    return this.#signAtCurrentFees(
      prev.to ?? this.domain.verifyingContract,
      prev.data ?? "0x",
      prev.nonce,
      prev.gas,
      cap,
    );
  }

  async #sign(tx: {
    to: Address;
    data: Hex;
    nonce: number;
    gas: bigint;
    maxFeePerGas: bigint;
    maxPriorityFeePerGas: bigint;
  }): Promise<{ hash: Hex; raw: Hex }> {
    await this.checkChainId();
    const raw = await this.#account.signTransaction({ type: "eip1559", chainId: this.domain.chainId, ...tx });
    return { raw, hash: keccak256(raw) };
  }

  async broadcast(raw: Hex): Promise<void> {
    try {
      await this.client.sendRawTransaction({ serializedTransaction: raw });
    } catch (err) {
      // the same bytes again, or a nonce another of our transactions already used: the
      // follow-up step sorts these out from receipts and the account's nonce
      const msg = String((err as Error).message ?? err);
      if (/known|already|nonce too low/i.test(msg)) return;
      // not swallowed: the RPC node keeps a different transaction at this nonce, so this one
      // will never be mined; the batch retries and the next bump starts from these fees
      if (/underpriced/i.test(msg)) {
        throw Object.assign(
          new Error(
            `transaction ${keccak256(raw)} refused as an underpriced replacement; ` +
              `the next gas bump raises its fees (chain.gasBumpPercent sets by how much)`,
            { cause: err },
          ),
          { code: UNDERPRICED },
        );
      }
      throw err;
    }
  }

  senderOf(raw: Hex): Promise<Address> {
    return recoverTransactionAddress({ serializedTransaction: raw as TransactionSerialized });
  }

  async isKnown(hash: Hex): Promise<boolean> {
    // null for a hash the RPC node has neither in its mempool nor in a block
    return (await this.client.request({ method: "eth_getTransactionByHash", params: [hash] })) !== null;
  }

  async receipt(hash: Hex): Promise<TxReceipt | null> {
    try {
      const r = await this.client.getTransactionReceipt({ hash });
      return { status: r.status, blockNumber: r.blockNumber, from: r.from };
    } catch (err) {
      if ((err as Error).name === "TransactionReceiptNotFoundError") return null;
      throw err;
    }
  }

  blockNumber(): Promise<bigint> {
    return this.client.getBlockNumber({ cacheTime: 0 });
  }

  /**
   * Why transaction `hash`, mined and reverted in block `blockNumber`, was refused: its call run
   * again on the state that block left (a pause or a signer's removal mined ahead of it in the
   * same block shows there), the custom error named (the registry's and the OracleSet's), else
   * the node's message when the call reverted; null when the call passes there (nothing to name).
   * Throws when the call could not be made: a failure to ask is no reason.
   */
  async revertReason(hash: Hex, blockNumber: bigint): Promise<string | null> {
    const tx = await this.client.getTransaction({ hash });
    try {
      await this.client.call({ account: tx.from, to: tx.to, data: tx.input, gas: tx.gas, blockNumber });
      return null;
    } catch (err) {
      const name = submitRevertName(err);
      if (name !== null) return name;
      // a call that could not be made (the RPC node out of reach, a timeout) names no reason:
      // thrown, so the batch says the reason could not be read rather than "reverted: HTTP
      // request failed" (review)
      if (!isRevertError(err)) throw err;
      return ((err as { shortMessage?: string }).shortMessage ?? (err as Error).message).split("\n")[0]!;
    }
  }

  async nonces(address: Address = this.signerAddress): Promise<{ latest: number; pending: number }> {
    const [latest, pending] = await Promise.all([
      this.client.getTransactionCount({ address, blockTag: "latest" }),
      this.client.getTransactionCount({ address, blockTag: "pending" }),
    ]);
    return { latest, pending };
  }
}

/** `raw`'s fields, checked to be an EIP-1559 transaction with nonce, gas and fees (what this class signs). */
function signedFields(raw: Hex) {
  const prev = parseTransaction(raw);
  if (
    prev.type !== "eip1559" ||
    prev.nonce === undefined ||
    prev.gas === undefined ||
    prev.maxFeePerGas === undefined ||
    prev.maxPriorityFeePerGas === undefined
  ) {
    throw new Error(
      `cannot sign transaction ${keccak256(raw)} again: not an EIP-1559 transaction with nonce, gas and fees; ` +
        `set the batch back to 'signed' to submit it afresh`,
    );
  }
  return {
    ...prev,
    nonce: prev.nonce,
    gas: prev.gas,
    maxFeePerGas: prev.maxFeePerGas,
    maxPriorityFeePerGas: prev.maxPriorityFeePerGas,
  };
}

/** A regular attestation found among the registry's events (ViemChain `findRegularAttestation`). */
export type FoundAttestation = { id: Hex; header: BatchHeader; txHash: Hex; blockNumber: bigint; revoked: boolean };

/**
 * The regular attestation of `facilityId` whose period holds `periodStart`, from the registry's
 * `AttestationSubmitted` events (the facility is indexed), with whether it was revoked; null when
 * none is found. The search starts at the first block stamped at `periodStart` (an attestation is
 * submitted once its period has ended), in ranges of 5,000 blocks, at most 100 of them (throws
 * when it stops there without an answer). Used by the pipeline to adopt a window sealed again
 * after a restore, and by the operator's `retry` to tell whether that can be tried again.
 * `signal`: once aborted, no further call is made (the search throws its reason); a call under
 * way is not cut, so the search ends within one call's timeout of it.
 */
export async function findRegularAttestation(
  client: PublicClient,
  address: Address,
  facilityId: Hex,
  periodStart: bigint,
  signal?: AbortSignal,
): Promise<FoundAttestation | null> {
  signal?.throwIfAborted();
  const head = await client.getBlockNumber({ cacheTime: 0 });
  const start = await firstStampedFrom(client, periodStart, 0n, head, signal);
  // at most 100 ranges
  const last = start + LOG_RANGE * 100n - 1n;
  for (const range of blockRanges(start, head < last ? head : last)) {
    signal?.throwIfAborted();
    const logs = await client.getContractEvents({
      address,
      abi: attestationRegistryAbi,
      eventName: "AttestationSubmitted",
      args: { facilityId },
      ...range,
    });
    for (const log of logs) {
      // viem decodes the struct as the sdk's BatchHeader (uint64/uint128 as bigint, uint32 as number)
      const header = log.args.header as BatchHeader | undefined;
      if (!header || !log.args.id || log.blockNumber === null) continue;
      if (header.correctionOf !== ZERO_BYTES32 || header.periodStart > periodStart || header.periodEnd <= periodStart)
        continue;
      signal?.throwIfAborted();
      const revoked = await client.readContract({
        address,
        abi: attestationRegistryAbi,
        functionName: "isRevoked",
        args: [log.args.id],
      });
      return { id: log.args.id, header, txHash: log.transactionHash, blockNumber: log.blockNumber, revoked };
    }
  }
  if (last < head)
    throw Object.assign(
      new Error(`no attestation in the ${LOG_RANGE * 100n} blocks from block ${start}; the search stops there`),
      { code: "SEARCH_BOUND" },
    );
  return null;
}

/** Block `n`'s timestamp (unix s). */
async function blockStamp(client: PublicClient, n: bigint): Promise<bigint> {
  return (await client.getBlock({ blockNumber: n })).timestamp;
}
