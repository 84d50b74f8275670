import { test, afterEach, beforeEach, describe } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Envelope } from "../../sdk/src/index.ts";
import { createApiKey } from "../src/api/keys.ts";
import { parseDeviceFile } from "../src/devices/directory.ts";
import { dayFactor } from "../src/sim/devices.ts";
import { SqliteStorage } from "../src/storage/sqlite.ts";
import { testNode } from "./fixtures.ts";
import { runSimProcess, tempDir, waitFor, type SimRun } from "./helpers.ts";

const sim = join(dirname(fileURLToPath(import.meta.url)), "../src/sim/main.ts");

test("the day/night pattern is low at night and peaks in the afternoon (UTC+3)", () => {
  const midnightUtc = Date.UTC(2026, 0, 1) / 1000;
  const localNoon = midnightUtc + (13 - 3) * 3600;
  const localNight = midnightUtc + (2 + 24 - 3) * 3600;
  assert.ok(dayFactor(localNoon) > 0.95);
  assert.ok(dayFactor(localNight) <= 0.2 + 1e-9);
});

type Node = Awaited<ReturnType<typeof testNode>>;

/** Runs the simulator as its own process (what a user runs) with its state in the node's temp dir. */
function runSim(node: Node, transport: string[], extra: string[], env: NodeJS.ProcessEnv = {}): Promise<SimRun> {
  return runSimProcess(
    [
      ...transport,
      "--chimneys",
      "2",
      "--meters",
      "1",
      "--fuel",
      "1",
      "--state",
      join(node.dir, "sim-state.json"),
      "--devices-file",
      join(node.dir, "sim-devices.json"),
      ...extra,
    ],
    env,
  );
}

/** First run: only the keys and the device list (duration 0), which the node's directory then holds. */
async function createDevices(node: Node, transport: string[]): Promise<void> {
  const r = await runSim(node, transport, ["--duration", "0"]);
  assert.equal(r.code, 0, r.stderr);
  for (const d of parseDeviceFile(readFileSync(join(node.dir, "sim-devices.json"), "utf8"))) node.devices.set(d);
}

/** Stored readings with the time each was received. */
function storedInOrder(node: Node): { deviceId: string; seq: number; ts: number; receivedAtMs: number }[] {
  assert.ok(node.storage instanceof SqliteStorage);
  return (
    node.storage.db.prepare("SELECT device_id, seq, ts, received_at_ms FROM readings").all() as {
      device_id: string;
      seq: number;
      ts: number;
      received_at_ms: number;
    }[]
  ).map((r) => ({ deviceId: r.device_id, seq: r.seq, ts: r.ts, receivedAtMs: r.received_at_ms }));
}

/** Every device's readings 1..its saved seq are stored once each, in seq order, with rising timestamps. */
function assertNoneLostInOrder(node: Node): number {
  const saved = JSON.parse(readFileSync(join(node.dir, "sim-state.json"), "utf8")) as {
    devices: { deviceId: string; seq: number; buffer?: unknown[] }[];
  };
  const rows = storedInOrder(node);
  let total = 0;
  const dead = node.storage
    .listDeadLetters({ limit: 20 })
    .map((d) => `${d.deviceId}/${d.seq} ${d.reason}: ${d.detail}`);
  assert.deepEqual(dead, [], "nothing dead-lettered");
  for (const d of saved.devices) {
    assert.deepEqual(d.buffer ?? [], [], `${d.deviceId} has nothing left to send`);
    // the node may store the readings of one message in any order: "in order" is in order of arrival
    const mine = rows.filter((r) => r.deviceId === d.deviceId).sort((a, b) => a.seq - b.seq);
    assert.deepEqual(
      mine.map((r) => r.seq),
      Array.from({ length: d.seq }, (_, i) => i + 1),
      `${d.deviceId}: seqs 1..${d.seq} stored once each`,
    );
    for (let i = 1; i < mine.length; i++) {
      assert.ok(
        mine[i]!.receivedAtMs >= mine[i - 1]!.receivedAtMs,
        `${d.deviceId}: seq ${mine[i]!.seq} not sent before its predecessor`,
      );
      assert.ok(mine[i]!.ts > mine[i - 1]!.ts, `${d.deviceId}: ts rises with seq`);
    }
    total += d.seq;
  }
  assert.equal(rows.length, total);
  return total;
}

