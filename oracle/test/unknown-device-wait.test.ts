import { test, describe, after } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { pino } from "pino";
import { createCommon } from "../src/common.ts";
import { parseConfig } from "../src/config/load.ts";
import { MemoryDeviceDirectory } from "../src/devices/directory.ts";
import { Ingestor, MAX_WAITING_FOR_REGISTRATION } from "../src/ingest/ingestor.ts";
import { SqliteStorage } from "../src/storage/sqlite.ts";
import type { IngestOutcome } from "../src/storage/types.ts";
import { deviceInfo, electricity, makeDevice, sdkCalculator } from "./fixtures.ts";
import { tempDir, waitFor } from "./helpers.ts";

/**
 * A directory standing in for the DeviceRegistry-backed one (devices/chain.ts), whose
 * `syncedAfter` is answered when the test says: its next poll of the registry's events. The real
 * one, on a Hardhat node, is in suspension-lag.test.ts (a device registered a moment ago); here
 * the bound on the readings waiting for that poll, which would need 1,001 readings held on a
 * chain, is counted.
 */
class PolledDirectory extends MemoryDeviceDirectory {
  readonly asked: { afterMs: number; timeoutMs: number; ask: boolean | undefined }[] = [];
  #polled: ((ok: boolean) => void)[] = [];
  syncedAfter(afterMs: number, timeoutMs: number, ask?: boolean): Promise<boolean> {
    this.asked.push({ afterMs, timeoutMs, ask });
    return new Promise((resolve) => this.#polled.push(resolve));
  }
  /** the next poll: done (`ok`), or failed (the registry out of reach) */
  poll(ok: boolean): void {
    for (const done of this.#polled.splice(0)) done(ok);
  }
}

describe("a reading of a device the node does not know, with a directory that follows the registry", () => {
  const tmp = tempDir();
  after(() => tmp.cleanup());

  function ingestorWith(directory: PolledDirectory) {
    const storage = new SqliteStorage(join(tmp.dir, `${Math.random()}.db`));
    const common = createCommon(parseConfig({ dataDir: tmp.dir, chain: { pollMs: 700 } }), {
      logger: pino({ level: "silent" }),
      defaultMetrics: false,
    });
    const ingestor = new Ingestor({ common, storage, devices: directory, calculator: sdkCalculator() });
    /** carbonproof_oracle_registration_waits_total, by outcome */
    const waits = async () =>
      Object.fromEntries(
        (await common.metrics.registrationWaits.get()).values.map((v) => [String(v.labels.outcome), v.value]),
      );
    return {
      ingestor,
      storage,
      waits,
      async close() {
        await ingestor.close();
        storage.close();
      },
    };
  }
  const settled = (p: Promise<unknown>) => {
    let done = false;
    void p.then(() => (done = true));
    return () => done;
  };

  test("waits for the directory's next regular poll (asking none): taken when the device was registered meanwhile, refused when the poll fails; a CSV row does not wait", async () => {
    const directory = new PolledDirectory();
    const { ingestor, waits, close } = ingestorWith(directory);
    try {
      const fresh = makeDevice("kisii-meter-1");
      const env = electricity(fresh);
      const outcome = ingestor.submit(env, { source: "http" });
      const isDone = settled(outcome);
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(isDone(), false, "held until the poll");
      assert.equal(directory.asked.length, 1);
      assert.equal(directory.asked[0]!.ask, false, "no poll asked for it");
      assert.equal(directory.asked[0]!.timeoutMs, 700 + 10_000, "chain.pollMs and the sync wait");
      // the poll reads the registration
      directory.set(deviceInfo(fresh));
      directory.poll(true);
      const [taken] = await outcome;
      assert.equal(taken!.status, "stored", JSON.stringify(taken));

      // the registry out of reach: refused, as before
      const other = makeDevice("kisii-meter-2");
      const refused = ingestor.submit(electricity(other), { source: "http" });
      await new Promise((r) => setTimeout(r, 20));
      directory.set(deviceInfo(other)); // not read: the poll failed
      directory.poll(false);
      const [r] = await refused;
      assert.deepEqual(r!.status === "rejected" && r!.reason, "unknown-device");

      // a CSV import's row does not wait (history, of devices registered long ago)
      const asked = directory.asked.length;
      const answer = await Promise.race([
        ingestor.submit(electricity(makeDevice("kisii-meter-3")), { source: "csv" }),
        new Promise<null>((r) => setTimeout(() => r(null), 5_000)),
      ]);
      assert.ok(answer, "refused at once, not held for the poll");
      assert.deepEqual(answer[0]!.status === "rejected" && answer[0]!.reason, "unknown-device");
      assert.equal(directory.asked.length, asked);
      assert.deepEqual(await waits(), { registered: 1, unread: 1 }, "each wait counted by its outcome");
    } finally {
      await close();
    }
  });

  test(`at most ${MAX_WAITING_FOR_REGISTRATION} readings wait; the next is refused at once, and those waiting are refused after a poll that did not register their device`, async () => {
    const directory = new PolledDirectory();
    const { ingestor, storage, waits, close } = ingestorWith(directory);
    try {
      const made = makeDevice("made-up-1");
      const waiting: Promise<IngestOutcome[]>[] = [];
      for (let i = 0; i < MAX_WAITING_FOR_REGISTRATION; i++) {
        waiting.push(ingestor.submit(electricity(made), { source: "http" }));
      }
      // the waiting readings reach their wait (each prepared on a verify worker first)
      const deadline = Date.now() + 30_000;
      while (directory.asked.length < MAX_WAITING_FOR_REGISTRATION && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 10));
      }
      assert.equal(directory.asked.length, MAX_WAITING_FOR_REGISTRATION);
      const answer = await Promise.race([
        ingestor.submit(electricity(made), { source: "http" }),
        new Promise<null>((r) => setTimeout(() => r(null), 5_000)),
      ]);
      assert.ok(answer, "refused at once, not held for the poll");
      assert.deepEqual(answer[0]!.status === "rejected" && answer[0]!.reason, "unknown-device");
      assert.equal(directory.asked.length, MAX_WAITING_FOR_REGISTRATION, "the one over the bound did not wait");
      directory.poll(true);
      const outcomes = (await Promise.all(waiting)).flat();
      assert.equal(outcomes.filter((o) => o.status === "rejected" && o.reason === "unknown-device").length, 1_000);
      assert.equal(storage.listDeadLetters({ limit: 2_000, deviceId: made.deviceId }).length, 1_001);
      assert.deepEqual(await waits(), { full: 1, unknown: MAX_WAITING_FOR_REGISTRATION });
    } finally {
      await close();
    }
  });

  test("a reading signed with a key rotated since the record was read waits for the next poll, then is taken under the new key; a forged one is refused after it; a CSV row does not wait", async () => {
    const directory = new PolledDirectory();
    const { ingestor, close } = ingestorWith(directory);
    try {
      const before = makeDevice("kisii-meter-7");
      directory.set(deviceInfo(before));
      assert.equal((await ingestor.submit(electricity(before), { source: "http" }))[0]!.status, "stored");
      // the key rotated on-chain at `rotatedAt`; the device signs with the new one at once
      const after = makeDevice(before.deviceId);
      after.seq = before.seq;
      const rotatedAt = Math.floor(Date.now() / 1000) - 1;
      const askedBefore = directory.asked.length;
      const outcome = ingestor.submit(electricity(after), { source: "http" });
      const isDone = settled(outcome);
      await waitFor(() => directory.asked.length > askedBefore || undefined, {
        timeoutMs: 10_000,
        what: "the reading waiting for the directory's poll",
      });
      assert.equal(isDone(), false, "held until the poll");
      assert.equal(directory.asked.at(-1)!.ask, false, "no poll asked for it");
      // the poll reads the KeyRotated event: the record now holds both keys
      directory.set({
        ...deviceInfo(before),
        keys: [
          { publicKey: before.publicKey, validFrom: 0, validUntil: rotatedAt },
          { publicKey: after.publicKey, validFrom: rotatedAt, validUntil: null },
        ],
      });
      directory.poll(true);
      const [taken] = await outcome;
      assert.equal(taken!.status, "stored", JSON.stringify(taken));

      // a signature of no key of the device: refused after the poll, which changed nothing
      const forger = makeDevice(before.deviceId);
      forger.seq = after.seq;
      const waiting = directory.asked.length;
      const forged = ingestor.submit(electricity(forger), { source: "http" });
      await waitFor(() => directory.asked.length > waiting || undefined, {
        timeoutMs: 10_000,
        what: "the forged reading waiting",
      });
      directory.poll(true);
      const [r] = await forged;
      assert.deepEqual(r!.status === "rejected" && r!.reason, "bad-signature");

      // a CSV import's row does not wait
      const asked = directory.asked.length;
      const answer = await Promise.race([
        ingestor.submit(electricity(forger), { source: "csv" }),
        new Promise<null>((r) => setTimeout(() => r(null), 5_000)),
      ]);
      assert.ok(answer, "refused at once, not held for the poll");
      assert.deepEqual(answer[0]!.status === "rejected" && answer[0]!.reason, "bad-signature");
      assert.equal(directory.asked.length, asked);
    } finally {
      await close();
    }
  });
});
