import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import mqtt from "mqtt";
import pino, { type Logger } from "pino";
import { privateKeyToAccount } from "viem/accounts";
import { readingDigestHex, recoverQuorumSigners } from "../../sdk/src/index.ts";
import { createApiKey } from "../src/api/keys.ts";
import { headerFromJson } from "../src/batch/bundle.ts";
import { readingsTopic } from "../src/ingest/mqtt.ts";
import {
  HardhatNode,
  ORACLE_KEY,
  PEER_KEY,
  deploy,
  readingPoster,
  waitForConfirmed,
  type Deployment,
} from "./chain-harness.ts";
import { electricity, makeDevice, testNode, type TestDevice } from "./fixtures.ts";
import { waitFor } from "./helpers.ts";

/**
 * Two real oracle nodes on a fresh Hardhat chain, OracleSet threshold 2, both reading devices from
 * the DeviceRegistry, each polling its events every `pollMs`: A leads, B co-signs. `devices` are
 * registered before either starts (their first look at the events is then after them). `env`: the
 * names of the variables their chain keys are given in.
 */
async function twoNodes(opts: {
  devices: TestDevice[];
  pollMs: { a: number; b: number };
  env: { a: string; b: string };
  bLogger?: Logger;
}) {
  const hh = await HardhatNode.start();
  try {
    const dep = await deploy(hh.url);
    await dep.setQuorum([privateKeyToAccount(PEER_KEY).address], 2);
    for (const d of opts.devices) await dep.registerDevice(d.deviceId, d.facilityId, d.publicKey, 1);
    process.env[opts.env.a] = ORACLE_KEY;
    process.env[opts.env.b] = PEER_KEY;
    const nodeConfig = (envName: string, pollMs: number) => ({
      batching: { windowS: 2, graceS: 1, tickMs: 100, retryBaseMs: 100, retryMaxMs: 500 },
      devices: { source: "chain" as const, cacheTtlMs: 60_000 },
      chain: {
        enabled: true,
        rpcUrl: hh.url,
        attestationRegistry: dep.attestationRegistry,
        deviceRegistry: dep.deviceRegistry,
        pollMs,
        keystore: { privateKeyEnv: envName },
      },
    });
    const b = await testNode({
      config: { mqtt: { mode: "off" }, ...nodeConfig(opts.env.b, opts.pollMs.b) },
      parts: { devices: undefined },
      ...(opts.bLogger ? { logger: opts.bLogger } : {}),
    });
    const bKey = createApiKey(b.storage, {
      scope: "oracle",
      subject: privateKeyToAccount(ORACLE_KEY).address,
      label: "oracle node A",
    }).key;
    const a = await testNode({
      config: {
        ...nodeConfig(opts.env.a, opts.pollMs.a),
        quorum: { peers: [{ url: b.httpUrl!, apiKey: bKey }], timeoutMs: 10_000 },
      },
      parts: { devices: undefined },
    }).catch(async (err: unknown) => {
      await b.close();
      throw err;
    });
    return {
      dep,
      a,
      b,
      async close() {
        await a.close();
        await b.close();
        delete process.env[opts.env.a];
        delete process.env[opts.env.b];
        await hh.stop();
      },
    };
  } catch (err) {
    await hh.stop();
    throw err;
  }
}

/**
 * A device suspended on-chain goes on sending. Node A reads the DeviceRegistry's events every 5 s
 * (`chain.pollMs`), so for up to that long it accepts the device's readings stamped after the
 * suspension. Its co-signer B, which re-checks each device's status at each reading's time, would
 * refuse every bundle holding one: before pinning, A checks its batch against the registry as it
 * is after the period and sets those readings aside, and the others are attested with both
 * signatures. The same for a key rotation: a reading signed with the key rotated out. And the other
 * way round: a reading of a device reactivated a moment ago is taken, A reading the device again
 * before it refuses it. Two real nodes, OracleSet threshold 2, both reading devices from the
 * registry.
 */
