import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort } from "../sdk/src/test/ports.ts";
import { waitFor } from "../oracle/test/helpers.ts";
import { moveAsidePreviousRun, webBuildIsStale, WEB_BUILD_INPUTS } from "./start.ts";

/**
 * `npm start`, the README's first command, as a user runs it: the whole local stack comes up,
 * the device simulator's readings reach the oracle node, the market and the explorer answer,
 * and SIGTERM stops every part and frees every port. It runs on free ports with a state
 * directory and an Ignition deployment id of its own (CARBONPROOF_STATE_DIR,
 * CARBONPROOF_DEPLOYMENT_ID), so a developer's own `npm start` is left alone. The web build is
 * the one the e2e suite just made (a stale one is rebuilt, as `npm start` does).
 */
const root = join(dirname(fileURLToPath(import.meta.url)), "..");

/** `eth_call` of a no-argument view of a contract the stack deployed, by its Ignition name. */
async function chainCall(port: number, name: string, signature: string): Promise<string> {
  const { keccak256, toBytes } = await import("viem");
  const deployed = JSON.parse(
    readFileSync(join(root, "ignition/deployments", deploymentIdOf(port), "deployed_addresses.json"), "utf8"),
  ) as Record<string, string>;
  const to = Object.entries(deployed).find(([k]) => k.endsWith(`#${name}`))?.[1];
  assert.ok(to, `${name} is deployed`);
  const res = await fetch(`http://127.0.0.1:${port}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      jsonrpc: "2.0",
      id: 1,
      method: "eth_call",
      params: [{ to, data: keccak256(toBytes(signature)).slice(0, 10) }, "latest"],
    }),
  });
  return ((await res.json()) as { result: string }).result;
}

const deploymentIdOf = (chainPort: number) => `start-test-${chainPort}`;

/** `npm start` with these flags, its own state directory and deployment id, its output gathered. */
function startStack(args: string[], state: string, chainPort: number, env: Record<string, string> = {}) {
  const child = spawn(process.execPath, ["scripts/start.ts", ...args], {
    cwd: root,
    env: {
      ...process.env,
      CARBONPROOF_STATE_DIR: state,
      CARBONPROOF_DEPLOYMENT_ID: deploymentIdOf(chainPort),
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.on("data", (c: Buffer) => (output += c.toString()));
  child.stderr.on("data", (c: Buffer) => (output += c.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  );
  return { child, exited, output: () => output };
}

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
    const ports = {
      chain: await freePort(),
      web: await freePort(),
      oracle: await freePort(),
      cosigner: await freePort(),
      mqtt: await freePort(),
    };
    const state = mkdtempSync(join(tmpdir(), "cp-start-"));
    const deploymentId = deploymentIdOf(ports.chain);
    const stack = startStack(
      [
        "--port",
        String(ports.chain),
        "--web-port",
        String(ports.web),
        "--oracle-port",
        String(ports.oracle),
        "--cosigner-port",
        String(ports.cosigner),
        "--mqtt-port",
        String(ports.mqtt),
      ],
      state,
      ports.chain,
    );
    const { child } = stack;
    const exited = stack.exited.then((e) => e.code);
    const tail = () => stack.output().split("\n").slice(-40).join("\n");
    try {
      // ready, or out early: an early exit fails at once with its output, not at the timeout
      await waitFor(() => /ready in [\d.]+ s/.test(stack.output()) || child.exitCode !== null, {
        timeoutMs: 480_000,
        intervalMs: 500,
        what: "npm start to say it is ready",
      }).catch((err: Error) => {
        throw new Error(`${err.message}\n${tail()}`);
      });
      if (child.exitCode !== null)
        throw new Error(`npm start exited ${child.exitCode} before it was ready:\n${tail()}`);
      t.diagnostic(/ready in [\d.]+ s/.exec(stack.output())![0]);
      assert.match(stack.output(), /contracts deployed:/);

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

      // the live batches are attested k of n: two nodes run, the OracleSet wants 2 signatures, so
      // a confirmed batch carries the co-signing node's signature beside the submitting node's
      assert.equal(
        (await fetch(`http://127.0.0.1:${ports.cosigner}/ready`)).status,
        200,
        "the co-signing node is ready",
      );
      const threshold = await chainCall(ports.chain, "OracleSet", "threshold()");
      assert.equal(BigInt(threshold), 2n, "the local OracleSet threshold is 2");
      const confirmed = await waitFor(
        async () => {
          const res = await fetch(`${oracle}/v1/batches?facilityId=ktda-chinga&state=confirmed&limit=1`);
          const { batches } = (await res.json()) as { batches: { id: number; attestationId: string }[] };
          return batches[0];
        },
        { timeoutMs: 180_000, intervalMs: 1000, what: "a live batch of ktda-chinga co-signed and confirmed on-chain" },
      );
      t.diagnostic(`batch ${confirmed.id} confirmed as attestation ${confirmed.attestationId}`);
      assert.match(stack.output(), /header co-signed/, "the submitting node logged the co-signature");
      // the web app's explorer opened its indexer store, the nodes their databases: node:sqlite's
      // notice was kept off the output
      assert.doesNotMatch(stack.output(), /SQLite is an experimental feature/);

      child.kill("SIGTERM");
      assert.equal(await exited, 0, `npm start stops cleanly on SIGTERM:\n${tail()}`);
      assert.match(stack.output(), /stopped\./);
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

test(
  "a SIGKILLed npm start leaves nothing running: its watchdog stops the parts and frees their ports",
  { timeout: 180_000 },
  async () => {
    const port = await freePort();
    const state = mkdtempSync(join(tmpdir(), "cp-start-kill-"));
    const deploymentId = deploymentIdOf(port);
    const stack = startStack(["--port", String(port), "--no-services"], state, port);
    const { child } = stack;
    const exited = stack.exited.then((e) => e.signal);
    try {
      // killed once ready, when nothing writes to the parts' output pipes any more (a part that
      // writes to a pipe whose reader is gone dies of it, which would free its port without a watchdog)
      await waitFor(() => /ready in [\d.]+ s/.test(stack.output()) || child.exitCode !== null, {
        timeoutMs: 120_000,
        intervalMs: 250,
        what: "npm start (chain and contracts only) to say it is ready",
      });
      await new Promise((r) => setTimeout(r, 1000));
      assert.ok(!(await portFree(port)), `the chain listens on ${port}`);
      child.kill("SIGKILL"); // no handler runs: stop() never does
      assert.equal(await exited, "SIGKILL");
      await waitFor(() => portFree(port), {
        timeoutMs: 30_000,
        intervalMs: 250,
        what: `the chain's port ${port} freed after npm start was killed`,
      });
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      rmSync(state, { recursive: true, force: true });
      rmSync(join(root, "ignition/deployments", deploymentId), { recursive: true, force: true });
    }
  },
);

/** Live processes (zombies left out) by pid: parent pid and command line, read from /proc. */
function processes(): Map<number, { ppid: number; cmdline: string }> {
  const all = new Map<number, { ppid: number; cmdline: string }>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // "pid (comm) state ppid …": comm may hold spaces and parentheses, so read after the last ")"
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const [state, ppid] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (state === "Z" || state === "X") continue;
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, "utf8").replaceAll("\0", " ").trim();
      all.set(Number(entry), { ppid: Number(ppid), cmdline });
    } catch {
      // it ended while being read
    }
  }
  return all;
}

