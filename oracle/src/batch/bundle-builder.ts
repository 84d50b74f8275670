import { Worker } from "node:worker_threads";
import type { Hex } from "../../../sdk/src/index.ts";
import type { Batch, Storage } from "../storage/types.ts";
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

type Pending = { resolve: (b: BuiltBundle | null) => void; reject: (e: unknown) => void };

/**
 * On a thread of its own with its own connection to the SQLite database. Reading a batch's
 * rows, re-canonicalising and re-hashing every reading, the Merkle tree and the bundle's
 * canonical JSON took ~20 % of the main thread at saturation, in bursts at each window's end
 * that held up the MQTT broker and its acknowledgements. A worker that dies fails the builds
 * it had (the pipeline retries them) and is started again on the next build. The same thread
 * checkpoints the database's write-ahead log in the background.
 */
export class WorkerBundleBuilder implements BundleBuilder {
  readonly #path: string;
  readonly #inputs: BundleInputs;
  readonly #pending = new Map<number, Pending>();
  #worker: Worker | null = null;
  #next = 0;

  constructor(path: string, inputs: BundleInputs) {
    this.#path = path;
    this.#inputs = inputs;
    // started now, not at the first build: the worker also checkpoints the WAL (bundle-worker.ts)
    this.#worker = this.#start();
  }

  #start(): Worker {
    const w = new Worker(new URL("./bundle-worker.ts", import.meta.url), {
      workerData: { path: this.#path },
      // a bundle is at most a few MiB and its readings a few times that; the limit keeps V8 from
      // keeping hundreds of MiB of garbage between full collections (resident memory, issue 6)
      resourceLimits: { maxOldGenerationSizeMb: 256 },
    });
    w.on("message", (m: { id: number; built?: BuiltBundle | null; error?: string; stack?: string }) => {
      const p = this.#pending.get(m.id);
      this.#pending.delete(m.id);
      if (!p) return;
      if (m.error === undefined) p.resolve(m.built ?? null);
      else p.reject(Object.assign(new Error(m.error), { stack: m.stack }));
    });
    const fail = (err: Error) => {
      if (this.#worker === w) this.#worker = null;
      for (const [id, p] of this.#pending) {
        this.#pending.delete(id);
        p.reject(err);
      }
    };
    w.on("error", fail);
    w.once("exit", (code) => fail(new Error(`bundle worker exited (code ${code})`)));
    return w;
  }

  build(batch: Batch, correctionOf?: Hex): Promise<BuiltBundle | null> {
    const w = (this.#worker ??= this.#start());
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      w.postMessage({ id, batch, inputs: postedInputs(this.#inputs, batch.facilityId), correctionOf });
    });
  }

  async close(): Promise<void> {
    const w = this.#worker;
    this.#worker = null;
    if (!w) return;
    const exited = new Promise<void>((resolve) => w.once("exit", () => resolve()));
    w.postMessage({ close: true });
    await exited;
  }
}
