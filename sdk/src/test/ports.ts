import { readFileSync } from "node:fs";
import { createServer } from "node:net";

/** A loopback port the kernel has free now (bind to port 0, read it, close). */
export function kernelFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() =>
        typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port assigned")),
      );
    });
  });
}

/** The kernel's ephemeral port range (`ip_local_port_range`), or Linux's default where unreadable. */
export function ephemeralPortRange(
  read: () => string = () => readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8"),
): [number, number] {
  try {
    const [low, high] = read().trim().split(/\s+/).map(Number);
    if (Number.isInteger(low) && Number.isInteger(high) && low! > 0 && high! >= low!) return [low!, high!];
  } catch {
    // not Linux, or /proc not mounted
  }
  return [32768, 60999];
}

/** Whether a server can listen on `port` on loopback now (it is closed again at once). */
function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

/** The lowest port `quietPort` picks from; the highest is just under the ephemeral range. */
const QUIET_LOW = 20_000;

/**
 * A loopback port free now, below the kernel's ephemeral range, picked at random; the kernel's
 * port-0 choice if the range leaves no room or 50 picks are taken.
 *
 * The kernel hands out ephemeral ports to every outgoing connection and every listen on port 0,
 * so an ephemeral port asked for now and bound a few seconds later (a Hardhat node, PostgreSQL or
 * Mosquitto loading) may be taken meanwhile by another test process's connections: one CI run lost
 * a suite to it. Ports under the range are taken only by a program that names them: another
 * test process's random pick can still land on the same one, but among ~12,000 ports, not among
 * every connection the machine opens.
 */
export async function quietPort(range: [number, number] = ephemeralPortRange()): Promise<number> {
  const high = range[0] - 1;
  if (high - QUIET_LOW >= 1_000) {
    for (let i = 0; i < 50; i++) {
      const port = QUIET_LOW + Math.floor(Math.random() * (high - QUIET_LOW + 1));
      if (await canListen(port)) return port;
    }
  }
  return kernelFreePort();
}

/** Every port handed out by `freePort` in this process. */
const handedOut = new Set<number>();

/**
 * A free loopback port for a test, a benchmark or the local stack to listen on, never one this
 * process was given before, and outside the kernel's ephemeral range (`quietPort`). A port that
 * was just closed can be offered again (the kernel did so 1 pair in ~2,000 consecutive asks here:
 * a test that asked for an MQTT and an HTTP port got the same one, and its node failed to start
 * with EADDRINUSE). `source` is `quietPort` unless a test of this function says otherwise.
 */
export async function freePort(source: () => Promise<number> = quietPort): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = await source();
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error(`no loopback port that was not handed out already, after 100 tries (${handedOut.size} handed out)`);
}

/**
 * The port of a `hardhat node --port 0` once it listens, read from its "Started HTTP and WebSocket
 * JSON-RPC server at http://127.0.0.1:PORT/" line in `output`; null before it printed that.
 *
 * Test harnesses start Hardhat on port 0 and let the kernel choose: a port asked for first
 * (`freePort`) stays unbound for the seconds Hardhat takes to load, and another test process can
 * take it meanwhile. Hardhat then exits with EADDRINUSE, or the harness's readiness probe is
 * answered by the other process's node.
 */
export function hardhatListeningPort(output: string): number | null {
  const m = /JSON-RPC server at http:\/\/[^\s/]*:(\d+)\//.exec(output);
  return m ? Number(m[1]) : null;
}

/** What {@link hardhatRpcReady} watches: a spawned `hardhat node`, its output piped. */
type HardhatChild = {
  exitCode: number | null;
  signalCode: NodeJS.Signals | null;
  stdout: NodeJS.ReadableStream | null;
  stderr: NodeJS.ReadableStream | null;
};

/**
 * The JSON-RPC URL of a `hardhat node --port 0` child once it answers `eth_chainId`: its port is
 * read from its output as it is printed ({@link hardhatListeningPort}; the caller's own buffer of
 * the output may be cut), then the node is asked every `pollMs` until it answers. Throws, with its
 * output, when the child exits first or `timeoutMs` passes; the caller stops the child (it knows
 * how it spawned it: a process group, a registry of children).
 */
export async function hardhatRpcReady(
  child: HardhatChild,
  opts: { timeoutMs: number; pollMs?: number; name?: string },
): Promise<string> {
  const name = opts.name ?? "the Hardhat node";
  let output = "";
  let port: number | null = null;
  const take = (chunk: Buffer | string) => {
    output = (output + chunk.toString()).slice(-20_000);
    port ??= hardhatListeningPort(output);
  };
  child.stdout?.on("data", take);
  child.stderr?.on("data", take);
  try {
    const deadline = Date.now() + opts.timeoutMs;
    for (;;) {
      if (port !== null) {
        const url = `http://127.0.0.1:${port}`;
        const answered = await fetch(url, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] }),
          signal: AbortSignal.timeout(5_000),
        }).then(
          (r) => r.ok,
          () => false, // not answering yet
        );
        if (answered) return url;
      }
      if (child.exitCode !== null || child.signalCode !== null)
        throw new Error(`${name} exited (${child.exitCode ?? child.signalCode}) before it answered:\n${output}`);
      if (Date.now() > deadline)
        throw new Error(`${name} did not answer within ${Math.round(opts.timeoutMs / 1000)} s:\n${output}`);
      await new Promise((r) => setTimeout(r, opts.pollMs ?? 200));
    }
  } finally {
    // the streams go on flowing without these listeners (Node does not pause a stream when its
    // `data` listeners are removed), so a node that logs every call never blocks on a full pipe
    child.stdout?.off("data", take);
    child.stderr?.off("data", take);
  }
}
