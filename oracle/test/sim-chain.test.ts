/**
 * Issue 6's headline: end to end from simulated devices to a confirmed attestation whose proofs
 * verify on-chain. The source is `carbonproof-sim` itself, run as its own process: it registers
 * its devices in the DeviceRegistry of a real Hardhat network and publishes over MQTT to the
 * node's embedded broker, with injected bad signatures, replays and implausible values.
 *
 * The simulator back-fills (`--speed`): a meter reads every 60 s and a fuel log every 900 s, so a
 * run of a few seconds needs 16 minutes of history to have one of each. A back-fill reaches the
 * node device by device; with a short grace a window whose first device's readings were all
 * faulted could be opened by the second device after a later window was sealed, and be refused
 * `too-late` (docs/oracle.md, simulator). So the node takes the back-fill with a long grace, as
 * the docs advise, then restarts on the same data dir with the chain harness's short grace, which
 * seals every window and attests it.
 */
import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  bundleCid,
  decodeBundle,
  type BundleReading,
  hexToBytes,
  idToBytes32,
  leafHash,
  readingDigestHex,
  verifyEnvelope,
} from "../../sdk/src/index.ts";
import { attestationRegistryAbi } from "../src/chain/abi.ts";
import type { StoredReading } from "../src/storage/types.ts";
import {
  ADMIN_KEY,
  HardhatNode,
  chainTestNode,
  deploy,
  type ConfirmedReading,
  type Deployment,
} from "./chain-harness.ts";
import { testNode } from "./fixtures.ts";
import { postgresMissing, startPostgres } from "./postgres-harness.ts";
import type { ConfigInput } from "../src/config/schema.ts";
import { runSimProcess, tempDir, waitFor } from "./helpers.ts";

const FACILITY = "ktda-kangaita"; // the simulator's default facility, known to the test calculator
/** the ingesting node's window: short (under a minute, the local chain only), about 50 in the back-fill */
const WINDOW_S = 20;
/** 4 s at 240× is 960 simulated seconds: 192 readings a chimney, 16 of the meter, 1 of each fuel log */
const SIM_ARGS = ["--chimneys", "2", "--meters", "1", "--fuel", "4", "--duration", "4", "--speed", "240"];
/**
 * 3 % each: about 12 of each fault among ~420 readings (none at all has odds of ~1e-5). Four fuel
 * logs make one reading each, so at least one is stored but for odds of ~1e-5 (each is 6 % faulted).
 */
const FAULT_ARGS = ["--bad-sig-rate", "0.03", "--replay-rate", "0.03", "--implausible-rate", "0.03"];
const ADMIN_KEY_ENV = "CARBONPROOF_TEST_SIM_ADMIN_KEY";

type SimState = {
  devices: { deviceId: string; kind: string; seq: number; buffer?: unknown[] }[];
  publicKeys: string[];
};

/**
 * The node that takes the back-fill: devices from the DeviceRegistry (cache dropped by its
 * events), 20 s windows, and a grace of an hour so that no window is sealed while the back-fill
 * arrives. It submits nothing (`chain.enabled` off): the restarted node (the harness's defaults) does.
 */
function ingestNode(hh: HardhatNode, dep: Deployment, dir: string, storage: Storage) {
  return chainTestNode(hh, dep, {
    batching: { windowS: WINDOW_S, graceS: 3600 },
    chain: { enabled: false },
    dir,
    storage,
  });
}

type Storage = NonNullable<ConfigInput["storage"]>;

/**
 * The same run on each storage: SQLite (the embedded default) and PostgreSQL (production: a real
 * server, postgres-harness.ts), which the node reaches from three threads at once.
 */
const storages: {
  name: string;
  skip: string | false;
  open: () => Promise<{ storage: Storage; stop: () => Promise<void> }>;
}[] = [
  { name: "SQLite", skip: false, open: async () => ({ storage: {}, stop: async () => {} }) },
  {
    name: "PostgreSQL",
    skip: postgresMissing ?? false,
    open: async () => {
      const server = await startPostgres();
      const url = await server.createDatabase();
      return { storage: { driver: "postgres", url }, stop: () => server.stop() };
    },
  },
];

