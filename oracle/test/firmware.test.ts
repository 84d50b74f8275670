import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { generateDeviceKey, leafHash, secretKeyToPem } from "../../sdk/src/index.ts";
import { attestationRegistryAbi } from "../src/chain/abi.ts";
import { HardhatNode, chainTestNode, deploy, type Deployment, waitForConfirmed } from "./chain-harness.ts";
import type { testNode } from "./fixtures.ts";
import { waitFor } from "./helpers.ts";

/**
 * Issue 10's end-to-end: the firmware's portable core built for Linux (`cp-device`, made by
 * `bash firmware/test.sh`, which `npm test` runs before this suite) signs readings and
 * heartbeats and publishes them over MQTT to the oracle's embedded broker; the oracle
 * validates them against the key registered on a real Hardhat node and attests them.
 */
const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const cpDevice = process.env.CP_DEVICE ?? join(root, "firmware", "build", "cp-device");
const missing = existsSync(cpDevice) ? false : `${cpDevice} is not built: run \`bash firmware/test.sh\` first`;

describe("firmware host device → MQTT → oracle → attestation", { timeout: 120_000, skip: missing }, () => {
  let hh: HardhatNode;
  let dep: Deployment;
  let node: Awaited<ReturnType<typeof testNode>>;
  let dir: string;
  const deviceId = "kangaita-fw-1";
  const facilityId = "ktda-kangaita";

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "carbonproof-fw-"));
    hh = await HardhatNode.start();
    dep = await deploy(hh.url);
    const key = generateDeviceKey();
    writeFileSync(join(dir, "device.pem"), secretKeyToPem(key.secretKey), { mode: 0o600 });
    await dep.registerDevice(deviceId, facilityId, key.publicKey, 0);
    node = await chainTestNode(hh, dep);
  });
  after(async () => {
    await node?.close();
    await hh?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test("readings signed by the firmware core are stored, attested on-chain and provable; heartbeats are not dead letters", async () => {
    const broker = new URL(node.mqtt!.url);
    const config = {
      deviceId,
      facilityId,
      keyFile: join(dir, "device.pem"),
      dataDir: dir,
      broker: { host: broker.hostname, port: Number(broker.port), backoffMinMs: 100, backoffMaxMs: 1000 },
      intervalS: 1,
      periodMs: 250,
      count: 6,
      heartbeatS: 1,
      timeoutS: 60,
    };
    writeFileSync(join(dir, "config.json"), JSON.stringify(config));
    const child = spawn(cpDevice, ["run", join(dir, "config.json")], { stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (c: Buffer) => (output += c.toString()));
    child.stderr.on("data", (c: Buffer) => (output += c.toString()));
    const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
    assert.equal(code, 0, `cp-device exited ${code}:\n${output}`);

    const listed = await waitFor(
      async () => {
        const res = await fetch(`${node.httpUrl}/v1/readings?deviceId=${deviceId}&limit=100`);
        const body = (await res.json()) as { readings: { digest: `0x${string}`; seq: number }[] };
        return body.readings.length >= 6 ? body.readings : null;
      },
      { timeoutMs: 20_000, what: "six firmware readings stored" },
    );
    assert.equal(node.storage.listDeadLetters({ limit: 100 }).length, 0, "nothing dead-lettered, heartbeats included");
    // the firmware's heartbeats verify under its registered key (C++ signer, TypeScript verifier): recorded as alive
    const [health] = await waitFor(
      () => {
        const h = node.storage.deviceHealth({ facilityId, sinceMs: 0, gapMs: 180_000 });
        return h[0] && h[0].heartbeatCount + h[0].unverifiedHeartbeatCount > 0 ? h : null;
      },
      { timeoutMs: 10_000, what: "a firmware heartbeat recorded" },
    );
    assert.equal(health?.unverifiedHeartbeatCount, 0, "every firmware heartbeat's signature verifies");
    assert.ok(health!.heartbeatCount > 0);
    // its clock was set before the first reading: nothing held, nothing lost while waiting for it
    assert.deepEqual([health!.lastHeartbeat?.held, health!.lastHeartbeat?.heldDropped], [0, 0]);

    for (const { digest } of listed) {
      const view = await waitForConfirmed(node.httpUrl!, digest, 40_000);
      assert.equal(view.leaf, leafHash(digest));
      const ok = await dep.publicClient.readContract({
        address: dep.attestationRegistry,
        abi: attestationRegistryAbi,
        functionName: "verifyReading",
        args: [view.attestationId, view.leaf, view.proof],
      });
      assert.equal(ok, true, `the firmware reading ${digest} is proven on-chain`);
    }
  });
});
