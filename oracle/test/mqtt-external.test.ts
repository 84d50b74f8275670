import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn, spawnSync, type ChildProcess } from "node:child_process";
import { closeSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { createServer as createTcpServer, type Server } from "node:net";
import { createServer as createTlsServer } from "node:tls";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { DatabaseSync } from "node:sqlite";
import { Aedes } from "aedes";
import mqtt, { type IClientOptions, type IConnackPacket } from "mqtt";
import { readingDigestHex, type Envelope } from "../../sdk/src/index.ts";
import { freePort } from "../../sdk/src/test/ports.ts";
import { ensureDebianCommand } from "../../scripts/debian.ts";
import type { ConfigInput } from "../src/config/schema.ts";
import { parseConfig } from "../src/config/load.ts";
import type { Metrics } from "../src/metrics/metrics.ts";
import { deviceFileJson } from "../src/devices/directory.ts";
import {
  brokerIdentity,
  type DrainTimings,
  externalSubscriberCount,
  PREVIOUS_BROKERS_META_KEY,
  readingsTopic,
  SUBSCRIBER_IDS_META_KEY,
} from "../src/ingest/mqtt.ts";
import { deviceInfo, electricity, flueGas, makeDevice, testNode } from "./fixtures.ts";
import { tempDir, waitFor } from "./helpers.ts";

/**
 * `mqtt.mode: external`: the node subscribes to a broker it does not run. The brokers are real:
 * aedes (the house's MQTT 3.1.1 broker) on loopback, over TCP with user names and passwords and
 * over TLS with certificates made by `openssl` at run time (never committed), and Mosquitto for
 * MQTT 5 shared subscriptions (aedes speaks no MQTT 5). Failing starts and the log are checked on
 * the CLI (`carbonproof-oracle start`) in a child process: what an operator sees.
 */

const cli = join(dirname(fileURLToPath(import.meta.url)), "../src/cli/main.ts");
const haveOpenssl = spawnSync("openssl", ["version"]).status === 0;
/**
 * Mosquitto (MQTT 5 shared subscriptions), installed with apt-get when missing and this runs as
 * root (scripts/debian.ts, as firmware/test.sh and bench:mqtt-external do); otherwise the tests
 * that need it skip, saying why.
 */
const mosquittoFound: { bin: string } | { missing: string } = (() => {
  try {
    const log = (line: string) => process.stderr.write(`# ${line}\n`);
    return {
      bin: ensureDebianCommand({ bins: ["mosquitto", "/usr/sbin/mosquitto"], args: ["-h"], pkg: "mosquitto", log }),
    };
  } catch (err) {
    return { missing: (err as Error).message };
  }
})();
const needsMosquitto = {
  skip:
    "missing" in mosquittoFound &&
    `needs the mosquitto broker (MQTT 5 shared subscriptions): ${mosquittoFound.missing}`,
};

type Pki = {
  ca: string;
  otherCa: string;
  serverKey: string;
  serverCert: string;
  clientKey: string;
  clientCert: string;
};

/** A CA, a server certificate for 127.0.0.1 and a client certificate signed by it, and an unrelated CA; PEM files in `dir`. */
function makePki(dir: string): Pki {
  const ssl = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
  const ecKey = (name: string) =>
    ssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", name);
  const selfSigned = (name: string, cn: string) => {
    ecKey(`${name}.key`);
    ssl("req", "-x509", "-new", "-key", `${name}.key`, "-subj", `/CN=${cn}`, "-days", "2", "-out", `${name}.pem`);
  };
  const signed = (name: string, cn: string, ext: string) => {
    ecKey(`${name}.key`);
    ssl("req", "-new", "-key", `${name}.key`, "-subj", `/CN=${cn}`, "-out", `${name}.csr`);
    writeFileSync(join(dir, `${name}.ext`), ext);
    const ca = ["-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial"];
    ssl("x509", "-req", "-in", `${name}.csr`, ...ca, "-days", "2", "-extfile", `${name}.ext`, "-out", `${name}.pem`);
  };
  selfSigned("ca", "carbonproof test CA");
  selfSigned("other-ca", "some other CA");
  signed("server", "127.0.0.1", "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n");
  signed("client", "oracle-1", "extendedKeyUsage=clientAuth\n");
  const p = (f: string) => join(dir, f);
  return {
    ca: p("ca.pem"),
    otherCa: p("other-ca.pem"),
    serverKey: p("server.key"),
    serverCert: p("server.pem"),
    clientKey: p("client.key"),
    clientCert: p("client.pem"),
  };
}

type Broker = { port: number; url: string; close: () => Promise<void> };

/**
 * An aedes broker on loopback: `users` (user name → password) makes it refuse other credentials
 * (CONNACK 4); `tls` serves TLS with these options (a client certificate with `requestCert`);
 * `refuseClientId` refuses the client ids it returns true for (CONNACK 2, identifier rejected).
 */
async function startAedes(
  opts: {
    users?: Record<string, string>;
    tls?: { key: string; cert: string; ca?: string; requestCert?: boolean };
    refuseClientId?: (clientId: string) => boolean;
  } = {},
): Promise<Broker> {
  const users = opts.users;
  const broker = await Aedes.createBroker({
    authenticate: (client, username, password, done) => {
      if (opts.refuseClientId?.(client.id)) {
        const err = Object.assign(new Error("client id refused"), { returnCode: 2 });
        return done(err as Parameters<typeof done>[0], false);
      }
      if (!users || (username !== undefined && users[username] === password?.toString("utf8"))) return done(null, true);
      const err = Object.assign(new Error("bad user name or password"), { returnCode: 4 });
      done(err as Parameters<typeof done>[0], false);
    },
  });
  const tls = opts.tls;
  const server: Server = tls
    ? createTlsServer(
        {
          key: readFileSync(tls.key),
          cert: readFileSync(tls.cert),
          ca: tls.ca ? readFileSync(tls.ca) : undefined,
          requestCert: tls.requestCert ?? false,
          rejectUnauthorized: tls.requestCert ?? false,
        },
        broker.handle,
      )
    : createTcpServer(broker.handle);
  server.on("tlsClientError", () => {}); // a refused handshake is what some tests expect
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    url: `${tls ? "mqtts" : "mqtt"}://127.0.0.1:${port}`,
    close: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await new Promise<void>((resolve) => broker.close(() => resolve()));
    },
  };
}

