import { readFileSync, writeFileSync } from "node:fs";
import { z } from "zod";
import { hexToBytes, publicKeyFromXY, publicKeyToXY, type DeviceStatusHistory } from "../../../sdk/src/index.ts";

/** A device key and the period it is valid for (unix seconds; `validUntil` exclusive, null = open). */
export type DeviceKey = { publicKey: Uint8Array; validFrom: number; validUntil: number | null; keyId?: string };

/**
 * The device-status rule is the sdk's (one definition for the oracle and the auditor's verifier):
 * `inactiveAt(device, ts)` says why a reading stamped `ts` may not be counted (the device not
 * active since its status changed, or the reading stamped inside one of its past suspensions), or
 * null; an active device without past suspensions costs two comparisons, no allocation.
 */
export { inactiveAt, type DeviceStatus, type Suspension } from "../../../sdk/src/index.ts";

/**
 * A device's status history (the sdk's `DeviceStatusHistory`: `status`, `statusChangedAt` — when it
 * last changed, unix s; absent when unknown, e.g. a device file that does not give it — and
 * `suspensions`, its earlier suspensions lifted since, oldest first), its facility and its keys.
 * A device that is not active stopped being trusted when its status changed: readings stamped from
 * then on, or inside one of its past suspensions, are not taken (ingest, co-signing).
 */
export type DeviceInfo = DeviceStatusHistory & {
  facilityId: string;
  keys: DeviceKey[];
};

/**
 * Where the validator looks devices up. The chain-backed one reads the DeviceRegistry
 * contract (devices/chain.ts); the file/memory one serves tests and air-gapped demos.
 */
export interface DeviceDirectory {
  get(deviceId: string): Promise<DeviceInfo | null>;
  /**
   * The answer `get` would give, when it is at hand without waiting (cached, and looked up
   * already); undefined otherwise. Lets the MQTT hot path skip a promise per message.
   */
  peek?(deviceId: string): DeviceInfo | null | undefined;
  /** Drops any cached entry (called on DeviceRegistry events). */
  invalidate(deviceId?: string): void;
  /**
   * For a directory that follows changes made elsewhere (the DeviceRegistry's events): resolves
   * true once it has read every change made before `afterMs` (wall clock), asking at once if need
   * be, so that `get` answers as of then; false when it could not within `timeoutMs` (its source
   * out of reach). `ask` false: no read is made for the caller, who waits for the regular one.
   * Absent: the directory never changes behind the node's back (a device file).
   */
  syncedAfter?(afterMs: number, timeoutMs: number, ask?: boolean): Promise<boolean>;
  /**
   * For the same kind of directory: the device read again from its source, unless its record was
   * read less than `minAgeMs` ago (then that record); a failed read throws and leaves the record
   * held. Ingest asks before it refuses a reading of a device its record says is not active: the
   * device may have been reactivated since, unpolled.
   */
  refresh?(deviceId: string, minAgeMs: number): Promise<DeviceInfo | null>;
  close?(): Promise<void> | void;
}

/**
 * How long a step that needs the device directory read past a period (`syncedAfter`) waits for
 * it: the check before pinning (batch/pipeline.ts `#screen`), which then fails to be retried
 * with backoff, and the co-signer's review (quorum/cosigner.ts), which then answers 503.
 */
export const DEVICE_SYNC_WAIT_MS = 10_000;

/**
 * The moment (wall-clock ms) up to which a directory must have read the registry's changes before
 * a period's readings are checked: `graceS` after the period's end (a reading in it is stamped
 * before then, and a change mined later is stamped later), or now if that is still to come.
 */
export function periodSyncMs(periodEnd: number, graceS: number): number {
  return Math.min((periodEnd + graceS) * 1000, Date.now());
}

/** The keys valid at `ts` (a rotated key stays valid for the readings made before the rotation). */
export function keysValidAt(device: DeviceInfo, ts: number): DeviceKey[] {
  return device.keys.filter((k) => k.validFrom <= ts && (k.validUntil === null || ts < k.validUntil));
}

