/**
 * Evidence bundles → readings. Each attestation names its bundle's CID; the indexer fetches the
 * bytes from the configured sources, checks that they hash to that CID (bundleCid) and are a valid
 * canonical bundle (decodeBundle), and stores one row per reading. A bundle that cannot be had is
 * marked "unavailable" and retried with backoff; it never holds up event indexing (the chain sync
 * runs apart, bundles.ts only reads the attestations it produced).
 */
import { bundleCid, decodeBundle, type BundleReading, type BundleSource } from "../../../../sdk/src/index.ts";
import type { Hex } from "@carbonproof/subgraph/client";
import { dayOf, stmt } from "./reducer.ts";
import { inTransaction, type Store } from "./store.ts";

export type BundleState = "pending" | "indexed" | "unavailable" | "invalid";

/**
 * The emissions source of a reading, for dashboards:
 *  - "flue-gas": CO2 measured at a stack (kind flue-gas);
 *  - "electricity-grid": metered grid electricity (kind electricity with energyWh > 0): Scope 2;
 *  - "electricity-onsite-renewable": a meter reading of on-site renewable generation only
 *    (energyWh = 0, renewableWh > 0): no grid emissions, reported apart (docs/methodology.md);
 *  - "fuel": fuel burned on site (kind fuel), fossil or biomass (the result splits the CO2);
 *  - "manual": energy entered by hand with an evidence file (kind manual), whatever it measures.
 * A reading kind added to the protocol later shows under its own kind name.
 */
export function readingSource(reading: BundleReading["envelope"]["reading"]): string {
  switch (reading.kind) {
    case "flue-gas":
      return "flue-gas";
    case "electricity":
      return reading.m.energyWh === 0 && (reading.m.renewableWh ?? 0) > 0
        ? "electricity-onsite-renewable"
        : "electricity-grid";
    case "fuel":
      return "fuel";
    case "manual":
      return "manual";
    default:
      return String((reading as { kind: string }).kind);
  }
}

export type BundleIndexerOptions = {
  /** tried in order for each CID; the first that gives bytes hashing to the CID wins */
  sources: BundleSource[];
  /** first retry delay; doubled per failed attempt up to maxBackoffMs */
  backoffMs?: number;
  maxBackoffMs?: number;
  /** bundles fetched per pass */
  batch?: number;
  now?: () => number;
  log?: (line: string, fields?: Record<string, unknown>) => void;
};

/** Fetches due bundles and stores their readings. One pass at a time (index.ts runs it after each sync). */
export class BundleIndexer {
  readonly #db: Store;
  readonly #o: Required<BundleIndexerOptions>;

  constructor(db: Store, options: BundleIndexerOptions) {
    this.#db = db;
    this.#o = {
      backoffMs: 2_000,
      maxBackoffMs: 10 * 60_000,
      batch: 8,
      now: Date.now,
      log: () => {},
      ...options,
    };
  }

  /** Bundles of known attestations whose turn has come; returns how many were indexed. */
  async runOnce(): Promise<number> {
    const due = stmt(
      this.#db,
      `SELECT b.attestation_id, b.cid, b.attempts FROM bundles b JOIN attestations a ON a.id = b.attestation_id
       WHERE b.state IN ('pending', 'unavailable', 'invalid') AND b.next_attempt_at <= ?
       ORDER BY b.next_attempt_at, a.submitted_block DESC LIMIT ?`,
    ).all(this.#o.now(), this.#o.batch) as { attestation_id: string; cid: string; attempts: bigint }[];
    let indexed = 0;
    for (const b of due) if (await this.#index(b.attestation_id as Hex, b.cid, Number(b.attempts))) indexed++;
    return indexed;
  }

  async #index(attestationId: Hex, cid: string, attempts: number): Promise<boolean> {
    const problems: string[] = [];
    let invalid = false;
    for (const source of this.#o.sources) {
      let bytes: Uint8Array;
      try {
        bytes = await source.get(cid);
      } catch (cause) {
        problems.push(`${source.describe}: ${(cause as Error).message}`);
        continue;
      }
      if (bundleCid(bytes) !== cid) {
        invalid = true;
        problems.push(`${source.describe}: the bytes do not hash to ${cid}`);
        continue;
      }
      try {
        const bundle = decodeBundle(bytes);
        const count = this.#store(attestationId, bundle.readings);
        this.#setState(attestationId, "indexed", attempts + 1, 0, null, source.describe, count);
        this.#o.log("indexer: evidence bundle indexed", { attestation: attestationId, cid, readings: count });
        return true;
      } catch (cause) {
        invalid = true;
        problems.push(`${source.describe}: ${(cause as Error).message}`);
      }
    }
    const delay = Math.min(this.#o.maxBackoffMs, this.#o.backoffMs * 2 ** Math.min(attempts, 20));
    const error = problems.length ? problems.join("; ") : "no bundle source configured";
    this.#setState(
      attestationId,
      invalid ? "invalid" : "unavailable",
      attempts + 1,
      this.#o.now() + delay,
      error,
      null,
      null,
    );
    if (attempts === 0)
      this.#o.log("indexer: evidence bundle unavailable, retrying with backoff", {
        attestation: attestationId,
        cid,
        error,
      });
    return false;
  }

  #store(attestationId: Hex, readings: readonly BundleReading[]): number {
    const att = stmt(this.#db, "SELECT facility FROM attestations WHERE id = ?").get(attestationId) as
      { facility: string } | undefined;
    if (!att) throw new Error(`attestation ${attestationId} is not indexed (reorged away?)`);
    return inTransaction(this.#db, () => {
      stmt(this.#db, "DELETE FROM readings WHERE attestation_id = ?").run(attestationId);
      const insert = stmt(
        this.#db,
        `INSERT INTO readings (attestation_id, leaf_index, digest, facility, device_id, seq, ts, day, kind, source, fossil_mg,
           biogenic_mg) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      );
      readings.forEach((r, leafIndex) => {
        const reading = r.envelope.reading;
        insert.run(
          attestationId,
          leafIndex,
          r.digest.toLowerCase(),
          att.facility,
          reading.deviceId,
          reading.seq,
          reading.ts,
          dayOf(reading.ts),
          reading.kind,
          readingSource(reading),
          BigInt(r.result.fossilCo2eMg),
          BigInt(r.result.biogenicCo2Mg),
        );
      });
      return readings.length;
    });
  }

  #setState(
    attestationId: Hex,
    state: BundleState,
    attempts: number,
    nextAttemptAt: number,
    error: string | null,
    source: string | null,
    readingCount: number | null,
  ): void {
    stmt(
      this.#db,
      `UPDATE bundles SET state = ?, attempts = ?, next_attempt_at = ?, error = ?, source = ?, reading_count = ?,
         updated_at = ? WHERE attestation_id = ?`,
    ).run(state, attempts, nextAttemptAt, error, source, readingCount, this.#o.now(), attestationId);
  }
}
