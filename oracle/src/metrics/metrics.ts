import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

/** Every metric the node exports on /metrics, created once per node (tests run several nodes in one process). */
export type Metrics = ReturnType<typeof createMetrics>;

export function createMetrics(opts: { defaultMetrics?: boolean } = {}) {
  const registry = new Registry();
  if (opts.defaultMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: "carbonproof_oracle_" });
  const r = [registry];
  return {
    registry,
    readingsAccepted: new Counter({
      name: "carbonproof_oracle_readings_accepted_total",
      help: "Readings stored durably, by ingest source",
      labelNames: ["source"],
      registers: r,
    }),
    readingsRejected: new Counter({
      name: "carbonproof_oracle_readings_rejected_total",
      help: "Readings rejected into the dead-letter table, by reason",
      labelNames: ["reason"],
      registers: r,
    }),
    readingsSetAside: new Counter({
      name: "carbonproof_oracle_readings_set_aside_total",
      help: "Readings stored, then taken out of their batch before it was pinned (batch/pipeline.ts): their device's suspension or key rotation was read after they were accepted (#screen), or a correction's original has another methodology (#sameMethodology), by reason",
      labelNames: ["reason"],
      registers: r,
    }),
    registrationWaits: new Counter({
      name: "carbonproof_oracle_registration_waits_total",
      help: "Readings of a device the directory did not know, held for its next read of the DeviceRegistry (ingest/ingestor.ts), by outcome: registered (found then, taken on), unknown (still not registered), unread (the read did not come in time), full (not held: MAX_WAITING_FOR_REGISTRATION were waiting)",
      labelNames: ["outcome"],
      registers: r,
    }),
    readingsFlagged: new Counter({
      name: "carbonproof_oracle_readings_flagged_total",
      help: "Readings accepted but flagged by the anomaly score",
      registers: r,
    }),
    commitSeconds: new Histogram({
      name: "carbonproof_oracle_ingest_commit_seconds",
      help: "Duration of one group-commit transaction",
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers: r,
    }),
    commitFailures: new Counter({
      name: "carbonproof_oracle_ingest_commit_failures_total",
      help: "Group commits that failed (a full disk, an I/O error): their readings were not acknowledged",
      registers: r,
    }),
    backlog: new Gauge({
      name: "carbonproof_oracle_backlog_readings",
      help: "Stored readings not yet in a confirmed attestation",
      registers: r,
    }),
    ingestQueue: new Gauge({
      name: "carbonproof_oracle_ingest_queue",
      help: "Validated readings waiting for their group commit",
      registers: r,
    }),
    batches: new Gauge({
      name: "carbonproof_oracle_batches",
      help: "Batches by state",
      labelNames: ["state"],
      registers: r,
    }),
    holding: new Gauge({
      name: "carbonproof_oracle_batches_holding",
      help: "Failed regular batches with readings that hold back their facility's later batches until `retry` or `abandon`",
      registers: r,
    }),
    awaitingAdoption: new Gauge({
      name: "carbonproof_oracle_batches_awaiting_adoption",
      help: "Batches `retry` put back to be taken as the record of an attestation of their period (counted as `signed` in carbonproof_oracle_batches: never signed again nor sent)",
      registers: r,
    }),
    ipfsSeconds: new Histogram({
      name: "carbonproof_oracle_ipfs_seconds",
      help: "IPFS put+pin latency",
      buckets: [0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30],
      registers: r,
    }),
    ipfsFailures: new Counter({
      name: "carbonproof_oracle_ipfs_failures_total",
      help: "Failed batch steps whose failure came from the IPFS store",
      registers: r,
    }),
    chainSeconds: new Histogram({
      name: "carbonproof_oracle_chain_seconds",
      help: "Latency from submission to the configured number of confirmations",
      buckets: [0.1, 0.5, 1, 2, 5, 10, 30, 60, 300],
      registers: r,
    }),
    chainFailures: new Counter({
      name: "carbonproof_oracle_chain_failures_total",
      help: "Failed batch steps other than IPFS calls (RPC errors, reverts, the DeviceRegistry unread, too few co-signatures)",
      registers: r,
    }),
    correctionsRecorded: new Counter({
      name: "carbonproof_oracle_corrections_recorded_total",
      help: "Correction batches of this node it recorded on CarbonCredits (recordCorrection mined)",
      registers: r,
    }),
    shortfallsRecorded: new Counter({
      name: "carbonproof_oracle_shortfalls_recorded_total",
      help: "Periods above their project's baseline this node recorded on CarbonCredits (recordShortfall mined)",
      registers: r,
    }),
    shortfallsRecheck: new Gauge({
      name: "carbonproof_oracle_shortfalls_recheck",
      help: "Confirmed batches the shortfall recorder asks again at each pass (a challenge pending, a reason that may change)",
      registers: r,
    }),
    shortfallsBehind: new Gauge({
      name: "carbonproof_oracle_shortfalls_behind",
      help: "1 while the shortfall recorder's last pass left batches due unasked (catching up, paused, or failing), else 0",
      registers: r,
    }),
  };
}
