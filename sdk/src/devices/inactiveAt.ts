/**
 * The device-status rule: whether a reading stamped `ts` may be counted given its device's status
 * history on the DeviceRegistry. One definition for the oracle (ingest and co-signing refuse such a
 * reading) and the auditor's verifier (its "device status" link fails on one).
 */

/** A device's status as the oracle and the verifier name it (the registry's `Retired` is "revoked"). */
export type DeviceStatus = "active" | "suspended" | "revoked";

/** A suspension lifted since: the device was suspended from `from` until `until` (unix s, `until` exclusive). */
export type Suspension = { from: number; until: number };

/**
 * What the rule needs of a device. `statusChangedAt`: when the device last changed status (the
 * DeviceRegistry's `statusChangedAt`, unix s); absent when unknown. A device that is not active
 * stopped being trusted then. `suspensions`: its earlier suspensions, lifted since (reactivated,
 * or ended by its retirement), oldest first. Absent or empty: none.
 */
export type DeviceStatusHistory = {
  deviceId: string;
  status: DeviceStatus;
  statusChangedAt?: number;
  suspensions?: readonly Suspension[];
};

/**
 * Why a reading stamped `ts` may not be counted: stamped inside a past suspension (`from`, `until`),
 * or while the device is in its current status (`since`; null when that time is unknown).
 */
export type DeviceInactivity =
  | { deviceId: string; ts: number; status: "suspended"; from: number; until: number }
  | { deviceId: string; ts: number; status: "suspended" | "revoked"; since: number | null };

/**
 * Why a reading of `device` stamped `ts` (unix s) may not be counted because of the device's
 * status, or null when its status allows it: a device that is not active is refused for readings
 * from the time its status changed on (from any time when that is unknown), and any device for
 * readings stamped inside one of its past suspensions (`from` ≤ ts < `until`); readings it made
 * while it was active stay valid (a suspension does not undo what was measured before it). On the
 * oracle's ingest path for every reading: an active device without past suspensions costs two
 * comparisons, and nothing is allocated unless the reading is refused.
 */
export function deviceInactiveAt(device: DeviceStatusHistory, ts: number): DeviceInactivity | null {
  const past = device.suspensions;
  if (past !== undefined) {
    // an indexed loop: no iterator per call
    for (let i = 0; i < past.length; i++) {
      const s = past[i]!;
      if (ts >= s.from && ts < s.until)
        return { deviceId: device.deviceId, ts, status: "suspended", from: s.from, until: s.until };
    }
  }
  if (device.status === "active") return null;
  const since = device.statusChangedAt;
  if (since === undefined) return { deviceId: device.deviceId, ts, status: device.status, since: null };
  return ts >= since ? { deviceId: device.deviceId, ts, status: device.status, since } : null;
}

/** {@link deviceInactiveAt} as the oracle's refusal reason (a sentence), or null when the reading may be counted. */
export function inactiveAt(device: DeviceStatusHistory, ts: number): string | null {
  // the ingest path's common case in two comparisons
  if (device.suspensions === undefined && device.status === "active") return null;
  const why = deviceInactiveAt(device, ts);
  return why === null ? null : describeDeviceInactivity(why);
}

/** A sentence naming the device, the suspension or status and since when, and the reading's time. */
export function describeDeviceInactivity(why: DeviceInactivity): string {
  if ("from" in why)
    return `device ${why.deviceId} was suspended from ${why.from} until ${why.until} (the reading is stamped ${why.ts})`;
  if (why.since === null) return `device ${why.deviceId} is ${why.status}`;
  return `device ${why.deviceId} is ${why.status} since ${why.since} (the reading is stamped ${why.ts})`;
}

/** The DeviceRegistry's `DeviceStatus` (0 None, 1 Active, 2 Suspended, 3 Retired) as the rule names it; None and unknown values are "revoked". */
export function deviceStatusFromRegistry(status: number): DeviceStatus {
  return status === 1 ? "active" : status === 2 ? "suspended" : "revoked";
}