/** The broker settings the repo ships for Mosquitto (oracle/deploy/mosquitto/conf.d). */
const SHIPPED_MOSQUITTO_CONF_D = fileURLToPath(new URL("../deploy/mosquitto/conf.d", import.meta.url));

/**
 * Mosquitto on a loopback port (MQTT 5 shared subscriptions), sessions in memory
 * (`persistence false`: they outlive a subscriber, not the broker), with the settings the repo
 * ships for a production broker (no cap on a session's queue: Mosquitto's default drops QoS 1
 * messages past 1,000), or with Mosquitto's own when `shipped` is false.
 */
async function startMosquitto(dir: string, opts: { shipped?: boolean } = {}): Promise<Broker> {
  const port = await freePort();
  const conf = join(dir, `mosquitto-${port}.conf`);
  writeFileSync(
    conf,
    `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\n` +
      // the settings the repo ships for a production broker, unless a test asks for Mosquitto's own
      (opts.shipped === false ? "" : `include_dir ${SHIPPED_MOSQUITTO_CONF_D}\n`),
  );
  const mosquitto = spawn("bin" in mosquittoFound ? mosquittoFound.bin : "mosquitto", ["-c", conf], {
    stdio: "ignore",
  });
  const url = `mqtt://127.0.0.1:${port}`;
  const close = async () => {
    if (mosquitto.exitCode !== null || mosquitto.signalCode !== null) return;
    const exited = new Promise((resolve) => mosquitto.once("exit", resolve));
    mosquitto.kill("SIGTERM");
    await exited;
  };
  try {
    await waitFor(
      async () => {
        const c = await mqtt.connectAsync(url, { reconnectPeriod: 0, connectTimeout: 2000 });
        await c.endAsync();
        return true;
      },
      { timeoutMs: 30_000, intervalMs: 200, what: "mosquitto listening" },
    );
  } catch (err) {
    await close();
    throw err;
  }
  return { port, url, close };
}

/** Devices publishing every envelope with QoS 1 at once over `connections` connections; resolves on the last PUBACK. */
async function publishBurst(url: string, envs: Envelope[], connections = 4): Promise<void> {
  const clients = await Promise.all(
    Array.from({ length: connections }, () =>
      mqtt.connectAsync(url, { reconnectPeriod: 0, connectTimeout: 10_000, protocolVersion: 5 }),
    ),
  );
  try {
    await Promise.all(
      envs.map((e, i) =>
        clients[i % connections]!.publishAsync(
          readingsTopic(e.reading.facilityId, e.reading.deviceId),
          JSON.stringify(e),
          {
            qos: 1,
          },
        ),
      ),
    );
  } finally {
    await Promise.all(clients.map((c) => c.endAsync()));
  }
}

/** Readings stored per group commit so far, from the node's metrics (accepted readings over commits). */
async function readingsPerCommit(node: {
  common: { metrics: Metrics };
}): Promise<{ readings: number; commits: number }> {
  const accepted = await node.common.metrics.readingsAccepted.get();
  const commits = await node.common.metrics.commitSeconds.get();
  return {
    readings: accepted.values.reduce((n, v) => n + v.value, 0),
    commits: commits.values.find((v) => v.metricName === "carbonproof_oracle_ingest_commit_seconds_count")?.value ?? 0,
  };
}

/** A device publishing each envelope with QoS 1, waiting for the broker's PUBACK of each. */
async function publish(url: string, envs: Envelope[], opts: IClientOptions = {}): Promise<void> {
  const client = await mqtt.connectAsync(url, { reconnectPeriod: 0, connectTimeout: 10_000, ...opts });
  try {
    for (const e of envs)
      await client.publishAsync(readingsTopic(e.reading.facilityId, e.reading.deviceId), JSON.stringify(e), {
        qos: 1,
      });
  } finally {
    await client.endAsync();
  }
}

/**
 * A device publishing a reading (QoS 1, from `next`) every `intervalMs` after the broker's PUBACK
 * of the one before, until `stop`, or `max` readings (a bound on a test that goes wrong); `stop`
 * resolves with every envelope the broker acknowledged.
 */
