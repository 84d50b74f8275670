/**
 * The simulated devices and signed readings the benches publish (bench:ingest, bench:mqtt-external):
 * P-256 keys made here, one electricity reading shape, signed with node:crypto and normalised to
 * low-s by the sdk, so that signing costs the load generator what a device's signature costs.
 */
import { createPrivateKey, sign as cryptoSign, type KeyObject } from "node:crypto";
import {
  canonicalBytes,
  generateDeviceKey,
  normalizeLowS,
  readingDigestHex,
  secretKeyToPem,
  type DeviceKeyPair,
  type Reading,
} from "../sdk/src/index.ts";
import { writeSingleKeyDeviceFile } from "../oracle/src/devices/directory.ts";
import { readingsTopic } from "../oracle/src/ingest/mqtt.ts";

export type BenchDevice = DeviceKeyPair & {
  deviceId: string;
  facilityId: string;
  topic: string;
  key: KeyObject;
  seq: number;
};

/** `count` devices `bench-dev-<i>` spread over `facilityCount` facilities `bench-fac-<i>`. */
export function benchDevices(count: number, facilityCount: number): BenchDevice[] {
  return Array.from({ length: count }, (_, i) => {
    const k = generateDeviceKey();
    const deviceId = `bench-dev-${i}`;
    const facilityId = `bench-fac-${i % facilityCount}`;
    return {
      deviceId,
      facilityId,
      topic: readingsTopic(facilityId, deviceId),
      ...k,
      key: createPrivateKey(secretKeyToPem(k.secretKey)),
      seq: 0,
    };
  });
}

/** The node's device file (devices.source = file) for these devices, each with its one key. */
export function writeBenchDeviceFile(path: string, devices: BenchDevice[]): void {
  writeSingleKeyDeviceFile(path, devices);
}

/** The device's next reading (its seq advanced) at `ts`, signed: the MQTT payload and its digest. */
export function signBenchReading(d: BenchDevice, ts: number, i: number): { payload: string; digest: string } {
  const reading: Reading = {
    v: 1,
    deviceId: d.deviceId,
    facilityId: d.facilityId,
    seq: ++d.seq,
    ts,
    intervalS: 5,
    kind: "electricity",
    m: { energyWh: 100 + (i % 50) },
  };
  const sig = normalizeLowS(cryptoSign("sha256", canonicalBytes(reading), { key: d.key, dsaEncoding: "ieee-p1363" }));
  return { payload: JSON.stringify({ reading, sig }), digest: readingDigestHex(reading) };
}
