#!/usr/bin/env node
/**
 * `npm run bench:ingest [-- --seconds N --rate R --devices D --connections C]`
 *
 * Signed readings from many simulated devices over MQTT (QoS 1) into one oracle node
 * (`carbonproof-oracle start` as a child process, SQLite synchronous=FULL, 2 s window) with a
 * local Hardhat node for attestations. The corpus is signed before the measured window. Prints a
 * table, then as the very last line one JSON object:
 * {"readingsPerSec","rawVerifyPerSec","ratio","p95DurableMs","p95OnChainMs","peakRssMb","lost"}.
 * Not a test: it prints figures (issue 6 lists the targets).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createPrivateKey, sign as cryptoSign, verify as cryptoVerify, createPublicKey } from "node:crypto";
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { Worker } from "node:worker_threads";
import { DatabaseSync } from "node:sqlite";
import mqtt from "mqtt";
import {
  canonicalBytes,
  generateDeviceKey,
  normalizeLowS,
  publicKeyToPem,
  readingDigestHex,
  secretKeyToPem,
  type Reading,
} from "../sdk/src/index.ts";
import { deviceFileJson } from "../oracle/src/devices/directory.ts";
import { readingsTopic } from "../oracle/src/ingest/mqtt.ts";
import { HardhatNode, ORACLE_KEY, deploy, freePort } from "../oracle/test/chain-harness.ts";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const { values } = parseArgs({
  options: {
    seconds: { type: "string", default: "60" },
    rate: { type: "string", default: "12000" },
    devices: { type: "string", default: "400" },
    facilities: { type: "string", default: "8" },
    connections: { type: "string", default: "32" },
    /** write a V8 CPU profile of the node child into this folder (`node --cpu-prof`) */
    "cpu-prof": { type: "string" },
  },
});
const seconds = Number(values.seconds);
const rate = Number(values.rate);
const deviceCount = Number(values.devices);
const facilityCount = Number(values.facilities);
const connectionCount = Number(values.connections);

function pct(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}
const log = (s: string) => process.stderr.write(`${s}\n`);

/** CPU seconds (user + system) a process, or one of its threads, has used so far (Linux /proc). */
function cpuSeconds(statPath: string): number {
  // fields after the ")" that ends the command name: state is field 3, utime 14, stime 15
  const f = readFileSync(statPath, "utf8").split(") ")[1]!.split(" ");
  return (Number(f[11]) + Number(f[12])) / CLOCK_TICKS;
}
const CLOCK_TICKS = 100;

/** CPU seconds of every thread of a process, by thread id. */
function threadCpu(pid: number): Map<number, number> {
  const out = new Map<number, number>();
  for (const t of readdirSync(`/proc/${pid}/task`)) {
    try {
      out.set(Number(t), cpuSeconds(`/proc/${pid}/task/${t}/stat`));
    } catch {
      // the thread ended
    }
  }
  return out;
}

