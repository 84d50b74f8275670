import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, statfsSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mqtt from "mqtt";
import { readingDigestHex, type Envelope } from "../../sdk/src/index.ts";
import { readingsTopic } from "../src/ingest/mqtt.ts";
import { deviceInfo, electricity, makeDevice, testNode } from "./fixtures.ts";

/**
 * Rule 4 with a real full disk: the node's data folder is a 16 MiB tmpfs, filled up while a device
 * publishes. SQLite's commit then fails with SQLITE_FULL (the same error as on a full disk: a
 * tmpfs refuses the write with ENOSPC). Mounting needs root (CI runs as root); elsewhere the test
 * is skipped and says why.
 */
const dir = mkdtempSync(join(tmpdir(), "cp-full-"));
const mounted = spawnSync("mount", ["-t", "tmpfs", "-o", "size=16m", "tmpfs", dir]).status === 0;

test(
  "a full disk: nothing unstored is acknowledged, the node keeps running, and once space is freed the device's resends are stored once",
  { skip: mounted ? false : "mounting a small tmpfs needs root", timeout: 120_000 },
  async (t) => {
    const meter = makeDevice("kangaita-meter-1");
    const node = await testNode({ dir, devices: [deviceInfo(meter)], config: { storage: { synchronous: "FULL" } } });
    const topic = readingsTopic(meter.facilityId, meter.deviceId);
    const filler = join(dir, "filler");
    // settles on the PUBACK, or fails when the node closes the connection instead (mqtt.js would
    // keep the message for a reconnect that reconnectPeriod 0 never makes), or after 10 s
    const publish = (client: mqtt.MqttClient, env: Envelope) =>
      new Promise<void>((resolve, reject) => {
        const fail = (why: string) => () => {
          clearTimeout(timer);
          reject(new Error(why));
        };
        const closed = fail("connection closed by the node without a PUBACK");
        const timer = setTimeout(fail("no PUBACK in 10 s"), 10_000);
        client.once("close", closed);
        client.publishAsync(topic, JSON.stringify(env), { qos: 1 }).then(() => {
          clearTimeout(timer);
          client.off("close", closed);
          resolve();
        }, fail("publish failed"));
      });
    try {
      // leave ~256 KiB: a few group commits' worth of WAL frames
      const fs = statfsSync(dir);
      writeFileSync(filler, Buffer.alloc(Math.max(0, fs.bavail * fs.bsize - 256 * 1024)));
      const acked: Envelope[] = [];
      let refused: Envelope | null = null;
      const client = await mqtt.connectAsync(node.mqtt!.url, { reconnectPeriod: 0 });
      client.on("error", () => {}); // the node closes the connection on a failed commit
      for (let i = 0; i < 5000 && !refused; i++) {
        const env = electricity(meter);
        try {
          await publish(client, env);
          acked.push(env);
        } catch {
          refused = env;
        }
      }
      await client.endAsync(true);
      assert.ok(refused, `the disk never filled (${acked.length} readings acknowledged)`);
      assert.ok(acked.length > 0, "readings were acknowledged before the disk filled");
      // every acknowledged reading is stored; the refused one is not
      for (const env of acked) assert.ok(node.storage.getReading(readingDigestHex(env.reading)), "acked ⇒ stored");
      assert.equal(node.storage.getReading(readingDigestHex(refused.reading)), null);
      const health = await fetch(`${node.httpUrl}/health`);
      assert.equal(health.status, 200, "the node is still up");
      const metrics = await (await fetch(`${node.httpUrl}/metrics`)).text();
      const failures = Number(/^carbonproof_oracle_ingest_commit_failures_total (\d+)/m.exec(metrics)?.[1]);
      assert.ok(failures >= 1, "the failed commit is counted for the operator's alert");
      t.diagnostic(`${acked.length} readings acknowledged before the disk filled; ${failures} failed commit(s)`);

      // space is freed: the device resends what was not acknowledged, and goes on
      rmSync(filler);
      const again = await mqtt.connectAsync(node.mqtt!.url, { reconnectPeriod: 0 });
      try {
        const later = [refused, electricity(meter), electricity(meter)];
        for (const env of later) await publish(again, env); // acknowledged now that the disk has room
        for (const env of [...acked, ...later]) {
          assert.ok(node.storage.getReading(readingDigestHex(env.reading)), `seq ${env.reading.seq} stored`);
        }
        assert.equal(node.storage.listReadings({ deviceId: meter.deviceId, limit: 10_000 }).length, acked.length + 3);
      } finally {
        await again.endAsync(true);
      }
    } finally {
      await node.close();
    }
  },
);

test.after(() => {
  if (mounted) spawnSync("umount", ["-l", dir]);
  rmSync(dir, { recursive: true, force: true });
});
