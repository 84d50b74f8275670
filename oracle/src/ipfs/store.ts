import { createHash } from "node:crypto";
import { CID } from "multiformats/cid";
import * as raw from "multiformats/codecs/raw";
import { sha256 } from "multiformats/hashes/sha2";

/**
 * Content-addressed storage with pinning: the embedded Helia node (ipfs/helia.ts) or a Kubo
 * node / pinning service over its RPC API (ipfs/kubo.ts). Everything the node pins is a single
 * raw block (evidence files, evidence bundles), so CIDs are CIDv1 raw sha2-256 and an
 * evidence file's CID follows from its SHA-256 alone.
 */
export interface ContentStore {
  readonly kind: "helia" | "kubo";
  /**
   * Whether `get` with `network` can find blocks the store does not hold (a Kubo node's peers); the
   * embedded store has no network. A search takes until `signal` aborts when nobody holds the block.
   */
  readonly searchesNetwork: boolean;
  /** Stores and pins `bytes` as one raw block; resolves to its CID (v1, base32). */
  addAndPin(bytes: Uint8Array, opts?: { signal?: AbortSignal }): Promise<string>;
  /**
   * The block's bytes, checked against `cid`; null when the store does not hold it. Throws
   * {@link CorruptBlockError} when the bytes do not hash to `cid`, {@link IpfsError} when the
   * store cannot be asked.
   */
  get(cid: string, opts?: GetOptions): Promise<Uint8Array | null>;
  isPinned(cid: string, opts?: { signal?: AbortSignal }): Promise<boolean>;
  close(): Promise<void>;
}

export type GetOptions = {
  signal?: AbortSignal;
  /**
   * Also look for the block on the IPFS network when the store does not hold it (a Kubo node
   * asks its peers until `signal` aborts). Without it a block the store lacks is null at once.
   * The embedded store has no network: it only ever answers from its own blocks.
   */
  network?: boolean;
};

/**
 * CIDv1 (raw, sha2-256) of bytes, as a base32 string: the sdk's `bundleCid` with Node's native
 * SHA-256, synchronous (a co-sign body or an evidence bundle is up to 256 MiB, which the sdk's
 * pure-JS hash takes seconds of the thread over).
 */
export function rawCid(bytes: Uint8Array): string {
  return rawCidFromSha256(createHash("sha256").update(bytes).digest("hex"));
}

/** CIDv1 (raw, sha2-256) of a file known only by its SHA-256 (hex, no 0x). */
export function rawCidFromSha256(sha256Hex: string): string {
  const digest = Uint8Array.from(Buffer.from(sha256Hex, "hex"));
  const mh = new Uint8Array(2 + digest.length);
  mh[0] = sha256.code;
  mh[1] = digest.length;
  mh.set(digest, 2);
  return CID.createV1(raw.code, { code: sha256.code, size: 32, digest, bytes: mh }).toString();
}

/** An IPFS failure (node unreachable, timeout): retried by the pin queue. */
export class IpfsError extends Error {
  readonly code = "IPFS_UNAVAILABLE";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "IpfsError";
  }
}

/**
 * A block whose bytes do not hash to its CID: a disk error or a copy cut short in the embedded
 * store, or a Kubo node (or a service speaking its RPC API) serving bytes that are not the block.
 * Asking again reads the same bytes, so it is not retried as an outage is.
 */
export class CorruptBlockError extends Error {
  readonly code = "IPFS_BLOCK_CORRUPT";
  constructor(cid: string, where: "helia" | { kuboUrl: string }) {
    super(
      where === "helia"
        ? `block ${cid} in the embedded IPFS store is corrupt (its bytes do not hash to its CID): pin a good copy with \`carbonproof-oracle pin FILE\` (the node stopped), which writes over it`
        : `the Kubo node at ${where.kuboUrl} served bytes for block ${cid} that do not hash to its CID: its copy is corrupt (\`ipfs repo verify\` on that node finds such blocks; \`ipfs block rm ${cid}\` there, then \`carbonproof-oracle pin FILE\` a good copy), or ipfs.kuboUrl is not a Kubo node`,
    );
    this.name = "CorruptBlockError";
  }
}
