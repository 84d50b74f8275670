import { accessSync, constants as fsConstants, mkdirSync } from "node:fs";
import { join } from "node:path";
import { FsBlockstore } from "blockstore-fs";
import { FsDatastore } from "datastore-fs";
import { createHeliaLight, type Helia } from "helia";
import { CID } from "multiformats/cid";
import * as raw from "multiformats/codecs/raw";
import { sha256 } from "multiformats/hashes/sha2";
import type { ContentStore } from "./store.ts";

/**
 * Embedded IPFS: Helia without libp2p (createHeliaLight) on a filesystem blockstore and
 * datastore, so nothing dials out and blocks and pins survive restarts. A Kubo node or a
 * pinning service can serve the same CIDs to the world (ipfs/kubo.ts).
 */
export class HeliaStore implements ContentStore {
  readonly kind = "helia" as const;
  readonly #helia: Helia;
  private constructor(helia: Helia) {
    this.#helia = helia;
  }
  static async open(dir: string): Promise<HeliaStore> {
    mkdirSync(join(dir, "blocks"), { recursive: true });
    mkdirSync(join(dir, "data"), { recursive: true });
    const blockstore = new FsBlockstore(join(dir, "blocks"));
    const datastore = new FsDatastore(join(dir, "data"));
    const helia = createHeliaLight({ blockstore, datastore });
    await helia.start();
    return new HeliaStore(helia);
  }
  async addAndPin(bytes: Uint8Array, opts: { signal?: AbortSignal } = {}): Promise<string> {
    const cid = CID.createV1(raw.code, await sha256.digest(bytes));
    await this.#helia.blockstore.put(cid, bytes, opts);
    if (!(await this.#helia.pins.isPinned(cid, opts))) {
      for await (const _ of this.#helia.pins.add(cid, opts)) void _;
    }
    return cid.toString();
  }
  get(cid: string, opts: { signal?: AbortSignal } = {}): Promise<Uint8Array | null> {
    return readBlock(this.#helia.blockstore, cid, opts);
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
  return { get: (cid) => readBlock(blockstore, cid), close: async () => {} };
}

async function readBlock(
  blockstore: {
    has(cid: CID, opts?: { signal?: AbortSignal }): unknown;
    get(cid: CID, opts?: { signal?: AbortSignal }): unknown;
  },
  cid: string,
  opts: { signal?: AbortSignal } = {},
): Promise<Uint8Array | null> {
  const c = CID.parse(cid);
  if (!(await (blockstore.has(c, opts) as Promise<boolean> | boolean))) return null;
  const out = blockstore.get(c, opts) as unknown;
  // Helia 7 blockstores may stream a block as chunks; join them
  if (out instanceof Uint8Array) return out;
  if (out && typeof (out as Promise<unknown>).then === "function") return (await out) as Uint8Array;
  const parts: Uint8Array[] = [];
  for await (const chunk of out as AsyncIterable<Uint8Array>) parts.push(chunk);
  return Buffer.concat(parts);
}
