#!/usr/bin/env node
/**
 * `carbonproof-sim` — simulated tea-factory devices publishing signed readings; options in
 * USAGE below (`--help`) and docs/oracle.md.
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from "node:fs";
import { dirname } from "node:path";
import { parseArgs } from "node:util";
import mqtt from "mqtt";
import { z } from "zod";
import { createPublicClient, createWalletClient, http, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import {
  bytesToHex,
  hexToBytes,
  idToBytes32,
  isValidId,
  publicKeyToXY,
  revertName,
  type Envelope,
} from "../../../sdk/src/index.ts";
import { deviceRegistryAbi } from "../chain/abi.ts";
import { chainFor } from "../chain/viem.ts";
import { writeSingleKeyDeviceFile } from "../devices/directory.ts";
import { readingsTopic } from "../ingest/mqtt.ts";
import { makeSimDevices, nextReading, signSim, type SimDevice } from "./devices.ts";
import { Backoff, postReadings, SimHttpError, type PostVerdict } from "./http.ts";

const USAGE = `Usage: carbonproof-sim [options]

  --facility ID            facility id (default ktda-kangaita)
  --chimneys N --meters N --fuel N   devices of each kind (default 2, 1, 1)
  --mqtt URL | --http URL  transport (default mqtt://127.0.0.1:1883)
  --api-key KEY            a facility or device API key (or CARBONPROOF_SIM_API_KEY): HTTP sends it as
                           x-api-key; MQTT sends it as the password, with the facility id as user name
  --username U --password P   MQTT credentials instead (e.g. a device id and its key, or mqtt://u:p@host);
                           the password also from CARBONPROOF_SIM_PASSWORD. Options are visible to every
                           user in ps: on a shared host give keys and passwords in the environment
  --state FILE             keys and sequence numbers, kept across runs (default .carbonproof/sim.json)
  --devices-file FILE      write the device list for a node with devices.source = file
  --rpc URL --device-registry ADDR [--admin-key-env NAME]   register the devices on-chain
  --duration S             stop after S seconds (default: run until SIGINT)
  --speed X                simulated seconds per real second (default 1). Above 1 it needs --duration S
                           and back-fills S × X seconds of history that ends now: timestamps are never
                           ahead of the wall clock, and a device continues after its last reading
  --offline-rate P         chance per tick that a device drops offline for 10–60 s, buffering; the buffer
                           is kept in the state file and sent first by the next run
  --bad-sig-rate P --replay-rate P --implausible-rate P   faults to inject, each one dead letter:
                           bad-signature; replay (the same device's earlier envelope, sent again on
                           its own topic); implausible. The last line printed (JSON) counts them.
  -h, --help               this text

A reading leaves the buffer only once the node answered for it (PUBACK, HTTP 2xx, or 422 for a
single rejected envelope). HTTP 429, 5xx and connection errors keep it and retry after the node's
Retry-After (else a backoff up to 30 s); 413 re-sends in halves; 401/403 stop (wrong API key).
`;

const { values } = parseCommandLine();

function parseCommandLine() {
  try {
    return parseArgs({
      options: {
        help: { type: "boolean", short: "h" },
        facility: { type: "string", default: "ktda-kangaita" },
        chimneys: { type: "string", default: "2" },
        meters: { type: "string", default: "1" },
        fuel: { type: "string", default: "1" },
        mqtt: { type: "string" },
        http: { type: "string" },
        "api-key": { type: "string" },
        username: { type: "string" },
        password: { type: "string" },
        state: { type: "string", default: ".carbonproof/sim.json" },
        "devices-file": { type: "string" },
        rpc: { type: "string" },
        "device-registry": { type: "string" },
        "admin-key-env": { type: "string", default: "CARBONPROOF_SIM_ADMIN_KEY" },
        "chain-id": { type: "string", default: "31337" },
        duration: { type: "string" },
        speed: { type: "string", default: "1" },
        "offline-rate": { type: "string", default: "0" },
        "bad-sig-rate": { type: "string", default: "0" },
        "replay-rate": { type: "string", default: "0" },
        "implausible-rate": { type: "string", default: "0" },
      },
    });
  } catch (err) {
    process.stderr.write(`carbonproof-sim: ${(err as Error).message}\n\n${USAGE}`);
    process.exit(2);
  }
}
if (values.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}

/** How long an MQTT publish waits for its PUBACK before its readings are kept for a later pass. */
const PUBACK_WAIT_MS = 10_000;

