import type { BatchHeader, Hex } from "../../../sdk/src/index.ts";
import type { DeviceInfo } from "../devices/directory.ts";
import type { CosignRequest, PostedReviewer } from "../quorum/cosign.ts";
import type { Batch, Storage } from "../storage/types.ts";
import { WorkerRpc } from "../threads/rpc.ts";
import type { StorageSpec } from "../storage/open.ts";
import { buildSealedBundle, postedInputs, type BuiltBundle, type BundleInputs } from "./bundle.ts";

/** Builds the evidence bundle of a sealed batch (null: the batch has no readings). */
export interface BundleBuilder {
  build(batch: Batch, correctionOf?: Hex): Promise<BuiltBundle | null>;
  close(): Promise<void>;
}

/** On the caller's thread, from `Storage.bundleReadingsOfBatch` (`:memory:` databases, tests). */
export class InlineBundleBuilder implements BundleBuilder {
  readonly #storage: Storage;
  readonly #inputs: BundleInputs;
  constructor(storage: Storage, inputs: BundleInputs) {
    this.#storage = storage;
    this.#inputs = inputs;
  }
  async build(batch: Batch, correctionOf?: Hex): Promise<BuiltBundle | null> {
    const readings = this.#storage.bundleReadingsOfBatch(batch.id);
    return buildSealedBundle(batch, readings, postedInputs(this.#inputs, batch.facilityId), correctionOf);
  }
  async close(): Promise<void> {}
}

/**
 * On a thread of its own with its own connection to the database (SQLite or PostgreSQL). Reading a batch's
 * rows, re-canonicalising and re-hashing every reading, the Merkle tree and the bundle's
 * canonical JSON took ~20 % of the main thread at saturation, in bursts at each window's end
 * that held up the MQTT broker and its acknowledgements. A worker that dies fails the builds
 * it had (the pipeline retries them) and is started again on the next build. The same thread
 * checkpoints the database's write-ahead log in the background.
 */
export class WorkerBundleBuilder implements BundleBuilder {
  readonly #spec: StorageSpec;
  readonly #inputs: BundleInputs;
  #rpc: WorkerRpc | null;

  constructor(spec: StorageSpec, inputs: BundleInputs) {
    this.#spec = spec;
    this.#inputs = inputs;
    // started now, not at the first build: the worker also checkpoints the WAL (bundle-worker.ts)
    this.#rpc = this.#start();
  }

  #start(): WorkerRpc {
    return new WorkerRpc(
      new URL("./bundle-worker.ts", import.meta.url),
      {
        workerData: { spec: this.#spec },
        // a bundle is at most a few MiB and its readings a few times that; the limit keeps V8 from
        // keeping hundreds of MiB of garbage between full collections (resident memory, issue 6)
        resourceLimits: { maxOldGenerationSizeMb: 256 },
      },
      "bundle worker",
    );
  }

  #closed = false;

  #worker(): WorkerRpc {
    if (this.#closed) throw new Error("the bundle worker is closed (the node is shutting down)");
    // a worker that died failed its calls (the pipeline retries its builds); the next call starts another
    if (!this.#rpc || this.#rpc.failed) this.#rpc = this.#start();
    return this.#rpc;
  }

  build(batch: Batch, correctionOf?: Hex): Promise<BuiltBundle | null> {
    return this.#worker().call<BuiltBundle | null>({
      batch,
      inputs: postedInputs(this.#inputs, batch.facilityId),
      correctionOf,
    });
  }

  /**
   * `reviewCosign` (quorum/cosign.ts) on the bundle worker: decoding and re-checking a window's
   * bundle (every digest, result, the root and each device signature) took seconds of the main
   * thread for tens of thousands of readings, holding up its MQTT acknowledgements and API
   * meanwhile. `devices`: the records of the devices the bundle names, from the node's directory.
   */
  reviewCosign(
    req: CosignRequest,
    reviewer: PostedReviewer,
    devices: DeviceInfo[],
  ): Promise<{ ok: true; header: BatchHeader } | { ok: false; why: string }> {
    return Promise.resolve().then(() => this.#worker().call({ cosign: req, reviewer, devices }));
  }

  async close(): Promise<void> {
    this.#closed = true;
    const rpc = this.#rpc;
    this.#rpc = null;
    await rpc?.close();
  }
}
