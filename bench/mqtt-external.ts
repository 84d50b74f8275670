#!/usr/bin/env node
/**
 * `npm run bench:mqtt-external [-- --readings N --devices D --facilities F --subscribers S --publishers P]`
 *
 * Intake from an external broker (`mqtt.mode: external`), the production path: a local Mosquitto
 * on a loopback port and one oracle node (`carbonproof-oracle start` as a child process, SQLite
 * synchronous = FULL, the default; no chain) subscribed to it, run twice in the same sitting on
 * the same corpus, each time with a fresh broker and data dir:
 *
 * 1. one connection: one subscriber, no shared group (what the node did before `mqtt.subscribers`).
 * 2. `--subscribers` (16) connections in the shared group `carbonproof` (MQTT 5).
 *
 * The corpus, `--readings` (6,000) signed readings from `--devices` (400) devices as bench:ingest
 * makes them (node:crypto P-256 signatures normalised to low-s by the sdk), is signed before the
 * measured window. Each run publishes all of it at once with QoS 1 over `--publishers` (8)
 * connections and polls the node's /metrics until every reading is stored. Readings/s stored is
 * counted from the first publish to the last reading stored; readings per group commit is
 * `readings_accepted_total` over the commit histogram's count. Lost: published and acknowledged
 * by the broker, yet not in the node's database once it stopped (read from SQLite).
 *
 * Mosquitto is installed with apt when missing (as firmware/test.sh does; needs root). Its
 * `max_queued_messages` is lifted (default 1,000 per session): a slower subscriber would otherwise
 * have the broker drop what it queues past that, which is the broker's loss, not the node's.
 *
 * Prints a table, then as the very last line one JSON object:
 * {"readingsPerSecOneConnection","readingsPerSec","readingsPerCommitOneConnection","readingsPerCommit","subscribers","lost"}.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { DatabaseSync } from "node:sqlite";
import mqtt from "mqtt";
import { freePort } from "../sdk/src/test/ports.ts";
import { ensureDebianCommand } from "../scripts/debian.ts";
import { benchDevices, signBenchReading, writeBenchDeviceFile } from "./corpus.ts";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const { values } = parseArgs({
  options: {
    readings: { type: "string", default: "6000" },
    devices: { type: "string", default: "400" },
    facilities: { type: "string", default: "8" },
    subscribers: { type: "string", default: "16" },
    publishers: { type: "string", default: "8" },
  },
});
const readingCount = Number(values.readings);
const deviceCount = Number(values.devices);
const facilityCount = Number(values.facilities);
const subscribers = Number(values.subscribers);
const publishers = Number(values.publishers);
for (const [k, v] of Object.entries({
  readings: readingCount,
  devices: deviceCount,
  facilities: facilityCount,
  subscribers,
  publishers,
}))
  if (!Number.isInteger(v) || v < 1)
    throw new Error(`--${k} must be a whole number ≥ 1, got ${values[k as keyof typeof values]}`);

const log = (s: string) => process.stderr.write(`${s}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Mosquitto's binary, installed with apt when missing (root only, as firmware/test.sh). */
const mosquittoBinary = () =>
  ensureDebianCommand({ bins: ["mosquitto", "/usr/sbin/mosquitto"], args: ["-h"], pkg: "mosquitto", log });