/** Raw P-256 verification (OpenSSL via node:crypto, as the node verifies) on every core for `ms`. */
async function rawVerifyRate(ms: number): Promise<number> {
  const k = generateDeviceKey();
  const bytes = canonicalBytes({
    v: 1,
    deviceId: "bench",
    facilityId: "bench",
    seq: 1,
    ts: 1,
    intervalS: 5,
    kind: "electricity",
    m: { energyWh: 1 },
  });
  const sig = cryptoSign("sha256", bytes, {
    key: createPrivateKey(secretKeyToPem(k.secretKey)),
    dsaEncoding: "ieee-p1363",
  });
  const src = `
    const { parentPort, workerData } = require("node:worker_threads");
    const { createPublicKey, verify } = require("node:crypto");
    const key = createPublicKey(workerData.pem);
    const bytes = Buffer.from(workerData.bytes), sig = Buffer.from(workerData.sig);
    let n = 0; const end = Date.now() + workerData.ms;
    while (Date.now() < end) { for (let i = 0; i < 100; i++) verify("sha256", bytes, { key, dsaEncoding: "ieee-p1363" }, sig); n += 100; }
    parentPort.postMessage(n);`;
  const cores = availableParallelism();
  const counts = await Promise.all(
    Array.from(
      { length: cores },
      () =>
        new Promise<number>((resolve, reject) => {
          const w = new Worker(src, { eval: true, workerData: { pem: publicKeyToPem(k.publicKey), bytes, sig, ms } });
          w.once("message", (n: number) => resolve(n));
          w.once("error", reject);
        }),
    ),
  );
  void cryptoVerify;
  void createPublicKey;
  return counts.reduce((a, b) => a + b, 0) / (ms / 1000);
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "cp-bench-"));
  let hh: HardhatNode | null = null;
  let node: ChildProcess | null = null;
  try {
    log(
      `bench: ${seconds} s at ${rate} readings/s target, ${deviceCount} devices in ${facilityCount} facilities, ${connectionCount} MQTT connections`,
    );
    hh = await HardhatNode.start();
    const dep = await deploy(hh.url);

    // devices and the pre-signed corpus (node:crypto signs, low-s normalised by the sdk)
    const devices = Array.from({ length: deviceCount }, (_, i) => {
      const k = generateDeviceKey();
      return {
        deviceId: `bench-dev-${i}`,
        facilityId: `bench-fac-${i % facilityCount}`,
        ...k,
        key: createPrivateKey(secretKeyToPem(k.secretKey)),
        seq: 0,
      };
    });
    writeFileSync(
      join(dir, "devices.json"),
      deviceFileJson(
        devices.map((d) => ({
          deviceId: d.deviceId,
          facilityId: d.facilityId,
          status: "active",
          keys: [{ publicKey: d.publicKey, validFrom: 0, validUntil: null }],
        })),
      ),
    );
    const mqttPort = await freePort();
    const httpPort = await freePort();
    const config = {
      dataDir: join(dir, "data"),
      log: { level: "warn" },
      http: { port: httpPort, rateLimit: { max: 100000 } },
      mqtt: { port: mqttPort },
      devices: { source: "file", file: join(dir, "devices.json") },
      batching: { windowS: 2, graceS: 1, tickMs: 100 },
      chain: { enabled: true, rpcUrl: hh.url, attestationRegistry: dep.attestationRegistry, pollMs: 200 },
      facilities: Object.fromEntries(
        Array.from({ length: facilityCount }, (_, i) => [`bench-fac-${i}`, { country: "KEN" }]),
      ),
    };
    writeFileSync(join(dir, "oracle.json"), JSON.stringify(config));
    const nodeLog = openSync(join(dir, "node.log"), "a");
    node = spawn(
      process.execPath,
      [
        "--disable-warning=ExperimentalWarning",
        ...(values["cpu-prof"] ? ["--cpu-prof", `--cpu-prof-dir=${values["cpu-prof"]}`] : []),
        join(root, "oracle/src/cli/main.ts"),
        "start",
        "--config",
        join(dir, "oracle.json"),
      ],
      {
        env: { ...process.env, CARBONPROOF_ORACLE_PRIVATE_KEY: ORACLE_KEY },
        stdio: ["ignore", nodeLog, nodeLog],
      },
    );
    closeSync(nodeLog);
    for (let i = 0; ; i++) {
      try {
        if ((await fetch(`http://127.0.0.1:${httpPort}/health`)).ok) break;
      } catch {
        if (i > 600) throw new Error(`node did not start: ${readFileSync(join(dir, "node.log"), "utf8").slice(-2000)}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }

    // pre-signed corpus (node:crypto signs, the sdk normalises to low-s). Each reading's ts is the
    // second it is scheduled to be published, so the windows fill as they would live: the signing
    // rate is calibrated first to know when publishing can start.
    const total = seconds * rate;
    const signOne = (d: (typeof devices)[number], ts: number, i: number) => {
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
      const sig = normalizeLowS(
        cryptoSign("sha256", canonicalBytes(reading), { key: d.key, dsaEncoding: "ieee-p1363" }),
      );
      return {
        topic: readingsTopic(d.facilityId, d.deviceId),
        payload: JSON.stringify({ reading, sig }),
        digest: readingDigestHex(reading),
        atS: ts,
      };
    };
    const calib = performance.now();
    const probe = devices[0]!;
    const probeSeq = probe.seq;
    for (let i = 0; i < 500; i++) signOne(probe, 0, i);
    probe.seq = probeSeq;
    const signPerSec = 500 / ((performance.now() - calib) / 1000);
    const signStart = performance.now();
    const startAtS = Math.ceil(Date.now() / 1000 + (total / signPerSec) * 1.3 + 5);
    const corpus: { topic: string; payload: string; digest: string; atS: number }[] = new Array(total);
    for (let i = 0; i < total; i++) corpus[i] = signOne(devices[i % deviceCount]!, startAtS + Math.floor(i / rate), i);
    log(
      `corpus: ${total} readings signed in ${((performance.now() - signStart) / 1000).toFixed(1)} s; publishing starts in ${(startAtS - Date.now() / 1000).toFixed(1)} s`,
    );

    const clients = await Promise.all(
      Array.from({ length: connectionCount }, (_, i) =>
        mqtt.connectAsync(`mqtt://127.0.0.1:${mqttPort}`, { clientId: `bench-${i}`, reconnectPeriod: 0 }),
      ),
    );
    const waitS = startAtS - Date.now() / 1000;
    if (waitS > 0) await new Promise((r) => setTimeout(r, waitS * 1000));

    // confirmed batches as they appear (publish → on-chain latency)
    const confirmedAt = new Map<number, number>();
    let polling = true;
    const poller = (async () => {
      while (polling) {
        try {
          const res = (await (
            await fetch(`http://127.0.0.1:${httpPort}/v1/batches?state=confirmed&limit=1000`)
          ).json()) as { batches: { id: number }[] };
          const now = performance.now();
          for (const b of res.batches) if (!confirmedAt.has(b.id)) confirmedAt.set(b.id, now);
        } catch {
          // the node is busy; next round
        }
        await new Promise((r) => setTimeout(r, 200));
      }
    })();

    const publishedAt = new Float64Array(total);
    const durableMs: number[] = [];
    const acked = new Uint8Array(total);
    let ackCount = 0;
    const cpu0 = process.cpuUsage();
    const nodeCpu0 = cpuSeconds(`/proc/${node.pid}/stat`);
    const nodeMainCpu0 = cpuSeconds(`/proc/${node.pid}/task/${node.pid}/stat`);
    const threads0 = threadCpu(node.pid!);
    const t0 = performance.now();
    let lastAck = t0;
    let next = 0;
    await new Promise<void>((resolve) => {
      const tick = () => {
        const due = Math.min(total, Math.floor(((performance.now() - t0) / 1000) * rate));
        for (; next < due; next++) {
          const i = next;
          const c = corpus[i]!;
          publishedAt[i] = performance.now();
          clients[i % clients.length]!.publish(c.topic, c.payload, { qos: 1 }, (err) => {
            if (err) return;
            const now = performance.now();
            acked[i] = 1;
            ackCount++;
            lastAck = now;
            durableMs.push(now - publishedAt[i]!);
            if (ackCount === total) resolve();
          });
        }
        if (next < total) setTimeout(tick, 5);
      };
      tick();
      setTimeout(resolve, (seconds + 120) * 1000).unref();
    });
    const cpu = process.cpuUsage(cpu0);
    const nodeCpuS = cpuSeconds(`/proc/${node.pid}/stat`) - nodeCpu0;
    const nodeMainCpuS = cpuSeconds(`/proc/${node.pid}/task/${node.pid}/stat`) - nodeMainCpu0;
    const threads1 = threadCpu(node.pid!);
    const windowMs = lastAck - t0;
    const readingsPerSec = ackCount / (windowMs / 1000);
    log(`published ${total}, acknowledged ${ackCount} in ${(windowMs / 1000).toFixed(1)} s`);

    // wait for every batch to be confirmed (up to 120 s)
    const deadline = Date.now() + 120_000;
    for (;;) {
      const s = (await (await fetch(`http://127.0.0.1:${httpPort}/v1/status`)).json()) as { backlog: number };
      if (s.backlog === 0 || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    await new Promise((r) => setTimeout(r, 500));
    polling = false;
    await poller;

    const peakRssKb = Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${node.pid}/status`, "utf8"))?.[1] ?? NaN);
    for (const c of clients) c.end(true);
    node.kill("SIGTERM");
    await new Promise((r) => node!.once("exit", r));

    // lost = acknowledged but not stored; on-chain latency per reading from its batch's confirmation
    const db = new DatabaseSync(join(dir, "data/oracle.db"), { readOnly: true });
    const rows = db.prepare("SELECT digest, batch_id FROM readings").all() as { digest: string; batch_id: number }[];
    db.close();
    const batchOf = new Map(rows.map((r) => [r.digest, Number(r.batch_id)]));
    log(`stored readings: ${rows.length}; confirmed batches seen: ${confirmedAt.size}`);
    let lost = 0;
    const onChainMs: number[] = [];
    for (let i = 0; i < total; i++) {
      if (!acked[i]) continue;
      const b = batchOf.get(corpus[i]!.digest);
      if (b === undefined) {
        lost++;
        continue;
      }
      const at = confirmedAt.get(b);
      if (at !== undefined && i % 10 === 0) onChainMs.push(at - publishedAt[i]!);
    }

    log("raw P-256 verification on all cores (3 s)…");
    const rawVerifyPerSec = await rawVerifyRate(3000);
    const generatorCpuPct = ((cpu.user + cpu.system) / 1000 / windowMs) * 100;
    const result = {
      readingsPerSec: Math.round(readingsPerSec),
      rawVerifyPerSec: Math.round(rawVerifyPerSec),
      ratio: Number((readingsPerSec / rawVerifyPerSec).toFixed(3)),
      p95DurableMs: Number(pct(durableMs, 95).toFixed(1)),
      p95OnChainMs: Math.round(pct(onChainMs, 95)),
      peakRssMb: Math.round(peakRssKb / 1024),
      lost,
    };
    const table: [string, string, string][] = [
      ["accepted readings/s", String(result.readingsPerSec), "≥ 10,000"],
      ["raw P-256 verify/s (all cores)", String(result.rawVerifyPerSec), ""],
      ["ratio", String(result.ratio), "≥ 0.5"],
      ["publish→durable p50 ms", pct(durableMs, 50).toFixed(1), ""],
      ["publish→durable p95 ms", String(result.p95DurableMs), "< 200"],
      ["publish→durable p99 ms", pct(durableMs, 99).toFixed(1), ""],
      ["publish→on-chain p95 ms", String(result.p95OnChainMs), "< 5,000"],
      ["node peak RSS MiB", String(result.peakRssMb), "< 1,024"],
      ["readings lost", String(lost), "0"],
      ["node CPU µs per reading (all threads)", ((nodeCpuS * 1e6) / ackCount).toFixed(0), ""],
      ["node CPU µs per reading (main thread)", ((nodeMainCpuS * 1e6) / ackCount).toFixed(0), ""],
      ["node CPU (% of one core)", ((nodeCpuS * 1e5) / windowMs).toFixed(0), ""],
      ["load generator CPU (% of one core)", generatorCpuPct.toFixed(0), ""],
      ["load generator CPU µs per reading", ((cpu.user + cpu.system) / ackCount).toFixed(0), ""],
      ["cores", String(availableParallelism()), ""],
    ];
    console.log(`${"figure".padEnd(36)} ${"value".padStart(12)}  target`);
    for (const [k, v, t] of table) console.log(`${k.padEnd(36)} ${v.padStart(12)}  ${t}`);
    // the node's busiest threads: the main thread, the verify workers, the ingest writer, V8's GC helpers
    const busiest = [...threads1]
      .map(([tid, s]) => [tid, s - (threads0.get(tid) ?? 0)] as const)
      .filter(([, s]) => s > 0.5)
      .sort((a, b) => b[1] - a[1]);
    for (const [tid, s] of busiest) {
      const label = tid === node.pid ? "main thread" : `thread ${tid}`;
      console.log(`${`  CPU µs per reading, ${label}`.padEnd(36)} ${((s * 1e6) / ackCount).toFixed(0).padStart(12)}`);
    }
    console.log(JSON.stringify(result));
  } finally {
    if (node && node.exitCode === null) node.kill("SIGKILL");
    await hh?.stop();
    if (process.env.BENCH_KEEP) log(`kept ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench:ingest failed: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