for (const { name, skip, open } of storages)
  describe(`carbonproof-sim to confirmed attestations on a Hardhat node (${name})`, { timeout: 300_000, skip }, () => {
    let hh: HardhatNode;
    let dep: Deployment;
    let tmp: ReturnType<typeof tempDir>;
    let node: Awaited<ReturnType<typeof testNode>> | undefined;
    let db: Awaited<ReturnType<typeof open>> | undefined;

    before(async () => {
      hh = await HardhatNode.start();
      dep = await deploy(hh.url);
      tmp = tempDir("cp-sim-chain-");
      db = await open();
    });
    after(async () => {
      await node?.close();
      await hh?.stop();
      await db?.stop();
      tmp?.cleanup();
    });

    test("simulated devices registered on-chain end in confirmed attestations: none lost, every fault dead-lettered, proofs verify on-chain and bundles hold the readings", async (t) => {
      const t0 = Date.now();
      const lap = (what: string) => t.diagnostic(`${what} at ${((Date.now() - t0) / 1000).toFixed(1)} s`);
      node = await ingestNode(hh, dep, tmp.dir, db!.storage);
      lap("node started");
      const statePath = join(tmp.dir, "sim-state.json");
      const run = await runSimProcess(
        [
          "--mqtt",
          node.mqtt!.url,
          "--state",
          statePath,
          "--rpc",
          hh.url,
          "--device-registry",
          dep.deviceRegistry,
          "--admin-key-env",
          ADMIN_KEY_ENV,
          ...SIM_ARGS,
          ...FAULT_ARGS,
        ],
        { [ADMIN_KEY_ENV]: ADMIN_KEY }, // the admin key in the environment, never on the command line
        // a hung run must not hang the suite: 4 s of sending plus start-up and registration take far less
        { killAfterMs: 120_000 },
      );
      lap("simulator done");
      assert.equal(run.code, 0, run.stderr);
      assert.ok(!run.stderr.includes(ADMIN_KEY.slice(2)), "the admin key is never printed");
      const s = run.stats;
      assert.ok(s, `carbonproof-sim printed no stats: ${run.stderr}`);
      t.diagnostic(`simulator: ${JSON.stringify(s)}`);
      assert.equal(s.buffered, 0, "the simulator holds nothing back");
      assert.equal(s.failed, 0);
      assert.equal(s.acked, s.published, "every message acknowledged");
      for (const [fault, n] of Object.entries(s.faults)) assert.ok(n > 0, `some ${fault} injected`);

      const saved = JSON.parse(readFileSync(statePath, "utf8")) as SimState;
      assert.deepEqual([...new Set(saved.devices.map((d) => d.kind))].sort(), ["electricity", "flue-gas", "fuel"]);
      for (const d of saved.devices) {
        const active = await dep.publicClient.readContract({
          address: dep.deviceRegistry,
          abi: dep.abis.deviceRegistry,
          functionName: "isActive",
          args: [idToBytes32(d.deviceId)],
        });
        assert.equal(active, true, `${d.deviceId} registered on-chain by the simulator`);
      }

      // a PUBACK means durable (docs/oracle.md, "Durability"): all of it is in storage when the run ends
      const stored = node.storage.listReadings({ facilityId: FACILITY, limit: 100_000 });
      const dead = node.storage.listDeadLetters({ limit: 100_000 });
      assert.equal(stored.length, s.acked - s.injected, "every acknowledged good reading stored");
      const byReason: Record<string, number> = {};
      for (const d of dead) byReason[d.reason] = (byReason[d.reason] ?? 0) + 1;
      assert.deepEqual(
        byReason,
        { "bad-signature": s.faults.badSignature, replay: s.faults.replay, implausible: s.faults.implausible },
        "each injected fault dead-lettered once with its reason, and nothing else",
      );
      const storedBySeq = new Map(stored.map((r) => [`${r.deviceId}/${r.seq}`, r]));
      for (const d of saved.devices) {
        // each seq the device made is stored or is a faulted reading's dead letter, never both
        const mine = stored.filter((r) => r.deviceId === d.deviceId).map((r) => r.seq);
        const faulted = dead.filter((x) => x.deviceId === d.deviceId && x.reason !== "replay").map((x) => x.seq!);
        assert.deepEqual(
          [...mine, ...faulted].sort((a, b) => a - b),
          Array.from({ length: d.seq }, (_, i) => i + 1),
          `${d.deviceId}: seqs 1..${d.seq} each stored or dead-lettered, once`,
        );
        // a replay is an earlier envelope of the device again: the very reading stored under its seq
        for (const x of dead.filter((y) => y.deviceId === d.deviceId && y.reason === "replay"))
          assert.equal(x.digest, storedBySeq.get(`${d.deviceId}/${x.seq}`)?.digest, `replay of ${d.deviceId}/${x.seq}`);
      }
      const open = node.storage.listBatches({ facilityId: FACILITY, limit: 10_000 });
      assert.ok(
        open.every((b) => b.state === "open" && b.periodEnd - b.periodStart === WINDOW_S),
        "no window sealed during the back-fill",
      );
      assert.ok(open.length > 1, `${open.length} windows`);

      // the restart with the chain harness's short grace seals every window and attests it
      await node.close();
      node = await chainTestNode(hh, dep, { dir: tmp.dir, storage: db!.storage });
      lap("node restarted with chain submission");
      const httpUrl = node.httpUrl!;
      const storage = node.storage;
      const batches = await waitFor(
        () => {
          const bs = storage.listBatches({ facilityId: FACILITY, limit: 10_000 });
          const failed = bs.find((b) => b.state === "failed");
          if (failed) throw new Error(`batch ${failed.id} failed: ${failed.error}`);
          return bs.every((b) => b.state === "confirmed") ? bs : null;
        },
        { timeoutMs: 120_000, intervalMs: 250, what: "every window's batch confirmed" },
      );
      lap(`${batches.length} batches confirmed`);
      assert.deepEqual(
        batches.map((b) => b.id),
        open.map((b) => b.id),
        "the back-fill's windows, no correction",
      );
      assert.equal(
        batches.reduce((n, b) => n + b.readingCount, 0),
        stored.length,
        "every stored reading attested",
      );
      for (const b of batches) {
        const onChain = await dep.publicClient.readContract({
          address: dep.attestationRegistry,
          abi: attestationRegistryAbi,
          functionName: "exists",
          args: [b.attestationId as `0x${string}`],
        });
        assert.equal(onChain, true, `attestation of batch ${b.id} on-chain`);
      }

      // a sample: each device's first and last stored reading, at least one of every kind
      const sample: StoredReading[] = [];
      for (const d of saved.devices) {
        const mine = stored.filter((r) => r.deviceId === d.deviceId).sort((a, b) => a.seq - b.seq);
        if (mine.length > 0) sample.push(...new Set([mine[0]!, mine.at(-1)!])); // a fuel log's one reading may be faulted
      }
      assert.deepEqual([...new Set(sample.map((r) => r.kind))].sort(), ["electricity", "flue-gas", "fuel"]);
      const views = new Map<string, ConfirmedReading>();
      for (const r of sample) {
        const res = await fetch(`${httpUrl}/v1/readings/${r.digest}`);
        assert.equal(res.status, 200);
        const view = (await res.json()) as ConfirmedReading;
        views.set(r.digest, view);
        assert.equal(view.confirmed, true, `${r.deviceId}/${r.seq} confirmed`);
        assert.equal(view.leaf, leafHash(r.digest as `0x${string}`));
        const ok = await dep.publicClient.readContract({
          address: dep.attestationRegistry,
          abi: attestationRegistryAbi,
          functionName: "verifyReading",
          args: [view.attestationId, view.leaf, view.proof],
        });
        assert.equal(ok, true, `proof of ${r.deviceId}/${r.seq} (${r.kind}) verifies on-chain`);

        const bytes = await node.content!.get(view.bundleCid);
        assert.ok(bytes, `bundle ${view.bundleCid} in the node's IPFS`);
        assert.equal(bundleCid(bytes), view.bundleCid, "the bytes are the CID's");
        const entry: BundleReading | undefined = decodeBundle(bytes).readings.find((e) => e.digest === r.digest);
        assert.ok(entry, `${r.deviceId}/${r.seq} in its bundle`);
        assert.equal(readingDigestHex(entry.envelope.reading), r.digest);
        const publicKey = saved.publicKeys[saved.devices.findIndex((d) => d.deviceId === r.deviceId)]!;
        assert.equal(verifyEnvelope(entry.envelope, hexToBytes(publicKey)), true, "signed by the simulated device");
      }
      // the contract's check is not a rubber stamp: a reading's proof does not verify against another attestation
      const [a, b] = [...views.values()].filter(
        (v, i, all) => all.findIndex((w) => w.attestationId === v.attestationId) === i,
      );
      assert.ok(a && b, "the sample spans two attestations");
      const crossed = await dep.publicClient.readContract({
        address: dep.attestationRegistry,
        abi: attestationRegistryAbi,
        functionName: "verifyReading",
        args: [b.attestationId, a.leaf, a.proof],
      });
      assert.equal(crossed, false);
      lap("sample checked");
    });
  });