/** A numeric flag, or a clear error naming the flag and its range. */
function numberFlag(name: keyof typeof values, min: number, max = Infinity): number {
  const raw = values[name];
  const n = Number(raw);
  if (typeof raw !== "string" || raw.trim() === "" || !Number.isFinite(n) || n < min || n > max)
    throw new Error(
      `--${name} must be a number from ${min}${max === Infinity ? " up" : ` to ${max}`}, not ${JSON.stringify(raw)}`,
    );
  return n;
}

/** A whole-number flag in [min, max], or a clear error naming the flag and its range. */
function countFlag(name: keyof typeof values, min: number, max: number): number {
  const n = numberFlag(name, min, max);
  if (!Number.isInteger(n))
    throw new Error(`--${name} must be a whole number from ${min} to ${max}, not ${JSON.stringify(values[name])}`);
  return n;
}

/** `--http` or `--mqtt`: a URL with one of `schemes`, or a clear error naming the flag. */
function urlFlag(name: "http" | "mqtt", schemes: readonly string[]): void {
  const raw = values[name];
  if (raw === undefined) return;
  let scheme: string | null = null;
  try {
    scheme = new URL(raw).protocol.replace(/:$/, "");
  } catch {
    // not a URL
  }
  if (scheme === null || !schemes.includes(scheme))
    throw new Error(
      `--${name} must be a URL starting with ${schemes.map((x) => `${x}://`).join(" or ")} (e.g. ${name === "http" ? "http://127.0.0.1:8787" : "mqtt://127.0.0.1:1883"}), not ${JSON.stringify(raw)}`,
    );
}

type Saved = {
  deviceId: string;
  facilityId: string;
  kind: SimDevice["kind"];
  intervalS: number;
  secretKey: string;
  seq: number;
  lastTs?: number;
  buffer?: Envelope[];
};

const hex = z.string().regex(/^0x[0-9a-fA-F]+$/, "0x-prefixed hex");
/** The state file as `save` writes it; readings in `buffer` are checked by the node when they are sent. */
const stateSchema = z
  .object({
    devices: z.array(
      z.object({
        deviceId: z.string().min(1),
        facilityId: z.string().min(1),
        kind: z.enum(["flue-gas", "electricity", "fuel"] as const satisfies readonly SimDevice["kind"][]),
        intervalS: z.number().int().positive(),
        secretKey: hex,
        seq: z.number().int().min(0),
        lastTs: z.number().int().optional(),
        buffer: z.array(z.custom<Envelope>((e) => typeof e === "object" && e !== null)).optional(),
      }),
    ),
    publicKeys: z.array(hex),
  })
  .refine((s) => s.publicKeys.length === s.devices.length, "publicKeys: one per device");

/** The saved devices; a file that is not a state file stops the run with what to do (it holds device keys: never overwritten). */
function readState(path: string): { devices: Saved[]; publicKeys: string[] } {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    throw new Error(
      `the state file ${path} cannot be read as JSON (${(err as Error).message}); it holds the devices' keys and unsent readings: repair it, or move it aside to start with new devices`,
      { cause: err },
    );
  }
  const parsed = stateSchema.safeParse(json);
  if (!parsed.success)
    throw new Error(
      `the state file ${path} is not a simulator state: ${parsed.error.issues.map((i) => `${i.path.join(".") || "(file)"}: ${i.message}`).join("; ")}; repair it, or move it aside to start with new devices`,
    );
  return parsed.data as { devices: Saved[]; publicKeys: string[] };
}