describe("a reading accepted before the node read its device's suspension", { timeout: 180_000 }, () => {
  let nodes: Awaited<ReturnType<typeof twoNodes>>;
  let dep: Deployment;
  let a: Awaited<ReturnType<typeof testNode>>;
  const suspended = makeDevice("kangaita-meter-7");
  const steady = makeDevice("kangaita-meter-8");
  const rotating = makeDevice("kangaita-meter-9");
  const peer = privateKeyToAccount(PEER_KEY);

  before(async () => {
    nodes = await twoNodes({
      devices: [suspended, steady, rotating],
      pollMs: { a: 5_000, b: 100 },
      env: { a: "CP_LAG_A_KEY", b: "CP_LAG_B_KEY" },
    });
    ({ dep, a } = nodes);
  });
  after(() => nodes?.close());

  test("it is set aside, with its reason, before the batch is pinned; the rest is co-signed and confirmed; its (device, seq) still taken", async () => {
    const postSuspended = readingPoster(a, suspended);
    const postSteady = readingPoster(a, steady);
    const stamp = async () => Number((await dep.publicClient.getBlock()).timestamp);
    // A has the device in its cache, active
    assert.equal((await postSuspended(electricity(suspended))).status, 201);
    // suspended, and a reading stamped at the suspension's block time posted at once: A has not read
    // the event yet. Should A have polled in between (a 5 s cycle against a few ms), again.
    let lagging: ReturnType<typeof electricity> | null = null;
    let from = 0;
    for (let attempt = 0; attempt < 3 && !lagging; attempt++) {
      await dep.suspendDevice(suspended.deviceId);
      from = await stamp();
      const env = electricity(suspended, { ts: from });
      const { status, body } = await postSuspended(env);
      if (status === 201) lagging = env;
      else {
        assert.equal(body.reason, "device-inactive");
        await dep.reactivateDevice(suspended.deviceId);
        await waitFor(async () => ((await postSuspended(electricity(suspended))).status === 201 ? true : null), {
          timeoutMs: 15_000,
          what: "the reactivation seen by node A",
        });
      }
    }
    assert.ok(lagging, "node A took a reading stamped after the suspension before reading it");
    // a reading of the other device in the same period, made at the same second
    const kept = electricity(steady, { ts: from });
    assert.equal((await postSteady(kept)).status, 201);
    const lagDigest = readingDigestHex(lagging.reading);
    const inBatch = a.storage.getReading(lagDigest)!.batchId!;
    assert.equal(a.storage.getReading(readingDigestHex(kept.reading))!.batchId, inBatch);

    const view = await waitForConfirmed(a.httpUrl!, readingDigestHex(kept.reading), 60_000);
    assert.equal(view.batch.id, inBatch);
    const confirmed = a.storage.getBatch(inBatch)!;
    // co-signed by B: both signers on-chain
    const signers = await recoverQuorumSigners(
      headerFromJson(confirmed.headerJson!),
      { chainId: 31337, verifyingContract: dep.attestationRegistry },
      confirmed.signatures as `0x${string}`,
    );
    assert.deepEqual([...signers].sort(), [privateKeyToAccount(ORACLE_KEY).address, peer.address].sort());
    // the lagging reading is not in it: stored still, in a failed correction of it, saying why
    assert.ok(!a.storage.readingsOfBatch(inBatch).some((r) => r.digest === lagDigest));
    const stored = a.storage.getReading(lagDigest)!;
    const aside = a.storage.getBatch(stored.batchId!)!;
    assert.deepEqual([aside.state, aside.correctionOfBatch, aside.readingCount], ["failed", inBatch, 1]);
    assert.match(
      aside.error!,
      new RegExp(
        `^1 reading\\(s\\) set aside from batch ${inBatch}, accepted before the node read the DeviceRegistry's change: device ${suspended.deviceId} is suspended since ${from} \\(the reading is stamped ${from}\\)$`,
      ),
    );
    const dead = a.storage
      .listDeadLetters({ limit: 10, reason: "device-inactive" })
      .find((d) => d.digest === lagDigest);
    assert.ok(dead, "a dead letter for the reading set aside");
    assert.deepEqual(JSON.parse(dead.payload).reading, lagging.reading);
    const metrics = await (await fetch(`${a.httpUrl}/metrics`)).text();
    assert.match(metrics, /^carbonproof_oracle_readings_set_aside_total\{reason="device-inactive"\} 1$/m);
    // (device, seq) still taken: the node's replay check (after the status check, which refuses
    // the same reading again first) finds it
    assert.ok(a.storage.hasReading(suspended.deviceId, lagging.reading.seq));
  });

  test("a reading signed with a key rotated out before its time is set aside as a bad signature; the device's readings from before the rotation are attested", async () => {
    const post = readingPoster(a, rotating);
    const postSteady = readingPoster(a, steady);
    assert.equal((await post(electricity(rotating))).status, 201);
    // the device's two keys, rotated to in turn: each attempt rotates away from the one it signs with
    const keys = [rotating, makeDevice("kangaita-meter-9-next-key")];
    let lagging: ReturnType<typeof electricity> | null = null;
    let at = 0;
    let signer = keys[0]!;
    for (let attempt = 0; attempt < 3 && !lagging; attempt++) {
      signer = keys[attempt % 2]!;
      await dep.rotateKey(rotating.deviceId, keys[(attempt + 1) % 2]!.publicKey);
      at = Number((await dep.publicClient.getBlock()).timestamp);
      const env = electricity({ ...rotating, secretKey: signer.secretKey }, { ts: at, seq: ++rotating.seq });
      const { status, body } = await post(env);
      if (status === 201) lagging = env;
      else assert.equal(body.reason, "bad-signature"); // A had read the rotation already: again
    }
    assert.ok(lagging, "node A took a reading signed with the old key before reading the rotation");
    // made the second before the rotation, with the key then valid; and another device's
    const earlier = electricity({ ...rotating, secretKey: signer.secretKey }, { ts: at - 1, seq: ++rotating.seq });
    assert.equal((await post(earlier)).status, 201);
    const kept = electricity(steady, { ts: at });
    assert.equal((await postSteady(kept)).status, 201);
    const lagDigest = readingDigestHex(lagging.reading);
    const inBatch = a.storage.getReading(lagDigest)!.batchId!;
    const view = await waitForConfirmed(a.httpUrl!, readingDigestHex(kept.reading), 60_000);
    assert.equal(view.batch.id, inBatch);
    await waitForConfirmed(a.httpUrl!, readingDigestHex(earlier.reading), 30_000);
    const aside = a.storage.getBatch(a.storage.getReading(lagDigest)!.batchId!)!;
    assert.deepEqual([aside.state, aside.correctionOfBatch, aside.readingCount], ["failed", inBatch, 1]);
    assert.match(
      aside.error!,
      new RegExp(`device ${rotating.deviceId}'s signature is not by its key valid at ${at} \\(rotated at ${at}\\)$`),
    );
    const dead = a.storage.listDeadLetters({ limit: 10, reason: "bad-signature" }).find((d) => d.digest === lagDigest);
    assert.ok(dead, "a dead letter for the reading set aside");
    const metrics = await (await fetch(`${a.httpUrl}/metrics`)).text();
    assert.match(metrics, /^carbonproof_oracle_readings_set_aside_total\{reason="bad-signature"\} 1$/m);
  });

  test("a reading of a device reactivated a moment ago is taken, though the node has not read the reactivation yet: the refusing record is read again", async () => {
    const post = readingPoster(a, suspended);
    // the device is suspended since the first test, and node A knows it
    await waitFor(async () => ((await post(electricity(suspended))).body.reason === "device-inactive" ? true : null), {
      timeoutMs: 15_000,
      what: "node A refusing the suspended device",
    });
    // its record then older than a poll interval (5 s): the next refusal may read it again
    await new Promise((r) => setTimeout(r, 5_100));
    await dep.reactivateDevice(suspended.deviceId);
    const at = Number((await dep.publicClient.getBlock()).timestamp);
    // posted at once: A reads the registry's events every 5 s (should it have read them in
    // these few ms, the reading is taken all the same)
    const answer = await post(electricity(suspended, { ts: at }));
    assert.equal(answer.status, 201, `${answer.body.reason}: ${answer.body.detail}`);
  });

  test("readings of a device registered a moment ago, over HTTP and MQTT, are taken, though the node has not read the registration yet: they wait for its next read of the registry's events", async () => {
    const fresh = makeDevice("kangaita-meter-11");
    const post = readingPoster(a, fresh);
    // not registered: refused (after A's next poll), and A holds that answer for devices.cacheTtlMs
    const early = await post(electricity(fresh));
    assert.equal(early.body.reason, "unknown-device");
    await dep.registerDevice(fresh.deviceId, fresh.facilityId, fresh.publicKey, 1);
    // sent at once: A reads the registry's events every 5 s (should it have read them in these few
    // ms, the readings are taken all the same)
    const overMqtt = electricity(fresh);
    const overHttp = electricity(fresh);
    const client = await mqtt.connectAsync(a.mqtt!.url, { reconnectPeriod: 0 });
    try {
      const [, answer] = await Promise.all([
        // the PUBACK comes once the outcome is durable
        client.publishAsync(readingsTopic(fresh.facilityId, fresh.deviceId), JSON.stringify(overMqtt), { qos: 1 }),
        post(overHttp),
      ]);
      assert.equal(answer.status, 201, `${answer.body.reason}: ${answer.body.detail}`);
      const dead = a.storage.listDeadLetters({ limit: 10, deviceId: fresh.deviceId });
      assert.deepEqual(
        dead.map((d) => d.reason),
        ["unknown-device"],
        "only the reading sent before the registration is refused",
      );
      assert.ok(a.storage.getReading(readingDigestHex(overMqtt.reading)), "the MQTT reading is stored");
    } finally {
      await client.endAsync();
    }
  });
});

