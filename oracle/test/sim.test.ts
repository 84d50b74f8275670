import { test, after, before, describe } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseDeviceFile } from "../src/devices/directory.ts";
import { dayFactor } from "../src/sim/devices.ts";
import { testNode } from "./fixtures.ts";
import { waitFor } from "./helpers.ts";

const sim = join(dirname(fileURLToPath(import.meta.url)), "../src/sim/main.ts");

test("the day/night pattern is low at night and peaks in the afternoon (UTC+3)", () => {
  const midnightUtc = Date.UTC(2026, 0, 1) / 1000;
  const localNoon = midnightUtc + (13 - 3) * 3600;
  const localNight = midnightUtc + (2 + 24 - 3) * 3600;
  assert.ok(dayFactor(localNoon) > 0.95);
  assert.ok(dayFactor(localNight) <= 0.2 + 1e-9);
});

describe("carbonproof-sim against a node", { timeout: 90_000 }, () => {
  let node: Awaited<ReturnType<typeof testNode>>;
  before(async () => {
    node = await testNode();
  });
  after(async () => node.close());

  test("publishes signed readings over MQTT; injected bad signatures and implausible values are dead-lettered", async () => {
    const devicesFile = join(node.dir, "sim-devices.json");
    const state = join(node.dir, "sim-state.json");
    const args = [
      sim,
      "--mqtt",
      node.mqtt!.url,
      "--chimneys",
      "2",
      "--meters",
      "1",
      "--fuel",
      "1",
      "--state",
      state,
      "--devices-file",
      devicesFile,
    ];
    // first run only creates the keys and the device list (duration 0), so the node knows the devices
    const run = (extra: string[]) =>
      new Promise<string>((resolve, reject) => {
        const c = spawn(process.execPath, ["--disable-warning=ExperimentalWarning", ...args, ...extra], {
          stdio: ["ignore", "pipe", "pipe"],
        });
        let out = "";
        let err = "";
        c.stdout.on("data", (d: Buffer) => (out += d.toString()));
        c.stderr.on("data", (d: Buffer) => (err += d.toString()));
        c.once("exit", (code) => (code === 0 ? resolve(out) : reject(new Error(`sim exited ${code}: ${err}`))));
      });
    await run(["--duration", "0"]);
    for (const d of parseDeviceFile(readFileSync(devicesFile, "utf8"))) node.devices.set(d);
    const out = await run(["--duration", "4", "--speed", "60", "--bad-sig-rate", "0.1", "--implausible-rate", "0.1"]);
    const stats = JSON.parse(out.trim().split("\n").at(-1)!) as { published: number; acked: number; injected: number };
    assert.ok(stats.published > 20, `published ${stats.published}`);
    assert.equal(stats.acked, stats.published);
    const s = await waitFor(() => {
      const stored = node.storage.listReadings({ limit: 10_000 }).length;
      const dead = node.storage.countDeadLetters();
      return stored + dead >= stats.published ? { stored, dead } : null;
    });
    assert.equal(s.stored + s.dead, stats.published, "every published reading is stored or dead-lettered");
    assert.ok(s.stored > 0);
    const reasons = new Set(node.storage.listDeadLetters({ limit: 1000 }).map((d) => d.reason));
    for (const r of reasons) assert.ok(["bad-signature", "implausible"].includes(r), `unexpected reason ${r}`);
  });
});