/** The live descendants of `pid`: pid → command line. */
function descendants(pid: number): Map<number, string> {
  const all = processes();
  const found = new Map<number, string>();
  let frontier = [pid];
  while (frontier.length > 0) {
    const next: number[] = [];
    for (const [p, info] of all)
      if (frontier.includes(info.ppid) && !found.has(p)) {
        found.set(p, info.cmdline);
        next.push(p);
      }
    frontier = next;
  }
  return found;
}

test(
  "SIGTERM while a step runs (the deploy) stops that step too, and reports no failure",
  { timeout: 180_000 },
  async () => {
    const port = await freePort();
    const state = mkdtempSync(join(tmpdir(), "cp-start-step-"));
    const deploymentId = deploymentIdOf(port);
    const stack = startStack(["--port", String(port), "--no-services"], state, port);
    const { child } = stack;
    try {
      await waitFor(() => /deploying .* with Ignition/.test(stack.output()) || child.exitCode !== null, {
        timeoutMs: 120_000,
        intervalMs: 50,
        what: "npm start to begin the deploy",
      });
      assert.equal(child.exitCode, null, `npm start is running:\n${stack.output()}`);
      // the deploy (`npx hardhat ignition deploy`, and what npx runs) is under way
      const running = await waitFor(
        () => {
          const tree = descendants(child.pid!);
          return [...tree.values()].some((c) => c.includes("ignition") && c.includes(deploymentId)) ? tree : undefined;
        },
        { timeoutMs: 10_000, intervalMs: 20, what: "the deploy step's processes" },
      );
      child.kill("SIGTERM");
      const { code } = await stack.exited;
      // gone when npm start is: stop() waited for them (the watchdog, told it is done, exits on its own)
      const left = [...running]
        .filter(([pid]) => processes().has(pid))
        .filter(([, cmdline]) => !cmdline.includes("groups = new Set()"));
      assert.deepEqual(left, [], `no process of npm start outlives it:\n${stack.output()}`);
      assert.equal(code, 0, `npm start stops cleanly on SIGTERM:\n${stack.output()}`);
      assert.match(stack.output(), /stopped\./);
      assert.doesNotMatch(stack.output(), /failed|npm start: /, "a step cut short by the stop is not a failure");
      assert.doesNotMatch(stack.output(), /contracts deployed:|ready in/, "nothing goes on after the stop");
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      rmSync(state, { recursive: true, force: true });
      rmSync(join(root, "ignition/deployments", deploymentId), { recursive: true, force: true });
    }
  },
);

