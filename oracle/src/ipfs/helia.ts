import { accessSync, constants as fsConstants, mkdirSync } from "node:fs";
import { join } from "node:path";
import { FsBlockstore } from "blockstore-fs";
import { FsDatastore } from "datastore-fs";
import { createHeliaLight, type Helia } from "helia";
import { CID } from "multiformats/cid";
import * as raw from "multiformats/codecs/raw";
import { sha256 } from "multiformats/hashes/sha2";
import { CorruptBlockError, rawCid, type ContentStore, type GetOptions } from "./store.ts";

export { CorruptBlockError };

/**
 * Embedded IPFS: Helia without libp2p (createHeliaLight) on a filesystem blockstore and
 * datastore, so nothing dials out and blocks and pins survive restarts. A Kubo node or a
 * pinning service can serve the same CIDs to the world (ipfs/kubo.ts).
 */
export class HeliaStore implements ContentStore {
  readonly kind = "helia" as const;
  readonly searchesNetwork = false;
  readonly #helia: Helia;
  /** the block files under Helia: written to directly only to repair a corrupt one */
  readonly #blocks: FsBlockstore;
  private constructor(helia: Helia, blocks: FsBlockstore) {
    this.#helia = helia;
    this.#blocks = blocks;
  }
  static async open(dir: string): Promise<HeliaStore> {
    mkdirSync(join(dir, "blocks"), { recursive: true });
    mkdirSync(join(dir, "data"), { recursive: true });
    const blockstore = new FsBlockstore(join(dir, "blocks"));
    const datastore = new FsDatastore(join(dir, "data"));
    const helia = createHeliaLight({ blockstore, datastore });
    await helia.start();
    return new HeliaStore(helia, blockstore);
  }
  async addAndPin(bytes: Uint8Array, opts: { signal?: AbortSignal } = {}): Promise<string> {
    const cid = CID.createV1(raw.code, await sha256.digest(bytes));
    // Helia skips the put of a block it has: a block file that is corrupt (a disk error, a copy cut
    // short) would stay so, and `pin` of a good copy would not mend it. Written over from these bytes
    const held = (await this.#blocks.has(cid)) ? await readBlock(this.#blocks, cid.toString(), opts, false) : null;
    if (held && !Buffer.from(held).equals(bytes)) await this.#blocks.put(cid, bytes, opts);
    else await this.#helia.blockstore.put(cid, bytes, opts);
    if (!(await this.#helia.pins.isPinned(cid, opts))) {
      for await (const _ of this.#helia.pins.add(cid, opts)) void _;
    }
    return cid.toString();
  }
  /** The block's bytes, null when the store lacks it; throws {@link CorruptBlockError} when they do not hash to `cid`. */
  get(cid: string, opts: GetOptions = {}): Promise<Uint8Array | null> {
    // no network here: `opts.network` changes nothing
    return readBlock(this.#helia.blockstore, cid, { signal: opts.signal }, true);
  }
  async isPinned(cid: string, opts: { signal?: AbortSignal } = {}): Promise<boolean> {
    return this.#helia.pins.isPinned(CID.parse(cid), opts);
  }
  async close(): Promise<void> {
    await this.#helia.stop();
  }
}

/**
 * Reads blocks of the embedded store's blockstore (`dir/blocks`) without starting Helia: for
 * `backup --content` beside a running node (block files are written whole, then renamed).
 */
export async function openBlockReader(
  dir: string,
): Promise<{ get(cid: string): Promise<Uint8Array | null>; close(): Promise<void> }> {
  const blocks = join(dir, "blocks");
  // read access is all this needs (FsBlockstore's own `open` asks for write access: not called)
  accessSync(blocks, fsConstants.R_OK | fsConstants.X_OK);
  const blockstore = new FsBlockstore(blocks, { createIfMissing: false });
  // not checked here: `backup --content` checks every block against its CID itself, and names a
  // corrupt one as missing (to be pinned again from a copy)
  return { get: (cid) => readBlock(blockstore, cid, {}, false), close: async () => {} };
}

async function readBlock(
  blockstore: {
    has(cid: CID, opts?: { signal?: AbortSignal }): unknown;
    get(cid: CID, opts?: { signal?: AbortSignal }): unknown;
  },
  cid: string,
  opts: { signal?: AbortSignal },
  /** whether bytes that are not the raw block `cid` names throw (the node stores raw sha2-256 blocks only) */
  verify: boolean,
): Promise<Uint8Array | null> {
  const c = CID.parse(cid);
  if (!(await (blockstore.has(c, opts) as Promise<boolean> | boolean))) return null;
  const out = blockstore.get(c, opts) as unknown;
  let bytes: Uint8Array;
  // Helia 7 blockstores may stream a block as chunks; join them
  if (out instanceof Uint8Array) bytes = out;
  else if (out && typeof (out as Promise<unknown>).then === "function") bytes = (await out) as Uint8Array;
  else {
    const parts: Uint8Array[] = [];
    for await (const chunk of out as AsyncIterable<Uint8Array>) parts.push(chunk);
    bytes = Buffer.concat(parts);
  }
  if (verify && c.code === raw.code && c.multihash.code === sha256.code && rawCid(bytes) !== c.toV1().toString())
    throw new CorruptBlockError(cid, "helia");
  return bytes;
}