function steadyStream(url: string, next: () => Envelope, opts: { intervalMs: number; max: number }) {
  const published: Envelope[] = [];
  let stopping = false;
  let running = true;
  const done = (async () => {
    const client = await mqtt.connectAsync(url, { reconnectPeriod: 0, connectTimeout: 10_000, protocolVersion: 5 });
    try {
      while (!stopping && published.length < opts.max) {
        const e = next();
        await client.publishAsync(readingsTopic(e.reading.facilityId, e.reading.deviceId), JSON.stringify(e), {
          qos: 1,
        });
        published.push(e);
        await sleep(opts.intervalMs);
      }
    } finally {
      running = false;
      await client.endAsync();
    }
  })();
  return {
    /** readings acknowledged so far */
    get count() {
      return published.length;
    },
    /** false once it stopped, asked to or not (`max`, a broker error) */
    get running() {
      return running;
    },
    async stop(): Promise<Envelope[]> {
      stopping = true;
      await done;
      return published;
    },
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const digests = (envs: Envelope[]) => envs.map((e) => readingDigestHex(e.reading));

/** Whether the broker holds a session for `clientId` (MQTT 5); the look leaves none behind (session expiry 0). */
async function hasSession(url: string, clientId: string): Promise<boolean> {
  const client = mqtt.connect(url, {
    clientId,
    clean: false,
    protocolVersion: 5,
    reconnectPeriod: 0,
    connectTimeout: 10_000,
    properties: { sessionExpiryInterval: 0 },
  });
  try {
    const connack = await new Promise<IConnackPacket>((resolve, reject) => {
      client.once("connect", resolve);
      client.once("error", reject);
    });
    return connack.sessionPresent;
  } finally {
    await client.endAsync();
  }
}

/** The client ids a stopped node remembers subscribing with (`meta`), read from its database. */
function rememberedIds(dataDir: string): unknown {
  const db = new DatabaseSync(join(dataDir, "oracle.db"), { readOnly: true });
  try {
    const row = db.prepare("SELECT value FROM meta WHERE key = ?").get(SUBSCRIBER_IDS_META_KEY) as
      { value: string } | undefined;
    return row ? JSON.parse(row.value) : null;
  } finally {
    db.close();
  }
}

/** Readings rows of a node's database and how many distinct digests they hold (equal: none stored twice). */
function readingRows(dataDir: string): { n: number; d: number } {
  const db = new DatabaseSync(join(dataDir, "oracle.db"), { readOnly: true });
  try {
    const row = db.prepare("SELECT COUNT(*) AS n, COUNT(DISTINCT digest) AS d FROM readings").get() as {
      n: number;
      d: number;
    };
    return { n: row.n, d: row.d };
  } finally {
    db.close();
  }
}

describe("external MQTT broker (mqtt.mode: external)", { skip: !haveOpenssl && "needs the openssl CLI" }, () => {
  const tmp = tempDir("cp-mqtt-external-");
  let pki: Pki;
  const chimney = makeDevice("kangaita-chimney-1");
  const meter = makeDevice("kangaita-meter-1");
  const some = (n: number) => Array.from({ length: n }, (_, i) => (i % 2 ? electricity(meter) : flueGas(chimney)));

  before(() => {
    pki = makePki(tmp.dir);
  });
  after(() => tmp.cleanup());

  /** A node (in this process) subscribed to the broker with these mqtt settings; the devices are known to it. */
  const externalNode = (mqttCfg: NonNullable<ConfigInput["mqtt"]>, extra: ConfigInput = {}) =>
    testNode({
      config: { ...extra, mqtt: { mode: "external", ...mqttCfg } },
      devices: [deviceInfo(chimney), deviceInfo(meter)],
    });

  async function assertStored(
    node: Awaited<ReturnType<typeof testNode>>,
    envs: Envelope[],
    what: string,
  ): Promise<void> {
    await waitFor(() => digests(envs).every((d) => node.storage.getReading(d)), {
      timeoutMs: 60_000,
      intervalMs: 100,
      what,
    });
  }

  test("stores the readings of a broker that requires a user name and password", async () => {
    const broker = await startAedes({ users: { "oracle-1": "node-secret", "kangaita-meter-1": "device-secret" } });
    const node = await externalNode({ url: broker.url, username: "oracle-1", password: "node-secret" });
    try {
      const envs = some(6);
      await publish(broker.url, envs, { username: "kangaita-meter-1", password: "device-secret" });
      await assertStored(node, envs, "readings stored from the broker");
      assert.equal(node.mqtt?.url, broker.url);
    } finally {
      await node.close();
      await broker.close();
    }
  });

  test("subscribes over TLS to a broker whose certificate mqtt.caFile's CA signed", async () => {
    const broker = await startAedes({ tls: { key: pki.serverKey, cert: pki.serverCert } });
    const node = await externalNode({ url: broker.url, caFile: pki.ca });
    try {
      const envs = some(4);
      await publish(broker.url, envs, { ca: readFileSync(pki.ca) });
      await assertStored(node, envs, "readings stored from the TLS broker");
    } finally {
      await node.close();
      await broker.close();
    }
  });

  test("subscribes with a client certificate (mqtt.certFile, keyFile) to a broker that requires one", async () => {
    const broker = await startAedes({
      tls: { key: pki.serverKey, cert: pki.serverCert, ca: pki.ca, requestCert: true },
    });
    const node = await externalNode({
      url: broker.url,
      caFile: pki.ca,
      certFile: pki.clientCert,
      keyFile: pki.clientKey,
    });
    try {
      const envs = some(4);
      // the device holds a certificate of the same CA
      await publish(broker.url, envs, {
        ca: readFileSync(pki.ca),
        cert: readFileSync(pki.clientCert),
        key: readFileSync(pki.clientKey),
      });
      await assertStored(node, envs, "readings stored from the mutual-TLS broker");
    } finally {
      await node.close();
      await broker.close();
    }
  });

  test("a remembered client id the broker refuses to drain does not stop the start, and is kept until a later start drains it", async () => {
    let refusing = false;
    const refusals: string[] = [];
    const broker = await startAedes({
      refuseClientId: (id) => {
        if (!refusing || id !== "oracle-old") return false;
        refusals.push(id);
        return true;
      },
    });
    const data = tempDir("cp-mqtt-drain-refused-");
    const start = (clientId: string) =>
      testNode({
        dir: data.dir,
        config: { mqtt: { mode: "external", url: broker.url, clientId } },
        devices: [deviceInfo(chimney), deviceInfo(meter)],
      });
    try {
      await (await start("oracle-old")).close();
      assert.deepEqual(rememberedIds(data.dir), ["oracle-old"]);
      refusing = true;
      // another clientId: the session of oracle-old is to be drained, and the broker refuses it
      const node = await start("oracle-new");
      try {
        const envs = some(4);
        await publish(broker.url, envs);
        await assertStored(node, envs, "readings stored by the live subscriber");
        await waitFor(() => refusals.length > 0, { timeoutMs: 60_000, intervalMs: 100, what: "the drain refused" });
      } finally {
        await node.close(); // waits for the drain's outcome to be recorded
      }
      assert.deepEqual(rememberedIds(data.dir), ["oracle-new", "oracle-old"]);
      refusing = false;
      const again = await start("oracle-new");
      try {
        await waitFor(() => again.storage.getMeta(SUBSCRIBER_IDS_META_KEY) === JSON.stringify(["oracle-new"]), {
          timeoutMs: 60_000,
          intervalMs: 100,
          what: "oracle-old drained and forgotten by the next start",
        });
      } finally {
        await again.close();
      }
    } finally {
      data.cleanup();
      await broker.close();
    }
  });

  test("remembered sessions belong to their broker: another broker never sees their ids, and pointing back drains them", async () => {
    const seen = { a: [] as string[], b: [] as string[] };
    const a = await startAedes({ refuseClientId: (id) => (seen.a.push(id), false) });
    const b = await startAedes({ refuseClientId: (id) => (seen.b.push(id), false) });
    const data = tempDir("cp-mqtt-brokers-");
    const start = (url: string, clientId: string) =>
      testNode({
        dir: data.dir,
        config: { mqtt: { mode: "external", url, clientId } },
        devices: [deviceInfo(chimney), deviceInfo(meter)],
      });
    try {
      await (await start(a.url, "oracle-a")).close();
      // moved to broker b with another client id: oracle-a is a session at a, not to be drained at b
      const atB = await start(b.url, "oracle-b");
      try {
        const envs = some(2);
        await publish(b.url, envs);
        await assertStored(atB, envs, "readings stored from broker b");
      } finally {
        await atB.close();
      }
      assert.deepEqual(
        seen.b.filter((id) => id.startsWith("oracle-")),
        ["oracle-b"],
        "broker b saw only the live id",
      );
      assert.deepEqual(rememberedIds(data.dir), ["oracle-b"]);
      const previous = () => {
        const db = new DatabaseSync(join(data.dir, "oracle.db"), { readOnly: true });
        try {
          const row = db.prepare("SELECT value FROM meta WHERE key = ?").get(PREVIOUS_BROKERS_META_KEY) as {
            value: string;
          };
          return JSON.parse(row.value) as unknown;
        } finally {
          db.close();
        }
      };
      assert.deepEqual(previous(), { [brokerIdentity(a.url)]: ["oracle-a"] });
      // back at broker a: oracle-a is drained there (and b's id is now the one kept apart)
      const seenAtA = seen.a.length;
      const back = await start(a.url, "oracle-b");
      try {
        await waitFor(() => back.storage.getMeta(SUBSCRIBER_IDS_META_KEY) === JSON.stringify(["oracle-b"]), {
          timeoutMs: 60_000,
          intervalMs: 100,
          what: "oracle-a drained at broker a and forgotten",
        });
      } finally {
        await back.close();
      }
      assert.ok(seen.a.slice(seenAtA).includes("oracle-a"), `broker a saw ${seen.a.slice(seenAtA).join(", ")}`);
      assert.deepEqual(previous(), { [brokerIdentity(b.url)]: ["oracle-b"] });
    } finally {
      data.cleanup();
      await a.close();
      await b.close();
    }
  });

  test("brokerIdentity: scheme, host and port (defaults made explicit), never credentials", () => {
    assert.equal(brokerIdentity("mqtt://user:secret@Broker.Example:1883"), "mqtt://broker.example:1883");
    assert.equal(brokerIdentity("mqtt://broker.example"), "mqtt://broker.example:1883");
    assert.equal(brokerIdentity("mqtts://broker.example/"), "mqtts://broker.example:8883");
    assert.equal(brokerIdentity("wss://broker.example/mqtt?x=1"), "wss://broker.example:443/mqtt");
    assert.notEqual(brokerIdentity("mqtt://broker.example:1884"), brokerIdentity("mqtt://broker.example"));
  });

  describe("the CLI (carbonproof-oracle start) in a child process", () => {
    const devicesFile = join(tmp.dir, "devices.json");
    before(() => writeFileSync(devicesFile, deviceFileJson([deviceInfo(chimney), deviceInfo(meter)])));

    /** A config file for a node on `name`'s data dir with this mqtt section; its HTTP port. */
    async function configFile(
      name: string,
      mqttCfg: Record<string, unknown>,
    ): Promise<{ file: string; httpPort: number }> {
      const httpPort = await freePort();
      const file = join(tmp.dir, `${name}.json`);
      writeFileSync(
        file,
        JSON.stringify({
          dataDir: join(tmp.dir, name),
          log: { level: "debug" }, // every line the node writes, to look for the password in
          http: { port: httpPort },
          mqtt: { mode: "external", ...mqttCfg },
          devices: { source: "file", file: devicesFile },
          storage: { synchronous: "NORMAL" },
          facilities: { "ktda-kangaita": { country: "KEN", flueGasBiogenicShareBp: 10000 } },
        }),
      );
      return { file, httpPort };
    }

    /** Starts the node; resolves once /health answers or the process exited (a refused start). */
    async function startChild(file: string, httpPort: number, logFile: string): Promise<ChildProcess> {
      const log = openSync(logFile, "a");
      const c = spawn(process.execPath, ["--disable-warning=ExperimentalWarning", cli, "start", "--config", file], {
        stdio: ["ignore", log, log],
      });
      closeSync(log);
      await waitFor(
        async () =>
          c.exitCode !== null || c.signalCode !== null || (await fetch(`http://127.0.0.1:${httpPort}/health`)).ok,
        { timeoutMs: 120_000, intervalMs: 200, what: "the node up, or exited" },
      );
      return c;
    }

    const exited = (c: ChildProcess, timeoutMs = 60_000) =>
      c.exitCode !== null || c.signalCode !== null
        ? Promise.resolve(c.exitCode ?? c.signalCode)
        : new Promise<number | string | null>((resolve, reject) => {
            const t = setTimeout(() => reject(new Error(`node did not exit within ${timeoutMs} ms`)), timeoutMs);
            c.once("exit", (code, signal) => {
              clearTimeout(t);
              resolve(code ?? signal);
            });
          });

    /** Runs a start that must fail with `exitCode` (1 failed, 2 bad config); everything it wrote. */
    async function refusedStart(name: string, mqttCfg: Record<string, unknown>, exitCode = 1): Promise<string> {
      const { file, httpPort } = await configFile(name, mqttCfg);
      const logFile = join(tmp.dir, `${name}.log`);
      const c = await startChild(file, httpPort, logFile);
      const code = await exited(c);
      const out = readFileSync(logFile, "utf8");
      assert.equal(code, exitCode, `the start should fail; the node wrote:\n${out}`);
      return out;
    }

    test("a password in mqtt.url reaches neither the log nor an error message", async () => {
      const password = "pw-in-url-7f3a9c";
      const broker = await startAedes({ users: { "oracle-1": password, "kangaita-meter-1": "device-secret" } });
      const logFile = join(tmp.dir, "url-password.log");
      let child: ChildProcess | null = null;
      try {
        const { file, httpPort } = await configFile("url-password", {
          url: `mqtt://oracle-1:${password}@127.0.0.1:${broker.port}`,
        });
        child = await startChild(file, httpPort, logFile);
        const envs = some(2);
        await publish(broker.url, envs, { username: "kangaita-meter-1", password: "device-secret" });
        await waitFor(
          async () => {
            for (const d of digests(envs))
              if ((await fetch(`http://127.0.0.1:${httpPort}/v1/readings/${d}`)).status !== 200) return false;
            return true;
          },
          { timeoutMs: 60_000, intervalMs: 200, what: "readings stored by the child node" },
        );
        child.kill("SIGTERM");
        await exited(child);
        // and a refused start: the wrong password, in the URL
        const refused = await refusedStart("url-wrong-password", {
          url: `mqtt://oracle-1:${password}-old@127.0.0.1:${broker.port}`,
        });
        assert.match(refused, /refused the credentials .*check mqtt\.username and mqtt\.password/);
        const out = readFileSync(logFile, "utf8") + refused;
        assert.match(
          out,
          new RegExp(`"url":"mqtt://127\\.0\\.0\\.1:${broker.port}/…".*"msg":"subscribed to external MQTT broker"`),
        );
        assert.ok(!out.includes(password), `the password is in the node's output:\n${out}`);
        assert.ok(!out.includes("oracle-1:"), "no user:password pair in the output");
      } finally {
        if (child && child.exitCode === null) child.kill("SIGKILL");
        await broker.close();
      }
    });

    test("refuses to start with a clear error: wrong credentials, untrusted broker, no client certificate", async () => {
      const plain = await startAedes({ users: { "oracle-1": "node-secret" } });
      const tls = await startAedes({ tls: { key: pki.serverKey, cert: pki.serverCert } });
      const mutual = await startAedes({
        tls: { key: pki.serverKey, cert: pki.serverCert, ca: pki.ca, requestCert: true },
      });
      try {
        const badPassword = await refusedStart("bad-password", {
          url: plain.url,
          username: "oracle-1",
          password: "not-the-secret",
        });
        assert.match(badPassword, /MQTT broker at mqtt:\/\/127\.0\.0\.1:\d+ refused the credentials/);
        assert.ok(!badPassword.includes("not-the-secret"));

        const wrongCa = await refusedStart("wrong-ca", { url: tls.url, caFile: pki.otherCa });
        assert.match(wrongCa, /does not trust .*set mqtt\.caFile to the PEM file of the CA/);

        const noClientCert = await refusedStart("no-client-cert", { url: mutual.url, caFile: pki.ca });
        assert.match(noClientCert, /refused this node's TLS client certificate .*set mqtt\.certFile and mqtt\.keyFile/);

        const missingFile = await refusedStart("missing-ca", { url: tls.url, caFile: join(tmp.dir, "nope.pem") });
        assert.match(missingFile, /mqtt\.caFile: cannot read .*nope\.pem \(ENOENT\)/);

        const halfPair = await refusedStart("half-pair", { url: mutual.url, certFile: pki.clientCert }, 2);
        assert.match(halfPair, /set both mqtt\.certFile and mqtt\.keyFile/);
      } finally {
        await Promise.all([plain.close(), tls.close(), mutual.close()]);
      }
    });

    test("a reading the node received but had not stored when it died is redelivered and stored after the restart", async () => {
      const broker = await startAedes();
      const logFile = join(tmp.dir, "restart.log");
      const { file, httpPort } = await configFile("restart", { url: broker.url });
      let child: ChildProcess | null = null;
      let lock: DatabaseSync | null = null;
      try {
        child = await startChild(file, httpPort, logFile);
        assert.equal(child.exitCode, null, readFileSync(logFile, "utf8"));
        // hold SQLite's write lock: the node receives the readings but cannot commit them
        lock = new DatabaseSync(join(tmp.dir, "restart", "oracle.db"));
        lock.exec("PRAGMA busy_timeout = 60000; BEGIN IMMEDIATE");
        const envs = some(5);
        await publish(broker.url, envs);
        const metric = async () => {
          const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
          return Number(/^carbonproof_oracle_ingest_commit_failures_total (\d+)/m.exec(text)?.[1] ?? 0);
        };
        await waitFor(async () => (await metric()) > 0, {
          timeoutMs: 60_000,
          intervalMs: 200,
          what: "a commit that failed on the locked database",
        });
        child.kill("SIGKILL");
        await exited(child);
        lock.exec("ROLLBACK");
        lock.close();
        lock = null;
        child = await startChild(file, httpPort, logFile);
        await waitFor(
          async () => {
            for (const d of digests(envs))
              if ((await fetch(`http://127.0.0.1:${httpPort}/v1/readings/${d}`)).status !== 200) return false;
            return true;
          },
          { timeoutMs: 60_000, intervalMs: 200, what: "every reading stored after the restart" },
        );
        child.kill("SIGTERM");
        await exited(child);
      } finally {
        lock?.close();
        if (child && child.exitCode === null) child.kill("SIGKILL");
        await broker.close();
      }
    });

    /** Readings accepted over MQTT so far, from the child's /metrics. */
    const acceptedMqtt = async (httpPort: number) => {
      const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
      return Number(/^carbonproof_oracle_readings_accepted_total\{source="mqtt"\} (\d+)/m.exec(text)?.[1] ?? 0);
    };

    test(
      "subscribers: a node killed mid-burst gets the readings of all its sessions redelivered after the restart, none lost",
      needsMosquitto,
      async () => {
        const mosquitto = await startMosquitto(tmp.dir);
        const logFile = join(tmp.dir, "kill-burst.log");
        const { file, httpPort } = await configFile("kill-burst", {
          url: mosquitto.url,
          sharedGroup: "carbonproof",
          subscribers: 8,
        });
        const stored = () => {
          const db = new DatabaseSync(join(tmp.dir, "kill-burst", "oracle.db"), { readOnly: true });
          try {
            return (db.prepare("SELECT digest FROM readings").all() as { digest: string }[]).map((r) => r.digest);
          } finally {
            db.close();
          }
        };
        let child: ChildProcess | null = null;
        try {
          child = await startChild(file, httpPort, logFile);
          assert.equal(child.exitCode, null, readFileSync(logFile, "utf8"));
          const envs = some(1500);
          const published = publishBurst(mosquitto.url, envs);
          await waitFor(async () => (await acceptedMqtt(httpPort)) >= 100, {
            timeoutMs: 60_000,
            intervalMs: 50,
            what: "the first readings of the burst stored",
          });
          child.kill("SIGKILL");
          await exited(child);
          const before = stored().length;
          assert.ok(
            before < envs.length,
            `the kill came after the whole burst was stored (${before}); nothing to redeliver`,
          );
          await published;
          child = await startChild(file, httpPort, logFile);
          const want = digests(envs);
          await waitFor(() => stored().length >= want.length, {
            timeoutMs: 120_000,
            intervalMs: 250,
            what: `every reading stored after the restart (${before} before the kill)`,
          });
          const got = stored();
          assert.equal(got.length, want.length, "each reading stored once");
          const have = new Set(got);
          assert.deepEqual(
            want.filter((d) => !have.has(d)),
            [],
            "readings lost",
          );
          child.kill("SIGTERM");
          await exited(child);
        } finally {
          if (child && child.exitCode === null) child.kill("SIGKILL");
          await mosquitto.close();
        }
      },
    );
  });

  test(
    "sharedGroup: two nodes split the stream of a Mosquitto broker, each reading stored by exactly one",
    needsMosquitto,
    async () => {
      const mosquitto = await startMosquitto(tmp.dir);
      const url = mosquitto.url;
      const nodes: Awaited<ReturnType<typeof testNode>>[] = [];
      try {
        for (const name of ["oracle-a", "oracle-b"])
          nodes.push(await externalNode({ url, sharedGroup: "carbonproof" }, { nodeName: name }));
        const envs = some(40);
        await publish(url, envs, { protocolVersion: 5 });
        const ds = digests(envs);
        await waitFor(() => ds.every((d) => nodes.some((n) => n.storage.getReading(d))), {
          timeoutMs: 60_000,
          intervalMs: 100,
          what: "every reading stored by one of the nodes",
        });
        const byNode = nodes.map((n) => ds.filter((d) => n.storage.getReading(d)).length);
        assert.equal(byNode[0]! + byNode[1]!, ds.length, `stored twice: ${byNode.join(" + ")}`);
        assert.ok(
          byNode.every((k) => k > 0),
          `both nodes get a share: ${byNode.join(" + ")}`,
        );
      } finally {
        for (const n of nodes) await n.close();
        await mosquitto.close();
      }
    },
  );

  test(
    "subscribers: 16 connections of one node in the shared group store a burst of 3,000 readings exactly once, several per group commit",
    needsMosquitto,
    async () => {
      const mosquitto = await startMosquitto(tmp.dir);
      // synchronous FULL, as in production: one fsync per group commit
      const node = await externalNode(
        { url: mosquitto.url, sharedGroup: "carbonproof", subscribers: 16 },
        { storage: { synchronous: "FULL" } },
      );
      try {
        const envs = some(3000);
        await publishBurst(mosquitto.url, envs);
        await assertStored(node, envs, "every reading of the burst stored");
        const db = new DatabaseSync(join(node.dir, "oracle.db"), { readOnly: true });
        try {
          const rows = db.prepare("SELECT COUNT(*) AS n, COUNT(DISTINCT digest) AS d FROM readings").get() as {
            n: number;
            d: number;
          };
          assert.deepEqual({ ...rows }, { n: 3000, d: 3000 }, "each reading stored once");
        } finally {
          db.close();
        }
        // a second delivery of a stored reading would be dead-lettered as a replay
        assert.equal(node.storage.countDeadLetters(), 0, "no reading delivered twice");
        const { readings, commits } = await readingsPerCommit(node);
        assert.equal(readings, 3000);
        assert.ok(readings / commits >= 2, `readings per group commit: ${readings} / ${commits}`);
      } finally {
        await node.close();
        await mosquitto.close();
      }
    },
  );

  /**
   * The node of a drain test: `subscribers` connections in Mosquitto's group `carbonproof` with
   * client ids `oracle-drain-<i>`, on `dataDir` (kept across starts), drains waiting `drain`.
   */
  const groupNode = (url: string, dataDir: string, subscribers: number, drain?: Partial<DrainTimings>) =>
    testNode({
      dir: dataDir,
      config: {
        mqtt: { mode: "external", url, sharedGroup: "carbonproof", clientId: "oracle-drain", subscribers },
      },
      devices: [deviceInfo(chimney), deviceInfo(meter)],
      parts: { mqttDrain: drain },
    });
  const drainIds = (n: number) => Array.from({ length: n }, (_, i) => `oracle-drain-${i}`);
  let alternate = 0;
  const nextReading = () => (alternate++ % 2 ? electricity(meter) : flueGas(chimney));

  /**
   * A drain test's start: a Mosquitto broker and a data dir of its own, on which a node with 4
   * subscribers started and stopped (the ids of their sessions kept); then `queued` readings
   * published to the stopped group (the broker queues them in the 4 sessions, and the devices have
   * had their PUBACKs). `body` gets them, and `streaming(max)` to start a steady stream of a reading
   * every 40 ms (steadyStream), stopped at the end if `body` did not.
   */
  async function drainTest(
    queuedCount: number,
    body: (t: {
      url: string;
      dataDir: string;
      queued: Envelope[];
      streaming: (max: number) => ReturnType<typeof steadyStream>;
    }) => Promise<void>,
  ): Promise<void> {
    const mosquitto = await startMosquitto(tmp.dir);
    const data = tempDir("cp-mqtt-drain-");
    const streams: ReturnType<typeof steadyStream>[] = [];
    try {
      await (await groupNode(mosquitto.url, data.dir, 4)).close();
      assert.deepEqual(rememberedIds(data.dir), drainIds(4));
      const queued = some(queuedCount);
      await publishBurst(mosquitto.url, queued);
      await body({
        url: mosquitto.url,
        dataDir: data.dir,
        queued,
        streaming: (max) => {
          const stream = steadyStream(mosquitto.url, nextReading, { intervalMs: 40, max });
          streams.push(stream);
          return stream;
        },
      });
    } finally {
      for (const stream of streams) await stream.stop();
      data.cleanup();
      await mosquitto.close();
    }
  }

  /**
   * Waits until a node of 2 subscribers has forgotten the ids of the sessions it drained, and
   * checks the broker forgot those sessions; returns when the drains were seen ended
   * (performance.now()).
   */
  async function drainsEnded(
    node: Awaited<ReturnType<typeof testNode>>,
    url: string,
    what: string,
    timeoutMs = 30_000,
  ): Promise<number> {
    await waitFor(() => node.storage.getMeta(SUBSCRIBER_IDS_META_KEY) === JSON.stringify(drainIds(2)), {
      timeoutMs,
      intervalMs: 50,
      what,
    });
    const endedMs = performance.now();
    for (const id of ["oracle-drain-2", "oracle-drain-3"])
      assert.equal(await hasSession(url, id), false, `the broker still holds the session of ${id}`);
    return endedMs;
  }

  /** Asserts every reading of `envs` stored, each once: a second delivery would be dead-lettered as a replay. */
  async function assertStoredOnce(
    node: Awaited<ReturnType<typeof testNode>>,
    dataDir: string,
    envs: Envelope[],
    what: string,
  ): Promise<void> {
    await assertStored(node, envs, what);
    assert.deepEqual(readingRows(dataDir), { n: envs.length, d: envs.length }, "each reading stored once");
    assert.equal(node.storage.countDeadLetters(), 0, "no reading delivered twice");
  }

  test(
    "subscribers: a start with fewer subscribers drains the sessions it no longer opens, every reading queued there stored once, and the broker forgets them",
    needsMosquitto,
    () =>
      drainTest(400, async ({ url, dataDir, queued }) => {
        const node = await groupNode(url, dataDir, 2);
        try {
          await assertStoredOnce(node, dataDir, queued, "every reading queued in the 4 sessions stored");
          await drainsEnded(node, url, "the drained client ids forgotten", 60_000);
          // no offline member of the group keeps a share: a new burst reaches the 2 subscribers whole
          const more = some(100);
          await publishBurst(url, more);
          await assertStored(node, more, "every reading published after the drain stored");
        } finally {
          await node.close();
        }
      }),
  );

  test(
    "subscribers: a drain that a steady stream never leaves quiet unsubscribes after subscribedMaxMs, and every reading, queued before or published during it, is stored once",
    needsMosquitto,
    () =>
      drainTest(200, async ({ url, dataDir, queued, streaming }) => {
        // a reading every ~40 ms over 4 members of the group: one every ~160 ms to each drained
        // session, never a quiet period of 500 ms
        const drain = { quietMs: 500, subscribedMaxMs: 1_500 };
        const stream = streaming(1_000);
        const startedMs = performance.now();
        const node = await groupNode(url, dataDir, 2, drain);
        try {
          const drainedMs = (await drainsEnded(node, url, "the drains ended under a steady stream")) - startedMs;
          assert.ok(
            stream.running,
            "the stream went on until the drains ended (else they could end on a quiet period)",
          );
          assert.ok(drainedMs >= drain.subscribedMaxMs, `the drains ended after ${drainedMs} ms`);
          // the stream goes on a while after the drains, to the two live subscribers alone
          const atDrained = stream.count;
          await sleep(1_000);
          assert.ok(stream.count > atDrained, "the stream went on after the drains");
          const all = [...queued, ...(await stream.stop())];
          await assertStoredOnce(
            node,
            dataDir,
            all,
            "every reading queued before and streamed during the drains stored",
          );
        } finally {
          await node.close();
        }
      }),
  );

  test(
    "subscribers: a node stopped mid-drain keeps the drained ids and acknowledges what it stored, and the next start drains them with nothing lost or replayed",
    needsMosquitto,
    () =>
      drainTest(200, async ({ url, dataDir, queued, streaming }) => {
        // the stream keeps the drains from a quiet period, and the first one's subscribedMaxMs is long
        const stream = streaming(2_000);
        const first = await groupNode(url, dataDir, 2, { quietMs: 500, subscribedMaxMs: 60_000 });
        try {
          // the drains are under way: readings arrive through them and the live subscribers
          await assertStored(first, queued.slice(0, 20), "the first queued readings stored");
          await sleep(1_000);
          assert.equal(first.storage.getMeta(SUBSCRIBER_IDS_META_KEY), JSON.stringify(drainIds(4)), "drains under way");
        } finally {
          await first.close();
        }
        assert.deepEqual(rememberedIds(dataDir), drainIds(4), "the ids of the drains cut short are kept");
        // stopped, the node misses part of the stream: the broker queues it in all four sessions
        await sleep(500);
        const next = await groupNode(url, dataDir, 2, { quietMs: 500, subscribedMaxMs: 1_500 });
        try {
          await drainsEnded(next, url, "the next start's drains ended");
          const all = [...queued, ...(await stream.stop())];
          // a reading stored before the stop and not acknowledged would come again after it, and be
          // dead-lettered as a replay (before the stop acknowledged what was in flight: 3 runs in 9)
          await assertStoredOnce(
            next,
            dataDir,
            all,
            "every reading queued, streamed while draining and while stopped stored",
          );
        } finally {
          await next.close();
        }
      }),
  );

  test(
    "a node stopped while 1,500 readings arrive gets every one at its start from a broker with the shipped settings; with Mosquitto's own, those past 1,000 are dropped after the devices had their PUBACKs",
    needsMosquitto,
    async () => {
      const stored: Record<string, number> = {};
      for (const shipped of [true, false]) {
        const mosquitto = await startMosquitto(tmp.dir, { shipped });
        const data = tempDir("cp-mqtt-queue-");
        const start = () =>
          testNode({
            dir: data.dir,
            config: { mqtt: { mode: "external", url: mosquitto.url, clientId: "oracle-queue" } },
            devices: [deviceInfo(chimney), deviceInfo(meter)],
          });
        try {
          // the node's persistent session at the broker, then the node stopped (an upgrade, a crash)
          await (await start()).close();
          const envs = some(1500);
          await publishBurst(mosquitto.url, envs); // each one acknowledged to its device by the broker
          const node = await start();
          try {
            if (shipped) {
              await assertStoredOnce(node, data.dir, envs, "every reading queued while the node was stopped stored");
            } else {
              await waitFor(() => readingRows(data.dir).n >= 1000, {
                timeoutMs: 60_000,
                intervalMs: 100,
                what: "the readings Mosquitto kept stored",
              });
              await sleep(2_000); // nothing more comes
            }
            stored[shipped ? "shipped" : "defaults"] = readingRows(data.dir).n;
          } finally {
            await node.close();
          }
        } finally {
          data.cleanup();
          await mosquitto.close();
        }
      }
      assert.equal(stored.shipped, 1500);
      assert.ok(
        stored.defaults! >= 1000 && stored.defaults! < 1500,
        `Mosquitto's defaults keep 1,000 a session and drop the rest: ${stored.defaults} stored`,
      );
    },
  );

  test("refuses mqtt.subscribers above 1 without mqtt.sharedGroup: every connection would get every reading", () => {
    assert.throws(
      () => parseConfig({ mqtt: { mode: "external", url: "mqtt://127.0.0.1:1883", subscribers: 4 } }),
      /mqtt\.subscribers: more than 1 subscriber connection needs mqtt\.sharedGroup: .*set mqtt\.sharedGroup to a group name .* or mqtt\.subscribers to 1/,
    );
    assert.throws(() => parseConfig({ mqtt: { subscribers: 0 } }), /mqtt\.subscribers: must be 1 to 256/);
    // one connection needs no group; with a group the default is 16
    assert.equal(externalSubscriberCount(parseConfig({ mqtt: { mode: "external", subscribers: 1 } }).mqtt), 1);
    assert.equal(externalSubscriberCount(parseConfig({ mqtt: { mode: "external" } }).mqtt), 1);
    assert.equal(externalSubscriberCount(parseConfig({ mqtt: { mode: "external", sharedGroup: "g" } }).mqtt), 16);
  });
});
