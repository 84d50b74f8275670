import { create, type KuboRPCClient } from "kubo-rpc-client";
import { CID } from "multiformats/cid";
import { IpfsError, type ContentStore } from "./store.ts";

/**
 * A Kubo node (or a pinning service speaking the Kubo RPC API) as the content store. Same
 * CIDs as the embedded Helia node: raw blocks, CIDv1, sha2-256. Not exercised by the test
 * suite (no Kubo binary can be installed here); the HeliaStore stands for it in tests.
 */
export class KuboStore implements ContentStore {
  readonly kind = "kubo" as const;
  readonly #client: KuboRPCClient;
  readonly #timeoutMs: number;
  constructor(url: string, timeoutMs: number) {
    this.#client = create({ url, timeout: timeoutMs });
    this.#timeoutMs = timeoutMs;
  }
  async addAndPin(bytes: Uint8Array, opts: { signal?: AbortSignal } = {}): Promise<string> {
    try {
      const cid = await this.#client.block.put(bytes, {
        format: "raw",
        mhtype: "sha2-256",
        pin: true,
        // A bundle is one raw block (its CID is the SHA-256 of its bytes, docs/bundle.md), and a long
        // window's bundle passes Kubo's default 1 MiB block limit, which would leave the batch
        // sealed and retrying forever. Peers may still refuse blocks that large over bitswap: a
        // large bundle is fetched from the pinning node's gateway or RPC API.
        allowBigBlock: true,
        signal: opts.signal,
      });
      return CID.asCID(cid)?.toV1().toString() ?? String(cid);
    } catch (cause) {
      throw new IpfsError(`Kubo block.put failed: ${(cause as Error).message}; is the Kubo RPC API reachable?`, {
        cause,
      });
    }
  }
  async get(cid: string, opts: { signal?: AbortSignal } = {}): Promise<Uint8Array | null> {
    try {
      return await this.#client.block.get(CID.parse(cid), {
        signal: opts.signal ?? AbortSignal.timeout(this.#timeoutMs),
      });
    } catch (cause) {
      throw new IpfsError(`Kubo block.get ${cid} failed: ${(cause as Error).message}`, { cause });
    }
  }
  async isPinned(cid: string, opts: { signal?: AbortSignal } = {}): Promise<boolean> {
    try {
      for await (const p of this.#client.pin.ls({ paths: [CID.parse(cid)], signal: opts.signal }))
        if (p.cid) return true;
      return false;
    } catch (cause) {
      if (/not pinned/i.test((cause as Error).message)) return false;
      throw new IpfsError(`Kubo pin.ls ${cid} failed: ${(cause as Error).message}`, { cause });
    }
  }
  async close(): Promise<void> {}
}
