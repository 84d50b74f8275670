import { BundleAssembler, type Hex } from "../../../sdk/src/index.ts";
import type { SqlStorage } from "../storage/sql-storage.ts";
import type { Batch } from "../storage/types.ts";
import { finishSealedBundle, readingFlags, type BuiltBundle, type PostedBundleInputs } from "./bundle.ts";

/** An open batch's bundle being assembled, and the inputs it is assembled with. */
type Entry = { assembler: BundleAssembler; inputsKey: string };

/** The most readings held for open batches at once; past it they are dropped and built when sealed. */
export const MAX_WINDOW_READINGS = 100_000;

/**
 * Open windows' bundles assembled as their readings are stored, on the bundle worker
 * (batch/bundle-worker.ts). Every bundle was built from its batch's rows when the batch was
 * sealed: every facility's window at once, in a burst that held up the ingest threads on two
 * cores (docs/oracle.md). `poll` reads the rows committed since it last ran and adds each
 * to its open batch's `BundleAssembler` (parse, canonical check, SHA-256, emissions, the entry's
 * bytes), so that `take`, when the batch is sealed, reads only the rows stored since, orders the
 * entries and writes the bundle.
 *
 * Only an optimisation, never a second source of truth: `take` answers undefined (build from
 * the batch's rows, as without it) unless the assembler holds exactly as many readings as the
 * database has for the batch, read in the same snapshot as the last rows, and was given the
 * inputs (factor set, facility context, methodology) the build asks for. Rows are read in rowid
 * order, and a batch created after the cursor was first read has all its rows after it.
 * Correction batches are always built from their rows (rare, and their `correctionOf` is known
 * only when they are sealed); so is a facility's window until a build has told this the inputs
 * of that facility.
 */
export class WindowBundles {
  readonly #storage: SqlStorage;
  readonly #max: number;
  /** the last rowid read */
  #cursor: number;
  /** batches from this id on have every reading after the cursor as it was first read */
  #firstBatch: number;
  /** open batches' assemblers; null: a batch left to be built from its rows */
  readonly #entries = new Map<number, Entry | null>();
  /** per facility, the inputs of its last build, and their JSON to compare */
  readonly #inputs = new Map<string, { inputs: PostedBundleInputs; key: string }>();
  #held = 0;

  constructor(storage: SqlStorage, opts: { maxReadings?: number } = {}) {
    this.#storage = storage;
    this.#max = opts.maxReadings ?? MAX_WINDOW_READINGS;
    const c = storage.readingCursor();
    this.#cursor = c.rowid;
    this.#firstBatch = c.batchId + 1;
  }

  /** Readings held in assemblers. */
  get held(): number {
    return this.#held;
  }

  /** Adds the readings stored since the last call (at most `limit`) to their batches; returns how many were read. */
  poll(limit = 20_000): number {
    const rows = this.#storage.bundleReadingsAfter(this.#cursor, limit);
    for (const row of rows) {
      this.#cursor = row.rowid;
      if (row.batchId < this.#firstBatch) continue;
      let e = this.#entries.get(row.batchId);
      if (e === undefined) {
        e = this.#open(row.batchId);
        this.#entries.set(row.batchId, e);
      }
      if (e === null) continue;
      try {
        e.assembler.add(row, readingFlags(row));
      } catch {
        // not a reading's canonical text: the build from the rows says so, with the same error
        this.#drop(row.batchId, e);
        continue;
      }
      if (++this.#held > this.#max) this.#overflow();
    }
    return rows.length;
  }

  /**
   * The bundle of a sealed batch from its assembler, with the rows stored since the last poll;
   * undefined when it has none or it cannot be trusted to hold every reading (build from the rows).
   */
  take(batch: Batch, inputs: PostedBundleInputs, correctionOf?: Hex): BuiltBundle | null | undefined {
    const key = JSON.stringify(inputs);
    this.#inputs.set(batch.facilityId, { inputs, key });
    const e = this.#entries.get(batch.id);
    // a batch is taken once; rows for it after that (there are none: it is sealed) start no entry
    this.#entries.set(batch.id, null);
    if (!e) return undefined;
    this.#held -= e.assembler.size;
    if (correctionOf !== undefined || e.inputsKey !== key) return undefined;
    const { rows, count } = this.#storage.bundleReadingsOfBatchAfter(batch.id, this.#cursor);
    try {
      for (const row of rows) e.assembler.add(row, readingFlags(row));
      if (e.assembler.size !== count) return undefined;
      return finishSealedBundle(batch, e.assembler);
    } catch {
      // a fault in the batch: the build from the rows reports it as it always has
      return undefined;
    }
  }

  /**
   * Forgets batches that are no longer open or sealed (taken, failed, or built from their rows
   * by another path): their assemblers would never be taken.
   */
  sweep(): void {
    for (const [id, e] of this.#entries) {
      const b = this.#storage.getBatch(id);
      if (b && (b.state === "open" || (b.state === "sealed" && e !== null))) continue;
      if (e) this.#held -= e.assembler.size;
      this.#entries.delete(id);
    }
  }

  #open(batchId: number): Entry | null {
    const b = this.#storage.getBatch(batchId);
    if (!b || b.state !== "open" || b.correctionOfBatch !== null) return null;
    const known = this.#inputs.get(b.facilityId);
    if (!known) return null;
    const { factorSet, facilityContext, methodologyId } = known.inputs;
    return {
      assembler: new BundleAssembler({
        facilityId: b.facilityId,
        periodStart: b.periodStart,
        periodEnd: b.periodEnd,
        factorSet,
        facilityContext,
        methodologyId,
      }),
      inputsKey: known.key,
    };
  }

  #drop(batchId: number, e: Entry): void {
    this.#held -= e.assembler.size;
    this.#entries.set(batchId, null);
  }

  /** Too many readings held: every open batch is left to be built from its rows. */
  #overflow(): void {
    for (const [id, e] of this.#entries) if (e) this.#entries.set(id, null);
    this.#held = 0;
  }
}
