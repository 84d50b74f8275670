import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import { ChainDeviceDirectory } from "../src/devices/chain.ts";
import { HardhatNode, chainTestNode, deploy, readingPoster, type Deployment } from "./chain-harness.ts";
import { electricity, makeDevice, quietLogger, type testNode } from "./fixtures.ts";
import { waitFor } from "./helpers.ts";

/**
 * A device suspended and reactivated since on a Hardhat node: the registry keeps only its current
 * status (active, changed at the reactivation), so the suspension comes from its events.
 */
describe("readings made during a suspension lifted since, on a Hardhat node", { timeout: 120_000 }, () => {
  let hh: HardhatNode;
  let dep: Deployment;
  let node: Awaited<ReturnType<typeof testNode>>;
  const latestStamp = async () => Number((await dep.publicClient.getBlock()).timestamp);

  before(async () => {
    hh = await HardhatNode.start();
    dep = await deploy(hh.url);
    // hour-long windows: no window is sealed while the test posts readings stamped a few seconds back
    node = await chainTestNode(hh, dep, { batching: { windowS: 3600 } });
  });
  after(async () => {
    await node?.close();
    await hh?.stop();
  });

  test("ingest refuses a reading stamped inside the suspension, naming it, and takes those before and after it", async () => {
    const dev = makeDevice("kangaita-meter-3");
    await dep.registerDevice(dev.deviceId, dev.facilityId, dev.publicKey, 1);
    const post = readingPoster(node, dev);
    const registeredAt = await latestStamp();
    // the node has the device in its cache, active, before the suspension
    assert.equal((await post(electricity(dev, { ts: registeredAt }))).status, 201);
    await dep.suspendDevice(dev.deviceId);
    const from = await latestStamp();
    await waitFor(async () => ((await post(electricity(dev))).body.reason === "device-inactive" ? true : null), {
      timeoutMs: 10_000,
      intervalMs: 100,
      what: "the suspension seen by the node",
    });
    await dep.reactivateDevice(dev.deviceId);
    const until = await latestStamp();
    assert.ok(until > from, `${from} < ${until}`);
    // the reactivation's event drops the cached record: a reading stamped at the reactivation is
    // taken once the node has read the device again
    await waitFor(async () => ((await post(electricity(dev, { ts: until }))).status === 201 ? true : null), {
      timeoutMs: 10_000,
      intervalMs: 100,
      what: "the reactivation seen by the node",
    });
    // the device's buffer flushed after the reactivation: made before, during and after the suspension
    const { status, body } = await post([
      electricity(dev, { ts: from - 1 }),
      electricity(dev, { ts: from }),
      electricity(dev, { ts: until - 1 }),
      electricity(dev, { ts: until }),
    ]);
    assert.equal(status, 200);
    assert.deepEqual(
      body.results!.map((r) => r.status),
      ["stored", "rejected", "rejected", "stored"],
    );
    assert.equal(body.results![1]!.reason, "device-inactive");
    assert.equal(
      body.results![1]!.detail,
      `device ${dev.deviceId} was suspended from ${from} until ${until} (the reading is stamped ${from})`,
    );
    assert.equal(
      body.results![2]!.detail,
      `device ${dev.deviceId} was suspended from ${from} until ${until} (the reading is stamped ${until - 1})`,
    );
  });

  test("the directory reads a device's suspensions lifted by a reactivation or by its retirement, and none for a device never suspended", async () => {
    const flushed = makeDevice("kangaita-meter-4");
    const retired = makeDevice("kangaita-meter-5");
    const steady = makeDevice("kangaita-meter-6");
    for (const d of [flushed, retired, steady]) await dep.registerDevice(d.deviceId, d.facilityId, d.publicKey, 1);
    const stamps: number[] = [];
    for (const step of [
      () => dep.suspendDevice(flushed.deviceId),
      () => dep.reactivateDevice(flushed.deviceId),
      () => dep.suspendDevice(flushed.deviceId),
      () => dep.reactivateDevice(flushed.deviceId),
      () => dep.suspendDevice(retired.deviceId),
      () => dep.retireDevice(retired.deviceId),
    ]) {
      await step();
      stamps.push(await latestStamp());
    }
    const [s1, r1, s2, r2, s3, end] = stamps as [number, number, number, number, number, number];
    const dir = new ChainDeviceDirectory({
      client: dep.publicClient,
      address: dep.deviceRegistry,
      ttlMs: 60_000,
      logger: quietLogger(),
    });
    try {
      const a = await dir.get(flushed.deviceId);
      assert.equal(a?.status, "active");
      assert.deepEqual(a.suspensions, [
        { from: s1, until: r1 },
        { from: s2, until: r2 },
      ]);
      const b = await dir.get(retired.deviceId);
      assert.equal(b?.status, "revoked");
      assert.equal(b.statusChangedAt, end);
      assert.deepEqual(b.suspensions, [{ from: s3, until: end }]);
      assert.equal((await dir.get(steady.deviceId))?.suspensions, undefined);
    } finally {
      dir.close();
    }
  });
});
