import { test, after, describe } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { decodeBundle, defaultFactorSet, factorSetId, readingDigestHex, type FactorSet } from "../../sdk/src/index.ts";
import { parseConfig } from "../src/config/load.ts";
import { deviceFileJson } from "../src/devices/directory.ts";
import { SdkCalculator } from "../src/compute/sdk.ts";
import { deviceInfo, electricity, makeDevice, testNode } from "./fixtures.ts";
import { tempDir, waitFor } from "./helpers.ts";

/**
 * `methodology.factorSetFile` end to end: a real node (SQLite, Helia on a temp dir, the HTTP API,
 * verify and bundle threads) computing with a factor set read from a file, and the real CLI
 * refusing to start on an unusable one.
 */
const tmp = tempDir("cp-factor-set-");
after(() => tmp.cleanup());

/** The built-in set with Kenya's grid factor set to 500 g CO2e/kWh, under another name (so another id). */
function kenya500(): FactorSet {
  const base = defaultFactorSet().content;
  const content = {
    ...base,
    name: "test/kenya-500",
    grid: { ...base.grid!, mgCo2ePerKwh: { ...base.grid!.mgCo2ePerKwh, KEN: 500_000 } },
  };
  return { id: factorSetId(content), content };
}

describe("methodology.factorSetFile", { timeout: 300_000 }, () => {
  test("a node computes with the file's factor set, stores its id with the reading, and its bundle carries the set", async () => {
    const set = kenya500();
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
    const cli = join(dirname(fileURLToPath(import.meta.url)), "../src/cli/main.ts");
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
    const env: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("CARBONPROOF_")) env[k] = v;
    const r = await promisify(execFile)(
      process.execPath,
      ["--disable-warning=ExperimentalWarning", cli, "start", "--config", config],
      { env, timeout: 180_000 },
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
});