/** Mosquitto on a fresh loopback port, sessions in memory, with the settings the repo ships (no cap on a session's queue). */
async function startMosquitto(bin: string, dir: string): Promise<{ url: string; process: ChildProcess }> {
  const port = await freePort();
  const conf = join(dir, "mosquitto.conf");
  const shipped = fileURLToPath(new URL("../oracle/deploy/mosquitto/conf.d", import.meta.url));
  writeFileSync(conf, `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\ninclude_dir ${shipped}\n`);
  const p = spawn(bin, ["-c", conf], { stdio: "ignore" });
  const url = `mqtt://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try {
      const c = await mqtt.connectAsync(url, { reconnectPeriod: 0, connectTimeout: 2000 });
      await c.endAsync();
      return { url, process: p };
    } catch (err) {
      if (i > 150 || p.exitCode !== null) throw new Error("mosquitto did not start listening", { cause: err });
      await sleep(200);
    }
  }
}

/** Counters of the node's /metrics: readings accepted over MQTT and group commits. */
async function nodeCounters(httpPort: number): Promise<{ accepted: number; commits: number }> {
  const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
  const num = (re: RegExp) => Number(re.exec(text)?.[1] ?? 0);
  return {
    accepted: num(/^carbonproof_oracle_readings_accepted_total\{source="mqtt"\} (\d+)/m),
    commits: num(/^carbonproof_oracle_ingest_commit_seconds_count (\d+)/m),
  };
}

type Corpus = {
  devicesFile: string;
  facilities: string[];
  messages: { topic: string; payload: string }[];
  digests: string[];
};

/** Devices and their signed readings, as bench:ingest makes them; signed before any measured window. */
function signCorpus(dir: string): Corpus {
  const devices = benchDevices(deviceCount, facilityCount);
  const devicesFile = join(dir, "devices.json");
  writeBenchDeviceFile(devicesFile, devices);
  // readings 5 s apart per device, the last one about now (well inside the node's clock skew)
  const perDevice = Math.ceil(readingCount / deviceCount);
  const nowS = Math.floor(Date.now() / 1000);
  const messages: Corpus["messages"] = [];
  const digests: string[] = [];
  for (let i = 0; i < readingCount; i++) {
    const d = devices[i % deviceCount]!;
    const { payload, digest } = signBenchReading(d, nowS - (perDevice - (d.seq + 1)) * 5, i);
    messages.push({ topic: d.topic, payload });
    digests.push(digest);
  }
  return { devicesFile, facilities: [...new Set(devices.map((d) => d.facilityId))], messages, digests };
}

type RunResult = { readingsPerSec: number; readingsPerCommit: number; lost: number; stored: number; seconds: number };

/** One node against a fresh Mosquitto with these mqtt settings: publishes the corpus, waits until it is stored. */
async function run(
  name: string,
  bin: string,
  corpus: Corpus,
  dir: string,
  mqttCfg: Record<string, unknown>,
): Promise<RunResult> {
  mkdirSync(dir, { recursive: true });
  const broker = await startMosquitto(bin, dir);
  let node: ChildProcess | null = null;
  try {
    const httpPort = await freePort();
    const configFile = join(dir, "oracle.json");
    writeFileSync(
      configFile,
      JSON.stringify({
        dataDir: join(dir, "data"),
        log: { level: "warn" },
        http: { port: httpPort, rateLimit: { max: 100000 } },
        mqtt: { mode: "external", url: broker.url, ...mqttCfg },
        devices: { source: "file", file: corpus.devicesFile },
        facilities: Object.fromEntries(corpus.facilities.map((f) => [f, { country: "KEN" }])),
      }),
    );
    const nodeLog = openSync(join(dir, "node.log"), "a");
    node = spawn(
      process.execPath,
      ["--disable-warning=ExperimentalWarning", join(root, "oracle/src/cli/main.ts"), "start", "--config", configFile],
      { stdio: ["ignore", nodeLog, nodeLog] },
    );
    closeSync(nodeLog);
    for (let i = 0; ; i++) {
      try {
        if ((await fetch(`http://127.0.0.1:${httpPort}/health`)).ok) break;
      } catch {
        if (i > 600 || node.exitCode !== null)
          throw new Error(`node did not start: ${readFileSync(join(dir, "node.log"), "utf8").slice(-2000)}`);
      }
      await sleep(100);
    }
    const pubs = await Promise.all(
      Array.from({ length: publishers }, () =>
        mqtt.connectAsync(broker.url, { reconnectPeriod: 0, connectTimeout: 10_000, protocolVersion: 5 }),
      ),
    );
    log(`${name}: publishing ${corpus.messages.length} readings (QoS 1) over ${publishers} connections`);
    const t0 = performance.now();
    const published = Promise.all(
      corpus.messages.map((m, i) => pubs[i % publishers]!.publishAsync(m.topic, m.payload, { qos: 1 })),
    );
    let publishedMs = 0;
    published.then(
      () => (publishedMs = performance.now()),
      () => {}, // a failed publish is thrown by `await published` below
    );
    let lastAccepted = 0;
    let lastProgressMs = performance.now();
    let doneMs = 0;
    let counters = { accepted: 0, commits: 0 };
    for (;;) {
      counters = await nodeCounters(httpPort);
      const now = performance.now();
      if (counters.accepted >= corpus.messages.length) {
        doneMs = now;
        break;
      }
      if (counters.accepted > lastAccepted) {
        lastAccepted = counters.accepted;
        lastProgressMs = now;
      } else if (now - lastProgressMs > 30_000) {
        log(`${name}: no reading stored for 30 s, ${counters.accepted} of ${corpus.messages.length}; stopping`);
        doneMs = lastProgressMs;
        break;
      }
      await sleep(50);
    }
    await published;
    const publishedS = (publishedMs - t0) / 1000;
    await Promise.all(pubs.map((c) => c.endAsync()));
    node.kill("SIGTERM");
    await new Promise((r) => node!.once("exit", r));
    const db = new DatabaseSync(join(dir, "data/oracle.db"), { readOnly: true });
    const stored = new Set(
      (db.prepare("SELECT digest FROM readings").all() as { digest: string }[]).map((r) => r.digest),
    );
    db.close();
    const lost = corpus.digests.filter((d) => !stored.has(d)).length;
    const seconds = (doneMs - t0) / 1000;
    log(
      `${name}: ${stored.size} stored in ${seconds.toFixed(1)} s (all published by ${publishedS.toFixed(1)} s), ${counters.commits} group commits, ${lost} lost`,
    );
    return {
      readingsPerSec: Math.round(counters.accepted / seconds),
      readingsPerCommit: Number((counters.accepted / Math.max(1, counters.commits)).toFixed(1)),
      lost,
      stored: stored.size,
      seconds,
    };
  } finally {
    if (node && node.exitCode === null) node.kill("SIGKILL");
    broker.process.kill("SIGTERM");
  }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "cp-bench-mqtt-external-"));
  try {
    const bin = mosquittoBinary();
    const t = performance.now();
    const corpus = signCorpus(dir);
    log(
      `signed ${readingCount} readings of ${deviceCount} devices in ${((performance.now() - t) / 1000).toFixed(1)} s`,
    );
    const one = await run("one connection", bin, corpus, join(dir, "one"), {});
    const many = await run(`${subscribers} subscribers`, bin, corpus, join(dir, "many"), {
      sharedGroup: "carbonproof",
      subscribers,
    });
    const rows: [string, string, string][] = [
      ["readings/s stored", String(one.readingsPerSec), String(many.readingsPerSec)],
      ["readings per group commit", String(one.readingsPerCommit), String(many.readingsPerCommit)],
      ["seconds to store the corpus", one.seconds.toFixed(1), many.seconds.toFixed(1)],
      ["readings stored", String(one.stored), String(many.stored)],
      ["readings lost", String(one.lost), String(many.lost)],
    ];
    const head: [string, string, string] = ["figure", "one connection", `${subscribers} subscribers (shared)`];
    const w = [Math.max(...[head, ...rows].map((r) => r[0].length)), head[1].length, head[2].length];
    console.log(`── ${readingCount} readings, ${deviceCount} devices, Mosquitto on loopback, storage synchronous FULL`);
    for (const r of [head, ...rows])
      console.log(`${r[0].padEnd(w[0]!)}  ${r[1].padStart(w[1]!)}  ${r[2].padStart(w[2]!)}`);
    console.log(
      JSON.stringify({
        readingsPerSecOneConnection: one.readingsPerSec,
        readingsPerSec: many.readingsPerSec,
        readingsPerCommitOneConnection: one.readingsPerCommit,
        readingsPerCommit: many.readingsPerCommit,
        subscribers,
        lost: one.lost + many.lost,
      }),
    );
  } finally {
    if (process.env.BENCH_KEEP) log(`kept ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench:mqtt-external failed: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
