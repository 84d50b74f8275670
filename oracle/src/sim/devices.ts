import { generateDeviceKey, signReading, type Envelope, type Reading } from "../../../sdk/src/index.ts";

export type SimKind = "flue-gas" | "electricity" | "fuel";

/** A simulated device: its own P-256 key, its persisted sequence number, an offline buffer. */
export type SimDevice = {
  deviceId: string;
  facilityId: string;
  kind: SimKind;
  intervalS: number;
  secretKey: Uint8Array;
  publicKey: Uint8Array;
  seq: number;
  offlineUntilMs: number;
  /** readings not yet acknowledged, oldest first; kept in the state file across runs */
  buffer: Envelope[];
  /** `ts` of the last reading made, so a later run continues after it instead of overlapping it */
  lastTs?: number;
  /** the device's last envelope sent without an injected fault: what an injected replay re-sends */
  lastGood?: Envelope;
};

export function makeSimDevices(opts: {
  facilityId: string;
  chimneys: number;
  meters: number;
  fuel: number;
  chimneyIntervalS?: number;
  meterIntervalS?: number;
  fuelIntervalS?: number;
}): SimDevice[] {
  const out: SimDevice[] = [];
  const add = (prefix: string, kind: SimKind, n: number, intervalS: number) => {
    for (let i = 1; i <= n; i++) {
      const k = generateDeviceKey();
      out.push({
        deviceId: `${opts.facilityId.slice(0, 18)}-${prefix}-${i}`.slice(0, 32),
        facilityId: opts.facilityId,
        kind,
        intervalS,
        secretKey: k.secretKey,
        publicKey: k.publicKey,
        seq: 0,
        offlineUntilMs: 0,
        buffer: [],
      });
    }
  };
  add("chimney", "flue-gas", opts.chimneys, opts.chimneyIntervalS ?? 5);
  add("meter", "electricity", opts.meters, opts.meterIntervalS ?? 60);
  add("fuel", "fuel", opts.fuel, opts.fuelIntervalS ?? 900);
  return out;
}

/**
 * Tea-factory day/night pattern (seed 002): withering and drying run from about 06:00 to
 * 20:00 local time (East Africa, UTC+3), so the boilers and the flue gas follow a daily cycle;
 * 0..1, smooth, with a night floor.
 */
export function dayFactor(tsS: number, utcOffsetH = 3): number {
  const h = (((tsS / 3600 + utcOffsetH) % 24) + 24) % 24;
  const day = Math.max(0, Math.sin(((h - 6) / 14) * Math.PI)); // 0 at 06:00 and 20:00, 1 at 13:00
  return 0.2 + 0.8 * (h >= 6 && h <= 20 ? day : 0);
}

function noise(scale: number): number {
  return (Math.random() - 0.5) * 2 * scale;
}

/** The next reading of a device at `tsS` (end of its interval); integers only, units in the names. */
export function nextReading(d: SimDevice, tsS: number, opts: { implausible?: boolean } = {}): Reading {
  const f = dayFactor(tsS);
  const base = {
    v: 1 as const,
    deviceId: d.deviceId,
    facilityId: d.facilityId,
    seq: ++d.seq,
    ts: tsS,
    intervalS: d.intervalS,
  };
  switch (d.kind) {
    case "flue-gas":
      return {
        ...base,
        kind: "flue-gas",
        m: {
          co2Ppm: opts.implausible ? 900_000 : Math.round(6000 + 40_000 * f * (1 + noise(0.05))),
          tempCentiC: Math.round(6000 + 14_000 * f + noise(300)), // 60..200 °C stack
          velocityMmS: Math.round(1500 + 3500 * f * (1 + noise(0.05))), // 2-5 m/s (seed 002)
          pressurePa: Math.round(101_325 + noise(200)),
          ductDiameterMm: 600,
        },
      };
    case "electricity":
      return {
        ...base,
        kind: "electricity",
        m: {
          // 40..200 kW factory load over the interval
          energyWh: opts.implausible
            ? 9_000_000_000
            : Math.max(0, Math.round(((40_000 + 160_000 * f * (1 + noise(0.05))) * d.intervalS) / 3600)),
        },
      };
    case "fuel":
      return {
        ...base,
        kind: "fuel",
        m: {
          fuel: "firewood",
          massGrams: opts.implausible ? 5_000_000_000 : Math.round(250_000 * f * (1 + noise(0.1))),
        },
      };
  }
}

export function signSim(d: SimDevice, r: Reading): Envelope {
  return signReading(r, d.secretKey);
}