/** The devices of the state file, or new ones: `counts` of each kind (used only when there is no state file yet). */
function loadOrCreate(counts: { chimneys: number; meters: number; fuel: number }): SimDevice[] {
  if (existsSync(values.state!)) {
    const saved = readState(values.state!);
    // a flag given for new devices does nothing with a state file: said, not ignored (review)
    const given = (flag: string) => process.argv.slice(2).some((a) => a === `--${flag}` || a.startsWith(`--${flag}=`));
    const facilities = [...new Set(saved.devices.map((d) => d.facilityId))];
    const held = (kind: string) => saved.devices.filter((d) => d.kind === kind).length;
    const differs = [
      given("facility") && (facilities.length !== 1 || facilities[0] !== values.facility) ? "--facility" : null,
      given("chimneys") && held("flue-gas") !== counts.chimneys ? "--chimneys" : null,
      given("meters") && held("electricity") !== counts.meters ? "--meters" : null,
      given("fuel") && held("fuel") !== counts.fuel ? "--fuel" : null,
    ].filter((x) => x !== null);
    if (differs.length > 0)
      throw new Error(
        `the state file ${values.state} holds ${held("flue-gas")} chimney(s), ${held("electricity")} meter(s) and ${held("fuel")} fuel device(s) of ${facilities.join(", ")}, not what ${differs.join(", ")} say${differs.length === 1 ? "s" : ""}: its devices are kept (their keys and unsent readings); leave ${differs.length === 1 ? "that flag" : "those flags"} out, or give another --state to start new devices`,
      );
    return saved.devices.map((s, i) => ({
      ...s,
      secretKey: hexToBytes(s.secretKey),
      publicKey: hexToBytes(saved.publicKeys[i]!),
      offlineUntilMs: 0,
      buffer: s.buffer ?? [],
    }));
  }
  return makeSimDevices({ facilityId: values.facility!, ...counts });
}

function save(devices: SimDevice[]): void {
  mkdirSync(dirname(values.state!), { recursive: true });
  const out = {
    devices: devices.map((d) => ({
      deviceId: d.deviceId,
      facilityId: d.facilityId,
      kind: d.kind,
      intervalS: d.intervalS,
      secretKey: bytesToHex(d.secretKey),
      seq: d.seq,
      lastTs: d.lastTs,
      buffer: d.buffer,
    })),
    publicKeys: devices.map((d) => bytesToHex(d.publicKey)),
  };
  // written beside it, synced, then renamed over it: a crash mid-save leaves the previous state
  // whole, never a truncated file (it holds the devices' keys and their unsent readings)
  const temp = `${values.state!}.${process.pid}.tmp`;
  const fd = openSync(temp, "w", 0o600);
  try {
    writeSync(fd, JSON.stringify(out, null, 2));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temp, values.state!);
}

/** Device `deviceId` as the DeviceRegistry holds it; null when it was never registered. */
async function registered(
  pub: Pick<ReturnType<typeof createPublicClient>, "readContract">,
  address: Hex,
  deviceId: string,
): Promise<{ facilityId: Hex; status: number; keyHistory: readonly { x: Hex; y: Hex }[] } | null> {
  try {
    return await pub.readContract({
      address,
      abi: deviceRegistryAbi,
      functionName: "getDevice",
      args: [idToBytes32(deviceId)],
    });
  } catch (err) {
    if (revertName(err, deviceRegistryAbi) === "DeviceRegistryUnknownDevice") return null;
    throw err;
  }
}

