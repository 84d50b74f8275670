import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, openSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import mqtt from "mqtt";
import { createWalletClient, http, type Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { readingDigestHex, type Envelope } from "../../sdk/src/index.ts";
import { headerFromJson } from "../src/batch/bundle.ts";
import { attestationRegistryAbi, oracleSetAbi } from "../src/chain/abi.ts";
import { chainFor } from "../src/chain/viem.ts";
import { deviceFileJson } from "../src/devices/directory.ts";
import { readingsTopic } from "../src/ingest/mqtt.ts";
import { openStorage, type StorageSpec } from "../src/storage/open.ts";
import { postgresMissing, startPostgres, type PostgresServer } from "./postgres-harness.ts";
import { freePort } from "../../sdk/src/test/ports.ts";
import { HardhatNode, ORACLE_KEY, deploy, type Deployment } from "./chain-harness.ts";
import { deviceInfo, electricity, flueGas, makeDevice } from "./fixtures.ts";
import { tempDir, waitFor } from "./helpers.ts";

const cli = join(dirname(fileURLToPath(import.meta.url)), "../src/cli/main.ts");

/**
 * The node runs as a child process (`carbonproof-oracle start`) and is SIGKILLed at every
 * state of the batch state machine (with CARBONPROOF_ORACLE_CRASH_AT, right after the durable
 * transition), and once by the test while readings stream in. Devices re-send what was not
 * acknowledged, as they do after an outage. At the end every reading is in exactly one
 * confirmed attestation, on-chain: the readingCounts of all AttestationSubmitted events add
 * up to the number of distinct readings, and each reading's proof verifies on-chain.
 */
/**
 * On each storage: SQLite (the embedded default) and PostgreSQL (production: a real server,
 * postgres-harness.ts, whose connections the SIGKILL cuts mid-transaction).
 */
const storages: { name: string; skip: string | false; postgres: boolean }[] = [
  { name: "SQLite", skip: false, postgres: false },
  { name: "PostgreSQL", skip: postgresMissing ?? false, postgres: true },
];

for (const { name, skip, postgres } of storages)
  describe(`crash recovery (SIGKILL at each batch state, ${name})`, { timeout: 900_000, skip }, () => {
    const tmp = tempDir();
    let pgServer: PostgresServer | null = null;
    let spec: StorageSpec;
    let hh: HardhatNode;
    let dep: Deployment;
    let configFile: string;
    let mqttPort: number;
    let httpPort: number;
    let child: ChildProcess | null = null;
    const chimney = makeDevice("kangaita-chimney-1");
    const meter = makeDevice("kangaita-meter-1");
    const sent = new Map<string, Envelope>(); // digest → envelope
    const unacked = new Set<string>();
    /** another node of the quorum, which submits a batch this node signed while it is down */
    const other = privateKeyToAccount(generatePrivateKey());
    const otherSubmissions: Hex[] = [];

    before(async () => {
      if (postgres) {
        pgServer = await startPostgres();
        spec = { driver: "postgres", url: await pgServer.createDatabase() };
      } else spec = { driver: "sqlite", path: join(tmp.dir, "data", "oracle.db"), synchronous: "FULL" };
      hh = await HardhatNode.start();
      dep = await deploy(hh.url);
      mqttPort = await freePort();
      httpPort = await freePort();
      writeFileSync(join(tmp.dir, "devices.json"), deviceFileJson([deviceInfo(chimney), deviceInfo(meter)]));
      configFile = join(tmp.dir, "oracle.json");
      writeFileSync(
        configFile,
        JSON.stringify({
          dataDir: join(tmp.dir, "data"),
          log: { level: process.env.ORACLE_TEST_LOG ?? "info" },
          http: { port: httpPort },
          mqtt: { port: mqttPort },
          devices: { source: "file", file: join(tmp.dir, "devices.json") },
          batching: { windowS: 2, graceS: 1, tickMs: 100, retryBaseMs: 100, retryMaxMs: 1000 },
          chain: {
            enabled: true,
            rpcUrl: hh.url,
            attestationRegistry: dep.attestationRegistry,
            pollMs: 100,
            gasBumpAfterMs: 3000,
          },
          facilities: { "ktda-kangaita": { country: "KEN", flueGasBiogenicShareBp: 10000 } },
          ...(spec.driver === "postgres" ? { storage: { driver: "postgres", url: spec.url } } : {}),
        }),
      );
    });
    after(async () => {
      if (child && child.exitCode === null) child.kill("SIGKILL");
      if (process.env.ORACLE_TEST_KEEP) console.log(`node log kept in ${tmp.dir}/node.log`);
      await hh?.stop();
      await pgServer?.stop();
      if (!process.env.ORACLE_TEST_KEEP) tmp.cleanup();
    });

    /** Starts the node; resolves with it once /health answers, or once it died starting (a crash point reached during recovery). */
    async function startChild(crashAt?: string): Promise<ChildProcess> {
      const env: NodeJS.ProcessEnv = { ...process.env, CARBONPROOF_ORACLE_PRIVATE_KEY: ORACLE_KEY };
      if (crashAt) env.CARBONPROOF_ORACLE_CRASH_AT = crashAt;
      else delete env.CARBONPROOF_ORACLE_CRASH_AT;
      const log = openSync(join(tmp.dir, "node.log"), "a"); // the node's pino lines, for a failure's post-mortem
      const c = spawn(
        process.execPath,
        ["--disable-warning=ExperimentalWarning", cli, "start", "--config", configFile],
        {
          env,
          stdio: ["ignore", log, log],
        },
      );
      closeSync(log);
      child = c;
      await waitFor(
        async () =>
          c.exitCode !== null || c.signalCode !== null || (await fetch(`http://127.0.0.1:${httpPort}/health`)).ok,
        { timeoutMs: 90_000, intervalMs: 100, what: "node up" },
      );
      return c;
    }

    const exited = (c: ChildProcess, timeoutMs: number) =>
      new Promise<NodeJS.Signals | number | null>((resolve, reject) => {
        if (c.exitCode !== null || c.signalCode !== null) return resolve(c.signalCode ?? c.exitCode);
        const t = setTimeout(() => reject(new Error(`node did not exit within ${timeoutMs} ms`)), timeoutMs);
        c.once("exit", (code, signal) => {
          clearTimeout(t);
          resolve(signal ?? code);
        });
      });

    /** Publishes each envelope with QoS 1; the ones without a PUBACK stay in `unacked` for a resend. */
    async function publish(envs: Envelope[]): Promise<void> {
      for (const e of envs) {
        const d = readingDigestHex(e.reading);
        sent.set(d, e);
        unacked.add(d);
      }
      let client: mqtt.MqttClient;
      try {
        client = await mqtt.connectAsync(`mqtt://127.0.0.1:${mqttPort}`, { reconnectPeriod: 0, connectTimeout: 2000 });
      } catch {
        return; // the node is down: all stay unacknowledged
      }
      client.on("error", () => {});
      // once the node is gone (killed at its crash point), the rest stay unacknowledged at once: a
      // publish on a closed client would only wait out its timeout, and resends pile up crash after crash
      let closed = false;
      const onClose = new Promise<boolean>((r) => client.once("close", () => ((closed = true), r(false))));
      for (const e of envs) {
        if (closed) break;
        const d = readingDigestHex(e.reading);
        const ok = await Promise.race([
          client
            .publishAsync(readingsTopic(e.reading.facilityId, e.reading.deviceId), JSON.stringify(e), { qos: 1 })
            .then(
              () => true,
              () => false,
            ),
          onClose,
          new Promise<boolean>((r) => setTimeout(() => r(false), 2000)),
        ]);
        if (ok) unacked.delete(d);
        await new Promise((r) => setTimeout(r, 40));
      }
      client.end(true);
    }

    const some = (n: number) => Array.from({ length: n }, (_, i) => (i % 2 ? electricity(meter) : flueGas(chimney)));

    for (const point of [
      "open",
      "sealed",
      "pinned",
      "signed",
      "submitted-before-broadcast",
      "submitted",
      "confirmed",
    ]) {
      test(`SIGKILL at ${point}: the node restarts and resumes`, async () => {
        const c = await startChild(point === "open" ? undefined : point);
        // devices re-send what was never acknowledged before the crash
        await publish([...unacked].map((d) => sent.get(d)!));
        if (point === "open") {
          await publish(some(10));
          c.kill("SIGKILL"); // while readings are open in their window
          await publish(some(4)); // to a dead broker: not acknowledged, re-sent later
        } else {
          await publish(some(12));
        }
        const how = await exited(c, 30_000);
        assert.equal(how, "SIGKILL");
        if (point === "signed") await submitSignedByOther();
      });
    }

    /**
     * While the node is down after its crash at `signed`, another node of the quorum submits the
     * earliest signed batch with the header and signatures this node stored: on restart the node
     * finds the attestation on-chain without a receipt of its own, and must record that transaction.
     */
    async function submitSignedByOther(): Promise<void> {
      const storage = openStorage(spec);
      const [b] = storage.listBatches({ states: ["signed"] }).sort((x, y) => x.periodStart - y.periodStart);
      assert.ok(b, "a batch signed at the crash");
      // a correction (of a batch confirmed before) goes on-chain with its regular header
      const original = b.correctionOfBatch === null ? null : storage.getBatch(b.correctionOfBatch)!.headerJson!;
      storage.close();
      const admin = dep.wallet;
      await dep.publicClient.waitForTransactionReceipt({
        hash: await admin.writeContract({
          address: dep.oracleSet,
          abi: oracleSetAbi,
          functionName: "addNode",
          args: [other.address],
          account: dep.admin,
          chain: admin.chain,
        }),
      });
      await hh.rpc("hardhat_setBalance", [other.address, "0x56bc75e2d63100000"]); // 100 ETH
      const wallet = createWalletClient({ account: other, chain: chainFor(31337, hh.url), transport: http(hh.url) });
      const header = headerFromJson(b.headerJson!);
      const hash = await wallet.writeContract(
        original === null
          ? {
              address: dep.attestationRegistry,
              abi: attestationRegistryAbi,
              functionName: "submit",
              args: [header, b.signatures as Hex],
            }
          : {
              address: dep.attestationRegistry,
              abi: attestationRegistryAbi,
              functionName: "submitCorrection",
              args: [header, headerFromJson(original), b.signatures as Hex],
            },
      );
      assert.equal((await dep.publicClient.waitForTransactionReceipt({ hash })).status, "success");
      otherSubmissions.push(hash);
    }

    test("after the last restart every reading is attested exactly once, with proofs that verify on-chain", async () => {
      const c = await startChild();
      // as devices do: re-send what is still unacknowledged (a PUBACK slower than the publisher's
      // 2 s timeout, while the node resumes its batches, leaves a reading to the next round)
      for (let round = 0; round < 5 && unacked.size > 0; round++) await publish([...unacked].map((d) => sent.get(d)!));
      assert.equal(unacked.size, 0, "every reading acknowledged in the end");
      const status = await waitFor(
        async () => {
          const s = (await (await fetch(`http://127.0.0.1:${httpPort}/v1/status`)).json()) as {
            backlog: number;
            batches: Record<string, number>;
          };
          const unfinished = ["open", "sealed", "pinned", "signed", "submitted"].reduce(
            (n, k) => n + (s.batches[k] ?? 0),
            0,
          );
          return unfinished === 0 && s.backlog === 0 ? s : null;
        },
        { timeoutMs: 60_000, intervalMs: 200, what: "all batches confirmed" },
      );
      assert.equal(status.batches.failed ?? 0, 0);

      const events = await dep.publicClient.getContractEvents({
        address: dep.attestationRegistry,
        abi: attestationRegistryAbi,
        eventName: "AttestationSubmitted",
        fromBlock: 0n,
      });
      const onChain = events.reduce(
        (n, e) => n + Number((e.args as { header: { readingCount: number } }).header.readingCount),
        0,
      );
      assert.equal(onChain, sent.size, "sum of attested reading counts = distinct readings sent");
      const ids = new Set(events.map((e) => (e.args as { id: string }).id));
      assert.equal(ids.size, events.length, "no attestation twice");
      // every confirmed batch names the transaction and block that attested it, also the one the
      // other node submitted (no receipt of this node's own)
      const confirmed = (
        (await (await fetch(`http://127.0.0.1:${httpPort}/v1/batches?state=confirmed&limit=1000`)).json()) as {
          batches: { id: number; attestationId: string; txHash: string | null; blockNumber: number | null }[];
        }
      ).batches;
      assert.equal(confirmed.length, events.length, "one confirmed batch per attestation");
      for (const bt of confirmed) {
        const e = events.find((x) => (x.args as { id: string }).id === bt.attestationId);
        assert.ok(e, `batch ${bt.id}'s attestation is on-chain`);
        assert.equal(bt.txHash, e.transactionHash, `batch ${bt.id}: the attesting transaction`);
        assert.equal(bt.blockNumber, Number(e.blockNumber), `batch ${bt.id}: its block`);
      }
      assert.equal(otherSubmissions.length, 1);
      assert.ok(
        confirmed.some((bt) => bt.txHash === otherSubmissions[0]),
        "the batch the other node submitted is confirmed with its transaction",
      );

      for (const [digest] of sent) {
        const r = (await (await fetch(`http://127.0.0.1:${httpPort}/v1/readings/${digest}`)).json()) as {
          confirmed: boolean;
          attestationId: `0x${string}`;
          leaf: `0x${string}`;
          proof: `0x${string}`[];
        };
        assert.equal(r.confirmed, true, `${digest} confirmed`);
        assert.ok(ids.has(r.attestationId), "its attestation is on-chain");
        const ok = await dep.publicClient.readContract({
          address: dep.attestationRegistry,
          abi: attestationRegistryAbi,
          functionName: "verifyReading",
          args: [r.attestationId, r.leaf, r.proof],
        });
        assert.equal(ok, true, `proof of ${digest} verifies on-chain`);
      }
      c.kill("SIGTERM");
      assert.equal(await exited(c, 15_000), 0, "graceful stop on SIGTERM");
    });
  });