test("--help explains --speed; --speed above 1 without --duration stops with what to do", () => {
  const help = spawnSync(process.execPath, ["--disable-warning=ExperimentalWarning", sim, "--help"], {
    encoding: "utf8",
  });
  assert.equal(help.status, 0, help.stderr);
  assert.match(help.stdout, /back-fills S × X seconds of history that ends now/);
  const fast = spawnSync(
    process.execPath,
    ["--disable-warning=ExperimentalWarning", sim, "--speed", "60", "--state", "/nonexistent/sim.json"],
    {
      encoding: "utf8",
    },
  );
  assert.equal(fast.status, 1);
  assert.match(fast.stderr, /--speed 60 needs --duration S/);
  const bad = spawnSync(process.execPath, ["--disable-warning=ExperimentalWarning", sim, "--replay-rate", "lots"], {
    encoding: "utf8",
  });
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /--replay-rate must be a number from 0 to 1/);
  // device counts and URLs are checked before anything is made: no state file is left behind
  const dir = mkdtempSync(join(tmpdir(), "cp-sim-flags-"));
  try {
    const state = join(dir, "sim.json");
    for (const [args, message] of [
      [["--chimneys", "abc"], /--chimneys must be a number from 0 to 10000, not "abc"/],
      [["--meters", "1.5"], /--meters must be a whole number from 0 to 10000, not "1.5"/],
      [["--chimneys", "0", "--meters", "0", "--fuel", "0"], /the simulator needs at least one device/],
      [["--http", "127.0.0.1:8787"], /--http must be a URL starting with http:\/\/ or https:\/\//],
      [["--mqtt", "http://127.0.0.1:1883"], /--mqtt must be a URL starting with mqtt:\/\/ or mqtts:\/\//],
      [["--facility", "KTDA"], /--facility must be a facility id \(lower-case letters.*not "KTDA"/],
    ] as const) {
      const r = spawnSync(
        process.execPath,
        ["--disable-warning=ExperimentalWarning", sim, ...args, "--duration", "1", "--state", state],
        { encoding: "utf8" },
      );
      assert.equal(r.status, 1, `${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, message);
      assert.equal(existsSync(state), false, `${args.join(" ")} left a state file`);
    }
    const toDir = spawnSync(
      process.execPath,
      ["--disable-warning=ExperimentalWarning", sim, "--devices-file", dir, "--duration", "0", "--state", state],
      { encoding: "utf8" },
    );
    assert.equal(toDir.status, 1, toDir.stderr);
    assert.match(toDir.stderr, /--devices-file: cannot write \S+ \(EISDIR\): give the path of a file/);
    // with a state file, a flag for new devices that differs from it stops the run (it did nothing);
    // the same as the file, or left out, is fine
    const run = (...args: string[]) =>
      spawnSync(
        process.execPath,
        ["--disable-warning=ExperimentalWarning", sim, ...args, "--duration", "0", "--state", state],
        {
          encoding: "utf8",
        },
      );
    assert.equal(run().status, 0);
    const other = run("--facility", "ktda-chinga", "--chimneys", "4");
    assert.equal(other.status, 1, other.stderr);
    assert.match(
      other.stderr,
      /holds 2 chimney\(s\), 1 meter\(s\) and 1 fuel device\(s\) of ktda-kangaita, not what --facility, --chimneys say: .*give another --state/,
    );
    assert.equal(run("--facility", "ktda-kangaita", "--chimneys", "2").status, 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a state file that is not JSON or not a simulator state stops the run with what to do, and is left as it was", () => {
  const dir = mkdtempSync(join(tmpdir(), "cp-sim-state-"));
  try {
    const state = join(dir, "sim.json");
    for (const [text, message] of [
      [
        '{"devices": [',
        /the state file \S+sim\.json cannot be read as JSON \(.+\); it holds the devices' keys and unsent readings: repair it, or move it aside to start with new devices/,
      ],
      [
        '{"devices": 5, "publicKeys": []}',
        /the state file \S+sim\.json is not a simulator state: devices: .+; repair it, or move it aside/,
      ],
      [
        JSON.stringify({
          devices: [{ deviceId: "d", facilityId: "f", kind: "chimney", intervalS: 5, secretKey: "0x01", seq: 0 }],
          publicKeys: ["0x04"],
        }),
        /is not a simulator state: devices\.0\.kind: /,
      ],
    ] as const) {
      writeFileSync(state, text);
      // an unreachable node: the state is read before anything is sent
      const r = spawnSync(
        process.execPath,
        [
          "--disable-warning=ExperimentalWarning",
          sim,
          "--state",
          state,
          "--http",
          "http://127.0.0.1:9",
          "--duration",
          "1",
        ],
        { encoding: "utf8" },
      );
      assert.equal(r.status, 1, r.stderr);
      assert.match(r.stderr, message);
      assert.equal(readFileSync(state, "utf8"), text, "the state file is not overwritten");
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a run killed while it sends gives no seq out again: the next run sends the same envelopes, none with another reading", async () => {
  // stands in for the node's HTTP API: records each envelope, SIGKILLs the simulator at the first
  // request (before answering, as a node that took the readings but whose answer never came)
  const dir = mkdtempSync(join(tmpdir(), "cp-sim-killed-"));
  let pid = 0;
  let killed = false;
  const seen = new Map<string, string>(); // deviceId/seq → the envelope's signed reading
  const twice: string[] = [];
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => {
      const parsed = JSON.parse(body) as Envelope | Envelope[];
      for (const e of Array.isArray(parsed) ? parsed : [parsed]) {
        const key = `${e.reading.deviceId}/${e.reading.seq}`;
        const text = JSON.stringify(e.reading);
        if (seen.has(key) && seen.get(key) !== text) twice.push(key);
        seen.set(key, text);
      }
      if (!killed) {
        killed = true;
        process.kill(pid, "SIGKILL");
        return;
      }
      res.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  try {
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const args = ["--http", url, "--chimneys", "2", "--meters", "1", "--state", join(dir, "state.json")];
    const first = await runSimProcess([...args, "--duration", "30"], {}, { onSpawn: (p) => (pid = p) });
    assert.equal(first.code, null, "killed");
    assert.ok(seen.size > 0, "it sent before it was killed");
    // the second run, long enough for a chimney's next reading (every 5 s): it sends what is left,
    // then readings of its own
    const sent = seen.size;
    const second = await runSimProcess([...args, "--duration", "7"], {}, { onSpawn: (p) => (pid = p) });
    assert.equal(second.code, 0, second.stderr);
    assert.ok(seen.size > sent, "the second run sent readings of its own");
    assert.deepEqual(twice, [], "no (device, seq) sent with two different readings");
  } finally {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test("over MQTT, a node that goes away mid-run: the run still ends at --duration, its readings kept", async () => {
  const tmp = tempDir(); // the node's data dir, kept when it closes: the state file is in it
  const node = await testNode({ dir: tmp.dir });
  let closed = false;
  try {
    const mqttArgs = ["--mqtt", node.mqtt!.url];
    await createDevices(node, mqttArgs);
    const started = Date.now();
    const run = runSimProcess(
      [
        ...mqttArgs,
        ...["--chimneys", "2", "--meters", "1", "--fuel", "1", "--speed", "60", "--duration", "4"],
        ...["--state", join(node.dir, "sim-state.json"), "--devices-file", join(node.dir, "sim-devices.json")],
      ],
      {},
      { killAfterMs: 60_000 },
    );
    // once it is connected and sending (a loaded host takes a while to start it)
    await waitFor(() => (node.storage.listReadings({ limit: 1 }).length > 0 ? true : null), {
      timeoutMs: 30_000,
      what: "a reading of the simulator stored",
    });
    await node.close(); // its broker with it
    closed = true;
    const { code, stats, stderr } = await run;
    // review: mqtt.js held the publish until a reconnect that never came, and the run with it
    assert.equal(code, 0, `ended by itself, not killed: ${stderr}`);
    assert.ok(Date.now() - started < 30_000, `${Date.now() - started} ms`);
    assert.ok(stats!.buffered > 0, "the readings it could not send are kept");
    const saved = JSON.parse(readFileSync(join(node.dir, "sim-state.json"), "utf8")) as {
      devices: { buffer: unknown[] }[];
    };
    assert.equal(
      saved.devices.reduce((n, d) => n + d.buffer.length, 0),
      stats!.buffered,
    );
  } finally {
    if (!closed) await node.close();
    tmp.cleanup();
  }
});

describe("carbonproof-sim over MQTT", { timeout: 180_000 }, () => {
  let node: Node;
  beforeEach(async () => {
    node = await testNode();
  });
  afterEach(async () => node.close());

  test("each injected fault is dead-lettered with its own reason, as many as injected; --speed back-fills up to now", async () => {
    const mqttArgs = ["--mqtt", node.mqtt!.url];
    await createDevices(node, mqttArgs);
    const startS = Math.floor(Date.now() / 1000);
    const { code, stats, stderr } = await runSim(node, mqttArgs, [
      "--duration",
      "4",
      "--speed",
      "120",
      "--bad-sig-rate",
      "0.15",
      "--implausible-rate",
      "0.15",
      "--replay-rate",
      "0.15",
    ]);
    assert.equal(code, 0, stderr);
    const s = stats!;
    // 480 simulated seconds: about 200 readings; each fault is expected ~30 times, never 0 in practice
    assert.ok(s.published > 150, `published ${s.published}`);
    assert.equal(s.acked, s.published);
    for (const [fault, n] of Object.entries(s.faults)) assert.ok(n > 0, `some ${fault} injected`);
    const dead = await waitFor(
      () => {
        const stored = node.storage.listReadings({ limit: 10_000 }).length;
        const letters = node.storage.listDeadLetters({ limit: 10_000 });
        return stored + letters.length >= s.published ? letters : null;
      },
      { timeoutMs: 60_000, what: "every published reading stored or dead-lettered" },
    );
    const byReason: Record<string, number> = {};
    for (const d of dead) byReason[d.reason] = (byReason[d.reason] ?? 0) + 1;
    assert.deepEqual(byReason, {
      "bad-signature": s.faults.badSignature,
      replay: s.faults.replay,
      implausible: s.faults.implausible,
    });
    const rows = storedInOrder(node);
    assert.equal(rows.length, s.published - s.injected);
    for (const r of rows) assert.ok(r.ts * 1000 <= r.receivedAtMs, `ts ${r.ts} not ahead of its arrival`);
    // back-filled: history reaches about duration × speed back and ends at the run's end
    assert.ok(Math.min(...rows.map((r) => r.ts)) <= startS - 400, "history starts minutes back");
    assert.ok(Math.max(...rows.map((r) => r.ts)) >= startS - 10, "history ends at the wall clock");
  });

  test("a device offline through a whole run keeps its readings in the state file; the next run sends them all, in order", async () => {
    const mqttArgs = ["--mqtt", node.mqtt!.url];
    await createDevices(node, mqttArgs);
    const offline = await runSim(node, mqttArgs, ["--duration", "3", "--speed", "60", "--offline-rate", "1"]);
    assert.equal(offline.code, 0, offline.stderr);
    assert.equal(offline.stats!.acked, 0);
    assert.ok(offline.stats!.buffered > 20, `buffered ${offline.stats!.buffered}`);
    assert.equal(node.storage.listReadings({ limit: 10 }).length, 0, "nothing sent while offline");
    // saved through a temp file renamed over it: owner-only, nothing left beside it
    assert.equal(statSync(join(node.dir, "sim-state.json")).mode & 0o777, 0o600);
    assert.deepEqual(
      readdirSync(node.dir).filter((f) => f.startsWith("sim-state.json.")),
      [],
    );
    const online = await runSim(node, mqttArgs, ["--duration", "3"]);
    assert.equal(online.code, 0, online.stderr);
    assert.equal(online.stats!.buffered, 0);
    const total = assertNoneLostInOrder(node);
    assert.ok(total >= offline.stats!.buffered);
  });

  test("publishes to a node with mqtt.requireAuth using --api-key, and stops with a clear message without it", async () => {
    await node.close();
    node = await testNode({ config: { mqtt: { requireAuth: true } } });
    const mqttArgs = ["--mqtt", node.mqtt!.url];
    await createDevices(node, mqttArgs);
    const refused = await runSim(node, mqttArgs, ["--duration", "2"]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /refused the credentials.*--api-key/);
    const key = createApiKey(node.storage, { scope: "facility", subject: "ktda-kangaita" }).key;
    const r = await runSim(node, mqttArgs, ["--duration", "3", "--speed", "30", "--api-key", key]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(!r.stderr.includes(key), "the key is never printed");
    assert.ok(r.stats!.acked > 0);
    assert.equal(r.stats!.acked, r.stats!.published);
    await waitFor(() => node.storage.listReadings({ limit: 10_000 }).length === r.stats!.acked, {
      timeoutMs: 30_000,
      what: "the readings stored",
    });
    // the same key as a password from the environment, out of sight of ps; a state of its own, so
    // that its back-fill is not history the run above already sent (its devices are unknown to the
    // node: their readings are acknowledged and dead-lettered, which is all a login needs)
    const viaEnv = await runSim(
      node,
      mqttArgs,
      ["--duration", "3", "--speed", "30", "--username", "ktda-kangaita", "--state", join(node.dir, "sim-env.json")],
      { CARBONPROOF_SIM_PASSWORD: key },
    );
    assert.equal(viaEnv.code, 0, viaEnv.stderr);
    assert.ok(viaEnv.stats!.acked > 0, JSON.stringify(viaEnv.stats));
    assert.equal(viaEnv.stats!.acked, viaEnv.stats!.published);
    assert.ok(!viaEnv.stderr.includes(key), "the password is never printed");
  });
});

describe("carbonproof-sim over HTTP", { timeout: 180_000 }, () => {
  let node: Node;
  beforeEach(async () => {
    node = await testNode({
      config: {
        // 2 requests in 2 s per key: four devices sending every tick are answered 429 most of the time
        http: { rateLimit: { max: 2, windowMs: 2000 } },
        // a back-fill held back by the limit reaches the node out of time order across devices; no
        // period is sealed during the test, so none of it is `too-late` (docs/oracle.md, simulator)
        batching: { graceS: 900 },
      },
    });
  });
  afterEach(async () => node.close());

  test("a 401 stops the simulator with a message about the API key, and keeps its readings", async () => {
    const httpArgs = ["--http", node.httpUrl!];
    await createDevices(node, httpArgs);
    const r = await runSim(node, httpArgs, ["--duration", "5"]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /HTTP 401.*--api-key/);
    const saved = JSON.parse(readFileSync(join(node.dir, "sim-state.json"), "utf8")) as {
      devices: { seq: number; buffer: unknown[] }[];
    };
    const made = saved.devices.reduce((n, d) => n + d.seq, 0);
    assert.ok(made > 0);
    assert.equal(
      saved.devices.reduce((n, d) => n + d.buffer.length, 0),
      made,
    );
  });

  test("429 answers from a low rate limit are retried after Retry-After; every reading is stored once, in order", async () => {
    const key = createApiKey(node.storage, { scope: "facility", subject: "ktda-kangaita" }).key;
    const httpArgs = ["--http", node.httpUrl!, "--api-key", key];
    await createDevices(node, httpArgs);
    let rateLimited = 0;
    const waitsMs: number[] = [];
    let last: SimRun | null = null;
    // the first run meets the limit; what it still holds at its end is sent by the next ones
    for (let i = 0; i < 6 && (last === null || last.stats!.buffered > 0); i++) {
      last = await runSim(node, httpArgs, ["--duration", i === 0 ? "6" : "4", "--speed", i === 0 ? "60" : "1"]);
      assert.equal(last.code, 0, last.stderr);
      assert.ok(!last.stderr.includes(key), "the key is never printed");
      rateLimited += last.stats!.rateLimited;
      for (const m of last.stderr.matchAll(/HTTP 429; \d+ readings kept, retrying in (\d+) ms/g))
        waitsMs.push(Number(m[1]));
    }
    assert.equal(last!.stats!.buffered, 0, "all sent");
    assert.ok(rateLimited > 0, "the rate limit was met");
    assert.equal(waitsMs.length, rateLimited);
    // the node's Retry-After (whole seconds within its 2 s window), not the simulator's own shorter backoff
    for (const ms of waitsMs) assert.ok(ms >= 1000 && ms <= 2000, `waited ${ms} ms`);
    assertNoneLostInOrder(node);
  });
});
