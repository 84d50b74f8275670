import type { Logger } from "pino";
import { canonicalBytes, sha256Bytes, verifyDigest } from "../../../sdk/src/index.ts";
import type { Common } from "../common.ts";
import { keysValidAt, type DeviceDirectory, type DeviceInfo } from "../devices/directory.ts";
import { principalMaySubmit, type Principal } from "./ingestor.ts";
import type { NewHeartbeat, Storage } from "../storage/types.ts";
import { printable } from "../text.ts";

/**
 * Deletes heartbeats older than `heartbeats.retentionDays`, at start and then every `everyMs`
 * (an hour), in steps of `step` rows so that the writer's reading commits are not held up by one
 * long delete. `stop` ends it once a run in progress has ended; `settled` waits for the current run.
 */
export function startHeartbeatRetention(opts: {
  common: Common;
  prune(beforeMs: number, limit: number): number | Promise<number>;
  everyMs?: number;
  step?: number;
}): { stop(): Promise<void>; settled(): Promise<void> } {
  const { common } = opts;
  const log = common.logger.child({ part: "heartbeat" });
  const step = opts.step ?? 2000;
  const retentionMs = common.config.heartbeats.retentionDays * 86_400_000;
  let stopped = false;
  let running: Promise<void> = Promise.resolve();
  const run = async () => {
    const beforeMs = common.clock.nowMs() - retentionMs;
    let deleted = 0;
    for (;;) {
      if (stopped) break;
      const n = await opts.prune(beforeMs, step);
      deleted += n;
      if (n < step) break;
    }
    if (deleted > 0) log.info({ deleted, beforeMs }, "heartbeats past their retention deleted");
  };
  const tick = () => {
    running = run().catch((err: unknown) => log.warn({ err }, "heartbeat retention failed; retried next hour"));
  };
  tick();
  const timer = setInterval(tick, opts.everyMs ?? 3_600_000);
  timer.unref();
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
    settled: () => running,
  };
}

/** `carbonproof/v1/<facilityId>/<deviceId>/heartbeat` (docs/protocol.md, "Device heartbeat"). */
export const HEARTBEAT_TOPIC_FILTER = "carbonproof/v1/+/+/heartbeat";

const int = (v: unknown): number | null => (typeof v === "number" && Number.isSafeInteger(v) ? v : null);

/**
 * Records device heartbeats durably for the device-health view (`GET /v1/devices/health`).
 * Heartbeats are health data, never attested and never dead-lettered (docs/protocol.md). Each is
 * stored with whether its P-256 signature verifies under a key of the device valid at its `ts`:
 * only verified heartbeats count as "the device was alive", so a forged one cannot hide an outage.
 * A payload that is not a heartbeat object is logged and ignored.
 */
export class HeartbeatRecorder {
  readonly #common: Common;
  readonly #writes: Pick<Storage, "addHeartbeat"> | { addHeartbeat(h: NewHeartbeat): Promise<void> };
  readonly #devices: DeviceDirectory;
  readonly #log: Logger;

  /** `writes`: where heartbeats are stored (the ingest writer thread in a node; default `storage`). */
  constructor(deps: {
    common: Common;
    storage: Storage;
    devices: DeviceDirectory;
    writes?: { addHeartbeat(h: NewHeartbeat): Promise<void> } | null;
  }) {
    this.#common = deps.common;
    this.#writes = deps.writes ?? deps.storage;
    this.#devices = deps.devices;
    this.#log = deps.common.logger.child({ part: "heartbeat" });
  }

  async record(
    topic: { facilityId: string; deviceId: string },
    payload: Uint8Array,
    principal?: Principal,
  ): Promise<void> {
    const receivedAtMs = this.#common.clock.nowMs();
    // the connection's key must be one that may publish for the device, as for its readings
    if (!principalMaySubmit(principal, topic)) {
      this.#log.debug(
        { device: topic.deviceId, scope: principal?.scope },
        "heartbeat on a topic this connection's key may not publish to; ignored",
      );
      return;
    }
    let hb: Record<string, unknown>;
    let sig: unknown;
    try {
      const parsed = JSON.parse(Buffer.from(payload).toString("utf8")) as { heartbeat?: unknown; sig?: unknown };
      if (
        !parsed ||
        typeof parsed.heartbeat !== "object" ||
        parsed.heartbeat === null ||
        Array.isArray(parsed.heartbeat)
      )
        throw new Error("expected { heartbeat: {…}, sig }");
      hb = parsed.heartbeat as Record<string, unknown>;
      sig = parsed.sig;
    } catch (err) {
      this.#log.debug({ device: topic.deviceId, err }, "heartbeat payload is not a heartbeat; ignored");
      return;
    }
    // a device this node does not know (or of another facility) leaves no row: made-up device ids
    // would otherwise fill the device-health view
    const device = await this.#devices.get(topic.deviceId);
    if (!device || device.facilityId !== topic.facilityId) {
      this.#log.debug(
        { device: topic.deviceId, facility: topic.facilityId },
        "heartbeat of a device this node does not know in that facility; ignored",
      );
      return;
    }
    const verified = this.#verify(device, topic, hb, sig);
    const row: NewHeartbeat = {
      deviceId: topic.deviceId,
      facilityId: topic.facilityId,
      receivedAtMs,
      ts: int(hb.ts),
      lastSeq: int(hb.lastSeq),
      bufferDepth: int(hb.bufferDepth),
      dropped: int(hb.dropped),
      held: int(hb.held),
      heldDropped: int(hb.heldDropped),
      rssiDbm: int(hb.rssiDbm),
      uptimeS: int(hb.uptimeS),
      fw: typeof hb.fw === "string" ? printable(hb.fw.slice(0, 64)) : null,
      faults: Array.isArray(hb.faults)
        ? hb.faults
            .filter((f) => typeof f === "string")
            .slice(0, 32)
            .map((f: string) => printable(f.slice(0, 64)))
        : [],
      verified,
    };
    await this.#writes.addHeartbeat(row);
    const fields = {
      facility: topic.facilityId,
      device: topic.deviceId,
      verified,
      lastSeq: row.lastSeq,
      dropped: row.dropped,
      held: row.held,
      heldDropped: row.heldDropped,
    };
    if (row.dropped !== null && row.dropped > 0)
      this.#log.warn(fields, "device heartbeat reports readings dropped by its full buffer");
    else if (row.heldDropped !== null && row.heldDropped > 0)
      this.#log.warn(fields, "device heartbeat reports measurements dropped while its clock was not set");
    else this.#log.debug(fields, "device heartbeat");
  }

  #verify(
    device: DeviceInfo,
    topic: { facilityId: string; deviceId: string },
    hb: Record<string, unknown>,
    sig: unknown,
  ): boolean {
    if (typeof sig !== "string" || hb.deviceId !== topic.deviceId || hb.facilityId !== topic.facilityId) return false;
    const ts = int(hb.ts);
    if (ts === null) return false;
    let digest: Uint8Array;
    try {
      digest = sha256Bytes(canonicalBytes(hb));
    } catch (err) {
      // not canonicalisable (floats, …): cannot have been signed under the protocol
      this.#log.debug({ device: topic.deviceId, err }, "heartbeat is not canonical JSON");
      return false;
    }
    return keysValidAt(device, ts).some((k) => verifyDigest(digest, sig, k.publicKey));
  }
}