describe("carbonproof-sim registering devices an earlier state file registered", { timeout: 120_000 }, () => {
  let hh: HardhatNode;
  let dep: Deployment;
  let tmp: ReturnType<typeof tempDir>;
  before(async () => {
    hh = await HardhatNode.start();
    dep = await deploy(hh.url);
    tmp = tempDir("cp-sim-reregister-");
  });
  after(async () => {
    await hh?.stop();
    tmp?.cleanup();
  });

  test("a device of the same id with another key stops the run saying so; its own state file runs on", async () => {
    const setUp = (state: string) =>
      runSimProcess(
        [
          ...["--state", join(tmp.dir, state), "--rpc", hh.url, "--device-registry", dep.deviceRegistry],
          ...["--admin-key-env", ADMIN_KEY_ENV, "--chimneys", "1", "--meters", "0", "--fuel", "0", "--duration", "0"],
        ],
        { [ADMIN_KEY_ENV]: ADMIN_KEY },
      );
    const first = await setUp("a.json");
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stderr, /registered ktda-kangaita-chimney-1/);
    // the same state file again: its device is registered with its key, nothing to do
    const again = await setUp("a.json");
    assert.equal(again.code, 0, again.stderr);
    assert.doesNotMatch(again.stderr, /registered ktda-kangaita-chimney-1/);
    // a new state file makes a new key under the same id (review: taken as registered, and every
    // reading then refused as bad-signature)
    const other = await setUp("b.json");
    assert.equal(other.code, 1, other.stderr);
    assert.match(
      other.stderr,
      /device ktda-kangaita-chimney-1 is in the DeviceRegistry at 0x[0-9a-fA-F]{40} already, registered with another key: .*Restore the state file that holds its key/,
    );
  });
});