/**
 * The co-signer's side of the same lag: node A has read a key rotation that its co-signer B has
 * not (B reads the registry's events every 60 s, and holds the device's record from an earlier
 * review). A takes a reading signed with the new key; B's review would refuse it as signed by no
 * key of the device's until its next poll. B reads the registry's events up to the period's end
 * before it reviews, so it signs at the first ask.
 */
describe("a co-signer that has not read a device's key rotation yet", { timeout: 180_000 }, () => {
  let nodes: Awaited<ReturnType<typeof twoNodes>>;
  let dep: Deployment;
  let a: Awaited<ReturnType<typeof testNode>>;
  const device = makeDevice("kangaita-meter-10");
  const nextKey = makeDevice("kangaita-meter-10-next-key");
  const peer = privateKeyToAccount(PEER_KEY);
  const refusals: { why?: string }[] = [];

  before(async () => {
    nodes = await twoNodes({
      devices: [device],
      pollMs: { a: 100, b: 60_000 },
      env: { a: "CP_LAG_C_KEY", b: "CP_LAG_D_KEY" },
      bLogger: pino(
        { level: "warn" },
        {
          write: (line: string) => {
            const entry = JSON.parse(line) as { msg?: string; why?: string };
            if (entry.msg === "co-signing refused") refusals.push(entry);
          },
        },
      ),
    });
    ({ dep, a } = nodes);
  });
  after(() => nodes?.close());

  test("it reads the registry's events up to the period's end before its review, and co-signs a reading signed with the new key at the first ask", async () => {
    const post = readingPoster(a, device);
    const first = electricity(device);
    assert.equal((await post(first)).status, 201);
    // co-signed by B, which now holds the device's record, with its first key, for 60 s
    await waitForConfirmed(a.httpUrl!, readingDigestHex(first.reading), 60_000);
    assert.deepEqual(refusals, []);

    await dep.rotateKey(device.deviceId, nextKey.publicKey);
    const at = Number((await dep.publicClient.getBlock()).timestamp);
    // A reads the registry's events every 100 ms: it takes a reading signed with the new key once
    // it has read the rotation
    const signed = await waitFor(
      async () => {
        const ts = Math.max(at, Math.floor(Date.now() / 1000));
        const env = electricity({ ...device, secretKey: nextKey.secretKey }, { ts, seq: ++device.seq });
        const { status, body } = await post(env);
        if (status === 201) return env;
        assert.equal(body.reason, "bad-signature");
        return null;
      },
      { timeoutMs: 15_000, intervalMs: 200, what: "node A taking a reading signed with the new key" },
    );
    // B would read the rotation at its next poll, up to 60 s away; it is read before the review
    const view = await waitForConfirmed(a.httpUrl!, readingDigestHex(signed.reading), 30_000);
    const confirmed = a.storage.getBatch(view.batch.id)!;
    const signers = await recoverQuorumSigners(
      headerFromJson(confirmed.headerJson!),
      { chainId: 31337, verifyingContract: dep.attestationRegistry },
      confirmed.signatures as `0x${string}`,
    );
    assert.deepEqual([...signers].sort(), [privateKeyToAccount(ORACLE_KEY).address, peer.address].sort());
    assert.deepEqual(refusals, [], "B co-signed at the first ask");
  });
});