async function registerOnChain(devices: SimDevice[]): Promise<void> {
  const key = process.env[values["admin-key-env"]!];
  if (!key) throw new Error(`--rpc needs a device-manager key in ${values["admin-key-env"]}`);
  const chain = chainFor(Number(values["chain-id"]), values.rpc!);
  const account = privateKeyToAccount(key as Hex);
  const pub = createPublicClient({ chain, transport: http(values.rpc!) });
  const wallet = createWalletClient({ chain, transport: http(values.rpc!), account });
  const { parseAbi } = await import("viem");
  const abi = parseAbi([
    "function registerDevice(bytes32 id, bytes32 facilityId, uint8 kind, bytes32 x, bytes32 y, string metadataURI)",
  ]);
  const address = values["device-registry"] as Hex;
  for (const d of devices) {
    const { x, y } = publicKeyToXY(d.publicKey);
    const held = await registered(pub, address, d.deviceId);
    if (held) {
      // registered before: by this state file's key, or its readings would all be refused (review:
      // a device of the same id with another key or facility was taken as this one)
      const key = held.keyHistory.at(-1);
      const why =
        held.facilityId.toLowerCase() !== idToBytes32(d.facilityId).toLowerCase()
          ? `registered to another facility (${held.facilityId})`
          : key?.x.toLowerCase() !== x.toLowerCase() || key?.y.toLowerCase() !== y.toLowerCase()
            ? "registered with another key"
            : held.status !== 1
              ? `${held.status === 2 ? "suspended" : "retired"} there`
              : null;
      if (why)
        throw new Error(
          `device ${d.deviceId} is in the DeviceRegistry at ${address} already, ${why}: every reading the state file ${values.state}'s device signs would be refused. Restore the state file that holds its key, or give another --facility with another --state for new devices`,
        );
      continue;
    }
    const kind = d.kind === "flue-gas" ? 0 : d.kind === "electricity" ? 1 : 2;
    const hash = await wallet.writeContract({
      address,
      abi,
      functionName: "registerDevice",
      args: [idToBytes32(d.deviceId), idToBytes32(d.facilityId), kind, x, y, ""],
      chain,
      account,
    });
    await pub.waitForTransactionReceipt({ hash });
    console.error(`registered ${d.deviceId}`);
  }
}