/** In-memory directory; `set` replaces an entry (used by tests and by the file directory). */
export class MemoryDeviceDirectory implements DeviceDirectory {
  readonly #devices = new Map<string, DeviceInfo>();
  constructor(devices: DeviceInfo[] = []) {
    for (const d of devices) this.#devices.set(d.deviceId, d);
  }
  set(device: DeviceInfo): void {
    this.#devices.set(device.deviceId, device);
  }
  async get(deviceId: string): Promise<DeviceInfo | null> {
    return this.#devices.get(deviceId) ?? null;
  }
  peek(deviceId: string): DeviceInfo | null {
    return this.#devices.get(deviceId) ?? null;
  }
  invalidate(): void {}
  list(): DeviceInfo[] {
    return [...this.#devices.values()];
  }
}

const hex = z.string().regex(/^0x[0-9a-fA-F]+$/);
const deviceFileSchema = z.array(
  z.strictObject({
    deviceId: z.string(),
    facilityId: z.string(),
    status: z.enum(["active", "suspended", "revoked"]).default("active"),
    /** When the status last changed (unix s); without it a device that is not active has no reading taken. */
    statusChangedAt: z.number().int().min(0).optional(),
    /** Past suspensions, lifted since (unix s, `until` exclusive); readings stamped inside one are refused. */
    suspensions: z
      .array(
        z
          .strictObject({ from: z.number().int().min(0), until: z.number().int().min(0) })
          .refine((s) => s.until > s.from, { message: "until must be after from" }),
      )
      .optional(),
    keys: z.array(
      z.strictObject({
        /** Uncompressed public key (0x04‖x‖y), or x and y. */
        publicKey: hex.optional(),
        x: hex.optional(),
        y: hex.optional(),
        validFrom: z.number().int().min(0).default(0),
        validUntil: z.number().int().nullable().default(null),
        keyId: z.string().optional(),
      }),
    ),
  }),
);

/** Parses the JSON device list (`devices.file`); throws with every issue listed. */
export function parseDeviceFile(text: string, source = "devices file"): DeviceInfo[] {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(`${source} is not JSON: ${(err as Error).message}`, { cause: err });
  }
  const parsed = deviceFileSchema.safeParse(json);
  if (!parsed.success) {
    throw new Error(
      `${source} is invalid: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`,
    );
  }
  return parsed.data.map((d) => ({
    deviceId: d.deviceId,
    facilityId: d.facilityId,
    status: d.status,
    ...(d.statusChangedAt === undefined ? {} : { statusChangedAt: d.statusChangedAt }),
    ...(d.suspensions === undefined ? {} : { suspensions: d.suspensions }),
    keys: d.keys.map((k) => ({
      publicKey: k.publicKey ? hexToBytes(k.publicKey) : publicKeyFromXY(k.x as `0x${string}`, k.y as `0x${string}`),
      validFrom: k.validFrom,
      validUntil: k.validUntil,
      keyId: k.keyId,
    })),
  }));
}

/** The device list at `path` (`devices.source` "file"); a missing or unreadable file says what to do. */
export function loadDeviceFile(path: string): MemoryDeviceDirectory {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT")
      throw new Error(
        `no device file at ${path} (devices.source is "file"): write the devices' list there (\`carbonproof-sim --devices-file\` writes one), set devices.file to where it is, or set devices.source to "chain" to read the DeviceRegistry`,
        { cause: err },
      );
    throw new Error(`cannot read the device file ${path}: ${(err as Error).message}`, { cause: err });
  }
  return new MemoryDeviceDirectory(parseDeviceFile(text, path));
}

/** JSON form of a device list, as `parseDeviceFile` reads it (the simulator writes it). */
export function deviceFileJson(devices: DeviceInfo[]): string {
  return JSON.stringify(
    devices.map((d) => ({
      deviceId: d.deviceId,
      facilityId: d.facilityId,
      status: d.status,
      ...(d.statusChangedAt === undefined ? {} : { statusChangedAt: d.statusChangedAt }),
      ...(d.suspensions === undefined ? {} : { suspensions: d.suspensions }),
      keys: d.keys.map((k) => ({
        ...publicKeyToXY(k.publicKey),
        validFrom: k.validFrom,
        validUntil: k.validUntil,
        keyId: k.keyId,
      })),
    })),
    null,
    2,
  );
}

/**
 * Writes the device file (`devices.source = file`) for devices that each have one key, active and valid
 * from 0 with no end: what the simulator and the benches make for the devices they sign as.
 */
export function writeSingleKeyDeviceFile(
  path: string,
  devices: readonly { deviceId: string; facilityId: string; publicKey: Uint8Array }[],
): void {
  writeFileSync(
    path,
    deviceFileJson(
      devices.map((d) => ({
        deviceId: d.deviceId,
        facilityId: d.facilityId,
        status: "active",
        keys: [{ publicKey: d.publicKey, validFrom: 0, validUntil: null }],
      })),
    ),
  );
}
