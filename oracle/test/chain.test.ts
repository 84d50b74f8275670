import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import mqtt from "mqtt";
import { leafHash, readingDigestHex } from "../../sdk/src/index.ts";
import { attestationRegistryAbi } from "../src/chain/abi.ts";
import { readingsTopic } from "../src/ingest/mqtt.ts";
import { ChainDeviceDirectory } from "../src/devices/chain.ts";
import {
  HardhatNode,
  chainTestNode,
  deploy,
  readingPoster,
  type Deployment,
  waitForConfirmed,
} from "./chain-harness.ts";
import { electricity, flueGas, makeDevice, quietLogger, type TestDevice, type testNode } from "./fixtures.ts";
import { waitFor } from "./helpers.ts";

describe("end to end on a Hardhat node", { timeout: 120_000 }, () => {
  let hh: HardhatNode;
  let dep: Deployment;
  let node: Awaited<ReturnType<typeof testNode>>;

  /**
   * Registers `dev` on-chain and gives it an API key on the node (for the device itself, or its
   * facility); the answer posts a body to `POST /v1/readings` with that key.
   */
  async function httpDevice(dev: TestDevice, scope: "device" | "facility" = "device") {
    await dep.registerDevice(dev.deviceId, dev.facilityId, dev.publicKey, 1);
    return readingPoster(node, dev, scope);
  }
  const chimney = makeDevice("kangaita-chimney-1");
  const meter = makeDevice("kangaita-meter-1");

  before(async () => {
    hh = await HardhatNode.start();
    dep = await deploy(hh.url);
    await dep.registerDevice(chimney.deviceId, chimney.facilityId, chimney.publicKey, 0);
    await dep.registerDevice(meter.deviceId, meter.facilityId, meter.publicKey, 1);
    node = await chainTestNode(hh, dep);
  });
  after(async () => {
    await node?.close();
    await hh?.stop();
  });
  /** A directory of its own on the deployed DeviceRegistry, with this cache lifetime. */
  const directory = (ttlMs: number) =>
    new ChainDeviceDirectory({ client: dep.publicClient, address: dep.deviceRegistry, ttlMs, logger: quietLogger() });

  test("a node configured for another chain than its RPC node serves (chain.chainId 11155111 on Hardhat's 31337) does not start, naming both ids; nothing is signed", async () => {
    process.env.CARBONPROOF_ALLOW_PLAIN_KEY = "1"; // a plain key off the local chain: the test network override
    try {
      await assert.rejects(
        chainTestNode(hh, dep, {
          chain: { chainId: 11155111 } as NonNullable<Parameters<typeof chainTestNode>[2]>["chain"],
          batching: { allowShortWindows: true },
        }),
        (err: Error & { code?: string }) =>
          err.code === "CHAIN_ID_MISMATCH" &&
          /serves chain id 31337, and chain\.chainId is 11155111: set chain\.chainId to 31337/.test(err.message),
      );
    } finally {
      delete process.env.CARBONPROOF_ALLOW_PLAIN_KEY;
    }
  });

  test("simulated devices over MQTT end in a confirmed attestation whose proofs verify on-chain", async () => {
    const client = await mqtt.connectAsync(node.mqtt!.url, { reconnectPeriod: 0 });
    const envs = [flueGas(chimney), flueGas(chimney), electricity(meter), electricity(meter)];
    for (const e of envs) {
      await client.publishAsync(readingsTopic(e.reading.facilityId, e.reading.deviceId), JSON.stringify(e), { qos: 1 });
    }
    await client.endAsync();
    for (const e of envs) assert.ok(node.storage.getReading(readingDigestHex(e.reading)), "stored");

    const digest = readingDigestHex(envs[0]!.reading);
    const view = await waitForConfirmed(node.httpUrl!, digest, 30_000);
    assert.equal(view.leaf, leafHash(digest));
    assert.ok(view.bundleCid.startsWith("bafk"));
    assert.equal(await node.content!.isPinned(view.bundleCid), true);
    for (const e of envs) {
      const d = readingDigestHex(e.reading);
      const r = (await (await fetch(`${node.httpUrl}/v1/readings/${d}`)).json()) as {
        attestationId: `0x${string}`;
        leaf: `0x${string}`;
        proof: `0x${string}`[];
      };
      if (!r.attestationId) continue; // a reading in the next window is attested by the next batch
      const ok = await dep.publicClient.readContract({
        address: dep.attestationRegistry,
        abi: attestationRegistryAbi,
        functionName: "verifyReading",
        args: [r.attestationId, r.leaf, r.proof],
      });
      assert.equal(ok, true, `proof of ${d} verifies on-chain`);
    }
    assert.equal(
      await dep.publicClient.readContract({
        address: dep.attestationRegistry,
        abi: attestationRegistryAbi,
        functionName: "exists",
        args: [view.attestationId],
      }),
      true,
    );
    // biogenic CO2 of the firewood chimney is reported apart from the fossil total
    assert.ok(BigInt(view.batch.biogenicCo2Grams) > 0n);
  });

  test("a device suspended on-chain is refused once the registry event arrives", async () => {
    const dev = makeDevice("kangaita-meter-7");
    const post = await httpDevice(dev, "facility");
    assert.equal((await post(electricity(dev))).status, 201);
    const before = Number((await dep.publicClient.getBlock()).timestamp);
    await dep.suspendDevice(dev.deviceId);
    const reason = await waitFor(
      async () => {
        const { body } = await post(electricity(dev));
        return body.reason === "device-inactive" ? body.reason : null;
      },
      { timeoutMs: 10_000, intervalMs: 200, what: "suspension seen" },
    );
    assert.equal(reason, "device-inactive");
    // the record carries when its status changed (the suspending block's time): a co-signer
    // refuses the device's readings from then on, and takes those it made before
    const d = directory(60_000);
    try {
      const info = await d.get(dev.deviceId);
      const latest = Number((await dep.publicClient.getBlock()).timestamp);
      assert.equal(info?.status, "suspended");
      assert.ok(info.statusChangedAt! >= before && info.statusChangedAt! <= latest, `${info.statusChangedAt}`);
    } finally {
      d.close();
    }
  });

  test("over MQTT a device's first reading waits for its lookup, later ones use the cached record; a suspension reaches both", async () => {
    const dev = makeDevice("kangaita-meter-9");
    await dep.registerDevice(dev.deviceId, dev.facilityId, dev.publicKey, 1);
    const client = await mqtt.connectAsync(node.mqtt!.url, { reconnectPeriod: 0 });
    try {
      const topic = readingsTopic(dev.facilityId, dev.deviceId);
      // the PUBACK comes once the outcome is durable, so each is stored (or refused) when it returns
      const first = electricity(dev);
      await client.publishAsync(topic, JSON.stringify(first), { qos: 1 });
      const second = electricity(dev);
      await client.publishAsync(topic, JSON.stringify(second), { qos: 1 });
      assert.ok(node.storage.getReading(readingDigestHex(first.reading)), "first (directory lookup) stored");
      assert.ok(node.storage.getReading(readingDigestHex(second.reading)), "second (cached record) stored");
      // a replay of the second over the cached path is refused
      await client.publishAsync(topic, JSON.stringify(second), { qos: 1 });
      assert.equal(
        node.storage.listDeadLetters({ limit: 1, deviceId: dev.deviceId })[0]?.digest,
        readingDigestHex(second.reading),
      );
      await dep.suspendDevice(dev.deviceId);
      const refused = await waitFor(
        async () => {
          const e = electricity(dev);
          await client.publishAsync(topic, JSON.stringify(e), { qos: 1 });
          const dl = node.storage.listDeadLetters({ limit: 1, deviceId: dev.deviceId })[0];
          return dl?.digest === readingDigestHex(e.reading) && dl.reason === "device-inactive" ? dl : null;
        },
        { timeoutMs: 10_000, intervalMs: 200, what: "suspension seen over MQTT" },
      );
      assert.equal(refused.reason, "device-inactive");
    } finally {
      await client.endAsync();
    }
  });

  test("the device directory's peek answers only what it has looked up, and forgets it on invalidation", async () => {
    const dev = makeDevice("kangaita-meter-10");
    await dep.registerDevice(dev.deviceId, dev.facilityId, dev.publicKey, 1);
    const dir = directory(60_000);
    try {
      assert.equal(dir.peek(dev.deviceId), undefined, "not looked up yet");
      const lookup = dir.get(dev.deviceId);
      assert.equal(dir.peek(dev.deviceId), undefined, "lookup under way");
      const info = await lookup;
      assert.equal(dir.peek(dev.deviceId), info, "the record get resolved to");
      assert.equal(info?.status, "active");
      assert.equal(await dir.get("nobody-registered-this"), null);
      assert.equal(dir.peek("nobody-registered-this"), null, "an unknown device is an answer too");
      dir.invalidate(dev.deviceId);
      assert.equal(dir.peek(dev.deviceId), undefined, "invalidated");
      assert.equal(dir.peek("nobody-registered-this"), null, "only the named device is dropped");
    } finally {
      dir.close();
    }
    const uncached = directory(0);
    try {
      await uncached.get(dev.deviceId);
      assert.equal(uncached.peek(dev.deviceId), undefined, "with no cache lifetime nothing is at hand");
    } finally {
      uncached.close();
    }
  });

  test("an anomalous but plausible reading is stored flagged: score and flag in GET /v1/readings/:digest and in its bundle entry", async () => {
    const dev = makeDevice("anomaly-meter-1");
    await dep.registerDevice(dev.deviceId, dev.facilityId, dev.publicKey, 1);
    const client = await mqtt.connectAsync(node.mqtt!.url, { reconnectPeriod: 0 });
    // a steady series (minSamples is 12 by default), then one reading 40 times the usual energy
    for (let i = 0; i < 14; i++) {
      const e = electricity(dev, { energyWh: 118 + (i % 5) });
      await client.publishAsync(readingsTopic(e.reading.facilityId, e.reading.deviceId), JSON.stringify(e), { qos: 1 });
    }
    const outlier = electricity(dev, { energyWh: 4800 });
    await client.publishAsync(readingsTopic(dev.facilityId, dev.deviceId), JSON.stringify(outlier), { qos: 1 });
    await client.endAsync();
    const digest = readingDigestHex(outlier.reading);
    const stored = await waitFor(() => node.storage.getReading(digest), { timeoutMs: 30_000, what: "outlier stored" });
    assert.equal(stored.flagged, true, "flagged, not rejected");
    const view = (await (await fetch(`${node.httpUrl}/v1/readings/${digest}`)).json()) as {
      flagged: boolean;
      anomalyScore: number;
    };
    assert.equal(view.flagged, true);
    assert.ok(view.anomalyScore > 6, `score ${view.anomalyScore} above the threshold`);
    const confirmed = await waitForConfirmed(node.httpUrl!, digest, 60_000);
    const bundle = Buffer.from((await node.content!.get(confirmed.bundleCid))!).toString("utf8");
    assert.ok(bundle.includes(digest.replace(/^0x/, "")), "the outlier is in its bundle");
    assert.ok(bundle.includes(`anomaly:robust-z>${Math.floor(view.anomalyScore)}`), "its flag is in the bundle");
  });

  test("a reading for a period behind the facility's attested frontier, with no regular batch, is dead-lettered too-late by the node", async () => {
    const dev = makeDevice("late-meter-1", "late-facility");
    const post = await httpDevice(dev);
    const now = flueGas(dev); // flue gas needs no facility country (electricity would, see the computation test)
    const first = await post(now);
    assert.equal(first.status, 201, JSON.stringify(first.body));
    await waitForConfirmed(node.httpUrl!, readingDigestHex(now.reading), 60_000);
    const lateTs = now.reading.ts - 30; // windows are 2 s: a period that never had a batch
    const late = await post(flueGas(dev, { ts: lateTs }));
    assert.equal(late.status, 422);
    assert.equal(late.body.reason, "too-late");
    const [dl] = node.storage.listDeadLetters({ limit: 10, reason: "too-late", deviceId: dev.deviceId });
    assert.ok(dl, "dead letter stored");
    assert.match(dl.detail, new RegExp(`period of ts ${lateTs} is behind the attested frontier of late-facility`));
  });

  test("a reading whose emissions cannot be computed (no country for location-based Scope 2) is dead-lettered computation by the node", async () => {
    const dev = makeDevice("nocountry-meter-1", "facility-without-country");
    const post = await httpDevice(dev);
    const { status, body } = await post(electricity(dev));
    assert.equal(status, 422);
    assert.equal(body.reason, "computation");
    assert.match(body.detail ?? "", /needs the facility country/);
    const [dl] = node.storage.listDeadLetters({ limit: 10, reason: "computation", deviceId: dev.deviceId });
    assert.ok(dl, "dead letter stored");
    assert.match(dl.detail, /needs the facility country/);
  });

  test("a key rotated on-chain while the node caches the device: the new key is accepted, the old one refused for later readings, without a restart", async () => {
    const dev = makeDevice("kangaita-meter-8");
    const post = await httpDevice(dev);
    // the node looks the device up and caches it (cache lifetime 60 s, longer than this test)
    assert.equal((await post(electricity(dev))).status, 201, "accepted under key 1");
    const dir = directory(0);
    try {
      await new Promise((r) => setTimeout(r, 1100)); // the rotation must be in a later second than registration
      const next = makeDevice(dev.deviceId);
      await dep.rotateKey(dev.deviceId, next.publicKey);
      const info = (await dir.get(dev.deviceId))!;
      assert.equal(info.keys.length, 2);
      const rotatedAt = info.keys[1]!.validFrom;
      // only the KeyRotated event can drop the node's cached entry in time: poll until key 2 is taken
      next.seq = dev.seq;
      await waitFor(
        async () => {
          const r = await post(electricity(next, { ts: rotatedAt + 1 }));
          if (r.status !== 201) assert.equal(r.body.reason, "bad-signature", "refused only for the stale key");
          return r.status === 201 || undefined;
        },
        { timeoutMs: 30_000, intervalMs: 250, what: "a reading signed with the rotated key accepted" },
      );
      dev.seq = next.seq;
      const oldAfter = await post(electricity(dev, { ts: rotatedAt + 1 }));
      assert.equal(oldAfter.status, 422);
      assert.equal(oldAfter.body.reason, "bad-signature");
      assert.equal(
        (await post(electricity(dev, { ts: rotatedAt - 1 }))).status,
        201,
        "old key still valid for readings before the rotation",
      );
    } finally {
      dir.close();
    }
  });
});