async function main(): Promise<void> {
  // the command line first, so a mistake in it leaves no state file behind
  const speed = numberFlag("speed", 0.001);
  const durationS = values.duration === undefined ? undefined : numberFlag("duration", 0);
  if (speed > 1 && durationS === undefined)
    throw new Error(
      `--speed ${speed} needs --duration S: the simulator back-fills S × ${speed} seconds of history that ends now, because a reading stamped ahead of the wall clock is rejected (future-timestamp)`,
    );
  const rates = {
    offline: numberFlag("offline-rate", 0, 1),
    badSig: numberFlag("bad-sig-rate", 0, 1),
    replay: numberFlag("replay-rate", 0, 1),
    implausible: numberFlag("implausible-rate", 0, 1),
  };
  if (rates.badSig + rates.implausible > 1)
    throw new Error("--bad-sig-rate plus --implausible-rate must be at most 1 (a reading gets at most one of them)");
  const counts = {
    chimneys: countFlag("chimneys", 0, 10_000),
    meters: countFlag("meters", 0, 10_000),
    fuel: countFlag("fuel", 0, 10_000),
  };
  if (counts.chimneys + counts.meters + counts.fuel === 0)
    throw new Error("--chimneys, --meters and --fuel are all 0: the simulator needs at least one device");
  urlFlag("http", ["http", "https"]);
  urlFlag("mqtt", ["mqtt", "mqtts", "tcp", "tls", "ws", "wss"]);
  if (values.rpc) countFlag("chain-id", 1, Number.MAX_SAFE_INTEGER);
  // its devices' readings would all be refused (schema, topic) while the run said "acked"
  if (!isValidId(values.facility!))
    throw new Error(
      `--facility must be a facility id (lower-case letters, digits, ".", "_" or "-", at most 32, starting with a letter or digit), not ${JSON.stringify(values.facility)}`,
    );
  const devices = loadOrCreate(counts);
  save(devices);
  const devicesFile = values["devices-file"];
  if (devicesFile) {
    try {
      writeSingleKeyDeviceFile(devicesFile, devices);
    } catch (err) {
      throw new Error(
        `--devices-file: cannot write ${devicesFile} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}): give the path of a file in a directory that exists and this user can write`,
        { cause: err },
      );
    }
  }
  if (values.rpc) await registerOnChain(devices);

  const apiKey = values["api-key"] ?? process.env.CARBONPROOF_SIM_API_KEY;
  const stats = {
    published: 0,
    acked: 0,
    failed: 0,
    buffered: 0,
    injected: 0,
    faults: { badSignature: 0, replay: 0, implausible: 0 },
    retries: 0,
    rateLimited: 0,
  };
  /** sends a device's batch; `done` takes it out of the buffer, anything else keeps it for a later tick */
  let send: (d: SimDevice, envs: Envelope[]) => Promise<PostVerdict>;
  let client: mqtt.MqttClient | null = null;
  if (durationS === 0) {
    // set-up only (keys, state, device list): nothing to send, so no connection
    send = async () => ({ kind: "retry", why: "--duration 0" });
  } else if (values.http) {
    const base = values.http.replace(/\/+$/, "");
    send = (_d, envs) => postReadings(base, apiKey, envs);
  } else {
    const url = values.mqtt ?? "mqtt://127.0.0.1:1883";
    // the node's MQTT auth (mqtt.requireAuth): user name = the key's facility or device id, password = the key
    const username = values.username ?? (apiKey ? devices[0]?.facilityId : undefined);
    const password = values.password ?? process.env.CARBONPROOF_SIM_PASSWORD ?? apiKey;
    try {
      client = await mqtt.connectAsync(url, {
        reconnectPeriod: 1000,
        ...(username !== undefined ? { username } : {}),
        ...(password !== undefined ? { password } : {}),
      });
    } catch (err) {
      const code = (err as { code?: number }).code;
      if (code === 4 || code === 5)
        throw new Error(
          `the MQTT endpoint refused the credentials (CONNACK ${code}): give --api-key with a facility API key (user name = the facility id), or --username <device or facility id> --password <its API key>`,
          { cause: err },
        );
      throw new Error(`cannot connect to ${url.replace(/\/\/[^@/]*@/, "//")}: ${(err as Error).message}`, {
        cause: err,
      });
    }
    const c = client;
    // mqtt.js holds a QoS 1 publish while it is not connected, and settles it only on a PUBACK after
    // it reconnects: a node down for good held the run there, past --duration and deaf to SIGINT
    // (review). Not connected: kept for a later pass; no PUBACK within PUBACK_WAIT_MS: the same,
    // and the publish taken out of mqtt.js's store (the buffer sends it again).
    send = async (d, envs) => {
      if (!c.connected) return { kind: "retry", why: "MQTT not connected" };
      const published = c.publishAsync(
        readingsTopic(d.facilityId, d.deviceId),
        JSON.stringify(envs.length === 1 ? envs[0] : envs),
        { qos: 1 },
      );
      const messageId = c.getLastMessageId();
      let timer: NodeJS.Timeout | undefined;
      try {
        return await Promise.race([
          published.then(
            (): PostVerdict => ({ kind: "done" }),
            (err: Error): PostVerdict => ({ kind: "retry", why: err.message }),
          ),
          new Promise<PostVerdict>((resolve) => {
            timer = setTimeout(() => {
              c.removeOutgoingMessage(messageId);
              resolve({ kind: "retry", why: `no PUBACK within ${PUBACK_WAIT_MS / 1000} s` });
            }, PUBACK_WAIT_MS);
          }),
        ]);
      } finally {
        clearTimeout(timer);
      }
    };
  }

  const startMs = Date.now();
  const endAtMs = durationS !== undefined ? startMs + durationS * 1000 : Infinity;
  // Simulated time runs at `speed` and reaches the wall clock at the end of the run: it starts
  // (speed − 1) × duration seconds back, so it is never ahead of now (ts ≤ now, never future-timestamp).
  const simStartMs = startMs - Math.max(0, speed - 1) * (durationS ?? 0) * 1000;
  const simNowS = (nowMs: number) =>
    Math.min(Math.floor(nowMs / 1000), Math.floor((simStartMs + (nowMs - startMs) * speed) / 1000));
  const simStartS = Math.floor(simStartMs / 1000);
  // a device continues after its last reading of an earlier run, so no two readings cover the same interval
  const nextDue = new Map(devices.map((d) => [d.deviceId, Math.max(simStartS, d.lastTs ?? 0) + d.intervalS]));
  let stop = false;
  process.on("SIGINT", () => (stop = true));
  process.on("SIGTERM", () => (stop = true));
  const backoff = new Backoff();
  let holdUntilMs = 0; // no sending before this (after a 429, a 5xx or a connection error)
  let maxBatch = 200; // halved on a 413

  try {
    // the last pass runs at the end time itself, so the history reaches it and what is due is sent
    while (!stop) {
      const nowMs = Math.min(Date.now(), endAtMs);
      const simNow = simNowS(nowMs);
      for (const d of devices) {
        while (nextDue.get(d.deviceId)! <= simNow) {
          const ts = nextDue.get(d.deviceId)!;
          nextDue.set(d.deviceId, ts + d.intervalS);
          d.lastTs = ts;
          // at most one of the two faults a reading, so each injected fault is one dead letter with its reason
          const r = Math.random();
          const implausible = r < rates.implausible;
          const badSig = !implausible && r < rates.implausible + rates.badSig;
          let env = signSim(d, nextReading(d, ts, { implausible }));
          if (badSig) {
            env = { ...env, sig: `0x${env.sig.slice(2, 66)}${"1".repeat(64)}` as Hex };
            stats.faults.badSignature++;
          } else if (implausible) stats.faults.implausible++;
          d.buffer.push(env);
          // a replay is this device's earlier good envelope sent again on its own topic: rejected as `replay`
          if (d.lastGood && Math.random() < rates.replay) {
            d.buffer.push(d.lastGood);
            stats.faults.replay++;
          }
          if (!badSig && !implausible) d.lastGood = env;
        }
      }
      // every seq given out is on disk before a reading carrying it leaves (review: saved only
      // after the sends, a run killed mid-send left seqs the node had taken to be given out again
      // to other readings, which the node then refused as replays)
      save(devices);
      for (const d of devices) {
        if (stop) break;
        if (d.offlineUntilMs === 0 && Math.random() < rates.offline)
          d.offlineUntilMs = nowMs + (10 + Math.random() * 50) * 1000;
        if (d.offlineUntilMs > nowMs) continue;
        d.offlineUntilMs = 0;
        if (d.buffer.length === 0 || Date.now() < holdUntilMs) continue;
        const batch = d.buffer.slice(0, maxBatch);
        stats.published += batch.length;
        const verdict = await send(d, batch);
        if (verdict.kind === "done") {
          d.buffer.splice(0, batch.length);
          stats.acked += batch.length;
          backoff.reset();
          continue;
        }
        // kept: a reading leaves the buffer only once the node answered for it
        stats.failed += batch.length;
        if (verdict.kind === "split") {
          maxBatch = Math.max(1, Math.ceil(batch.length / 2));
          continue;
        }
        stats.retries++;
        if (verdict.why === "HTTP 429") stats.rateLimited++;
        const waitMs = backoff.next(verdict.afterMs);
        holdUntilMs = Date.now() + waitMs;
        process.stderr.write(
          `carbonproof-sim: ${verdict.why}; ${batch.length} readings kept, retrying in ${waitMs} ms\n`,
        );
      }
      save(devices);
      stats.buffered = devices.reduce((n, d) => n + d.buffer.length, 0);
      if (nowMs >= endAtMs) break;
      await new Promise((r) => setTimeout(r, 250));
    }
  } finally {
    // whatever stops the run (the end, a signal, a refused key), unsent readings stay in the state file
    // (so nothing mqtt.js still holds is waited for: force)
    save(devices);
    await client?.endAsync(true);
  }
  stats.buffered = devices.reduce((n, d) => n + d.buffer.length, 0);
  stats.injected = stats.faults.badSignature + stats.faults.replay + stats.faults.implausible;
  console.log(JSON.stringify(stats));
}

main().catch((err: unknown) => {
  process.stderr.write(`carbonproof-sim: ${(err as Error).message}\n`);
  process.exit(1);
});
