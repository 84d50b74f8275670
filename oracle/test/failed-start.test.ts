import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { createServer, type AddressInfo } from "node:net";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { THREAD_NAMES } from "../src/threads/name.ts";
import { readingDigestHex } from "../../sdk/src/index.ts";
import { electricity, deviceInfo, makeDevice, testNode } from "./fixtures.ts";
import { tempDir } from "./helpers.ts";

/** This process's threads named by role (Linux /proc): the node's verify, writer and bundle workers. */
function nodeThreads(): string[] {
  const roles = new Set<string>(Object.values(THREAD_NAMES));
  const out: string[] = [];
  for (const t of readdirSync("/proc/self/task")) {
    try {
      const name = readFileSync(`/proc/self/task/${t}/comm`, "utf8").trim();
      if (roles.has(name)) out.push(name);
    } catch {
      // the thread ended
    }
  }
  return out;
}

/** A loopback TCP port held by another server, so the node's listen on it fails with EADDRINUSE. */
async function occupiedPort(): Promise<{ port: number; close: () => Promise<void> }> {
  const server = createServer();
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise((ok) => server.close(() => ok())),
  };
}

test(
  "a start that fails part-way closes what it opened: no worker thread left, and the same data dir starts again",
  { skip: existsSync("/proc/self/task") ? false : "no /proc (not Linux): threads cannot be counted" },
  async () => {
    const tmp = tempDir("cp-failed-start-");
    const held = await occupiedPort();
    const device = makeDevice("dev-failed-start");
    try {
      assert.deepEqual(nodeThreads(), [], "no node threads before the test");
      // everything opens (storage, its writer, Helia, the verify and bundle workers, the broker),
      // then the HTTP listen fails: the last step of a start
      await assert.rejects(
        testNode({
          dir: tmp.dir,
          devices: [deviceInfo(device)],
          config: { http: { port: held.port, host: "127.0.0.1" } },
        }),
        (err: NodeJS.ErrnoException) => {
          assert.equal(err.code, "EADDRINUSE");
          assert.equal(
            err.message,
            `http: cannot listen on 127.0.0.1:${held.port} (EADDRINUSE): the port is in use by another process: stop it, or set http.port to a free port`,
          );
          return true;
        },
      );
      // the MQTT endpoint's port taken, with either embedded endpoint: the setting to change is named
      for (const embedded of ["ingest", "aedes"] as const) {
        await assert.rejects(
          testNode({
            dir: tmp.dir,
            devices: [deviceInfo(device)],
            config: { mqtt: { mode: "embedded", embedded, port: held.port, host: "127.0.0.1" } },
          }),
          {
            code: "EADDRINUSE",
            message: `mqtt: cannot listen on 127.0.0.1:${held.port} (EADDRINUSE): the port is in use by another process: stop it, or set mqtt.port to a free port`,
          },
          embedded,
        );
      }
      // worker threads end asynchronously after terminate(); give them a few seconds
      let left = nodeThreads();
      for (let i = 0; i < 100 && left.length > 0; i++) {
        await sleep(100);
        left = nodeThreads();
      }
      assert.deepEqual(left, [], `threads of the failed start still running: ${left.join(", ")}`);

      // the same data dir (SQLite database, Helia's repo) opens again in this process and works
      const node = await testNode({ dir: tmp.dir, devices: [deviceInfo(device)] });
      try {
        const env = electricity(device, { seq: 1 });
        const [outcome] = await node.ingestor.submit(env, { source: "http" });
        assert.equal(outcome?.status, "stored", `reading after the failed start: ${JSON.stringify(outcome)}`);
        assert.ok(node.storage.getReading(readingDigestHex(env.reading)), "the reading is in storage");
      } finally {
        await node.close();
      }
    } finally {
      await held.close();
      tmp.cleanup();
    }
  },
);
