import { accessSync, constants as fsConstants, mkdirSync } from "node:fs";
import { open } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { FsBlockstore } from "blockstore-fs";
import { NextToLast } from "blockstore-fs/sharding";
import { FsDatastore } from "datastore-fs";
import { createHeliaLight, type Helia } from "helia";
import { CID } from "multiformats/cid";
import * as raw from "multiformats/codecs/raw";
import { sha256 } from "multiformats/hashes/sha2";
import { CorruptBlockError, rawCid, type ContentStore, type GetOptions } from "./store.ts";

export { CorruptBlockError };

/** fsync(2) of a file or directory by its path (what `HeliaStore.open`'s `fsync` stands for). */
export type Fsync = (path: string) => void | Promise<void>;

/** fsync(2) of a file or directory (opened read-only: Linux syncs a directory so), on libuv's threads, not the event loop's. */
async function fsyncOffLoop(path: string): Promise<void> {
  const handle = await open(path, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Embedded IPFS: Helia without libp2p (createHeliaLight) on a filesystem blockstore and
 * datastore, so nothing dials out and blocks and pins survive restarts. A Kubo node or a
 * pinning service can serve the same CIDs to the world (ipfs/kubo.ts).
 *
 * Blocks and pin records are on disk (file and directory synced) before `addAndPin` resolves:
 * the node then answers an evidence upload 201 (its uploader may delete the file) and sends a
 * bundle's CID on-chain. blockstore-fs and datastore-fs write a temporary file and rename it,
 * never syncing, so a power cut within the kernel's writeback window lost such a block.
 */
export class HeliaStore implements ContentStore {
  readonly kind = "helia" as const;
  readonly searchesNetwork = false;
  readonly #helia: Helia;
  /** the block files under Helia: written to directly only to repair a corrupt one */
  readonly #blocks: DurableBlockstore;
  /** `addAndPin`s in flight, by CID: a second one of the same bytes waits for the first (see there) */
  readonly #adding = new Map<string, Promise<void>>();
  private constructor(helia: Helia, blocks: DurableBlockstore) {
    this.#helia = helia;
    this.#blocks = blocks;
  }
  /** `fsync`: how a path is synced (tests record the paths; the default is fsync(2)). */
  static async open(dir: string, opts: { fsync?: Fsync } = {}): Promise<HeliaStore> {
    const fsync = opts.fsync ?? fsyncOffLoop;
    dir = resolve(dir);
    for (const sub of ["blocks", "data"]) {
      // a store made now: each directory made, on disk in its parent (the first block's sync covers only its own)
      const made = mkdirSync(join(dir, sub), { recursive: true });
      if (made !== undefined)
        for (let d = join(dir, sub); ; d = dirname(d)) {
          await fsync(dirname(d));
          if (d === made || dirname(d) === d) break;
        }
    }
    const blockstore = new DurableBlockstore(join(dir, "blocks"), fsync);
    const datastore = new DurableDatastore(join(dir, "data"), fsync);
    const helia = createHeliaLight({ blockstore, datastore });
    await helia.start();
    return new HeliaStore(helia, blockstore);
  }
  /** Resolves once the block and its pin are on disk (synced). */
  async addAndPin(bytes: Uint8Array, opts: { signal?: AbortSignal } = {}): Promise<string> {
    const cid = CID.createV1(raw.code, await sha256.digest(bytes));
    const key = cid.toString();
    // one at a time per CID: a second call while the first writes would find the block file (or the
    // pin record) already renamed into place, but not yet synced, and resolve before it is on disk
    // (two Helia writes of one file would also share its temporary name)
    const mine = (this.#adding.get(key) ?? Promise.resolve())
      .catch(() => {})
      .then(() => this.#addAndPin(cid, bytes, opts));
    this.#adding.set(key, mine);
    try {
      await mine;
    } finally {
      if (this.#adding.get(key) === mine) this.#adding.delete(key);
    }
    return key;
  }
  async #addAndPin(cid: CID, bytes: Uint8Array, opts: { signal?: AbortSignal }): Promise<void> {
    // Helia skips the put of a block it has: a block file that is corrupt (a disk error, a copy cut
    // short) would stay so, and `pin` of a good copy would not mend it. Written over from these bytes
    const held = (await this.#blocks.has(cid)) ? await readBlock(this.#blocks, cid.toString(), opts, false) : null;
    if (held && !Buffer.from(held).equals(bytes)) await this.#blocks.put(cid, bytes, opts);
    // held and intact: synced all the same (cheap when it is on disk already), for a block an
    // earlier call wrote but failed to sync, or one put there by other means
    else if (held) await this.#blocks.sync(cid);
    else await this.#helia.blockstore.put(cid, bytes, opts);
    if (!(await this.#helia.pins.isPinned(cid, opts))) {
      for await (const _ of this.#helia.pins.add(cid, opts)) void _;
    }
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
 * blockstore-fs's store, whose `put` resolves once the block file, its shard directory and (the
 * first time this process writes to that shard) the shard's entry in the blocks directory are synced.
 */
class DurableBlockstore extends FsBlockstore {
  /** FsBlockstore's default sharding (a block's path is computed here as it writes it), passed to it */
  readonly #sharding: NextToLast;
  readonly #fsync: Fsync;
  /** shard directories whose entry in the blocks directory this process has synced */
  readonly #durableShards = new Set<string>();
  constructor(location: string, fsync: Fsync) {
    const sharding = new NextToLast();
    super(location, { shardingStrategy: sharding });
    this.#sharding = sharding;
    this.#fsync = fsync;
  }
  override async put(...args: Parameters<FsBlockstore["put"]>): Promise<CID> {
    const key = await super.put(...args);
    await this.sync(args[0]);
    return key;
  }
  /** Syncs the block file of `cid`, its shard directory, and the shard's entry in the blocks directory. */
  async sync(cid: CID): Promise<void> {
    const { dir, file } = this.#sharding.encode(cid);
    const shard = join(this.path, dir);
    await this.#fsync(join(shard, file));
    await this.#fsync(shard);
    // the shard directory may have been made by this put (1,024 of them: synced once each per process)
    if (!this.#durableShards.has(shard)) {
      await this.#fsync(this.path);
      this.#durableShards.add(shard);
    }
  }
}

/**
 * datastore-fs's store (Helia's pins), whose `put` resolves once the record's file and directory
 * are synced, and (the first time this process writes there) the directories above it up to the store's.
 */
class DurableDatastore extends FsDatastore {
  readonly #fsync: Fsync;
  /** directories under the store whose entry in their parent this process has synced */
  readonly #durableDirs = new Set<string>();
  constructor(location: string, fsync: Fsync) {
    super(location);
    this.#fsync = fsync;
  }
  override async put(...args: Parameters<FsDatastore["put"]>): ReturnType<FsDatastore["put"]> {
    const key = await super.put(...args);
    const { dir, file } = this._encode(args[0]);
    await this.#fsync(file);
    await this.#fsync(dir);
    // directories the put may have made (Helia's are one deep: pin/, pinned-block/)
    const made: string[] = [];
    for (let d = dir; d !== this.path && d.startsWith(this.path) && !this.#durableDirs.has(d); d = dirname(d)) {
      await this.#fsync(dirname(d));
      made.push(d);
    }
    // marked only once all are synced: a put that finds one marked returns after its parents are on disk
    for (const d of made) this.#durableDirs.add(d);
    return key;
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
