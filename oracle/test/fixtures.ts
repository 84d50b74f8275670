import { createHash } from "node:crypto";
import { pino, type Logger } from "pino";
import {
  defaultFactorSet,
  factorSetId,
  generateDeviceKey,
  signReading,
  type Envelope,
  type FactorSet,
  type Reading,
} from "../../sdk/src/index.ts";
import { createCommon, type Clock } from "../src/common.ts";
import { parseConfig } from "../src/config/load.ts";
import type { ConfigInput } from "../src/config/schema.ts";
import { SdkCalculator } from "../src/compute/sdk.ts";
import { MemoryDeviceDirectory, type DeviceInfo } from "../src/devices/directory.ts";
import type { NewReading } from "../src/storage/types.ts";
import { startNode, type NodeParts, type OracleNode } from "../src/node.ts";
import { rawCid } from "../src/ipfs/store.ts";
import { createApiKey } from "../src/api/keys.ts";
import { tempDir } from "./helpers.ts";

/** The real sdk methodology with the default factor set; the test facility is a Kenyan tea factory burning firewood. */
export function sdkCalculator(): SdkCalculator {
  return new SdkCalculator({ facilities: { "ktda-kangaita": { country: "KEN", flueGasBiogenicShareBp: 10_000 } } });
}

/**
 * The built-in factor set with Kenya's grid factor set to 500 g CO2e/kWh, under another name (so
 * another id): a set of the operator's for `methodology.factorSetFile`. A Kenyan meter's 120 Wh
 * then computes to 60 g CO2e (0.120 kWh × 500 g/kWh, GHG Protocol Scope 2 location-based).
 */
export function kenya500FactorSet(): FactorSet {
  const base = defaultFactorSet().content;
  const content = {
    ...base,
    name: "test/kenya-500",
    grid: { ...base.grid!, mgCo2ePerKwh: { ...base.grid!.mgCo2ePerKwh, KEN: 500_000 } },
  };
  return { id: factorSetId(content), content };
}

export type TestDevice = {
  deviceId: string;
  facilityId: string;
  secretKey: Uint8Array;
  publicKey: Uint8Array;
  seq: number;
};

export function makeDevice(deviceId: string, facilityId = "ktda-kangaita"): TestDevice {
  const k = generateDeviceKey();
  return { deviceId, facilityId, ...k, seq: 0 };
}

export function deviceInfo(d: TestDevice, status: DeviceInfo["status"] = "active"): DeviceInfo {
  return {
    deviceId: d.deviceId,
    facilityId: d.facilityId,
    status,
    keys: [{ publicKey: d.publicKey, validFrom: 0, validUntil: null }],
  };
}

export function electricity(d: TestDevice, opts: { ts?: number; energyWh?: number; seq?: number } = {}): Envelope {
  const reading: Reading = {
    v: 1,
    deviceId: d.deviceId,
    facilityId: d.facilityId,
    seq: opts.seq ?? ++d.seq,
    ts: opts.ts ?? Math.floor(Date.now() / 1000),
    intervalS: 5,
    kind: "electricity",
    m: { energyWh: opts.energyWh ?? 120 },
  };
  return signReading(reading, d.secretKey);
}

export function flueGas(d: TestDevice, opts: { ts?: number; co2Ppm?: number; seq?: number } = {}): Envelope {
  const reading: Reading = {
    v: 1,
    deviceId: d.deviceId,
    facilityId: d.facilityId,
    seq: opts.seq ?? ++d.seq,
    ts: opts.ts ?? Math.floor(Date.now() / 1000),
    intervalS: 5,
    kind: "flue-gas",
    m: { co2Ppm: opts.co2Ppm ?? 41000, tempCentiC: 18550, velocityMmS: 6200, pressurePa: 101325, ductDiameterMm: 600 },
  };
  return signReading(reading, d.secretKey);
}

/**
 * A row as storage takes it (`commitIngest`), for storage and CLI tests that need rows without
 * devices, keys or signatures: the digest is SHA-256 of "device/seq" (unique per device and seq),
 * the result a fixed 1.5 g CO2e.
 */
export function storedReading(deviceId: string, seq: number, ts: number, facilityId = "f1"): NewReading {
  return {
    digest: `0x${createHash("sha256").update(`${deviceId}/${seq}`).digest("hex")}`,
    deviceId,
    facilityId,
    seq,
    ts,
    kind: "electricity",
    canonical: JSON.stringify({ deviceId, seq, ts }),
    sig: `0x${"11".repeat(64)}`,
    keyId: null,
    source: "http",
    receivedAtMs: 1,
    anomalyScore: null,
    flagged: false,
    fossilMg: 1500n,
    biogenicMg: 0n,
    methodologyId: `0x${"00".repeat(32)}`,
    factorSetId: `0x${"00".repeat(32)}`,
    resultJson: JSON.stringify({ fossilMg: "1500" }),
  };
}

