import { create, type KuboRPCClient } from "kubo-rpc-client";
import { CID } from "multiformats/cid";
import * as raw from "multiformats/codecs/raw";
import { sha256 } from "multiformats/hashes/sha2";
import { urlForMessages } from "../url-scrub.ts";
import { CorruptBlockError, IpfsError, rawCid, type ContentStore, type GetOptions } from "./store.ts";

/**
 * A Kubo node (or a pinning service speaking the Kubo RPC API) as the content store. Same
 * CIDs as the embedded Helia node: raw blocks, CIDv1, sha2-256. Nothing it answers is taken on
 * trust: a put must come back with the CID the bytes hash to, and a block read must hash to its
 * CID. Tested against a stand-in for Kubo's RPC API (test/kubo-standin.ts: no Kubo binary can be
 * installed here), which answers as Kubo does, errors included.
 */
export class KuboStore implements ContentStore {
  readonly kind = "kubo" as const;
  readonly searchesNetwork = true;
  readonly #client: KuboRPCClient;
  readonly #url: string;
  /** the configured URL as given and as parsed: taken out of any message that quotes it */
  readonly #rawUrls: string[];
  readonly #timeoutMs: number;
  constructor(url: string, timeoutMs: number) {
    // the client's own `timeout` option is not applied by kubo-rpc-client 7 to a number: every call
    // here has a signal of its own, `timeoutMs` unless the caller gives one
    this.#client = create({ url });
    this.#url = urlForMessages(url, "ipfs.kuboUrl");
    this.#rawUrls = [url, URL.canParse(url) ? new URL(url).href : url]
      .map((u) => u.replace(/\/+$/, ""))
      .filter((u) => u.length > 0);
    this.#timeoutMs = timeoutMs;
  }
  async addAndPin(bytes: Uint8Array, opts: { signal?: AbortSignal } = {}): Promise<string> {
    let answered: string;
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
        signal: opts.signal ?? AbortSignal.timeout(this.#timeoutMs),
      });
      answered = CID.asCID(cid)?.toV1().toString() ?? String(cid);
    } catch (cause) {
      throw new IpfsError(
        `Kubo block.put failed: ${this.#said(cause)}; is the Kubo RPC API at ${this.#url} reachable?`,
        { cause },
      );
    }
    const expected = rawCid(bytes);
    // a node that stored the bytes under another CID would leave the batch naming a block no one holds
    if (answered !== expected)
      throw new Error(
        `the Kubo node at ${this.#url} stored the block as ${answered}, not ${expected} (raw, sha2-256): is ipfs.kuboUrl a Kubo RPC API?`,
      );
    return expected;
  }
  async get(cid: string, opts: GetOptions = {}): Promise<Uint8Array | null> {
    const c = CID.parse(cid);
    let bytes: Uint8Array;
    try {
      bytes = await this.#client.block.get(c, {
        signal: opts.signal ?? AbortSignal.timeout(this.#timeoutMs),
        // Kubo's global `--offline`: a block the node lacks is an error at once instead of a search of
        // the network that lasts until the timeout (`backup --content` asks for every block it names)
        ...(opts.network ? {} : { offline: true }),
      });
    } catch (cause) {
      if (!opts.network && /not found locally/i.test((cause as Error).message)) return null;
      throw new IpfsError(`Kubo block.get ${cid} at ${this.#url} failed: ${this.#said(cause)}`, { cause });
    }
    // the node names raw sha2-256 blocks only; another kind of CID Kubo checks itself
    if (c.code === raw.code && c.multihash.code === sha256.code && rawCid(bytes) !== c.toV1().toString())
      throw new CorruptBlockError(cid, { kuboUrl: this.#url });
    return bytes;
  }
  async isPinned(cid: string, opts: { signal?: AbortSignal } = {}): Promise<boolean> {
    try {
      for await (const p of this.#client.pin.ls({
        paths: [CID.parse(cid)],
        signal: opts.signal ?? AbortSignal.timeout(this.#timeoutMs),
      }))
        if (p.cid) return true;
      return false;
    } catch (cause) {
      if (/not pinned/i.test((cause as Error).message)) return false;
      throw new IpfsError(`Kubo pin.ls ${cid} at ${this.#url} failed: ${this.#said(cause)}`, { cause });
    }
  }
  async close(): Promise<void> {}
  /** An error's message with the configured URL, which may hold a key in its path, replaced by its redacted form. */
  #said(cause: unknown): string {
    let text = String((cause as Error)?.message ?? cause);
    for (const u of this.#rawUrls) text = text.split(u).join(this.#url);
    return text;
  }
}