test("a Hardhat node that fails to start is reported with its last lines of output", { timeout: 120_000 }, async () => {
  const port = await freePort();
  const state = mkdtempSync(join(tmpdir(), "cp-start-chain-"));
  const stack = startStack(["--port", String(port), "--no-services"], state, port);
  const { child } = stack;
  // taken after npm start found it free, before the Hardhat node (seconds to load) listens on it
  const squatter = createServer((socket) => socket.destroy());
  try {
    await waitFor(() => /starting the Hardhat node/.test(stack.output()) || child.exitCode !== null, {
      timeoutMs: 60_000,
      intervalMs: 10,
      what: "npm start to start the Hardhat node",
    });
    await new Promise<void>((resolve, reject) => {
      squatter.once("error", reject);
      squatter.listen(port, "127.0.0.1", resolve);
    });
    const { code } = await stack.exited;
    assert.equal(code, 1, stack.output());
    assert.match(stack.output(), /chain exited unexpectedly \(code 1\)/);
    // the node's own account of it, hidden while it runs (it logs every request)
    assert.match(stack.output(), /\[chain\] .*EADDRINUSE/, stack.output());
  } finally {
    squatter.close();
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    rmSync(state, { recursive: true, force: true });
  }
});

test(
  "a part whose command cannot be started is reported in a sentence, not a stack trace",
  { timeout: 60_000 },
  async () => {
    const port = await freePort();
    const state = mkdtempSync(join(tmpdir(), "cp-start-enoent-"));
    // no npx on the PATH: the Hardhat node (`npx hardhat node`) cannot be spawned
    const stack = startStack(["--port", String(port), "--no-services"], state, port, { PATH: state });
    try {
      const { code } = await stack.exited;
      assert.equal(code, 1, stack.output());
      assert.match(stack.output(), /chain could not be started \(`npx`: spawn npx ENOENT\); stopping the stack/);
      assert.doesNotMatch(stack.output(), /^\s+at /m, "no stack trace");
    } finally {
      if (stack.child.exitCode === null && stack.child.signalCode === null) stack.child.kill("SIGKILL");
      rmSync(state, { recursive: true, force: true });
    }
  },
);

test("the web build is stale when any of its inputs is newer: web, sdk and the subgraph client", () => {
  const repo = mkdtempSync(join(tmpdir(), "cp-start-stale-"));
  try {
    const old = new Date("2026-01-01T00:00:00Z");
    const built = new Date("2026-01-02T00:00:00Z");
    const newer = new Date("2026-01-03T00:00:00Z");
    const files = WEB_BUILD_INPUTS.map((input) => (/\.\w+$/.test(input) ? input : `${input}/deep/file.ts`));
    for (const f of files) {
      mkdirSync(dirname(join(repo, f)), { recursive: true });
      writeFileSync(join(repo, f), "");
      utimesSync(join(repo, f), old, old);
    }
    assert.equal(webBuildIsStale(repo, ".next"), true, "no build yet");
    mkdirSync(join(repo, "web/.next"), { recursive: true });
    writeFileSync(join(repo, "web/.next/BUILD_ID"), "x");
    utimesSync(join(repo, "web/.next/BUILD_ID"), built, built);
    assert.equal(webBuildIsStale(repo, ".next"), false, "every input older than the build");
    for (const must of ["subgraph/client", "web/next.config.ts", "web/package.json", "web/src", "sdk/src"])
      assert.ok(WEB_BUILD_INPUTS.includes(must), `${must} is an input of the web build`);
    for (const f of files) {
      utimesSync(join(repo, f), newer, newer);
      assert.equal(webBuildIsStale(repo, ".next"), true, `${f} changed after the build`);
      utimesSync(join(repo, f), old, old);
    }
  } finally {
    rmSync(repo, { recursive: true, force: true });
  }
});

test("each start keeps one previous run: it says the older one kept in previous/ is deleted", () => {
  const dir = mkdtempSync(join(tmpdir(), "cp-start-previous-"));
  try {
    assert.match(moveAsidePreviousRun(dir), /no local data from a previous run/);
    const run = (marker: string) => {
      mkdirSync(join(dir, "oracle"), { recursive: true });
      writeFileSync(join(dir, "oracle", "run.txt"), marker);
      return moveAsidePreviousRun(dir);
    };
    const first = run("first");
    assert.match(first, /was moved to .*previous/);
    assert.doesNotMatch(first, /delet/, "nothing older to delete");
    assert.equal(readFileSync(join(dir, "previous/oracle/run.txt"), "utf8"), "first");
    const second = run("second");
    assert.match(second, /replacing \(deleting\) the older run's data kept there/);
    assert.equal(readFileSync(join(dir, "previous/oracle/run.txt"), "utf8"), "second");
    assert.ok(!existsSync(join(dir, "oracle")), "the state directory starts clean");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