export const quietLogger = () => pino({ level: process.env.ORACLE_TEST_LOG ?? "silent" });

/**
 * `ORACLE_TEST_STORAGE=postgres`: every `testNode` of a test run stores in PostgreSQL (a server of
 * the run's own, started on first use, a new database per node) instead of SQLite, to run any suite
 * against the production storage by hand (docs/oracle.md, "PostgreSQL"). Tests that read the
 * SQLite file themselves do not apply then. Unset: SQLite, as CI runs them.
 */
let pgForRun: Promise<{ createDatabase(): Promise<string>; stop(): Promise<void> }> | null = null;
/** the database of each data dir: a node started again on the same dir finds its data */
const pgDatabases = new Map<string, Promise<string>>();
async function storageUnderTest(dataDir: string): Promise<{ driver?: "postgres"; url?: string }> {
  if (process.env.ORACLE_TEST_STORAGE !== "postgres") return {};
  if (!pgForRun) {
    const { startPostgres } = await import("./postgres-harness.ts");
    pgForRun = startPostgres({ unref: true });
  }
  let url = pgDatabases.get(dataDir);
  if (!url) pgDatabases.set(dataDir, (url = pgForRun.then((server) => server.createDatabase())));
  return { driver: "postgres", url: await url };
}

/** A node on a temp dir, loopback, ephemeral ports; `close` stops it and removes the dir (unless kept). */
export async function testNode(
  opts: {
    config?: ConfigInput;
    devices?: DeviceInfo[];
    parts?: Partial<NodeParts>;
    clock?: Clock;
    dir?: string;
    /** where the node logs (default: silent, or ORACLE_TEST_LOG's level) */
    logger?: Logger;
  } = {},
): Promise<OracleNode & { dir: string; devices: MemoryDeviceDirectory; close: () => Promise<void> }> {
  const tmp = opts.dir ? { dir: opts.dir, cleanup: () => {} } : tempDir();
  const base: ConfigInput = {
    dataDir: tmp.dir,
    http: { port: 0 },
    mqtt: { port: 0 },
    storage: { synchronous: "NORMAL", ...(await storageUnderTest(tmp.dir)) },
    batching: { windowS: 60, graceS: 1, tickMs: 50, retryBaseMs: 50, retryMaxMs: 500 },
  };
  const config = parseConfig(deepMerge(base, opts.config ?? {}));
  const common = createCommon(config, {
    logger: opts.logger ?? quietLogger(),
    clock: opts.clock,
    defaultMetrics: false,
  });
  const devices = new MemoryDeviceDirectory(opts.devices ?? []);
  const node = await startNode(common, { calculator: sdkCalculator(), devices, ...opts.parts });
  return {
    ...node,
    dir: tmp.dir,
    devices,
    close: async () => {
      await node.stop();
      tmp.cleanup();
    },
  };
}

function deepMerge(a: unknown, b: unknown): unknown {
  if (typeof a !== "object" || a === null || typeof b !== "object" || b === null || Array.isArray(b)) return b;
  const out: Record<string, unknown> = { ...(a as Record<string, unknown>) };
  for (const [k, v] of Object.entries(b)) out[k] = deepMerge(out[k], v);
  return out;
}

/**
 * `bytes` recorded as an evidence file of `facilityId`, as the evidence upload records one: pinned
 * to the node's store first (an invoice), or not (`pinned: false`: a meter photo the store never
 * had). Its CID.
 */
export async function recordEvidence(
  node: OracleNode,
  bytes: Uint8Array,
  facilityId: string,
  opts: { pinned?: boolean } = {},
): Promise<string> {
  const pinned = opts.pinned ?? true;
  const cid = pinned ? await node.content!.addAndPin(bytes) : await rawCid(bytes);
  node.storage.putEvidence({
    sha256: createHash("sha256").update(bytes).digest("hex"),
    cid,
    filename: pinned ? "invoice.pdf" : "meter.jpg",
    mediaType: pinned ? "application/pdf" : "image/jpeg",
    sizeBytes: bytes.length,
    facilityId,
    createdAtMs: Date.now(),
  });
  return cid;
}

/**
 * `n` readings of device `d` in one 60 s window two hours ago (5 s apart), POSTed with a device key
 * and stored: the window is sealed at once, and its bundle built and pinned. Their envelopes.
 */
export async function postOldWindow(node: OracleNode, d: TestDevice, n: number): Promise<Envelope[]> {
  const key = createApiKey(node.storage, { scope: "device", subject: d.deviceId }).key;
  const ts = Math.floor((Date.now() / 1000 - 7200) / 60) * 60;
  const envs = Array.from({ length: n }, (_, i) => electricity(d, { ts: ts + i * 5 }));
  const res = await fetch(`${node.httpUrl}/v1/readings`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-api-key": key },
    body: JSON.stringify(envs),
  });
  if (res.status !== 200) throw new Error(`POST /v1/readings answered ${res.status}: ${await res.text()}`);
  return envs;
}
