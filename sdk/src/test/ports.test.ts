import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { describe, it } from "node:test";
import { ephemeralPortRange, freePort, hardhatListeningPort, hardhatRpcReady, quietPort } from "./ports.ts";

describe("freePort", () => {
  it("never hands out a port twice, even when the kernel offers it again", async () => {
    // a stand-in for the kernel's port-0 choice (the real one repeats too rarely to test on)
    const offers = [41001, 41001, 41002, 41001, 41002, 41003];
    const source = async () => offers.shift()!;
    assert.deepEqual([await freePort(source), await freePort(source), await freePort(source)], [41001, 41002, 41003]);
  });

  it("gives up with a clear error when the kernel keeps offering ports already handed out", async () => {
    const taken = await freePort(async () => 41010);
    await assert.rejects(
      freePort(async () => taken),
      /not handed out already, after 100 tries/,
    );
  });

  it("gives distinct loopback ports a server can listen on", async () => {
    const ports = await Promise.all(Array.from({ length: 50 }, () => freePort()));
    assert.equal(new Set(ports).size, ports.length);
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(ports[0], "127.0.0.1", () => resolve());
    });
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
});

describe("hardhatListeningPort", () => {
  it("reads the port Hardhat 3 prints once it listens on port 0, and nothing before", () => {
    // the line as `hardhat node --hostname 127.0.0.1 --port 0` prints it (Hardhat 3.0)
    const started = "Started HTTP and WebSocket JSON-RPC server at http://127.0.0.1:40339/\n\nAccounts\n========\n";
    assert.equal(hardhatListeningPort(started), 40339);
    assert.equal(hardhatListeningPort("Started HTTP and WebSocket JSON-RPC serv"), null);
    assert.equal(hardhatListeningPort("Error: listen EADDRINUSE: address already in use 127.0.0.1:8545"), null);
  });
});

/**
 * The wait for a Hardhat node, on child processes that stand in for `hardhat node --port 0` (a real
 * one takes seconds to load, and cannot be made to fail at will): one that serves `eth_chainId`
 * after printing Hardhat's line in two pieces, one that fails as Hardhat does on a taken port, and
 * one that never prints. Every Hardhat test harness waits with it on the real node.
 */
describe("hardhatRpcReady", () => {
  const child = (script: string) => spawn(process.execPath, ["-e", script], { stdio: ["ignore", "pipe", "pipe"] });
  const kill = (c: ChildProcess) => c.exitCode === null && c.signalCode === null && c.kill("SIGKILL");

  it("answers the node's URL once it prints its port and answers eth_chainId", async () => {
    const c = child(`
      const http = require("node:http");
      const s = http.createServer((req, res) => {
        let body = "";
        req.on("data", (d) => (body += d));
        req.on("end", () => res.end(JSON.stringify({ jsonrpc: "2.0", id: JSON.parse(body).id, result: "0x7a69" })));
      });
      s.listen(0, "127.0.0.1", () => {
        const line = "Started HTTP and WebSocket JSON-RPC server at http://127.0.0.1:" + s.address().port + "/\\n";
        process.stdout.write("x".repeat(30000) + line.slice(0, 20));
        setTimeout(() => process.stdout.write(line.slice(20) + "\\nAccounts\\n"), 300);
      });
    `);
    try {
      const url = await hardhatRpcReady(c, { timeoutMs: 20_000, pollMs: 50 });
      assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
      const r = await fetch(url, {
        method: "POST",
        body: JSON.stringify({ jsonrpc: "2.0", id: 7, method: "eth_chainId" }),
      });
      assert.deepEqual(await r.json(), { jsonrpc: "2.0", id: 7, result: "0x7a69" });
    } finally {
      kill(c);
    }
  });

  it("fails with the node's output when it exits first, and when it never answers", async () => {
    const taken = child(
      `console.error("Error: listen EADDRINUSE: address already in use 127.0.0.1:8545"); process.exit(1)`,
    );
    await assert.rejects(hardhatRpcReady(taken, { timeoutMs: 20_000, pollMs: 50 }), (err: Error) => {
      assert.match(err.message, /^the Hardhat node exited \(1\) before it answered:\nError: listen EADDRINUSE/);
      return true;
    });
    const silent = child(`setTimeout(() => {}, 60_000)`);
    try {
      const t0 = Date.now();
      await assert.rejects(
        hardhatRpcReady(silent, { timeoutMs: 600, pollMs: 50, name: "the e2e chain" }),
        /^Error: the e2e chain did not answer within 1 s:/,
      );
      assert.ok(Date.now() - t0 < 5_000);
    } finally {
      kill(silent);
    }
  });
});

describe("quietPort", () => {
  it("reads the kernel's ephemeral range, and falls back to Linux's default", () => {
    assert.deepEqual(
      ephemeralPortRange(() => "32768\t60999\n"),
      [32768, 60999],
    );
    assert.deepEqual(
      ephemeralPortRange(() => "40000 50000"),
      [40000, 50000],
    );
    assert.deepEqual(
      ephemeralPortRange(() => "garbage"),
      [32768, 60999],
    );
    assert.deepEqual(
      ephemeralPortRange(() => {
        throw new Error("ENOENT");
      }),
      [32768, 60999],
    );
  });

  it("picks ports below the ephemeral range, where no outgoing connection is given one, that a server can listen on", async () => {
    const [low] = ephemeralPortRange();
    const ports = await Promise.all(Array.from({ length: 20 }, () => quietPort()));
    for (const p of ports) assert.ok(p >= 20_000 && p < low, `${p} is outside [20000, ${low})`);
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(ports[0], "127.0.0.1", () => resolve());
    });
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it("asks the kernel when the ephemeral range leaves too little room below it", async () => {
    const p = await quietPort([20_500, 60999]);
    assert.ok(p > 0);
  });
});
