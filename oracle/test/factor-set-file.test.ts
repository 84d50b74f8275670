import { test, after, describe } from "node:test";
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { decodeBundle, readingDigestHex } from "../../sdk/src/index.ts";
import { freePort } from "../../sdk/src/test/ports.ts";
import { parseConfig } from "../src/config/load.ts";
import { deviceFileJson } from "../src/devices/directory.ts";
import { SdkCalculator } from "../src/compute/sdk.ts";
import { deviceInfo, electricity, kenya500FactorSet, makeDevice, testNode } from "./fixtures.ts";
import { tempDir, waitFor } from "./helpers.ts";

/**
 * `methodology.factorSetFile` end to end: a real node (SQLite, Helia on a temp dir, the HTTP API,
 * verify and bundle threads) computing with a factor set read from a file, and the real CLI
 * refusing to start on an unusable one.
 */
const tmp = tempDir("cp-factor-set-");
after(() => tmp.cleanup());

const cli = join(dirname(fileURLToPath(import.meta.url)), "../src/cli/main.ts");
/** The environment without the caller's CARBONPROOF_* variables. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("CARBONPROOF_")) env[k] = v;
  return env;
}

describe("methodology.factorSetFile", { timeout: 300_000 }, () => {
  test("a node computes with the file's factor set, stores its id with the reading, and its bundle carries the set", async () => {
    const set = kenya500FactorSet();
    const factorSetFile = join(tmp.dir, "kenya-500.json");
    writeFileSync(factorSetFile, JSON.stringify(set)); // the {id, content} `carbonproof factors show --json` prints
    const methodology = { methodology: { factorSetFile }, facilities: { "ktda-kangaita": { country: "KEN" } } };
    const meter = makeDevice("kangaita-meter-1");
    const node = await testNode({
      devices: [deviceInfo(meter)],
      config: { ...methodology, http: { openIngest: true }, batching: { windowS: 1, graceS: 0 } },
      parts: { calculator: SdkCalculator.fromConfig(parseConfig(methodology)), chain: null },
    });
    try {
      const env = electricity(meter, { energyWh: 120, ts: Math.floor(Date.now() / 1000) - 5 });
      const res = await fetch(`${node.httpUrl}/v1/readings`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(env),
      });
      assert.equal(res.status, 201, await res.clone().text());
      const stored = node.storage.getReading(readingDigestHex(env.reading))!;
      // known answer, GHG Protocol Scope 2 location-based: 0.120 kWh × 500 g CO2e/kWh (the file's KEN factor) = 60 g
      assert.equal(stored.fossilMg, 60_000n);
      assert.equal(stored.factorSetId, set.id);
      const pinned = await waitFor(
        () => {
          const b = node.storage.getBatch(stored.batchId!)!;
          return b.state === "pinned" ? b : null;
        },
        { timeoutMs: 120_000, intervalMs: 100, what: "the reading's batch pinned" },
      );
      assert.equal(pinned.factorSetId, set.id);
      const bundle = decodeBundle((await node.content!.get(pinned.bundleCid!))!);
      assert.equal(bundle.factorSet.id, set.id);
      assert.equal(bundle.factorSet.content.grid!.mgCo2ePerKwh.KEN, 500_000);
    } finally {
      await node.close();
    }
  });

  test("carbonproof-oracle start on a missing factor-set file exits 2 naming the file and the key", async () => {
    const missing = join(tmp.dir, "no-such-factors.json");
    const devices = join(tmp.dir, "devices.json");
    writeFileSync(devices, deviceFileJson([]));
    const config = join(tmp.dir, "oracle.json");
    // a config the node starts with, but for its factor-set file
    writeFileSync(
      config,
      JSON.stringify({
        dataDir: join(tmp.dir, "data"),
        http: { port: 0 },
        mqtt: { port: 0 },
        devices: { file: devices },
        methodology: { factorSetFile: missing },
      }),
    );
    const r = await promisify(execFile)(
      process.execPath,
      ["--disable-warning=ExperimentalWarning", cli, "start", "--config", config],
      { env: cleanEnv(), timeout: 180_000 },
    ).then(
      () => ({ code: 0, stderr: "" }),
      (err: { code: number | null; stderr: string }) => err,
    );
    assert.equal(r.code, 2, r.stderr);
    assert.ok(
      r.stderr.includes(
        `methodology.factorSetFile (${missing}) cannot be read: no such file; check the path, or leave the key out for the built-in factor set\n`,
      ),
      r.stderr,
    );
    assert.doesNotMatch(r.stderr, /\n\s+at /, "a config error, not a stack trace");
  });

  test("carbonproof-oracle start reads the paths of its config file relative to that file's directory, not the working directory", async () => {
    // the layout of /etc/carbonproof with relative paths in oracle.json; the node started from elsewhere
    const etc = join(tmp.dir, "etc");
    const elsewhere = join(tmp.dir, "elsewhere");
    mkdirSync(join(etc, "factors"), { recursive: true });
    mkdirSync(elsewhere, { recursive: true });
    const set = kenya500FactorSet();
    writeFileSync(join(etc, "factors", "kenya-500.json"), JSON.stringify(set));
    const meter = makeDevice("kangaita-meter-rel");
    writeFileSync(join(etc, "devices.json"), deviceFileJson([deviceInfo(meter)]));
    const httpPort = await freePort();
    const config = join(etc, "oracle.json");
    writeFileSync(
      config,
      JSON.stringify({
        dataDir: "data",
        http: { port: httpPort, openIngest: true },
        mqtt: { mode: "off" },
        devices: { source: "file", file: "devices.json" },
        methodology: { factorSetFile: "factors/kenya-500.json" },
        facilities: { "ktda-kangaita": { country: "KEN" } },
      }),
    );
    const log = join(tmp.dir, "relative-node.log");
    const fd = openSync(log, "a");
    const child = spawn(process.execPath, ["--disable-warning=ExperimentalWarning", cli, "start", "--config", config], {
      cwd: elsewhere,
      env: cleanEnv(),
      stdio: ["ignore", fd, fd],
    });
    closeSync(fd);
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    try {
      await waitFor(
        async () => {
          if (child.exitCode !== null) throw new Error(`node exited ${child.exitCode}:\n${readFileSync(log, "utf8")}`);
          return (await fetch(`http://127.0.0.1:${httpPort}/health`).catch(() => null))?.ok;
        },
        { timeoutMs: 120_000, intervalMs: 200, what: "the node started from another directory up" },
      );
      const env = electricity(meter, { energyWh: 120, ts: Math.floor(Date.now() / 1000) - 5 });
      const res = await fetch(`http://127.0.0.1:${httpPort}/v1/readings`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(env),
      });
      assert.equal(res.status, 201, `the device in ${etc}/devices.json is known: ${await res.clone().text()}`);
      const stored = (await (
        await fetch(`http://127.0.0.1:${httpPort}/v1/readings/${readingDigestHex(env.reading)}`)
      ).json()) as { result: { fossilCo2eMg: string; factorSetId: string } };
      // known answer, GHG Protocol Scope 2 location-based: 0.120 kWh × 500 g CO2e/kWh (the file's KEN factor) = 60 g
      assert.equal(stored.result.factorSetId, set.id, "the factor set of the config file's directory");
      assert.equal(stored.result.fossilCo2eMg, "60000");
      assert.ok(existsSync(join(etc, "data", "oracle.db")), "the database is in the config file's data dir");
      assert.ok(!existsSync(join(elsewhere, "data")), "nothing in the working directory");
    } finally {
      child.kill("SIGTERM");
      await exited;
    }
  });
});
