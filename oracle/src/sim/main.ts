#!/usr/bin/env node
/**
 * `carbonproof-sim` — simulated tea-factory devices publishing signed readings.
 *
 *   --facility ID            facility id (default ktda-kangaita)
 *   --chimneys N --meters N --fuel N   devices of each kind (default 2, 1, 1)
 *   --mqtt URL | --http URL --api-key KEY   transport (default mqtt://127.0.0.1:1883)
 *   --state FILE             keys and sequence numbers, kept across runs (default .carbonproof/sim.json)
 *   --devices-file FILE      write the device list for a node with devices.source = file
 *   --rpc URL --device-registry ADDR [--admin-key-env NAME]   register the devices on-chain
 *   --duration S             stop after S seconds (default: run until SIGINT)
 *   --speed X                simulated seconds per real second (default 1)
 *   --offline-rate P         chance per tick that a device drops offline for 10–60 s, buffering
 *   --bad-sig-rate P --replay-rate P --implausible-rate P   faults to inject
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { parseArgs } from "node:util";
import mqtt from "mqtt";
import { createPublicClient, createWalletClient, http, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { bytesToHex, hexToBytes, idToBytes32, publicKeyToXY, type Envelope } from "../../../sdk/src/index.ts";
import { chainFor } from "../chain/viem.ts";
import { deviceFileJson } from "../devices/directory.ts";
import { readingsTopic } from "../ingest/mqtt.ts";
import { makeSimDevices, nextReading, signSim, type SimDevice } from "./devices.ts";

const { values } = parseArgs({
  options: {
    facility: { type: "string", default: "ktda-kangaita" },
    chimneys: { type: "string", default: "2" },
    meters: { type: "string", default: "1" },
    fuel: { type: "string", default: "1" },
    mqtt: { type: "string" },
    http: { type: "string" },
    "api-key": { type: "string" },
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

type Saved = {
  deviceId: string;
  facilityId: string;
  kind: SimDevice["kind"];
  intervalS: number;
  secretKey: string;
  seq: number;
};

function loadOrCreate(): SimDevice[] {
  if (existsSync(values.state!)) {
    const saved = JSON.parse(readFileSync(values.state!, "utf8")) as { devices: Saved[]; publicKeys: string[] };
    return saved.devices.map((s, i) => ({
      ...s,
      secretKey: hexToBytes(s.secretKey),
      publicKey: hexToBytes(saved.publicKeys[i]!),
      offlineUntilMs: 0,
      buffer: [],
    }));
  }
  return makeSimDevices({
    facilityId: values.facility!,
    chimneys: Number(values.chimneys),
    meters: Number(values.meters),
    fuel: Number(values.fuel),
  });
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
    })),
    publicKeys: devices.map((d) => bytesToHex(d.publicKey)),
  };
  writeFileSync(values.state!, JSON.stringify(out, null, 2), { mode: 0o600 });
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
    "function isActive(bytes32 id) view returns (bool)",
  ]);
  const address = values["device-registry"] as Hex;
  for (const d of devices) {
    if (await pub.readContract({ address, abi, functionName: "isActive", args: [idToBytes32(d.deviceId)] })) continue;
    const { x, y } = publicKeyToXY(d.publicKey);
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
  const devices = loadOrCreate();
  save(devices);
  if (values["devices-file"]) {
    writeFileSync(
      values["devices-file"],
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
  if (values.rpc) await registerOnChain(devices);

  const speed = Number(values.speed);
  const rates = {
    offline: Number(values["offline-rate"]),
    badSig: Number(values["bad-sig-rate"]),
    replay: Number(values["replay-rate"]),
    implausible: Number(values["implausible-rate"]),
  };
  const stats = { published: 0, acked: 0, failed: 0, buffered: 0, injected: 0 };
  let send: (d: SimDevice, envs: Envelope[]) => Promise<boolean>;
  let client: mqtt.MqttClient | null = null;
  if (values.http) {
    send = async (_d, envs) => {
      const res = await fetch(`${values.http}/v1/readings`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          ...(values["api-key"] ? { "x-api-key": values["api-key"] } : {}),
        },
        body: JSON.stringify(envs.length === 1 ? envs[0] : envs),
      }).catch(() => null);
      return res !== null && res.status < 500;
    };
  } else {
    client = await mqtt.connectAsync(values.mqtt ?? "mqtt://127.0.0.1:1883", { reconnectPeriod: 1000 });
    const c = client;
    send = (d, envs) =>
      c
        .publishAsync(readingsTopic(d.facilityId, d.deviceId), JSON.stringify(envs.length === 1 ? envs[0] : envs), {
          qos: 1,
        })
        .then(
          () => true,
          () => false,
        );
  }

  const startMs = Date.now();
  const simStartS = Math.floor(startMs / 1000);
  const nextDue = new Map(devices.map((d) => [d.deviceId, simStartS + d.intervalS]));
  let last: Envelope | null = null;
  let stop = false;
  process.on("SIGINT", () => (stop = true));
  process.on("SIGTERM", () => (stop = true));
  const endAtMs = values.duration ? startMs + Number(values.duration) * 1000 : Infinity;

  while (!stop && Date.now() < endAtMs) {
    const nowMs = Date.now();
    const simNowS = simStartS + Math.floor(((nowMs - startMs) / 1000) * speed);
    for (const d of devices) {
      while (nextDue.get(d.deviceId)! <= simNowS) {
        const ts = nextDue.get(d.deviceId)!;
        nextDue.set(d.deviceId, ts + d.intervalS);
        const implausible = Math.random() < rates.implausible;
        let env = signSim(d, nextReading(d, ts, { implausible }));
        if (Math.random() < rates.badSig) {
          env = { ...env, sig: `0x${env.sig.slice(2, 66)}${"1".repeat(64)}` as Hex };
          stats.injected++;
        }
        if (implausible) stats.injected++;
        d.buffer.push(env);
        if (last && Math.random() < rates.replay) {
          d.buffer.push(last);
          stats.injected++;
        }
        last = env;
      }
      if (d.offlineUntilMs === 0 && Math.random() < rates.offline)
        d.offlineUntilMs = nowMs + (10 + Math.random() * 50) * 1000;
      if (d.offlineUntilMs > nowMs) continue;
      d.offlineUntilMs = 0;
      if (d.buffer.length === 0) continue;
      const batch = d.buffer.splice(0, 200);
      stats.published += batch.length;
      if (await send(d, batch)) stats.acked += batch.length;
      else {
        stats.failed += batch.length;
        d.buffer.unshift(...batch); // keep them: an unacknowledged reading is re-sent
      }
    }
    save(devices);
    stats.buffered = devices.reduce((n, d) => n + d.buffer.length, 0);
    await new Promise((r) => setTimeout(r, 250));
  }
  save(devices);
  await client?.endAsync();
  console.log(JSON.stringify(stats));
}

main().catch((err: unknown) => {
  process.stderr.write(`carbonproof-sim: ${(err as Error).message}\n`);
  process.exit(1);
});
