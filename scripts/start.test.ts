import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort } from "../oracle/test/chain-harness.ts";
import { waitFor } from "../oracle/test/helpers.ts";

/**
 * `npm start`, the README's first command, as a user runs it: the whole local stack comes up,
 * the device simulator's readings reach the oracle node, the market and the explorer answer,
 * and SIGTERM stops every part and frees every port. It runs on free ports with a state
 * directory and an Ignition deployment id of its own (CARBONPROOF_STATE_DIR,
 * CARBONPROOF_DEPLOYMENT_ID), so a developer's own `npm start` is left alone. The web build is
 * the one the e2e suite just made (a stale one is rebuilt, as `npm start` does).
 */
const root = join(dirname(fileURLToPath(import.meta.url)), "..");

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once("error", () => resolve(false));
    s.listen(port, "127.0.0.1", () => s.close(() => resolve(true)));
  });
}

test(
  "npm start brings up the chain, contracts, oracle node, simulator and web app, and SIGTERM stops them all",
  { timeout: 600_000 },
  async (t) => {
    const ports = { chain: await freePort(), web: await freePort(), oracle: await freePort(), mqtt: await freePort() };
    const state = mkdtempSync(join(tmpdir(), "cp-start-"));
    const deploymentId = `start-test-${ports.chain}`;
    const child = spawn(
      process.execPath,
      [
        "scripts/start.ts",
        "--port",
        String(ports.chain),
        "--web-port",
        String(ports.web),
        "--oracle-port",
        String(ports.oracle),
        "--mqtt-port",
        String(ports.mqtt),
      ],
      {
        cwd: root,
        env: { ...process.env, CARBONPROOF_STATE_DIR: state, CARBONPROOF_DEPLOYMENT_ID: deploymentId },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let output = "";
    child.stdout.on("data", (c: Buffer) => (output += c.toString()));
    child.stderr.on("data", (c: Buffer) => (output += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    const tail = () => output.split("\n").slice(-40).join("\n");
    try {
      // ready, or out early: an early exit fails at once with its output, not at the timeout
      await waitFor(() => /ready in [\d.]+ s/.test(output) || child.exitCode !== null, {
        timeoutMs: 480_000,
        intervalMs: 500,
        what: "npm start to say it is ready",
      }).catch((err: Error) => {
        throw new Error(`${err.message}\n${tail()}`);
      });
      if (child.exitCode !== null)
        throw new Error(`npm start exited ${child.exitCode} before it was ready:\n${tail()}`);
      t.diagnostic(/ready in [\d.]+ s/.exec(output)![0]);
      assert.match(output, /contracts deployed:/);

      const web = `http://127.0.0.1:${ports.web}`;
      for (const path of ["/", "/explorer", "/explorer/facilities/ktda-kangaita", "/verify"]) {
        const res = await fetch(`${web}${path}`);
        assert.equal(res.status, 200, `${path} of the web app`);
      }
      const oracle = `http://127.0.0.1:${ports.oracle}`;
      assert.equal((await fetch(`${oracle}/ready`)).status, 200, "the oracle node is ready");
      // the simulator's devices are registered on-chain and publish signed readings over MQTT
      const stored = await waitFor(
        async () => {
          const res = await fetch(`${oracle}/v1/readings?facilityId=ktda-chinga&limit=5`);
          const { readings } = (await res.json()) as { readings: unknown[] };
          return readings.length;
        },
        { timeoutMs: 90_000, intervalMs: 500, what: "the simulator's first readings stored by the oracle node" },
      );
      t.diagnostic(`${stored}+ readings of ktda-chinga stored`);
      assert.ok(existsSync(join(state, "oracle")), "the oracle's data is in the state directory asked for");

      child.kill("SIGTERM");
      assert.equal(await exited, 0, `npm start stops cleanly on SIGTERM:\n${tail()}`);
      assert.match(output, /stopped\./);
      // every part stopped, not only what npm start spawned (npx runs the servers in children)
      for (const [name, port] of Object.entries(ports))
        assert.ok(await portFree(port), `${name} port ${port} is free again`);
    } finally {
      if (child.exitCode === null) {
        child.kill("SIGTERM");
        await exited;
      }
      rmSync(state, { recursive: true, force: true });
      rmSync(join(root, "ignition/deployments", deploymentId), { recursive: true, force: true });
    }
  },
);
